"""What every sync run shares: who may be synchronized, the per-direction lock, the run record.

The lock is the `in_flight` flag of the user's SyncState row, taken with an atomic
compare-and-set UPDATE, so two workers never synchronize the same mailbox and direction at
once (on SQLite and PostgreSQL alike). A worker killed mid-run leaves the flag set; the
periodic `release_stuck_syncs` clears it once the task time limit has surely passed.
"""

from __future__ import annotations

import logging
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ExchangeProfile, User

from ..models import Direction, GraphConnection, JournalEntry, SyncRun, SyncState

logger = logging.getLogger(__name__)

SWITCH_OF = {
    Direction.CONTACTS_IN: "sync_contacts_in",
    Direction.ACTIVITIES_IN: "sync_activities_in",
    Direction.ACTIVITIES_OUT: "sync_activities_out",
}
MAX_BACKOFF = timedelta(minutes=30)


class SyncBusy(Exception):
    """Another worker is synchronizing this mailbox and direction right now."""


@dataclass
class RunJournal:
    """Collects the item decisions of a run; written in bulk with each page's writes."""

    run: SyncRun
    entries: list[JournalEntry] = field(default_factory=list)

    def add(self, action: str, *, label: str = "", email: str = "", outlook_id: str = "", reason: str = "", **extra):
        self.entries.append(
            JournalEntry(
                run=self.run,
                user_id=self.run.user_id,
                direction=self.run.direction,
                action=action,
                item_label=label[:255],
                email=email[:254],
                outlook_id=outlook_id[:512],
                reason=reason,
                **extra,
            )
        )

    def flush(self) -> None:
        if self.entries:
            persist(self.run)
            for entry in self.entries:
                entry.run = self.run  # the run may have been saved since the entry was made
            JournalEntry.objects.bulk_create(self.entries, batch_size=500)
            self.entries = []


def new_run(user, direction: str, trigger: str) -> SyncRun:
    """A run record, saved only once it has something to say (see `persist` and `finish_*`):
    a quiet scheduled run every 30 seconds would otherwise fill the table with empty rows."""
    return SyncRun(user=user, direction=direction, trigger=trigger)


def persist(run: SyncRun | None) -> None:
    if run is not None and run.pk is None:
        run.save()


def _worth_keeping(run: SyncRun) -> bool:
    counts = (run.created, run.updated, run.deleted, run.skipped, run.failed)
    return (
        bool(run.pk) or any(counts) or run.result != SyncRun.Result.SUCCESS or run.trigger != SyncRun.Trigger.SCHEDULE
    )


def record_requests(run: SyncRun, count: int) -> None:
    """Store the run's Graph request count, if the run is kept."""
    run.graph_requests = count
    if run.pk:
        run.save(update_fields=["graph_requests"])


def sync_refusal(user: User, direction: str, connection: GraphConnection | None) -> str:
    """Why `user` is not synchronized in `direction` now, in words; '' when they are (R5, R2)."""
    if connection is None:
        return _("Aucune connexion Microsoft 365 n'est enregistrée.")
    if not user.is_active:
        return _("Utilisateur inactif.")
    if user.is_expired():
        return _("Utilisateur expiré.")
    if not user.email:
        return _("L'utilisateur n'a pas d'adresse courriel.")
    profile = ExchangeProfile.objects.filter(user=user).first()
    if profile is None or not getattr(profile, SWITCH_OF[direction]):
        return _("La case de synchronisation est décochée.")
    return ""


def state_for(user: User, direction: str) -> SyncState:
    state, _created = SyncState.objects.get_or_create(user=user, direction=direction)
    return state


def _owner() -> str:
    """Who holds a lock: host and process, so a holder that died on this host can be recognised."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_dead(owner: str) -> bool:
    """True when `owner` is a process of this host that no longer exists (killed mid-run)."""
    host, _sep, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: only the time-based release can free it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def locked(state: SyncState):
    """Hold the state's in_flight flag for the duration; SyncBusy when another worker holds it.

    A flag left by a process of this host that was killed is taken over at once; one left by
    another machine is released by `release_stuck_syncs` after the task time limit.
    """
    now, owner = timezone.now(), _owner()
    values = {"in_flight": True, "in_flight_since": now, "in_flight_owner": owner, "last_attempt_at": now}
    taken = SyncState.objects.filter(pk=state.pk, in_flight=False).update(**values)
    if not taken:
        holder = SyncState.objects.filter(pk=state.pk).values_list("in_flight_owner", flat=True).first() or ""
        if holder and _holder_is_dead(holder):
            logger.warning("Taking over the sync lock of %s, left by a stopped process %s", state, holder)
            taken = SyncState.objects.filter(pk=state.pk, in_flight_owner=holder).update(**values)
    if not taken:
        raise SyncBusy
    state.refresh_from_db()
    try:
        yield state
    finally:
        SyncState.objects.filter(pk=state.pk, in_flight_owner=owner).update(
            in_flight=False, in_flight_since=None, in_flight_owner=""
        )


def finish_success(state: SyncState, run: SyncRun, **state_fields) -> None:
    now = timezone.now()
    for name, value in {
        "last_success_at": now,
        "last_error": "",
        "failed_attempts": 0,
        "not_before": None,
        **state_fields,
    }.items():
        setattr(state, name, value)
    state.save()
    run.finished_at = now
    if run.result == SyncRun.Result.RUNNING:
        run.result = SyncRun.Result.SUCCESS
    if _worth_keeping(run):
        run.save()


def finish_failure(state: SyncState, run: SyncRun, message: str, transient: bool) -> None:
    """Record the failure; the next attempt waits longer after each consecutive failure."""
    now = timezone.now()
    state.failed_attempts += 1
    base = timedelta(seconds=30) if transient else timedelta(minutes=5)
    state.not_before = now + min(base * 2 ** min(state.failed_attempts - 1, 10), MAX_BACKOFF)
    state.last_error = message
    state.save(update_fields=["failed_attempts", "not_before", "last_error", "last_attempt_at"])
    run.finished_at = now
    run.result = SyncRun.Result.FAILED
    run.error = message
    run.save()


def release_stuck_syncs() -> int:
    """Clear in_flight flags older than the task time limit (their worker died)."""
    limit = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    stuck = SyncState.objects.filter(in_flight=True).filter(Q(in_flight_since__lt=limit) | Q(in_flight_since=None))
    released = stuck.update(in_flight=False, in_flight_since=None, in_flight_owner="")
    SyncRun.objects.filter(result=SyncRun.Result.RUNNING, started_at__lt=limit).update(
        result=SyncRun.Result.FAILED, finished_at=timezone.now(), error=_("Interrompue : le processus a été arrêté.")
    )
    if released:
        logger.warning("Released %d sync states left in flight by a stopped worker", released)
    return released
