"""« Aperçu » in the Exchange dialog, in a real headless Chromium: the administrator asks for the
preview of a mailbox, the dialog shows the reading, then what the first synchronization will do."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import expect

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, Setting
from crm.models import EXCHANGE_GROUP_CODE, ContactGroup, Customer, EmailDomain
from exchange.tasks import preview_mailbox
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_the_dialog_previews_the_first_sync_of_a_mailbox(
    live_server, page, connection, graph_client, mailbox_user, outlook, admin_user
):
    Setting.objects.update_or_create(key=USER_MAINTENANCE_SHOW_FIELDS, defaults={"value": "btnexchange"})
    ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})
    finloc = Customer.objects.create(code="C0001", name="Finloc inc.")
    EmailDomain.objects.create(domain="finloc.com", customer=finloc)
    outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    outlook.add_contact("Luc", "Roy", "luc@ailleurs.ca")
    outlook.add_contact("Sans", "Adresse", None)
    outlook.add_event("Visite chez Finloc")
    outlook.receive_meeting()

    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/administration/utilisateurs/{mailbox_user.pk}/")
    page.get_by_role("link", name="Exchange").click()
    dialog = page.locator("dialog#exchange-dialog")
    expect(dialog).to_be_visible()

    with mock.patch("exchange.views.preview_mailbox.delay") as queued:
        dialog.get_by_role("button", name="Aperçu").click()
        expect(dialog.locator("#exchange-preview progress")).to_be_visible()
    (preview_id,), _kwargs = queued.call_args
    with mock.patch("exchange.preview.GraphClient", return_value=graph_client):
        preview_mailbox(preview_id)  # the worker
    expect(dialog.locator("#exchange-preview")).to_contain_text("À créer : 2", timeout=10_000)
    expect(dialog.locator("#exchange-preview")).to_contain_text("clients 1")
    expect(dialog.locator("#exchange-preview")).to_contain_text("Événements à importer : 2")
    expect(dialog.locator("#exchange-preview")).to_contain_text("rien n'a été écrit")
    page.screenshot(path=str(ARTIFACTS / "exchange_preview.png"), full_page=True)
