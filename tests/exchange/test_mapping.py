"""The pure mapping between Graph and Prextra shapes (exchange/mapping.py): no database, no HTTP,
no emulator. Each rule is checked on plain dictionaries; the end-to-end behaviour of the same rules
is in test_sync_contacts.py and test_sync_activities.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from crm.models import Activity
from exchange.mapping import (
    ActivityData,
    Cancelled,
    ContactData,
    Skip,
    activity_from_graph,
    activity_patch,
    activity_to_graph,
    clean_text,
    contact_from_graph,
    email_domain,
    graph_zone,
)
from exchange.reasons import describe

MAILBOX = "moi@prextra.test"


def _contact(**fields) -> dict:
    """A valid Graph contact; keyword arguments replace (or, when None, remove) its properties."""
    payload = {
        "givenName": "Luc",
        "surname": "Roy",
        "displayName": "Luc Roy",
        "emailAddresses": [{"name": "Luc Roy", "address": "luc.roy@finloc.com"}],
    }
    payload.update(fields)
    return {key: value for key, value in payload.items() if value is not None}


def _event(start: str, end: str, zone: str = "Eastern Standard Time", **fields) -> dict:
    """A single Graph event from `start` to `end` (local times in `zone`)."""
    return {
        "subject": "Revue",
        "type": "singleInstance",
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **fields,
    }


def _activity(payload: dict, policy: str = "private") -> ActivityData:
    data = activity_from_graph(payload, MAILBOX, policy)
    assert isinstance(data, ActivityData), data
    return data


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _values(**fields) -> dict:
    """A Prextra activity's synchronized values (crm.models.activity_sync_values' shape)."""
    values = {
        "subject": "Revue",
        "location": "Bureau",
        "start": "2026-12-01T15:00:00Z",
        "end": "2026-12-01T16:00:00Z",
        "all_day": False,
        "is_private": False,
    }
    return {**values, **fields}


# ---------------------------------------------------------------- clean_text, email_domain


@pytest.mark.parametrize("value", [None, 42, 1.5, True, ["Luc"], {"name": "Luc"}])
def test_a_value_that_is_not_a_string_becomes_empty_text(value):
    assert clean_text(value) == ""


def test_control_characters_become_spaces_and_runs_of_spaces_collapse_into_one_line():
    assert clean_text("  Luc\tRoy\r\n\x00\x1b[31m\x85fin  ") == "Luc Roy [31m fin"


def test_markup_and_sql_are_kept_as_plain_text_escaping_is_the_templates_job():
    for text in ("<script>alert(1)</script>", "'; DROP TABLE crm_contact; --", "{{ 7*7 }}"):
        assert clean_text(text) == text


@pytest.mark.parametrize(
    ("email", "domain"),
    [("Luc@Ventes.FINLOC.com", "ventes.finloc.com"), ('"a@b"@exemple.ca', "exemple.ca"), ("pas-une-adresse", "")],
)
def test_an_email_domain_is_the_lowercase_part_after_the_last_at_sign(email, domain):
    assert email_domain(email) == domain


# ---------------------------------------------------------------- contacts (R7)


def test_a_complete_outlook_contact_brings_every_synchronized_field():
    payload = _contact(
        jobTitle="Acheteur",
        businessPhones=["514 555-0100", "514 555-0101"],
        mobilePhone="514 555-0199",
        businessAddress={"city": "Montréal", "state": "QC", "countryOrRegion": "Canada"},
    )
    assert contact_from_graph(payload) == ContactData(
        first_name="Luc",
        last_name="Roy",
        email="luc.roy@finloc.com",
        title="Acheteur",
        phone="514 555-0100",
        mobile="514 555-0199",
        city="Montréal",
        province="QC",
        country="Canada",
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"givenName": None}, "no_first_name"),
        ({"givenName": " \t "}, "no_first_name"),
        ({"surname": None}, "no_last_name"),
        ({"surname": "\x00"}, "no_last_name"),
    ],
)
def test_a_contact_without_first_or_last_name_is_skipped_with_its_address_kept_for_the_journal_R7(fields, reason):
    """R7: the skip still names the contact and its address, so an administrator can find it."""
    assert contact_from_graph(_contact(**fields)) == Skip({"code": reason}, "Luc Roy", "luc.roy@finloc.com")


@pytest.mark.parametrize("addresses", [None, [], [{"name": "Luc"}], [{"address": "  "}], "luc@finloc.com"])
def test_a_contact_without_any_email_address_is_skipped_R7(addresses):
    result = contact_from_graph(_contact(emailAddresses=addresses))
    assert result == Skip({"code": "no_email"}, "Luc Roy", "")


@pytest.mark.parametrize("address", ["pas-une-adresse", "@finloc.com", "luc@", "luc roy@finloc.com"])
def test_an_address_that_is_not_a_valid_email_counts_as_no_email_and_is_named_in_the_reason_R7(address):
    result = contact_from_graph(_contact(emailAddresses=[{"address": address}]))
    assert result == Skip({"code": "invalid_email", "params": {"address": address}}, "Luc Roy", address)
    assert describe(result.reason) == f"Ignoré : adresse courriel invalide ({address})."


def test_an_address_longer_than_254_characters_counts_as_invalid_R7():
    address = "x" * 250 + "@finloc.com"
    result = contact_from_graph(_contact(emailAddresses=[{"address": address}]))
    assert isinstance(result, Skip) and result.code == "invalid_email"


def test_the_first_valid_address_wins_and_only_its_domain_is_lowercased():
    addresses = [{"address": "pas-une-adresse"}, {"address": "Luc.Roy@FINLOC.Com"}, {"address": "luc@autre.ca"}]
    result = contact_from_graph(_contact(emailAddresses=addresses))
    assert (result.email, result.domain) == ("Luc.Roy@finloc.com", "finloc.com")


def test_the_skip_label_falls_back_to_first_and_last_name_without_a_display_name():
    result = contact_from_graph(_contact(displayName=None, emailAddresses=None))
    assert result.label == "Luc Roy"


def test_the_phone_is_the_first_non_empty_business_phone_else_home_phone():
    assert contact_from_graph(_contact(businessPhones=["", None, " "], homePhones=["819 555-0123"])).phone == (
        "819 555-0123"
    )
    assert contact_from_graph(_contact(businessPhones=["514 555-0100"], homePhones=["819 555-0123"])).phone == (
        "514 555-0100"
    )


def test_each_address_part_comes_from_business_then_home_then_other_address():
    payload = _contact(
        businessAddress={"city": "Montréal"},
        homeAddress={"city": "Laval", "state": "QC"},
        otherAddress={"countryOrRegion": "Canada", "state": "ON"},
    )
    result = contact_from_graph(payload)
    assert (result.city, result.province, result.country) == ("Montréal", "QC", "Canada")


def test_fields_of_the_wrong_json_type_are_left_empty_and_the_contact_is_kept():
    payload = _contact(jobTitle=42, businessPhones="514 555-0100", mobilePhone=["514"], businessAddress="rue Peel")
    result = contact_from_graph(payload)
    assert isinstance(result, ContactData)
    assert (result.title, result.phone, result.mobile, result.city) == ("", "", "", "")


@pytest.mark.parametrize("payload", [None, "Luc Roy", 42, ["Luc", "Roy"]])
def test_a_payload_that_is_not_an_object_is_skipped_as_unreadable(payload):
    assert contact_from_graph(payload) == Skip({"code": "not_a_contact"})


def test_over_long_values_are_cut_to_the_prextra_field_sizes_and_listed_as_truncated():
    payload = _contact(givenName="É" * 300, jobTitle="t" * 151, mobilePhone="5" * 30, homeAddress={"state": "Q" * 51})
    result = contact_from_graph(payload)
    assert (len(result.first_name), len(result.title), len(result.mobile), len(result.province)) == (100, 150, 30, 50)
    assert result.truncated == ("first_name", "title", "province")


def test_a_cut_never_leaves_a_trailing_space():
    result = contact_from_graph(_contact(surname="x" * 99 + " yz"))
    assert result.last_name == "x" * 99 and result.truncated == ("last_name",)


def test_the_fingerprint_changes_with_any_synchronized_field_and_ignores_the_truncation_list():
    base = contact_from_graph(_contact(jobTitle="Acheteur"))
    assert base.fingerprint() == ContactData(**{**base.fields(), "truncated": ("title",)}).fingerprint()
    for name in base.fields():
        changed = ContactData(**{**base.fields(), name: "autre@exemple.ca" if name == "email" else "Autre"})
        assert changed.fingerprint() != base.fingerprint(), name


def test_a_contact_is_labelled_by_its_name_and_address():
    assert contact_from_graph(_contact()).label == "Luc Roy <luc.roy@finloc.com>"


# ---------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Eastern Standard Time", "America/Toronto"),
        ("  eastern STANDARD time ", "America/Toronto"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("America/Vancouver", "America/Vancouver"),
        ("UTC", "UTC"),
    ],
)
def test_windows_and_iana_zone_names_both_resolve(name, key):
    assert graph_zone(name) == ZoneInfo(key)


@pytest.mark.parametrize("name", [None, "", "  ", 5, "Fuseau/Imaginaire", "Tokyo Standard Time", "../../etc/passwd"])
def test_an_unknown_or_missing_zone_name_resolves_to_none(name):
    assert graph_zone(name) is None


# ---------------------------------------------------------------- events (R12–R16)


@pytest.mark.parametrize(
    ("local", "utc"),
    [("2026-12-01T10:00:00", "2026-12-01T15:00:00"), ("2026-07-01T10:00:00", "2026-07-01T14:00:00")],
)
def test_a_timed_toronto_event_is_stored_in_utc_with_the_offset_of_its_season_R12(local, utc):
    """Eastern time is UTC−5 in winter, UTC−4 in summer."""
    end = (datetime.fromisoformat(local) + timedelta(hours=1)).isoformat()
    data = _activity(_event(local, end))
    assert (data.start, data.end, data.all_day) == (_utc(utc), _utc(utc) + timedelta(hours=1), False)


def test_a_timed_event_across_the_spring_dst_change_lasts_its_real_hour_R12():
    """8 March 2026, 02:00 EST becomes 03:00 EDT: 01:30 to 03:30 on the clock is one hour."""
    data = _activity(_event("2026-03-08T01:30:00", "2026-03-08T03:30:00"))
    assert (data.start, data.end) == (_utc("2026-03-08T06:30:00"), _utc("2026-03-08T07:30:00"))


def test_a_timed_event_across_the_autumn_dst_change_lasts_its_real_three_and_a_half_hours_R12():
    """1 November 2026, 02:00 EDT becomes 01:00 EST: 00:30 to 03:00 on the clock is 3 h 30."""
    data = _activity(_event("2026-11-01T00:30:00", "2026-11-01T03:00:00", "America/Toronto"))
    assert (data.start, data.end) == (_utc("2026-11-01T04:30:00"), _utc("2026-11-01T08:00:00"))


def test_an_event_in_another_zone_keeps_its_instant_and_graphs_seven_fractional_digits_are_read():
    data = _activity(_event("2026-12-01T10:00:00.0000000", "2026-12-01T11:30:00.0000000", "Pacific Standard Time"))
    assert (data.start, data.end) == (_utc("2026-12-01T18:00:00"), _utc("2026-12-01T19:30:00"))


def test_an_event_time_without_a_zone_is_read_as_utc():
    payload = _event("2026-12-01T10:00:00", "2026-12-01T11:00:00")
    del payload["start"]["timeZone"], payload["end"]["timeZone"]
    assert _activity(payload).start == _utc("2026-12-01T10:00:00")


def test_an_all_day_event_keeps_its_calendar_dates_as_toronto_midnights_whatever_its_zone_R14():
    """Outlook sends all-day dates as midnights in the organizer's zone; Prextra keeps the days."""
    data = _activity(_event("2026-12-01T00:00:00", "2026-12-02T00:00:00", "Pacific Standard Time", isAllDay=True))
    assert (data.start, data.end, data.all_day) == (_utc("2026-12-01T05:00:00"), _utc("2026-12-02T05:00:00"), True)


