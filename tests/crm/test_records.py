"""CRM › Maintenance › Clients, Prospects, Fournisseurs: the lists, the record page, who may
change a record, and its email domains re-linking the synchronized contacts (R8, R9)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import EXCHANGE_GROUP_CODE, Activity, Contact, ContactGroup, Customer, EmailDomain, Prospect, Supplier

pytestmark = pytest.mark.django_db


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def bob(crm_user):
    return _login(crm_user)


@pytest.fixture
def charlie(outsider):
    return _login(outsider)


@pytest.fixture
def alice(admin_user):
    return _login(admin_user)


@pytest.fixture
def exchange(db):
    # Transactional tests empty the tables afterwards, data migrations included: recreate EXC.
    return ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})[0]


@pytest.fixture
def bobs_customer(crm_user):
    """Finloc, whose representative is Bob, with a domain, a contact and activities."""
    customer = Customer.objects.create(
        code="C0001", name="Finloc inc.", sales_rep=crm_user, phone="418 555-0100", city="Québec", province="QC"
    )
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    return customer


def _codes(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<a href="/crm/[a-z]+/\d+/">(C\d+|P\d+|F\d+)</a>', html)


# ------------------------------------------------------------------ lists


def test_each_kind_has_its_list_in_the_menu(bob):
    html = bob.get(reverse("home")).content.decode()
    for name in ("customer_list", "prospect_list", "supplier_list"):
        assert f'href="{reverse(name)}"' in html


def test_the_list_searches_code_name_domain_and_city(bob, bobs_customer):
    Customer.objects.create(code="C0002", name="Canam", city="Saint-Georges")
    Customer.objects.create(code="C0003", name="Bombardier", city="Québec")
    url = reverse("customer_list")
    assert _codes(bob.get(url, {"q": "c0002"})) == ["C0002"]
    assert _codes(bob.get(url, {"q": "finloc"})) == ["C0001"]
    assert _codes(bob.get(url, {"q": "finloc.com"})) == ["C0001"]
    assert _codes(bob.get(url, {"q": "québec"})) == ["C0003", "C0001"]  # by name: Bombardier, Finloc
    assert _codes(bob.get(url, {"q": "québec fin"})) == ["C0001"]  # every word must match


def test_a_record_with_two_matching_domains_is_listed_once(bob, bobs_customer):
    EmailDomain.objects.create(domain="finloc.ca", customer=bobs_customer)
    assert _codes(bob.get(reverse("customer_list"), {"q": "finloc"})) == ["C0001"]


def test_the_list_filters_by_representative_and_status(bob, bobs_customer, outsider):
    Customer.objects.create(code="C0002", name="Canam", sales_rep=outsider)
    Customer.objects.create(code="C0003", name="Ancien client", is_active=False, sales_rep=outsider)
    url = reverse("customer_list")
    assert _codes(bob.get(url)) == ["C0002", "C0001"]  # Actif by default
    assert _codes(bob.get(url, {"status": "inactif"})) == ["C0003"]
    assert _codes(bob.get(url, {"status": "tous"})) == ["C0003", "C0002", "C0001"]
    assert _codes(bob.get(url, {"sales_rep": outsider.pk, "status": "tous"})) == ["C0003", "C0002"]


def test_the_list_shows_only_its_kind(bob):
    Customer.objects.create(code="C0001", name="Finloc inc.")
    Prospect.objects.create(code="P0001", name="Groupe Canam")
    Supplier.objects.create(code="F0001", name="Acier Tremblay ltée")
    assert _codes(bob.get(reverse("prospect_list"))) == ["P0001"]
    assert _codes(bob.get(reverse("supplier_list"))) == ["F0001"]


def test_the_list_is_paged_by_the_users_rows_per_page(bob, crm_user):
    crm_user.rows_per_page = 5
    crm_user.save()
    for number in range(12):
        Customer.objects.create(code=f"C{number:04d}", name=f"Client {number:02d}")
    url = reverse("customer_list")
    assert len(_codes(bob.get(url))) == 5
    assert _codes(bob.get(url, {"page": 3})) == ["C0010", "C0011"]
    assert len(_codes(bob.get(url, {"page": 3, "per_page": 100}))) == 2  # the size never comes from the URL


def test_htmx_gets_only_the_results(bob, bobs_customer):
    response = bob.get(reverse("customer_list"), {"q": "finloc"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="results"')


def test_an_invalid_representative_answers_400_with_the_error(bob):
    response = bob.get(reverse("customer_list"), {"sales_rep": "pas-un-nombre"})
    assert response.status_code == 400


# ------------------------------------------------------------------ the record page


def test_the_record_page_shows_its_fields_domains_and_contacts(charlie, bobs_customer, crm_user):
    Contact.objects.create(first_name="Diane", last_name="Morin", email="diane@finloc.com", customer=bobs_customer)
    html = charlie.get(reverse("customer_detail", args=[bobs_customer.pk])).content.decode()
    for text in ("C0001", "Finloc inc.", "Bob Bélanger", "418 555-0100", "Québec", "QC", "Canada", "finloc.com"):
        assert text in html
    assert "Diane Morin" in html and "1 contact" in html


def test_the_record_page_shows_its_contacts_activities_private_ones_of_others_busy(
    charlie, bob, bobs_customer, crm_user
):
    """The calendars' rule: another user's private activity is only « Occupé » (crm.models hidden_from)."""
    diane = Contact.objects.create(first_name="Diane", last_name="Morin", customer=bobs_customer)
    start = timezone.now().replace(microsecond=0) - timedelta(days=2)
    end = start + timedelta(hours=1)
    Activity.objects.create(owner=crm_user, contact=diane, subject="Dîner avec Diane", start=start, end=end)
    Activity.objects.create(
        owner=crm_user, contact=diane, subject="Négociation secrète", start=start, end=end, is_private=True
    )
    Activity.objects.create(owner=crm_user, contact=diane, subject="Effacée", start=start, end=end, is_deleted=True)
    later = timezone.now() + timedelta(days=2)
    Activity.objects.create(owner=crm_user, contact=diane, subject="À venir", start=later, end=later + (end - start))
    url = reverse("customer_detail", args=[bobs_customer.pk])
    others = charlie.get(url).content.decode()
    assert "Dîner avec Diane" in others and "Occupé" in others
    assert "Négociation secrète" not in others and "Effacée" not in others and "À venir" not in others
    assert "Négociation secrète" in bob.get(url).content.decode()


def test_a_record_with_many_contacts_links_to_the_search_of_all_of_them(bob, bobs_customer):
    for number in range(101):
        Contact.objects.create(first_name=f"P{number:03d}", last_name="Finloc", customer=bobs_customer)
    html = bob.get(reverse("customer_detail", args=[bobs_customer.pk])).content.decode()
    assert "101 contacts" in html and len(re.findall(r'href="/crm/contacts/\d+/"', html)) == 100
    assert "/crm/contacts/?owner_type=customer&amp;name=Finloc+inc.&amp;status=tous" in html


def test_a_records_new_contact_button_preselects_the_record(bob, bobs_customer):
    page = reverse("customer_detail", args=[bobs_customer.pk])
    link = f"{reverse('contact_create')}?owner=customer:{bobs_customer.pk}&amp;next={page}"
    assert link in bob.get(page).content.decode()
    form = bob.get(reverse("contact_create"), {"owner": f"customer:{bobs_customer.pk}", "next": page})
    assert (form.context["form"]["owner_type"].value(), form.context["cancel_url"]) == ("customer", page)
    assert form.context["form"]["owner_code"].value() == bobs_customer.code


def test_an_unknown_record_is_404(bob):
    assert bob.get(reverse("customer_detail", args=[999])).status_code == 404


# ------------------------------------------------------------------ create, edit, deactivate


def test_anyone_creates_a_record_and_is_its_representative_by_default(charlie, outsider):
    page = charlie.get(reverse("supplier_create")).content.decode()
    assert f'<option value="{outsider.pk}" selected>' in page
    response = charlie.post(
        reverse("supplier_create"), {"code": "f0009 ", "name": "Acier Tremblay ltée", "sales_rep": outsider.pk}
    )
    supplier = Supplier.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("supplier_detail", args=[supplier.pk])
    assert supplier.code == "F0009" and supplier.sales_rep == outsider and supplier.is_active


def test_a_duplicate_code_is_refused(bob, bobs_customer):
    response = bob.post(reverse("customer_create"), {"code": "C0001", "name": "Autre"})
    assert response.status_code == 400 and Customer.objects.count() == 1


def test_the_representative_and_administrators_edit_others_get_403(bob, charlie, alice, bobs_customer):
    url = reverse("customer_edit", args=[bobs_customer.pk])
    assert charlie.get(url).status_code == 403
    assert charlie.post(url, {"code": "C0001", "name": "Piraté"}).status_code == 403
    assert bob.post(url, {"code": "C0001", "name": "Finloc ltée", "city": "Lévis"}).status_code == 302
    assert alice.get(url).status_code == 200
    bobs_customer.refresh_from_db()
    assert bobs_customer.name == "Finloc ltée" and bobs_customer.city == "Lévis"


def test_only_editors_see_the_edit_buttons(bob, charlie, bobs_customer):
    url = reverse("customer_detail", args=[bobs_customer.pk])
    assert "Désactiver" in bob.get(url).content.decode()
    html = charlie.get(url).content.decode()
    assert "Désactiver" not in html and "Ajouter le domaine" not in html


def test_a_record_with_contacts_is_deactivated_and_reactivated_never_deleted(bob, charlie, bobs_customer):
    Contact.objects.create(first_name="Diane", last_name="Morin", customer=bobs_customer)
    url = reverse("customer_set_active", args=[bobs_customer.pk])
    assert charlie.post(url, {"active": "0"}).status_code == 403
    assert bob.get(url).status_code == 405
    assert bob.post(url, {"active": "0"}).status_code == 302
    bobs_customer.refresh_from_db()
    assert not bobs_customer.is_active and bobs_customer.contacts.count() == 1
    bob.post(url, {"active": "1"})
    bobs_customer.refresh_from_db()
    assert bobs_customer.is_active


# ------------------------------------------------------------------ email domains (R8, R9)


@pytest.mark.django_db(transaction=True)
def test_adding_a_domain_relinks_its_exchange_contacts_at_once_and_says_so(crm_user, exchange):
    """R8: the Exchange group's contacts of the domain move to the record; R9 keeps the others."""
    bob = _login(crm_user)
    customer = Customer.objects.create(code="C0001", name="Finloc inc.", sales_rep=crm_user)
    synced = {"group": exchange, "source": Contact.Source.EXCHANGE}
    for number in range(12):
        Contact.objects.create(first_name=f"P{number}", last_name="Finloc", email=f"p{number}@finloc.com", **synced)
    Contact.objects.create(first_name="Autre", last_name="Domaine", email="autre@canam.com", **synced)
    response = bob.post(reverse("customer_domain_add", args=[customer.pk]), {"domain": " @FinLoc.com "}, follow=True)
    assert "Domaine finloc.com ajouté : 12 contacts associés à Finloc inc." in response.content.decode()
    assert customer.contacts.count() == 12
    assert Contact.objects.get(email="autre@canam.com").group == exchange


