"""Celery tasks: thin wrappers that take ids, reload, and call plain functions of the exchange app;
and the helpers that queue them once the caller's transaction commits (a worker must see its writes)."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import ExchangeProfile, User
from crm.models import Activity

from . import maintenance, preview, scheduling, subscriptions
from .graph.errors import GraphError
from .models import ACTIVITIES, LANES, MailboxPreview, Subscription, SyncRun, group_of
from .sync import runs
from .sync.locks import SyncBusy

logger = logging.getLogger(__name__)


@contextmanager
def waiting_out_database_outages(what: str):
    """A database restart or outage is a normal fault (docs/reliability-notes.md): the task says so
    in one warning line and ends; what it was to do is still due in the database, and the next
    beat tick queues it again. Any other database error is a bug and keeps its traceback."""
    try:
        yield
    except Exception as exc:
        if not runs.database_lost(exc):
            raise
        first_line = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
        logger.warning("%s: database unavailable (%s); the next tick tries again", what, first_line)


@shared_task(name="exchange.tasks.record_heartbeat", time_limit=60, soft_time_limit=50)
def record_heartbeat() -> None:
    """Beat runs this on a schedule; the status screen reads it to tell that the worker is alive."""
    with waiting_out_database_outages("Heartbeat"):
        maintenance.record_heartbeat("beat")


@shared_task(name="exchange.tasks.purge_delivered_broker_messages", time_limit=300, soft_time_limit=290)
def purge_delivered_broker_messages() -> None:
    """The embedded broker never deletes delivered messages: delete them so its file stays small."""
    maintenance.purge_delivered_broker_messages()


@shared_task(name="exchange.tasks.enqueue_due_syncs", time_limit=120, soft_time_limit=110)
def enqueue_due_syncs() -> None:
    """Beat, every PREXTRA_SYNC_INTERVAL seconds: queue one task per due (user, direction)."""
    due = []
    with waiting_out_database_outages("Scheduling"):
        due = scheduling.due_syncs()
    for user_id, direction in due:
        sync_user.delay(user_id, direction, "schedule")


@shared_task(name="exchange.tasks.release_stuck_syncs", time_limit=60, soft_time_limit=50)
def release_stuck_syncs() -> None:
    """Close the run records of syncs whose worker died (see runs.release_stuck_syncs)."""
    with waiting_out_database_outages("Releasing stuck syncs"):
        runs.release_stuck_syncs()


@shared_task(
    name="exchange.tasks.sync_user",
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def sync_user(user_id: int, direction: str, trigger: str = "schedule", look: int = 0) -> None:
    """Synchronize one user in one direction. A task lost with its worker is harmless: what is due
    lives in the database, and the next beat tick queues it again. A change notification that
    arrived while it ran makes it run once more (it may have read the mailbox before the change).

    A notified sync looks again later (`look`: which look this is; `enqueue_recheck`): Graph's
    delta may not show the change yet when its notification arrives."""
    group = group_of(direction) or direction
    if trigger == SyncRun.Trigger.NOTIFIED:
        # From now on, a new notification (or another notified sync's second look) queues again.
        cache.delete(_recheck_key(user_id, group, look) if look else _notified_key(user_id, group))
        with waiting_out_database_outages(f"Sync of user {user_id} ({direction})"):
            if scheduling.backing_off(user_id, group):
                # Graph asked to wait (Retry-After) or the last runs failed: a notification does
                # not jump the backoff; the scheduler's run after it reads the change.
                logger.info("Notified sync of user %s (%s) waits for its backoff", user_id, direction)
                return
    started, ran = timezone.now(), None
    try:
        with waiting_out_database_outages(f"Sync of user {user_id} ({direction})"):
            ran = scheduling.run_sync(user_id, direction, trigger)
    except SyncBusy:
        logger.info("Sync of user %s (%s) already running elsewhere; skipped", user_id, direction)
        return
    if trigger == SyncRun.Trigger.NOTIFIED and ran:  # it read the mailbox (None: nothing to read)
        enqueue_recheck(user_id, group, look + 1)
    with waiting_out_database_outages(f"Notifications of user {user_id} ({direction})"):
        if subscriptions.notified_since(user_id, group, started):
            enqueue_notified_sync(user_id, group)
        if trigger in FIRST_TRIGGERS and subscriptions.enabled():
            # A first sync after the switches were saved found the mailbox and its folders:
            # subscribe now rather than at the next minute's pass.
            maintain_user_subscriptions.delay(user_id)


FIRST_TRIGGERS = frozenset({SyncRun.Trigger.SAVE, SyncRun.Trigger.MANUAL})


def _notified_key(user_id: int, group: str) -> str:
    return f"exchange:notified:{user_id}:{group}"


# A queued notification sync not started after this long is taken as lost (a worker killed before
# it ran): the next notification queues another. Correctness never depends on it (safety poll).
NOTIFIED_KEY_SECONDS = 120


def enqueue_notified_sync(user_id: int, group: str) -> bool:
    """Queue the delta sync a change notification asks for, unless one is already queued and not
    started (a burst of notifications queues one sync); whether one was queued."""
    key = _notified_key(user_id, group)
    if not cache.add(key, 1, timeout=NOTIFIED_KEY_SECONDS):
        return False
    try:
        sync_user.delay(user_id, group, SyncRun.Trigger.NOTIFIED)
    except Exception:
        cache.delete(key)  # nothing was queued: Graph's retry of this POST must queue it
        raise
    return True


def enqueue_recheck(user_id: int, group: str, look: int) -> bool:
    """Queue the `look`-th second look of a notified sync at its offset (PREXTRA_NOTIFIED_RECHECKS,
    seconds after the first look), unless one is already queued; whether one was. Graph: "Expect
    varying delays between the time a change is made ... and the time the tracked change is
    reflected in a delta query response ... Retry the @odata.deltaLink after some time"
    (delta-query-overview, Processing delays). Lost (a worker killed, the broker down), it costs
    latency only: the safety poll reads the mailbox anyway. Expired unstarted, it is dropped."""
    offsets = settings.PREXTRA_NOTIFIED_RECHECKS
    if not 1 <= look <= len(offsets):
        return False
    countdown = offsets[look - 1] - (offsets[look - 2] if look > 1 else 0)
    key = _recheck_key(user_id, group, look)
    if not cache.add(key, 1, timeout=countdown + RECHECK_EXPIRES):
        return False
    try:
        sync_user.apply_async(
            (user_id, group, SyncRun.Trigger.NOTIFIED),
            {"look": look},
            countdown=countdown,
            expires=countdown + RECHECK_EXPIRES,
        )
    except Exception as exc:  # the broker: the safety poll covers what this look would have read
        cache.delete(key)
        logger.warning("Second look of user %s (%s) not queued: %s", user_id, group, type(exc).__name__)
        return False
    return True


def _recheck_key(user_id: int, group: str, look: int) -> str:
    return f"exchange:recheck:{user_id}:{group}:{look}"


# Seconds after its time a second look not started is dropped (Celery `expires`): it would only
# repeat the scheduler's work by then.
RECHECK_EXPIRES = 60


@shared_task(name="exchange.tasks.maintain_subscriptions", time_limit=120, soft_time_limit=110)
def maintain_subscriptions() -> None:
    """Beat, every minute: queue the subscription work of each user who has some (create, retry,
    renew, delete; see exchange/subscriptions.py). Three queries when there is none."""
    users = []
    with waiting_out_database_outages("Subscriptions"):
        if cache.add("exchange:subscriptions-swept", 1, timeout=SWEEP_EVERY_SECONDS):
            _sweep_quietly()
        users = subscriptions.users_needing_work()
    for user_id in users:
        maintain_user_subscriptions.delay(user_id)


SWEEP_EVERY_SECONDS = 3600


def _sweep_quietly() -> None:
    """The hourly comparison with Graph's list (subscriptions.sweep); a Graph failure only
    postpones it to the next hour."""
    try:
        subscriptions.sweep()
    except GraphError as exc:
        logger.warning("Subscriptions not swept: %s", exc.message)


@shared_task(name="exchange.tasks.maintain_user_subscriptions", time_limit=300, soft_time_limit=290)
def maintain_user_subscriptions(user_id: int, force_renew: bool = False) -> None:
    """Bring one user's subscriptions to what they should be (exchange.subscriptions.maintain)."""
    with waiting_out_database_outages(f"Subscriptions of user {user_id}"):
        subscriptions.maintain(user_id, force_renew=force_renew)


