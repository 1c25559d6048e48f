"""Microsoft Graph change notifications: which subscriptions each mailbox should have, keeping
them so (create, renew, recreate, delete), and what their health means for polling.

A notification only says "look now" (exchange/notifications.py queues the delta sync of that
mailbox and kind); the delta rounds stay the source of truth, so a lost, doubled, late or
reordered notification changes nothing but latency. What it buys: with every subscription of a
sync group healthy, that group is read by the safety poll only (PREXTRA_SAFETY_POLL, 5 min by
default) instead of every PREXTRA_SYNC_INTERVAL; a missing, failed or expired one sends it back
to the fast poll until it is healthy again (scheduling.due_syncs).

What is subscribed, for a synchronizable user whose mailbox id is known (sync.mailbox):
- « Activités Exchange → Prextra » on: `users/{id}/events` (the whole calendar: a calendarView
  cannot be subscribed to; docs/graph-notes.md §8).
- « Contacts Exchange → Prextra » on: `users/{id}/contactFolders/{folder}/contacts`, one per
  contact folder the contact sync knows. Graph documents both this path and `users/{id}/contacts`
  (outlook-change-notifications-overview), but `…/contacts` names the default folder when listing
  (contactfolder resource, "List contacts in folder"), and nothing says its subscription sees the
  other folders: one per folder is the form documented to cover them (1,000 subscriptions per
  mailbox allow it). A folder created in Outlook is subscribed to once the contact sync has
  listed it (sync.folders.LIST_EVERY); until then the group is on the fast poll.
Only the reading directions: Prextra → Exchange pushes are queued when a screen saves.

Lifetime: Graph allows 10,080 minutes for Outlook events and contacts without resource data
(docs/graph-notes.md §8; older copies of the docs said 4,230: a 400 naming a shorter limit is
obeyed). Asked: LIFETIME; renewed (PATCH) once less than RENEW_WITHIN is left, so a worker may be
down for two days without losing one. `clientState`: 256 random bits per subscription, sent once,
kept only as its SHA-256 (models.Subscription). A creation or renewal that fails is retried after
1, 2, 4… minutes, at most an hour apart, with Graph's reason on the status screen.

Every Graph call for a user runs under that user's "subscriptions" lock (sync.locks), so the
beat's pass and a switch saved at the same moment never create the same subscription twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import ExchangeProfile, User

from .graph import errors
from .graph.client import GraphClient, GraphSettings
from .models import SUBSCRIPTION_GROUPS, ContactFolder, GraphConnection, Subscription
from .reasons import reason
from .sync.locks import SyncBusy, mailbox_lock
from .sync.runs import database_lost

logger = logging.getLogger(__name__)

LIFETIME = timedelta(minutes=10_080) - timedelta(minutes=30)
RENEW_WITHIN = timedelta(days=2)
MAX_RETRY_WAIT = timedelta(hours=1)
LOCK = "subscriptions"
_SHORTER_LIMIT = re.compile(r"can only be (\d+) minutes", re.IGNORECASE)

GROUP_KIND = {group: kind for kind, group in SUBSCRIPTION_GROUPS.items()}


def enabled() -> bool:
    """Whether the product has a public address Graph can post notifications to."""
    return bool(settings.PREXTRA_PUBLIC_URL)


def notification_url() -> str:
    """The endpoint's public address (both change and lifecycle notifications)."""
    return settings.PREXTRA_PUBLIC_URL + reverse("graph_notifications")


def hash_client_state(client_state: str) -> str:
    return hashlib.sha256(client_state.encode()).hexdigest()


def resources_of(mailbox_id: str, *, events: bool, contacts: bool, folder_ids: list[str]) -> dict[str, str]:
    """{resource: kind} a mailbox should be subscribed to (the rule in the module docstring)."""
    wanted = {}
    if events:
        wanted[f"users/{mailbox_id}/events"] = Subscription.Kind.EVENTS
    if contacts:
        for folder_id in folder_ids:
            wanted[f"users/{mailbox_id}/contactFolders/{folder_id}/contacts"] = Subscription.Kind.CONTACTS
    return wanted