def test_an_all_day_event_on_the_spring_dst_change_day_is_23_hours_long_R14():
    data = _activity(_event("2026-03-08T00:00:00", "2026-03-09T00:00:00", "UTC", isAllDay=True))
    assert (data.start, data.end) == (_utc("2026-03-08T05:00:00"), _utc("2026-03-09T04:00:00"))


def test_a_multi_day_all_day_event_is_imported_with_all_its_days_R14():
    data = _activity(_event("2026-12-01T00:00:00", "2026-12-04T00:00:00", isAllDay=True))
    assert (data.start, data.end) == (_utc("2026-12-01T05:00:00"), _utc("2026-12-04T05:00:00"))


def test_a_multi_day_timed_event_is_imported_R14():
    data = _activity(_event("2026-12-01T09:00:00", "2026-12-03T17:00:00"))
    assert data.end - data.start == timedelta(days=2, hours=8)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "occurrence"},
        {"type": "exception"},
        {"type": "seriesMaster"},
        {"seriesMasterId": "AAMk-serie"},
        {"recurrence": {"pattern": {"type": "weekly"}}},
        {"type": "occurrence", "isCancelled": True},
    ],
)
def test_recurring_events_are_skipped_whatever_marks_them_R13(fields):
    result = activity_from_graph(_event("2026-12-01T10:00:00", "2026-12-01T11:00:00", **fields), MAILBOX, "private")
    assert result == Skip({"code": "recurring"}, "Revue")


