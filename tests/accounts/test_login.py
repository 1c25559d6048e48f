"""Every page needs a login; the sign-in page is French first; the language follows the user (R2)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", ["home", "admin:index"])
def test_pages_redirect_anonymous_visitors_to_the_sign_in_page(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert "/connexion/" in response.url or "/admin/login/" in response.url


def test_sign_in_page_is_in_french_by_default(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert "Connexion à Prextra" in response.content.decode()
    assert response.headers["Content-Language"] == "fr-ca"


def test_administrator_signs_in_and_sees_the_administration_menu(client, admin_user):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Bonjour Alice Administratrice" in page
    assert "Administration Django" in page


def test_crm_user_does_not_see_the_administration_menu(client, crm_user):
    client.force_login(crm_user)
    page = client.get(reverse("home")).content.decode()
    assert "Administration Django" not in page


def test_wrong_password_is_refused_with_a_clear_message(client, crm_user):
    response = client.post(reverse("login"), {"username": "BOB", "password": "mauvais"})
    assert response.status_code == 200
    assert "Code d&#x27;utilisateur ou mot de passe invalide" in response.content.decode()


def test_user_language_english_switches_the_interface(client, crm_user):
    crm_user.language = "en"
    crm_user.save()
    client.force_login(crm_user)
    response = client.get(reverse("home"))
    assert response.headers["Content-Language"] == "en"
    assert "Hello Bob Bélanger" in response.content.decode()


def test_language_switch_is_saved_on_the_user_record(client, crm_user):
    client.force_login(crm_user)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    crm_user.refresh_from_db()
    assert crm_user.language == "en"


def test_language_and_csrf_cookies_are_out_of_reach_of_scripts(client, crm_user):
    """bin/scan (wapiti's cookieflags): no script reads them, so none may (htmx sends the page's token)."""
    client.force_login(crm_user)
    page = client.get(reverse("home"))
    assert page.cookies["csrftoken"]["httponly"]
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.cookies["django_language"]["httponly"]
    assert response.cookies["django_language"]["samesite"] == "Lax"


def test_language_switch_refuses_foreign_redirects(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "https://evil.example/"})
    assert response.url == "/"


def test_home_lists_only_the_users_own_upcoming_activities(client, crm_user, outsider):
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Activity

    start = timezone.now() + timedelta(days=1)
    Activity.objects.create(owner=crm_user, subject="Ma rencontre", start=start, end=start + timedelta(hours=1))
    Activity.objects.create(owner=outsider, subject="Secret de Charlie", start=start, end=start)
    client.force_login(crm_user)
    page = client.get(reverse("home")).content.decode()
    assert "Ma rencontre" in page
    assert "Secret de Charlie" not in page


def test_repeated_failures_throttle_the_sign_in(client, crm_user):
    for _attempt in range(5):
        client.post(reverse("login"), {"username": "BOB", "password": "mauvais"})
    response = client.post(reverse("login"), {"username": "BOB", "password": PASSWORD})
    assert "Trop de tentatives de connexion infructueuses" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_resets_the_failure_count(client, crm_user):
    for _attempt in range(4):
        client.post(reverse("login"), {"username": "BOB", "password": "mauvais"})
    client.post(reverse("login"), {"username": "BOB", "password": PASSWORD})
    client.logout()
    for _attempt in range(4):
        client.post(reverse("login"), {"username": "BOB", "password": "mauvais"})
    response = client.post(reverse("login"), {"username": "BOB", "password": PASSWORD}, follow=True)
    assert "Bonjour Bob Bélanger" in response.content.decode()


def test_the_django_admins_sign_in_is_throttled_with_the_same_counters(client, admin_user):
    """Otherwise /admin/login/ would let passwords be guessed at speed, around the product's page."""
    admin_login = reverse("admin:login")
    for _attempt in range(3):
        client.post(admin_login, {"username": "ALICE", "password": "mauvais"})
    for _attempt in range(2):
        client.post(reverse("login"), {"username": "ALICE", "password": "mauvais"})
    response = client.post(admin_login, {"username": "ALICE", "password": PASSWORD})
    assert "Trop de tentatives de connexion infructueuses" in response.content.decode()
    assert "_auth_user_id" not in client.session
