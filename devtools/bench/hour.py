"""Scenario 12: idle mailboxes whose change-notification subscriptions are healthy.

What the real beat schedule sends to Graph and writes in the database when nothing changes,
measured rather than computed: the beat's tasks (settings.CELERY_BEAT_SCHEDULE, each at its own
period: enqueue_due_syncs every PREXTRA_SYNC_INTERVAL, maintain_subscriptions,
release_stuck_syncs and the heartbeat every minute) run in process over simulated time, with
`django.utils.timezone.now` moved forward tick by tick, and the tasks they queue run inline
(Celery eager: the worker's code path without the broker, as scenario 3). Within a tick the clock
runs on (capped before the next tick), as if enough worker slots ran every queued sync at once.
Graph requests are read from the emulator's request log (kind "graph"), database writes counted
with a connection.execute_wrapper. The subscriptions are real: made by the beat's pass, each
validated by the emulator against the product's endpoint over HTTPS (devtools/bench/endpoint.py).

First a few mailboxes (SAMPLE) go through a whole simulated hour: the requests per mailbox per
hour. Two costs fall due less than hourly, so they are measured once on the same mailboxes, in
real time, and spread over their period: the renewal of each subscription (a PATCH once less than
RENEW_WITHIN of its lifetime is left: every granted lifetime − RENEW_WITHIN, about five days) and
the calendar's reconciliation round (every PREXTRA_RECONCILE_INTERVAL, 6 h). The contact folders
are listed once in the hour (exchange/sync/folders.py LIST_EVERY_NOTIFIED).

Then N mailboxes (1,000) go through one safety-poll period (`poll_period`: an hour of them would
be twenty minutes of one process here). Every mailbox is polled exactly once in it (checked), so
the hour is the period's count × 3600 / period. Full size only: one mailbox without
subscriptions polled at every tick for an hour, for comparison.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from unittest import mock

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import User
from exchange import subscriptions, tasks
from exchange.models import ACTIVITIES, Direction, Subscription, SyncState
from exchange.scheduling import run_sync
from prextra_sync.celery import app

from .cycle import eager
from .endpoint import https_endpoint
from .imports import _seed_single_events
from .report import Figure
from .world import Stopwatch, World, WriteCounter, percentile, quiet

SCENARIO = "12 idle hour"
HOUR = 3600
TARGET_PER_MAILBOX = 30
SAMPLE, SAMPLE_QUICK = 10, 3  # mailboxes through the simulated hour (renewal, reconciliation)
# The broker's own upkeep: neither Graph nor the product's database (and no broker in eager mode).
NOT_SIMULATED = {"exchange.tasks.purge_delivered_broker_messages"}
QUIET_LOGGERS = ("exchange.subscriptions", "celery.app.trace")  # a line per subscription made, per task


def idle_hour(world: World, count: int) -> list[Figure]:
    """A few mailboxes through a simulated hour (per mailbox), then `count` idle mailboxes through
    one safety-poll period: Graph requests and database writes."""
    figures = [] if world.quick else _polling_hour(world)
    sample = _population(world, SAMPLE_QUICK if world.quick else SAMPLE)
    with https_endpoint(world, world.child_env()), eager(), quiet(*QUIET_LOGGERS):
        with _only(sample):
            start = _subscribed(sample)
            hour = _simulate(world, start, HOUR)
            renewal = _renewal(world, sample)
            reconciliation = _reconciliation(world, sample)
        _retire(world, sample)
        users = _population(world, count)
        with _only(users):
            with Stopwatch() as setup:
                start = _subscribed(users)
            cycle = _simulate(world, start, poll_period())
        _retire(world, users)
    figures += _hour_figures(len(sample), hour, renewal, reconciliation)
    return figures + _cycle_figures(count, cycle, renewal, reconciliation, setup.seconds)


def poll_period() -> int:
    """Seconds between two safety polls of a healthy group: due once its last attempt (stamped just
    after a tick) is PREXTRA_SAFETY_POLL old, asked at each beat tick, so at the first tick past
    that (310 s for 300 s and 10 s ticks)."""
    interval = settings.PREXTRA_SYNC_INTERVAL
    return (settings.PREXTRA_SAFETY_POLL // interval + 1) * interval


@contextmanager
def _only(users: list[User]):
    """Only these users are due (the others made inactive meanwhile)."""
    active = User.objects.filter(is_active=True).exclude(pk__in=[user.pk for user in users])
    others = list(active.values_list("pk", flat=True))
    User.objects.filter(pk__in=others).update(is_active=False)
    try:
        yield
    finally:
        User.objects.filter(pk__in=others).update(is_active=True)


def _retire(world: World, users: list[User]) -> None:
    """These users stop being due, and their subscriptions are dropped (rows here, expired on
    Graph). Left behind, they would be deleted by the next scenario's worker (its
    PREXTRA_PUBLIC_URL is empty): 1,000 tasks of two Graph DELETEs each, queued ahead of its syncs."""
    world.retire(users)
    rows = Subscription.objects.filter(user__in=users)
    for graph_id in rows.exclude(graph_id="").values_list("graph_id", flat=True):
        world.emulator.expire_subscription(graph_id)
    rows.delete()


def _subscribed(users: list[User]) -> datetime:
    """The first sync of these users (mailbox ids, folders, cursors), then the beat's pass that
    subscribes them (two subscriptions each, validated over HTTPS); both groups of each must then
    be healthy. Returns the moment the simulation starts from."""
    tasks.enqueue_due_syncs()
    tasks.maintain_subscriptions()
    ids = {user.pk for user in users}
    healthy = [pair for pair in subscriptions.healthy_groups() if pair[0] in ids]
    if len(healthy) != 2 * len(users):
        raise RuntimeError(f"{len(healthy)} healthy groups for {len(users)} mailboxes (expected two each)")
    return timezone.now()


@dataclass
class Tally:
    """What a stretch of simulated or real time sent to Graph and wrote."""

    requests: Counter = field(default_factory=Counter)
    writes: WriteCounter = field(default_factory=WriteCounter)
    ticks: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    tick_seconds: list[float] = field(default_factory=list)  # each beat tick's enqueue_due_syncs, with its syncs

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class Clock:
    """`timezone.now` of the simulation: the current tick's moment, plus the time spent in it
    (capped short of the next tick)."""

    def __init__(self, start: datetime) -> None:
        self.start, self.moment, self.began = start, start, time.monotonic()
        self.cap = settings.PREXTRA_SYNC_INTERVAL - 1

    def at(self, offset: float) -> None:
        self.moment, self.began = self.start + timedelta(seconds=offset), time.monotonic()

    def __call__(self) -> datetime:
        return self.moment + timedelta(seconds=min(time.monotonic() - self.began, self.cap))


def _simulate(world: World, start: datetime, seconds: int) -> Tally:
    """The beat schedule from `start` for `seconds`: each task at every multiple of its period
    (its first run one period after the start, as beat does)."""
    schedule = [
        (entry["task"], int(entry["schedule"]))
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] not in NOT_SIMULATED
    ]
    step = min(period for _task, period in schedule)
    tally, clock = Tally(), Clock(start)
    since = world.emulator.log.next_index()
    with mock.patch("django.utils.timezone.now", clock), connection.execute_wrapper(tally.writes), Stopwatch() as watch:
        for offset in range(step, seconds + 1, step):
            clock.at(offset)
            for task, period in schedule:
                if offset % period == 0:
                    began = time.perf_counter()
                    app.tasks[task].apply()
                    name = task.rsplit(".", 1)[-1]
                    tally.ticks[name] += 1
                    if name == "enqueue_due_syncs":
                        tally.tick_seconds.append(time.perf_counter() - began)
    tally.seconds = watch.seconds
    tally.requests = _graph_requests(world, since)
    return tally


def _graph_requests(world: World, since: int) -> Counter:
    """Top-level Graph requests since a log index, by what they are for."""
    if world.emulator.log.next_index() - since > 150_000:
        raise RuntimeError("too many requests for the emulator's log to keep them all")
    kinds = Counter()
    for entry in world.emulator.requests_log(since):
        if entry["kind"] != "graph" or entry.get("inBatch"):
            continue
        kinds[_purpose(entry["method"], entry["path"])] += 1
    return kinds


def _purpose(method: str, path: str) -> str:
    if "contacts/delta" in path:
        return "contacts delta"
    if "calendarView/delta" in path:
        return "calendar delta"
    if "contactFolders" in path:
        return "folder listing"
    if "/subscriptions" in path:
        return f"subscriptions {method}"
    return f"other {method}"


def _population(world: World, count: int) -> list[User]:
    """`count` users with every switch on, 2 contacts and 2 events each (as scenario 3)."""
    users = world.make_users(count)
    for user in users:
        world.emulator.seed(user.email, contacts=2, seed=5)
        _seed_single_events(world, user.email, 2)
    return users


@dataclass
class Periodic:
    """A cost measured once per mailbox, and how often it falls due."""

    requests: float
    writes: float
    every_hours: float

    @property
    def requests_per_hour(self) -> float:
        return self.requests / self.every_hours

    @property
    def writes_per_hour(self) -> float:
        return self.writes / self.every_hours


def _renewal(world: World, sample: list[User]) -> Periodic:
    """The sample's subscriptions brought within RENEW_WITHIN of their end: the beat's pass renews
    them. Their period: the lifetime Graph granted, less RENEW_WITHIN."""
    rows = Subscription.objects.filter(user__in=sample)
    rows.update(expires_at=timezone.now() + subscriptions.RENEW_WITHIN - timedelta(minutes=1))
    since, counter = world.emulator.log.next_index(), WriteCounter()
    with connection.execute_wrapper(counter):
        tasks.maintain_subscriptions()
    requests = _graph_requests(world, since)
    renewed = list(rows.values_list("expires_at", "renewed_at"))
    if requests["subscriptions PATCH"] != len(renewed) or any(at is None for _end, at in renewed):
        raise RuntimeError(f"renewal: {dict(requests)} for {len(renewed)} subscriptions")
    lifetime = sum(((end - at).total_seconds() for end, at in renewed), 0.0) / len(renewed)
    every = (lifetime - subscriptions.RENEW_WITHIN.total_seconds()) / 3600
    return Periodic(sum(requests.values()) / len(sample), counter.writes / len(sample), every)


def _reconciliation(world: World, sample: list[User]) -> Periodic:
    """The sample's calendar pull once as usual, then once with its reconciliation due: what the
    full round of the window costs beyond the delta it replaces."""

    def pull() -> tuple[int, int]:
        since, counter = world.emulator.log.next_index(), WriteCounter()
        with connection.execute_wrapper(counter):
            for user in sample:
                run_sync(user.pk, ACTIVITIES)
        return sum(_graph_requests(world, since).values()), counter.writes

    usual_requests, usual_writes = pull()
    due = timezone.now() - timedelta(seconds=settings.PREXTRA_RECONCILE_INTERVAL + 60)
    SyncState.objects.filter(user__in=sample, direction=Direction.ACTIVITIES_IN).update(reconciled_at=due)
    full_requests, full_writes = pull()
    return Periodic(
        (full_requests - usual_requests) / len(sample),
        (full_writes - usual_writes) / len(sample),
        settings.PREXTRA_RECONCILE_INTERVAL / 3600,
    )


def _polling_hour(world: World) -> list[Figure]:
    """One mailbox without subscriptions (PREXTRA_PUBLIC_URL empty, as before notifications):
    polled at every beat tick for an hour."""
    (user,) = _population(world, 1)
    with _only([user]), eager(), quiet(*QUIET_LOGGERS):
        tasks.enqueue_due_syncs()
        hour = _simulate(world, timezone.now(), HOUR)
    world.retire([user])
    return [
        Figure(
            SCENARIO,
            "polling only (no subscription): Graph requests per mailbox per hour",
            hour.total,
            note=f"{_describe(hour.requests)}; {hour.writes.writes} writes; every {settings.PREXTRA_SYNC_INTERVAL} s",
        )
    ]


def _describe(kinds: Counter, per: int = 1) -> str:
    return ", ".join(f"{name} {count / per:g}" for name, count in sorted(kinds.items()))


def _hour_figures(sampled: int, hour: Tally, renewal: Periodic, reconciliation: Periodic):
    periodic = renewal.requests_per_hour + reconciliation.requests_per_hour
    per_mailbox = hour.total / sampled + periodic
    ticks = ", ".join(f"{name} ×{n}" for name, n in sorted(hour.ticks.items()))
    spread = (
        f"renewal {renewal.requests:g} every {renewal.every_hours:.1f} h = {renewal.requests_per_hour:.3f}/h; "
        f"reconciliation +{reconciliation.requests:g} every {reconciliation.every_hours:g} h = "
        f"{reconciliation.requests_per_hour:.3f}/h"
    )
    figures = [
        Figure(SCENARIO, "mailboxes through the hour", sampled, note=f"beat: {ticks}; {hour.seconds:.1f} s"),
        Figure(
            SCENARIO,
            "safety polls per mailbox in the hour",
            hour.requests["calendar delta"] / sampled,
            note=f"every PREXTRA_SAFETY_POLL = {settings.PREXTRA_SAFETY_POLL} s, at the tick after: {poll_period()} s",
        ),
        Figure(
            SCENARIO,
            "Graph requests per mailbox per hour",
            round(per_mailbox, 2),
            "",
            f"≤ {TARGET_PER_MAILBOX}",
            per_mailbox <= TARGET_PER_MAILBOX,
            f"{_describe(hour.requests, sampled)}; {spread}",
        ),
    ]
    return figures


def _cycle_figures(count: int, cycle: Tally, renewal: Periodic, reconciliation: Periodic, setup: float) -> list:
    period = poll_period()
    scale = HOUR / period
    polled = cycle.requests["calendar delta"]
    requests = cycle.total * scale + count * (renewal.requests_per_hour + reconciliation.requests_per_hour)
    writes = cycle.writes.writes * scale + count * (renewal.writes_per_hour + reconciliation.writes_per_hour)
    ticks = cycle.ticks["enqueue_due_syncs"]
    return [
        Figure(
            SCENARIO,
            "idle mailboxes, subscribed",
            count,
            note=f"first sync and {2 * count:,} subscriptions (validated over HTTPS) in {setup:.1f} s",
        ),
        Figure(
            SCENARIO,
            "one safety-poll period: mailboxes polled",
            polled,
            "",
            f"= {count:,} (each once)",
            polled == count,
            f"{period} s simulated, {ticks} beat ticks, {cycle.seconds:.1f} s: {_describe(cycle.requests)}",
        ),
        Figure(
            SCENARIO,
            f"{count:,} mailboxes: Graph requests per hour",
            round(requests),
            note=f"the period's {cycle.total:,} × {scale:.2f}, + renewals and reconciliations spread",
        ),
        Figure(
            SCENARIO,
            f"{count:,} mailboxes: database writes per hour",
            round(writes),
            "statements",
            note=f"the period's {cycle.writes.writes:,} × {scale:.2f}: {cycle.writes.summary()[:240]}",
        ),
        Figure(SCENARIO, "database writes per mailbox per hour", round(writes / count, 2), "statements"),
        Figure(
            SCENARIO,
            "beat tick with no poll due: wall time",
            round(percentile(cycle.tick_seconds, 0.5) * 1000),
            "ms",
            note=f"p50 of {ticks} ticks (enqueue_due_syncs: due_syncs over {count:,} mailboxes' subscriptions); "
            f"the tick with the polls {max(cycle.tick_seconds):.1f} s (their syncs inline, one process)",
        ),
    ]
