"""Only administrators see or change users, their Exchange switches and the configuration (R2, R3, R4)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ExchangeProfile, Setting

pytestmark = pytest.mark.django_db


def _urls(user_pk: int, setting_pk: int) -> list[str]:
    return [
        reverse("user_list"),
        reverse("user_create"),
        reverse("user_detail", args=[user_pk]),
        reverse("user_edit", args=[user_pk]),
        reverse("user_delete", args=[user_pk]),
        reverse("user_deactivate", args=[user_pk]),
        reverse("user_exchange", args=[user_pk]),
        reverse("settings_list"),
        reverse("setting_edit", args=[setting_pk]),
    ]


@pytest.fixture
def urls(outsider, exchange_button):
    return _urls(outsider.pk, exchange_button.pk)


def test_anonymous_visitors_are_sent_to_sign_in(client, urls):
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/connexion/"), url


def test_crm_staff_get_403_on_every_administrator_screen(client, crm_user, outsider, urls):
    client.force_login(crm_user)
    for url in urls:
        # A POST-only action answers a GET with 405 before it looks at who asks; never with the page.
        assert client.get(url).status_code in ({403, 405} if url.endswith("/desactiver/") else {403}), url
        assert client.post(url, {"is_active": "", "value": "x", "sync_contacts_in": "on"}).status_code == 403, url
    outsider.refresh_from_db()
    assert outsider.is_active
    assert not ExchangeProfile.objects.filter(user=outsider).exists()
    assert "x" not in Setting.objects.values_list("value", flat=True)


def test_administrators_open_every_screen(admin_client, urls):
    for url in urls:
        # Deactivating is a POST-only action (its POST is tested in test_user_maintenance).
        expected = 405 if url.endswith("/desactiver/") else 200
        assert admin_client.get(url).status_code == expected, url


def test_crm_staff_do_not_see_the_administration_entries(client, crm_user, admin_user):
    client.force_login(crm_user)
    page = client.get(reverse("home")).content.decode()
    assert reverse("user_list") not in page
    assert reverse("settings_list") not in page
    client.force_login(admin_user)
    page = client.get(reverse("home")).content.decode()
    assert reverse("user_list") in page
    assert reverse("settings_list") in page
