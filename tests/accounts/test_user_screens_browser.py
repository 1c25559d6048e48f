"""Users and the Exchange dialog in a real headless Chromium (R2, R3, R4, R20)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, ExchangeProfile, Setting
from exchange.models import Direction, GraphConnection, SyncState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "Mot-de-passe-du-test-2025"


@pytest.fixture
def world(django_user_model):
    """The Exchange button and a connection (a transactional test may find the migrations' rows flushed),
    an administrator and a few users."""
    Setting.objects.update_or_create(key=USER_MAINTENANCE_SHOW_FIELDS, defaults={"value": "btnexchange"})
    connection = GraphConnection(tenant_id="prextra-demo", client_id="prextra-sync-demo")
    connection.set_secret("x")
    connection.save()
    django_user_model.objects.create_user(
        "ADMIN", PASSWORD, name="Administrateur Prextra", email="admin@prextra.test", is_staff=True
    )
    for code, name in [("JGAGNON", "Julie Gagnon"), ("PLEBLANC", "Pierre Leblanc"), ("SROY", "Sophie Roy")]:
        django_user_model.objects.create_user(code, PASSWORD, name=name, email=f"{code.lower()}@prextra.test")
    user = django_user_model.objects.create_user(
        "MTREMBLAY", PASSWORD, name="Marie Tremblay", email="marie.tremblay@prextra.test", signature="Marie"
    )
    stamp = datetime(2022, 11, 11, 16, 31, 43, tzinfo=UTC)
    SyncState.objects.create(user=user, direction=Direction.ACTIVITIES_IN, last_success_at=stamp, last_attempt_at=stamp)
    return user


def test_administrator_switches_exchange_on_for_a_user(live_server, page, world, monkeypatch):
    monkeypatch.setattr("exchange.views.enqueue_first_sync", lambda user: None)
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")

    page.locator("summary", has_text="Administration").first.click()
    page.get_by_role("link", name="Utilisateurs").click()
    expect(page.locator("h1")).to_have_text("Utilisateurs")
    expect(page.locator(".pager-count")).to_contain_text("Élément(s) 1 à 5 sur 5")
    page.screenshot(path=str(ARTIFACTS / "users.png"), full_page=True)

    page.get_by_role("link", name="MTREMBLAY").click()
    expect(page.locator("h1")).to_have_text("MTREMBLAY – Marie Tremblay")
    page.screenshot(path=str(ARTIFACTS / "user_detail.png"), full_page=True)

    page.get_by_role("link", name="Exchange").click()
    dialog = page.locator("dialog#exchange-dialog")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("element => element.matches(':modal')")
    expect(dialog).to_contain_text("Dernière sync. d'activités (Exchange à Prextra) : 11/11/2022 11:31:43")
    for label in (
        "Sync. contacts d'Exchange à Prextra :",
        "Sync. activités Exchange à Prextra :",
        "Sync. activités Prextra à Exchange :",
    ):
        dialog.get_by_label(label).check()
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(dialog.get_by_role("status")).to_have_text(
        "Enregistré. La première synchronisation démarre : résultat dans environ 10 secondes."
    )
    expect(dialog.get_by_label("Sync. activités Prextra à Exchange :")).to_be_checked()
    page.screenshot(path=str(ARTIFACTS / "exchange_dialog.png"), full_page=True)
    profile = ExchangeProfile.objects.get(user=world)
    assert profile.sync_contacts_in and profile.sync_activities_in and profile.sync_activities_out

    dialog.get_by_role("button", name="Fermer").click()
    expect(page.locator("dialog#exchange-dialog")).to_have_count(0)
    expect(page.locator("h1")).to_have_text("MTREMBLAY – Marie Tremblay")

    page.get_by_role("link", name="Modifier").click()
    page.fill("#id_rows_per_page", "2")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert").first).to_contain_text("corrigez les champs signalés")
    expect(page.locator("#id_name")).to_have_value("Marie Tremblay")
    page.screenshot(path=str(ARTIFACTS / "user_form.png"), full_page=True)
