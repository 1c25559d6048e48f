"""Celery tasks of the CRM: the ERP import's preview and import, as thin wrappers around
crm/erp/runs.py (a large file runs in the worker while the screen shows its progress)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .erp import runs
from .models import ErpImport

LIMITS = {"time_limit": settings.CELERY_TASK_TIME_LIMIT, "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT}


def _queued(run_id: int, status: str) -> ErpImport | None:
    """The run if it waits for the worker: a task delivered twice (a broker's redelivery after
    a lost acknowledgement) finds it started and does nothing."""
    with transaction.atomic():
        run = ErpImport.objects.select_for_update().filter(pk=run_id, status=ErpImport.Status.QUEUED).first()
        if run is not None:
            run.status = status
            ErpImport.objects.filter(pk=run.pk).update(status=status, updated_at=timezone.now())
    return run


@shared_task(name="crm.tasks.preview_erp_import", **LIMITS)
def preview_erp_import(run_id: int) -> None:
    run = _queued(run_id, ErpImport.Status.PREVIEWING)
    if run is not None:
        runs.preview(run)


@shared_task(name="crm.tasks.apply_erp_import", **LIMITS)
def apply_erp_import(run_id: int) -> None:
    run = _queued(run_id, ErpImport.Status.IMPORTING)
    if run is not None:
        runs.apply(run)
