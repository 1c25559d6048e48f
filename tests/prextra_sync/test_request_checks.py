"""The checks of every request found by bin/scan (prextra_sync/request_checks.py): screens answer
GET, HEAD and POST only (OPTIONS answered with the page itself); a NUL in a parameter is a 400
page (PostgreSQL refuses it: the Django admin's list filters answered 500)."""

from __future__ import annotations

import pytest
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND"])
@pytest.mark.parametrize("url_name", ["home", "contact_search", "login"])
def test_other_methods_are_not_allowed(client, crm_user, method, url_name):
    client.force_login(crm_user)
    response = client.generic(method, reverse(url_name))
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert response.headers["Content-Security-Policy"]  # the security headers are on it too
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_get_head_and_post_still_reach_the_screens(client, crm_user):
    client.force_login(crm_user)
    assert client.get(reverse("contact_search")).status_code == 200
    assert client.head(reverse("contact_search")).status_code == 200
    answer = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert answer.status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["province=%00", "country=QC%00", "q=%2Fetc%2Fpasswd%00", "x%00=1"])
def test_a_nul_in_the_admins_filters_is_a_400_page_not_a_500(client, admin_user, query):
    admin_user.is_superuser = True  # as createsuperuser makes the first administrator
    admin_user.save()
    client.force_login(admin_user)
    response = client.get(f"/admin/crm/customer/?{query}")
    assert response.status_code == 400
    assert "Requête invalide" in response.content.decode()
    assert client.get("/admin/crm/customer/?province=QC").status_code == 200


@pytest.mark.django_db
def test_a_nul_in_a_posted_form_is_a_400_page(client, crm_user):
    client.force_login(crm_user)
    response = client.post(reverse("set_language"), {"language": "en\x00", "next": "/"})
    assert response.status_code == 400
    assert "Requête invalide" in response.content.decode()
    crm_user.refresh_from_db()
    assert crm_user.language != "en"


@pytest.mark.django_db
def test_the_sign_in_page_refuses_a_nul_too(client):
    response = client.get(reverse("login") + "?next=/%00")
    assert response.status_code == 400
