"""Declare the Celery queues on the broker before worker and beat start."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from exchange.maintenance import declare_broker_queues


class Command(BaseCommand):
    help = "Declare the Celery queues on the broker (run once before starting worker and beat)."

    def handle(self, *args, **options) -> None:
        names = declare_broker_queues()
        self.stdout.write(f"Queues declared: {', '.join(names)}")
