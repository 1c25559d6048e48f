"""Benchmark the synchronization on its own data: a table of figures beside their targets.

    python manage.py bench [--quick] [--json FILE] [--only NAME,...]

Everything runs in a throwaway database and on an in-process Graph emulator (devtools.bench.world):
the configured database is never written. See docs/benchmarks.md.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools.bench import cycle, erp, hour, imports, latency, load, notified, pages
from devtools.bench.report import Report, machine
from devtools.bench.world import world

# name: (function, full size, quick size); a quick size of None skips the scenario with --quick.
SCENARIOS = {
    "contacts": (imports.contact_import, 10_000, 500),
    "activities": (imports.activity_import, 10_000, 500),
    "idle": (cycle.idle_cycle, 500, 20),
    "scaleout": (cycle.scale_out, 500, 20),
    "idlehour": (hour.idle_hour, 1_000, 10),
    "latency": (latency.change_latency, 20, None),
    "notify": (notified.notification_latency, 20, 2),
    "push": (cycle.push, 1_000, 100),
    "pages": (pages.pages, 100_000, 2_000),
    "memory": (imports.import_memory, [10_000, 50_000], [500]),
    "load": (load.load, 50_000, 2_000),
    "erp": (erp.erp_import, 50_000, 5_000),
}


class Command(BaseCommand):
    help = "Benchmark the synchronization in a throwaway database against an in-process Graph emulator."
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--quick", action="store_true", help="small sizes (CI): well under two minutes")
        parser.add_argument("--json", dest="json_file", help="also write the figures to this JSON file")
        parser.add_argument("--only", help=f"comma-separated scenarios among: {', '.join(SCENARIOS)}")

    def handle(self, *args, quick=False, json_file=None, only=None, **options) -> None:
        names = self._selected(only)
        report = Report(context={**machine(), "database": connection.vendor, "quick": quick})
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="prextra-bench-") as work_dir, world(Path(work_dir), quick) as env:
            for name in names:
                function, size, quick_size = SCENARIOS[name]
                if quick and quick_size is None:
                    continue
                self.stderr.write(f"==> {name}")
                figures = function(env, quick_size if quick else size)
                report.add(figures)
                for figure in figures:
                    self.stderr.write(f"    {figure.name}: {figure.value} {figure.unit} {figure.mark()}")
        report.context["seconds"] = round(time.perf_counter() - started, 1)
        self.stdout.write(report.table())
        self.stdout.write(f"\n{len(report.failures())} figure(s) miss their target; {report.context['seconds']} s.")
        if json_file:
            report.write_json(json_file)

    def _selected(self, only: str | None) -> list[str]:
        if not only:
            return list(SCENARIOS)
        names = [name.strip() for name in only.split(",") if name.strip()]
        unknown = [name for name in names if name not in SCENARIOS]
        if unknown:
            raise CommandError(f"Unknown scenario(s): {', '.join(unknown)}; choose among {', '.join(SCENARIOS)}")
        return names
