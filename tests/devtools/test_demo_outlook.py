"""The demo's Outlook side (bin/run): what seed_demo_outlook puts in the emulator, and what the sync makes of it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from crm.models import EXCHANGE_GROUP_CODE, Activity, Contact, OutlookContact
from devtools.demo import DEMO_OUTLOOK_FOLDER, demo_outlook_contacts
from exchange.graph.client import GraphClient, GraphSettings
from exchange.models import GraphConnection
from exchange.sync.activities import sync_activities
from exchange.sync.contacts import sync_contacts
from graph_emulator import GraphEmulator

pytestmark = pytest.mark.django_db
# What bin/run gives the emulator's app: the permissions the product documents, no more.
DEMO_ROLES = ["User.Read.All", "Contacts.Read", "Calendars.ReadWrite"]


@pytest.fixture
def demo_emulator():
    """The emulator as bin/run starts it: the demo mailboxes, each seeded with 40 contacts and 60 events."""
    call_command("load_demo", stdout=StringIO())
    addresses = [f"{user.code.lower()}@prextra-demo.ca" for user in User.objects.order_by("pk")]
    with GraphEmulator(mailboxes=addresses) as emulator:
        emulator.set_roles(DEMO_ROLES)
        for address in addresses:
            emulator.seed(address, 40, 60, seed=1)
        GraphConnection.objects.update(
            authority_host=emulator.base_url, graph_url=emulator.graph_url, ca_file=str(emulator.ca_file)
        )
        yield emulator


def _seed_demo_outlook(emulator: GraphEmulator) -> str:
    out = StringIO()
    call_command("seed_demo_outlook", emulator=emulator.base_url, ca_file=str(emulator.ca_file), stdout=out)
    return out.getvalue()


def _emails(mailbox) -> list[str]:
    return [email["address"] for record in mailbox.contacts.values() for email in record["graph"]["emailAddresses"]]


def test_every_demo_mailbox_gets_its_contacts_a_subfolder_and_received_meetings_once(demo_emulator):
    """The emulator's seeded contacts share surnames with the demo's: that must not pass for "already there"."""
    _seed_demo_outlook(demo_emulator)
    again = _seed_demo_outlook(demo_emulator)
    for address, contacts in demo_outlook_contacts().items():
        mailbox = demo_emulator.mailbox(address)
        emails = _emails(mailbox)
        assert all(emails.count(email["address"]) == 1 for contact in contacts for email in contact["emailAddresses"])
        (folder,) = [f for f in mailbox.folders.values() if f["displayName"] == DEMO_OUTLOOK_FOLDER]
        assert folder["parentFolderId"] == mailbox.default_folder_id
        assert sum(record["folder"] == folder["id"] for record in mailbox.contacts.values()) == 6
        received = [record for record in mailbox.events.values() if record.get("received")]
        assert len(received) == 2
    assert "24 demo contacts added" not in again and "0 received meetings added" in again


def test_the_demo_sync_brings_the_subfolder_contacts_and_shows_received_meetings_read_only(demo_emulator):
    _seed_demo_outlook(demo_emulator)
    user = User.objects.get(code="MTREMBLAY")
    client = GraphClient(GraphSettings.from_connection(GraphConnection.objects.get()))
    assert sync_contacts(user, client=client).error == ""
    assert [run.error for run in sync_activities(user, client=client)] == ["", ""]  # pull, then push
    mailbox = demo_emulator.mailbox(user.email)
    (folder_id,) = [f["id"] for f in mailbox.folders.values() if f["displayName"] == DEMO_OUTLOOK_FOLDER]
    filed = [record["graph"]["id"] for record in mailbox.contacts.values() if record["folder"] == folder_id]
    assert OutlookContact.objects.filter(mailbox=user, outlook_id__in=filed, folder_id=folder_id).exists()
    meetings = Activity.objects.filter(owner=user, outlook_is_meeting=True).exclude(outlook_organizer="")
    assert meetings.count() == 2
    assert all("à modifier dans Outlook" in meeting.read_only_reason for meeting in meetings)


def test_the_help_pages_contacts_reach_their_companies_in_the_demo(demo_emulator):
    """The customer's help page shows Finloc and Groupe Canam contacts waiting in the « Exchange »
    group; in the demo their companies are records with those domains, so R8 links them, and the
    ones at hubspot.com or bluejays.com stay in the group (R9)."""
    _seed_demo_outlook(demo_emulator)
    user = User.objects.get(code="MTREMBLAY")
    client = GraphClient(GraphSettings.from_connection(GraphConnection.objects.get()))
    assert sync_contacts(user, client=client).error == ""
    synced = Contact.objects.filter(outlook_items__mailbox=user).select_related("customer", "prospect", "group")
    eric = synced.get(email="eric.lavoie@finloc.com")
    assert (eric.customer.code, eric.customer.name, eric.title) == ("FINLOC", "Finloc inc.", "Président")
    assert synced.get(email="diane.morin@groupecanam.com").prospect.code == "CANAM"
    assert synced.get(email="billing@hubspot.com").group.code == EXCHANGE_GROUP_CODE
