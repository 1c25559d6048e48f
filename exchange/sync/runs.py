"""What every sync run shares: who may be synchronized, the per-group lock, the run record and its outcome.

The lock (`locks.mailbox_lock`) is a PostgreSQL advisory lock or a file lock: two workers never
synchronize the same mailbox and kind at once, taking it writes nothing, and it dies with a
worker killed mid-run (or with its database session, when PostgreSQL restarts). A run record is
opened and closed under that lock, so a run still "running" whose lock nobody holds was left by
such a worker: the periodic `release_stuck_syncs` closes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import Error as DatabaseDriverError
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ExchangeProfile, User

from ..graph import errors
from ..graph.client import GraphClient
from ..models import LANES, GraphConnection, JournalEntry, SyncRun, SyncState
from ..reasons import reason
from . import bulk
from .locks import busy, mailbox_lock
from .mailbox import with_mailbox

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=30)
MAX_DEFERRAL = timedelta(days=1)  # a Retry-After is honoured in full, up to a day


@dataclass
class RunJournal:
    """Collects the item decisions of a run; written in bulk with each page's writes."""

    run: SyncRun
    entries: list[JournalEntry] = field(default_factory=list)

    def add(self, action: str, *, label="", email="", outlook_id="", reason: dict | list | None = None, **extra):
        """Journal one decision; `reason` is one reason of exchange/reasons.py, or several."""
        entry = JournalEntry(
            run=self.run,
            user_id=self.run.user_id,
            direction=self.run.direction,
            action=action,
            item_label=label[:255],
            email=email[:254],
            outlook_id=outlook_id[:512],
            reasons=as_reasons(reason),
            **extra,
        )
        self.entries.append(entry)
        return entry

    def skip(self, *, label="", email="", outlook_id="", reason: dict | list | None = None, **extra):
        """Journal and count an Outlook item that is not synchronized. The same item skipped for
        the same reason as its last journal entry says is neither journaled nor counted again
        (see `_forget_repeated_skips`): a quiet round repeats nothing of yesterday's."""
        self.run.skipped += 1
        entry = self.add(
            JournalEntry.Action.SKIPPED, label=label, email=email, outlook_id=outlook_id, reason=reason, **extra
        )
        entry.counted_skip = True  # only these are forgotten (and uncounted) when repeated
        return entry

    def _forget_repeated_skips(self) -> None:
        skips = [e for e in self.entries if getattr(e, "counted_skip", False) and e.outlook_id]
        if not skips:
            return
        latest = _last_entries(self.run.user_id, self.run.direction, sorted({e.outlook_id for e in skips}))
        repeated = set()
        for entry in skips:
            action, reasons = latest.get(entry.outlook_id, ("", []))
            if action == JournalEntry.Action.SKIPPED and _same_decision(reasons) == _same_decision(entry.reasons):
                repeated.add(id(entry))
        if repeated:
            self.entries = [entry for entry in self.entries if id(entry) not in repeated]
            self.run.skipped -= len(repeated)

    def flush(self) -> None:
        self._forget_repeated_skips()
        if self.entries:
            persist(self.run)
            now = timezone.now()
            for entry in self.entries:
                entry.run = self.run  # the run may have been saved since the entry was made
                entry.at = now  # when it was recorded: with the page's writes
            bulk.insert(self.entries)
            self.entries = []


def _same_decision(reasons: list) -> tuple:
    """What makes two skips the same decision: their codes and parameters, but not a count (a
    series has more or fewer occurrences in the window as it slides)."""
    return tuple(
        (item.get("code"), sorted((k, str(v)) for k, v in (item.get("params") or {}).items() if k != "count"))
        for item in reasons
        if isinstance(item, dict)
    )


def as_reasons(reason: dict | list | None) -> list[dict]:
    """One reason, several or none, as the stored list (the empty ones left out)."""
    if reason is None:
        return []
    return [item for item in ([reason] if isinstance(reason, dict) else reason) if item]


