"""Linking a contact awaiting review (or left in the Exchange group, R9) to a company, in one action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def caroline(exchange_group, make_contact, finloc, acier):
    return make_contact(
        "Caroline",
        "Larivière",
        email="caroline.lariviere@finloc.com",
        group=exchange_group,
        source=Contact.Source.EXCHANGE,
        needs_review=True,
        review={"code": "text", "params": {"text": "Le domaine finloc.com est sur 2 fiches."}},
    )


def _url(contact) -> str:
    return reverse("contact_assign", args=[contact.pk])


def test_anonymous_is_sent_to_sign_in(client, caroline):
    response = client.post(_url(caroline), {"owner_type": "customer", "code": "C0001"})
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")
    caroline.refresh_from_db()
    assert caroline.needs_review


def test_page_offers_the_companies_sharing_the_contacts_domain(bob_client, caroline):
    html = bob_client.get(_url(caroline)).content.decode()
    assert "Associer à Finloc inc. (client C0001)" in html
    assert "Associer à Acier Tremblay ltée (fournisseur F0001)" in html
    assert html.index("Finloc inc.") < html.index("Acier Tremblay")  # R8 order: customer first
    assert "Le domaine finloc.com est sur 2 fiches." in html


def test_assigning_to_a_customer_changes_the_owner_and_clears_the_review(bob_client, caroline, finloc):
    response = bob_client.post(_url(caroline), {"owner_type": "customer", "code": "c0001"})
    assert response.status_code == 302
    assert response["Location"] == reverse("contact_detail", args=[caroline.pk])
    caroline.refresh_from_db()
    assert (caroline.customer, caroline.prospect, caroline.supplier, caroline.group) == (finloc, None, None, None)
    assert (caroline.needs_review, caroline.review) == (False, {})
    assert caroline.owner_locked  # a person chose: a later domain change does not undo it
    page = bob_client.get(response["Location"]).content.decode()
    assert "Caroline Larivière est maintenant associé(e) à Finloc inc. (client)." in page


def test_assigning_to_a_supplier_or_a_prospect(bob_client, caroline, acier, canam):
    bob_client.post(_url(caroline), {"owner_type": "supplier", "code": "F0001"})
    caroline.refresh_from_db()
    assert (caroline.supplier, caroline.group) == (acier, None)
    caroline.needs_review = True
    caroline.save()
    bob_client.post(_url(caroline), {"owner_type": "prospect", "code": "P0001"})
    caroline.refresh_from_db()
    assert (caroline.prospect, caroline.supplier) == (canam, None)


def test_next_returns_to_the_group_list_but_never_to_another_site(bob_client, caroline, exchange_group):
    back = reverse("contact_group_contacts", args=[exchange_group.pk]) + "?types=a-verifier"
    response = bob_client.post(_url(caroline), {"owner_type": "customer", "code": "C0001", "next": back})
    assert response["Location"] == back
    caroline.needs_review = True
    caroline.save()
    response = bob_client.post(
        _url(caroline), {"owner_type": "supplier", "code": "F0001", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("contact_detail", args=[caroline.pk])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"owner_type": "customer", "code": "F0001"}, "Aucun client actif ne porte le code « F0001 »."),
        ({"owner_type": "group", "code": "EXC"}, "Sélectionnez un choix valide."),
        # Neither a record chosen in the picker nor a code typed (test_record_picker.py).
        ({"owner_type": "customer", "code": ""}, "Choisissez une fiche : tapez son nom, son code ou son domaine"),
        ({}, "Choisissez une fiche : tapez son nom, son code ou son domaine"),
    ],
)
def test_invalid_choices_are_refused_with_a_clear_message(bob_client, caroline, exchange_group, data, message):
    response = bob_client.post(_url(caroline), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    caroline.refresh_from_db()
    assert (caroline.group, caroline.needs_review) == (exchange_group, True)


def test_an_inactive_company_is_refused(bob_client, caroline, finloc):
    finloc.is_active = False
    finloc.save()
    response = bob_client.post(_url(caroline), {"owner_type": "customer", "code": "C0001"})
    assert response.status_code == 400
    assert "Aucun client actif" in response.content.decode()


def test_a_contact_already_linked_to_a_company_is_not_reassigned_here(bob_client, make_contact, finloc, acier):
    luc = make_contact("Luc", "Roy", customer=finloc)
    response = bob_client.post(_url(luc), {"owner_type": "supplier", "code": "F0001"})
    assert response.status_code == 302
    luc.refresh_from_db()
    assert luc.customer == finloc
    assert "Ce contact est déjà associé à Finloc inc." in bob_client.get(response["Location"]).content.decode()


def test_missing_contact_is_404(bob_client):
    assert bob_client.post(reverse("contact_assign", args=[999999]), {}).status_code == 404
