"""Scenario 6: the CRM pages over a big database, through Django's test Client (server time only).

Each page is requested once on a small data set and once on the full one: the number of SQL
queries must not change (no query per row). Then it is requested several times on the full data
set for p50/p95. A page whose URL name does not exist yet is reported as not available.

The record screens (crm/record_views.py) get a customer file of 5,000 customers (quick: 500),
each with a code, a name, a city, a representative and an email domain. The list's page shows
20 of them (the default « Nbre lignes ») and counts them all: a query per row would add 20, and
its search (code, name, city or domain) reads the whole file. One customer, C00001, owns a
quarter of the contacts (25,000 of 100,000; quick: 500), as a large general contractor whose
domain brought every synchronized person of it (R8). Its page shows only its first 100 contacts
and its contacts' 10 latest activities, so its time should not follow those 25,000; where it
does (a sort of all of them, a join through all of them), it shows here as it never would on a
customer of ten contacts. The other customers share another quarter of the contacts (about five each), and the
Exchange group keeps the last half. The 12 months before this one hold 12,000 activities
(quick: 1,200) of the customers' contacts, about half on C00001's, a tenth private: the page's
« Activités récentes » are read among them. Being in earlier months, they leave the calendars
and the imported activities as they were. The small data set has 10 customers, C00001 with
about 25 contacts and 10 past activities: the list shows 10 rows there and 20 on the full one,
and the record page has the same sections on both.
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
from django.utils.text import slugify

from accounts.models import User
from crm.models import Activity, Contact, ContactGroup, Customer, EmailDomain
from graph_emulator import seed as emulator_seed

from .report import Figure
from .world import Stopwatch, World, percentile

SMALL = 100
MONTH_ACTIVITIES, CALENDAR_USERS = 3_000, 50
ROUNDS = {True: 6, False: 20}
# The record screens' data (the module's docstring says why these sizes).
CUSTOMERS, SMALL_CUSTOMERS, BIG_CUSTOMER = 5_000, 10, "C00001"
BIG_SHARE, CUSTOMERS_SHARE = 0.25, 0.5  # of the contacts: C00001's; all customers' (C00001's included)
PAST_ACTIVITIES, PAST_MONTHS = 12_000, 12


def pages(world: World, contacts: int) -> list[Figure]:
    """Contact search over `contacts` contacts; monthly/daily calendars and imported activities;
    the customer list and the page of the customer that owns a quarter of the contacts.

    The 500 users of the idle cycle (3, 8) are made inactive first, as every scenario does with
    its own: the calendars' filter lists every active user, and this scenario is about 50."""
    world.retire(world.idle_users)
    users = world.make_users(CALENDAR_USERS, contacts_in=False, activities_in=False, activities_out=False)
    viewer = users[0]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)
    big = _make_customers(SMALL_CUSTOMERS, users)[0]
    checks = _pages(viewer, users, big)
    _make_contacts(SMALL)
    scale = 10 if world.quick else 1
    activities, past, customers = MONTH_ACTIVITIES // scale, PAST_ACTIVITIES // scale, CUSTOMERS // scale
    _make_activities(users, SMALL)
    _make_past_activities(users, SMALL // 5)
    small = {name: _queries(client, url) for name, (url, _target) in checks.items() if url}
    _make_customers(customers - SMALL_CUSTOMERS, users)
    _make_contacts(contacts - SMALL)
    _make_activities(users, activities - SMALL)
    _make_past_activities(users, past - SMALL // 5)
    figures = []
    with _web_process_heap():
        for name, (url, target_ms) in checks.items():
            if not url:
                figures.append(Figure("6 pages", name, "not available", note="URL name not defined yet"))
                continue
            figures += _page_figures(client, name, url, target_ms, small[name], ROUNDS[world.quick])
    world.retire(users)
    note = f"{contacts:,} contacts; {activities:,} activities this month over {len(users)} users"
    records = (
        f"{customers:,} customers; {big.code} owns {big.contacts.count():,} contacts, "
        f"{Activity.objects.filter(contact__customer=big).count():,} of the {past:,} past activities"
    )
    figures[:0] = [Figure("6 pages", "data set", "", note=note), Figure("6 pages", "records", "", note=records)]
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


def _pages(viewer: User, users: list[User], big: Customer) -> dict[str, tuple[str | None, float]]:
    """Page name: (URL with its query, p95 target in ms). The calendars show every user's month;
    the record screens are lists, with the contact search's target."""
    others = "&".join(f"others={user.pk}" for user in users if user.pk != viewer.pk)
    today = timezone.localdate()
    return {
        "contact search": (_url("contact_search"), 150),
        "contact search, name filter": (_url("contact_search", "contact_name=trem"), 150),
        "contact search, city + page 3": (_url("contact_search", "city=montr&page=3"), 150),
        "monthly calendar": (_url("calendar_month", f"month={today:%Y-%m}&{others}"), 100),
        "daily calendar": (_url("calendar_day", f"day={today:%Y-%m-%d}&{others}"), 100),
        "imported activities": (_url("imported_activities"), 150),
        "customer list": (_url("customer_list"), 150),
        "customer list, city search": (_url("customer_list", "q=québec"), 150),
        f"customer page, {BIG_CUSTOMER}": (_url("customer_detail", pk=big.pk), 150),
    }


def _url(name: str, query: str = "", **kwargs) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None) + (f"?{query}" if query else "")
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


def _make_customers(count: int, reps: list[User]) -> list[Customer]:
    """`count` customers as the ERP holds them, each with a representative among `reps` (if any),
    a city and one email domain of its own; numbered on from the last one (C00001 first).

    The cities come in turn, so C00001 is in Québec and one customer in 18 is: the small data set's
    city search shows a row, as the full one's does (an empty page would run one query less)."""
    first = Customer.objects.count() + 1
    rng = random.Random(f"customers:{first}")  # nosec B311 # seeded on purpose: the same data every run
    customers = []
    for number in range(first, first + count):
        surname = rng.choice(emulator_seed.SURNAMES)
        customers.append(
            Customer(
                code=f"C{number:05d}",
                name=rng.choice(emulator_seed.COMPANY_KINDS).format(surname),
                sales_rep=reps[number % len(reps)] if reps else None,
                phone=f"{rng.choice(emulator_seed.AREA_CODES)} 555-{rng.randint(100, 9999):04d}",
                city=emulator_seed.CITIES[number % len(emulator_seed.CITIES)][0],
                province="QC",
            )  # fmt: skip
        )
    customers = Customer.objects.bulk_create(customers, batch_size=2000)
    # bulk_create sends no post_save: no re-linking (R8) runs, the contacts are made linked.
    EmailDomain.objects.bulk_create(
        (EmailDomain(domain=_domain(customer), customer=customer) for customer in customers), batch_size=2000
    )
    return customers


def _domain(customer: Customer) -> str:
    """One domain per customer: its name's distinctive word and its number (names repeat)."""
    word = customer.name.split(" ")[1] if " " in customer.name else customer.name
    return f"{slugify(word)}{int(customer.code[1:])}.ca"


def _make_contacts(count: int) -> None:
    """Contacts as the sync would leave them: fr-CA names and cities; a quarter on C00001, a
    quarter on the other customers (at the customer's domain and city, with its representative),
    the rest in the Exchange group."""
    made = Contact.objects.count()
    rng = random.Random(f"pages:{made}")  # nosec B311 # seeded on purpose: the same data every run
    group = ContactGroup.objects.get_or_create(code="EXC", defaults={"name": "Exchange"})[0]
    if not Customer.objects.exists():
        _make_customers(200, [])
    domains = dict(EmailDomain.objects.filter(customer__isnull=False).values_list("customer_id", "domain"))
    customers = list(Customer.objects.order_by("code").only("pk", "code", "city", "sales_rep_id"))
    big, others = customers[0], customers[1:] or customers
    batch = []
    for serial in range(count):
        fields = emulator_seed.contact_fields(rng)
        email = (fields["emailAddresses"] or [{"address": ""}])[0]["address"]
        roll = rng.random()
        customer = big if roll < BIG_SHARE else (rng.choice(others) if roll < CUSTOMERS_SHARE else None)
        owner = {"group": group}
        local, _at, domain = email.partition("@")
        if customer is not None:
            owner = {"customer": customer, "representative_id": customer.sales_rep_id}
            domain = domains[customer.pk]  # at the customer's domain
        # Numbered: two Diane Morin are two people, and one address is one contact.
        email = f"{local}.{made + serial}@{domain}" if email else ""
        batch.append(
            Contact(
                first_name=fields["givenName"] or "Marie",
                last_name=fields["surname"] or "Roy",
                title=fields["jobTitle"],
                email=email,
                phone=fields["businessPhones"][0],
                city=customer.city if customer is not None else fields["businessAddress"]["city"],
                province="QC",
                country="Canada",
                source=Contact.Source.EXCHANGE,
                **owner,
            )  # fmt: skip
        )
    Contact.objects.bulk_create(batch, batch_size=2000)


def _make_activities(users: list[User], count: int) -> None:
    """`count` activities this month spread over `users`: a third imported from Outlook, some private."""
    rng = random.Random(f"activities:{count}")  # nosec B311 # seeded on purpose: the same data every run
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


def _make_past_activities(users: list[User], count: int) -> None:
    """`count` activities of the customers' contacts over the PAST_MONTHS months before this one
    (the record page's « Activités récentes »): entered in Prextra, a tenth private."""
    rng = random.Random(f"past:{Activity.objects.count()}")  # nosec B311 # seeded on purpose: the same data every run
    contacts = list(Contact.objects.filter(customer__isnull=False).values_list("pk", "first_name", "customer__name"))
    this_month = timezone.localdate().replace(day=1)
    zone = timezone.get_current_timezone()
    batch = []
    for n in range(count):
        contact_id, person, company = rng.choice(contacts)
        day = this_month - timedelta(days=rng.randint(1, 30 * PAST_MONTHS))
        start = datetime.combine(day, time(rng.randint(7, 16), rng.choice((0, 30))), zone)
        city = rng.choice(emulator_seed.CITIES)[0]
        subject = rng.choice(emulator_seed.SUBJECTS).format(company=company, person=person, city=city)
        batch.append(
            Activity(
                owner=users[n % len(users)],
                contact_id=contact_id,
                subject=subject,
                location=city,
                notes="Suivi de la soumission, prochaine rencontre à fixer." if n % 4 == 0 else "",
                start=start,
                end=start + timedelta(hours=1),
                is_private=rng.random() < 0.1,
                needs_push=False,
            )  # fmt: skip
        )
    Activity.objects.bulk_create(batch, batch_size=2000)
