"""The whole loop in a real headless Chromium: switches saved, a real sync against the emulator,
the stamps moving, a skipped contact found in the journal with its reason, the status screen,
and the language switched to English and back (R4, R7, R20)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, Setting
from exchange.models import GraphConnection
from graph_emulator import tls

from .https_app import HttpsApp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "Mot-de-passe-du-test-2026"


@pytest.fixture
def public(graph_emulator, settings):
    """The product's notification endpoint on real HTTPS (PREXTRA_PUBLIC_URL), beside live_server."""
    folder = Path(graph_emulator.ca_file).parent
    with HttpsApp(folder / tls.CERT_FILE, folder / tls.KEY_FILE) as app:
        settings.PREXTRA_PUBLIC_URL = app.url
        yield app
    graph_emulator.book.clear()
    graph_emulator.notifier.clear()


@pytest.fixture
def world(django_user_model, graph_emulator, settings, public):
    # The sync runs inside the request (eager Celery) against the emulator over HTTPS; the first
    # sync subscribes the mailbox to change notifications, validated by the emulator.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    Setting.objects.update_or_create(key=USER_MAINTENANCE_SHOW_FIELDS, defaults={"value": "btnexchange"})
    connection = GraphConnection(
        tenant_id="prextra-demo",
        client_id="prextra-sync-demo",
        authority_host=graph_emulator.base_url,
        graph_url=graph_emulator.graph_url,
        ca_file=str(graph_emulator.ca_file),
    )
    connection.set_secret("demo-secret")
    connection.save()
    django_user_model.objects.create_user(
        "ADMIN", PASSWORD, name="Admin Prextra", email="a@prextra.test", is_staff=True
    )
    address = f"m{uuid.uuid4().hex[:8]}@prextra-demo.ca"
    graph_emulator.add_mailbox(address)
    mailbox = graph_emulator.mailbox(address)
    graph_emulator.store.create_contact(mailbox, {"givenName": "Gaston", "surname": "Lagaffe"})
    graph_emulator.store.create_contact(
        mailbox, {"givenName": "Luc", "surname": "Roy", "emailAddresses": [{"address": "luc@finloc.com"}]}
    )
    return django_user_model.objects.create_user("MTREMBLAY", PASSWORD, name="Marie Tremblay", email=address)


def _sign_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")


def test_switches_sync_stamps_journal_and_language(live_server, page, world):
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server)

    page.goto(f"{live_server.url}/administration/utilisateurs/{world.pk}/")
    page.get_by_role("link", name="Exchange").click()
    dialog = page.locator("dialog#exchange-dialog")
    expect(dialog).to_contain_text("Dernière sync. de contacts (Exchange à Prextra) : Jamais")
    dialog.get_by_label("Sync. contacts d'Exchange à Prextra :").check()
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(dialog.get_by_role("status")).to_contain_text("La première synchronisation démarre")
    page.reload()
    page.get_by_role("link", name="Exchange").click()
    expect(page.locator("dialog#exchange-dialog")).not_to_contain_text(
        "Dernière sync. de contacts (Exchange à Prextra) : Jamais"
    )

    page.goto(f"{live_server.url}/administration/journal/?q=Lagaffe")
    row = page.locator("#results tbody tr").first
    expect(row).to_contain_text("Gaston Lagaffe")
    expect(row).to_contain_text("Ignoré : pas de courriel.")
    page.screenshot(path=str(ARTIFACTS / "journal.png"), full_page=True)

    page.goto(f"{live_server.url}/administration/synchronisation/")
    expect(page.locator("#statuses")).to_contain_text("1 créé, 0 modifié, 0 désactivé, 1 ignoré, 0 en erreur")
    expect(page.locator("body")).to_contain_text("Notifications d'Outlook actives")
    contacts_row = page.locator("#statuses tbody tr").filter(has_text="Contacts Exchange → Prextra")
    expect(contacts_row).to_contain_text("Active")
    expect(contacts_row).to_contain_text("jusqu'au")
    page.screenshot(path=str(ARTIFACTS / "sync_status.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Synchronization status")
    expect(page.locator("#statuses")).to_contain_text("1 created, 0 updated, 0 deactivated, 1 skipped, 0 failed")
    page.screenshot(path=str(ARTIFACTS / "sync_status_en.png"), full_page=True)
    page.get_by_role("button", name="Français").click()
    expect(page.locator("h1")).to_have_text("État de la synchronisation")


def test_the_journal_reads_in_english_one_line_per_recurring_series(live_server, page, world, graph_emulator):
    """#17: reasons stored as codes read in the viewer's language, without rule numbers; a
    recurring series is one line, not one per occurrence (R13)."""
    from django.utils import timezone

    from accounts.models import ExchangeProfile
    from exchange.sync.activities import sync_activities

    ARTIFACTS.mkdir(exist_ok=True)
    day = timezone.localdate()
    series = {
        "subject": "Mêlée quotidienne",
        "start": {"dateTime": f"{day}T09:00:00", "timeZone": "America/Toronto"},
        "end": {"dateTime": f"{day}T09:15:00", "timeZone": "America/Toronto"},
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": f"{day}", "numberOfOccurrences": 11},
        },
    }
    graph_emulator.store.create_event(graph_emulator.mailbox(world.email), series)
    ExchangeProfile.objects.update_or_create(user=world, defaults={"sync_activities_in": True})
    sync_activities(world)

    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server)
    page.get_by_role("button", name="English").click()
    page.goto(f"{live_server.url}/administration/journal/?q=Mêlée")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Skipped: recurring series (11 occurrences in the period).")
    expect(page.locator("#results")).not_to_contain_text("R13")
    expect(page.locator("#results")).not_to_contain_text("Ignoré")
    page.screenshot(path=str(ARTIFACTS / "journal_en.png"), full_page=True)
    page.get_by_role("button", name="Français").click()
