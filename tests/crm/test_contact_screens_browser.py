"""The contact screens in a real headless Chromium: search, a group's contacts, assigning a contact."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import (
    EXCHANGE_GROUP_CODE,
    Activity,
    Contact,
    ContactGroup,
    ContactNote,
    Customer,
    EmailDomain,
    OutlookContact,
    Supplier,
)
from tests.conftest import PASSWORD

REVIEW_TEXT = "Le domaine finloc.com est sur 2 fiches : client C0001 et fournisseur F0001."

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def crm_data(crm_user, outsider):
    """Prextra and synchronized contacts; Caroline's domain is on a customer and a supplier."""
    # Transactional tests empty the tables afterwards, data migrations included: recreate EXC.
    exchange, _ = ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})
    finloc = Customer.objects.create(code="C0001", name="Finloc inc.", city="Québec", sales_rep=crm_user)
    acier = Supplier.objects.create(code="F0001", name="Acier Tremblay ltée", city="Lévis")
    EmailDomain.objects.create(domain="finloc.com", customer=finloc)
    EmailDomain.objects.create(domain="finloc.com", supplier=acier)
    synced = {"group": exchange, "source": Contact.Source.EXCHANGE}
    for first, last in [("Anshul", "Bhargava"), ("Bianca", "Lecours"), ("Chantal", "Marier"), ("Diane", "Morin")]:
        Contact.objects.create(
            first_name=first, last_name=last, email=f"{first}.{last}@groupecanam.com".lower(), **synced
        )
    for number in range(24):
        Contact.objects.create(
            first_name=f"Client{number:02d}",
            last_name="Finloc",
            email=f"client{number}@finloc.com",
            city="Québec",
            phone=f"418 555-{number:04d}",
            customer=finloc,
            representative=crm_user,
        )
    eric = Contact.objects.create(
        first_name="Eric",
        last_name="Lavoie",
        title="Président",
        email="eric.lavoie@lavoie-transport.ca",
        phone="(418) 227-7767",
        city="Saint-Georges",
        province="QC",
        **synced,
    )
    OutlookContact.objects.create(contact=eric, mailbox=crm_user, outlook_id="AAMk-eric")
    Contact.objects.create(
        first_name="Caroline",
        last_name="Larivière",
        email="caroline.lariviere@finloc.com",
        needs_review=True,
        review={
            "code": "text",
            "params": {"text": REVIEW_TEXT},
        },
        **synced,
    )
    start = timezone.now() + timedelta(days=1)
    Activity.objects.create(
        owner=outsider,
        contact=eric,
        subject="Négociation secrète",
        start=start,
        end=start + timedelta(hours=1),
        is_private=True,
    )
    Activity.objects.create(
        owner=crm_user,
        contact=eric,
        subject="Visite de l'entrepôt",
        location="Saint-Georges",
        start=start + timedelta(days=1),
        end=start + timedelta(days=1, hours=2),
    )
    ContactNote.objects.create(contact=eric, author=crm_user, text="Contact trouvé dans Outlook, à rappeler.")
    return {"eric": eric, "finloc": finloc}


def _sign_in(page, live_server) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")


