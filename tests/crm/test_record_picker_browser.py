"""The record picker in a real headless Chromium: on a contact's page, « Association à une fiche »
finds the record as one types, ↓ then Entrée chooses it, Entrée again associates."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crm.models import EXCHANGE_GROUP_CODE, Contact, ContactGroup, Customer, EmailDomain, Prospect, Supplier
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def eric(crm_user):
    """Eric waits in the Exchange group (R9); three records bear « Lavoie »."""
    exchange, _ = ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})
    lavoie = Customer.objects.create(code="C0042", name="Transport Lavoie inc.")
    EmailDomain.objects.create(domain="lavoie-transport.ca", customer=lavoie)
    Prospect.objects.create(code="P0007", name="Lavoie et fils")
    Supplier.objects.create(code="F0003", name="Pneus Lavoie")
    Customer.objects.create(code="C0043", name="Lavoie disparue", is_active=False)
    return Contact.objects.create(
        first_name="Eric",
        last_name="Lavoie",
        email="eric@gmail.com",
        group=exchange,
        source=Contact.Source.EXCHANGE,
    )


def _sign_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", user.code)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")


def test_typing_a_name_then_arrow_down_and_enter_associates_the_contact(live_server, page, crm_user, eric):
    ARTIFACTS.mkdir(exist_ok=True)
    _sign_in(page, live_server, crm_user)
    page.goto(f"{live_server.url}/crm/contacts/{eric.pk}/")
    box = page.get_by_role("combobox", name="Fiche")
    page.locator(".assign-by-code summary").click()  # the typed-code fallback, for the picture
    page.locator(".review-box").screenshot(path=str(ARTIFACTS / "record_picker_form.png"))
    box.press_sequentially("lavoie")
    listbox = page.get_by_role("listbox", name="Fiches")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(3)  # the inactive one is not offered
    expect(listbox.get_by_role("group")).to_have_count(3)
    expect(listbox.get_by_role("group", name="Clients")).to_contain_text("Transport Lavoie inc.")
    expect(listbox.get_by_role("group", name="Prospects")).to_contain_text("Lavoie et fils")
    expect(box).to_have_attribute("aria-expanded", "true")

    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    page.screenshot(path=str(ARTIFACTS / "record_picker.png"), full_page=True)
    box.press("Enter")  # chooses, and does not send the form yet
    expect(box).to_have_value("Lavoie et fils (prospect P0007)")
    expect(box).to_be_focused()
    expect(options).to_have_count(0)
    prospect = Prospect.objects.get(code="P0007")
    assert page.locator("input[name=record]").input_value() == f"prospect:{prospect.pk}"
    eric.refresh_from_db()
    assert eric.group_id is not None

    # Typing something else drops the choice: the form never sends what the box no longer shows.
    box.press("Backspace")
    assert page.locator("input[name=record]").input_value() == ""
    box.fill("")
    box.press_sequentially("lavoie-transport")
    expect(options).to_have_count(1)
    box.press("ArrowDown")
    box.press("Enter")
    expect(box).to_have_value("Transport Lavoie inc. (client C0042)")
    box.press("Enter")  # the second Entrée sends the association
    expect(page.locator(".message")).to_contain_text("Eric Lavoie est maintenant associé(e) à Transport Lavoie inc.")
    page.screenshot(path=str(ARTIFACTS / "record_picker_associated.png"), full_page=True)
    eric.refresh_from_db()
    assert (eric.customer.code, eric.group, eric.owner_locked) == ("C0042", None, True)
