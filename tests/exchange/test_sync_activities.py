"""Two-way activity synchronization against the Graph emulator over HTTPS (R12–R16, R20)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import ExchangeProfile
from crm.models import Activity, Contact, Customer
from exchange.mapping import activity_from_graph, activity_patch
from exchange.models import JournalEntry, SyncState
from exchange.reasons import describe
from exchange.scheduling import due_syncs
from exchange.sync.activities import Push, merge, restore_losing_value, sync_activities
from exchange.sync.mailbox import mailbox_for

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")


def _sync(user, client, **switches):
    # update(): a stale profile saved whole would also blank the mailbox id the sync stored.
    ExchangeProfile.objects.filter(user=user).update(**switches)
    return {run.direction: run for run in sync_activities(user, client=client) or []}


def _pull(user, client):
    return _sync(user, client, sync_activities_in=True, sync_activities_out=False).get("activities_in")


def _push(user, client):
    return _sync(user, client, sync_activities_in=False, sync_activities_out=True).get("activities_out")


def _both(user, client):
    return _sync(user, client, sync_activities_in=True, sync_activities_out=True)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _prextra_activity(user, subject="Visite chez Finloc", start="2026-12-03T14:00:00", hours=1, **fields):
    begin = _utc(start)
    return Activity.objects.create(
        owner=user, subject=subject, start=begin, end=begin + timedelta(hours=hours), **fields
    )


# --- Exchange → Prextra -------------------------------------------------------------------------


def test_outlook_event_is_imported_public_with_its_fields_R12_R15(connection, graph_client, mailbox_user, outlook):
    event_id = outlook.add_event("Rencontre Finloc", location={"displayName": "Québec"})
    run = _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    assert run.created == 1
    assert (activity.subject, activity.location, activity.is_private, activity.source) == (
        "Rencontre Finloc",
        "Québec",
        False,
        "outlook",
    )
    assert (activity.start, activity.end) == (_utc("2026-12-02T15:00:00"), _utc("2026-12-02T16:00:00"))


def test_multi_day_all_day_event_keeps_its_calendar_dates_R14(connection, graph_client, mailbox_user, outlook):
    event_id = outlook.add_event(
        "Salon industriel",
        start={"dateTime": "2027-03-13T00:00:00", "timeZone": "Eastern Standard Time"},
        end={"dateTime": "2027-03-16T00:00:00", "timeZone": "Eastern Standard Time"},
        isAllDay=True,
    )
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    assert activity.all_day
    # Across the spring-forward of 2027-03-14: still midnight to midnight, three whole days.
    assert activity.start.astimezone(TORONTO).isoformat() == "2027-03-13T00:00:00-05:00"
    assert activity.end.astimezone(TORONTO).isoformat() == "2027-03-16T00:00:00-04:00"


def test_timed_event_across_the_autumn_dst_change_keeps_its_instants(connection, graph_client, mailbox_user, outlook):
    event_id = outlook.add_event(
        "Appel",
        start={"dateTime": "2027-11-07T01:30:00", "timeZone": "Eastern Standard Time"},
        end={"dateTime": "2027-11-07T03:30:00", "timeZone": "Eastern Standard Time"},
    )
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    assert activity.end - activity.start == timedelta(hours=3)  # 01:30 EDT → 03:30 EST


def test_recurring_events_are_never_imported_R13(connection, graph_client, mailbox_user, outlook):
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"]},
        "range": {"type": "numbered", "startDate": "2026-12-02", "numberOfOccurrences": 4},
    }
    outlook.add_event("Réunion hebdomadaire", recurrence=recurrence)
    single = outlook.add_event("Unique")
    run = _pull(mailbox_user, graph_client)
    assert list(Activity.objects.values_list("outlook_id", flat=True)) == [single]
    # One line per series, not per occurrence.
    assert run.skipped == 1
    (entry,) = JournalEntry.objects.filter(action="skipped")
    assert entry.item_label == "Réunion hebdomadaire"
    assert describe(entry.reasons) == "Ignoré : série récurrente (4 occurrences dans la période)."


def test_a_skipped_event_counts_once_and_a_full_round_later_neither_counts_nor_journals_it_again(
    connection, graph_client, mailbox_user, outlook
):
    connection.private_events = "skip"
    connection.save()
    outlook.add_event("Rendez-vous médical", sensitivity="private")
    first = _pull(mailbox_user, graph_client)
    assert first.skipped == 1 == JournalEntry.objects.filter(action="skipped").count()
    SyncState.objects.filter(user=mailbox_user, direction="activities_in").update(delta_link="")
    again = _pull(mailbox_user, graph_client)
    assert (again.pk, again.skipped) == (None, 0)
    assert JournalEntry.objects.filter(action="skipped").count() == 1


def test_an_outlook_edit_of_an_activity_deleted_in_prextra_is_journaled_without_a_negative_count(
    connection, graph_client, mailbox_user, outlook
):
    """That journal line is no skip of the counts: a round repeating it uncounts nothing."""
    event_id = outlook.add_event("Annulée ici")
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    activity.is_deleted = True
    activity.save()
    for subject in ("Modifiée là-bas", "Encore modifiée"):
        outlook.edit_event(event_id, subject=subject)
        run = _pull(mailbox_user, graph_client)
        assert run.skipped >= 0 and run.result == "success"


def test_a_round_that_meets_a_skipped_series_again_repeats_nothing(connection, graph_client, mailbox_user, outlook):
    """The delta link expired (or the window slid): the full round meets yesterday's skips again,
    and neither journals nor counts them a second time."""
    recurrence = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-12-02", "numberOfOccurrences": 3},
    }
    outlook.add_event("Mêlée quotidienne", recurrence=recurrence)
    assert _pull(mailbox_user, graph_client).skipped == 1
    SyncState.objects.filter(user=mailbox_user, direction="activities_in").update(delta_link="")
    again = _pull(mailbox_user, graph_client)
    assert (again.pk, again.skipped) == (None, 0)  # a quiet scheduled run is not even kept
    assert JournalEntry.objects.filter(action="skipped").count() == 1


def test_single_event_turned_into_a_series_is_unlinked_not_duplicated(connection, graph_client, mailbox_user, outlook):
    event_id = outlook.add_event("Suivi")
    _pull(mailbox_user, graph_client)
    outlook.edit_event(
        event_id,
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-12-02", "numberOfOccurrences": 3},
        },
    )
    _both(mailbox_user, graph_client)
    _both(mailbox_user, graph_client)
    activities = Activity.objects.filter(owner=mailbox_user)
    assert activities.count() == 1
    assert activities.get().sync_excluded
    assert len(outlook.events(graph_client)) == 1  # the series master only: nothing pushed back


def test_first_attendee_who_is_a_prextra_contact_is_linked_R16(connection, graph_client, mailbox_user, outlook):
    customer = Customer.objects.create(code="C1", name="Finloc")
    second = Contact.objects.create(first_name="B", last_name="B", email="b@finloc.com", customer=customer)
    Contact.objects.create(first_name="C", last_name="C", email="c@finloc.com", customer=customer)
    attendees = [
        {"type": "required", "emailAddress": {"address": "inconnu@ailleurs.ca"}},
        {"type": "required", "emailAddress": {"address": "B@Finloc.com"}},
        {"type": "optional", "emailAddress": {"address": "c@finloc.com"}},
    ]
    event_id = outlook.add_event("Réunion", attendees=attendees)
    _pull(mailbox_user, graph_client)
    assert Activity.objects.get(outlook_id=event_id).contact == second


@pytest.mark.parametrize(("policy", "imported", "private"), [("private", True, True), ("public", True, False),
                                                              ("skip", False, None)])  # fmt: skip
def test_private_outlook_events_follow_the_connection_setting(
    connection, graph_client, mailbox_user, outlook, policy, imported, private
):
    connection.private_events = policy
    connection.save()
    event_id = outlook.add_event("Dentiste", sensitivity="private")
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.filter(outlook_id=event_id).first()
    assert (activity is not None) == imported
    if imported:
        assert activity.is_private == private


def test_outlook_edit_updates_the_activity_but_never_its_notes_R12(connection, graph_client, mailbox_user, outlook):
    event_id = outlook.add_event("Rencontre")
    _pull(mailbox_user, graph_client)
    Activity.objects.filter(outlook_id=event_id).update(notes="Apporter la soumission")
    outlook.edit_event(
        event_id, subject="Rencontre déplacée", end={"dateTime": "2026-12-02T17:00:00", "timeZone": "UTC"}
    )
    run = _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    assert run.updated == 1
    assert (activity.subject, activity.end, activity.notes) == (
        "Rencontre déplacée",
        _utc("2026-12-02T17:00:00"),
        "Apporter la soumission",
    )


@pytest.mark.parametrize("how", ["delete", "cancel"])
def test_outlook_deletion_or_cancellation_removes_the_activity_recoverably(
    connection, graph_client, mailbox_user, outlook, how
):
    event_id = outlook.add_event("Annulée")
    _pull(mailbox_user, graph_client)
    if how == "delete":
        outlook.delete_event(event_id)
    else:
        outlook.edit_event(event_id, isCancelled=True)
    run = _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(owner=mailbox_user)
    assert run.deleted == 1
    assert activity.is_deleted and activity.deleted_at is not None
    assert not Activity.objects.alive().exists()


def test_outlook_deletion_through_deleted_items_reaches_prextra(connection, graph_client, mailbox_user, outlook):
    # A real mailbox moves a deleted event to Deleted Items: its id still answers 200, not cancelled.
    event_id = outlook.add_event("Supprimée dans Outlook")
    _pull(mailbox_user, graph_client)
    outlook.delete_event(event_id)
    assert graph_client.get_event(outlook.mailbox.id, event_id)["isCancelled"] is False
    run = _pull(mailbox_user, graph_client)
    assert run.deleted == 1
    assert not Activity.objects.alive().exists()
    assert JournalEntry.objects.filter(run=run, action=JournalEntry.Action.DELETED).count() == 1


def test_outlook_permanent_deletion_reaches_prextra(connection, graph_client, mailbox_user, outlook):
    event_id = outlook.add_event("Purgée")
    _pull(mailbox_user, graph_client)
    outlook.purge_event(event_id)
    run = _pull(mailbox_user, graph_client)
    assert run.deleted == 1 and not Activity.objects.alive().exists()


def test_event_rescheduled_outside_the_window_gets_its_new_times(connection, graph_client, mailbox_user, outlook):
    # calendarView/delta reports it @removed; the GET shows its new times: merged, nothing deleted.
    event_id = outlook.add_event("Déplacée")
    _pull(mailbox_user, graph_client)
    outlook.edit_event(
        event_id,
        start={"dateTime": "2031-01-10T15:00:00", "timeZone": "UTC"},
        end={"dateTime": "2031-01-10T16:00:00", "timeZone": "UTC"},
    )
    run = _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(owner=mailbox_user)
    assert (run.deleted, run.updated) == (0, 1)
    assert not activity.is_deleted and activity.outlook_id == event_id
    assert (activity.start, activity.end) == (_utc("2031-01-10T15:00:00"), _utc("2031-01-10T16:00:00"))
    assert not activity.needs_push  # Outlook's times are now the agreed state: nothing to send back
    assert _pull(mailbox_user, graph_client).updated == 0


def _reconciliation_due(user):
    SyncState.objects.filter(user=user, direction="activities_in").update(
        reconciled_at=datetime.now(UTC) - timedelta(seconds=settings.PREXTRA_RECONCILE_INTERVAL + 1)
    )


def test_a_deletion_delta_never_reports_is_caught_by_the_reconciliation(
    connection, graph_client, mailbox_user, outlook
):
    kept = outlook.add_event("Gardée", start="2026-12-04T15:00:00", end="2026-12-04T16:00:00")
    gone = outlook.add_event("Supprimée sans @removed")
    _pull(mailbox_user, graph_client)
    outlook.delete_event(gone)
    outlook.emulator.inject_fault("delta_lose_removed", path="calendarView")  # microsoft-graph-docs issue 11728
    assert _pull(mailbox_user, graph_client).deleted == 0
    assert Activity.objects.alive().count() == 2  # the delta round never heard of the deletion
    _reconciliation_due(mailbox_user)
    run = _pull(mailbox_user, graph_client)
    assert (run.created, run.deleted) == (0, 1)
    assert list(Activity.objects.alive().values_list("outlook_id", flat=True)) == [kept]
    state = SyncState.objects.get(user=mailbox_user, direction="activities_in")
    assert datetime.now(UTC) - state.reconciled_at < timedelta(minutes=1)


def test_a_reconciliation_that_finds_nothing_writes_nothing_but_its_stamp(
    connection, graph_client, mailbox_user, outlook
):
    outlook.add_event("Simple")
    outlook.add_event("Hebdo", recurrence={
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"]},
        "range": {"type": "numbered", "startDate": "2026-12-02", "numberOfOccurrences": 4},
    })  # fmt: skip
    _pull(mailbox_user, graph_client)
    _reconciliation_due(mailbox_user)
    journal, activities = JournalEntry.objects.count(), list(Activity.objects.values_list("pk", "sync_hash"))
    run = _pull(mailbox_user, graph_client)
    assert (run.created, run.updated, run.deleted, run.skipped, run.pk) == (0, 0, 0, 0, None)
    assert JournalEntry.objects.count() == journal
    assert list(Activity.objects.values_list("pk", "sync_hash")) == activities
    state = SyncState.objects.get(user=mailbox_user, direction="activities_in")
    assert datetime.now(UTC) - state.reconciled_at < timedelta(minutes=1)


def test_expired_delta_link_resyncs_without_duplicates(connection, graph_client, mailbox_user, outlook):
    kept = outlook.add_event("Gardée")
    gone = outlook.add_event("Supprimée pendant l'expiration")
    _pull(mailbox_user, graph_client)
    outlook.delete_event(gone)
    outlook.emulator.expire_delta_tokens()
    run = _pull(mailbox_user, graph_client)
    assert run.result == "success"
    assert Activity.objects.filter(owner=mailbox_user).count() == 2
    assert Activity.objects.alive().get().outlook_id == kept


@pytest.mark.parametrize(
    ("status", "code"),
    [(410, "SyncStateNotFound"), (400, "syncStateInvalid"), (404, "syncStateNotFound"), (410, "resyncRequired")],
)
def test_every_delta_restart_answer_starts_a_full_calendar_round(
    connection, graph_client, mailbox_user, outlook, status, code
):
    """Graph says "start over" with 410 and with other 4xx (delta-query-overview, "Token duration")."""
    kept = outlook.add_event("Gardée")
    _pull(mailbox_user, graph_client)
    outlook.edit_event(kept, subject="Renommée")
    outlook.emulator.inject_fault("delta_expired", path="/calendarView/delta", status=status, code=code)
    run = _pull(mailbox_user, graph_client)
    assert run.result == "success", run.error
    assert Activity.objects.filter(owner=mailbox_user).count() == 1
    assert Activity.objects.get(owner=mailbox_user).subject == "Renommée"
    assert SyncState.objects.get(user=mailbox_user, direction="activities_in").last_error == ""


def test_a_long_retry_after_defers_both_directions_until_then(connection, graph_client, mailbox_user, outlook):
    """Graph throttles per app and mailbox: a Retry-After of an hour defers the pull and the push
    for that hour (https://learn.microsoft.com/graph/throttling: wait the full value)."""
    activity = _prextra_activity(mailbox_user)
    mailbox_for(mailbox_user, graph_client)  # the mailbox is known: its lookup is not counted below
    outlook.emulator.inject_fault("throttle", method="GET", path="/calendarView/delta", retry_after=3600)
    before = len(outlook.emulator.requests_log())
    runs = _both(mailbox_user, graph_client)
    assert [runs[d].result for d in ("activities_in", "activities_out")] == ["failed", "failed"]
    assert len(outlook.emulator.requests_log()) - before == 1  # the throttled GET, nothing after it
    for state in SyncState.objects.filter(user=mailbox_user):
        assert timedelta(minutes=59) < state.not_before - timezone.now() <= timedelta(hours=1)
    assert (mailbox_user.pk, "activities") not in due_syncs()
    activity.refresh_from_db()
    assert activity.needs_push and not activity.outlook_id


def test_mass_deletion_in_outlook_waits_for_an_administrator(connection, graph_client, mailbox_user, outlook):
    ids = [outlook.add_event(f"R{number}", start=f"2026-12-{number + 1:02d}T15:00:00",
                             end=f"2026-12-{number + 1:02d}T16:00:00") for number in range(25)]  # fmt: skip
    _pull(mailbox_user, graph_client)
    for event_id in ids[:22]:
        outlook.delete_event(event_id)
    run = _pull(mailbox_user, graph_client)
    assert run.result == "halted"
    assert Activity.objects.alive().count() == 25
    assert SyncState.objects.get(user=mailbox_user, direction="activities_in").pending_confirmation


# --- Prextra → Exchange -------------------------------------------------------------------------


def test_prextra_activity_is_created_in_outlook_without_attendees(connection, graph_client, mailbox_user, outlook):
    customer = Customer.objects.create(code="C1", name="Finloc")
    contact = Contact.objects.create(first_name="Luc", last_name="Roy", email="luc@finloc.com", customer=customer)
    activity = _prextra_activity(mailbox_user, contact=contact, location="Lévis")
    start = len(outlook.emulator.requests_log())
    run = _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    (event,) = outlook.events(graph_client)
    assert run.created == 1 and not activity.needs_push
    assert (event["id"], event["subject"], event["location"]["displayName"]) == (
        activity.outlook_id,
        "Visite chez Finloc",
        "Lévis",
    )
    assert event["attendees"] == []
    assert "Luc Roy" in event["body"]["content"]
    assert outlook.invitations(start) == []


def test_private_prextra_activity_is_pushed_private(connection, graph_client, mailbox_user, outlook):
    _prextra_activity(mailbox_user, is_private=True)
    _push(mailbox_user, graph_client)
    assert outlook.events(graph_client)[0]["sensitivity"] == "private"


def test_all_day_prextra_activity_keeps_its_dates_in_outlook(connection, graph_client, mailbox_user, outlook):
    first = datetime(2027, 3, 13, tzinfo=TORONTO)
    Activity.objects.create(
        owner=mailbox_user, subject="Salon", start=first, end=first + timedelta(days=3), all_day=True
    )
    _push(mailbox_user, graph_client)
    (event,) = outlook.events(graph_client)
    assert event["isAllDay"]
    assert (event["start"]["dateTime"][:10], event["end"]["dateTime"][:10]) == ("2027-03-13", "2027-03-16")


def test_prextra_edit_and_deletion_reach_outlook(connection, graph_client, mailbox_user, outlook):
    activity = _prextra_activity(mailbox_user)
    _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    activity.subject = "Visite reportée"
    activity.save()
    assert _push(mailbox_user, graph_client).updated == 1
    assert outlook.events(graph_client)[0]["subject"] == "Visite reportée"
    activity.is_deleted = True
    activity.save()
    assert _push(mailbox_user, graph_client).deleted == 1
    assert outlook.events(graph_client) == []


def test_meetings_with_attendees_are_never_changed_from_prextra(connection, graph_client, mailbox_user, outlook):
    attendees = [{"type": "required", "emailAddress": {"address": "client@finloc.com"}}]
    event_id = outlook.add_event("Réunion client", attendees=attendees)
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    activity.start += timedelta(hours=2)
    activity.end += timedelta(hours=2)
    activity.save()
    start = len(outlook.emulator.requests_log())
    _push(mailbox_user, graph_client)
    activity.is_deleted = True
    activity.save()
    _push(mailbox_user, graph_client)
    assert outlook.invitations(start) == []
    assert outlook.graph_writes(start) == []


OTHERS = [{"type": "required", "emailAddress": {"address": "luc.roy@finloc.com", "name": "Luc Roy"}}]


@pytest.mark.parametrize(
    "invitation",
    [pytest.param({}, id="one-to-one"), pytest.param({"attendees": OTHERS, "hideAttendees": True}, id="hideAttendees")],
)
def test_a_meeting_received_from_someone_else_is_never_changed_from_prextra(
    connection, graph_client, mailbox_user, outlook, invitation
):
    """isOrganizer false: someone else's meeting, though its attendees show the mailbox alone."""
    event_id = outlook.receive_meeting("Revue chez Finloc", **invitation)
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    assert (activity.outlook_organizer, activity.outlook_is_meeting) == ("Julie Fortin", True)
    activity.subject = "Revue déplacée"
    activity.save()
    start = len(outlook.emulator.requests_log())
    run = _push(mailbox_user, graph_client)
    activity.is_deleted = True
    activity.save()
    _push(mailbox_user, graph_client)
    assert outlook.event_writes(start) == []
    assert outlook.mailbox.events[event_id]["fields"]["subject"] == "Revue chez Finloc"
    entries = JournalEntry.objects.filter(activity=activity, action="skipped")
    reasons = {describe(entry.reasons) for entry in entries}
    assert reasons == {"Réunion organisée par Julie Fortin : à modifier dans Outlook"}
    assert run.skipped == 1


@pytest.mark.parametrize(
    ("fields", "organizer"),
    [
        ({"isOrganizer": True, "organizer": {"emailAddress": {"address": "alias@prextra.test"}}}, ""),
        ({"isOrganizer": False, "organizer": {"emailAddress": {"address": "moi@prextra.test"}}}, "moi@prextra.test"),
        ({"isOrganizer": False, "organizer": {"emailAddress": {"name": "Julie", "address": "j@x.ca"}}}, "Julie"),
        ({"isOrganizer": False}, "un autre organisateur"),
        ({"organizer": {"emailAddress": {"address": "j@x.ca"}}}, "j@x.ca"),
        ({"organizer": {"emailAddress": {"address": "MOI@prextra.test"}}}, ""),
        ({}, ""),
    ],
)
def test_isorganizer_decides_whose_meeting_it_is(fields, organizer):
    """Graph's isOrganizer wins over the address (a UPN or an alias may differ from Prextra's
    address); without it, an organizer other than the mailbox means someone else's meeting."""
    payload = {"subject": "Revue", "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
               "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"}, **fields}  # fmt: skip
    data = activity_from_graph(payload, "moi@prextra.test", "private")
    assert (data.organizer, data.is_meeting) == (organizer, bool(organizer))


