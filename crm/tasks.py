"""Celery tasks of the CRM: the ERP import's preview and import, as thin wrappers around
crm/erp/runs.py (a large file runs in the worker while the screen shows its progress)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .erp import runs
from .models import ErpImport

LIMITS = {"time_limit": settings.CELERY_TASK_TIME_LIMIT, "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT}


@shared_task(name="crm.tasks.preview_erp_import", **LIMITS)
def preview_erp_import(run_id: int) -> None:
    run = ErpImport.objects.filter(pk=run_id).first()
    if run is not None:
        runs.preview(run)


@shared_task(name="crm.tasks.apply_erp_import", **LIMITS)
def apply_erp_import(run_id: int) -> None:
    run = ErpImport.objects.filter(pk=run_id).first()
    if run is not None:
        runs.apply(run)
