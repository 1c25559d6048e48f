"""Celery tasks: thin wrappers around plain functions of the exchange app."""

from __future__ import annotations

from celery import shared_task

from . import maintenance


@shared_task(name="exchange.tasks.record_heartbeat", time_limit=60, soft_time_limit=50)
def record_heartbeat() -> None:
    """Beat runs this on a schedule; the status screen reads it to tell that the worker is alive."""
    maintenance.record_heartbeat("beat")


@shared_task(name="exchange.tasks.purge_delivered_broker_messages", time_limit=300, soft_time_limit=290)
def purge_delivered_broker_messages() -> None:
    """The embedded broker never deletes delivered messages: delete them so its file stays small."""
    maintenance.purge_delivered_broker_messages()
