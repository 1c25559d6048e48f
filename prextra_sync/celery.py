"""The Celery application: configured from Django settings (CELERY_ namespace), tasks autodiscovered."""

from __future__ import annotations

import os
import signal

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prextra_sync.settings")

app = Celery("prextra_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def leave_sigterm_to_the_worker(**_kwargs) -> None:
    """A pool process ignores SIGTERM, as Celery already makes it ignore SIGINT: a SIGTERM sent to
    every process (systemd's default KillMode=control-group, `kill -- -PGID`) is the main process's
    to act on. It starts the warm shutdown, lets the running tasks finish, and ends its pool
    processes itself. Killed by that signal instead, the pool processes of the embedded broker's
    worker take their tasks down and could leave the worker hung at exit (docs/reliability-notes.md)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