@pytest.mark.django_db(transaction=True)
def test_removing_a_domain_sends_its_exchange_contacts_back_and_says_so(crm_user, exchange):
    """R9: without the domain, its synchronized contacts return to the Exchange group; a contact
    entered in Prextra stays."""
    bob = _login(crm_user)
    customer = Customer.objects.create(code="C0001", name="Finloc inc.", sales_rep=crm_user)
    row = EmailDomain.objects.create(domain="finloc.com", customer=customer)
    for number in range(3):
        Contact.objects.create(
            first_name=f"P{number}", last_name="Finloc", email=f"p{number}@finloc.com",
            customer=customer, source=Contact.Source.EXCHANGE,
        )  # fmt: skip
    Contact.objects.create(first_name="Saisi", last_name="Main", email="saisi@finloc.com", customer=customer)
    url = reverse("customer_domain_remove", args=[customer.pk, row.pk])
    response = bob.post(url, follow=True)
    assert "Domaine finloc.com retiré : 3 contacts ne sont plus associés à Finloc inc." in response.content.decode()
    assert list(customer.contacts.values_list("first_name", flat=True)) == ["Saisi"]
    assert not EmailDomain.objects.exists()


def test_a_domain_already_on_a_record_of_the_same_kind_is_refused_with_the_reason(bob, crm_user, bobs_customer):
    """R8 would be ambiguous: the domain stays on its first record only."""
    other = Customer.objects.create(code="C0002", name="Finloc Québec", sales_rep=crm_user)
    response = bob.post(reverse("customer_domain_add", args=[other.pk]), {"domain": "FINLOC.com"})
    assert response.status_code == 400
    assert "Le domaine finloc.com est déjà celui de Finloc inc. (C0001)." in response.content.decode()
    assert EmailDomain.objects.count() == 1