@dataclass
class Mailbox:
    """What one user should have and has: the wanted resources and the stored rows."""

    user_id: int
    wanted: dict[str, str] = field(default_factory=dict)
    rows: list[Subscription] = field(default_factory=list)
    known: bool = True  # False while the user's mailbox id is not resolved yet: nothing is changed

    def healthy(self, kind: str, now: datetime) -> bool:
        """Every wanted subscription of `kind` exists, is active and has not expired."""
        wanted = {resource for resource, wanted_kind in self.wanted.items() if wanted_kind == kind}
        active = {
            row.resource
            for row in self.rows
            if row.kind == kind and row.status == Subscription.Status.ACTIVE and row.expires_at and row.expires_at > now
        }
        return bool(wanted) and wanted <= active

    def needs_work(self, now: datetime) -> bool:
        """Whether `maintain` has something to do: a subscription to create, retry, renew or delete."""
        if not self.known:
            return False
        by_resource = {row.resource: row for row in self.rows}
        for resource, row in by_resource.items():
            # One to delete; after a failed deletion, not before its retry time (with notifications
            # switched off on a large installation, every user would be queued every minute).
            if resource not in self.wanted and (row.retry_at is None or row.retry_at <= now):
                return True
        for resource in self.wanted:
            row = by_resource.get(resource)
            if row is None or _due(row, now):
                return True
        return False


def _due(row: Subscription, now: datetime) -> bool:
    if row.status != Subscription.Status.ACTIVE:
        return row.retry_at is None or row.retry_at <= now
    return row.expires_at is None or row.expires_at - now < RENEW_WITHIN


def mailboxes(user_ids: list[int] | None = None) -> dict[int, Mailbox]:
    """Every user with a subscription stored or wanted, in three queries whatever their number.

    Wanted: subscriptions on (enabled()), the user synchronizable (R5), a reading switch on, and
    the mailbox id resolved from the user's current email (sync.mailbox.stored_mailbox)."""
    rows = Subscription.objects.all()
    profiles = ExchangeProfile.objects.filter(
        Q(sync_contacts_in=True) | Q(sync_activities_in=True), user__in=User.objects.synchronizable()
    )
    if user_ids is not None:
        rows, profiles = rows.filter(user_id__in=user_ids), profiles.filter(user_id__in=user_ids)
    found: dict[int, Mailbox] = {}
    for row in rows:
        found.setdefault(row.user_id, Mailbox(row.user_id)).rows.append(row)
    if not enabled():
        return found
    wanted_profiles = list(
        profiles.values_list(
            "user_id", "mailbox_id", "mailbox_address", "user__email", "sync_contacts_in", "sync_activities_in"
        )
    )
    contact_users = [row[0] for row in wanted_profiles if row[4]]
    folders: dict[int, list[str]] = {}
    for user_id, folder_id in ContactFolder.objects.filter(user_id__in=contact_users).values_list(
        "user_id", "folder_id"
    ):
        folders.setdefault(user_id, []).append(folder_id)
    for user_id, mailbox_id, address, email, contacts_on, events_on in wanted_profiles:
        box = found.setdefault(user_id, Mailbox(user_id))
        if not mailbox_id or (address or "").lower() != (email or "").lower():
            box.known = False  # the next sync resolves it; the subscriptions follow a minute later
            continue
        box.wanted = resources_of(
            mailbox_id, events=events_on, contacts=contacts_on, folder_ids=folders.get(user_id, [])
        )
    return found


def healthy_groups(now: datetime | None = None) -> set[tuple[int, str]]:
    """(user id, sync group) pairs whose every wanted subscription is healthy: the safety poll's."""
    if not enabled():
        return set()
    now = now or timezone.now()
    return {
        (box.user_id, group)
        for box in mailboxes().values()
        for kind, group in SUBSCRIPTION_GROUPS.items()
        if box.healthy(kind, now)
    }


def users_needing_work(now: datetime | None = None) -> list[int]:
    """The users `maintain` has something to do for (the beat's pass queues one task each)."""
    now = now or timezone.now()
    return sorted(box.user_id for box in mailboxes().values() if box.needs_work(now))


