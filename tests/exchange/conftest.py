"""A running Graph emulator and a Microsoft 365 connection to it, reached over real HTTPS."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import ExchangeProfile
from exchange.graph.client import GraphClient, GraphSettings, forget_apps
from exchange.models import GraphConnection
from graph_emulator import GraphEmulator


@pytest.fixture(scope="session")
def graph_emulator():
    with GraphEmulator() as emulator:
        yield emulator
    forget_apps()


@pytest.fixture
def connection(db, graph_emulator):
    """The organization's connection (R1), pointing at the emulator and trusting its CA."""
    connection = GraphConnection(
        tenant_id="prextra-demo",
        client_id="prextra-sync-demo",
        authority_host=graph_emulator.base_url,
        graph_url=graph_emulator.graph_url,
        ca_file=str(graph_emulator.ca_file),
    )
    connection.set_secret("demo-secret")
    connection.save()
    return connection


@pytest.fixture
def graph_client(connection):
    """The product's client, with sleeps recorded instead of waited."""
    client = GraphClient(GraphSettings.from_connection(connection), sleep=lambda seconds: client.slept.append(seconds))
    client.slept = []
    return client


@pytest.fixture
def mailbox_user(django_user_model, graph_emulator):
    """A CRM user with a fresh mailbox on the emulator and every Exchange switch on. Its UPN is not
    its email (store.Mailbox): every Graph URL of the product must use the resolved object id."""
    address = f"u{uuid.uuid4().hex[:10]}@prextra-demo.ca"
    graph_emulator.add_mailbox(address)
    user = django_user_model.objects.create_user(
        f"U{uuid.uuid4().hex[:8]}".upper(), "x", name="Marie Tremblay", email=address
    )
    ExchangeProfile.objects.create(user=user, sync_contacts_in=True, sync_activities_in=True, sync_activities_out=True)
    return user


class Outlook:
    """The user's side of the mailbox: what a person does in Outlook, applied to the emulator."""

    def __init__(self, emulator: GraphEmulator, address: str):
        self.emulator, self.address = emulator, address

    @property
    def mailbox(self):
        return self.emulator.mailbox(self.address)

    def add_contact(self, first="Luc", last="Roy", email="luc.roy@finloc.com", folder=None, **fields) -> str:
        payload = {"givenName": first, "surname": last, "displayName": f"{first} {last}".strip(), **fields}
        if email is not None:
            payload["emailAddresses"] = [{"address": email, "name": f"{first} {last}"}]
        return self.emulator.store.create_contact(self.mailbox, payload, folder)["graph"]["id"]

    def add_folder(self, name: str, parent: str | None = None) -> str:
        """A contact folder: under `parent` (default: the Contacts folder; "root": beside Contacts)."""
        parent = self.mailbox.root_folder_id if parent == "root" else parent
        return self.emulator.store.create_folder(self.mailbox, name, parent)["id"]

    def move_contact(self, contact_id: str, folder_id: str) -> None:
        self.emulator.store.move_contact(self.mailbox, contact_id, folder_id)

    def delete_folder(self, folder_id: str) -> None:
        self.emulator.store.delete_folder(self.mailbox, folder_id)

    def move_folder(self, folder_id: str, parent: str) -> None:
        """Move a folder: under `parent`, "root", or "deleteditems" (what Outlook's delete does)."""
        parent = self.mailbox.root_folder_id if parent == "root" else parent
        self.emulator.store.move_folder(self.mailbox, folder_id, parent)

    def edit_contact(self, contact_id: str, **patch) -> None:
        self.emulator.store.update_contact(self.mailbox, contact_id, patch)

    def delete_contact(self, contact_id: str) -> None:
        self.emulator.store.delete_contact(self.mailbox, contact_id)

    def add_event(self, subject="Rencontre", start="2026-12-02T15:00:00", end="2026-12-02T16:00:00", **fields) -> str:
        """An event as Outlook creates it; times in UTC unless a dateTimeTimeZone is given."""
        payload = {"subject": subject, **fields}
        payload["start"] = start if isinstance(start, dict) else {"dateTime": start, "timeZone": "UTC"}
        payload["end"] = end if isinstance(end, dict) else {"dateTime": end, "timeZone": "UTC"}
        record, _notes = self.emulator.store.create_event(self.mailbox, payload)
        return record["id"]

    def receive_meeting(
        self,
        subject="Réunion de Julie",
        start="2026-12-02T15:00:00",
        end="2026-12-02T16:00:00",
        organizer=("Julie Fortin", "julie.fortin@finloc.com"),
        response="notResponded",
        **fields,
    ) -> str:
        """A meeting someone else organized, as it lands in this calendar (isOrganizer false).
        Without `attendees`, the invitation lists the mailbox alone (a one-to-one invitation)."""
        payload = {"subject": subject, **fields}
        payload["start"] = start if isinstance(start, dict) else {"dateTime": start, "timeZone": "UTC"}
        payload["end"] = end if isinstance(end, dict) else {"dateTime": end, "timeZone": "UTC"}
        sender = {"name": organizer[0], "address": organizer[1]}
        return self.emulator.store.receive_meeting(self.mailbox, payload, sender, response)["id"]

    def edit_event(self, event_id: str, **fields) -> None:
        self.emulator.store.update_event(self.mailbox, event_id, fields)

    def delete_event(self, event_id: str) -> None:
        """As in Outlook: the event goes to Deleted Items (its id still answers a GET)."""
        self.emulator.store.delete_event(self.mailbox, event_id)

    def purge_event(self, event_id: str) -> None:
        """permanentDelete: the event leaves the mailbox (a GET is then 404)."""
        self.emulator.store.purge_event(self.mailbox, event_id)

    def events(self, client) -> list[dict]:
        """The single events of the calendar, as Graph lists them (times in UTC)."""
        body = client.request(
            "GET",
            f"/users/{self.mailbox.id}/events",
            params={"$top": "500"},
            headers={"Prefer": 'outlook.timezone="UTC"'},
        )
        return body["value"]

    def invitations(self, since: int = 0) -> list:
        return [
            note
            for entry in self.emulator.requests_log(since)
            for note in (entry.get("invitations") or []) + (entry.get("cancellations") or [])
        ]

    def graph_writes(self, since: int = 0) -> list[dict]:
        return [entry for entry in self.emulator.requests_log(since) if entry.get("method") not in {"GET", None}]

    def event_writes(self, since: int = 0) -> list[dict]:
        """The writes to single events (a $batch's inner requests included), with their JSON body."""
        return [entry for entry in self.graph_writes(since) if "/events" in entry["path"]]


@pytest.fixture
def outlook(graph_emulator, mailbox_user):
    return Outlook(graph_emulator, mailbox_user.email)