def test_a_cancelled_single_event_is_cancelled_not_imported():
    result = activity_from_graph(
        _event("2026-12-01T10:00:00", "2026-12-01T11:00:00", isCancelled=True), MAILBOX, "private"
    )
    assert result == Cancelled("Revue")


@pytest.mark.parametrize(
    ("sensitivity", "policy", "is_private"),
    [
        ("normal", "private", False),
        ("personal", "private", False),
        ("private", "private", True),
        ("confidential", "private", True),
        ("private", "public", False),
        ("normal", "skip", False),
    ],
)
def test_imported_events_are_public_unless_marked_private_and_the_connection_keeps_them_private_R15(
    sensitivity, policy, is_private
):
    payload = _event("2026-12-01T10:00:00", "2026-12-01T11:00:00", sensitivity=sensitivity)
    assert _activity(payload, policy).is_private is is_private


@pytest.mark.parametrize("sensitivity", ["private", "confidential"])
def test_private_events_are_skipped_when_the_connection_says_skip_R15(sensitivity):
    payload = _event("2026-12-01T10:00:00", "2026-12-01T11:00:00", sensitivity=sensitivity)
    result = activity_from_graph(payload, MAILBOX, "skip")
    assert result == Skip({"code": "private_event"}, "Revue")


def test_an_event_ending_before_it_starts_is_skipped_but_a_zero_length_one_is_kept():
    backwards = activity_from_graph(_event("2026-12-01T10:00:00", "2026-12-01T09:59:00"), MAILBOX, "private")
    assert backwards == Skip({"code": "end_before_start"}, "Revue")
    assert _activity(_event("2026-12-01T10:00:00", "2026-12-01T10:00:00")).end == _utc("2026-12-01T15:00:00")


