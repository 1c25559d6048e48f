"""Scenario 4: change-to-visible latency with a real Celery worker and beat (separate processes).

Worker and beat run with their default settings, on the embedded broker in the bench's own var
folder and on the throwaway database. Contacts and events are added in "Outlook" (the emulator)
at random instants over a few beat intervals, so their phases against the ticks are random, and
picked up by the beat poll; then activities are edited in Prextra one by one, each queued after
commit as the calendar screens do (crm.signals.activity_changed). Each change is timed until it is visible
on the other side. The Outlook changes come first: a Prextra edit's sync also pulls, and would
carry them across ahead of the tick.
"""

from __future__ import annotations

import random
import signal
import subprocess  # nosec B404 # the benchmark starts its own worker and beat
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone
from kombu import Connection

from accounts.models import User
from crm.models import Activity, OutlookContact
from exchange import tasks
from exchange.models import ACTIVITIES, Direction
from exchange.scheduling import run_sync

from .report import Figure
from .world import PYTHON, ROOT, World, percentile

P95_TARGET, P95_AIM = 30.0, 10.0
CELERY = str(Path(PYTHON).with_name("celery"))
SPREAD_TICKS = 4  # Outlook changes are made at random instants over this many beat intervals


def change_latency(world: World, rounds: int) -> list[Figure]:
    """p50/p95 of Outlook → Prextra (contact, event) and Prextra → Outlook (activity) latencies,
    with worker and beat on their default settings (the configured PREXTRA_SYNC_INTERVAL)."""
    user, activities = _prepare(world, rounds)
    env, broker = embedded_env(world)
    paused = _pause_other_users(user)
    connections.close_all()
    processes = [_celery(env, "worker", "-c", "2"), _celery(env, "beat")]
    seen: dict[str, list[float]] = {}
    try:
        _wait_for_first_tick(world, user, processes)
        seen.update(_outlook_changes(world, user, rounds))
        seen.update(_prextra_changes(world, activities, broker))
    finally:
        logs = [_stop(process) for process in processes]
        User.objects.filter(pk__in=paused).update(is_active=True)
    if not any(seen.values()):
        raise RuntimeError("no change became visible: " + "\n".join(log[-1500:] for log in logs))
    return _figures(seen, rounds)


def embedded_env(world: World) -> tuple[dict, str]:
    """The environment of worker, beat (and endpoint) on the embedded broker in the bench's var
    folder, made ready; and that broker's URL."""
    env = world.child_env()
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        env.pop(name, None)
    broker = f"sqla+sqlite:///{Path(env['PREXTRA_VAR_DIR']) / 'celery-broker.sqlite3'}"
    Path(env["PREXTRA_VAR_DIR"]).mkdir(exist_ok=True)
    # No shell, and every argument is the benchmark's own (nothing a user typed).
    done = subprocess.run([PYTHON, "manage.py", "prepare_broker"], cwd=ROOT, env=env, capture_output=True, text=True)  # nosec B603
    if done.returncode:
        raise RuntimeError(f"prepare_broker failed: {done.stdout[-1500:]}{done.stderr[-3000:]}")
    return env, broker


def _pause_other_users(user: User) -> list[int]:
    """Only this user is due while measuring (earlier scenarios' users would queue ahead of it)."""
    others = list(User.objects.filter(is_active=True).exclude(pk=user.pk).values_list("pk", flat=True))
    User.objects.filter(pk__in=others).update(is_active=False)
    return others


def _prepare(world: World, count: int):
    """A user with a small mailbox, synchronized once, and `count` Prextra activities already in Outlook."""
    (user,) = world.make_users(1)
    world.emulator.seed(user.email, contacts=2, seed=4)
    start = timezone.now() + timedelta(days=2)
    for number in range(count):
        begins = start + timedelta(hours=number)
        Activity.objects.create(owner=user, subject=f"Latence {number}", start=begins, end=begins + timedelta(hours=1))
    run_sync(user.pk, Direction.CONTACTS_IN)
    run_sync(user.pk, ACTIVITIES)
    activities = list(Activity.objects.filter(owner=user, subject__startswith="Latence").order_by("start"))
    if not all(activity.outlook_id for activity in activities):
        raise RuntimeError("the activities were not pushed by the initial sync")
    return user, activities


def _celery(env: dict, *args: str) -> subprocess.Popen:
    command = [CELERY, "-A", "prextra_sync", args[0], "-l", "warning", *args[1:]]
    # No shell, and every argument is the benchmark's own (nothing a user typed).
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # nosec B603


def _wait_for_first_tick(world: World, user, processes, number: int = -1, patience: float = 0.0) -> None:
    """Until a contact added in Outlook (numbered `number`) arrives: worker and beat are up and
    synchronizing. `patience`: seconds more than three beat intervals and a minute."""
    mailbox = world.emulator.mailbox(user.email)
    sentinel = world.emulator.store.create_contact(mailbox, _contact(number))["graph"]["id"]
    deadline = time.monotonic() + 3 * settings.PREXTRA_SYNC_INTERVAL + 60 + patience
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("celery worker or beat exited early")
        if OutlookContact.objects.filter(outlook_id=sentinel).exists():
            return
        time.sleep(0.2)
    raise RuntimeError("the worker ran no scheduled sync in time")


