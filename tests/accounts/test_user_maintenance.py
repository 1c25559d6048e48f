"""Administration › Utilisateurs (R2): the list, the record, Modifier, Détruire and a new user."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Company, User
from crm.models import Activity, Contact, ContactGroup

pytestmark = pytest.mark.django_db
LIST_URL = reverse("user_list")

# The labels of the customer's user screen, in its order (prextra-outlook-sync-help.fr.txt, 1.2).
R2_LABELS = [
    "Code d'utilisateur",
    "Nom",
    "Courriel",
    "Actif",
    "N'expire jamais",
    "Trace automatique",
    "Nom d'utilisateur sur rapport",
    "Assignation de tâches",
    "Afficher tous les BT planifiés",
    "Afficher les nouvelles PreXtra",
    "Approuver TEF",
    "Alerte lors ouverture session",
    "Cacher dans notes de rappel",
    "Développeur",
    "Utilisateur CDID",
    "Date d'expiration",
    "Expiration de la connexion",
    "Nbre lignes",
    "Échelle calendrier CRM (minutes)",
    "Contact",
    "Version de Microsoft Office",
    "Compagnie par défaut",
    "Langue",
    "No client",
    "Authentification par courriel",
    "Signature",
    "Compagnies permises",
]


def _form_data(user: User, **changes) -> dict:
    """What the edit form posts for `user` unchanged, with `changes` applied."""
    data = {
        "code": user.code,
        "name": user.name,
        "email": user.email,
        "never_expires": "on",
        "show_prextra_news": "on",
        "expiry_date": "",
        "connection_expiry": "0",
        "rows_per_page": "20",
        "crm_calendar_scale": "30",
        "contact": "",
        "office_version": "",
        "default_company": "",
        "language": "fr-ca",
        "customer_number": "",
        "signature": "",
    }
    if user.is_active:
        data["is_active"] = "on"
    if user.is_staff:
        data["is_staff"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _codes(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<a href="/administration/utilisateurs/\d+/">([^<]+)</a>', html[html.index("<tbody") :])


# --- The list -----------------------------------------------------------------------------------


def test_list_shows_code_name_email_active_administrator_language_R2(admin_client, crm_user):
    crm_user.language = "en"
    crm_user.save()
    html = unescape(admin_client.get(LIST_URL).content.decode())
    for header in ("Code d'utilisateur", "Nom", "Courriel", "Actif", "Administrateur", "Langue"):
        assert f">{header}" in html
    row = html[html.index(">BOB<") :].split("</tr>")[0]
    assert "Bob Bélanger" in row and "bob@prextra.test" in row and "Anglais" in row
    assert reverse("user_detail", args=[crm_user.pk]) in html


def test_list_searches_code_name_and_email_words(admin_client, crm_user, outsider):
    assert _codes(admin_client.get(LIST_URL, {"q": "côté"})) == ["CHARLIE"]
    assert _codes(admin_client.get(LIST_URL, {"q": "prextra.test bob"})) == ["BOB"]
    assert _codes(admin_client.get(LIST_URL, {"q": "personne"})) == []


def test_list_filters_administrators_and_inactive_users(admin_client, crm_user, outsider):
    outsider.is_active = False
    outsider.save()
    assert _codes(admin_client.get(LIST_URL)) == ["ALICE", "BOB", "CHARLIE"]
    assert _codes(admin_client.get(LIST_URL, {"status": "inactif"})) == ["CHARLIE"]
    assert _codes(admin_client.get(LIST_URL, {"status": "actif", "admin": "non"})) == ["BOB"]
    assert _codes(admin_client.get(LIST_URL, {"admin": "oui"})) == ["ALICE"]


def test_list_sorts_by_a_column(admin_client, crm_user, outsider):
    assert _codes(admin_client.get(LIST_URL, {"sort": "-name"})) == ["CHARLIE", "BOB", "ALICE"]


def test_list_pages_by_the_administrators_rows_per_page_R2(admin_client, admin_user, django_user_model):
    admin_user.rows_per_page = 5
    admin_user.save()
    for number in range(11):
        django_user_model.objects.create_user(f"U{number:02}", "x", name=f"Utilisateur {number}")
    first = admin_client.get(LIST_URL)
    assert "Élément(s) 1 à 5 sur 12" in first.content.decode()
    assert len(_codes(first)) == 5
    last = admin_client.get(LIST_URL, {"page": 3}).content.decode()
    assert "Élément(s) 11 à 12 sur 12" in last


def test_list_htmx_request_returns_only_the_results_partial(admin_client, crm_user):
    response = admin_client.get(LIST_URL, {"q": "bob"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html and "BOB" in html and "ALICE" not in html


def test_list_with_a_bad_query_string_says_what_is_wrong(admin_client):
    response = admin_client.get(LIST_URL, {"status": "n'importe quoi", "q": "x" * 500})
    assert response.status_code == 400
    assert "corrigez les critères suivants" in response.content.decode()


# --- The record -------------------------------------------------------------------------------


def test_record_shows_the_fields_of_the_customers_screen_in_order_R2(admin_client, crm_user):
    company = Company.objects.create(code="01", name="Prextra Québec")
    crm_user.default_company = company
    crm_user.customer_number = "C-778"
    crm_user.save()
    crm_user.allowed_companies.add(company, Company.objects.create(code="02", name="Prextra Montréal"))
    html = admin_client.get(reverse("user_detail", args=[crm_user.pk])).content.decode()
    positions = [html.index(f"<dt>{label} :</dt>") for label in R2_LABELS]
    assert positions == sorted(positions)
    assert "C-778" in html and "01 – Prextra Québec" in html and "02 – Prextra Montréal" in html
    for button in ("Modifier", "Détruire"):
        assert f">{button}</a>" in html


def test_record_of_an_unknown_user_is_404(admin_client):
    assert admin_client.get(reverse("user_detail", args=[999_999])).status_code == 404


def test_hostile_names_are_escaped_everywhere(admin_client, crm_user):
    crm_user.name = '<script>alert("x")</script>'
    crm_user.signature = "<img src=x onerror=alert(1)>"
    crm_user.save()
    for url in (LIST_URL, reverse("user_detail", args=[crm_user.pk]), reverse("user_edit", args=[crm_user.pk])):
        html = admin_client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url


# --- Modifier ---------------------------------------------------------------------------------


def test_modifier_saves_every_kind_of_field_R2(admin_client, crm_user):
    company = Company.objects.create(code="01", name="Prextra Québec")
    group = ContactGroup.objects.create(code="INT", name="Interne")
    contact = Contact.objects.create(first_name="Bob", last_name="Bélanger", email="bob@prextra.test", group=group)
    data = _form_data(
        crm_user,
        name="Robert Bélanger",
        email=" Bob.Belanger@Prextra.TEST ",
        never_expires=None,
        expiry_date="2031-06-30",
        rows_per_page="50",
        crm_calendar_scale="15",
        language="en",
        developer="on",
        default_company=str(company.pk),
        allowed_companies=[str(company.pk)],
        contact="BOB@prextra.test",
        signature="Robert\nVentes",
    )
    response = admin_client.post(reverse("user_edit", args=[crm_user.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("user_detail", args=[crm_user.pk])
    crm_user.refresh_from_db()
    assert crm_user.name == "Robert Bélanger"
    assert crm_user.email == "bob.belanger@prextra.test"
    assert (crm_user.never_expires, str(crm_user.expiry_date)) == (False, "2031-06-30")
    assert (crm_user.rows_per_page, crm_user.crm_calendar_scale, crm_user.language) == (50, 15, "en")
    assert crm_user.developer and crm_user.default_company == company and crm_user.contact == contact
    assert list(crm_user.allowed_companies.all()) == [company]
    page = unescape(admin_client.get(response["Location"]).content.decode())
    assert "L'utilisateur BOB a été enregistré." in page


def test_modifier_shows_clear_errors_and_keeps_what_was_typed(admin_client, crm_user, outsider):
    data = _form_data(
        crm_user,
        code="charlie",
        name="Nom tapé à garder",
        email="pas-un-courriel",
        rows_per_page="2",
        contact="inconnu@nulle-part.test",
    )
    response = admin_client.post(reverse("user_edit", args=[crm_user.pk]), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "corrigez les champs signalés" in html
    assert "Le code « CHARLIE » est déjà utilisé." in html
    assert "Saisissez une adresse de courriel valide." in html
    assert "Assurez-vous que cette valeur est supérieure ou égale à 5." in html
    assert "Aucun contact actif n&#x27;a le courriel « inconnu@nulle-part.test »." in html
    assert 'value="Nom tapé à garder"' in html and 'value="pas-un-courriel"' in html
    assert 'value="inconnu@nulle-part.test"' in html
    crm_user.refresh_from_db()
    assert crm_user.name == "Bob Bélanger"


def test_modifier_requires_an_expiry_date_when_the_account_expires(admin_client, crm_user):
    response = admin_client.post(reverse("user_edit", args=[crm_user.pk]), _form_data(crm_user, never_expires=None))
    assert response.status_code == 400
    assert "Indiquez la date d&#x27;expiration" in response.content.decode()


def test_administrator_cannot_deactivate_or_demote_themselves(admin_client, admin_user):
    data = _form_data(admin_user, is_active=None, is_staff=None)
    response = admin_client.post(reverse("user_edit", args=[admin_user.pk]), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Vous ne pouvez pas désactiver votre propre compte." in html
    assert "Vous ne pouvez pas retirer vos propres droits d&#x27;administrateur." in html
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.is_staff


# --- Nouvel utilisateur -----------------------------------------------------------------------


def _new_user(**changes) -> dict:
    data = _form_data(User(code="", name=""), code="dlapointe", name="Denise Lapointe", email="denise@prextra.test")
    data.update({"password1": "Ciel-de-mars-2025", "password2": "Ciel-de-mars-2025", "is_active": "on"}, **changes)
    return data


def test_create_a_user_with_an_initial_password(admin_client):
    response = admin_client.post(reverse("user_create"), _new_user())
    user = User.objects.get(code="DLAPOINTE")
    assert response["Location"] == reverse("user_detail", args=[user.pk])
    assert user.check_password("Ciel-de-mars-2025")
    assert user.is_active and not user.is_staff


def test_create_refuses_weak_or_mismatched_passwords_and_keeps_the_rest(admin_client):
    weak = admin_client.post(reverse("user_create"), _new_user(password1="denise", password2="denise"))
    html = weak.content.decode()
    assert weak.status_code == 400
    assert "Ce mot de passe est trop court." in html
    assert 'value="Denise Lapointe"' in html
    assert 'value="denise"' not in html  # passwords are never sent back
    mismatch = admin_client.post(reverse("user_create"), _new_user(password2="Autre-chose-2025"))
    assert "Les deux mots de passe ne sont pas identiques." in mismatch.content.decode()
    assert not User.objects.filter(code="DLAPOINTE").exists()


def test_create_refuses_a_password_too_similar_to_the_user(admin_client):
    password = "denise@prextra.test"
    response = admin_client.post(reverse("user_create"), _new_user(password1=password, password2=password))
    assert response.status_code == 400
    assert "trop semblable" in response.content.decode()


# --- Détruire ---------------------------------------------------------------------------------


def test_detruire_asks_for_confirmation_then_deletes(admin_client, crm_user):
    url = reverse("user_delete", args=[crm_user.pk])
    page = admin_client.get(url).content.decode()
    assert "Cette action est définitive." in page and "Détruire définitivement" in page
    assert User.objects.filter(pk=crm_user.pk).exists()
    response = admin_client.post(url)
    assert response["Location"] == LIST_URL
    assert not User.objects.filter(pk=crm_user.pk).exists()
    assert "L&#x27;utilisateur BOB a été détruit." in admin_client.get(LIST_URL).content.decode()


def test_a_user_who_owns_activities_is_deactivated_instead_of_deleted(admin_client, crm_user):
    start = timezone.now()
    Activity.objects.create(owner=crm_user, subject="Rencontre", start=start, end=start + timedelta(hours=1))
    url = reverse("user_delete", args=[crm_user.pk])
    page = admin_client.get(url).content.decode()
    assert "ne peut pas être détruit : il possède 1 activité" in page
    assert reverse("user_deactivate", args=[crm_user.pk]) in page
    response = admin_client.post(url, follow=True)
    assert "Cet utilisateur ne peut pas être détruit : il est encore utilisé." in response.content.decode()
    assert User.objects.filter(pk=crm_user.pk).exists()
    admin_client.post(reverse("user_deactivate", args=[crm_user.pk]))
    crm_user.refresh_from_db()
    assert not crm_user.is_active


def test_administrator_cannot_delete_or_deactivate_themselves(admin_client, admin_user):
    detail = reverse("user_detail", args=[admin_user.pk])
    assert reverse("user_delete", args=[admin_user.pk]) not in admin_client.get(detail).content.decode()
    for url in (reverse("user_delete", args=[admin_user.pk]), reverse("user_deactivate", args=[admin_user.pk])):
        response = admin_client.post(url, follow=True)
        assert "Vous ne pouvez pas" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert admin_client.get(reverse("user_delete", args=[admin_user.pk]))["Location"] == detail
