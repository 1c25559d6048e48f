"""Load: while a big contact import runs, concurrent clients browse the calendars and
search contacts through a real web server; errors and p95 per page.

The web app runs under gunicorn (2 processes × 4 threads, as a small production set-up) on
loopback, on the bench's throwaway database; the import runs in a child process (the worker's
code, `sync_contacts`) against the in-process emulator. Each client is a thread with its own
signed-in session that requests the pages one after the other until the import ends, bounded in
time and in requests. Nothing leaves this machine.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess  # nosec B404 # the benchmark starts its own gunicorn and import
import threading
import time
from collections import defaultdict
from importlib import import_module

import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from crm.models import Contact

from . import pages as page_data
from .report import Figure
from .world import PYTHON, ROOT, Stopwatch, World, percentile

# Clients, the bounds of the run, and the requests each client makes at least (pages, in turn).
SIZES = {False: {"clients": 50, "seconds": 180, "requests": 20_000, "at_least": 5},
         True: {"clients": 5, "seconds": 30, "requests": 400, "at_least": 10}}  # fmt: skip
SCENARIO = "9 load"


def load(world: World, contacts: int) -> list[Figure]:
    """Scenario 9: `clients` browsing while `contacts` contacts are imported."""
    size = {**SIZES[world.quick], "contacts": contacts}
    world.retire(world.idle_users)  # 50 browsing users, as in scenario 6
    viewers = world.make_users(page_data.CALENDAR_USERS, contacts_in=False, activities_in=False, activities_out=False)
    page_data._make_contacts(size["contacts"] // 5)
    page_data._make_activities(viewers, page_data.MONTH_ACTIVITIES // (10 if world.quick else 1))
    (importer,) = world.make_users(1, activities_in=False, activities_out=False)
    world.emulator.seed(importer.email, contacts=size["contacts"], seed=12)
    urls = _urls(viewers)
    port = _free_port()
    server = _gunicorn(world, port)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base)
        sessions = [_session(viewers[n % len(viewers)]) for n in range(size["clients"])]
        sync = _import(world, importer.pk)
        with Stopwatch() as watch:
            samples, errors = _browse(base, urls, sessions, sync, size)
        output, _ = sync.communicate(timeout=600)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    world.retire([*viewers, importer])
    result = json.loads(output.strip().splitlines()[-1]) if sync.returncode == 0 else {"result": output[-300:]}
    return _figures(
        size, samples, errors, watch.seconds, result, Contact.objects.filter(outlook_items__mailbox=importer)
    )


def _urls(viewers) -> dict[str, str]:
    today = timezone.localdate()
    others = "&".join(f"others={user.pk}" for user in viewers[1:10])
    return {
        "monthly calendar": f"{reverse('calendar_month')}?month={today:%Y-%m}&{others}",
        "daily calendar": f"{reverse('calendar_day')}?day={today:%Y-%m-%d}&{others}",
        "contact search": reverse("contact_search"),
        "contact search, name filter": f"{reverse('contact_search')}?contact_name=trem",
        "imported activities": reverse("imported_activities"),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn(world: World, port: int) -> subprocess.Popen:
    command = [PYTHON, "-m", "gunicorn", "prextra_sync.wsgi", "--workers", "2", "--threads", "4",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]  # fmt: skip
    env = world.child_env(DJANGO_ALLOWED_HOSTS="127.0.0.1")
    # No shell, and every argument is the benchmark's own (nothing a user typed).
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # nosec B603


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/connexion/", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its first page slow
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _session(user) -> str:
    """A signed-in session for `user`, made as django.contrib.auth.login makes one."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _import(world: World, user_id: int) -> subprocess.Popen:
    command = [PYTHON, "-m", "devtools.bench.probe", "contacts", str(user_id)]
    env = world.child_env()
    # No shell, and every argument is the benchmark's own (nothing a user typed).
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # nosec B603


def _browse(base, urls, sessions, sync, size) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Each session in its thread, through the pages in turn, until the import has ended and it
    made its few requests, or a bound (time, requests) is reached."""
    seconds, limit = size["seconds"], size["requests"]
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    budget = itertools.count()
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def client(number: int, session_key: str) -> None:
        http = requests.Session()
        http.cookies.set(settings.SESSION_COOKIE_NAME, session_key)
        names = itertools.cycle(list(urls)[number % len(urls) :] + list(urls)[: number % len(urls)])
        for made in itertools.count():
            if (sync.poll() is not None and made >= size["at_least"]) or time.monotonic() > deadline:
                return
            if next(budget) >= limit:
                return
            name = next(names)
            started = time.perf_counter()
            try:
                response = http.get(base + urls[name], timeout=30, allow_redirects=False)
                failed = response.status_code != 200
            except requests.RequestException:
                failed = True
            with lock:
                samples[name].append((time.perf_counter() - started) * 1000)
                errors[name] += failed

    threads = [threading.Thread(target=client, args=(n, key), daemon=True) for n, key in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return samples, errors


def _figures(size, samples, errors, seconds, result, imported) -> list[Figure]:
    total = sum(len(values) for values in samples.values())
    failed = sum(errors.values())
    note = f"{size['clients']} clients, {total / seconds:.0f} requests/s over {seconds:.1f} s"
    figures = [
        Figure(SCENARIO, "requests", total, note=note),
        Figure(SCENARIO, "errors", failed, "", "0", failed == 0, "non-200 answers or failed connections"),
        Figure(
            SCENARIO,
            "import under load",
            result.get("rate", 0.0),
            "items/s",
            note=f"{size['contacts']:,} contacts, {result.get('result')}, {imported.count():,} stored",
        ),  # fmt: skip
    ]
    for name, values in samples.items():
        figures.append(
            Figure(SCENARIO, f"{name}: p95", round(percentile(values, 0.95), 1), "ms", note=f"{len(values)} requests")
        )
    return figures
