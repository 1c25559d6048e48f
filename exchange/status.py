"""What administrators see of the synchronization: per user and direction, and who needs attention.

A sync "needs attention" when its last attempt failed, when the brake waits for a confirmation,
or when it has not succeeded for longer than expected (PREXTRA_STALE_AFTER) while it is on —
so a stopped sync never goes unnoticed (the silent-stop complaint of every anchor product).

Every active user is listed, also those nothing synchronizes (no switch on, or a blocker of R5:
expired, no email address), greyed with the reason, so an administrator sees who is left out.
Inactive users appear only with a switch on or a sync history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import ExchangeProfile, User

from . import subscriptions
from .models import LANES, Direction, Subscription, SyncRun, SyncState, WorkerHeartbeat
from .sync.runs import in_flight

# The subscription kind each reading direction is notified by (the push needs none).
NOTIFIED_BY = {Direction.CONTACTS_IN: Subscription.Kind.CONTACTS, Direction.ACTIVITIES_IN: Subscription.Kind.EVENTS}


@dataclass
class NotificationStatus:
    """Where a direction's change notifications stand (exchange/subscriptions.py): `code` is
    active, expiring (renewal due and not done yet), pending (being created) or failed (red, with
    Graph's reason in words)."""

    code: str
    count: int = 0
    expires_at: object = None
    last_notified_at: object = None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.code == "failed"


def notification_status(box, kind: str, now) -> NotificationStatus | None:
    """None when this direction has no subscription to have (switch off, notifications off)."""
    if box is None:
        return None
    wanted = [resource for resource, wanted_kind in box.wanted.items() if wanted_kind == kind]
    rows = [row for row in box.rows if row.kind == kind and row.resource in wanted]
    if not wanted:
        return None
    failed = [row for row in rows if row.status == Subscription.Status.FAILED]
    notified = max((row.last_notified_at for row in rows if row.last_notified_at), default=None)
    if failed:
        return NotificationStatus("failed", len(wanted), error=failed[0].error, last_notified_at=notified)
    if not box.healthy(kind, now):
        return NotificationStatus("pending", len(wanted), last_notified_at=notified)
    expires = min(row.expires_at for row in rows)
    code = "expiring" if expires - now < subscriptions.RENEW_WITHIN else "active"
    return NotificationStatus(code, len(wanted), expires_at=expires, last_notified_at=notified)


@dataclass
class DirectionStatus:
    direction: str
    label: str
    enabled: bool
    state: SyncState | None
    last_run: SyncRun | None
    needs_attention: bool
    notifications: NotificationStatus | None = None

    @property
    def runnable(self) -> bool:
        """Whether this direction's synchronization exists yet (a "sync now" button makes sense)."""
        return self.enabled and self.direction in LANES


@dataclass
class UserStatus:
    user: object
    directions: list[DirectionStatus]
    reason: str = ""  # why nothing synchronizes this user, in words; '' when something does

    @property
    def needs_attention(self) -> bool:
        return any(direction.needs_attention for direction in self.directions)

    @property
    def synchronized(self) -> bool:
        return not self.reason

    @property
    def has_history(self) -> bool:
        """Whether any direction ever ran: a user without is shown on one line, not per direction."""
        return any(direction.state for direction in self.directions)


def not_synchronized_reason(user, profile: ExchangeProfile | None, today=None) -> str:
    """Why nothing synchronizes `user`, in words, or '': R5's blocker first, then the switches."""
    blocker = user.sync_blocker(today)
    if blocker:
        return blocker
    if profile is None or not profile.any_enabled:
        return gettext("Aucune case n'est cochée dans sa fenêtre Exchange.")
    return ""


def stale_before():
    return timezone.now() - timedelta(seconds=settings.PREXTRA_STALE_AFTER)


def _attention(state: SyncState | None, enabled: bool, cutoff) -> bool:
    if state is None:
        return False
    if state.pending_confirmation or state.failed_attempts:
        return True
    if not enabled or state.last_attempt_at is None:
        return False
    return state.last_success_at is None or state.last_success_at < cutoff


def user_statuses() -> list[UserStatus]:
    """Every active user, and any other with a switch on or a sync history, in eight queries
    whatever their number (the user and profile in one; three for the subscriptions)."""
    users = (
        User.objects.filter(Q(is_active=True) | Q(exchange_profile__isnull=False))
        .select_related("exchange_profile")
        .order_by("code", "pk")
    )
    last_run = SyncRun.objects.filter(user=OuterRef("user"), direction=OuterRef("direction")).order_by("-started_at")
    states = SyncState.objects.annotate(last_run_id=Subquery(last_run.values("pk")[:1]))
    states_by_key = {(state.user_id, state.direction): state for state in states}
    running = in_flight(states_by_key.values())
    for state in states_by_key.values():
        state.in_flight = state.pk in running  # read by the template's "en cours" badge
    runs = SyncRun.objects.in_bulk([state.last_run_id for state in states_by_key.values() if state.last_run_id])
    cutoff, today, now = stale_before(), timezone.localdate(), timezone.now()
    boxes = subscriptions.mailboxes()
    statuses = []
    for user in users:
        profile = getattr(user, "exchange_profile", None)
        rows = []
        for direction, lane in LANES.items():
            state = states_by_key.get((user.pk, direction))
            enabled = bool(profile and getattr(profile, lane.switch))
            run = runs.get(state.last_run_id) if state and state.last_run_id else None
            kind = NOTIFIED_BY.get(direction)
            notified = notification_status(boxes.get(user.pk), kind, now) if kind else None
            attention = _attention(state, enabled, cutoff) or bool(notified and notified.failed)
            label = Direction(direction).label
            rows.append(DirectionStatus(direction, label, enabled, state, run, attention, notified))
        status = UserStatus(user, rows, not_synchronized_reason(user, profile, today))
        if user.is_active or (profile and profile.any_enabled) or status.has_history:
            statuses.append(status)
    return statuses


def attention_count() -> int:
    """How many users need attention (the red count in the menu): three queries."""
    cutoff = stale_before()
    flagged = SyncState.objects.filter(
        Q(pending_confirmation=True)
        | Q(failed_attempts__gt=0)
        | Q(last_attempt_at__isnull=False, last_success_at__lt=cutoff)
        | Q(last_attempt_at__isnull=False, last_success_at__isnull=True)
    ).values_list("user_id", "direction", "pending_confirmation", "failed_attempts")
    users = set()
    enabled = {
        profile.user_id: profile for profile in ExchangeProfile.objects.filter(user_id__in={row[0] for row in flagged})
    }
    for user_id, direction, pending, failed in flagged:
        profile = enabled.get(user_id)
        if pending or failed or (profile and getattr(profile, LANES[direction].switch)):
            users.add(user_id)
    # A subscription Graph refused (its row is deleted once no longer wanted).
    users |= set(Subscription.objects.filter(status=Subscription.Status.FAILED).values_list("user_id", flat=True))
    return len(users)


def worker_heartbeat() -> tuple[WorkerHeartbeat | None, bool]:
    """The beat heartbeat and whether it is recent enough to trust that worker and beat run."""
    heartbeat = WorkerHeartbeat.objects.filter(name="beat").first()
    if heartbeat is None:
        return None, False
    fresh = heartbeat.last_seen >= timezone.now() - timedelta(seconds=settings.PREXTRA_HEARTBEAT_SECONDS * 3 + 30)
    return heartbeat, fresh
