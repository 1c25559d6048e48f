"""What the contact and calendar rounds share: reading a delta round, the items of a page, the brake.

A round reads one delta query page by page (Graph delta: https://learn.microsoft.com/graph/delta-query-overview).
Both syncs drop the repeats Graph may send within a page, settle each item on its own so that one
bad item never stops the batch, start over in full when the delta link expired, and hold a mass
removal until an administrator confirms it (the mass-change brake). The run around a round (its
lock, its record, how it ended) is runs.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from ..graph import errors
from ..graph.client import DeltaPage, prefetched
from ..models import JournalEntry, SyncRun, SyncState
from ..reasons import error_reason, reason
from .runs import RunJournal, database_lost, persist

logger = logging.getLogger(__name__)

# The mass-change brake: a run that would remove more than this many items, and more than half of
# those it holds, waits for an administrator (the sync of that direction is paused meanwhile).
BRAKE_MIN_COUNT = 20
COUNTS = ("created", "updated", "deleted", "skipped", "failed")


def read_round(consume: Callable[[str], str], delta_link: str, forget: Callable[[], None]) -> str:
    """`consume(delta_link)`: the round's new delta link. When Graph says the link expired (410, or
    a 4xx naming one of errors.DELTA_RESTART_CODES; docs/graph-notes.md §3), the only recovery is a full
    round, at once: `forget()` first drops what the dead round reported (its removals), since the
    full round shows every item again."""
    try:
        return consume(delta_link)
    except errors.DeltaExpiredError:
        forget()
        return consume("")


def consume_pages(pages: Iterable[DeltaPage], process_page: Callable[[DeltaPage], None]) -> str:
    """Process each page of a round as it comes (the next one read meanwhile); the round's delta link."""
    for page in prefetched(pages):
        process_page(page)
        if page.delta_link:
            return page.delta_link
    raise errors.unreachable("delta round ended without @odata.deltaLink")


def last_occurrence_by_id(items: list, journal: RunJournal) -> dict[str, dict]:
    """Graph may repeat an item within a response: keep the last one. Items without a valid id
    (a string of 1 to 512 characters) are skipped, and journaled."""
    by_id: dict[str, dict] = {}
    for item in items:
        outlook_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(outlook_id, str) or not outlook_id or len(outlook_id) > 512:
            journal.skip(reason=reason("no_valid_id"))
            continue
        by_id.pop(outlook_id, None)
        by_id[outlook_id] = item
    return by_id


@contextmanager
def one_item(journal: RunJournal, item: object, *, outlook_id: str = "", label: str = "", undo: bool = False):
    """One bad item never stops the batch: an exception inside is logged with its traceback,
    counted as failed and journaled with its text, and the caller's loop goes on. A database
    that is gone is no item's fault: that error stops the run.

    With `undo`, what the item had counted and journaled is taken back first: for an item whose
    savepoint (inside this block) rolled its writes back."""
    run = journal.run
    counts, entries = tuple(getattr(run, name) for name in COUNTS), len(journal.entries)
    try:
        yield
    except Exception as exc:
        if database_lost(exc):
            raise  # not this item's fault: the whole run stops (runs.perform)
        logger.exception("Item %s of %s could not be processed", item, run.user.code)
        if undo:
            for name, value in zip(COUNTS, counts, strict=True):
                setattr(run, name, value)
            del journal.entries[entries:]
        run.failed += 1
        journal.add(JournalEntry.Action.FAILED, label=label, outlook_id=outlook_id, reason=error_reason(exc))


def brake(run: SyncRun, doomed: list[int], total: int, code: str) -> dict:
    """Hold the removal of `doomed` (of the `total` items this user has) when it is a mass change;
    the state fields that hold it (for `finish_success`), or {} when the caller may remove them.

    `code` is the reason of exchange/reasons.py (with `count` and `total`) the halted run shows."""
    if len(doomed) > BRAKE_MIN_COUNT and len(doomed) > total / 2:
        run.result = SyncRun.Result.HALTED
        run.failure = reason(code, count=len(doomed), total=total)
        return {"pending_confirmation": True, "pending_deletions": doomed}
    if doomed:
        persist(run)  # the removals' journal entries name the run
    return {}


def release_brake(state: SyncState) -> None:
    """Nothing waits for confirmation any more: the direction's sync resumes. An administrator
    refused the held removals (the items stay), or confirmed them once they were carried out."""
    state.pending_confirmation, state.pending_deletions = False, []
    state.save(update_fields=["pending_confirmation", "pending_deletions"])
