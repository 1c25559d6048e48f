"""An activity outside the synchronized window is held, said once, and sent when the window reaches
it (nothing accepted is left unsent in silence; the window is calendarView/delta's)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import ExchangeProfile
from crm.models import Activity
from crm.signals import Unsent, outlook_waits
from exchange.models import JournalEntry
from exchange.reasons import describe
from exchange.sync.activities import held_outside_window, outside_window_reason, sync_activities
from exchange.sync.window import behind_window, enters_window_on, overlaps_window, window_for

TORONTO = ZoneInfo("America/Toronto")
DEFAULT = SimpleNamespace(window_days_back=90, window_days_ahead=365)
TODAY = date(2026, 12, 3)


def _at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO)


def _noon(day: date) -> datetime:
    return _at(day, 12)


# --- the pure function ----------------------------------------------------------------------------


def test_an_activity_in_the_window_waits_for_nothing():
    assert enters_window_on(_at(TODAY, 9), _at(TODAY, 10), DEFAULT, TODAY) is None
    last = TODAY + timedelta(days=365)
    # The window of today ends at midnight starting its 365th day ahead, that instant included.
    assert enters_window_on(_at(last), _at(last, 1), DEFAULT, TODAY) is None


def test_one_minute_past_the_window_enters_it_tomorrow():
    last = TODAY + timedelta(days=365)
    assert enters_window_on(_at(last, 0, 1), _at(last, 1), DEFAULT, TODAY) == TODAY + timedelta(days=1)


def test_a_far_activity_enters_the_window_365_days_before_the_midnight_after_its_start():
    start = _at(date(2029, 6, 15), 14)
    assert enters_window_on(start, start + timedelta(hours=1), DEFAULT, TODAY) == date(2028, 6, 16)
    all_day = _at(date(2029, 6, 15))  # starts at midnight: the window whose end is that midnight holds it
    assert enters_window_on(all_day, _at(date(2029, 6, 16)), DEFAULT, TODAY) == date(2028, 6, 15)


def test_the_day_follows_the_connection_s_window():
    narrow = SimpleNamespace(window_days_back=7, window_days_ahead=30)
    start = _at(TODAY + timedelta(days=40), 9)
    assert enters_window_on(start, start + timedelta(hours=1), narrow, TODAY) == TODAY + timedelta(days=11)


def test_an_activity_that_ended_before_the_window_never_enters_it():
    first = TODAY - timedelta(days=90)
    old = _at(first) - timedelta(minutes=1)
    assert behind_window(old, DEFAULT, TODAY)
    assert enters_window_on(old - timedelta(hours=1), old, DEFAULT, TODAY) is None
    # Ending exactly as the window opens still touches it (as the push has always counted it).
    assert not behind_window(_at(first), DEFAULT, TODAY)
    assert enters_window_on(_at(first) - timedelta(hours=1), _at(first), DEFAULT, TODAY) is None


def test_window_days_are_wall_clock_days_across_dst():
    # 2027-03-14 springs forward: the window of 2026-12-03 still ends at local midnight.
    narrow = SimpleNamespace(window_days_back=0, window_days_ahead=101)
    end_of_window = window_for(narrow, _noon(TODAY))[1]
    assert end_of_window == _at(date(2027, 3, 14))
    start = _at(date(2027, 3, 14), 3)  # after the change, on the window's last day: tomorrow
    assert enters_window_on(start, start + timedelta(hours=1), narrow, TODAY) == TODAY + timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(
    offset_minutes=st.integers(min_value=-200 * 24 * 60, max_value=800 * 24 * 60),
    length_minutes=st.integers(min_value=0, max_value=5 * 24 * 60),
    back=st.integers(min_value=0, max_value=120),
    ahead=st.integers(min_value=1, max_value=400),
)
def test_the_day_given_is_the_first_whose_push_window_holds_it(offset_minutes, length_minutes, back, ahead):
    """Whatever the times and window: in the window today ⇔ None and not behind; otherwise the day
    said is the first day whose window (window_for, as the push computes it) holds the activity."""
    connection = SimpleNamespace(window_days_back=back, window_days_ahead=ahead)
    start = _at(TODAY) + timedelta(minutes=offset_minutes)
    end = start + timedelta(minutes=length_minutes)
    day = enters_window_on(start, end, connection, TODAY)
    in_today = overlaps_window(start, end, window_for(connection, _noon(TODAY)))
    if day is None:
        assert in_today or behind_window(end, connection, TODAY)
        assert not (in_today and behind_window(end, connection, TODAY))
    else:
        assert not in_today and day > TODAY
        assert overlaps_window(start, end, window_for(connection, _noon(day)))
        assert not overlaps_window(start, end, window_for(connection, _noon(day - timedelta(days=1))))


def test_the_journal_reason_names_the_day_in_dd_mm_yyyy():
    assert "12/01/2028" in describe(outside_window_reason(date(2028, 1, 12)))
    assert "ne sera pas envoyée" in describe(outside_window_reason(None))


# --- what exchange answers the CRM screens ----------------------------------------------------------


@pytest.mark.django_db
def test_the_crm_is_told_only_of_held_activities_of_owners_who_send(connection, mailbox_user, outsider):
    now = datetime.now(UTC)
    far = Unsent(1, mailbox_user.pk, now + timedelta(days=400), now + timedelta(days=400, hours=1))
    old = Unsent(2, mailbox_user.pk, now - timedelta(days=200), now - timedelta(days=200) + timedelta(hours=1))
    near = Unsent(3, mailbox_user.pk, now + timedelta(days=3), now + timedelta(days=3, hours=1))
    not_sending = Unsent(4, outsider.pk, far.start, far.end)  # no Exchange switch: nothing is sent for them
    waits = outlook_waits([far, old, near, not_sending])
    assert waits == {1: enters_window_on(far.start, far.end, connection, timezone.localdate()), 2: None}
    ExchangeProfile.objects.filter(user=mailbox_user).update(sync_activities_out=False)
    assert held_outside_window([far, old]) == {}


# --- the push: held, journaled once, sent when the window reaches it -------------------------------


def _push(user, client):
    ExchangeProfile.objects.filter(user=user).update(sync_activities_in=False, sync_activities_out=True)
    return {run.direction: run for run in sync_activities(user, client=client) or []}.get("activities_out")


def _activity(user, subject, start, hours=1):
    return Activity.objects.create(owner=user, subject=subject, start=start, end=start + timedelta(hours=hours))


def _held_entries(activity):
    return JournalEntry.objects.filter(activity=activity, action=JournalEntry.Action.SKIPPED)


@pytest.mark.django_db
def test_held_activity_is_journaled_once_then_sent_when_the_window_reaches_it(
    connection, graph_client, mailbox_user, outlook
):
    connection.window_days_ahead = 30
    connection.save()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    activity = Activity.objects.create(
        owner=mailbox_user, subject="Salon 2027", start=start, end=start + timedelta(hours=2)
    )
    day = enters_window_on(activity.start, activity.end, connection, timezone.localdate())
    assert day is not None

    first = _push(mailbox_user, graph_client)
    assert first.skipped == 1 and first.created == 0
    (entry,) = _held_entries(activity)
    assert entry.reasons == [outside_window_reason(day)]
    assert f"{day:%d/%m/%Y}" in describe(entry.reasons)
    assert outlook.events(graph_client) == []

    second = _push(mailbox_user, graph_client)  # a second round says nothing more
    assert second is None or second.skipped == 0
    assert _held_entries(activity).count() == 1

    activity.refresh_from_db()
    assert activity.needs_push and activity.outlook_id is None
    with time_machine.travel(_at(day, 8), tick=True):
        third = _push(mailbox_user, graph_client)
    assert third.created == 1
    activity.refresh_from_db()
    assert activity.outlook_id and not activity.needs_push
    assert [event["subject"] for event in outlook.events(graph_client)] == ["Salon 2027"]
    assert _held_entries(activity).count() == 1


@pytest.mark.django_db
def test_moving_a_held_activity_says_its_new_day_once(connection, graph_client, mailbox_user, outlook):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=500)
    activity = _activity(mailbox_user, "Loin", start, hours=1)
    _push(mailbox_user, graph_client)
    activity.start, activity.end = start + timedelta(days=30), start + timedelta(days=30, hours=1)
    activity.save()
    _push(mailbox_user, graph_client)
    _push(mailbox_user, graph_client)
    reasons = list(_held_entries(activity).order_by("at", "pk").values_list("reasons", flat=True))
    today = timezone.localdate()
    assert reasons == [
        [outside_window_reason(enters_window_on(start, start + timedelta(hours=1), connection, today))],
        [outside_window_reason(enters_window_on(activity.start, activity.end, connection, today))],
    ]


@pytest.mark.django_db
def test_an_activity_before_the_window_is_said_never_sent_once(connection, graph_client, mailbox_user, outlook):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    activity = Activity.objects.create(
        owner=mailbox_user, subject="Ancienne", start=start, end=start + timedelta(hours=1)
    )
    _push(mailbox_user, graph_client)
    _push(mailbox_user, graph_client)
    assert list(_held_entries(activity).values_list("reasons", flat=True)) == [[outside_window_reason(None)]]
    assert outlook.events(graph_client) == []


@pytest.mark.django_db
def test_linked_activities_outside_the_window_are_kept_in_sync_as_before(
    connection, graph_client, mailbox_user, outlook
):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    activity = Activity.objects.create(
        owner=mailbox_user, subject="Proche", start=start, end=start + timedelta(hours=1)
    )
    _push(mailbox_user, graph_client)
    activity.refresh_from_db()
    assert activity.outlook_id
    activity.start, activity.end = start + timedelta(days=600), start + timedelta(days=600, hours=1)
    activity.save()
    run = _push(mailbox_user, graph_client)
    assert run.updated == 1 and not _held_entries(activity).exists()
