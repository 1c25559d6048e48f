"""The bench's world: a throwaway database, an in-process Graph emulator, users with mailboxes.

The database is made with Django's test-database machinery under a name of its own (a SQLite
file in a temporary folder, or `<name>_bench_<pid>` on PostgreSQL), migrated, and dropped at
the end: the configured database (the demo data) is never opened for writing. Child processes
(memory probe, worker pool, Celery worker and beat) reach the same throwaway database through
DATABASE_URL, and the emulator over HTTPS.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.models import ExchangeProfile, User
from exchange.graph.client import GraphClient, GraphSettings, forget_apps
from exchange.models import GraphConnection
from graph_emulator import GraphEmulator

ROOT = Path(__file__).resolve().parents[2]
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@dataclass
class World:
    """What every scenario receives."""

    emulator: GraphEmulator
    connection: GraphConnection
    work_dir: Path
    database_url: str
    quick: bool
    users_made: int = 0
    idle_users: list = field(default_factory=list)
    first_cycle_seconds: float = 0.0

    def client(self) -> GraphClient:
        return GraphClient(GraphSettings.from_connection(self.connection))

    def child_env(self, **extra: str) -> dict[str, str]:
        """Environment of a child process: the throwaway database, DEBUG off, its own var folder."""
        env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "DJANGO_SETTINGS_MODULE": "prextra_sync.settings",
                "DJANGO_DEBUG": "false",
                "PREXTRA_VAR_DIR": str(self.work_dir / "var"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def retire(self, users: list[User]) -> None:
        """A scenario's users stop being due, so later scenarios count only their own work."""
        User.objects.filter(pk__in=[user.pk for user in users]).update(is_active=False)

    def make_users(self, count: int, *, contacts_in=True, activities_in=True, activities_out=True) -> list[User]:
        """`count` users with a mailbox on the emulator and the given switches, made in bulk."""
        first = self.users_made
        self.users_made += count
        users = [
            User(code=f"B{first + n:07d}", name=f"Bench {first + n}", email=f"bench{first + n}@prextra-bench.ca")
            for n in range(count)
        ]
        for user in users:
            user.set_unusable_password()
            self.emulator.add_mailbox(user.email)
        users = User.objects.bulk_create(users)
        ExchangeProfile.objects.bulk_create(
            ExchangeProfile(
                user=user,
                sync_contacts_in=contacts_in,
                sync_activities_in=activities_in,
                sync_activities_out=activities_out,
            )
            for user in users
        )
        return users


@contextmanager
def throwaway_database(work_dir: Path):
    """A migrated database of the bench's own; yields its DATABASE_URL; dropped on the way out."""
    connection = connections[DEFAULT_DB_ALIAS]
    old_name, old_test = connection.settings_dict["NAME"], dict(connection.settings_dict.get("TEST") or {})
    sqlite = connection.vendor == "sqlite"
    name = str(work_dir / "bench.sqlite3") if sqlite else f"{old_name}_bench_{os.getpid()}"[:63]
    connection.settings_dict["TEST"] = {**old_test, "NAME": name}
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield database_url(connection.settings_dict)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        connection.settings_dict["TEST"] = old_test


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for child processes (dj-database-url's syntax)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings_dict['NAME']}"


@contextmanager
def world(work_dir: Path, quick: bool):
    """A throwaway database, a started emulator and the connection to it; everything undone after."""
    old_debug = settings.DEBUG
    settings.DEBUG = False  # as in production: no query log in memory, no debug cursor
    try:
        with throwaway_database(work_dir) as url, GraphEmulator() as emulator:
            connection = GraphConnection(
                tenant_id=emulator.identity.tenant,
                client_id=emulator.identity.client_id,
                authority_host=emulator.base_url,
                graph_url=emulator.graph_url,
                ca_file=str(emulator.ca_file),
            )
            connection.set_secret(emulator.identity.client_secret)
            connection.save()
            try:
                yield World(emulator, connection, work_dir, url, quick)
            finally:
                forget_apps()
    finally:
        settings.DEBUG = old_debug


@dataclass
class WriteCounter:
    """A connection.execute_wrapper counting INSERT/UPDATE/DELETE statements, by table."""

    by_table: Counter = field(default_factory=Counter)
    statements: int = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        words = sql.lstrip().split(None, 3)
        if words and words[0].upper() in WRITES:
            table = words[2] if words[0].upper() in {"INSERT", "DELETE"} and len(words) > 2 else words[1]
            self.by_table[f"{words[0].upper()} {table.strip(chr(34))}"] += 1
        return execute(sql, params, many, context)

    @property
    def writes(self) -> int:
        return sum(self.by_table.values())

    def summary(self) -> str:
        return ", ".join(f"{name} ×{count}" for name, count in self.by_table.most_common())


@contextmanager
def quiet(*names: str):
    """These loggers say only warnings and errors while inside (a line per item would flood the output)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Stopwatch:
    """`with Stopwatch() as watch: ...` then watch.seconds."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        self.seconds = time.perf_counter() - self.started


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 = 0.5, p95 = 0.95) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


PYTHON = sys.executable
