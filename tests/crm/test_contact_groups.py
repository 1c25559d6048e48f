"""CRM › Maintenance › Groupes de contacts (R10): the list, create/edit, and a group's Contacts screen."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from crm.models import EXCHANGE_GROUP_CODE, Contact, ContactGroup

REVIEW_TEXT = "Le domaine finloc.com est sur 2 fiches : client C0001, fournisseur F0001."

pytestmark = pytest.mark.django_db
LIST_URL = reverse("contact_groups")


def _names(response) -> list[str]:
    html = response.content.decode()
    if "<tbody" not in html:
        return []
    return re.findall(r'<a href="/crm/contacts/\d+/">([^<]+)</a>', html[html.index("<tbody") :])


@pytest.mark.parametrize(
    "url",
    [
        LIST_URL,
        reverse("contact_group_create"),
        "/crm/groupes-de-contacts/1/modifier/",
        "/crm/groupes-de-contacts/1/contacts/",
    ],
)
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")


def test_menu_offers_contact_groups_R10(bob_client):
    assert LIST_URL.encode() in bob_client.get(reverse("home")).content


def test_list_shows_groups_with_their_contact_counts_R10(bob_client, exchange_group, make_contact):
    make_contact("Anshul", "Bhargava", group=exchange_group)
    make_contact("Bianca", "Lecours", group=exchange_group)
    ContactGroup.objects.create(code="OLD", name="Ancien salon", is_active=False)
    html = bob_client.get(LIST_URL).content.decode()
    row = html[html.index(">EXC<") :].split("</tr>")[0]
    assert "Exchange" in row and '<td class="number">2</td>' in row
    assert reverse("contact_group_contacts", args=[exchange_group.pk]) in row
    assert "Ancien salon" not in html
    assert "Ancien salon" in bob_client.get(LIST_URL, {"status": "inactif"}).content.decode()
    assert "Exchange" in bob_client.get(LIST_URL, {"status": "tous"}).content.decode()


def test_list_with_invalid_status_is_an_invalid_form(bob_client):
    response = bob_client.get(LIST_URL, {"status": "<script>"})
    assert response.status_code == 400
    assert "La recherche ne peut pas être faite" in response.content.decode()


def test_list_htmx_request_gets_only_the_results(bob_client, exchange_group):
    html = bob_client.get(LIST_URL, {"sort": "-code"}, headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html


def test_crm_staff_creates_a_group_R10(bob_client):
    data = {"code": "salon", "name": "Salon industriel", "description": "Visiteurs 2025", "is_active": "on"}
    response = bob_client.post(reverse("contact_group_create"), data)
    assert response.status_code == 302
    group = ContactGroup.objects.get(code="SALON")
    assert (group.name, group.description, group.is_active) == ("Salon industriel", "Visiteurs 2025", True)
    assert "Le groupe « Salon industriel » a été créé." in bob_client.get(response["Location"]).content.decode()


def test_group_code_must_be_unique_R10(bob_client, exchange_group):
    response = bob_client.post(reverse("contact_group_create"), {"code": "exc", "name": "Doublon"})
    assert response.status_code == 200
    assert "existe déjà" in response.content.decode()
    assert ContactGroup.objects.filter(name="Doublon").count() == 0


def test_crm_staff_edits_a_group_R10(bob_client):
    group = ContactGroup.objects.create(code="SALON", name="Salon")
    url = reverse("contact_group_edit", args=[group.pk])
    assert 'value="Salon"' in bob_client.get(url).content.decode()
    response = bob_client.post(url, {"code": "SALON", "name": "Salon industriel", "description": ""})
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.name, group.is_active) == ("Salon industriel", False)


def test_exchange_group_keeps_its_code_and_stays_active_R9(bob_client, exchange_group):
    url = reverse("contact_group_edit", args=[exchange_group.pk])
    response = bob_client.post(url, {"code": "XXX", "name": "Exchange (Outlook)", "description": ""})
    assert response.status_code == 302
    exchange_group.refresh_from_db()
    assert (exchange_group.code, exchange_group.is_active) == (EXCHANGE_GROUP_CODE, True)
    assert exchange_group.name == "Exchange (Outlook)"


def test_editing_a_missing_group_is_404(bob_client):
    assert bob_client.get(reverse("contact_group_edit", args=[999999])).status_code == 404
    assert bob_client.get(reverse("contact_group_contacts", args=[999999])).status_code == 404


@pytest.fixture
def exchange_contacts(exchange_group, make_contact, crm_user):
    exchange = {"group": exchange_group, "source": Contact.Source.EXCHANGE}
    return {
        "eric": make_contact(
            "Eric",
            "Lavoie",
            title="Président",
            phone="(418) 227-7767",
            extension="12",
            representative=crm_user,
            **exchange,
        ),
        "bianca": make_contact("Bianca", "Lecours", email="bianca.lecours@groupecanam.com", **exchange),
        "caroline": make_contact(
            "Caroline",
            "Larivière",
            email="caroline.lariviere@finloc.com",
            needs_review=True,
            review={
                "code": "text",
                "params": {"text": REVIEW_TEXT},
            },
            **exchange,
        ),
        "typed": make_contact("Anne", "Saisie", group=exchange_group),
        "gone": make_contact("Jonathan", "Dulac", is_active=False, **exchange),
    }


def _contacts_url(group) -> str:
    return reverse("contact_group_contacts", args=[group.pk])


def test_group_contacts_screen_has_the_columns_of_prextra_R10(bob_client, exchange_group, exchange_contacts):
    response = bob_client.get(_contacts_url(exchange_group))
    html = response.content.decode()
    assert "<h1><span" in html and "EXC</span> Exchange</h1>" in html
    headers = [
        re.sub(r"<[^>]+>|[▲▼]", "", cell).strip()
        for cell in re.findall(r"<th[^>]*>(.*?)</th>", html[html.index("<thead") : html.index("</thead>")], re.S)
    ]
    # The customer's screen: these six, « Ext. » and « Vendeur », and no empty column after them.
    assert headers == ["Nom", "Titre", "Courriel", "Téléphone", "Ext.", "Vendeur"]
    assert 'aria-sort="ascending"' in html
    assert _names(response) == ["Anne Saisie", "Bianca Lecours", "Caroline Larivière", "Eric Lavoie"]
    row = html[html.index("Eric Lavoie") :].split("</tr>")[0]
    for value in ("Président", "(418) 227-7767", ">12<", "Bob Bélanger"):
        assert value in row


def test_group_contacts_sort_by_name_descending_R10(bob_client, exchange_group, exchange_contacts):
    response = bob_client.get(_contacts_url(exchange_group), {"sort": "-name"})
    assert _names(response) == ["Eric Lavoie", "Caroline Larivière", "Bianca Lecours", "Anne Saisie"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "canam"}, ["Bianca Lecours"]),
        ({"q": "président"}, ["Eric Lavoie"]),
        ({"q": "eric lavoie"}, ["Eric Lavoie"]),
        ({"types": "a-verifier"}, ["Caroline Larivière"]),
        ({"types": "prextra"}, ["Anne Saisie"]),
        ({"types": "exchange", "q": "l"}, ["Bianca Lecours", "Caroline Larivière", "Eric Lavoie"]),
        ({"status": "inactif"}, ["Jonathan Dulac"]),
        ({"status": "tous", "types": "exchange", "q": "dulac"}, ["Jonathan Dulac"]),
    ],
)
def test_search_box_types_and_status_filters_R10(bob_client, exchange_group, exchange_contacts, query, expected):
    assert _names(bob_client.get(_contacts_url(exchange_group), query)) == expected


def test_only_the_groups_own_contacts_are_listed_R10(bob_client, exchange_group, exchange_contacts, make_contact):
    salon = ContactGroup.objects.create(code="SALON", name="Salon")
    make_contact("Paul", "Salon", group=salon)
    assert _names(bob_client.get(_contacts_url(salon))) == ["Paul Salon"]


def test_contacts_to_review_are_marked_with_their_reason_and_an_assign_link(
    bob_client, exchange_group, exchange_contacts
):
    html = bob_client.get(_contacts_url(exchange_group)).content.decode()
    row = html[html.index("Caroline Larivière") :].split("</tr>")[0]
    assert 'title="Le domaine finloc.com est sur 2 fiches : client C0001, fournisseur F0001.">À vérifier' in row
    assign_url = reverse("contact_assign", args=[exchange_contacts["caroline"].pk])
    assert f'href="{assign_url}?next=' in row
    other_row = html[html.index("Bianca Lecours") :].split("</tr>")[0]
    assert "Associer" not in other_row


@pytest.mark.parametrize("query", [{"types": "bogus"}, {"status": "x"}, {"q": "x" * 101}])
def test_invalid_filters_show_an_invalid_form(bob_client, exchange_group, exchange_contacts, query):
    response = bob_client.get(_contacts_url(exchange_group), query)
    assert response.status_code == 400
    assert "La recherche ne peut pas être faite" in response.content.decode()


def test_group_contacts_htmx_request_gets_only_the_results(bob_client, exchange_group, exchange_contacts):
    response = bob_client.get(_contacts_url(exchange_group), {"q": "canam"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html and "<form" not in html
    assert _names(response) == ["Bianca Lecours"]


def test_group_contacts_query_count_is_constant(
    bob_client, exchange_group, make_contact, crm_user, django_assert_max_num_queries
):
    for number in range(60):
        make_contact(
            "Contact", f"N{number:02d}", group=exchange_group, representative=crm_user, needs_review=number % 2
        )
    # session, user, group, COUNT, the page's rows.
    with django_assert_max_num_queries(5):
        response = bob_client.get(_contacts_url(exchange_group), {"page": 2})
    assert "Élément(s) 21 à 40 sur 60" in response.content.decode()
