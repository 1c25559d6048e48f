"""In a real headless Chromium: an activity created far outside the synchronized window says, in
the dialog and on its card, when it will be sent to Outlook (nothing accepted is left unsent in silence)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import ExchangeProfile
from crm.models import Activity
from exchange.models import GraphConnection
from exchange.sync.window import enters_window_on
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True)
def _no_worker():
    """The save queues the push for the worker (tests/exchange covers it); no worker here."""
    with mock.patch("exchange.tasks.sync_user.delay", autospec=True) as delay:
        yield delay


@pytest.fixture
def sending(crm_user):
    """A Microsoft 365 connection (default window: 90 days back, 365 ahead); Bob sends his activities."""
    connection = GraphConnection(tenant_id="prextra", client_id="app")
    connection.set_secret("secret")
    connection.save()
    ExchangeProfile.objects.create(user=crm_user, sync_activities_out=True)
    return connection


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_default_timezone())


def test_an_activity_outside_the_window_says_when_it_reaches_outlook(live_server, page, crm_user, sending):
    ARTIFACTS.mkdir(exist_ok=True)
    far = timezone.localdate() + timedelta(days=500)
    sent_on = enters_window_on(_at(far, 10), _at(far, 11), sending, timezone.localdate())
    page.set_viewport_size({"width": 1440, "height": 960})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/crm/calendrier/mois/?month={far:%Y-%m}&day={far:%Y-%m-%d}")
    page.get_by_role("link", name="Nouvelle activité").click()
    dialog = page.locator("dialog#activity-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Sujet").fill("Salon Expo Manufacturier")
    dialog.locator("#id_start_date").fill(f"{far:%Y-%m-%d}")
    dialog.locator("#id_start_time").fill("10:00")
    dialog.locator("#id_end_date").fill(f"{far:%Y-%m-%d}")
    dialog.locator("#id_end_time").fill("11:00")
    dialog.get_by_role("button", name="Enregistrer").click()

    # Accepted, and the dialog says when (jj/mm/aaaa) instead of closing in silence.
    notice = dialog.locator("[data-outlook-notice]")
    expect(notice).to_have_text(
        f"Activité enregistrée. Cette activité sera envoyée à Outlook le {sent_on:%d/%m/%Y}, "
        "quand elle entrera dans la période synchronisée."
    )
    assert Activity.objects.get().subject == "Salon Expo Manufacturier"
    page.screenshot(path=str(ARTIFACTS / "activity_window_notice.png"), full_page=False)
    dialog.get_by_role("button", name="Fermer").click()
    expect(dialog).to_have_count(0)

    # The calendar behind was refreshed: the card is marked, the day's list says the state.
    cell = page.locator(f'td[data-day="{far:%Y-%m-%d}"]')
    expect(cell.locator(".cal-entry.cal-held")).to_contain_text("Salon Expo Manufacturier")
    state = f"Sera envoyée à Outlook le {sent_on:%d/%m/%Y}"
    expect(page.locator(".cal-day-list [data-outlook-state]")).to_have_text(state)
    page.screenshot(path=str(ARTIFACTS / "activity_window_card.png"), full_page=True)

    page.goto(f"{live_server.url}/crm/calendrier/jour/?day={far:%Y-%m-%d}")
    expect(page.locator(".cal-block.cal-held [data-outlook-state]")).to_have_text(state)
    page.screenshot(path=str(ARTIFACTS / "activity_window_day.png"), full_page=True)
