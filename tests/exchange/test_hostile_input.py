"""Hostile input from Outlook: the sync never crashes, skips only with a reason, cleans and cuts
what it keeps (journaling the cut), lets the other items through, and stays idempotent."""

from __future__ import annotations

import pytest

from crm.models import Activity, Contact
from exchange.mapping import ActivityData, Cancelled, ContactData, Skip, activity_from_graph, contact_from_graph
from exchange.models import JournalEntry
from exchange.reasons import describe
from exchange.sync.activities import sync_activities
from exchange.sync.contacts import sync_contacts
from tests.hostile import hostile_strings

WRONG_TYPES = [None, 0, 1.5, True, [], {}, ["a"], {"a": 1}, "x" * 10]


def test_there_are_at_least_500_hostile_strings():
    assert len(hostile_strings()) >= 500


@pytest.mark.parametrize(
    "field", ["givenName", "surname", "jobTitle", "mobilePhone", "displayName", "businessPhones", "emailAddresses"]
)
def test_contact_mapping_never_raises_whatever_the_field_holds(field):
    for value in (*hostile_strings(), *WRONG_TYPES):
        payload = {"givenName": "Luc", "surname": "Roy", "emailAddresses": [{"address": "luc@exemple.ca"}]}
        if field == "businessPhones":
            payload[field] = [value]
        elif field == "emailAddresses":
            payload[field] = [{"address": value}]
        else:
            payload[field] = value
        result = contact_from_graph(payload)
        assert isinstance(result, ContactData | Skip)
        if isinstance(result, ContactData):
            for text in result.fields().values():
                assert "\x00" not in text and "\n" not in text and "\x1b" not in text


@pytest.mark.parametrize("payload", [None, [], "contact", 42, {"emailAddresses": "pas une liste"}])
def test_unreadable_contacts_are_skipped_with_a_reason(payload):
    result = contact_from_graph(payload)
    assert isinstance(result, Skip) and result.reason


@pytest.mark.parametrize(
    "times",
    [
        {"start": {"dateTime": "0001-01-01T00:00:00", "timeZone": "Pacific Standard Time"}},
        {"start": {"dateTime": "9999-12-31T23:59:59", "timeZone": "Tokyo Standard Time"}},
        {"start": {"dateTime": "2026-13-45T99:00:00", "timeZone": "UTC"}},
        {"start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Fuseau/Imaginaire"}},
        {"start": "2026-12-01T10:00:00"},
        {"start": None},
        {"end": {"dateTime": "2026-11-30T10:00:00", "timeZone": "UTC"}},
    ],
)
def test_event_with_unreadable_or_impossible_times_is_skipped_with_a_reason(times):
    payload = {
        "subject": "Rencontre",
        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
        **times,
    }
    result = activity_from_graph(payload, "moi@prextra.test", "private")
    assert isinstance(result, Skip), result
    assert describe(result.reason).startswith("Ignoré")


@pytest.mark.parametrize(
    "field", ["subject", "location", "sensitivity", "attendees", "isAllDay", "type", "organizer", "isOrganizer"]
)
def test_event_mapping_never_raises_whatever_the_field_holds(field):
    for value in (*hostile_strings(), *WRONG_TYPES):
        payload = {
            "subject": "Rencontre",
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
        }
        if field == "location":
            payload[field] = {"displayName": value}
        elif field == "attendees":
            payload[field] = [{"emailAddress": {"address": value}}, value]
        elif field == "organizer":
            payload.update(isOrganizer=False, organizer={"emailAddress": {"name": value, "address": value}})
        else:
            payload[field] = value
        result = activity_from_graph(payload, "moi@prextra.test", "private")
        assert isinstance(result, ActivityData | Skip | Cancelled)
        if isinstance(result, ActivityData):
            assert len(result.subject) <= 255 and len(result.location) <= 255 and len(result.organizer) <= 255


@pytest.mark.django_db
def test_a_mailbox_full_of_hostile_contacts_syncs_the_rest_and_twice_changes_nothing(
    connection, graph_client, mailbox_user, outlook
):
    strings = hostile_strings()
    for index, value in enumerate(strings):
        outlook.add_contact(value, "Nom", f"p{index}@exemple.ca")
        outlook.add_contact("Prénom", value, f"n{index}@exemple.ca", jobTitle=value, businessPhones=[value])
        outlook.add_contact("Prénom", "Nom", value, businessAddress={"city": value, "state": value})
    run = sync_contacts(mailbox_user, client=graph_client)
    assert run.result == "success", run.error
    assert run.failed == 0
    assert run.created + run.skipped == 3 * len(strings)
    assert run.created > 2 * len(strings) - 20  # only the unusable names and addresses are skipped
    skips = JournalEntry.objects.filter(run=run, action="skipped")
    assert skips.count() == run.skipped and not skips.filter(reasons=[]).exists()
    assert JournalEntry.objects.filter(run=run, action="truncated").exists()
    stored = Contact.objects.values_list("first_name", "last_name", "title", "city")
    assert not any("\x00" in value or "\x1b" in value for row in stored for value in row)
    again = sync_contacts(mailbox_user, client=graph_client)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)


@pytest.mark.django_db
def test_hostile_event_texts_go_both_ways_without_echo(connection, graph_client, mailbox_user, outlook):
    strings = hostile_strings()[:120] + hostile_strings()[-40:]
    for index, value in enumerate(strings):
        day = 1 + index % 28
        outlook.add_event(
            value, f"2026-12-{day:02d}T15:00:00", f"2026-12-{day:02d}T16:00:00", location={"displayName": value}
        )
    runs = {run.direction: run for run in sync_activities(mailbox_user, client=graph_client)}
    assert runs["activities_in"].result == "success" and runs["activities_in"].failed == 0
    assert runs["activities_in"].created == len(strings)
    for activity in Activity.objects.filter(owner=mailbox_user)[:30]:
        # As the activity form saves it (stripped): an event without subject is stored empty.
        activity.subject = ("✎ " + activity.subject[:200]).strip()
        activity.save()
    runs = {run.direction: run for run in sync_activities(mailbox_user, client=graph_client)}
    assert runs["activities_out"].updated == 30 and runs["activities_out"].failed == 0
    quiet = {run.direction: run for run in sync_activities(mailbox_user, client=graph_client)}
    assert (quiet["activities_in"].created, quiet["activities_in"].updated) == (0, 0)
    assert "activities_out" not in quiet
