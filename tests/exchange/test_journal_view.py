"""The item journal: "why isn't this in the CRM?" — search, reasons, field changes, resync."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Contact
from exchange.models import JournalEntry, SyncRun
from exchange.sync.contacts import sync_contacts
from tests.exchange.outlook_items import contact_of

pytestmark = pytest.mark.django_db


def test_a_skipped_contact_is_found_with_its_reason_R7(client, admin_user, connection, mailbox_user, outlook):
    outlook.add_contact("Gaston", "Lagaffe", None)
    outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    sync_contacts(mailbox_user)
    client.force_login(admin_user)
    page = client.get(reverse("journal"), {"q": "Lagaffe"}).content.decode()
    assert "Gaston Lagaffe" in page
    assert "Ignoré : pas de courriel." in page
    assert "Luc Roy" not in page


def test_field_changes_are_shown(client, admin_user, crm_user):
    JournalEntry.objects.create(
        user=crm_user, direction="contacts_in", action="updated", item_label="Luc Roy", changes={"title": ["", "Chef"]}
    )
    client.force_login(admin_user)
    page = client.get(reverse("journal")).content.decode()
    assert "<b>titre</b> :  → Chef" in page  # the field as the reader's screens name it


def test_bad_dates_are_a_form_error_not_a_crash(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("journal"), {"date_from": "2026-13-45", "user": "abc"})
    assert response.status_code == 200
    assert "Saisissez une date valide." in response.content.decode()


def test_hostile_values_are_escaped(client, admin_user, crm_user):
    JournalEntry.objects.create(
        user=crm_user,
        direction="contacts_in",
        action="skipped",
        item_label="<script>alert(1)</script>",
        reasons=[{"code": "text", "params": {"text": "<b>x"}}],
    )
    client.force_login(admin_user)
    page = client.get(reverse("journal")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_htmx_search_returns_only_the_results(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("journal"), {"q": "x"}, HTTP_HX_REQUEST="true").content.decode()
    assert page.lstrip().startswith('<section id="results"')


def test_resync_this_item_applies_the_rules_again(client, admin_user, connection, mailbox_user, outlook):
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    sync_contacts(mailbox_user)
    Contact.objects.filter(outlook_items__outlook_id=outlook_id).update(title="modifié à la main")
    entry = JournalEntry.objects.get(outlook_id=outlook_id)
    client.force_login(admin_user)
    response = client.post(reverse("resync_item", args=[entry.pk]), follow=True)
    assert response.status_code == 200
    assert contact_of(outlook_id).title == ""


def test_resync_of_an_item_deleted_in_outlook_deactivates_it(client, admin_user, connection, mailbox_user, outlook):
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    sync_contacts(mailbox_user)
    outlook.delete_contact(outlook_id)
    entry = JournalEntry.objects.get(outlook_id=outlook_id)
    client.force_login(admin_user)
    client.post(reverse("resync_item", args=[entry.pk]))
    assert not contact_of(outlook_id).is_active


def test_a_resync_that_graph_refuses_ends_its_run_failed_with_the_reason(
    client, admin_user, connection, mailbox_user, outlook
):
    from unittest import mock

    from exchange.graph.errors import GraphError

    outlook_id = outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    sync_contacts(mailbox_user)
    entry = JournalEntry.objects.get(outlook_id=outlook_id)
    client.force_login(admin_user)
    refused = GraphError("Microsoft 365 refuse la lecture de ce contact.", status=503)
    with mock.patch("exchange.graph.client.GraphClient.get_contact", side_effect=refused):
        page = client.post(reverse("resync_item", args=[entry.pk]), follow=True).content.decode()
    assert "Microsoft 365 refuse la lecture de ce contact." in page
    run = SyncRun.objects.filter(user=mailbox_user, trigger="manual").get()
    assert (run.result, run.error) == (SyncRun.Result.FAILED, "Microsoft 365 refuse la lecture de ce contact.")
    assert run.finished_at is not None


def test_the_journal_never_shows_another_users_private_activity(client, admin_user, crm_user):
    """Administrators manage users; they do not read a colleague's private agenda (crm.models
    readable_q), not even through the journal or its search."""
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Activity

    start = timezone.now()
    secret = Activity.objects.create(
        owner=crm_user, subject="Rendez-vous médical", start=start, end=start + timedelta(hours=1), is_private=True
    )
    JournalEntry.objects.create(
        user=crm_user, direction="activities_in", action="updated", item_label="Rendez-vous médical (2026-12-02 10:00)",
        activity=secret, changes={"subject": ["Rendez-vous", "Rendez-vous médical"]}, reasons=[{"code": "modified"}],
    )  # fmt: skip
    client.force_login(admin_user)
    page = client.get(reverse("journal")).content.decode()
    assert "médical" not in page and f"Occupé (activité privée de {crm_user.code})" in page
    found = client.get(reverse("journal"), {"q": "médical"}).content.decode()
    assert "Occupé" not in found  # its words do not find it
    secret.is_private = False
    secret.save()
    assert "Rendez-vous médical" in client.get(reverse("journal")).content.decode()
