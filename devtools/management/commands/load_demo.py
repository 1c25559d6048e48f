"""Load the demo data set (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from devtools.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Create or refresh the French-Canadian demo data (users, companies, contacts, activities)."

    def handle(self, *args, **options) -> None:
        report = load_demo()
        for name, count in sorted(report.counts.items()):
            self.stdout.write(f"  {name}: {count}")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Demo password for every user: {DEMO_PASSWORD}"))