def test_contact_search_group_contacts_and_assignment(live_server, page, crm_data):
    ARTIFACTS.mkdir(exist_ok=True)
    _sign_in(page, live_server)

    # Contact search (R11): the menu, then filters down to the one synchronized contact.
    page.locator("summary", has_text="CRM › Maintenance").click()
    page.get_by_role("link", name="Recherche de contacts").click()
    results = page.locator("#results")
    expect(results).to_contain_text("Élément(s) 1 à 20 sur 30")
    page.get_by_label("Nom du contact").fill("lavoie")
    page.locator("#id_owner_type").select_option(label="Groupes de contacts")
    page.get_by_role("button", name="Rechercher").click()
    expect(results).to_contain_text("Élément(s) 1 à 1 sur 1")
    row = results.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Eric Lavoie")
    expect(row).to_contain_text("Exchange")
    expect(row).to_contain_text("Groupes de contacts")
    assert "contact_name=lavoie" in page.url  # bookmarkable
    page.screenshot(path=str(ARTIFACTS / "contact_search.png"), full_page=True)

    # The contact page: the other user's private activity shows only "Occupé".
    row.get_by_role("link", name="Eric Lavoie").click()
    expect(page.locator("h1")).to_have_text("Eric Lavoie")
    expect(page.locator("body")).to_contain_text("Occupé")
    expect(page.locator("body")).not_to_contain_text("Négociation secrète")
    page.screenshot(path=str(ARTIFACTS / "contact_detail.png"), full_page=True)

    # A whole page of results, sorted through htmx.
    page.goto(f"{live_server.url}/crm/contacts/")
    page.get_by_role("link", name="Nom du contact").click()
    expect(page.locator("#results th[aria-sort=descending]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"sort=-name"))
    page.screenshot(path=str(ARTIFACTS / "contact_search_all.png"), full_page=True)

    # Groupes de contacts (R10) → EXC → Contacts.
    page.locator("summary", has_text="CRM › Maintenance").click()
    page.get_by_role("link", name="Groupes de contacts").click()
    page.screenshot(path=str(ARTIFACTS / "contact_groups.png"), full_page=True)
    page.locator("tr", has_text="EXC").get_by_role("link", name="Contacts").click()
    expect(page.locator("h1")).to_have_text("EXC Exchange")
    expect(page.locator("#results tbody tr")).to_have_count(6)
    page.screenshot(path=str(ARTIFACTS / "contact_group.png"), full_page=True)

    # Caroline's domain is ambiguous: assign her to the customer in one action.
    caroline_row = page.locator("tr", has_text="Caroline Larivière")
    expect(caroline_row.locator(".badge.review")).to_have_text("À vérifier")
    caroline_row.get_by_role("link", name="Associer…").click()
    expect(page.locator("h1")).to_contain_text("Associer Caroline Larivière")
    page.screenshot(path=str(ARTIFACTS / "contact_assign.png"), full_page=True)
    page.get_by_role("button", name="Associer à Finloc inc. (client C0001)").click()
    expect(page.locator("h1")).to_have_text("EXC Exchange")
    expect(page.locator(".message")).to_contain_text("Caroline Larivière est maintenant associé(e) à Finloc inc.")
    expect(page.locator("#results tbody tr")).to_have_count(5)
    page.screenshot(path=str(ARTIFACTS / "contact_group_after_assign.png"), full_page=True)

    caroline = Contact.objects.get(last_name="Larivière")
    assert (caroline.customer, caroline.group, caroline.needs_review) == (crm_data["finloc"], None, False)


def test_a_contact_created_by_hand_from_the_search_is_found_by_it_and_outlook_fields_stay_read_only(
    live_server, page, crm_data
):
    """R11: « Nouveau contact » on the search, the form, then the search finds the new contact;
    the synchronized Eric's Outlook fields are read-only on his edit page."""
    ARTIFACTS.mkdir(exist_ok=True)
    _sign_in(page, live_server)
    page.goto(f"{live_server.url}/crm/contacts/")
    page.get_by_role("link", name="Nouveau contact").click()
    expect(page.locator("h1")).to_have_text("Nouveau contact")
    page.locator("#id_owner_type").select_option(label="Client")
    page.get_by_label("Code de la fiche ou du groupe").fill("C0001")
    page.get_by_label("Prénom").fill("Élise")
    page.locator("#id_last_name").fill("Gagnon")
    page.locator("#id_email").fill("elise.gagnon@finloc.com")
    page.screenshot(path=str(ARTIFACTS / "contact_form.png"), full_page=True)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("h1")).to_have_text("Élise Gagnon")
    expect(page.locator(".message")).to_contain_text("Le contact « Élise Gagnon » a été créé.")

    page.goto(f"{live_server.url}/crm/contacts/")
    page.get_by_label("Nom du contact").fill("gagnon")
    page.get_by_role("button", name="Rechercher").click()
    row = page.locator("#results tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Élise Gagnon")
    expect(row).to_contain_text("Finloc inc.")
    expect(row).to_contain_text("Clients")

    page.goto(f"{live_server.url}/crm/contacts/{crm_data['eric'].pk}/")
    page.get_by_role("link", name="Modifier").click()
    expect(page.get_by_label("Prénom")).to_be_disabled()
    expect(page.get_by_label("Code de la fiche ou du groupe")).to_be_enabled()
    expect(page.locator("body")).to_contain_text("Outlook est la source de ce champ")
    page.screenshot(path=str(ARTIFACTS / "contact_form_synchronized.png"), full_page=True)
