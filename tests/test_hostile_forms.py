"""Every form field of every screen takes the hostile strings: no server error, the
value never comes back unescaped, and what a form refuses is refused with the page answered.

Each form's fields are read from its own page (every input, select and textarea a person can
fill), then the form is sent once per hostile string with that string in every field: 502
strings × every form. GET forms (searches, filters) likewise through their query strings.

On PostgreSQL (the suite's second pass) the forms take the strings a database can treat
differently — control characters, anything beyond ASCII, the long ones — and every fourth of the
rest (printable ASCII, which reaches either database as the same query parameter): 14,000 page
requests per pass cost 14 minutes there. The embedded pass sends them all.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Setting
from crm.models import Activity, Contact, ContactGroup, Customer, EmailDomain, ErpImport
from tests.conftest import PASSWORD
from tests.hostile import hostile_strings

pytestmark = pytest.mark.django_db

FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.IGNORECASE)
SKIPPED = {"csrfmiddlewaretoken"}
# A value "comes back unescaped" when its markup appears as markup in the page.
MARKUP = [value for value in hostile_strings() if re.search(r"<[a-z!/]", value, re.IGNORECASE)]
PLAIN = re.compile(r"[ -~]{0,200}")  # printable ASCII, not long


def strings_for_this_database() -> list[str]:
    """Every hostile string on SQLite; on PostgreSQL those a database may treat differently and
    every fourth of the others (see the module's docstring)."""
    strings = list(hostile_strings())
    if not os.environ.get("DATABASE_URL"):
        return strings
    plain = [value for value in strings if PLAIN.fullmatch(value)]
    return [value for value in strings if not PLAIN.fullmatch(value)] + plain[::4]


@pytest.fixture
def screens(admin_user, crm_user):
    group = ContactGroup.objects.get_or_create(code="EXC", defaults={"name": "Exchange"})[0]
    contact = Contact.objects.create(first_name="Diane", last_name="Morin", email="diane@exemple.ca", group=group)
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    activity = Activity.objects.create(owner=admin_user, subject="Visite", start=start, end=start + timedelta(hours=1))
    setting, _created = Setting.objects.get_or_create(key="UserMaintenanceShowFields")
    setting.value = "btnexchange"
    setting.save()
    customer = Customer.objects.create(code="C0001", name="Finloc inc.")
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    run = ErpImport.objects.create(kind="customer", file_name="clients.csv", status=ErpImport.Status.PREVIEWED)
    return {
        "post": [
            reverse("customer_create"),
            reverse("customer_edit", args=[customer.pk]),
            reverse("customer_domain_add", args=[customer.pk]),
            reverse("user_create"),
            reverse("user_edit", args=[crm_user.pk]),
            reverse("user_exchange", args=[crm_user.pk]),
            reverse("setting_edit", args=[setting.pk]),
            reverse("graph_connection"),
            reverse("contact_group_create"),
            reverse("contact_group_edit", args=[group.pk]),
            reverse("contact_assign", args=[contact.pk]),
            reverse("contact_create"),
            reverse("contact_edit", args=[contact.pk]),
            reverse("activity_create"),
            reverse("activity_edit", args=[activity.pk]),
            reverse("erp_imports"),
        ],
        "get": [
            reverse("contact_search"),
            reverse("customer_list"),
            reverse("contact_groups"),
            reverse("contact_group_contacts", args=[group.pk]),
            reverse("user_list"),
            reverse("journal"),
            reverse("imported_activities"),
            reverse("calendar_month"),
            reverse("calendar_day"),
            reverse("activity_contacts") + "?contact_search=Mor",
            reverse("record_search") + "?record_search=Fin",
            reverse("erp_import_detail", args=[run.pk]),
        ],
    }


def _fields(client: Client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    names = {unescape(name) for name in FIELD.findall(response.content.decode())} - SKIPPED
    return sorted(names)


def _check(response, url: str, value: str) -> None:
    assert response.status_code in {200, 302, 400}, (url, value[:80], response.status_code)
    if value in MARKUP and response.status_code != 302:
        assert value not in response.content.decode(), (url, value[:80])


def test_there_are_at_least_500_strings_and_markup_among_them():
    assert len(hostile_strings()) >= 500 and len(MARKUP) >= 20


def test_postgresql_takes_every_string_beyond_printable_ascii(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://example/db")
    subset = strings_for_this_database()
    assert "\x00\x01\x02\x1b[31mrouge\x1b[0m" in subset and "x" * 100_000 in subset and "שלום עולם" in subset
    assert 190 <= len(subset) < len(hostile_strings()) / 2


def test_every_form_field_takes_every_hostile_string(admin_client, screens):
    tried = 0
    for url in screens["post"]:
        fields = _fields(admin_client, url)
        assert fields, url
        for value in strings_for_this_database():
            _check(admin_client.post(url, dict.fromkeys(fields, value)), url, value)
            tried += len(fields)
    assert tried >= 190 * 10


def test_every_search_and_filter_takes_every_hostile_string(admin_client, screens):
    for url in screens["get"]:
        fields = [name for name in _fields(admin_client, url) if name != "page"] or ["q"]
        for value in strings_for_this_database():
            _check(admin_client.get(url, dict.fromkeys(fields, value) | {"page": value}), url, value)


def test_the_sign_in_form_takes_every_hostile_string(client):
    url = reverse("login")
    for value in hostile_strings()[:200]:  # the throttle locks the address after twenty failures anyway
        response = client.post(url, {"username": value, "password": value})
        _check(response, url, value)


def test_the_sign_in_code_form_takes_every_hostile_string(client, django_user_model):
    """The email code page (R2 « Authentification par courriel »): a malformed code is no attempt,
    so the pending sign-in waits through them all; one that cancels it is started again."""
    django_user_model.objects.create_user("DIANE", PASSWORD, email="diane@prextra.test", email_authentication=True)
    url = reverse("login_code")

    def sign_in() -> None:
        cache.clear()  # the code-sending limit and the throttle would stop a long run
        assert client.post(reverse("login"), {"username": "DIANE", "password": PASSWORD}).url == url

    sign_in()
    fields = _fields(client, url)
    assert "code" in fields
    for value in hostile_strings():
        response = client.post(url, dict.fromkeys(fields, value))
        _check(response, url, value)
        if response.status_code == 302:
            sign_in()


def test_hostile_values_saved_through_forms_render_escaped_everywhere(admin_client, screens, admin_user):
    payload = "<script>window.__xss=1</script>"
    activity = Activity.objects.get(subject="Visite")
    day = timezone.localtime(activity.start)
    admin_client.post(
        reverse("activity_edit", args=[activity.pk]),
        {
            "subject": payload, "location": payload, "notes": payload, "visibility": "public",
            "start_date": f"{day:%Y-%m-%d}", "start_time": "09:00", "end_date": f"{day:%Y-%m-%d}", "end_time": "10:00",
        },
    )  # fmt: skip
    admin_client.post(
        reverse("contact_group_create"), {"code": "XSS", "name": payload, "description": payload, "is_active": "on"}
    )
    customer = Customer.objects.get(code="C0001")
    admin_client.post(reverse("customer_edit", args=[customer.pk]), {"code": "C0001", "name": payload, "city": payload})
    assert Activity.objects.get(pk=activity.pk).subject == payload
    assert ContactGroup.objects.filter(name=payload).exists()
    for url in [
        reverse("calendar_month") + f"?day={day:%Y-%m-%d}",
        reverse("calendar_day") + f"?day={day:%Y-%m-%d}",
        reverse("activity_detail", args=[activity.pk]),
        reverse("contact_groups"),
        reverse("customer_list"),
        reverse("customer_detail", args=[customer.pk]),
    ]:
        html = admin_client.get(url).content.decode()
        assert payload not in html and "&lt;script&gt;" in html, url
