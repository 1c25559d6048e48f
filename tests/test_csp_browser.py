"""The Content-Security-Policy holds on every page in a real Chromium: scripts only from
the site, no eval, and the pages' own behaviour (dialogs, contact search) still works under it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import Activity, Contact, ContactGroup
from prextra_sync.csp import POLICY
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    (event) => window.__violations.push(event.violatedDirective + " " + event.blockedURI));
"""
PAGES = [
    "home",
    "contact_search",
    "contact_groups",
    "calendar_month",
    "calendar_day",
    "imported_activities",
    "user_list",
    "journal",
    "sync_status",
    "graph_connection",
]


def _sign_in(page, base_url: str, code: str) -> None:
    page.goto(f"{base_url}/connexion/")
    page.fill("#id_username", code)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base_url}/")


def _violations(page) -> list[str]:
    return page.evaluate("() => window.__violations")


def test_every_page_keeps_the_policy_and_runs_no_inline_script(live_server, page, admin_user):
    page.add_init_script(RECORD_VIOLATIONS)
    _sign_in(page, live_server.url, admin_user.code)
    for name in PAGES:
        response = page.goto(f"{live_server.url}{reverse(name)}")
        assert response.status == 200, name
        assert response.headers["content-security-policy"] == POLICY
        page.wait_for_timeout(50)
        assert _violations(page) == [], name


def test_dialogs_and_the_contact_search_work_under_the_policy(live_server, page, crm_user):
    group = ContactGroup.objects.get_or_create(code="EXC", defaults={"name": "Exchange"})[0]
    Contact.objects.create(first_name="Diane", last_name="Morin", email="diane@exemple.ca", group=group)
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    Activity.objects.create(owner=crm_user, subject="Visite", start=start, end=start + timezone.timedelta(hours=1))
    page.add_init_script(RECORD_VIOLATIONS)
    _sign_in(page, live_server.url, crm_user.code)
    page.goto(f"{live_server.url}{reverse('calendar_day')}")
    page.get_by_role("link", name="Nouvelle activité").first.click()
    dialog = page.locator("#activity-dialog")
    expect(dialog).to_be_visible()
    page.fill("#id_contact_search", "Mor")
    page.locator("#activity-contact-results [data-value]").first.click()  # prextra.js chooses it…
    expect(page.locator("#id_contact_search")).to_have_value("Diane Morin <diane@exemple.ca>")
    assert page.locator("input[name=contact]").input_value() != ""
    page.fill("#id_contact_search", "")  # …and clears it when the box is emptied
    page.locator("#id_contact_search").dispatch_event("input")
    assert page.locator("input[name=contact]").input_value() == ""
    page.keyboard.press("Escape")  # the dialog leaves the page when it closes
    expect(page.locator("#activity-dialog")).to_have_count(0)
    assert _violations(page) == []