def maintain(user_id: int, client: GraphClient | None = None, *, force_renew: bool = False) -> Mailbox | None:
    """Bring one user's subscriptions to what they should be; None when there is nothing to do it
    with (no connection registered, or another worker is doing it now). `force_renew`: renew the
    active ones even if they are not due (a reauthorizationRequired)."""
    connection = GraphConnection.current()
    if connection is None:
        return None
    try:
        with mailbox_lock(user_id, LOCK):
            box = mailboxes([user_id]).get(user_id)
            if box is None or not box.known:
                return box
            client = client or GraphClient(GraphSettings.from_connection(connection))
            _apply(box, client, force_renew)
            return box
    except SyncBusy:
        return None


def _apply(box: Mailbox, client: GraphClient, force_renew: bool) -> None:
    by_resource = {row.resource: row for row in box.rows}
    for resource, row in by_resource.items():
        if resource not in box.wanted:
            _attempt(row, lambda row=row: _delete(client, row))
    now = timezone.now()
    for resource, kind in box.wanted.items():
        row = by_resource.get(resource)
        if row is None:
            row, _created = Subscription.objects.get_or_create(
                user_id=box.user_id, resource=resource, defaults={"kind": kind}
            )
            box.rows.append(row)
        if row.status != Subscription.Status.ACTIVE or (row.expires_at and row.expires_at <= now):
            if row.status == Subscription.Status.ACTIVE or row.retry_at is None or row.retry_at <= now:
                _attempt(row, lambda row=row: _create(client, row))
        elif force_renew or _due(row, now):
            _attempt(row, lambda row=row: _renew(client, row))
    box.rows = [row for row in box.rows if row.pk is not None]


def _attempt(row: Subscription, work) -> None:
    """Run one Graph step for `row`; a failure is recorded on it (with its reason and the next try)."""
    try:
        work()
    except errors.GraphError as exc:
        _failed(row, _refusal(exc))
    except Exception as exc:
        if database_lost(exc):
            raise
        logger.exception("Subscription %s of user %s: unexpected failure", row.resource[:80], row.user_id)
        _failed(row, reason("unexpected_error"))


def _refusal(exc: errors.GraphError) -> dict:
    """Graph's own words matter here (an unreachable notification URL is told in them)."""
    if isinstance(exc, errors.BadRequestError):
        message = exc.detail.split(": ", 1)[-1] if exc.detail else ""
        return reason("subscription_refused", status=exc.status, code=exc.code or "?", message=message[:300])
    return exc.reason


def _failed(row: Subscription, failure: dict) -> None:
    row.failed_attempts += 1
    row.status = Subscription.Status.FAILED
    row.failure = failure
    row.retry_at = timezone.now() + min(timedelta(minutes=2 ** min(row.failed_attempts - 1, 10)), MAX_RETRY_WAIT)
    row.save(update_fields=["failed_attempts", "status", "failure", "retry_at"])
    logger.warning("Subscription %s of user %s failed: %s", row.resource[:80], row.user_id, row.error)


def _create(client: GraphClient, row: Subscription) -> None:
    """Create the subscription on Graph (deleting the one it replaces, if Graph still has it)."""
    if row.graph_id:
        client.delete_subscription(row.graph_id)
    client_state = secrets.token_urlsafe(32)
    # Stored first: a notification may arrive before Graph's answer (exchange/notifications.py).
    row.graph_id, row.client_state_hash, row.status = "", hash_client_state(client_state), Subscription.Status.PENDING
    row.save(update_fields=["graph_id", "client_state_hash", "status"])
    lifetime = LIFETIME
    try:
        created = client.create_subscription(row.resource, notification_url(), client_state, timezone.now() + lifetime)
    except errors.GraphError as exc:
        shorter = _SHORTER_LIMIT.search(exc.detail or "")
        if exc.status != 400 or not shorter:
            raise
        lifetime = timedelta(minutes=max(int(shorter.group(1)) - 15, 10))
        created = client.create_subscription(row.resource, notification_url(), client_state, timezone.now() + lifetime)
    now = timezone.now()
    row.graph_id = str(created.get("id", ""))[:200]
    row.expires_at = _expiration(created, now + lifetime)
    row.status, row.failure, row.failed_attempts, row.retry_at = Subscription.Status.ACTIVE, {}, 0, None
    row.created_at, row.renewed_at = now, None
    row.save()
    logger.info("Subscription %s created for user %s (until %s)", row.resource[:80], row.user_id, row.expires_at)


