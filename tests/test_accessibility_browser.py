"""Accessibility checked by axe-core in a real Chromium: every page of the access matrix that the
role may open, for an administrator and a CRM user, in French and in English, and the dialogs
open (activity, contact picker, Exchange). Any "critical" or "serious" violation fails.

One sign-in per role and language, one load per page; the report names the rule, the page and
the elements (CSS selectors) so the fix can start from the message alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, Setting
from crm.models import EXCHANGE_GROUP_CODE, Activity, Contact, ContactGroup
from tests.conftest import PASSWORD
from tests.test_access_matrix import MATRIX, OK, ROLES
from tests.test_access_matrix import world as matrix_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BLOCKING = {"critical", "serious"}
# Django's own admin is not our markup: its accessibility is Django's to keep. The contact
# and record pickers' results are fragments, not pages: they are checked open in their page.
NOT_SCREENS = {"admin:index", "activity_contacts", "record_search"}
AXE = Axe()


@pytest.fixture
def world(crm_user, outsider, admin_user):
    """The access matrix's world; a transactional test may find the migrations' setting flushed."""
    Setting.objects.get_or_create(key=USER_MAINTENANCE_SHOW_FIELDS, defaults={"value": ""})
    return matrix_world.__wrapped__(crm_user, outsider, admin_user)


def pages_for(role: str) -> list[tuple[str, str | None]]:
    """The GET rows of the matrix that `role` may open (each once)."""
    column = ROLES.index(role)
    rows = [(name, key) for name, key, method, expected in MATRIX if method == "get" and expected[column] == OK]
    return [row for row in dict.fromkeys(rows) if row[0] not in NOT_SCREENS]


def blocking_violations(page, where: str) -> list[str]:
    """axe-core on the page as it stands: one line per critical or serious rule broken."""
    results = AXE.run(page)
    return [
        f"{where}: {violation['id']} ({violation['impact']}, {len(violation['nodes'])}×) "
        f"{violation['help']} → {', '.join(' '.join(node['target']) for node in violation['nodes'][:8])}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


def _sign_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}/connexion/")
    page.fill("#id_username", user.code)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def _dialogs(page, base_url: str, world, role: str) -> list[str]:
    """Open each dialog as a user does and check the page with it open."""
    found = []
    page.goto(f"{base_url}{reverse('calendar_day')}")
    page.locator(".cal-actions a.primary").click()
    expect(page.locator("#activity-dialog")).to_be_visible()
    found += blocking_violations(page, "calendar_day + activity dialog")
    page.fill("#id_contact_search", "Mor")
    expect(page.locator("#activity-contact-results [role=option]").first).to_be_visible()
    found += blocking_violations(page, "calendar_day + activity dialog + contact results")
    page.locator("#activity-dialog button[form=activity-dialog-close]").click()
    expect(page.locator("#activity-dialog")).to_have_count(0)

    public = Activity.objects.get(pk=world["args"]["public"][0])
    bob, day = world["users"]["crm"], timezone.localdate(public.start).isoformat()
    page.goto(f"{base_url}{reverse('calendar_day')}?user={bob.pk}&day={day}")
    page.locator("#calendar a[hx-get]").filter(has_text="Visite publique").first.click()
    expect(page.locator("#activity-dialog")).to_be_visible()
    found += blocking_violations(page, "calendar_day + activity detail dialog")
    page.keyboard.press("Escape")

    page.goto(f"{base_url}{reverse('contact_detail', args=world['args']['contact'])}")
    page.fill("#id_record_search", "Fiche")
    expect(page.locator("#record-search-results [role=option]").first).to_be_visible()
    found += blocking_violations(page, "contact_detail + record picker results")

    page.goto(f"{base_url}{reverse('home')}")
    page.locator("nav.menu summary").first.click()
    found += blocking_violations(page, "home + menu open")
    if role == "admin":
        page.goto(f"{base_url}{reverse('user_detail', args=world['args']['bob'])}")
        page.locator("a[href*='exchange']").first.click()
        expect(page.locator("dialog#exchange-dialog")).to_be_visible()
        found += blocking_violations(page, "user_detail + Exchange dialog")
    return found


@pytest.mark.parametrize("language", ["fr-ca", "en"])
@pytest.mark.parametrize("role", ["admin", "crm"])
def test_no_critical_or_serious_violation_on_any_screen(live_server, page, world, role, language):
    user = world["users"][role]
    user.language = language
    user.save(update_fields=["language"])
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server.url, user)
    expect(page.locator("html")).to_have_attribute("lang", language)  # the user's language (R2)
    found = []
    for name, key in pages_for(role):
        response = page.goto(f"{live_server.url}{reverse(name, args=world['args'][key] if key else [])}")
        assert response.status == 200, name
        found += blocking_violations(page, f"{name}({key or ''})")
    found += _dialogs(page, live_server.url, world, role)
    assert found == [], f"{len(found)} blocking accessibility violation(s) [{role}, {language}]:\n" + "\n".join(found)


def test_the_sign_in_page_has_no_critical_or_serious_violation(live_server, page):
    page.goto(f"{live_server.url}/connexion/")
    found = blocking_violations(page, "login (fr-ca)")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    found += blocking_violations(page, "login (en)")
    assert found == [], "\n".join(found)


def test_the_sign_in_code_page_has_no_critical_or_serious_violation(live_server, page, django_user_model):
    """The email code page (R2 « Authentification par courriel »), as shown and with a wrong code."""
    django_user_model.objects.create_user("DIANE", PASSWORD, email="diane@prextra.test", email_authentication=True)
    found = []
    for language, button in (("fr-ca", "Se connecter"), ("en", "Sign in")):
        page.goto(f"{live_server.url}/connexion/")
        if language == "en":
            page.get_by_role("button", name="English").click()
        page.fill("#id_username", "DIANE")
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name=button).click()
        page.wait_for_url(f"{live_server.url}{reverse('login_code')}")
        found += blocking_violations(page, f"login_code ({language})")
        page.fill("#id_code", "12")
        page.locator("main button[type=submit]").click()
        expect(page.get_by_role("alert")).to_be_visible()
        found += blocking_violations(page, f"login_code with an error ({language})")
    assert found == [], "\n".join(found)


def _focused(page) -> str:
    return page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()")


def test_the_skip_link_and_the_menu_work_from_the_keyboard(live_server, page, admin_user):
    _sign_in(page, live_server.url, admin_user)  # an administrator's menu has several sections
    page.keyboard.press("Tab")  # the first stop, shown while focused
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.screenshot(path=str(ARTIFACTS / "skip_link.png"))
    page.keyboard.press("Enter")
    assert _focused(page) == "content"

    first, second = page.locator("details[data-menu-section]").first, page.locator("details[data-menu-section]").nth(1)
    first.locator("summary").click()
    expect(first).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(first).not_to_have_attribute("open", "")
    expect(first.locator("summary")).to_be_focused()

    page.keyboard.press("Enter")  # the summary opens it again; Tab into its links, Escape
    expect(first).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(first).not_to_have_attribute("open", "")
    expect(first.locator("summary")).to_be_focused()

    first.locator("summary").click()
    second.locator("summary").click()  # one section at a time
    expect(first).not_to_have_attribute("open", "")
    expect(second).to_have_attribute("open", "")
    page.locator("main").click(position={"x": 5, "y": 5})  # a click elsewhere closes it
    expect(second).not_to_have_attribute("open", "")


def test_the_contact_picker_works_from_the_keyboard(live_server, page, crm_user):
    group = ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})[0]
    diane = Contact.objects.create(first_name="Diane", last_name="Morin", email="diane@exemple.ca", group=group)
    marc = Contact.objects.create(first_name="Marc", last_name="Morel", email="marc@exemple.ca", group=group)
    _sign_in(page, live_server.url, crm_user)
    page.goto(f"{live_server.url}{reverse('calendar_day')}")
    page.locator(".cal-actions a.primary").click()
    dialog, box = page.locator("#activity-dialog"), page.locator("#id_contact_search")
    expect(dialog).to_be_visible()
    box.press_sequentially("Mor")
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(2)  # Morel, Morin: by last name
    expect(box).to_have_attribute("aria-expanded", "true")

    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", f"activity-contact-{marc.pk}")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    box.press("ArrowDown")  # past the last, back to the first
    box.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", f"activity-contact-{diane.pk}")
    page.screenshot(path=str(ARTIFACTS / "contact_picker_keyboard.png"))
    box.press("Enter")  # chooses, and does not submit the form
    expect(box).to_have_value("Diane Morin <diane@exemple.ca>")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(options).to_have_count(0)
    assert page.locator("input[name=contact]").input_value() == str(diane.pk)
    expect(dialog).to_be_visible()
    assert not Activity.objects.exists()

    box.fill("")
    box.press_sequentially("Morel")
    expect(options).to_have_count(1)
    box.press("Escape")  # closes the results, not the dialog
    expect(options).to_have_count(0)
    expect(dialog).to_be_visible()
    box.press_sequentially(" ")
    expect(options).to_have_count(1)
    options.first.click()  # a click chooses too, and the focus stays in the box
    expect(box).to_have_value("Marc Morel <marc@exemple.ca>")
    expect(box).to_be_focused()
    assert page.locator("input[name=contact]").input_value() == str(marc.pk)
