"""An ERP import run: the preview (nothing written), then the import, in batches of lines.

Each batch is read from the file, judged by the kind's resource (crm/erp/resources.py) and, for
the import, written in its own transaction: a bad line never stops the others, and a run killed
half-way keeps the batches it committed (importing the same file again finishes it, since the
import is idempotent by code). The run's progress is saved after each batch for the screen's
progress bar; unchanged lines are only counted, so a second import of an unchanged file writes
nothing in the CRM and no line in the run. The domains the run added are announced once, when it
ends or stops (`domains_imported`), for a single re-linking pass of the synchronized contacts.

A batch whose bulk write fails as a whole (a code created meanwhile by someone else, say) is
judged again line by line, each line in its own savepoint, so the failure lands on its line.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from itertools import islice
from typing import BinaryIO

import tablib
from django.db import transaction
from django.utils import timezone
from import_export.results import RowResult

from ..models import ErpImport, ErpImportLine
from ..signals import domains_imported
from .reading import FileRefused, count_lines, open_table
from .reasons import reason
from .resources import LINE, RunState, columns_of, resource_for

logger = logging.getLogger(__name__)

BATCH = 1000
Opener = Callable[[], BinaryIO]
ACTIONS = {
    RowResult.IMPORT_TYPE_NEW: "created",
    RowResult.IMPORT_TYPE_UPDATE: "updated",
    RowResult.IMPORT_TYPE_SKIP: "unchanged",
    RowResult.IMPORT_TYPE_INVALID: "refused",
    RowResult.IMPORT_TYPE_ERROR: "refused",
}


def stored_file(run: ErpImport) -> Opener:
    """The uploaded file kept on the run."""

    def opener() -> BinaryIO:
        if run.file_data is None:
            raise FileRefused("file_missing")
        return io.BytesIO(bytes(run.file_data))

    return opener


def preview(run: ErpImport, opener: Opener | None = None) -> ErpImport:
    """Judge every line against the database and the lines before it; write nothing but the run."""
    return _process(run, opener or stored_file(run), dry_run=True)


def apply(run: ErpImport, opener: Opener | None = None) -> ErpImport:
    """Import the file; the uploaded copy is dropped afterwards (the lines and counts stay)."""
    _process(run, opener or stored_file(run), dry_run=False)
    if run.status == ErpImport.Status.DONE and run.file_data is not None:
        run.file_data = None
        run.save(update_fields=["file_data", "updated_at"])
    return run


def _process(run: ErpImport, opener: Opener, *, dry_run: bool) -> ErpImport:
    phase = (ErpImportLine.Phase.PREVIEW if dry_run else ErpImportLine.Phase.IMPORT).value
    run.status = ErpImport.Status.PREVIEWING if dry_run else ErpImport.Status.IMPORTING
    run.error, run.error_params, run.lines_done, run.finished_at = "", {}, 0, None
    run.counts = {**run.counts, phase: dict.fromkeys(("created", "updated", "unchanged", "refused"), 0)}
    run.save()
    ErpImportLine.objects.filter(run=run, phase=phase).delete()
    aliases, required = columns_of(run.kind)
    try:
        # Each opening is closed once read, also when the file is refused (the command's files
        # are real files: a handle left to the garbage collector is a leak).
        with opener() as stream:
            run.lines_total = count_lines(stream, run.file_name, aliases, required)
        run.save(update_fields=["lines_total", "updated_at"])
        with opener() as stream:
            table = open_table(stream, run.file_name, aliases, required)
            run.ignored_columns = table.ignored
            state = RunState()
            resource = resource_for(run.kind, state)
            try:
                for batch in _batches(table.lines):
                    lines = _import_batch(run, resource, state, table.columns, batch, dry_run=dry_run)
                    _record(run, phase, lines, len(batch))
            finally:
                _announce_domains(state)
    except FileRefused as refused:
        return _failed(run, refused.code, refused.params)
    except csv.Error as error:
        return _failed(run, "unreadable_csv", {"line": getattr(error, "line", ""), "error": str(error)[:200]})
    except Exception as error:
        logger.exception("ERP import %s stopped", run.pk)
        return _failed(run, "interrupted", {"error": type(error).__name__})
    run.status = ErpImport.Status.PREVIEWED if dry_run else ErpImport.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "ignored_columns", "updated_at"])
    return run


def _batches(lines: Iterator) -> Iterator[list]:
    while batch := list(islice(lines, BATCH)):
        yield batch


def _import_batch(run, resource, state: RunState, columns: list[str], batch: list, *, dry_run: bool) -> list[dict]:
    """The batch's lines as {line, action, code, label, changes, reasons}."""
    dataset = tablib.Dataset(headers=[*columns, LINE])
    for number, values in batch:
        dataset.append([*(values[column] for column in columns), number])
    state.batch.clear()
    written = len(state.added_domains)
    result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True)
    if result.has_errors() and not dry_run:
        # The bulk write failed for the batch as a whole: judge it again line by line.
        logger.warning("ERP import %s: batch at line %s written line by line", run.pk, batch[0][0])
        state.forget_batch()
        del state.added_domains[written:]  # rolled back with the batch
        single = resource_for(run.kind, state).line_by_line()
        result = single.import_data(dataset, dry_run=False, use_transactions=False)
    return [_line(row_result) for row_result in result.rows]


