"""Scenario 10: the ERP import of customers with their domains, then of their contacts, from CSV.

Each file is imported twice through the product's `run_file` (the nightly command's path): the
first import creates every line, the second finds the same file unchanged and must write nothing
in the CRM. Its statements are counted with a `connection.execute_wrapper`: every INSERT, UPDATE
or DELETE on any table but the run's own (crm_erpimport, crm_erpimportline), which the run keeps
for its screen whatever the file holds. A preview (dry run, nothing written) of each file is
timed before its first import, when every line is new.

Peak memory is the Python heap's peak (tracemalloc) while importing a fresh contact file of N
lines, then of 2N, above what was allocated before each import. Not the process's RSS: this
process already holds the emulator, its seeded mailboxes and the other scenarios' leftovers, and
ru_maxrss only ever grows, so a flat import would hide behind them; a child process's RSS (as
scenario 7 measures it) is dominated by Django's 80 MB of set-up, so its ratio is near 1 whatever
the import keeps. The heap peak is what the import itself holds at its fullest: the batch being
judged (1,000 lines) and the run's memory of the lines before it (codes, addresses, domains, for
the refusals « déjà à la ligne N »). tracemalloc slows Python down, so its imports are not timed.
"""

from __future__ import annotations

import csv
import gc
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from crm.erp.runs import run_file
from crm.models import Contact, Customer, EmailDomain

from .report import Figure
from .world import Stopwatch, World, WriteCounter

SCENARIO = "10 ERP import"
RUN_TABLES = ("crm_erpimport", "crm_erpimportline")  # the run's own row and lines, not CRM records
# The batch being judged is constant; what grows is the run's memory of earlier lines (about
# 220 bytes a line: code, address, domains with their line number), which is what lets a
# duplicate be refused « déjà à la ligne N » across batches. The target bounds that growth.
GROWTH_TARGET_MB = 3.0
CITIES = [
    ("Montréal", "QC"),
    ("Québec", "QC"),
    ("Trois-Rivières", "QC"),
    ("Sherbrooke", "QC"),
    ("Lévis", "QC"),
    ("Ottawa", "ON"),
    ("Moncton", "NB"),
]
FIRST_NAMES = ["Émilie", "Jean", "François", "Marie-Ève", "Luc", "Geneviève", "André", "Chloé", "Hélène", "Marc"]
LAST_NAMES = ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagné"]
CUSTOMER_HEADER = ["code", "nom", "domaines", "representant", "telephone", "ville", "province", "pays", "actif"]
CONTACT_HEADER = ["code", "prenom", "nom", "courriel", "telephone", "proprietaire", "ville"]


def erp_import(world: World, customers: int) -> list[Figure]:
    """`customers` customers with one or two domains each, then twice as many contacts on those
    domains: each file previewed, imported, imported again unchanged; then the memory of a fresh
    contact file of N and 2N lines."""
    folder = world.work_dir / "erp"
    folder.mkdir(exist_ok=True)
    users = world.make_users(5, contacts_in=False, activities_in=False, activities_out=False)
    world.retire(users)  # representatives by code only: never due for a sync
    reps = [user.code for user in users] + [""]
    customer_file = write_customers(folder / "clients.csv", customers, reps)
    contact_file = write_contacts(folder / "contacts.csv", 2 * customers, customers, prefix="K")
    figures = [Figure(SCENARIO, "lines", f"{customers:,} customers, {2 * customers:,} contacts")]
    figures += _file_figures("customers", "customer", customer_file, customers)
    figures += _file_figures("contacts", "contact", contact_file, 2 * customers)
    figures += _memory_figures(folder, customers)
    return figures


