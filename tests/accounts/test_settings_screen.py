"""Administration › Configuration (R3): the values, and btnexchange switching the Exchange button on."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, Setting

pytestmark = pytest.mark.django_db
LIST_URL = reverse("settings_list")


@pytest.fixture
def show_fields(db):
    """The row the data migration seeds, empty as Prextra ships it."""
    return Setting.objects.get(key=USER_MAINTENANCE_SHOW_FIELDS)


def test_list_shows_keys_values_and_descriptions_R3(admin_client, show_fields):
    html = unescape(admin_client.get(LIST_URL).content.decode())
    assert USER_MAINTENANCE_SHOW_FIELDS in html
    assert "Ajoutez « btnexchange » pour afficher le bouton « Exchange »." in html
    assert reverse("setting_edit", args=[show_fields.pk]) in html


def test_list_htmx_request_returns_only_the_results_partial(admin_client, show_fields):
    response = admin_client.get(LIST_URL, {"sort": "-key"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"') and "<html" not in html


def test_adding_btnexchange_shows_the_exchange_button_at_once_R3(admin_client, crm_user, show_fields):
    detail = reverse("user_detail", args=[crm_user.pk])
    exchange = reverse("user_exchange", args=[crm_user.pk])
    assert exchange not in admin_client.get(detail).content.decode()
    response = admin_client.post(reverse("setting_edit", args=[show_fields.pk]), {"value": " btnautre;BtnExchange "})
    assert response["Location"] == LIST_URL
    show_fields.refresh_from_db()
    assert show_fields.value == "btnautre;BtnExchange"
    assert "btnautre;BtnExchange" in admin_client.get(LIST_URL).content.decode()
    assert exchange in admin_client.get(detail).content.decode()


def test_removing_btnexchange_hides_the_button_R3(admin_client, crm_user, exchange_button):
    detail = reverse("user_detail", args=[crm_user.pk])
    assert ">Exchange</a>" in admin_client.get(detail).content.decode()
    admin_client.post(reverse("setting_edit", args=[exchange_button.pk]), {"value": "btnsomething"})
    assert ">Exchange</a>" not in admin_client.get(detail).content.decode()


def test_a_value_too_long_is_refused_with_a_clear_message(admin_client, show_fields):
    response = admin_client.post(reverse("setting_edit", args=[show_fields.pk]), {"value": "x" * 4001})
    assert response.status_code == 400
    assert "La valeur est trop longue (4000 caractères au plus)." in response.content.decode()
    show_fields.refresh_from_db()
    assert show_fields.value == ""


def test_hostile_values_are_escaped(admin_client, show_fields):
    admin_client.post(reverse("setting_edit", args=[show_fields.pk]), {"value": "<b onmouseover=alert(1)>x</b>"})
    for url in (LIST_URL, reverse("setting_edit", args=[show_fields.pk])):
        html = admin_client.get(url).content.decode()
        assert "<b onmouseover" not in html and "&lt;b onmouseover=alert(1)&gt;" in html, url