def _last_entries(user_id: int, direction: str, outlook_ids: list[str]) -> dict[str, tuple[str, list]]:
    """{outlook id: (action, reasons)} of the latest journal entry of each item, in two queries
    per 500 items (the journal's outlook_id index)."""
    latest = {}
    for start in range(0, len(outlook_ids), 500):
        mine = JournalEntry.objects.filter(
            user_id=user_id, direction=direction, outlook_id__in=outlook_ids[start : start + 500]
        )
        last = mine.values("outlook_id").annotate(last=Max("pk")).values_list("last", flat=True)
        for outlook_id, action, reasons in JournalEntry.objects.filter(pk__in=list(last)).values_list(
            "outlook_id", "action", "reasons"
        ):
            latest[outlook_id] = (action, reasons)
    return latest


def new_run(user, direction: str, trigger: str) -> SyncRun:
    """A run record, saved only once it has something to say (see `persist` and `finish_*`):
    a quiet scheduled run every sync interval would otherwise fill the table with empty rows."""
    return SyncRun(user=user, direction=direction, trigger=trigger)


def persist(run: SyncRun | None) -> None:
    if run is not None and run.pk is None:
        run.save()


def _worth_keeping(run: SyncRun) -> bool:
    counts = (run.created, run.updated, run.deleted, run.skipped, run.failed)
    return bool(run.pk) or any(counts) or run.result != SyncRun.Result.SUCCESS or not run.automatic


def record_requests(run: SyncRun, count: int) -> None:
    """Store the run's Graph request count, if the run is kept."""
    run.graph_requests = count
    if run.pk:
        run.save(update_fields=["graph_requests"])


def sync_refusal(user: User, direction: str, connection: GraphConnection | None) -> str:
    """Why `user` is not synchronized in `direction` now, in words; '' when they are (R5, R2):
    a connection registered, the user synchronizable (`User.sync_blocker`), the direction's switch
    on (R4). scheduling.due_syncs asks the same of every user at once."""
    if connection is None:
        return _("Aucune connexion Microsoft 365 n'est enregistrée.")
    blocker = user.sync_blocker()
    if blocker:
        return blocker
    profile = ExchangeProfile.objects.filter(user=user).first()
    if profile is None or not getattr(profile, LANES[direction].switch):
        return _("La case de synchronisation est décochée.")
    return ""


def state_for(user: User, direction: str) -> SyncState:
    state, _created = SyncState.objects.get_or_create(user=user, direction=direction)
    return state


@contextmanager
def locked(state: SyncState):
    """Hold the mailbox lock of the state's group for the duration (both activity directions share
    one); SyncBusy when another worker holds it. The state is read again once the lock is held."""
    with mailbox_lock(state.user_id, LANES[state.direction].group):
        state.refresh_from_db()
        yield state


def in_flight(states) -> set[int]:
    """The ids of these states whose sync is running right now (their lock is held)."""
    states = list(states)
    held = busy((state.user_id, LANES[state.direction].group) for state in states)
    return {state.pk for state in states if (state.user_id, LANES[state.direction].group) in held}


def finish_success(state: SyncState, run: SyncRun | None, *, force_stamps: bool = False, **state_fields) -> None:
    """Record a successful run on its state (R20) and keep its run record if it did something.

    A scheduled run that changed nothing and left the cursor where it was writes nothing: its
    stamps move only once they are `PREXTRA_STAMP_REFRESH` seconds old (an idle cycle of 500
    users then costs no write at all on most ticks; see the README). Any other run moves them.
    `run` is None for a direction that had nothing to do (an idle push).
    """
    now = timezone.now()
    if run is not None:
        run.finished_at = now
        if run.result == SyncRun.Result.RUNNING:
            run.result = SyncRun.Result.SUCCESS
    keep_run = run is not None and _worth_keeping(run)
    values = {"last_failure": {}, "failed_attempts": 0, "not_before": None, **state_fields}
    changed = {name: value for name, value in values.items() if getattr(state, name) != value}
    # Older than the safety poll counts too: with healthy subscriptions, the scheduler reads the
    # stamps to tell when the next safety poll is due (scheduling.due_syncs).
    refresh = timedelta(seconds=min(settings.PREXTRA_STAMP_REFRESH, settings.PREXTRA_SAFETY_POLL))
    stale = state.last_success_at is None or now - state.last_success_at >= refresh
    if changed or stale or force_stamps or keep_run:
        changed.update(last_success_at=now, last_attempt_at=now)
        for name, value in changed.items():
            setattr(state, name, value)
        state.save(update_fields=list(changed))
    if keep_run:
        run.save()


