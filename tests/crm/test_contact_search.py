"""CRM › Maintenance › Recherche de contacts (R11): filters, results, paging, query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity, Contact, ContactGroup, ContactNote, Customer, Prospect, Supplier

REVIEW = {"code": "text", "params": {"text": "Domaine sur 2 fiches"}}  # as typed in the admin

pytestmark = pytest.mark.django_db
URL = reverse("contact_search")


def _names(response) -> list[str]:
    """The contact names of the result rows, in order."""
    html = response.content.decode()
    if "<tbody" not in html:
        return []
    body = html[html.index("<tbody") :]
    return re.findall(r'<a href="/crm/contacts/\d+/">([^<]+)</a>', body)


@pytest.fixture
def people(finloc, canam, acier, exchange_group, make_contact, crm_user, outsider):
    """One contact of each owner type, plus an inactive one."""
    return {
        "luc": make_contact(
            "Luc", "Roy", customer=finloc, city="Québec", province="QC", phone="(418) 227-7767", representative=crm_user
        ),
        "alex": make_contact("Alex", "Morin", prospect=canam, city="Saint-Georges", province="QC", country="Canada"),
        "eric": make_contact("Eric", "Leclair", supplier=acier, city="Toronto", province="ON", representative=outsider),
        "anshul": make_contact(
            "Anshul", "Bhargava", group=exchange_group, email="billing@hubspot.com", source=Contact.Source.EXCHANGE
        ),
        "old": make_contact("Gilles", "Ancien", customer=finloc, is_active=False),
    }


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")


def test_menu_offers_contact_search_R11(bob_client):
    assert URL.encode() in bob_client.get(reverse("home")).content


def test_results_show_every_owner_type_and_exchange_contacts_R11(bob_client, people):
    response = bob_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for header in ("Nom du contact", "Ville du contact", "Tél. du contact", "Représentant", "Type"):
        assert header in html
    assert _names(response) == ["Alex Morin", "Anshul Bhargava", "Eric Leclair", "Luc Roy"]
    for type_name in ("Clients", "Prospects", "Fournisseurs", "Groupes de contacts"):
        assert f"<td >{type_name}</td>" in html or f">{type_name}</td>" in html
    exchange_row = html[html.index("Anshul Bhargava") :].split("</tr>")[0]
    assert ">Exchange</td>" in exchange_row
    assert ">Groupes de contacts</td>" in exchange_row
    assert 'type="checkbox"' in html
    assert "Élément(s) 1 à 4 sur 4" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "inactif"}, ["Gilles Ancien"]),
        ({"status": "tous", "name": "finloc"}, ["Gilles Ancien", "Luc Roy"]),
        ({"owner_type": "prospect"}, ["Alex Morin"]),
        ({"contact_name": "roy luc"}, ["Luc Roy"]),
        ({"contact_name": "LECLAIR"}, ["Eric Leclair"]),
        ({"name": "exchange"}, ["Anshul Bhargava"]),
        ({"name": "canam"}, ["Alex Morin"]),
        ({"province": "on"}, ["Eric Leclair"]),
        ({"city": "saint-georges"}, ["Alex Morin"]),
        ({"phone": "418-227-7767"}, ["Luc Roy"]),
        ({"phone": "4182277767"}, ["Luc Roy"]),
        ({"phone": "227 77"}, ["Luc Roy"]),
        ({"email": "HUBSPOT"}, ["Anshul Bhargava"]),
        ({"country": "canada", "city": "saint"}, ["Alex Morin"]),
        ({"province": "QC", "owner_type": "customer"}, ["Luc Roy"]),
        ({"contact_name": "nobody"}, []),
    ],
)
def test_each_filter_narrows_the_results_R11(bob_client, people, query, expected):
    response = bob_client.get(URL, query)
    assert response.status_code == 200
    assert _names(response) == expected


def test_representative_filter_R11(bob_client, people, outsider):
    response = bob_client.get(URL, {"representative": outsider.pk})
    assert _names(response) == ["Eric Leclair"]


def test_note_from_filter_keeps_contacts_with_a_note_by_that_author_R11(bob_client, people, crm_user, outsider):
    ContactNote.objects.create(contact=people["alex"], author=outsider, text="Rappeler en mars")
    ContactNote.objects.create(contact=people["alex"], author=outsider, text="Deuxième note")
    ContactNote.objects.create(contact=people["luc"], author=crm_user, text="Soumission envoyée")
    assert _names(bob_client.get(URL, {"note_from": outsider.pk})) == ["Alex Morin"]


def _activity(contact, owner, subject, private=False) -> Activity:
    start = timezone.now() + timedelta(days=2)
    return Activity.objects.create(
        owner=owner, contact=contact, subject=subject, start=start, end=start + timedelta(hours=1), is_private=private
    )


def test_event_filter_matches_activity_subjects_R11(bob_client, people, crm_user, outsider):
    _activity(people["luc"], outsider, "Visite de chantier")
    _activity(people["eric"], crm_user, "Dîner d'affaires")
    assert _names(bob_client.get(URL, {"event": "chantier"})) == ["Luc Roy"]


def test_event_filter_never_reveals_another_users_private_subject(bob_client, people, crm_user, outsider):
    _activity(people["luc"], outsider, "Négociation confidentielle", private=True)
    _activity(people["eric"], crm_user, "Négociation du contrat", private=True)
    assert _names(bob_client.get(URL, {"event": "confidentielle"})) == []
    assert _names(bob_client.get(URL, {"event": "négociation"})) == ["Eric Leclair"]


def test_deleted_activity_does_not_match_the_event_filter(bob_client, people, crm_user):
    activity = _activity(people["luc"], crm_user, "Visite annulée")
    activity.is_deleted = True
    activity.save()
    assert _names(bob_client.get(URL, {"event": "annulée"})) == []


def test_filters_stay_in_the_query_string_of_sort_and_page_links_R11(bob_client, people):
    html = bob_client.get(URL, {"province": "QC"}).content.decode()
    assert "?province=QC&amp;status=actif&amp;sort=-name" in html or "province=QC" in html.split('class="sort"')[1]


def test_contact_names_link_to_the_contact_page(bob_client, people):
    html = bob_client.get(URL).content.decode()
    assert f'href="{reverse("contact_detail", args=[people["luc"].pk])}"' in html


def test_review_flag_is_marked_in_the_results(bob_client, people):
    Contact.objects.filter(pk=people["luc"].pk).update(needs_review=True, review=REVIEW)
    html = bob_client.get(URL).content.decode()
    assert 'title="Domaine sur 2 fiches">À vérifier</span>' in html


@pytest.fixture
def sixty_nine(finloc, make_contact):
    for number in range(69):
        make_contact("Contact", f"N{number:03d}", customer=finloc, city=f"Ville {number % 7}")


def test_paging_reads_like_prextra_and_follows_rows_per_page_R11(bob_client, sixty_nine, crm_user):
    html = bob_client.get(URL).content.decode()
    assert "Élément(s) 1 à 20 sur 69" in html
    assert "Élément(s) 21 à 40 sur 69" in bob_client.get(URL, {"page": 2}).content.decode()
    assert "Élément(s) 61 à 69 sur 69" in bob_client.get(URL, {"page": 4}).content.decode()
    crm_user.rows_per_page = 50
    crm_user.save()
    assert "Élément(s) 51 à 69 sur 69" in bob_client.get(URL, {"page": 2}).content.decode()


def test_paging_is_in_english_for_an_english_user(bob_client, sixty_nine, crm_user):
    crm_user.language = "en"
    crm_user.save()
    html = bob_client.get(URL).content.decode()
    assert "Item(s) 1 to 20 of 69" in html
    assert "Contact name" in html


def test_page_size_never_comes_from_the_query_string(bob_client, sixty_nine):
    for per_page in ("0", "-1", "100000", "abc"):
        response = bob_client.get(URL, {"per_page": per_page})
        assert response.status_code == 200
        assert "Élément(s) 1 à 20 sur 69" in response.content.decode()


def test_sorting_by_name_descending_and_by_city(bob_client, people):
    expected = ["Luc Roy", "Eric Leclair", "Anshul Bhargava", "Alex Morin"]
    assert _names(bob_client.get(URL, {"sort": "-name"})) == expected
    assert _names(bob_client.get(URL, {"sort": "city"}))[-1] == "Eric Leclair"
    assert _names(bob_client.get(URL, {"sort": "owner_name"})) == [
        "Eric Leclair",
        "Anshul Bhargava",
        "Luc Roy",
        "Alex Morin",
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "0"},
        {"page": "99999"},
        {"page": "9" * 5000},
        {"sort": "password"},
        {"sort": "-representative__password"},
    ],
)
def test_bad_paging_or_sorting_never_fails(bob_client, people, query):
    response = bob_client.get(URL, query)
    assert response.status_code == 200
    assert len(_names(response)) == 4


@pytest.mark.parametrize(
    "query",
    [
        {"status": "supprimé"},
        {"owner_type": "user"},
        {"representative": "abc"},
        {"representative": "999999"},
        {"note_from": "1 OR 1=1"},
        {"contact_name": "x" * 500},
    ],
)
def test_invalid_query_string_shows_an_invalid_form_not_a_500(bob_client, people, query):
    response = bob_client.get(URL, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "La recherche ne peut pas être faite" in html
    assert 'id="contact-filters"' in html
    assert _names(response) == []


def test_htmx_request_gets_only_the_results_partial(bob_client, people):
    response = bob_client.get(URL, {"sort": "-name"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert 'id="contact-filters"' not in html
    assert "Élément(s) 1 à 4 sur 4" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_htmx_request_with_invalid_filters_shows_the_errors_in_the_partial(bob_client, people):
    response = bob_client.get(URL, {"representative": "abc"}, headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx swaps only 2xx responses
    assert "La recherche ne peut pas être faite" in response.content.decode()


def test_htmx_history_restore_gets_the_whole_page(bob_client, people):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = bob_client.get(URL, headers=headers).content.decode()
    assert "<html" in html


@pytest.fixture
def three_hundred(crm_user, outsider, exchange_group):
    """300 contacts spread over every owner type, with notes and activities."""
    owners = [
        {"customer": Customer.objects.create(code="C1", name="Client un")},
        {"prospect": Prospect.objects.create(code="P1", name="Prospect un")},
        {"supplier": Supplier.objects.create(code="F1", name="Fournisseur un")},
        {"group": exchange_group},
        {"group": ContactGroup.objects.create(code="SALON", name="Salon industriel")},
    ]
    contacts = Contact.objects.bulk_create(
        Contact(
            first_name=f"Prénom{number}",
            last_name=f"Nom{number}",
            email=f"p{number}@example.com",
            city="Québec" if number % 2 else "Lévis",
            province="QC",
            country="Canada",
            phone=f"418 555-{number:04d}",
            representative=crm_user if number % 3 else outsider,
            **owners[number % len(owners)],
        )
        for number in range(300)
    )
    start = timezone.now()
    ContactNote.objects.bulk_create(ContactNote(contact=c, author=outsider, text="Note") for c in contacts[::2])
    Activity.objects.bulk_create(
        Activity(owner=crm_user, contact=c, subject="Visite", start=start, end=start + timedelta(hours=1))
        for c in contacts[::3]
    )
    return contacts


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"page": "7"},
        {"page": "15", "sort": "-owner_name"},
        {"status": "tous", "sort": "representative"},
        {"province": "QC", "city": "qué", "country": "can", "contact_name": "prénom", "name": "un", "phone": "555"},
        {"email": "example", "event": "visite", "representative": "__author__", "note_from": "__author__"},
    ],
)
def test_query_count_is_constant_whatever_the_page_and_filters_R11(
    bob_client, three_hundred, crm_user, outsider, django_assert_max_num_queries, query
):
    query = {key: {"__rep__": crm_user.pk, "__author__": outsider.pk}.get(value, value) for key, value in query.items()}
    # session, user, COUNT, the page's rows, and the two user lists of the form (+ their validation).
    with django_assert_max_num_queries(8):
        response = bob_client.get(URL, query)
    assert response.status_code == 200
    assert len(_names(response)) in range(1, 21)
