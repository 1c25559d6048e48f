"""The Celery tasks are thin: beat queues what is due; a task runs the same function as the command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.utils import timezone

from accounts.models import ExchangeProfile
from crm.models import Activity, Contact
from crm.signals import activity_changed
from exchange import scheduling, tasks
from exchange.models import SyncRun, SyncState
from exchange.scheduling import due_syncs
from exchange.sync.locks import mailbox_lock
from exchange.sync.runs import database_lost, perform, release_stuck_syncs

pytestmark = pytest.mark.django_db


def test_due_syncs_lists_switched_on_users_with_a_connection(connection, mailbox_user, crm_user):
    assert due_syncs() == [(mailbox_user.pk, "activities"), (mailbox_user.pk, "contacts_in")]


def test_nothing_is_due_without_a_connection(mailbox_user):
    assert due_syncs() == []


@pytest.mark.parametrize(
    "blocking",
    [
        {"pending_confirmation": True},
        {"not_before": "in five minutes"},
    ],
)
def test_braked_or_backing_off_syncs_are_not_queued_again(connection, mailbox_user, blocking):
    if blocking.get("not_before"):  # computed now, not when the tests were collected
        blocking = {"not_before": timezone.now() + timedelta(minutes=5)}
    SyncState.objects.create(user=mailbox_user, direction="contacts_in", **blocking)
    assert due_syncs() == [(mailbox_user.pk, "activities")]


def test_a_running_sync_is_not_queued_again(connection, mailbox_user):
    with mailbox_lock(mailbox_user.pk, "contacts_in"):
        assert due_syncs() == [(mailbox_user.pk, "activities")]
    with mailbox_lock(mailbox_user.pk, "activities"):
        assert due_syncs() == [(mailbox_user.pk, "contacts_in")]
    assert len(due_syncs()) == 2


def test_activities_are_due_while_one_switched_on_direction_is_not_paused(connection, mailbox_user):
    later = timezone.now() + timedelta(minutes=5)
    SyncState.objects.create(user=mailbox_user, direction="activities_in", not_before=later)
    assert (mailbox_user.pk, "activities") in due_syncs()
    SyncState.objects.create(user=mailbox_user, direction="activities_out", not_before=later)
    assert (mailbox_user.pk, "activities") not in due_syncs()


def test_beat_task_queues_and_the_worker_task_syncs(connection, mailbox_user, outlook, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    tasks.enqueue_due_syncs.apply()
    run = SyncRun.objects.get(user=mailbox_user, direction="contacts_in")
    assert (run.trigger, run.result, run.created) == ("schedule", "success", 1)


def test_saving_the_switches_queues_the_first_sync_after_commit(
    connection, mailbox_user, outlook, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.enqueue_first_sync(mailbox_user)
    assert len(callbacks) == 2  # contacts, and both activity directions together
    assert SyncRun.objects.get(user=mailbox_user, direction="contacts_in").trigger == "save"
    assert Contact.objects.count() == 1


def test_an_edit_in_prextra_is_pushed_after_commit_when_its_owner_syncs_out(
    mailbox_user, django_capture_on_commit_callbacks
):
    start = timezone.now() + timedelta(days=1)
    activity = Activity.objects.create(owner=mailbox_user, subject="Visite", start=start, end=start)
    with mock.patch("exchange.tasks.sync_user.delay", autospec=True) as delay:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            activity_changed(activity)
            delay.assert_not_called()  # not before the commit: the worker must see the saved activity
        assert len(callbacks) == 1
    delay.assert_called_once_with(mailbox_user.pk, "activities", "save")


def test_an_edit_is_not_pushed_at_once_when_its_owner_does_not_sync_out(
    mailbox_user, django_capture_on_commit_callbacks
):
    ExchangeProfile.objects.filter(user=mailbox_user).update(sync_activities_out=False)
    start = timezone.now() + timedelta(days=1)
    activity = Activity.objects.create(owner=mailbox_user, subject="Visite", start=start, end=start)
    with django_capture_on_commit_callbacks() as callbacks:
        activity_changed(activity)
    assert callbacks == []


def test_what_the_sync_brings_from_outlook_is_not_queued_back(
    connection, mailbox_user, outlook, django_capture_on_commit_callbacks
):
    outlook.add_event("Rencontre Finloc")
    with (
        mock.patch("exchange.tasks.sync_user.delay", autospec=True) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        scheduling.run_sync(mailbox_user.pk, "activities")
    assert Activity.objects.filter(owner=mailbox_user, source="outlook").count() == 1
    delay.assert_not_called()


def test_a_busy_mailbox_is_skipped_by_the_task(connection, mailbox_user):
    with mailbox_lock(mailbox_user.pk, "contacts_in"):
        tasks.sync_user.apply(args=[mailbox_user.pk, "contacts_in"])
    assert not SyncRun.objects.exists()


def test_a_task_for_a_deleted_user_returns_quietly(connection):
    tasks.sync_user.apply(args=[987654, "contacts_in"])


def test_a_run_left_open_by_a_dead_worker_is_closed_at_once(mailbox_user):
    """Nobody holds its lock: its worker died (killed, or its database session cut), however
    recently it started; the next release pass closes it, without waiting for the task limit."""
    SyncRun.objects.create(user=mailbox_user, direction="contacts_in")
    assert release_stuck_syncs() == 1
    run = SyncRun.objects.get()
    assert run.result == "failed" and "arrêté" in run.error and run.finished_at


@pytest.mark.parametrize(("direction", "group"), [("contacts_in", "contacts_in"), ("activities_out", "activities")])
def test_a_run_whose_lock_is_held_is_left_running(mailbox_user, direction, group, settings):
    """However old: a held lock means its worker is still at it (both activity directions share a lock)."""
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    SyncRun.objects.create(user=mailbox_user, direction=direction, started_at=long_ago)
    with mailbox_lock(mailbox_user.pk, group):
        assert release_stuck_syncs() == 0
    assert SyncRun.objects.get().result == "running"


def test_a_run_that_ends_while_the_locks_are_read_keeps_its_result(mailbox_user):
    run = SyncRun.objects.create(user=mailbox_user, direction="contacts_in")

    def finished_meanwhile(keys):
        SyncRun.objects.filter(pk=run.pk).update(result="success", finished_at=timezone.now())
        return set()

    with mock.patch("exchange.sync.runs.busy", side_effect=finished_meanwhile):
        assert release_stuck_syncs() == 0
    assert SyncRun.objects.get().result == "success"


def test_a_database_outage_ends_a_sync_task_in_one_warning_line(mailbox_user, caplog):
    """PostgreSQL restarting mid-run: nothing can be recorded, the task ends quietly, the next
    tick runs the sync again (docs/reliability-notes.md, fault model)."""
    lost = OperationalError("server closed the connection unexpectedly\n\tThis probably means…")
    with (
        mock.patch("exchange.scheduling.run_sync", side_effect=lost),
        mock.patch.object(db_connection, "is_usable", return_value=False),
    ):
        tasks.sync_user.apply(args=[mailbox_user.pk, "contacts_in"]).get()
    (record,) = [record for record in caplog.records if record.name == "exchange.tasks"]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage() == (
        f"Sync of user {mailbox_user.pk} (contacts_in): database unavailable "
        "(server closed the connection unexpectedly); the next tick tries again"
    )


def test_scheduling_during_a_database_outage_queues_nothing_and_says_so(caplog):
    with (
        mock.patch("exchange.scheduling.due_syncs", side_effect=OperationalError("connection refused")),
        mock.patch.object(db_connection, "is_usable", return_value=False),
        mock.patch("exchange.tasks.sync_user.delay") as delay,
    ):
        tasks.enqueue_due_syncs.apply().get()
    delay.assert_not_called()
    assert "Scheduling: database unavailable (connection refused)" in caplog.text


def test_a_database_error_that_is_no_outage_keeps_its_traceback(mailbox_user):
    """A bad query on a healthy connection is a bug: the task fails with it, visibly."""
    with (
        mock.patch("exchange.scheduling.run_sync", side_effect=OperationalError("no such column: x")),
        pytest.raises(OperationalError, match="no such column"),
    ):
        tasks.sync_user.apply(args=[mailbox_user.pk, "contacts_in"])


def test_a_run_cut_by_a_database_outage_records_nothing_and_is_no_failure(connection, mailbox_user):
    """Nothing can be written while the database is gone; the run record stays "running" until
    release_stuck_syncs finds its lock free, and the state counts no failed attempt (no red)."""
    state = SyncState.objects.create(user=mailbox_user, direction="contacts_in")
    run = SyncRun.objects.create(user=mailbox_user, direction="contacts_in")
    client = mock.Mock(request_count=0)
    with (
        mock.patch("exchange.sync.runs.with_mailbox", side_effect=OperationalError("terminating connection")),
        mock.patch.object(db_connection, "is_usable", return_value=False),
        pytest.raises(OperationalError),
    ):
        perform(state, run, client, lambda mailbox: None)
    state.refresh_from_db()
    assert state.failed_attempts == 0 and state.last_error == ""
    assert SyncRun.objects.get().result == "running"
    assert release_stuck_syncs() == 1


def test_database_lost_tells_an_outage_from_a_bad_query():
    assert not database_lost(ValueError("not a database error"))
    assert not database_lost(OperationalError("no such column: x"))  # the connection still answers
    with mock.patch.object(db_connection, "is_usable", return_value=False):
        assert database_lost(OperationalError("server closed the connection"))
        assert database_lost(InterfaceError("connection already closed"))
        assert not database_lost(RuntimeError("not a database error"))


def test_sync_exchange_command_runs_one_user(connection, mailbox_user, outlook):
    outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    out = StringIO()
    call_command("sync_exchange", "--user", mailbox_user.code.lower(), "--direction", "contacts", stdout=out)
    assert "contacts_in: Réussie — created 1" in out.getvalue()
    assert SyncRun.objects.get(direction="contacts_in").trigger == "command"


def test_sync_exchange_command_refuses_an_unknown_user(connection):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown user code"):
        call_command("sync_exchange", "--user", "PERSONNE", stdout=StringIO())