def test_activity_patch_names_only_what_changed():
    agreed = {"subject": "A", "location": "L", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T11:00:00Z",
              "all_day": False, "is_private": False}  # fmt: skip
    assert activity_patch(agreed, dict(agreed)) == {}
    assert activity_patch(agreed, dict(agreed, is_private=True)) == {"sensitivity": "private"}
    assert activity_patch(dict(agreed, is_private=True), agreed) == {"sensitivity": "normal"}
    moved = activity_patch(agreed, dict(agreed, end="2026-12-01T12:00:00Z"))
    assert sorted(moved) == ["end", "start"] and moved["end"]["dateTime"] == "2026-12-01T12:00:00"
    whole_day = activity_patch(agreed, dict(agreed, all_day=True, start="2026-12-01T05:00:00Z"))
    assert whole_day["isAllDay"] is True and whole_day["start"]["timeZone"] == "Eastern Standard Time"
    assert "showAs" not in activity_patch({}, agreed) and "body" not in activity_patch({}, agreed)


def test_a_received_meeting_changed_by_its_organizer_takes_the_organizers_version(
    connection, graph_client, mailbox_user, outlook
):
    """A local change Prextra could never send (made behind the screens) gives way to the organizer's."""
    event_id = outlook.receive_meeting("Revue chez Finloc")
    _pull(mailbox_user, graph_client)
    Activity.objects.filter(outlook_id=event_id).update(subject="Changé dans Prextra")
    outlook.edit_event(event_id, location={"displayName": "Salle Finloc"})
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    assert (activity.subject, activity.location, activity.needs_push) == ("Revue chez Finloc", "Salle Finloc", False)


