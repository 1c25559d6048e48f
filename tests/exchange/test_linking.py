"""Which company or group a synchronized contact belongs to (exchange/linking.py, R8, R9).

The rule itself (`DomainIndex.link_for`) reads only memory: those tests build the index by hand and
need no database. Loading the index, the free-mail list and the Exchange group do query, and are
tested against the test database. The same rules through a whole sync are in test_sync_contacts.py.
"""

from __future__ import annotations

import pytest

from accounts.models import FREE_MAIL_SETTING, Setting
from crm.models import EXCHANGE_GROUP_CODE, ContactGroup, Customer, EmailDomain, Prospect, Supplier, kind_label
from exchange.linking import DEFAULT_FREE_MAIL_DOMAINS, DomainIndex, Link, exchange_group, free_mail_domains
from exchange.reasons import describe

GROUP_ID = 99


def _index(domains: dict[str, dict[str, list[tuple[int, str]]]], free_mail=("gmail.com",)) -> DomainIndex:
    """An index as DomainIndex.load() would read it (domain → kind → active owners), without a query."""
    return DomainIndex(domains, frozenset(free_mail), GROUP_ID)


# ---------------------------------------------------------------- pure parts


def test_a_link_sets_exactly_one_owner_field_and_clears_the_others():
    assert Link("prospect", 7, {"code": "modified"}).owner_values() == {
        "customer_id": None,
        "prospect_id": 7,
        "supplier_id": None,
        "group_id": None,
    }


@pytest.mark.parametrize(
    ("kind", "label"), [("customer", "client"), ("prospect", "prospect"), ("supplier", "fournisseur")]
)
def test_each_kind_of_company_is_named_in_french_in_the_reasons(kind, label):
    assert kind_label(kind) == label


def test_a_customers_domain_links_the_contact_to_that_customer_R8():
    link = _index({"finloc.com": {"customer": [(1, "Finloc inc.")]}}).link_for("finloc.com")
    assert (link.owner_field, link.owner_id) == ("customer", 1)
    assert link.reason == {
        "code": "linked_by_domain",
        "params": {"domain": "finloc.com", "kind": "customer", "name": "Finloc inc."},
    }
    assert describe(link.reason) == "Associé par le domaine finloc.com → client « Finloc inc. »."


def test_the_domain_is_matched_whatever_its_case_R8():
    link = _index({"finloc.com": {"customer": [(1, "Finloc inc.")]}}).link_for("FinLoc.COM")
    assert (link.owner_field, link.owner_id) == ("customer", 1)


@pytest.mark.parametrize("domain", ["ventes.finloc.com", "finloc.co", "finloc.com.evil.ca", "inloc.com"])
def test_the_domain_is_matched_exactly_never_as_a_part_or_a_subdomain_R8(domain):
    link = _index({"finloc.com": {"customer": [(1, "Finloc inc.")]}}).link_for(domain)
    assert (link.owner_field, link.owner_id) == ("group", GROUP_ID)


@pytest.mark.parametrize(
    ("kinds", "owner"),
    [
        ({"customer": [(1, "Client")], "prospect": [(2, "Prospect")], "supplier": [(3, "Fournisseur")]}, "customer"),
        ({"prospect": [(2, "Prospect")], "supplier": [(3, "Fournisseur")]}, "prospect"),
        ({"supplier": [(3, "Fournisseur")]}, "supplier"),
    ],
)
def test_a_customer_comes_before_a_prospect_which_comes_before_a_supplier_R8(kinds, owner):
    link = _index({"tous.ca": kinds}).link_for("tous.ca")
    assert (link.owner_field, link.owner_id, link.needs_review) == (owner, kinds[owner][0][0], False)


def test_a_supplier_link_names_the_supplier_in_its_reason_R8():
    link = _index({"acier.ca": {"supplier": [(3, "Acier inc.")]}}).link_for("acier.ca")
    assert describe(link.reason) == "Associé par le domaine acier.ca → fournisseur « Acier inc. »."


def test_a_domain_nobody_has_goes_to_the_exchange_group_R9():
    link = _index({"finloc.com": {"customer": [(1, "Finloc inc.")]}}).link_for("exemple.ca")
    assert (link.owner_field, link.owner_id, link.needs_review) == ("group", GROUP_ID, False)
    assert describe(link.reason) == "Groupe Exchange : aucun client, prospect ou fournisseur n'a le domaine exemple.ca."


def test_a_free_mail_domain_goes_to_the_exchange_group_even_if_a_customer_lists_it_R9():
    index = _index({"gmail.com": {"customer": [(1, "Client négligent")]}}, free_mail=("gmail.com",))
    link = index.link_for("GMAIL.com")
    assert (link.owner_field, link.owner_id) == ("group", GROUP_ID)
    assert describe(link.reason) == "Groupe Exchange : gmail.com est un domaine de messagerie gratuit."


