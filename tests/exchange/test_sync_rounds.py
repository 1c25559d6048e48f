"""What both delta syncs share (exchange.sync.rounds): the brake's threshold, repeats, one bad item."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError, connection

from exchange.graph import errors
from exchange.models import Direction, JournalEntry, SyncRun
from exchange.sync import rounds
from exchange.sync.runs import RunJournal, new_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def journal(mailbox_user):
    return RunJournal(new_run(mailbox_user, Direction.CONTACTS_IN, SyncRun.Trigger.SCHEDULE))


@pytest.mark.parametrize(
    ("doomed", "total", "held"),
    [(20, 20, False), (21, 42, False), (21, 41, True), (0, 0, False)],
)
def test_the_brake_holds_more_than_twenty_removals_and_more_than_half(journal, doomed, total, held):
    run = journal.run
    fields = rounds.brake(run, list(range(doomed)), total, "brake_contacts")
    assert bool(fields) is held
    if held:
        assert fields == {"pending_confirmation": True, "pending_deletions": list(range(doomed))}
        assert (run.result, run.failure) == (
            SyncRun.Result.HALTED,
            {"code": "brake_contacts", "params": {"count": doomed, "total": total}},
        )
        assert run.error == (
            f"Frein : {doomed} contacts sur {total} seraient désactivés. Un administrateur doit confirmer."
        )
    else:
        assert run.result != SyncRun.Result.HALTED
        assert bool(run.pk) is bool(doomed)  # kept: the removals' journal entries name it


def test_a_repeated_item_keeps_its_last_version_and_one_without_id_is_journaled(journal):
    items = [{"id": "a", "v": 1}, {"id": "b"}, {"id": "a", "v": 2}, {"v": 3}, "junk", {"id": "x" * 513}]
    assert rounds.last_occurrence_by_id(items, journal) == {"b": {"id": "b"}, "a": {"id": "a", "v": 2}}
    assert journal.run.skipped == 3
    assert [entry.action for entry in journal.entries] == [JournalEntry.Action.SKIPPED] * 3


def test_one_bad_item_is_journaled_and_the_loop_goes_on(journal):
    for outlook_id in ("ok", "bad"):
        with rounds.one_item(journal, outlook_id, outlook_id=outlook_id):
            journal.run.created += 1
            if outlook_id == "bad":
                raise ValueError("broken")
    assert (journal.run.created, journal.run.failed) == (2, 1)  # what it did before failing stays counted
    (entry,) = journal.entries
    assert (entry.action, entry.outlook_id, entry.reasons) == (
        JournalEntry.Action.FAILED,
        "bad",
        [{"code": "error", "params": {"detail": "broken"}}],
    )


def test_a_database_gone_mid_page_is_no_item_failure_and_stops_the_run(journal):
    """PostgreSQL restarting: every later item would fail the same way; the run stops instead."""
    lost = OperationalError("server closed the connection unexpectedly")
    with (
        mock.patch.object(connection, "is_usable", return_value=False),
        pytest.raises(OperationalError),
        rounds.one_item(journal, "c1", outlook_id="c1"),
    ):
        raise lost
    assert journal.run.failed == 0 and journal.entries == []


def test_with_undo_a_failed_item_takes_back_what_it_counted_and_journaled(journal):
    with rounds.one_item(journal, "activity 1", label="Dîner", undo=True):
        journal.run.updated += 1
        journal.add(JournalEntry.Action.UPDATED, label="Dîner")
        raise ValueError("refused")
    assert (journal.run.updated, journal.run.failed) == (0, 1)
    assert [(entry.action, entry.item_label) for entry in journal.entries] == [(JournalEntry.Action.FAILED, "Dîner")]


def test_an_expired_delta_link_restarts_the_round_in_full_after_forgetting(journal):
    links, forgotten = [], []

    def consume(delta_link: str) -> str:
        links.append(delta_link)
        if delta_link:
            raise errors.DeltaExpiredError("expired", status=410)
        return "new-link"

    assert rounds.read_round(consume, "old-link", lambda: forgotten.append(True)) == "new-link"
    assert (links, forgotten) == (["old-link", ""], [True])
