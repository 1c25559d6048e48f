"""What is due, and running one sync by ids (the code path shared by tasks, screens and the command).

Work is grouped: "contacts_in" (Outlook → Prextra contacts) and "activities" (both activity
directions of a user, run one after the other under one lock).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from accounts.models import ExchangeProfile, User

from .models import Direction, GraphConnection, SyncRun, SyncState
from .sync.activities import sync_activities
from .sync.contacts import sync_contacts
from .sync.locks import busy

ACTIVITIES = "activities"
SYNCS = {Direction.CONTACTS_IN: sync_contacts, ACTIVITIES: sync_activities}
GROUP_OF = {
    Direction.CONTACTS_IN: Direction.CONTACTS_IN,
    Direction.ACTIVITIES_IN: ACTIVITIES,
    Direction.ACTIVITIES_OUT: ACTIVITIES,
    ACTIVITIES: ACTIVITIES,
}
SWITCHES = {
    Direction.CONTACTS_IN: ("sync_contacts_in",),
    ACTIVITIES: ("sync_activities_in", "sync_activities_out"),
}


def due_syncs() -> list[tuple[int, str]]:
    """(user id, group) pairs to run now: user active, unexpired, with an email and a switch on,
    a connection registered, no run of that group in flight, and not every direction paused
    (backoff after failures, or the mass-change brake)."""
    if GraphConnection.current() is None:
        return []
    today, now = timezone.localdate(), timezone.now()
    users = User.objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(never_expires=True) | Q(expiry_date__isnull=True) | Q(expiry_date__gte=today))
    paused = {}
    for user_id, direction in SyncState.objects.filter(
        Q(pending_confirmation=True) | Q(not_before__gt=now)
    ).values_list("user_id", "direction"):
        paused.setdefault((user_id, GROUP_OF[direction]), set()).add(direction)
    wanted = {}
    for user_id, contacts_in, activities_in, activities_out in ExchangeProfile.objects.filter(
        user__in=users
    ).values_list("user_id", "sync_contacts_in", "sync_activities_in", "sync_activities_out"):
        if contacts_in:
            wanted[(user_id, Direction.CONTACTS_IN)] = {Direction.CONTACTS_IN}
        directions = {Direction.ACTIVITIES_IN} if activities_in else set()
        directions |= {Direction.ACTIVITIES_OUT} if activities_out else set()
        if directions:
            wanted[(user_id, ACTIVITIES)] = directions
    due = {key for key, directions in wanted.items() if not directions <= paused.get(key, set())}
    return sorted(due - busy(due))


def run_sync(user_id: int, direction: str, trigger: str = SyncRun.Trigger.SCHEDULE):
    """Run one group for one user, by ids; None when the user is gone or nothing is due."""
    user = User.objects.filter(pk=user_id).first()
    group = GROUP_OF.get(direction)
    if user is None or group is None:
        return None
    return SYNCS[group](user, trigger=trigger)