def _renew(client: GraphClient, row: Subscription) -> None:
    """Push the expiry back (PATCH); one Graph no longer has (404) is created again."""
    now = timezone.now()
    try:
        renewed = client.renew_subscription(row.graph_id, now + LIFETIME)
    except errors.GraphError as exc:
        if exc.status != 404:
            raise
        _create(client, row)
        return
    row.expires_at = _expiration(renewed, now + LIFETIME)
    row.renewed_at, row.failure, row.failed_attempts, row.retry_at = now, {}, 0, None
    row.save(update_fields=["expires_at", "renewed_at", "failure", "failed_attempts", "retry_at"])


def _delete(client: GraphClient, row: Subscription) -> None:
    if row.graph_id:
        client.delete_subscription(row.graph_id)
    row.delete()
    logger.info("Subscription %s of user %s deleted", row.resource[:80], row.user_id)


def _expiration(body: dict, default: datetime) -> datetime:
    """Graph's expirationDateTime of the answer (what it granted), else what was asked."""
    value = body.get("expirationDateTime") if isinstance(body, dict) else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return default
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return default


SWEEP_GRACE = timedelta(minutes=5)


def sweep(client: GraphClient | None = None) -> tuple[int, int]:
    """Compare Graph's list of this application's subscriptions with the table, once an hour
    (tasks.maintain_subscriptions): a row whose subscription Graph no longer has (deleted behind
    the product's back, lost with its lifecycle notification) is created again at once; a
    subscription to this product's URL that no row knows (a worker killed between Graph's 201 and
    the save, a database restored from a backup) is deleted, so it neither notifies nor counts
    against the mailbox's 1,000. Returns (rows to recreate, orphans deleted)."""
    connection = GraphConnection.current()
    if connection is None or not (enabled() or Subscription.objects.exists()):
        return 0, 0
    client = client or GraphClient(GraphSettings.from_connection(connection))
    listed = client.list_subscriptions()
    on_graph = {str(item.get("id")) for item in listed}
    settled = timezone.now() - SWEEP_GRACE  # a creation in flight is not judged
    vanished = Subscription.objects.filter(status=Subscription.Status.ACTIVE, created_at__lt=settled).exclude(
        graph_id__in=on_graph
    )
    recreate = vanished.update(status=Subscription.Status.PENDING, graph_id="", retry_at=None)
    known = set(Subscription.objects.exclude(graph_id="").values_list("graph_id", flat=True))
    ours = notification_url() if enabled() else None
    orphans = [
        item["id"]
        for item in listed
        if item.get("notificationUrl") == ours and str(item.get("id")) not in known and _older(item, settled)
    ]
    for subscription_id in orphans:
        client.delete_subscription(subscription_id)
    if recreate or orphans:
        logger.warning("Subscriptions swept: %s to create again, %s orphans deleted", recreate, len(orphans))
    return recreate, len(orphans)


def _older(item: dict, moment: datetime) -> bool:
    """Whether a listed subscription was made before `moment`: Graph lists no creation time, but its
    expiry minus the longest lifetime the product asks for is an upper bound."""
    expires = _expiration(item, None)
    return expires is None or expires - LIFETIME < moment


def notified_since(user_id: int, group: str, moment: datetime) -> bool:
    """Whether a notification for this user and group arrived after `moment` (a run that started
    then may have read the mailbox before the change: it runs once more)."""
    kind = GROUP_KIND.get(group)
    if not enabled() or kind is None:
        return False
    return Subscription.objects.filter(user_id=user_id, kind=kind, last_notified_at__gt=moment).exists()


def removed(subscription_pk: int) -> Subscription | None:
    """Graph removed it (lifecycle `subscriptionRemoved`): forget its id, so `maintain` creates a
    new one at once."""
    row = Subscription.objects.filter(pk=subscription_pk).first()
    if row is None:
        return None
    row.graph_id, row.status, row.retry_at = "", Subscription.Status.PENDING, None
    row.save(update_fields=["graph_id", "status", "retry_at"])
    return row