def test_a_domain_on_another_kind_is_accepted(bob, crm_user, bobs_customer):
    """R8's order (customer, then prospect, then supplier) decides between kinds."""
    supplier = Supplier.objects.create(code="F0001", name="Finloc Équipement", sales_rep=crm_user)
    assert bob.post(reverse("supplier_domain_add", args=[supplier.pk]), {"domain": "finloc.com"}).status_code == 302
    assert EmailDomain.objects.filter(domain="finloc.com").count() == 2


def test_a_free_mail_domain_is_refused_with_the_reason(bob, bobs_customer):
    """R9: a free-mail domain (the ExchangeFreeMailDomains setting) never links a company."""
    response = bob.post(reverse("customer_domain_add", args=[bobs_customer.pk]), {"domain": "Gmail.com"})
    assert response.status_code == 400
    assert "gmail.com est un domaine de messagerie gratuit" in response.content.decode()
    assert list(bobs_customer.domains.values_list("domain", flat=True)) == ["finloc.com"]


@pytest.mark.parametrize("text", ["", "finloc", "fin loc.com", "finloc..com", "a@b.com", "-finloc.com"])
def test_what_is_not_a_domain_is_refused(bob, bobs_customer, text):
    response = bob.post(reverse("customer_domain_add", args=[bobs_customer.pk]), {"domain": text})
    assert response.status_code == 400 and bobs_customer.domains.count() == 1


