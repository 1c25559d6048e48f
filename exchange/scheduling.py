"""What is due, and running one sync by ids (the code path shared by tasks, screens and the command).

Work is grouped: "contacts_in" (Outlook → Prextra contacts) and "activities" (both activity
directions of a user, run one after the other under one lock).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import ExchangeProfile, User

from . import subscriptions
from .models import ACTIVITIES, LANES, Direction, GraphConnection, SyncRun, SyncState, group_of
from .sync.activities import sync_activities
from .sync.contacts import sync_contacts
from .sync.locks import busy

SYNCS = {Direction.CONTACTS_IN: sync_contacts, ACTIVITIES: sync_activities}


def due_syncs() -> list[tuple[int, str]]:
    """(user id, group) pairs to run now: who runs.sync_refusal lets through (a connection
    registered, the user synchronizable, a switch on: R5), asked of every user in one query; no
    run of that group in flight, and not every direction paused (backoff after failures, or the
    mass-change brake). A group whose change-notification subscriptions are all healthy is due
    only once its last attempt is PREXTRA_SAFETY_POLL old (`_polled_recently`)."""
    if GraphConnection.current() is None:
        return []
    now = timezone.now()
    paused = {}
    for user_id, direction in SyncState.objects.filter(
        Q(pending_confirmation=True) | Q(not_before__gt=now)
    ).values_list("user_id", "direction"):
        paused.setdefault((user_id, LANES[direction].group), set()).add(direction)
    wanted = {}
    switches = [lane.switch for lane in LANES.values()]
    profiles = ExchangeProfile.objects.filter(user__in=User.objects.synchronizable())
    for user_id, *switched_on in profiles.values_list("user_id", *switches):
        for (direction, lane), on in zip(LANES.items(), switched_on, strict=True):
            if on:
                wanted.setdefault((user_id, lane.group), set()).add(direction)
    due = {key for key, directions in wanted.items() if not directions <= paused.get(key, set())}
    due -= _polled_recently(subscriptions.healthy_groups(now) & due, wanted, now)
    return sorted(due - busy(due))


def _polled_recently(healthy: set[tuple[int, str]], wanted: dict, now) -> set[tuple[int, str]]:
    """The healthy groups whose every switched-on direction was attempted less than the safety poll
    ago and is not in backoff (a failing direction keeps its retries: the backoff decides)."""
    if not healthy:
        return set()
    cutoff = now - timedelta(seconds=settings.PREXTRA_SAFETY_POLL)
    attempts = {}
    for user_id, direction, last_attempt, failed in SyncState.objects.filter(
        user_id__in={user_id for user_id, _group in healthy}
    ).values_list("user_id", "direction", "last_attempt_at", "failed_attempts"):
        attempts[(user_id, direction)] = (last_attempt, failed)
    recent = set()
    for user_id, group in healthy:
        states = [attempts.get((user_id, direction), (None, 0)) for direction in wanted[(user_id, group)]]
        if all(last is not None and last > cutoff and not failed for last, failed in states):
            recent.add((user_id, group))
    return recent


def backing_off(user_id: int, group: str) -> bool:
    """Whether a direction of this user's group waits for its backoff or for Graph's Retry-After
    (`not_before` in the future): a change notification does not make it run earlier."""
    directions = [direction for direction, lane in LANES.items() if lane.group == group]
    return SyncState.objects.filter(user_id=user_id, direction__in=directions, not_before__gt=timezone.now()).exists()


def run_sync(user_id: int, direction: str, trigger: str = SyncRun.Trigger.SCHEDULE):
    """Run one group for one user, by ids; None when the user is gone or nothing is due."""
    user = User.objects.filter(pk=user_id).first()
    group = group_of(direction)
    if user is None or group is None:
        return None
    return SYNCS[group](user, trigger=trigger)