def test_an_event_outside_the_years_1900_to_2200_is_skipped_with_its_years():
    result = activity_from_graph(_event("1899-06-01T10:00:00", "2201-06-01T10:00:00", "UTC"), MAILBOX, "private")
    assert result == Skip({"code": "date_out_of_range_years", "params": {"first": 1899, "last": 2201}}, "Revue")
    assert describe(result.reason) == "Ignoré : date hors des limites (1899 à 2201)."


def test_subject_and_location_are_cleaned_cut_to_255_characters_and_listed_as_truncated():
    payload = _event(
        "2026-12-01T10:00:00",
        "2026-12-01T11:00:00",
        subject="Revue\n" + "s" * 300,
        location={"displayName": "Salle\t\x00B"},
    )
    data = _activity(payload)
    assert (data.subject, data.location, data.truncated) == ("Revue " + "s" * 249, "Salle B", ("subject",))


def test_an_event_without_a_subject_is_imported_without_one_and_shown_as_sans_objet():
    """Stored data holds no translated text: the subject stays empty (and goes back to Outlook
    empty); the screens show « (sans objet) » in the reader's language (Activity.title)."""
    data = _activity(_event("2026-12-01T10:00:00", "2026-12-01T11:00:00", subject="  "))
    assert (data.subject, data.label) == ("", "(2026-12-01 10:00)")
    activity = Activity(subject=data.subject)
    with translation.override("fr-ca"):
        assert str(activity.title) == "(sans objet)"
    with translation.override("en"):
        assert str(activity.title) == "(no subject)"


def test_attendees_keep_outlooks_order_without_the_mailbox_or_invalid_addresses_R16():
    attendees = [
        {"emailAddress": {"address": "Zoe@Finloc.com"}},
        {"emailAddress": {"address": "MOI@prextra.test"}},
        {"emailAddress": {"address": "pas-une-adresse"}},
        "n'importe quoi",
        {"emailAddress": {"address": "luc@exemple.ca"}},
    ]
    data = _activity(_event("2026-12-01T10:00:00", "2026-12-01T11:00:00", attendees=attendees))
    assert (data.attendee_emails, data.is_meeting) == (("zoe@finloc.com", "luc@exemple.ca"), True)


def test_an_event_whose_only_attendee_is_the_mailbox_is_not_a_meeting():
    attendees = [{"emailAddress": {"address": MAILBOX.upper()}}]
    data = _activity(_event("2026-12-01T10:00:00", "2026-12-01T11:00:00", attendees=attendees))
    assert (data.attendee_emails, data.is_meeting, data.organizer) == ((), False, "")


def test_the_canonical_sync_values_of_an_event_are_utc_strings():
    data = _activity(_event("2026-12-01T10:00:00", "2026-12-01T11:00:00", location={"displayName": "Bureau"}))
    assert data.sync_values() == _values()


