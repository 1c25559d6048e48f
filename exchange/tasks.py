"""Celery tasks: thin wrappers that take ids, reload, and call plain functions of the exchange app;
and the helpers that queue them once the caller's transaction commits (a worker must see its writes)."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from celery import shared_task
from django.conf import settings
from django.db import transaction

from accounts.models import ExchangeProfile, User
from crm.models import Activity

from . import maintenance, preview, scheduling
from .models import ACTIVITIES, LANES, MailboxPreview, SyncRun
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
def sync_user(user_id: int, direction: str, trigger: str = "schedule") -> None:
    """Synchronize one user in one direction. A task lost with its worker is harmless: what is due
    lives in the database, and the next beat tick queues it again."""
    try:
        with waiting_out_database_outages(f"Sync of user {user_id} ({direction})"):
            scheduling.run_sync(user_id, direction, trigger)
    except SyncBusy:
        logger.info("Sync of user %s (%s) already running elsewhere; skipped", user_id, direction)


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