def perform(state: SyncState, run: SyncRun, client: GraphClient, work: Callable[[str], None]) -> SyncRun:
    """Run `work(mailbox id)` for the run's user (sync.mailbox) and record how it ended; the run.

    `work` records its own success (`finish_success`). A Graph failure is recorded in its words on
    the run and the state, and retried with backoff (sooner for a temporary one) or when Graph
    said (`finish_failure`); any other exception is logged with its traceback and recorded as
    unexpected. Either way the run's Graph request count is stored. When the database itself is
    gone (`database_lost`), nothing can be recorded: the error goes up to the task.
    """
    before = client.request_count
    try:
        with_mailbox(run.user, client, work, state)
    except errors.GraphError as exc:
        finish_failure(state, run, exc.reason, exc.transient, retry_after=exc.retry_after)
    except Exception as exc:
        if database_lost(exc):
            raise  # nothing can be recorded now; the task says so in one line (tasks.py)
        logger.exception("Sync (%s) of %s crashed", run.direction, run.user.code)
        finish_failure(state, run, reason("unexpected_error"), transient=True)
    record_requests(run, client.request_count - before)
    return run


def finish_failure(
    state: SyncState, run: SyncRun, failure: dict, transient: bool, *, retry_after: float | None = None
) -> None:
    """Record the failure (`failure`: a reason of exchange/reasons.py); the next attempt waits
    longer after each consecutive failure, or until the moment Graph named (`retry_after`
    seconds: a Retry-After longer than the client waits). The scheduler queues nothing before
    `not_before` (scheduling.due_syncs)."""
    now = timezone.now()
    state.failed_attempts += 1
    base = timedelta(seconds=30) if transient else timedelta(minutes=5)
    state.not_before = now + min(base * 2 ** min(state.failed_attempts - 1, 10), MAX_BACKOFF)
    if retry_after:
        state.not_before = now + min(timedelta(seconds=retry_after), MAX_DEFERRAL)
    state.last_failure, state.last_attempt_at = failure, now
    state.save(update_fields=["failed_attempts", "not_before", "last_failure", "last_attempt_at"])
    run.finished_at = now
    run.result = SyncRun.Result.FAILED
    run.failure = failure
    run.save()


def release_stuck_syncs() -> int:
    """Close the run records that no worker is running any more: "running", yet nobody holds their
    group's lock. A run is saved and closed under that lock, so a free lock means its worker died
    (killed, its pool process lost, its database session cut by a PostgreSQL restart). A run that
    ended between the two reads is left alone (the update asks for "running" again)."""
    running = list(SyncRun.objects.filter(result=SyncRun.Result.RUNNING).values_list("pk", "user_id", "direction"))
    if not running:
        return 0
    key_of = {pk: (user_id, LANES[direction].group) for pk, user_id, direction in running}
    held = busy(key_of.values())
    dead = [pk for pk, key in key_of.items() if key not in held]
    closed = SyncRun.objects.filter(pk__in=dead, result=SyncRun.Result.RUNNING).update(
        result=SyncRun.Result.FAILED, finished_at=timezone.now(), failure=reason("run_interrupted")
    )
    if closed:
        logger.warning("Closed %d sync runs left running by a stopped worker", closed)
    return closed


def database_lost(exc: BaseException) -> bool:
    """Whether `exc` comes from a database that is gone (restarting, unreachable), rather than from
    a query: an outage is a normal fault to wait out, a bad query a bug to show with its trace."""
    if not isinstance(exc, DatabaseDriverError):  # DatabaseError, InterfaceError…
        return False
    return connection.connection is None or not connection.is_usable()
