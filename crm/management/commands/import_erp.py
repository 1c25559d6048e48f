"""Import customers, prospects, suppliers or contacts from an ERP file, e.g. every night from cron:

    python manage.py import_erp customer /srv/erp/clients.csv
    python manage.py import_erp contact /srv/erp/contacts.xlsx --preview

The file is read where it lies (no copy, any size). Each run is kept and shown on the screen
Administration › Import du progiciel like the ones uploaded there. The command prints the counts
and each refused line with its reason; it exits with 1 when the file itself could not be read,
with 2 when lines were refused (so cron can mail someone), with 0 otherwise.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.erp import runs
from crm.erp.reasons import describe
from crm.models import ErpImport


class Command(BaseCommand):
    help = "Import an ERP file of customers, prospects, suppliers or contacts (CSV or XLSX)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=ErpImport.Kind.values)
        parser.add_argument("file", type=Path)
        parser.add_argument("--preview", action="store_true", help="judge every line and write nothing")

    def handle(self, *args, kind: str, file: Path, preview: bool = False, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        run = runs.run_file(kind, file, dry_run=preview)
        phase = "preview" if preview else "import"
        if run.status == ErpImport.Status.FAILED:
            raise CommandError(f"{file}: {describe(run.error, run.error_params)}")
        counts = run.counts[phase]
        self.stdout.write(
            f"{file.name} ({run.get_kind_display()}, run {run.pk}): {counts['created']} created, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged, {counts['refused']} refused"
            + (" — preview, nothing written" if preview else "")
        )
        for line in run.lines.filter(phase=phase, action="refused").iterator():
            reasons = " ".join(
                describe(item["code"], item.get("params"), item.get("field", "")) for item in line.reasons
            )
            self.stderr.write(f"line {line.line} ({line.code}): {reasons}")
        if counts["refused"]:
            raise SystemExit(2)
