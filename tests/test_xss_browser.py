"""No page renders hostile values unescaped: in a real Chromium, no injected script ever runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from crm.models import Activity, Contact, ContactGroup, ContactNote, Customer
from exchange.models import JournalEntry
from tests.hostile import EXTRAS, hostile_strings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Mot-de-passe-xss-2026"
SCRIPTS = [value for value in hostile_strings() if "<" in value or "javascript:" in value.lower()]


@pytest.fixture
def hostile_world(django_user_model):
    admin = django_user_model.objects.create_user(
        "ADMIN", PASSWORD, name=EXTRAS[0], email="admin@prextra.test", is_staff=True
    )
    group = ContactGroup.objects.get_or_create(code="EXC", defaults={"name": "Exchange"})[0]
    customer = Customer.objects.create(code="C1", name=EXTRAS[1], city=EXTRAS[2])
    now = timezone.now()
    for index, value in enumerate(SCRIPTS[:60]):
        owner = {"customer": customer} if index % 2 else {"group": group}
        contact = Contact.objects.create(
            first_name=value[:100], last_name=f"Xss{index}", title=value[:150], city=value[:100], **owner
        )
        ContactNote.objects.create(contact=contact, author=admin, text=value)
        JournalEntry.objects.create(
            user=admin,
            direction="contacts_in",
            action="skipped",
            item_label=value[:255],
            reasons=[{"code": "text", "params": {"text": value}}],
            changes={value: [value, value]},
        )
        start = now + timedelta(hours=index)
        Activity.objects.create(
            owner=admin, contact=contact, subject=value[:255], location=value[:255], notes=value,
            start=start, end=start + timedelta(minutes=30), source="outlook",
        )  # fmt: skip
    return admin


def _pages() -> list[str]:
    contact = Contact.objects.order_by("pk").first()
    group = ContactGroup.objects.get(code="EXC")
    names = [
        ("home", []),
        ("contact_search", []),
        ("contact_detail", [contact.pk]),
        ("contact_groups", []),
        ("contact_group_contacts", [group.pk]),
        ("journal", []),
        ("sync_status", []),
        ("user_list", []),
        ("calendar_month", []),
        ("calendar_day", []),
        ("imported_activities", []),
    ]
    urls = []
    for name, args in names:
        try:
            urls.append(reverse(name, args=args))
        except NoReverseMatch:
            continue
    return urls


def test_no_injected_script_runs_on_any_page(live_server, page, hostile_world):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")
    visited = []
    for url in _pages():
        response = page.goto(f"{live_server.url}{url}?q=%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E")
        assert response.status < 500, url
        page.wait_for_timeout(50)
        assert page.evaluate("() => window.__xss") is None, url
        visited.append(url)
    assert dialogs == []
    assert len(visited) >= 7
