"""Administration › Import du progiciel: an administrator uploads an ERP file, reads the preview
(what will be created, updated and refused, line by line with the reason), then confirms.

A small file is previewed during the upload; a larger one, and every import, runs in the
worker (crm/tasks.py) while the run's page shows a progress bar, polled with htmx. Every run
stays viewable afterwards with its counts and lines. Only administrators import (403 for others).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRefresh

from prextra_sync.decorators import admin_required
from prextra_sync.lists import configure_table, render_list

from .erp import runs
from .erp.reasons import describe
from .import_forms import ErpImportForm, ErpImportLineFilterForm
from .models import ErpImport, ErpImportLine
from .tables import ErpImportLineTable, ErpImportTable
from .tasks import apply_erp_import, preview_erp_import

RUNNING = (ErpImport.Status.QUEUED, ErpImport.Status.PREVIEWING, ErpImport.Status.IMPORTING)
# A run whose progress has not moved for this long lost its worker: it may be started again
# (batches already imported stay; the import is idempotent by code).
STALLED_AFTER = timedelta(minutes=10)


def is_stalled(run: ErpImport) -> bool:
    return run.status in RUNNING and run.updated_at < timezone.now() - STALLED_AFTER


def _runs():
    """Runs without their file's bytes (up to 50 MB), but knowing whether they still have it."""
    has_file = ExpressionWrapper(Q(file_data__isnull=False), output_field=BooleanField())
    return ErpImport.objects.defer("file_data").annotate(has_file=has_file)


def can_start(run: ErpImport) -> bool:
    """Whether the import may be started: after its preview, or again after it stopped half-way
    (a file refused by its preview would be refused again)."""
    if not run.has_file:
        return False
    if run.status == ErpImport.Status.PREVIEWED:
        return True
    stopped_importing = run.status == ErpImport.Status.FAILED and "import" in run.counts
    return stopped_importing or (is_stalled(run) and "preview" in run.counts)


@vary_on_headers("HX-Request")
@admin_required
def erp_imports(request: HttpRequest) -> HttpResponse:
    """The upload form and the history of imports."""
    form = ErpImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        run = ErpImport.objects.create(
            kind=form.cleaned_data["kind"],
            file_name=upload.name[:255],
            file_data=upload.read(),
            file_size=upload.size,
            uploaded_by=request.user,
        )
        if upload.size <= settings.PREXTRA_IMPORT_INLINE_BYTES:
            runs.preview(run)
        else:
            transaction.on_commit(lambda: preview_erp_import.delay(run.pk))
        return redirect("erp_import_detail", pk=run.pk)
    table = configure_table(request, ErpImportTable(ErpImport.objects.select_related("uploaded_by").defer("file_data")))
    status = 400 if form.errors else 200
    return render_list(request, "crm/erp_imports.html", {"form": form, "table": table}, status=status)


def _phase(run: ErpImport) -> str:
    """The lines a run shows: the import's once it started, else the preview's."""
    if run.status in (ErpImport.Status.IMPORTING, ErpImport.Status.DONE) or "import" in run.counts:
        return ErpImportLine.Phase.IMPORT
    return ErpImportLine.Phase.PREVIEW


@vary_on_headers("HX-Request")
@admin_required
def erp_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A run: its progress while it runs, then its counts and its lines (refused first)."""
    run = get_object_or_404(_runs().select_related("uploaded_by"), pk=pk)
    running = run.status in RUNNING and not is_stalled(run)
    if request.htmx and request.GET.get("progress"):
        if running:
            return render(request, "crm/erp_import_detail.html#progress", {"run": run, "running": True})
        return HttpResponseClientRefresh()  # finished: the whole page shows the results
    phase = _phase(run)
    counts = run.counts.get(phase, {})
    filters = ErpImportLineFilterForm(request.GET)
    filters.is_valid()
    action = filters.cleaned_data.get("action") or ("refused" if counts.get("refused") else "")
    lines = run.lines.filter(phase=phase)
    if action:
        lines = lines.filter(action=action)
    table = configure_table(request, ErpImportLineTable(lines.order_by("line")))
    context = {
        "run": run,
        "running": running,
        "stalled": is_stalled(run),
        "phase": phase,
        "counts": counts,
        "action": action,
        "filters": filters,
        "table": table,
        "error": describe(run.error, run.error_params) if run.error else "",
        "can_confirm": can_start(run),
    }
    return render_list(request, "crm/erp_import_detail.html", context)


@require_POST
@admin_required
def erp_import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the import of a previewed file (or again, one that stopped), in the worker."""
    with transaction.atomic():
        run = get_object_or_404(_runs().select_for_update(), pk=pk)
        if not can_start(run):
            messages.error(request, _("Cet import ne peut pas être lancé : il est déjà en cours ou terminé."))
            return redirect("erp_import_detail", pk=run.pk)
        run.status = ErpImport.Status.QUEUED
        run.save(update_fields=["status", "updated_at"])
        transaction.on_commit(lambda: apply_erp_import.delay(run.pk))
    messages.success(request, _("Import lancé : la page montre son avancement."))
    return redirect("erp_import_detail", pk=run.pk)