def test_only_editors_add_or_remove_domains(charlie, bobs_customer):
    row = bobs_customer.domains.get()
    assert charlie.post(reverse("customer_domain_add", args=[bobs_customer.pk]), {"domain": "x.com"}).status_code == 403
    assert charlie.post(reverse("customer_domain_remove", args=[bobs_customer.pk, row.pk])).status_code == 403
    assert bobs_customer.domains.count() == 1


def test_a_domain_of_another_record_cannot_be_removed_through_this_one(bob, crm_user, bobs_customer):
    other = Customer.objects.create(code="C0002", name="Canam", sales_rep=crm_user)
    row = bobs_customer.domains.get()
    assert bob.post(reverse("customer_domain_remove", args=[other.pk, row.pk])).status_code == 404
    assert EmailDomain.objects.count() == 1


def test_a_list_page_costs_the_same_queries_whatever_its_rows(bob, crm_user):
    """The representative comes with its row (select_related): no query per record."""

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bob.get(reverse("customer_list")).status_code == 200
        return len(captured)

    Customer.objects.create(code="C0000", name="Client 00", sales_rep=crm_user)
    one = queries()
    for number in range(1, 15):
        Customer.objects.create(code=f"C{number:04d}", name=f"Client {number:02d}", sales_rep=crm_user)
    assert queries() == one


def test_a_record_page_costs_the_same_queries_whatever_its_contacts_and_activities(
    bob, crm_user, outsider, bobs_customer
):
    """Contacts come with their representative (select_related), activities as one values() query
    with their owner and contact: no query per contact, per activity or per domain."""
    url = reverse("customer_detail", args=[bobs_customer.pk])
    start = timezone.now().replace(microsecond=0) - timedelta(days=3)

    def add(number: int) -> None:
        contact = Contact.objects.create(
            first_name=f"P{number:03d}", last_name="Finloc", customer=bobs_customer, representative=crm_user
        )
        for owner, private in ((crm_user, False), (outsider, True)):
            Activity.objects.create(
                owner=owner, contact=contact, subject=f"Suivi {number}", start=start, end=start, is_private=private
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bob.get(url).status_code == 200
        return len(captured)

    add(0)
    one = queries()
    for number in range(1, 15):
        add(number)
    EmailDomain.objects.create(domain="finloc.ca", customer=bobs_customer)
    assert queries() == one
