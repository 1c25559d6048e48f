"""The sign-in page in a real headless Chromium: an administrator signs in and reaches the home page."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_administrator_signs_in_through_the_browser(live_server, page, django_user_model):
    django_user_model.objects.create_user(
        "ADMIN", DEMO_PASSWORD, name="Administrateur Prextra", email="admin@prextra.test", is_staff=True
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/")
    assert "/connexion/" in page.url
    assert page.locator("h1").inner_text() == "Connexion à Prextra"
    page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)

    page.fill("#id_username", "admin")
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Bonjour Administrateur Prextra"
    page.locator("summary", has_text="Administration").first.click()
    assert page.get_by_role("link", name="Administration Django").is_visible()
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)


def test_wrong_password_shows_a_clear_message_in_the_browser(live_server, page):
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "PERSONNE")
    page.fill("#id_password", "mauvais")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").inner_text().startswith("Code d'utilisateur ou mot de passe invalide")
