"""Put the demo's Outlook contacts into the Graph emulator's mailboxes (once per mailbox)."""

from __future__ import annotations

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.demo import demo_outlook_contacts


class Command(BaseCommand):
    help = "Add demo Outlook contacts (at the demo companies' domains) to the emulator's empty mailboxes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--emulator", default=f"https://127.0.0.1:{settings.GRAPH_EMULATOR_PORT}")
        parser.add_argument("--ca-file", default=settings.GRAPH_CA_FILE)

    def handle(self, *args, emulator: str, ca_file: str, **options) -> None:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (graph-notes §0.9)
        session.verify = ca_file
        with session:
            for address, contacts in demo_outlook_contacts().items():
                base = f"{emulator}/_emulator/mailboxes/{address}"
                try:
                    session.post(f"{emulator}/_emulator/mailboxes", json={"address": address}, timeout=10)
                    existing = session.get(f"{base}/contacts", timeout=10).json()
                except (requests.RequestException, ValueError) as exc:
                    raise CommandError(f"The Graph emulator at {emulator} cannot be reached: {exc}") from None
                marker = {contact["surname"] for contact in contacts} & {
                    item.get("surname")
                    for item in existing.get("value", existing if isinstance(existing, list) else [])
                }
                if marker:
                    self.stdout.write(f"  {address}: demo contacts already there")
                    continue
                for contact in contacts:
                    session.post(f"{base}/contacts", json=contact, timeout=10).raise_for_status()
                self.stdout.write(f"  {address}: {len(contacts)} demo contacts added")