@pytest.mark.parametrize("payload", [None, "événement", 7, ["Revue"]])
def test_an_event_payload_that_is_not_an_object_is_skipped_as_unreadable(payload):
    assert activity_from_graph(payload, MAILBOX, "private") == Skip({"code": "not_an_event"})


# ---------------------------------------------------------------- Prextra → Outlook


def test_a_timed_activity_goes_to_graph_in_utc_busy_and_without_attendees():
    assert activity_to_graph(_values()) == {
        "subject": "Revue",
        "start": {"dateTime": "2026-12-01T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T16:00:00", "timeZone": "UTC"},
        "isAllDay": False,
        "location": {"displayName": "Bureau"},
        "sensitivity": "normal",
        "showAs": "busy",
    }


def test_an_all_day_activity_goes_to_graph_as_eastern_midnights_and_free():
    body = activity_to_graph(_values(start="2026-12-01T05:00:00Z", end="2026-12-04T05:00:00Z", all_day=True))
    assert (body["start"], body["end"], body["isAllDay"], body["showAs"]) == (
        {"dateTime": "2026-12-01T00:00:00", "timeZone": "Eastern Standard Time"},
        {"dateTime": "2026-12-04T00:00:00", "timeZone": "Eastern Standard Time"},
        True,
        "free",
    )


def test_an_all_day_activity_over_the_spring_dst_change_keeps_its_dates_in_graph():
    body = activity_to_graph(_values(start="2026-03-08T05:00:00Z", end="2026-03-09T04:00:00Z", all_day=True))
    assert (body["start"]["dateTime"], body["end"]["dateTime"]) == ("2026-03-08T00:00:00", "2026-03-09T00:00:00")


def test_an_all_day_activity_ending_when_it_starts_lasts_at_least_one_day_in_graph():
    body = activity_to_graph(_values(start="2026-12-01T05:00:00Z", end="2026-12-01T05:00:00Z", all_day=True))
    assert body["end"]["dateTime"] == "2026-12-02T00:00:00"


def test_a_private_activity_goes_to_graph_private():
    assert activity_to_graph(_values(is_private=True))["sensitivity"] == "private"


def test_the_contacts_name_goes_in_the_body_only_when_there_is_one():
    assert activity_to_graph(_values(), "Luc Roy")["body"] == {"contentType": "text", "content": "Contact : Luc Roy"}
    assert "body" not in activity_to_graph(_values())


@pytest.mark.parametrize(
    "values",
    [
        _values(),
        _values(start="2026-11-01T04:30:00Z", end="2026-11-01T08:00:00Z", is_private=True),
        _values(start="2026-03-08T05:00:00Z", end="2026-03-10T04:00:00Z", all_day=True),
    ],
)
def test_an_activity_sent_to_graph_and_read_back_has_the_same_sync_values(values):
    """No echo: what Prextra sends, Outlook returns unchanged, and the mapping reads it back equal."""
    assert _activity(activity_to_graph(values)).sync_values() == values


# ---------------------------------------------------------------- PATCH bodies


def test_a_patch_of_an_unchanged_activity_is_empty():
    assert activity_patch(_values(), _values()) == {}


@pytest.mark.parametrize(
    ("changed", "patch"),
    [
        ({"subject": "Nouvelle revue"}, {"subject": "Nouvelle revue"}),
        ({"location": "Salle B"}, {"location": {"displayName": "Salle B"}}),
        ({"is_private": True}, {"sensitivity": "private"}),
    ],
)
def test_a_patch_names_only_the_graph_property_of_the_changed_field(changed, patch):
    assert activity_patch(_values(), _values(**changed)) == patch


def test_a_changed_time_sends_start_and_end_together_without_is_all_day():
    patch = activity_patch(_values(), _values(end="2026-12-01T17:00:00Z"))
    assert patch == {
        "start": {"dateTime": "2026-12-01T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
    }


def test_a_change_to_all_day_sends_is_all_day_with_the_eastern_dates():
    patch = activity_patch(_values(), _values(start="2026-12-01T05:00:00Z", end="2026-12-02T05:00:00Z", all_day=True))
    assert sorted(patch) == ["end", "isAllDay", "start"]
    assert (patch["isAllDay"], patch["start"]["timeZone"]) == (True, "Eastern Standard Time")


def test_a_patch_without_agreed_state_sends_every_field_but_never_show_as_or_body():
    """showAs and body may hold what the user chose in Outlook: Prextra never overwrites them."""
    assert sorted(activity_patch({}, _values())) == ["end", "isAllDay", "location", "sensitivity", "start", "subject"]
