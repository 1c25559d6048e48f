"""The user record's security fields in a real headless Chromium (R2): sign-in with the code sent
by email, and a deactivated user's next page is the sign-in page, which says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from playwright.sync_api import expect

from accounts.middleware import LAST_ACTIVITY_KEY
from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _password(page, base_url: str, code: str) -> None:
    page.goto(f"{base_url}/connexion/")
    page.fill("#id_username", code)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_sign_in_with_the_code_sent_by_email(live_server, page, django_user_model):
    django_user_model.objects.create_user(
        "DIANE", PASSWORD, name="Diane Morin", email="diane@prextra.test", email_authentication=True
    )
    ARTIFACTS.mkdir(exist_ok=True)
    _password(page, live_server.url, "diane")
    page.wait_for_url(f"{live_server.url}/connexion/code/")
    expect(page.locator("h1")).to_have_text("Code de connexion")
    expect(page.locator("#id_code")).to_be_focused()
    expect(page.locator("main")).to_contain_text("d•••@prextra.test")
    assert len(mail.outbox) == 1  # the live server runs in this process: Django's outbox is shared
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)

    page.fill("#id_code", "000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("alert")).to_have_text("Ce code n'est pas le bon. Il vous reste 4 essais.")
    page.screenshot(path=str(ARTIFACTS / "login_code.png"), full_page=True)

    page.fill("#id_code", f"{code[:3]} {code[3:]}")
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Bonjour Diane Morin")


def test_a_deactivated_users_next_page_is_the_sign_in_page(live_server, page, django_user_model):
    bob = django_user_model.objects.create_user("BOB", PASSWORD, name="Bob Bélanger", email="bob@prextra.test")
    _password(page, live_server.url, "bob")
    page.wait_for_url(f"{live_server.url}/")
    User.objects.filter(pk=bob.pk).update(is_active=False)  # an administrator unticks « Actif »
    page.get_by_role("link", name="PreXtra").first.click()
    page.wait_for_url(re.compile(r"/connexion/\?next="))
    expect(page.locator("#messages")).to_contain_text("Votre compte n'est plus actif.")
    page.screenshot(path=str(ARTIFACTS / "login_deactivated.png"), full_page=True)


def test_an_idle_session_ends_with_its_reason(live_server, page, django_user_model):
    django_user_model.objects.create_user(
        "BOB", PASSWORD, name="Bob Bélanger", email="bob@prextra.test", connection_expiry=15
    )
    _password(page, live_server.url, "bob")
    page.wait_for_url(f"{live_server.url}/")
    _age_session(17 * 60)  # seventeen idle minutes pass: the session's stamp says so
    page.reload()
    page.wait_for_url(re.compile(r"/connexion/\?next="))
    expect(page.locator("#messages")).to_contain_text("Votre session a expiré après 15 minutes d'inactivité.")


def _age_session(seconds: int) -> None:
    session = Session.objects.get()
    data = session.get_decoded()
    data[LAST_ACTIVITY_KEY] -= seconds
    Session.objects.filter(pk=session.pk).update(session_data=Session.objects.encode(data))


def test_a_screen_refreshing_itself_does_not_keep_an_idle_session(live_server, page, django_user_model):
    """Synchronisations refreshes every 15 s: those requests are marked as no activity, and the one
    after the idle time sends the whole page to the sign-in page."""
    django_user_model.objects.create_user(
        "ALICE", PASSWORD, name="Alice", email="alice@prextra.test", is_staff=True, connection_expiry=15
    )
    _password(page, live_server.url, "alice")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/administration/synchronisation/")
    _age_session(17 * 60)
    with page.expect_request(lambda request: "X-Prextra-Poll".lower() in request.headers, timeout=20_000) as poll:
        page.wait_for_url(re.compile(r"/connexion/"), timeout=20_000)
    assert poll.value.headers["x-prextra-poll"] == "1"
    expect(page.locator("#messages")).to_contain_text("Votre session a expiré après 15 minutes d'inactivité.")