def test_a_received_meeting_imported_earlier_learns_its_organizer_on_its_next_change(
    connection, graph_client, mailbox_user, outlook
):
    """An activity linked before the organizer was recorded: the next delta item names it, even
    when the organizer changed nothing Prextra synchronizes."""
    event_id = outlook.receive_meeting("Revue chez Finloc")
    _pull(mailbox_user, graph_client)
    Activity.objects.filter(outlook_id=event_id).update(outlook_organizer="", outlook_is_meeting=False)
    outlook.edit_event(event_id, categories=["Client"])
    _pull(mailbox_user, graph_client)
    assert Activity.objects.get(outlook_id=event_id).outlook_organizer == "Julie Fortin"


@pytest.mark.parametrize("sensitivity", ["confidential", "personal"])
def test_a_prextra_subject_edit_keeps_what_only_outlook_holds(
    connection, graph_client, mailbox_user, outlook, sensitivity
):
    """A PATCH replaces what it names: only the subject goes, so showAs, sensitivity, categories,
    several locations and the body written in Outlook survive."""
    places = [{"displayName": "Salle A"}, {"displayName": "Salle B"}]
    event_id = outlook.add_event(
        "Rencontre", showAs="tentative", sensitivity=sensitivity, categories=["Client"], locations=places,
        body={"contentType": "text", "content": "Apporter les plans"},
    )  # fmt: skip
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    activity.subject = "Rencontre reportée"
    activity.save()
    start = len(outlook.emulator.requests_log())
    assert _push(mailbox_user, graph_client).updated == 1
    (patch,) = outlook.event_writes(start)
    assert (patch["method"], patch["body"]) == ("PATCH", {"subject": "Rencontre reportée"})
    (event,) = outlook.events(graph_client)
    assert (event["subject"], event["showAs"], event["sensitivity"]) == ("Rencontre reportée", "tentative", sensitivity)
    assert event["categories"] == ["Client"]
    assert [place["displayName"] for place in event["locations"]] == ["Salle A", "Salle B"]
    assert "Apporter les plans" in event["body"]["content"]


