"""What is due, and running one sync by ids (the code path shared by tasks and the command)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ExchangeProfile, User

from .models import Direction, GraphConnection, SyncRun, SyncState
from .sync.contacts import sync_contacts

# Directions built so far; the activity directions join when their sync exists.
SYNCS = {Direction.CONTACTS_IN: sync_contacts}
SWITCH_FIELDS = {Direction.CONTACTS_IN: "sync_contacts_in"}


def due_syncs() -> list[tuple[int, str]]:
    """(user id, direction) pairs to run now: user active, unexpired, with an email and the switch
    on, a connection registered, and no run in flight, in backoff or waiting for confirmation."""
    if GraphConnection.current() is None:
        return []
    today = timezone.localdate()
    now = timezone.now()
    users = User.objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(never_expires=True) | Q(expiry_date__isnull=True) | Q(expiry_date__gte=today))
    blocked = {
        (user_id, direction)
        for user_id, direction in SyncState.objects.filter(
            Q(in_flight=True) | Q(pending_confirmation=True) | Q(not_before__gt=now)
        ).values_list("user_id", "direction")
    }
    due = []
    for direction, switch in SWITCH_FIELDS.items():
        profiles = ExchangeProfile.objects.filter(**{switch: True}, user__in=users).values_list("user_id", flat=True)
        due.extend((user_id, direction) for user_id in profiles if (user_id, direction) not in blocked)
    return sorted(due)


def run_sync(user_id: int, direction: str, trigger: str = SyncRun.Trigger.SCHEDULE) -> SyncRun | None:
    """Run one direction for one user, by ids; None when the user is gone or not due."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or direction not in SYNCS:
        return None
    return SYNCS[direction](user, trigger=trigger)


def enqueue_first_sync(user: User, trigger: str = SyncRun.Trigger.SAVE) -> None:
    """After the Exchange switches are saved (R4): queue each switched-on direction once committed."""
    from .tasks import sync_user

    profile = ExchangeProfile.objects.filter(user=user).first()
    if profile is None:
        return
    for direction, switch in SWITCH_FIELDS.items():
        if getattr(profile, switch):
            transaction.on_commit(lambda direction=direction: sync_user.delay(user.pk, direction, trigger))
