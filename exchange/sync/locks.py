"""One lock per mailbox and kind of sync, which writes nothing and dies with its holder.

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock(kind, user id)`), visible to every
  worker on every machine that uses the database, and released by the server when the holder's
  connection closes — a worker killed mid-run frees it at once. (Not through PgBouncer in
  transaction pooling mode: session locks need a session; the README says so.)
- SQLite (the embedded, single-machine set-up): an exclusive `flock` on a file named after the
  database, the kind and the user, released by the kernel when the holder's process dies.

Neither writes to the database, so an idle sync cycle stays free of writes. A process
also remembers which locks it holds, because a PostgreSQL session may take its own advisory lock
twice: the second attempt of the same process is refused like anyone else's.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

KINDS = {"contacts_in": 1, "activities": 2, "subscriptions": 3}  # the last: exchange/subscriptions.py
ADVISORY_CLASS = 7_150_000  # + kind: the first key of the advisory lock, far from other users of it

_held: set[tuple[int, str]] = set()
_held_guard = threading.Lock()


class SyncBusy(Exception):
    """Another worker is synchronizing this mailbox and kind right now."""


@contextmanager
def mailbox_lock(user_id: int, kind: str):
    """Hold the lock of (`user_id`, `kind`) while inside; SyncBusy at once when someone holds it."""
    key = (user_id, kind)
    with _held_guard:
        if key in _held:
            raise SyncBusy
        _held.add(key)
    try:
        release = _acquire_advisory(key) if connection.vendor == "postgresql" else _acquire_file(key)
    except BaseException:
        with _held_guard:
            _held.discard(key)
        raise
    try:
        yield
    finally:
        with _held_guard:
            _held.discard(key)
        release()


def busy(keys: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (user id, kind) locks are held right now, by anyone."""
    keys = set(keys)
    if not keys:
        return set()
    with _held_guard:
        mine = keys & _held
    if connection.vendor == "postgresql":
        return mine | (keys & _advisory_holders())
    return mine | {key for key in keys - mine if _file_is_locked(key)}


# --- PostgreSQL -----------------------------------------------------------------------------------
def _acquire_advisory(key: tuple[int, str]):
    user_id, kind = key
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_CLASS + KINDS[kind], user_id])
        if not cursor.fetchone()[0]:
            raise SyncBusy

    def release() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_CLASS + KINDS[kind], user_id])
        except DatabaseError as exc:
            # The connection broke (its locks went with it) or its transaction is aborted: the
            # lock ends with the session at the latest. One line: this is no bug.
            logger.warning("Sync lock %s not released explicitly (it ends with the session): %s", key, exc)

    return release


def _advisory_holders() -> set[tuple[int, str]]:
    kind_of = {ADVISORY_CLASS + number: kind for kind, number in KINDS.items()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = ANY(%s)",
            [list(kind_of)],
        )
        return {(int(objid), kind_of[int(classid)]) for classid, objid in cursor.fetchall()}


# --- SQLite: a file lock per key --------------------------------------------------------------------
def _lock_path(key: tuple[int, str]) -> Path:
    user_id, kind = key
    name = str(connection.settings_dict["NAME"])
    # An in-memory database (the tests') is private to its process, and so are its locks; a file
    # is named by its absolute path, so two checkouts never share a lock by a relative name.
    place = f"memory:{os.getpid()}:{name}" if connection.is_in_memory_db() else os.path.abspath(name)
    database = hashlib.sha256(place.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "prextra-sync-locks" / database
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{kind}-{int(user_id)}.lock"


def _acquire_file(key: tuple[int, str]):
    descriptor = os.open(_lock_path(key), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise SyncBusy from None
        raise
    return lambda: os.close(descriptor)  # closing the descriptor releases the lock


def _file_is_locked(key: tuple[int, str]) -> bool:
    try:
        descriptor = os.open(_lock_path(key), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # also drops the shared lock just taken
    return False
