"""Scenario 6: the CRM pages over a big database, through Django's test Client (server time only).

Each page is requested once on a small data set and once on the full one: the number of SQL
queries must not change (no query per row). Then it is requested several times on the full data
set for p50/p95. A page whose URL name does not exist yet is reported as not available.
"""

from __future__ import annotations

import gc
import random
from contextlib import contextmanager
from datetime import datetime, time, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import User
from crm.models import Activity, Contact, ContactGroup, Customer
from graph_emulator import seed as emulator_seed

from .report import Figure
from .world import Stopwatch, World, percentile

SMALL = 100
MONTH_ACTIVITIES, CALENDAR_USERS = 3_000, 50
ROUNDS = {True: 6, False: 20}


def pages(world: World, contacts: int) -> list[Figure]:
    """Contact search over `contacts` contacts; monthly/daily calendars and imported activities.

    The 500 users of the idle cycle (3, 8) are made inactive first, as every scenario does with
    its own: the calendars' filter lists every active user, and this scenario is about 50."""
    world.retire(world.idle_users)
    users = world.make_users(CALENDAR_USERS, contacts_in=False, activities_in=False, activities_out=False)
    viewer = users[0]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)
    checks = _pages(viewer, users)
    _make_contacts(SMALL)
    activities = MONTH_ACTIVITIES // 10 if world.quick else MONTH_ACTIVITIES
    _make_activities(users, SMALL)
    small = {name: _queries(client, url) for name, (url, _target) in checks.items() if url}
    _make_contacts(contacts - SMALL)
    _make_activities(users, activities - SMALL)
    figures = []
    with _web_process_heap():
        for name, (url, target_ms) in checks.items():
            if not url:
                figures.append(Figure("6 pages", name, "not available", note="URL name not defined yet"))
                continue
            figures += _page_figures(client, name, url, target_ms, small[name], ROUNDS[world.quick])
    world.retire(users)
    note = f"{contacts:,} contacts; {activities:,} activities this month over {len(users)} users"
    figures.insert(0, Figure("6 pages", "data set", "", note=note))
    return figures


@contextmanager
def _web_process_heap():
    """The pages are served here, in the bench's process, beside the emulator's mailboxes and the
    earlier scenarios' objects: hundreds of thousands of objects that no web process holds. Frozen
    (gc.freeze), the garbage collector leaves them out, so its pauses are those a web process would
    have, and the p95 measures the page rather than the bench's heap."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _pages(viewer: User, users: list[User]) -> dict[str, tuple[str | None, float]]:
    """Page name: (URL with its query, p95 target in ms). The calendars show every user's month."""
    others = "&".join(f"others={user.pk}" for user in users if user.pk != viewer.pk)
    today = timezone.localdate()
    return {
        "contact search": (_url("contact_search"), 150),
        "contact search, name filter": (_url("contact_search", "contact_name=trem"), 150),
        "contact search, city + page 3": (_url("contact_search", "city=montr&page=3"), 150),
        "monthly calendar": (_url("calendar_month", f"month={today:%Y-%m}&{others}"), 100),
        "daily calendar": (_url("calendar_day", f"day={today:%Y-%m-%d}&{others}"), 100),
        "imported activities": (_url("imported_activities"), 150),
    }


def _url(name: str, query: str = "") -> str | None:
    try:
        return reverse(name) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return None


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return len(captured.captured_queries)


def _page_figures(client, name, url, target_ms, small_queries, rounds) -> list[Figure]:
    queries = _queries(client, url)
    samples = []
    for _ in range(rounds):
        with Stopwatch() as watch:
            client.get(url)
        samples.append(watch.seconds * 1000)
    p95 = percentile(samples, 0.95)
    constant = queries == small_queries
    return [
        Figure(
            "6 pages",
            f"{name}: SQL queries",
            queries,
            "",
            f"constant (= {small_queries})",
            constant,
            f"{small_queries} on the small data set",
        ),  # fmt: skip
        Figure("6 pages", f"{name}: p50", round(percentile(samples, 0.5), 1), "ms"),
        Figure(
            "6 pages", f"{name}: p95", round(p95, 1), "ms", f"≤ {target_ms} ms", p95 <= target_ms, f"{rounds} requests"
        ),  # fmt: skip
    ]


def _make_contacts(count: int) -> None:
    """Contacts as the sync would leave them: fr-CA names and cities, a fifth on customers."""
    rng = random.Random(f"pages:{Contact.objects.count()}")
    group = ContactGroup.objects.get_or_create(code="EXC", defaults={"name": "Exchange"})[0]
    customers = list(Customer.objects.all()[:200]) or Customer.objects.bulk_create(
        Customer(code=f"C{n:05d}", name=f"Construction {rng.choice(emulator_seed.SURNAMES)} {n}") for n in range(200)
    )
    batch = []
    for _ in range(count):
        fields = emulator_seed.contact_fields(rng)
        email = (fields["emailAddresses"] or [{"address": ""}])[0]["address"]
        owner = {"customer": rng.choice(customers)} if rng.random() < 0.2 else {"group": group}
        batch.append(
            Contact(
                first_name=fields["givenName"] or "Marie",
                last_name=fields["surname"] or "Roy",
                email=email,
                phone=fields["businessPhones"][0],
                city=fields["businessAddress"]["city"],
                province="QC",
                country="Canada",
                source=Contact.Source.EXCHANGE,
                **owner,
            )  # fmt: skip
        )
    Contact.objects.bulk_create(batch, batch_size=2000)


def _make_activities(users: list[User], count: int) -> None:
    """`count` activities this month spread over `users`: a third imported from Outlook, some private."""
    rng = random.Random(f"activities:{count}")
    first = timezone.localdate().replace(day=1)
    zone = timezone.get_current_timezone()
    batch = []
    for n in range(count):
        day = first + timedelta(days=rng.randint(0, 27))
        start = datetime.combine(day, time(rng.randint(7, 16), rng.choice((0, 30))), zone)
        outlook = n % 3 == 0
        batch.append(
            Activity(
                owner=users[n % len(users)],
                subject=f"Rencontre de chantier {n}",
                location="Québec",
                start=start,
                end=start + timedelta(hours=1),
                is_private=rng.random() < 0.1,
                source=Activity.Source.OUTLOOK if outlook else Activity.Source.PREXTRA,
                outlook_id=f"bench-{n}-{rng.random()}" if outlook else None,
                needs_push=False,
            )  # fmt: skip
        )
    Activity.objects.bulk_create(batch, batch_size=2000)
