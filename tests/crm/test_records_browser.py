"""The customer screens in a real headless Chromium: a new customer's domain takes its contact
out of the Exchange group at once (R8, R9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crm.models import EXCHANGE_GROUP_CODE, Contact, ContactGroup
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_new_customer_with_a_domain_takes_its_exchange_contact(live_server, page, crm_user):
    # Transactional tests empty the tables afterwards, data migrations included: recreate EXC.
    exchange, _ = ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})
    diane = Contact.objects.create(
        first_name="Diane", last_name="Morin", email="diane.morin@finloc.com",
        group=exchange, source=Contact.Source.EXCHANGE,
    )  # fmt: skip
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")

    page.locator("summary", has_text="CRM › Maintenance").click()
    page.locator("nav.menu").get_by_role("link", name="Clients", exact=True).click()
    page.get_by_role("link", name="Nouveau client").click()
    page.fill("#id_code", "c0001")
    page.fill("#id_name", "Finloc inc.")
    page.fill("#id_city", "Québec")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", name="Finloc inc.")).to_be_visible()
    expect(page.locator("#contacts")).to_contain_text("Aucun contact.")

    page.fill("#id_domain", "Finloc.com")
    page.get_by_role("button", name="Ajouter le domaine").click()
    expect(page.get_by_text("Domaine finloc.com ajouté : 1 contact associé à Finloc inc.")).to_be_visible()
    expect(page.locator("#contacts")).to_contain_text("Diane Morin")
    diane.refresh_from_db()
    assert diane.customer.code == "C0001" and diane.group is None
    page.screenshot(path=str(ARTIFACTS / "record_detail.png"), full_page=True)

    page.fill("#id_domain", "gmail.com")
    page.get_by_role("button", name="Ajouter le domaine").click()
    expect(page.get_by_role("alert")).to_contain_text("gmail.com est un domaine de messagerie gratuit")

    page.locator("summary", has_text="CRM › Maintenance").click()
    page.locator("nav.menu").get_by_role("link", name="Clients", exact=True).click()
    page.fill("#id_q", "finloc.com")
    expect(page.locator("#results")).to_contain_text("C0001")
    page.screenshot(path=str(ARTIFACTS / "record_list.png"), full_page=True)
