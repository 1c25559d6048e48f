"""The record picker of « Association à une fiche » (nobody has to know a code):
active customers, prospects and suppliers found as one types their name, code or email domain,
grouped by kind in R8's order; choosing one associates the contact."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from crm.models import Contact, Customer, EmailDomain, Prospect, Supplier
from crm.records import search_records, search_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def caroline(exchange_group, make_contact):
    return make_contact(
        "Caroline", "Larivière", email="caroline@hubspot.com", group=exchange_group, source=Contact.Source.EXCHANGE
    )


def _found(groups) -> list[tuple[str, str]]:
    return [(group.kind.key, record.code) for group in groups for record in group.records]


# ---------------------------------------------------------------- search_records


def test_a_record_is_found_by_its_name_its_code_or_one_of_its_domains(finloc, canam, acier):
    assert _found(search_records("canam")) == [("prospect", "P0001")]
    assert _found(search_records("c0001")) == [("customer", "C0001")]
    assert _found(search_records("FINLOC.COM")) == [("customer", "C0001"), ("supplier", "F0001")]


def test_results_come_by_kind_in_r8_order_then_by_name(db):
    """R8's order (customer, prospect, supplier) is the order the picker shows them in."""
    Supplier.objects.create(code="F1", name="Aciers Boréal")
    Prospect.objects.create(code="P1", name="Boréal Prospect")
    Customer.objects.create(code="C2", name="Zinc Boréal")
    Customer.objects.create(code="C1", name="Boréal Alu")
    groups = search_records("boréal")
    assert [group.kind.key for group in groups] == ["customer", "prospect", "supplier"]
    assert _found(groups) == [("customer", "C1"), ("customer", "C2"), ("prospect", "P1"), ("supplier", "F1")]


def test_every_word_must_match_somewhere(finloc, acier):
    assert _found(search_records("finloc québec")) == []  # the city is not searched
    assert _found(search_records("tremblay f0001")) == [("supplier", "F0001")]


def test_an_address_stands_for_its_domain(finloc):
    assert _found(search_records("eric.lavoie@finloc.com")) == [("customer", "C0001")]
    assert search_words(" eric@finloc.com\x00 ") == ["finloc.com"]


def test_inactive_records_are_not_offered(finloc):
    finloc.is_active = False
    finloc.save()
    assert search_records("finloc") == []


def test_fewer_than_two_letters_find_nothing(finloc):
    assert search_records("f") == [] and search_records("  ") == [] and search_records("\x00f") == []


def test_each_kind_is_limited_and_says_when_there_are_more(db):
    for number in range(5):
        Customer.objects.create(code=f"C{number}", name=f"Boréal {number}")
    Prospect.objects.create(code="P1", name="Boréal prospect")
    customers, prospects = search_records("boréal", limit=3)
    assert [record.code for record in customers.records] == ["C0", "C1", "C2"] and customers.more
    assert [record.code for record in prospects.records] == ["P1"] and not prospects.more


def test_the_search_costs_the_same_few_queries_whatever_it_finds(db, django_assert_num_queries):
    for number in range(20):
        customer = Customer.objects.create(code=f"C{number}", name=f"Boréal {number}")
        EmailDomain.objects.create(domain=f"boreal{number}.ca", customer=customer)
    with django_assert_num_queries(4):  # three kinds, and the customers' domains
        search_records("boréal", limit=10)


# ---------------------------------------------------------------- the view


def test_the_results_name_each_record_with_its_kind_code_and_domains(bob_client, finloc, acier):
    html = bob_client.get(reverse("record_search"), {"record_search": "finloc"}).content.decode()
    assert html.index(">Clients<") < html.index(">Fournisseurs<")
    assert f'data-value="customer:{finloc.pk}"' in html
    assert 'data-label="Finloc inc. (client C0001)"' in html
    assert f'data-value="supplier:{acier.pk}"' in html and "F0001 · finloc.com" in html
    assert 'role="group" aria-labelledby="record-kind-customer"' in html


def test_the_results_say_when_nothing_matches_but_not_before_two_letters(bob_client, finloc):
    url = reverse("record_search")
    assert "Aucune fiche active ne correspond." in bob_client.get(url, {"record_search": "zzz"}).content.decode()
    assert bob_client.get(url, {"record_search": "z"}).content.decode().strip() == ""


def test_the_results_escape_what_records_hold(bob_client):
    Customer.objects.create(code="X1", name='<img src=x onerror="alert(1)">')
    html = bob_client.get(reverse("record_search"), {"q": "img"}).content.decode()
    assert "<img" not in html and "&lt;img" in html


def test_anonymous_visitors_are_sent_to_sign_in(client, finloc):
    response = client.get(reverse("record_search"), {"record_search": "finloc"})
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")


# ---------------------------------------------------------------- the association form


def test_the_contact_page_offers_the_picker(bob_client, caroline):
    html = bob_client.get(reverse("contact_detail", args=[caroline.pk])).content.decode()
    assert 'role="combobox"' in html and f'hx-get="{reverse("record_search")}"' in html
    assert 'name="record"' in html and 'data-picker="record"' in html


def test_the_chosen_record_associates_the_contact(bob_client, caroline, canam):
    url = reverse("contact_assign", args=[caroline.pk])
    response = bob_client.post(url, {"record": f"prospect:{canam.pk}", "record_search": "Groupe Canam"})
    assert response.status_code == 302
    caroline.refresh_from_db()
    assert (caroline.prospect, caroline.group, caroline.owner_locked) == (canam, None, True)


def test_the_chosen_record_wins_over_a_typed_code(bob_client, caroline, canam, finloc):
    url = reverse("contact_assign", args=[caroline.pk])
    bob_client.post(url, {"record": f"prospect:{canam.pk}", "owner_type": "customer", "code": "C0001"})
    caroline.refresh_from_db()
    assert (caroline.prospect, caroline.customer) == (canam, None)


@pytest.mark.parametrize("record", ["prospect:999999", "group:1", "customer:x", "customer:99999999999999999999"])
def test_an_unknown_or_inactive_record_is_refused_with_the_reason(bob_client, caroline, canam, record):
    response = bob_client.post(reverse("contact_assign", args=[caroline.pk]), {"record": record})
    assert response.status_code == 400
    assert "Cette fiche n'existe plus ou n'est plus active" in unescape(response.content.decode())
    caroline.refresh_from_db()
    assert caroline.group is not None


def test_a_record_deactivated_meanwhile_is_refused(bob_client, caroline, canam):
    canam.is_active = False
    canam.save()
    response = bob_client.post(reverse("contact_assign", args=[caroline.pk]), {"record": f"prospect:{canam.pk}"})
    assert response.status_code == 400
    caroline.refresh_from_db()
    assert caroline.prospect is None


def test_nothing_chosen_asks_to_choose_a_record(bob_client, caroline):
    response = bob_client.post(reverse("contact_assign", args=[caroline.pk]), {"record_search": "Canam"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choisissez une fiche : tapez son nom, son code ou son domaine" in html
    assert 'value="Canam"' in html  # what was typed stays in the box


def test_a_malformed_choice_is_refused_in_words_next_to_the_box(bob_client, caroline):
    response = bob_client.post(reverse("contact_assign", args=[caroline.pk]), {"record": "customer:" + "9" * 60})
    assert response.status_code == 400
    picker = unescape(response.content.decode()).split("record-picker")[1].split('id="record-search-help"')[0]
    assert "au plus 40 caractères" in picker  # the hidden field's error, shown by its box
