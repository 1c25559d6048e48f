"""The per-mailbox sync lock between processes: it writes nothing, so an idle cycle stays free of
writes, and it dies with its holder, so a killed worker blocks nobody. Another process — another
worker — holds the lock; then it is killed with SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from django.db import connection

from exchange.sync import locks
from exchange.sync.locks import SyncBusy, busy, mailbox_lock

pytestmark = pytest.mark.django_db


def _holder(user_id: int, kind: str) -> subprocess.Popen:
    """Another process that takes the lock exactly as a worker would, then waits to be killed."""
    if connection.vendor == "postgresql":
        settings, classid = connection.settings_dict, locks.ADVISORY_CLASS + locks.KINDS[kind]
        dsn = (
            f"host={settings['HOST']} port={settings['PORT'] or 5432} dbname={settings['NAME']} user={settings['USER']}"
        )
        code = f"""
            import psycopg, sys, time
            db = psycopg.connect({dsn!r}, autocommit=True, password={settings["PASSWORD"]!r} or None)
            assert db.execute("SELECT pg_try_advisory_lock(%s, %s)", [{classid}, {user_id}]).fetchone()[0]
            print("held", flush=True); time.sleep(600)
        """
    else:
        code = f"""
            import fcntl, os, time
            fd = os.open({str(locks._lock_path((user_id, kind)))!r}, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("held", flush=True); time.sleep(600)
        """
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_lock_held_by_another_worker_refuses_this_one_and_dies_with_it(crm_user):
    key = (crm_user.pk, "contacts_in")
    holder = _holder(*key)
    try:
        assert busy([key, (crm_user.pk, "activities")]) == {key}
        with pytest.raises(SyncBusy), mailbox_lock(*key):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        holder.stdout.close()
    # Released by the database with the dead process's connection: as soon as the server notices
    # the connection closed (a moment on a loaded machine), never later.
    deadline = time.monotonic() + 10
    while busy([key]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert busy([key]) == set()
    with mailbox_lock(*key):
        assert busy([key]) == {key}
    assert busy([key]) == set()


def test_the_same_process_cannot_take_its_own_lock_twice(crm_user):
    with mailbox_lock(crm_user.pk, "activities"):
        with pytest.raises(SyncBusy), mailbox_lock(crm_user.pk, "activities"):
            pass
        with mailbox_lock(crm_user.pk, "contacts_in"):  # another kind is another lock
            assert busy([(crm_user.pk, "activities"), (crm_user.pk, "contacts_in")]) == {
                (crm_user.pk, "activities"),
                (crm_user.pk, "contacts_in"),
            }
    assert busy([(crm_user.pk, "activities")]) == set()


def test_taking_and_releasing_the_lock_writes_nothing_to_the_database(crm_user):
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql.split()[0].upper())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), mailbox_lock(crm_user.pk, "contacts_in"):
        busy([(crm_user.pk, "contacts_in")])
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
