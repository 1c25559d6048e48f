"""« Aperçu » of the Exchange dialog: the mailbox read, nothing written, and the counts are those
of the first synchronization that follows."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Setting
from crm.models import EXCHANGE_GROUP_CODE, Activity, Contact, ContactGroup, Customer, EmailDomain, OutlookContact
from exchange.models import ContactFolder, JournalEntry, MailboxPreview, SyncRun, SyncState
from exchange.preview import run_preview
from exchange.sync.activities import sync_activities
from exchange.sync.contacts import sync_contacts
from exchange.tasks import preview_mailbox

pytestmark = pytest.mark.django_db

RECURRENCE = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"]},
    "range": {"type": "numbered", "startDate": "2026-12-02", "numberOfOccurrences": 4},
}


@pytest.fixture
def world(connection, mailbox_user, outlook, crm_user):
    """A mailbox with a bit of everything the first sync meets, and Prextra activities to push."""
    finloc = Customer.objects.create(code="C0001", name="Finloc inc.")
    EmailDomain.objects.create(domain="finloc.com", customer=finloc)
    exchange = ContactGroup.objects.get(code=EXCHANGE_GROUP_CODE)
    Contact.objects.create(first_name="Ana", last_name="Lima", email="ana@lima.ca", group=exchange)
    sub = outlook.add_folder("Clients")
    outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    outlook.add_contact("Julie", "Fortin", "julie.fortin@finloc.com", folder=sub)
    outlook.add_contact("Luc", "Roy", "luc@ailleurs.ca")
    outlook.add_contact("Paul", "Gratuit", "paul@gmail.com")
    outlook.add_contact("Eric", "Lavoie", "ERIC.LAVOIE@finloc.com", folder=sub)  # twice in this mailbox
    outlook.add_contact("Ana", "Lima", "ana@lima.ca")  # Prextra has her already
    outlook.add_contact("Sans", "Adresse", None)  # R7
    outlook.add_contact("", "Prénom", "x@finloc.com")  # R7
    outlook.add_event("Visite chez Finloc")
    outlook.add_event("Dentiste", sensitivity="private")
    outlook.add_event("Réunion hebdomadaire", recurrence=RECURRENCE)
    outlook.receive_meeting()
    start = timezone.now() + timedelta(days=2)
    Activity.objects.create(owner=mailbox_user, subject="Appel", start=start, end=start + timedelta(hours=1))
    Activity.objects.create(owner=mailbox_user, subject="Loin", start=start + timedelta(days=900),
                            end=start + timedelta(days=900, hours=1))  # fmt: skip
    Activity.objects.create(owner=crm_user, subject="D'un autre", start=start, end=start + timedelta(hours=1))
    return mailbox_user


def _written() -> tuple:
    return (
        Contact.objects.count(),
        OutlookContact.objects.count(),
        Activity.objects.filter(outlook_id__isnull=False).count(),
        JournalEntry.objects.count(),
        SyncRun.objects.count(),
        ContactFolder.objects.count(),
        list(SyncState.objects.values_list("delta_link", flat=True)),
    )


def test_the_preview_writes_nothing_and_equals_the_first_sync(world, graph_client):
    before = _written()
    preview = run_preview(MailboxPreview.objects.create(user=world), graph_client)
    assert preview.status == MailboxPreview.Status.DONE, preview.error
    assert _written() == before  # nothing read was stored, no cursor
    contacts, events = preview.result["contacts"], preview.result["events"]

    run = sync_contacts(world, client=graph_client)
    assert contacts["created"] == run.created == 4
    assert contacts["linked"] == JournalEntry.objects.filter(run=run, action="linked").count() == 2
    assert sum(line["count"] for line in contacts["skipped"]) == run.skipped == 2
    assert contacts["owners"] == {"customer": 2, "group": 2}  # R8, R9 (gmail.com is free mail)
    pull, push = sync_activities(world, client=graph_client)
    assert events["created"] == pull.created == 3
    assert events["recurring"] == 1 and events["recurring"] + events["skipped"] == pull.skipped  # one per series
    assert (events["received"], events["sensitive"], events["private_policy"]) == (1, 1, "private")
    assert preview.result["pushed"] == push.created == 1  # "Loin" is outside the window
    assert preview.items_read >= 8 + 4


def test_the_dialog_starts_the_preview_in_the_worker_and_polls_its_progress(
    world, client, admin_user, graph_client, django_capture_on_commit_callbacks
):
    Setting.objects.update_or_create(key="UserMaintenanceShowFields", defaults={"value": "btnexchange"})
    client.force_login(admin_user)
    url = reverse("user_exchange_preview", args=[world.pk])
    with mock.patch("exchange.views.preview_mailbox.delay") as queued, django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, HTTP_HX_REQUEST="true")
    (preview_id,), _kwargs = queued.call_args
    body = response.content.decode()
    assert 'hx-trigger="every 2s"' in body and "<progress" in body  # reading: the dialog polls
    with mock.patch("exchange.preview.GraphClient", return_value=graph_client):
        preview_mailbox(preview_id)
    preview_mailbox(preview_id)  # delivered twice: the second does nothing
    body = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in body and "À créer : 4" in body and "Activités Prextra à envoyer : 1" in body
    assert MailboxPreview.objects.get().status == MailboxPreview.Status.DONE


def test_only_administrators_preview_a_mailbox(world, client, crm_user):
    Setting.objects.update_or_create(key="UserMaintenanceShowFields", defaults={"value": "btnexchange"})
    client.force_login(crm_user)
    assert client.post(reverse("user_exchange_preview", args=[world.pk])).status_code == 403
    assert not MailboxPreview.objects.exists()
