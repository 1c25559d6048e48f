"""Scenarios 3, 5 and 8: the idle cycle, the push of many changed activities, and the scale-out.

The idle cycle runs through the real task path, in process: the beat task `enqueue_due_syncs`
queues `sync_user` for each due (user, group), here with Celery's eager mode so each task runs
inline (same code as a worker, without the broker hop). Graph requests are read from the
emulator's request log; database writes are counted with a connection.execute_wrapper.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from crm.models import Activity
from exchange import tasks
from exchange.scheduling import due_syncs
from exchange.sync.activities import sync_activities
from prextra_sync.celery import app

from . import pool
from .imports import _seed_single_events
from .report import Figure
from .world import Stopwatch, World, WriteCounter

IDLE_SECONDS_TARGET = 10.0
TRACE_LOG = logging.getLogger("celery.app.trace")
BATCH = 20


@contextmanager
def eager():
    """Celery tasks run inline while inside (the worker's code path without the broker)."""
    before, trace_level = app.conf.task_always_eager, TRACE_LOG.level
    app.conf.task_always_eager = True
    TRACE_LOG.setLevel(logging.WARNING)  # one "succeeded" line per task would flood the output
    try:
        yield
    finally:
        app.conf.task_always_eager = before
        TRACE_LOG.setLevel(trace_level)


def idle_population(world: World, count: int) -> list:
    """`count` users, every switch on, 2 contacts and 2 events each, synchronized once (so idle)."""
    if len(world.idle_users) == count:
        return world.idle_users
    users = world.make_users(count)
    for user in users:
        world.emulator.seed(user.email, contacts=2, seed=3)
        _seed_single_events(world, user.email, 2)
    with eager(), Stopwatch() as watch:
        tasks.enqueue_due_syncs()
    world.idle_users, world.first_cycle_seconds = users, watch.seconds
    return users


def idle_cycle(world: World, count: int) -> list[Figure]:
    """Scenario 3: a cycle where nothing changed: Graph requests, database writes, wall time."""
    users = idle_population(world, count)
    since = world.emulator.log.next_index()
    counter = WriteCounter()
    with eager(), connection.execute_wrapper(counter), Stopwatch() as watch:
        tasks.enqueue_due_syncs()
    kinds = _graph_requests(world, since)
    deltas = kinds["GET contacts/delta"] + kinds["GET calendarView/delta"]
    others = sum(kinds.values()) - deltas
    per_user = sum(kinds.values()) / len(users)
    scenario = "3 idle cycle"
    return [
        Figure(scenario, "users", len(users), note=f"first (initial) cycle took {world.first_cycle_seconds:.1f} s"),
        Figure(
            scenario,
            "Graph requests per user",
            per_user,
            "",
            "= 2 (two deltas)",
            per_user == 2 and deltas == 2 * len(users),
            _describe(kinds),
        ),  # fmt: skip
        Figure(scenario, "other Graph requests", others, "", "0", others == 0),
        Figure(
            scenario, "database writes", counter.writes, "statements", "0", counter.writes == 0, counter.summary()[:300]
        ),  # fmt: skip
        Figure(scenario, "writes per user", counter.writes / len(users), "statements"),
        Figure(
            scenario,
            "cycle wall time",
            watch.seconds,
            "s",
            f"≤ {IDLE_SECONDS_TARGET:.0f} s",
            watch.seconds <= IDLE_SECONDS_TARGET,
            "eager tasks, one process",
        ),  # fmt: skip
        Figure(scenario, "cycle wall time per user", watch.seconds / len(users) * 1000, "ms"),
    ]


def _graph_requests(world: World, since: int) -> Counter:
    """Top-level Graph requests since a log index, by method and kind of resource."""
    kinds = Counter()
    for entry in world.emulator.requests_log(since):
        if entry["kind"] != "graph" or entry.get("inBatch"):
            continue
        path = entry["path"]
        kind = next((name for name in ("contacts/delta", "calendarView/delta", "$batch") if name in path), "other")
        kinds[f"{entry['method']} {kind}"] += 1
    return kinds


def _describe(kinds: Counter) -> str:
    return ", ".join(f"{name} ×{count}" for name, count in sorted(kinds.items()))


def push(world: World, count: int) -> list[Figure]:
    """Scenario 5: `count` new Prextra activities pushed, then the same ones changed and pushed again."""
    (user,) = world.make_users(1, contacts_in=False, activities_in=False)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    Activity.objects.bulk_create(
        Activity(
            owner=user,
            subject=f"Visite {n}",
            location="Québec",
            start=start + timedelta(hours=3 * n),
            end=start + timedelta(hours=3 * n + 1),
        )  # fmt: skip
        for n in range(count)
    )
    client = world.client()
    figures = []
    for phase in ("created", "changed"):
        if phase == "changed":
            moved = Concat(F("subject"), Value(" (déplacée)"))
            Activity.objects.filter(owner=user).update(subject=moved, needs_push=True)
        before = client.request_count
        with Stopwatch() as watch:
            (run,) = sync_activities(user, client=client)
        figures += _push_figures(phase, count, client.request_count - before, watch.seconds, run)
    events = len(world.emulator.mailbox(user.email).events)
    world.retire([user])
    figures.append(Figure("5 push", "events in Outlook", events, "", f"= {count}", events == count))
    return figures


def _push_figures(phase: str, count: int, requests: int, seconds: float, run) -> list[Figure]:
    limit = math.ceil(count / BATCH) + 1
    done = run.created if phase == "created" else run.updated
    return [
        Figure(
            "5 push",
            f"{phase}: Graph requests",
            requests,
            "",
            f"≤ {limit} (⌈n/20⌉+1)",
            requests <= limit,
            f"{done:,} {phase} in Outlook, {run.failed} failed",
        ),  # fmt: skip
        Figure("5 push", f"{phase}: time", seconds, "s", note=f"{count / seconds:,.0f} activities/s"),
    ]


def scale_out(world: World, count: int) -> list[Figure]:
    """Scenario 8: the idle cycle split over 1, 2 and 4 worker processes (each its own connection)."""
    idle_population(world, count)
    figures = []
    context = multiprocessing.get_context("spawn")  # no fork of a process running emulator threads
    baseline = None
    for processes in (1, 2, 4):
        pairs = due_syncs()
        connection.close()  # the children open their own connections
        with context.Pool(processes, initializer=pool.start, initargs=(world.child_env(),)) as workers:
            workers.map(pool.warm, range(processes * 2))
            with Stopwatch() as watch:
                done = workers.map(pool.run_pair, pairs, chunksize=4)
        baseline = baseline or watch.seconds
        busy = done.count(False)
        figures.append(
            Figure(
                "8 scale-out",
                f"idle cycle, {processes} process(es)",
                watch.seconds,
                "s",
                note=f"{len(pairs)} tasks; speed-up ×{baseline / watch.seconds:.2f}; {busy} busy",
            ),  # fmt: skip
        )
    return figures