@shared_task(name="exchange.tasks.handle_lifecycle", time_limit=300, soft_time_limit=290)
def handle_lifecycle(subscription_pk: int, event: str) -> None:
    """A lifecycle notification (https://learn.microsoft.com/graph/change-notifications-lifecycle-events):
    `reauthorizationRequired` renews the user's subscriptions now (a PATCH reauthorizes them);
    `subscriptionRemoved` creates it again and reads the mailbox (changes in between were not
    notified); `missed` reads the mailbox (the delta round catches up)."""
    with waiting_out_database_outages(f"Lifecycle notification {event}"):
        row = Subscription.objects.filter(pk=subscription_pk).first()
        if row is None:
            return
        logger.info("Lifecycle notification %s for subscription %s of user %s", event, row.pk, row.user_id)
        if event == "reauthorizationRequired":
            subscriptions.maintain(row.user_id, force_renew=True)
        elif event == "subscriptionRemoved":
            subscriptions.removed(row.pk)
            subscriptions.maintain(row.user_id)
        enqueue_notified_sync(row.user_id, row.group)


def enqueue_subscription_work(user_id: int) -> None:
    """After the Exchange switches or the user are saved: subscribe or unsubscribe soon (after
    commit) rather than at the next minute's pass."""
    if subscriptions.enabled() or Subscription.objects.filter(user_id=user_id).exists():
        transaction.on_commit(lambda: maintain_user_subscriptions.delay(user_id))


