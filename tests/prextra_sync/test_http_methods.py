"""Screens answer GET, HEAD and POST only; any other method gets 405 with the Allow header
(found by bin/scan: OPTIONS answered with the page itself)."""

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
