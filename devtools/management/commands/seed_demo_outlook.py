"""Put the demo's Outlook contacts and received meetings into the Graph emulator's mailboxes (once each)."""

from __future__ import annotations

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.demo import DEMO_OUTLOOK_FOLDER, demo_outlook_contacts, demo_outlook_meetings, in_demo_outlook_folder


class Command(BaseCommand):
    help = (
        "Add demo Outlook contacts (at the demo companies' domains, some in a subfolder of Contacts) and "
        "meetings organized by them to the emulator's mailboxes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--emulator", default=f"https://127.0.0.1:{settings.GRAPH_EMULATOR_PORT}")
        parser.add_argument("--ca-file", default=settings.GRAPH_CA_FILE)

    def handle(self, *args, emulator: str, ca_file: str, **options) -> None:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (docs/graph-notes.md §0.9)
        session.verify = ca_file
        with session:
            for address, contacts in demo_outlook_contacts().items():
                base = f"{emulator}/_emulator/mailboxes/{address}"
                try:
                    session.post(f"{emulator}/_emulator/mailboxes", json={"address": address}, timeout=10)
                    self._contacts(session, base, address, contacts)
                    self._meetings(session, base, address, demo_outlook_meetings(contacts))
                except (requests.RequestException, ValueError, KeyError) as exc:
                    raise CommandError(f"The Graph emulator at {emulator} failed: {exc}") from None

    def _contacts(self, session: requests.Session, base: str, address: str, contacts: list[dict]) -> None:
        """Once per mailbox: the demo contacts are there when one of their addresses is. (Surnames
        are no marker: the emulator's own seeded contacts share the common Quebec ones.)"""
        existing = session.get(f"{base}/contacts", timeout=10).json()["value"]
        known = {email["address"].lower() for item in existing for email in item.get("emailAddresses") or []}
        if known & {email["address"].lower() for contact in contacts for email in contact["emailAddresses"]}:
            self.stdout.write(f"  {address}: demo contacts already there")
            return
        response = session.post(f"{base}/contactFolders", json={"displayName": DEMO_OUTLOOK_FOLDER}, timeout=10)
        response.raise_for_status()
        folder_id = response.json()["id"]
        for index, contact in enumerate(contacts):
            body = dict(contact, parentFolderId=folder_id) if in_demo_outlook_folder(index) else contact
            session.post(f"{base}/contacts", json=body, timeout=10).raise_for_status()
        filed = sum(map(in_demo_outlook_folder, range(len(contacts))))
        self.stdout.write(f"  {address}: {len(contacts)} demo contacts added ({filed} in « {DEMO_OUTLOOK_FOLDER} »)")

    def _meetings(self, session: requests.Session, base: str, address: str, meetings: list[dict]) -> None:
        """Each received meeting once, recognized by its subject (Prextra never changes it: a
        meeting organized by someone else is read-only there)."""
        subjects = {event.get("subject") for event in session.get(f"{base}/events", timeout=10).json()["value"]}
        added = 0
        for meeting in meetings:
            if meeting["subject"] not in subjects:
                session.post(f"{base}/meetings", json=meeting, timeout=10).raise_for_status()
                added += 1
        self.stdout.write(f"  {address}: {added} received meetings added")