def enqueue_first_sync(user: User, trigger: str = SyncRun.Trigger.SAVE) -> None:
    """After the Exchange switches are saved (R4): queue each switched-on group once committed."""
    profile = ExchangeProfile.objects.filter(user=user).first()
    if profile is None:
        return
    switched_on = dict.fromkeys(lane.group for lane in LANES.values() if getattr(profile, lane.switch))
    for group in switched_on:
        transaction.on_commit(lambda group=group: sync_user.delay(user.pk, group, trigger))


def enqueue_activity_push(activity: Activity) -> None:
    """A Prextra screen saved or deleted `activity`: push it soon (after commit) if its owner
    synchronizes Prextra → Exchange, instead of waiting for the next beat tick (R6)."""
    profile = ExchangeProfile.objects.filter(user_id=activity.owner_id, sync_activities_out=True).first()
    if profile is not None and activity.needs_push:
        owner_id = activity.owner_id
        transaction.on_commit(lambda: sync_user.delay(owner_id, ACTIVITIES, SyncRun.Trigger.SAVE))


@shared_task(
    name="exchange.tasks.preview_mailbox",
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def preview_mailbox(preview_id: int) -> None:
    """« Aperçu » of the Exchange dialog: read the mailbox and store what a first sync would do.
    A task delivered twice finds its preview started and does nothing."""
    claimed = MailboxPreview.objects.filter(pk=preview_id, status=MailboxPreview.Status.QUEUED).update(
        status=MailboxPreview.Status.RUNNING
    )
    if claimed:
        preview.run_preview(MailboxPreview.objects.select_related("user").get(pk=preview_id))
