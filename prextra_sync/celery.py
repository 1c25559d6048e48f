"""The Celery application: configured from Django settings (CELERY_ namespace), tasks autodiscovered."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prextra_sync.settings")

app = Celery("prextra_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