def test_a_patch_names_only_the_changed_fields(connection, graph_client, mailbox_user, outlook):
    """Each Prextra change sends its own property; the time pair goes together; no showAs, no body."""
    activity = _prextra_activity(mailbox_user, location="Lévis")
    start = len(outlook.emulator.requests_log())
    _push(mailbox_user, graph_client)
    (create,) = outlook.event_writes(start)
    assert {"subject", "start", "end", "isAllDay", "location", "sensitivity", "showAs"} <= create["body"].keys()
    bodies = []
    for change in ({"location": "Québec"}, {"is_private": True}, {"start": activity.start + timedelta(minutes=30)}):
        activity.refresh_from_db()
        for name, value in change.items():
            setattr(activity, name, value)
        activity.save()
        start = len(outlook.emulator.requests_log())
        _push(mailbox_user, graph_client)
        bodies.append([entry["body"] for entry in outlook.event_writes(start)])
    assert bodies[0] == [{"location": {"displayName": "Québec"}}]
    assert bodies[1] == [{"sensitivity": "private"}]
    assert [sorted(body) for body in bodies[2]] == [["end", "start"]]
    assert bodies[2][0]["start"]["dateTime"] == "2026-12-03T14:30:00"
    (event,) = outlook.events(graph_client)
    assert (event["location"]["displayName"], event["sensitivity"]) == ("Québec", "private")