def _announce_domains(state: RunState) -> None:
    """The domains the run wrote, announced once at its end (or where it stopped), for one
    re-linking pass: each pass loads every domain, so a pass per batch made a first import of
    50,000 customers quadratic (docs/benchmarks.md, scenario 10)."""
    if state.added_domains:
        domains, state.added_domains = list(state.added_domains), []
        domains_imported.send(sender=ErpImport, domains=domains)


def _line(row_result: RowResult) -> dict:
    values = row_result.row_values or {}
    line = {
        "line": values.get(LINE) or 0,
        "action": ACTIONS.get(row_result.import_type, "refused"),
        "code": _clean(values.get("code")),
        "label": _clean(values.get("nom") if "prenom" not in values else f"{values['prenom']} {values.get('nom', '')}"),
        "changes": [],
        "reasons": [],
    }
    if row_result.validation_error is not None:
        line["reasons"] = _reasons(row_result.validation_error)
    elif row_result.errors:
        line["reasons"] = [reason("", "write_failed", error=type(row_result.errors[0].error).__name__)]
    elif row_result.import_type == RowResult.IMPORT_TYPE_UPDATE and row_result.instance is not None:
        line["changes"] = getattr(row_result.instance, "_erp_changes", [])
    return line


def _reasons(error) -> list[dict]:
    found = []
    for field, problems in error.error_dict.items():
        for problem in problems:
            params = problem.params if isinstance(problem.params, dict) else {}
            found.append({"field": field, "code": problem.code or "invalid", "params": params})
    return found


def _clean(text) -> str:
    """A code or name as stored on the run: printable, cut to the column."""
    text = "".join(char for char in str(text or "") if char.isprintable())
    return text[:100]


def _record(run: ErpImport, phase: str, lines: list[dict], read: int) -> None:
    counts = run.counts[phase]
    rows = []
    for line in lines:
        counts[line["action"]] += 1
        if line["action"] != "unchanged":
            rows.append(ErpImportLine(run=run, phase=phase, **{**line, "label": line["label"][:255]}))
    with transaction.atomic():
        ErpImportLine.objects.bulk_create(rows, batch_size=500)
        run.lines_done += read
        run.save(update_fields=["lines_done", "counts", "updated_at"])


def _failed(run: ErpImport, code: str, params: dict) -> ErpImport:
    run.status, run.error, run.error_params = ErpImport.Status.FAILED, code, params
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "error_params", "finished_at", "updated_at"])
    return run


def run_file(kind: str, path, *, dry_run: bool = False) -> ErpImport:
    """The nightly import of a file where it lies (the management command): one run, no copy."""
    from pathlib import Path

    path = Path(path)
    run = ErpImport.objects.create(
        kind=kind, file_name=path.name[:255], file_size=path.stat().st_size, source=ErpImport.Source.COMMAND
    )
    opener = lambda: path.open("rb")  # noqa: E731
    return preview(run, opener) if dry_run else apply(run, opener)