def write_customers(path: Path, count: int, reps: list[str]) -> Path:
    """Customers ERPC000000…, one domain each and a second on every third, some representatives."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CUSTOMER_HEADER)
        for n in range(count):
            city, province = CITIES[n % len(CITIES)]
            domains = " ".join(customer_domains(n))
            active = "non" if n % 50 == 49 else "oui"
            phone = f"819-555-{n % 10_000:04d}"
            name = f"Entreprise {LAST_NAMES[n % 10]} {n} inc."
            writer.writerow([customer_code(n), name, domains, reps[n % len(reps)], phone, city, province, "CA", active])
    return path


def write_contacts(path: Path, count: int, customers: int, *, prefix: str) -> Path:
    """Contacts `prefix`0000000…, two per customer in turn, their addresses on its first domain."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CONTACT_HEADER)
        for n in range(count):
            owner = n % customers
            first, last = FIRST_NAMES[n % 10], LAST_NAMES[(n // 10) % 10]
            email = f"{prefix.lower()}{n}.{ascii_name(last)}@{customer_domains(owner)[0]}"
            city, phone = CITIES[owner % len(CITIES)][0], f"514-555-{n % 10_000:04d}"
            writer.writerow([f"{prefix}{n:07d}", first, last, email, phone, customer_code(owner), city])
    return path


def customer_code(n: int) -> str:
    return f"ERPC{n:06d}"


def customer_domains(n: int) -> list[str]:
    main = f"client{n}.erp-bench.ca"
    return [main, f"client{n}-groupe.erp-bench.com"] if n % 3 == 0 else [main]


def ascii_name(name: str) -> str:
    return name.lower().replace("ô", "o").replace("é", "e")


def _file_figures(label: str, kind: str, path: Path, lines: int) -> list[Figure]:
    with Stopwatch() as preview_watch:
        preview = run_file(kind, path, dry_run=True)
    with Stopwatch() as first_watch:
        first = run_file(kind, path)
    counter = WriteCounter()
    with connection.execute_wrapper(counter), Stopwatch() as second_watch:
        second = run_file(kind, path)
    crm_writes = {name: count for name, count in counter.by_table.items() if name.split()[1] not in RUN_TABLES}
    run_writes = counter.writes - sum(crm_writes.values())
    first_counts, second_counts = first.counts["import"], second.counts["import"]
    rate_first, rate_second = lines / first_watch.seconds, lines / second_watch.seconds
    return [
        Figure(
            SCENARIO,
            f"{label}: preview",
            lines / preview_watch.seconds,
            "items/s",
            note=f"{preview_watch.seconds:.1f} s; {_counts(preview.counts['preview'])}; {preview.status}",
        ),
        Figure(
            SCENARIO,
            f"{label}: first import",
            rate_first,
            "items/s",
            note=f"{first_watch.seconds:.1f} s; {_counts(first_counts)}; {first.status}; {_stored(kind)}",
        ),
        Figure(
            SCENARIO,
            f"{label}: first import, lines created",
            first_counts["created"],
            "lines",
            f"= {lines:,}",
            first_counts["created"] == lines,
        ),
        Figure(
            SCENARIO,
            f"{label}: second import, unchanged",
            rate_second,
            "items/s",
            note=f"{second_watch.seconds:.1f} s; {_counts(second_counts)}; {second.status}",
        ),
        Figure(
            SCENARIO,
            f"{label}: second import, lines unchanged",
            second_counts["unchanged"],
            "lines",
            f"= {lines:,}",
            second_counts["unchanged"] == lines,
        ),
        Figure(
            SCENARIO,
            f"{label}: second import, CRM writes",
            sum(crm_writes.values()),
            "statements",
            "0 writes",
            not crm_writes,
            note=(
                ", ".join(f"{name} ×{count}" for name, count in crm_writes.items())
                or f"the run's own row and lines only ({run_writes} statements on {', '.join(RUN_TABLES)})"
            ),
        ),
        Figure(SCENARIO, f"{label}: second ÷ first import time", second_watch.seconds / first_watch.seconds, "×"),
        Figure(SCENARIO, f"{label}: preview ÷ first import time", preview_watch.seconds / first_watch.seconds, "×"),
    ]


def _memory_figures(folder: Path, customers: int) -> list[Figure]:
    """Heap peak of importing fresh contact files of N then 2N lines (N = 2 × customers ÷ 5: two
    batches of 1,000 lines at the least, so the ratio compares runs of several batches)."""
    small = max(2_000, 2 * customers // 5)
    peaks = []
    for index, lines in enumerate((small, 2 * small)):
        path = write_contacts(folder / f"memory-{lines}.csv", lines, customers, prefix=f"M{index}")
        with heap_peak() as peak:
            run = run_file("contact", path)
        created = run.counts["import"]["created"]
        peaks.append(
            Figure(
                SCENARIO,
                f"heap peak, {lines:,} new contacts",
                round(peak.bytes / 2**20, 2),
                "MB",
                note=f"tracemalloc, above the heap before the import; {created:,} created, {run.status}",
            )
        )
    ratio = peaks[1].value / peaks[0].value if peaks[0].value else float("inf")
    growth = (peaks[1].value - peaks[0].value) / (small / 10_000)
    return peaks + [
        Figure(
            SCENARIO,
            "heap growth per 10,000 lines",
            round(growth, 2),
            "MB",
            f"≤ {GROWTH_TARGET_MB} MB",
            growth <= GROWTH_TARGET_MB,
            note="the run's memory of each line's code and address (RunState), for « déjà à la ligne N »",
        ),
        Figure(
            SCENARIO,
            f"heap peak {2 * small:,} ÷ {small:,} lines",
            ratio,
            "×",
            note="not flat: the memory of earlier lines grows with the file, the batch does not",
        ),
    ]


class _Peak:
    bytes = 0


@contextmanager
def heap_peak():
    """`with heap_peak() as peak: ...` then peak.bytes: tracemalloc's peak above the heap at the start."""
    gc.collect()
    tracemalloc.start()
    peak = _Peak()
    try:
        start, _ = tracemalloc.get_traced_memory()
        yield peak
        _, highest = tracemalloc.get_traced_memory()
        peak.bytes = highest - start
    finally:
        tracemalloc.stop()


def _counts(counts: dict) -> str:
    return ", ".join(f"{count:,} {action}" for action, count in counts.items())


def _stored(kind: str) -> str:
    if kind == "contact":
        return f"{Contact.objects.filter(erp_code__startswith='K').count():,} contacts stored"
    stored = Customer.objects.filter(code__startswith="ERPC")
    domains = EmailDomain.objects.filter(customer__in=stored)
    return f"{stored.count():,} customers, {domains.count():,} domains stored"