def test_a_retry_after_a_timeout_never_creates_a_second_event(connection, graph_client, mailbox_user, outlook):
    _prextra_activity(mailbox_user)
    outlook.emulator.inject_fault("timeout_after_write", method="POST", path=r"\$batch", count=1, seconds=0)
    run = _push(mailbox_user, graph_client)
    if run.result != "success":
        run = _push(mailbox_user, graph_client)
    outlook.emulator.clear_faults()
    assert len(outlook.events(graph_client)) == 1
    assert Activity.objects.get().outlook_id == outlook.events(graph_client)[0]["id"]


@pytest.fixture(autouse=True)
def _no_fault_outlives_its_test(graph_emulator):
    """The emulator is shared by the session: a test that fails with a fault armed must not leak it."""
    yield
    graph_emulator.clear_faults()


def _lose_the_create_reply(outlook):
    """The create reaches Outlook, its reply is lost, and every retry of the batch fails (503)."""
    outlook.emulator.inject_fault("timeout_after_write", method="POST", path=r"\$batch", count=1, seconds=0.1)
    outlook.emulator.inject_fault("unavailable", method="POST", path=r"\$batch", count=None)


def test_a_lost_create_reply_is_linked_by_the_next_pull_never_imported_twice(
    connection, graph_client, mailbox_user, outlook
):
    activity = _prextra_activity(mailbox_user)
    _lose_the_create_reply(outlook)
    assert _push(mailbox_user, graph_client).result == "failed"
    outlook.emulator.clear_faults()
    (event,) = outlook.events(graph_client)  # the create did happen, unknown to Prextra
    run = _pull(mailbox_user, graph_client)
    activity.refresh_from_db()
    assert Activity.objects.filter(owner=mailbox_user).count() == 1 and run.created == 0
    assert activity.outlook_id == event["id"] and not activity.needs_push
    assert JournalEntry.objects.filter(action="linked", activity=activity).count() == 1
    activity.subject = "Visite reportée"
    activity.save()
    assert _push(mailbox_user, graph_client).updated == 1
    assert [e["subject"] for e in outlook.events(graph_client)] == ["Visite reportée"]


