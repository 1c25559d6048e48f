"""Scenarios 1, 2 and 7: the initial import of one big mailbox, against the floor of merely paging it.

The floor is the same delta round read with the product's GraphClient and nothing done with the
items: the sync cannot be faster than that. It is measured before and after the sync and the
faster of the two is kept, so the ratio is never flattered by a cold emulator. Each import runs
twice: on loopback, where the in-process emulator answers in a millisecond and the database
writes dominate, and with a 50 ms round trip per Graph request, closer to Microsoft 365, where
the sync's prefetching of the next page hides its own work behind the network.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess  # nosec B404 # the benchmark starts its own probe processes
from contextlib import contextmanager

from crm.models import Activity, Contact
from exchange.models import JournalEntry
from exchange.sync.activities import sync_activities, window_for
from exchange.sync.contacts import sync_contacts
from graph_emulator import seed as emulator_seed

from .report import Figure
from .world import PYTHON, ROOT, Stopwatch, World

RATIO_TARGET = 1.5
# A delta page's round trip to Microsoft 365 from Quebec is typically 100–400 ms; 50 ms is kind.
ROUND_TRIP = 0.05
RSS_TARGET_MB = 250


def contact_import(world: World, size: int) -> list[Figure]:
    """Scenario 1: a mailbox of `size` contacts, first synchronization: on loopback, then with a
    Microsoft 365-like round trip on every Graph request."""
    figures = []
    for latency in (0.0, ROUND_TRIP):
        (user,) = world.make_users(1, activities_in=False, activities_out=False)
        world.emulator.seed(user.email, contacts=size, seed=1)
        client = world.client()
        mailbox_id = world.emulator.mailbox(user.email).id  # Graph names it by id (its UPN is not its email)
        with round_trip(world, latency, r"/contacts/delta"):
            floor = _floor(lambda: client.contacts_delta(mailbox_id))  # noqa: B023 (called at once)
            with Stopwatch() as watch:
                run = sync_contacts(user, client=client)
            floor = min(floor, _floor(lambda: client.contacts_delta(mailbox_id)))  # noqa: B023
        stored = Contact.objects.filter(outlook_items__mailbox=user).count()
        journal = JournalEntry.objects.filter(run=run).count()
        world.retire([user])
        note = f"{stored:,} contacts stored, {run.skipped:,} skipped (R7), {journal:,} journal rows, {run.result}"
        figures += _import_figures("1 contact import", size, watch.seconds, floor, note, latency)
    return figures


def activity_import(world: World, size: int) -> list[Figure]:
    """Scenario 2: a calendar of `size` single events inside the window, first synchronization:
    on loopback, then with a Microsoft 365-like round trip on every Graph request."""
    figures = []
    start, end = window_for(world.connection)
    for latency in (0.0, ROUND_TRIP):
        (user,) = world.make_users(1, contacts_in=False, activities_out=False)
        _seed_single_events(world, user.email, size)
        client = world.client()
        mailbox_id = world.emulator.mailbox(user.email).id
        with round_trip(world, latency, r"/calendarView/delta"):
            floor = _floor(lambda: client.events_delta(mailbox_id, start, end))  # noqa: B023
            with Stopwatch() as watch:
                (run,) = sync_activities(user, client=client)
            floor = min(floor, _floor(lambda: client.events_delta(mailbox_id, start, end)))  # noqa: B023
        stored = Activity.objects.filter(owner=user).count()
        world.retire([user])
        note = f"{stored:,} activities stored, {run.skipped:,} skipped, {run.result}"
        figures += _import_figures("2 activity import", size, watch.seconds, floor, note, latency)
    return figures


@contextmanager
def round_trip(world: World, seconds: float, path: str):
    """Every GET of `path` waits `seconds` before it is served (the emulator's `delay` fault)."""
    if seconds:
        world.emulator.inject_fault("delay", method="GET", path=path, count=None, seconds=seconds)
    try:
        yield
    finally:
        world.emulator.clear_faults()


def _seed_single_events(world: World, address: str, size: int) -> None:
    """The emulator's realistic events (all-day, multi-day, meetings…) minus recurrence: `size` items."""
    mailbox = world.emulator.mailbox(address)
    store = world.emulator.store
    rng = random.Random(f"bench:{address}")  # nosec B311 # seeded on purpose: the same data every run
    anchor = dt.date.today()
    with store.lock:
        for index in range(size):
            fields = emulator_seed.event_fields(rng, anchor, index)
            fields.pop("recurrence", None)
            store.create_event(mailbox, fields, rng=rng)


def _floor(pages) -> float:
    with Stopwatch() as watch:
        for _page in pages():
            pass
    return watch.seconds


def _import_figures(scenario: str, size: int, seconds: float, floor: float, note: str, latency: float) -> list[Figure]:
    ratio = seconds / floor if floor else float("inf")
    where = f", {latency * 1000:.0f} ms per request" if latency else ""
    figures = [Figure(scenario, "items", size, "items")] if not latency else []
    return figures + [
        Figure(scenario, f"sync time{where}", seconds, "s", note=note),
        Figure(scenario, f"sync rate{where}", size / seconds, "items/s"),
        Figure(scenario, f"floor: paging only{where}", size / floor, "items/s", note=f"{floor:.2f} s"),
        Figure(scenario, f"sync / floor{where}", ratio, "×", f"≤ {RATIO_TARGET}×", ratio <= RATIO_TARGET),
    ]


def import_memory(world: World, sizes: list[int]) -> list[Figure]:
    """Scenario 7: peak RSS of a contact import run in a child process (its own ru_maxrss)."""
    figures = []
    for size in sizes:
        (user,) = world.make_users(1, activities_in=False, activities_out=False)
        world.emulator.seed(user.email, contacts=size, seed=7)
        probe = _probe(world, "contacts", user.pk)
        world.retire([user])
        peak = probe["maxrss_kb"] / 1024
        note = (
            f"{probe['seconds']:.1f} s, {probe['rate']:,.0f} items/s in the child; "
            f"{probe['setup_kb'] / 1024:.0f} MB after Django set-up"
        )
        figures.append(
            Figure(
                "7 memory",
                f"peak RSS, {size:,} contacts",
                round(peak, 1),
                "MB",
                f"≤ {RSS_TARGET_MB} MB",
                peak <= RSS_TARGET_MB,
                note,
            )  # fmt: skip
        )
    if len(sizes) > 1:
        rss = [figure.value for figure in figures]
        growth = rss[-1] - rss[0]
        figures.append(
            Figure(
                "7 memory",
                f"growth {sizes[0]:,} → {sizes[-1]:,}",
                round(growth, 1),
                "MB",
                "flat (≤ 25 MB)",
                growth <= 25,
            )  # fmt: skip
        )
    return figures


def _probe(world: World, kind: str, user_id: int) -> dict:
    result = subprocess.run(  # nosec B603 # no shell; every argument is the benchmark's own
        [PYTHON, "-m", "devtools.bench.probe", kind, str(user_id)],
        cwd=ROOT,
        env=world.child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"memory probe failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
