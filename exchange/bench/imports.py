"""Scenarios 1, 2 and 7: the initial import of one big mailbox, against the floor of merely paging it.

The floor is the same delta round read with the product's GraphClient and nothing done with the
items: the sync cannot be faster than that. It is measured before and after the sync and the
faster of the two is kept, so the ratio is never flattered by a cold emulator.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess

from crm.models import Activity, Contact
from exchange.emulator import seed as emulator_seed
from exchange.models import JournalEntry
from exchange.sync.activities import sync_activities, window_for
from exchange.sync.contacts import sync_contacts

from .report import Figure
from .world import PYTHON, ROOT, Stopwatch, World

RATIO_TARGET = 1.5
RSS_TARGET_MB = 250


def contact_import(world: World, size: int) -> list[Figure]:
    """Scenario 1: a mailbox of `size` contacts, first synchronization."""
    (user,) = world.make_users(1, activities_in=False, activities_out=False)
    world.emulator.seed(user.email, contacts=size, seed=1)
    client = world.client()
    floor = _floor(lambda: client.contacts_delta(user.email))
    with Stopwatch() as watch:
        run = sync_contacts(user, client=client)
    floor = min(floor, _floor(lambda: client.contacts_delta(user.email)))
    stored = Contact.objects.filter(outlook_mailbox=user).count()
    journal = JournalEntry.objects.filter(run=run).count()
    world.retire([user])
    note = f"{stored:,} contacts stored, {run.skipped:,} skipped (R7), {journal:,} journal rows, {run.result}"
    return _import_figures("1 contact import", size, watch.seconds, floor, note)


def activity_import(world: World, size: int) -> list[Figure]:
    """Scenario 2: a calendar of `size` single events inside the window, first synchronization."""
    (user,) = world.make_users(1, contacts_in=False, activities_out=False)
    _seed_single_events(world, user.email, size)
    client = world.client()
    start, end = window_for(world.connection)
    floor = _floor(lambda: client.events_delta(user.email, start, end))
    with Stopwatch() as watch:
        (run,) = sync_activities(user, client=client)
    floor = min(floor, _floor(lambda: client.events_delta(user.email, start, end)))
    stored = Activity.objects.filter(owner=user).count()
    world.retire([user])
    note = f"{stored:,} activities stored, {run.skipped:,} skipped, {run.result}"
    return _import_figures("2 activity import", size, watch.seconds, floor, note)


def _seed_single_events(world: World, address: str, size: int) -> None:
    """The emulator's realistic events (all-day, multi-day, meetings…) minus recurrence: `size` items."""
    mailbox = world.emulator.mailbox(address)
    store = world.emulator.store
    rng = random.Random(f"bench:{address}")
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


def _import_figures(scenario: str, size: int, seconds: float, floor: float, note: str) -> list[Figure]:
    ratio = seconds / floor if floor else float("inf")
    return [
        Figure(scenario, "items", size, "items"),
        Figure(scenario, "sync time", seconds, "s", note=note),
        Figure(scenario, "sync rate", size / seconds, "items/s"),
        Figure(scenario, "floor: paging only", size / floor, "items/s", note=f"{floor:.2f} s"),
        Figure(scenario, "sync / floor", ratio, "×", f"≤ {RATIO_TARGET}×", ratio <= RATIO_TARGET),
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
    result = subprocess.run(
        [PYTHON, "-m", "exchange.bench.probe", kind, str(user_id)],
        cwd=ROOT,
        env=world.child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"memory probe failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