def test_a_domain_on_two_customers_is_not_guessed_the_contact_goes_to_the_group_flagged_for_review():
    link = _index({"finloc.com": {"customer": [(2, "Finloc Québec"), (1, "Finloc Montréal")]}}).link_for("finloc.com")
    assert (link.owner_field, link.owner_id, link.needs_review) == ("group", GROUP_ID, True)
    assert describe(link.reason) == (
        "À vérifier : le domaine finloc.com est sur plusieurs fiches (client : Finloc Montréal, Finloc Québec)."
    )


def test_an_ambiguous_customer_domain_is_reviewed_even_when_a_single_prospect_has_it_R8():
    """The customers decide first: their ambiguity is not resolved by falling through to prospects."""
    kinds = {"customer": [(1, "A"), (2, "B")], "prospect": [(3, "Prospect")]}
    link = _index({"finloc.com": kinds}).link_for("finloc.com")
    assert (link.owner_field, link.needs_review) == ("group", True)


def test_the_names_of_an_ambiguous_domain_are_cut_to_fit_the_journal():
    owners = [(pk, f"Entreprise numéro {pk:03}") for pk in range(30)]
    link = _index({"finloc.com": {"prospect": owners}}).link_for("finloc.com")
    names = link.reason["params"]["names"]
    assert len(names) == 180 and names.startswith("Entreprise numéro 000, Entreprise numéro 001")


def test_a_contact_without_a_domain_goes_to_the_exchange_group_R9():
    link = _index({"finloc.com": {"customer": [(1, "Finloc inc.")]}}).link_for("")
    assert (link.owner_field, link.owner_id, link.needs_review) == ("group", GROUP_ID, False)


# ---------------------------------------------------------------- what queries the database


@pytest.mark.django_db
def test_the_index_links_only_active_companies_and_falls_through_to_the_next_kind_R8():
    closed = Customer.objects.create(code="C1", name="Fermé", is_active=False)
    prospect = Prospect.objects.create(code="P1", name="Finloc prospect")
    EmailDomain.objects.create(domain="finloc.com", customer=closed)
    EmailDomain.objects.create(domain="finloc.com", prospect=prospect)
    link = DomainIndex.load().link_for("finloc.com")
    assert (link.owner_field, link.owner_id) == ("prospect", prospect.pk)


@pytest.mark.django_db
def test_an_inactive_second_owner_makes_no_ambiguity():
    active = Supplier.objects.create(code="F1", name="Acier actif")
    closed = Supplier.objects.create(code="F2", name="Acier fermé", is_active=False)
    for supplier in (active, closed):
        EmailDomain.objects.create(domain="acier.ca", supplier=supplier)
    link = DomainIndex.load().link_for("acier.ca")
    assert (link.owner_field, link.owner_id, link.needs_review) == ("supplier", active.pk, False)


@pytest.mark.django_db
def test_the_index_points_unmatched_contacts_at_the_exchange_group_R9():
    link = DomainIndex.load().link_for("exemple.ca")
    assert link.owner_id == ContactGroup.objects.get(code=EXCHANGE_GROUP_CODE).pk


@pytest.mark.django_db
def test_the_index_answers_any_number_of_contacts_without_another_query(django_assert_num_queries):
    customer = Customer.objects.create(code="C1", name="Finloc inc.")
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    index = DomainIndex.load()
    with django_assert_num_queries(0):
        links = [index.link_for(domain) for domain in ("finloc.com", "gmail.com", "exemple.ca") * 100]
    assert {link.owner_field for link in links} == {"customer", "group"}


@pytest.mark.django_db
def test_the_free_mail_list_is_the_editable_configuration_entry_in_lowercase():
    Setting.objects.update_or_create(key=FREE_MAIL_SETTING, defaults={"value": "Gmail.com; Finloc.COM  exemple.ca,"})
    assert free_mail_domains() == {"gmail.com", "finloc.com", "exemple.ca"}


@pytest.mark.django_db
def test_the_shipped_free_mail_list_is_used_when_its_configuration_entry_was_deleted():
    Setting.objects.filter(key=FREE_MAIL_SETTING).delete()
    domains = free_mail_domains()
    assert {"gmail.com", "videotron.ca", "bell.net"} <= domains
    assert len(domains) == DEFAULT_FREE_MAIL_DOMAINS.count(",") + 1


@pytest.mark.django_db
def test_the_exchange_group_is_found_by_its_code_and_recreated_if_deleted_R9():
    existing_pk = exchange_group().pk
    assert exchange_group().pk == existing_pk and ContactGroup.objects.filter(code=EXCHANGE_GROUP_CODE).count() == 1
    ContactGroup.objects.filter(pk=existing_pk).delete()
    recreated = exchange_group()
    assert (recreated.code, recreated.name) == (EXCHANGE_GROUP_CODE, "Exchange")
    assert ContactGroup.objects.filter(code=EXCHANGE_GROUP_CODE).count() == 1