def test_a_create_repeated_with_a_changed_body_links_the_event_graph_refuses_to_duplicate(
    connection, graph_client, mailbox_user, outlook
):
    """Same transactionId, other body: Graph answers 400 ErrorDuplicateTransactionId; the push finds
    the event it created (extended property) and links it, and the next run patches the change."""
    activity = _prextra_activity(mailbox_user)
    _lose_the_create_reply(outlook)
    _push(mailbox_user, graph_client)
    outlook.emulator.clear_faults()
    activity.refresh_from_db()
    activity.subject = "Visite reportée"
    activity.save()
    _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    (event,) = outlook.events(graph_client)
    assert activity.outlook_id == event["id"] and activity.needs_push
    assert _push(mailbox_user, graph_client).updated == 1
    assert [e["subject"] for e in outlook.events(graph_client)] == ["Visite reportée"]
    assert Activity.objects.get(pk=activity.pk).needs_push is False


def test_one_failing_item_never_undoes_the_other_items_of_its_batch(
    connection, graph_client, mailbox_user, outlook, monkeypatch
):
    first, second, third = (_prextra_activity(mailbox_user, subject=f"A{n}") for n in range(3))
    settle = Push._settle

    def settle_then_fail_on_the_second(self, activity, method, response):
        settle(self, activity, method, response)
        if activity.pk == second.pk:  # a database refusal after its write (a CHECK constraint here)
            Activity.objects.create(owner=mailbox_user, subject="x", start=first.end, end=first.start)

    monkeypatch.setattr(Push, "_settle", settle_then_fail_on_the_second)
    run = _push(mailbox_user, graph_client)
    monkeypatch.undo()
    assert (run.created, run.failed) == (2, 1)
    linked = dict(Activity.objects.filter(owner=mailbox_user).values_list("pk", "outlook_id"))
    assert linked[first.pk] and linked[third.pk] and linked[second.pk] is None
    _push(mailbox_user, graph_client)  # the second again: the same transactionId, the same event
    assert len(outlook.events(graph_client)) == 3
    assert None not in Activity.objects.filter(owner=mailbox_user).values_list("outlook_id", flat=True)


def _linked_then_deleted_in_prextra(user, client):
    activity = _prextra_activity(user)
    _push(user, client)
    activity.refresh_from_db()
    activity.is_deleted = True
    activity.save()
    return activity


def test_a_delete_answered_410_is_already_gone(connection, graph_client, mailbox_user, outlook):
    activity = _linked_then_deleted_in_prextra(mailbox_user, graph_client)
    outlook.emulator.inject_fault("error", status=410, code="ErrorItemNotFound", method="DELETE", in_batch=True)
    assert _push(mailbox_user, graph_client).deleted == 1
    activity.refresh_from_db()
    assert (activity.outlook_id, activity.needs_push) == (None, False)


def test_a_change_answered_404_removes_the_activity_deleted_in_outlook(connection, graph_client, mailbox_user, outlook):
    activity = _prextra_activity(mailbox_user)
    _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    # Purged (an ordinary Outlook deletion sits in Deleted Items, where a PATCH still succeeds and the
    # next pull removes it: see test_outlook_deletion_through_deleted_items_reaches_prextra).
    outlook.purge_event(activity.outlook_id)
    activity.subject = "Visite reportée"
    activity.save()
    run = _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    assert activity.is_deleted and activity.outlook_id is None and run.failed == 0
    assert JournalEntry.objects.filter(activity=activity, action="deleted", run=run).count() == 1