def _outlook_changes(
    world: World, user, rounds: int, span: float | None = None, patience: float | None = None, first: int = 0
) -> dict[str, list[float]]:
    """`rounds` contacts and `rounds` events (numbered from `first`) added in Outlook at random
    instants over `span` seconds (by default a few beat intervals: random phases against the
    ticks), each timed until it is in the database; none waited for more than `patience` seconds
    after the last change (by default three beat intervals and 30 s)."""
    rng = random.Random(8 + first)  # nosec B311 # seeded on purpose: the same data every run
    span = SPREAD_TICKS * settings.PREXTRA_SYNC_INTERVAL if span is None else span
    patience = 3 * settings.PREXTRA_SYNC_INTERVAL + 30 if patience is None else patience
    numbers = range(first, first + rounds)
    plan = sorted([(rng.uniform(0, span), "contact", n) for n in numbers]
                  + [(rng.uniform(0, span), "event", n) for n in numbers])  # fmt: skip
    store, mailbox = world.emulator.store, world.emulator.mailbox(user.email)
    seen: dict[str, list[float]] = {"contact added in Outlook": [], "event added in Outlook": []}
    pending: dict = {}
    began = time.monotonic()
    deadline = began + span + patience
    while (plan or pending) and time.monotonic() < deadline:
        while plan and time.monotonic() - began >= plan[0][0]:
            _at, kind, number = plan.pop(0)
            if kind == "contact":
                cid = store.create_contact(mailbox, _contact(number))["graph"]["id"]
                linked = OutlookContact.objects.filter(outlook_id=cid)
                check = (linked.exists, "contact added in Outlook")
            else:
                eid = store.create_event(mailbox, _event(number))[0]["id"]
                check = (lambda eid=eid: Activity.objects.filter(outlook_id=eid).exists(), "event added in Outlook")
            pending[(kind, number)] = (time.monotonic(), *check)
        for key, (t0, is_there, name) in list(pending.items()):
            if is_there():
                seen[name].append(time.monotonic() - t0)
                del pending[key]
        time.sleep(0.05)
    return seen


def _prextra_changes(world: World, activities: list[Activity], broker: str) -> dict[str, list[float]]:
    """Each activity edited in Prextra, as a calendar screen does, timed until Outlook has it."""
    rng = random.Random(9)  # nosec B311 # seeded on purpose: the same data every run
    seen: dict[str, list[float]] = {"activity changed in Prextra": []}
    for activity in activities:
        time.sleep(rng.uniform(0, 1))
        subject = f"{activity.subject} (modifiée)"
        t0 = time.monotonic()
        _edit(activity, subject, broker)
        deadline = t0 + 3 * settings.PREXTRA_SYNC_INTERVAL + 30
        while time.monotonic() < deadline:
            if world.emulator.mailbox(activity.owner.email).events[activity.outlook_id]["fields"]["subject"] == subject:
                seen["activity changed in Prextra"].append(time.monotonic() - t0)
                break
            time.sleep(0.05)
    return seen


def _edit(activity: Activity, subject: str, broker: str) -> None:
    """What a calendar screen does: save, then queue the owner's sync (on the bench's broker)."""
    activity.refresh_from_db()
    activity.subject = subject
    activity.save()
    with Connection(broker, transport_options={"connect_args": {"timeout": 30}}) as connection:
        tasks.sync_user.apply_async((activity.owner_id, ACTIVITIES, "save"), connection=connection)


def _contact(number: int) -> dict:
    email = f"latence.{number}@finloc.com"
    return {"givenName": "Luc", "surname": f"Latence {number}", "emailAddresses": [{"address": email}]}


def _event(number: int) -> dict:
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0, tzinfo=None)
    return {
        "subject": f"Événement {number}",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
    }


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


def _figures(seen: dict[str, list[float]], rounds: int) -> list[Figure]:
    interval = settings.PREXTRA_SYNC_INTERVAL
    figures = [Figure("4 latency", "beat interval", interval, "s", note="PREXTRA_SYNC_INTERVAL, as configured")]
    for name, values in seen.items():
        if not values:
            figures.append(Figure("4 latency", name, "never seen", "", f"p95 ≤ {P95_TARGET:.0f} s", False))
            continue
        p95 = percentile(values, 0.95)
        figures.append(
            Figure(
                "4 latency",
                f"{name}: p50",
                round(percentile(values, 0.5), 2),
                "s",
                note=f"{len(values)}/{rounds} changes seen",
            ),  # fmt: skip
        )
        figures.append(
            Figure(
                "4 latency",
                f"{name}: p95",
                round(p95, 2),
                "s",
                f"≤ {P95_TARGET:.0f} s (aim ≤ {P95_AIM:.0f} s)",
                p95 <= P95_TARGET,
                "within the aim" if p95 <= P95_AIM else "above the aim",
            ),  # fmt: skip
        )
    return figures