def test_a_delete_refused_403_is_journaled_once_and_not_sent_again(connection, graph_client, mailbox_user, outlook):
    activity = _linked_then_deleted_in_prextra(mailbox_user, graph_client)
    event_id = activity.outlook_id
    outlook.emulator.inject_fault(
        "error", status=403, code="ErrorAccessDenied", message="Access is denied.", method="DELETE", count=None
    )
    start = len(outlook.emulator.requests_log())
    for _run in range(3):
        _both(mailbox_user, graph_client)
    outlook.emulator.clear_faults()
    deletes = [e for e in outlook.graph_writes(start) if e["method"] == "DELETE"]
    (entry,) = JournalEntry.objects.filter(activity=activity, action="failed")
    assert (
        len(deletes) == 1
        and "403 ErrorAccessDenied" in describe(entry.reasons)
        and "reste dans Outlook" in describe(entry.reasons)
    )
    activity.refresh_from_db()
    assert activity.is_deleted and activity.outlook_id == event_id  # both sides keep what they hold
    assert [e["id"] for e in outlook.events(graph_client)] == [event_id]


def test_a_permanent_refusal_of_a_change_is_sent_once_per_change_a_transient_one_again(
    connection, graph_client, mailbox_user, outlook
):
    activity = _prextra_activity(mailbox_user)
    _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    activity.subject = "Refusée"
    activity.save()
    outlook.emulator.inject_fault("error", status=400, code="ErrorInvalidRequest", method="PATCH", count=None)
    start = len(outlook.emulator.requests_log())
    for _run in range(3):
        _push(mailbox_user, graph_client)
    patches = [e for e in outlook.graph_writes(start) if e["method"] == "PATCH"]
    assert len(patches) == 1 and JournalEntry.objects.filter(activity=activity, action="failed").count() == 1
    activity.refresh_from_db()
    activity.subject = "Refusée encore"
    activity.save()
    outlook.emulator.clear_faults()
    outlook.emulator.inject_fault("error", status=409, code="ErrorConflict", method="PATCH", count=1)
    _push(mailbox_user, graph_client)  # a conflict may pass: the next run sends it again
    assert _push(mailbox_user, graph_client).updated == 1
    assert outlook.events(graph_client)[0]["subject"] == "Refusée encore"


def test_a_thousand_changes_go_in_batches_of_twenty(connection, graph_client, mailbox_user, outlook):
    base = _utc("2026-12-01T13:00:00")
    Activity.objects.bulk_create(
        [
            Activity(
                owner=mailbox_user,
                subject=f"A{n}",
                start=base + timedelta(hours=n),
                end=base + timedelta(hours=n, minutes=30),
            )
            for n in range(60)
        ]  # fmt: skip
    )
    run = _push(mailbox_user, graph_client)
    assert run.created == 60
    assert run.graph_requests <= 3 + 1  # three $batch requests (and at most one token)


# --- both ways -----------------------------------------------------------------------------------


def test_no_echo_a_pushed_change_is_not_reimported_and_an_import_is_not_pushed(
    connection, graph_client, mailbox_user, outlook
):
    _prextra_activity(mailbox_user)
    outlook.add_event("Venue d'Outlook")
    _both(mailbox_user, graph_client)
    runs = _both(mailbox_user, graph_client)
    pull = runs["activities_in"]
    assert (pull.created, pull.updated, pull.deleted) == (0, 0, 0)
    assert "activities_out" not in runs  # nothing to push: no run, no Graph request
    before = list(Activity.objects.values_list("pk", "updated_at"))
    _both(mailbox_user, graph_client)
    assert list(Activity.objects.values_list("pk", "updated_at")) == before
    assert Activity.objects.count() == 2 and len(outlook.events(graph_client)) == 2


def test_three_way_merge_keeps_both_sides_changes_of_different_fields():
    agreed = {"subject": "A", "location": "X"}
    merged, conflicts = merge(agreed, {"subject": "A2", "location": "X"}, {"subject": "A", "location": "Y"}, "outlook")
    assert merged == {"subject": "A2", "location": "Y"} and conflicts == {}


def test_conflict_is_won_by_outlook_and_the_losing_value_kept(connection, graph_client, mailbox_user, outlook):
    event_id = outlook.add_event("Original")
    _both(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    activity.subject = "Changé dans Prextra"
    activity.save()
    outlook.edit_event(event_id, subject="Changé dans Outlook")
    _both(mailbox_user, graph_client)
    activity.refresh_from_db()
    assert activity.subject == "Changé dans Outlook"
    conflict = JournalEntry.objects.get(action="conflict")
    assert conflict.changes == {"subject": ["Changé dans Prextra", "Changé dans Outlook"]}
    restore_losing_value(conflict)
    _both(mailbox_user, graph_client)
    assert outlook.events(graph_client)[0]["subject"] == "Changé dans Prextra"


def test_conflict_winner_can_be_prextra(connection, graph_client, mailbox_user, outlook):
    connection.conflict_winner = "prextra"
    connection.save()
    event_id = outlook.add_event("Original")
    _both(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    activity.location = "Prextra"
    activity.save()
    outlook.edit_event(event_id, location={"displayName": "Outlook"})
    _both(mailbox_user, graph_client)
    assert outlook.events(graph_client)[0]["location"]["displayName"] == "Prextra"


def test_switched_off_directions_write_nothing_on_either_side(connection, graph_client, mailbox_user, outlook):
    _prextra_activity(mailbox_user)
    outlook.add_event("Outlook seulement")
    start = len(outlook.emulator.requests_log())
    assert _sync(mailbox_user, graph_client, sync_activities_in=False, sync_activities_out=False) == {}
    assert outlook.emulator.requests_log(start) == []
    assert Activity.objects.count() == 1


def test_stamps_move_on_success_and_only_the_attempt_on_failure_R20(connection, graph_client, mailbox_user, outlook):
    outlook.add_event()
    _pull(mailbox_user, graph_client)
    state = SyncState.objects.get(user=mailbox_user, direction="activities_in")
    success = state.last_success_at
    outlook.emulator.inject_fault("unavailable", method="GET", path="calendarView", count=None)
    try:
        run = _pull(mailbox_user, graph_client)
    finally:
        outlook.emulator.clear_faults()
    state.refresh_from_db()
    assert run.result == "failed"
    assert state.last_success_at == success and state.last_attempt_at > success


def test_edited_alternately_on_both_sides_with_faults_between_steps_converges(
    connection, graph_client, mailbox_user, outlook
):
    faults = ["throttle", "unavailable", "drop", "revoke_tokens", "delta_replay", "gateway_timeout"]
    a = _prextra_activity(mailbox_user, "Prextra 1")
    b_id = outlook.add_event("Outlook 1")
    for step, fault in enumerate(faults):
        outlook.emulator.inject_fault(fault, count=1, retry_after=1)
        runs = _both(mailbox_user, graph_client)
        if any(run.result == "failed" for run in runs.values()):
            _both(mailbox_user, graph_client)
        a.refresh_from_db()
        a.subject = f"Prextra {step + 2}"
        a.save()
        outlook.edit_event(b_id, subject=f"Outlook {step + 2}")
    outlook.emulator.clear_faults()
    start = len(outlook.emulator.requests_log())
    _both(mailbox_user, graph_client)
    _both(mailbox_user, graph_client)
    events = {event["subject"] for event in outlook.events(graph_client)}
    activities = set(Activity.objects.alive().values_list("subject", flat=True))
    assert events == activities == {f"Prextra {len(faults) + 1}", f"Outlook {len(faults) + 1}"}
    assert Activity.objects.count() == 2 and Activity.objects.filter(needs_push=True).count() == 0
    assert outlook.invitations() == []
    last = _both(mailbox_user, graph_client)
    assert (last["activities_in"].created, last["activities_in"].updated) == (0, 0)
    assert outlook.graph_writes(start) and all(w["method"] in {"POST", "PATCH"} for w in outlook.graph_writes(start))


def test_a_412_refresh_learns_that_the_event_became_a_meeting_and_stops_patching_it(
    connection, graph_client, mailbox_user, outlook
):
    """Push only (no pull to see it): attendees added in Outlook meanwhile make the PATCH a 412;
    the re-read must learn it is a meeting now, or the next run's PATCH would mail its attendees."""
    event_id = outlook.add_event("Visite")
    _pull(mailbox_user, graph_client)
    activity = Activity.objects.get(outlook_id=event_id)
    outlook.edit_event(event_id, attendees=OTHERS)
    activity.subject = "Visite déplacée"
    activity.save()
    start = len(outlook.emulator.requests_log())
    _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    assert activity.outlook_is_meeting
    _push(mailbox_user, graph_client)
    assert [entry for entry in outlook.event_writes(start) if entry.get("status", 0) < 400] == []
    assert outlook.invitations(start) == []
    assert outlook.mailbox.events[event_id]["fields"]["subject"] == "Visite"


def test_a_push_deferred_mid_way_keeps_the_journal_of_the_batches_it_sent(
    connection, graph_client, mailbox_user, outlook
):
    """A long Retry-After on the second $batch fails the run: the 20 events the first one created
    exist in Outlook and are counted, so their journal entries are written too."""
    for number in range(21):
        _prextra_activity(mailbox_user, subject=f"A{number}")
    send = graph_client.batch

    def send_then_throttle(requests_):
        responses = send(requests_)
        outlook.emulator.inject_fault("throttle", method="POST", path=r"\$batch", retry_after=3600)
        return responses

    graph_client.batch = send_then_throttle
    run = _push(mailbox_user, graph_client)
    assert (run.result, run.created) == ("failed", 20)
    assert JournalEntry.objects.filter(run=run, action="created").count() == 20


def test_a_long_retry_after_inside_a_batch_defers_the_push_and_keeps_the_other_items(
    connection, graph_client, mailbox_user, outlook
):
    """One inner request throttled for an hour (json-batching: each inner request is throttled on
    its own): no early retry, the other items are settled, and the push waits the full hour."""
    throttled, *others = (_prextra_activity(mailbox_user, subject=f"A{number}") for number in range(3))
    outlook.emulator.inject_fault("throttle", method="POST", path="/events", in_batch=True, retry_after=3600)
    run = _push(mailbox_user, graph_client)
    assert (run.result, run.created) == ("failed", 2)
    assert graph_client.slept == []
    state = SyncState.objects.get(user=mailbox_user, direction="activities_out")
    assert timedelta(minutes=59) < state.not_before - timezone.now() <= timedelta(hours=1)
    assert Activity.objects.filter(pk__in=[a.pk for a in others], outlook_id__isnull=False).count() == 2
    assert Activity.objects.get(pk=throttled.pk).needs_push
