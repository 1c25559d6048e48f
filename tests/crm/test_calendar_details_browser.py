"""Small things of the calendars in a real headless Chromium: a new activity starts today or on
the day clicked (R17), a saved one is confirmed to screen readers, a multi-day activity shows on
its last day's time line up to its end (R18)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import Activity
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def _sign_in(page, live_server, code: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 960})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", code)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")


def _another_day_of_this_month(today: date) -> date:
    return today.replace(day=15 if today.day != 15 else 16)


def test_a_new_activity_starts_today_or_on_the_day_clicked_and_its_save_is_announced(live_server, page, crm_user):
    ARTIFACTS.mkdir(exist_ok=True)
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    _sign_in(page, live_server, "bob")
    today = timezone.localdate()
    page.goto(f"{live_server.url}/crm/calendrier/mois/")
    dialog = page.locator("dialog#activity-dialog")

    # R17: this month's « Nouvelle activité » starts today, not on the 1st.
    page.get_by_role("link", name="Nouvelle activité").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("#id_start_date")).to_have_value(f"{today:%Y-%m-%d}")
    expect(dialog.locator("#id_end_date")).to_have_value(f"{today:%Y-%m-%d}")
    page.screenshot(path=str(ARTIFACTS / "new_activity_today.png"), full_page=False)
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_have_count(0)

    # A day clicked: that day.
    other = _another_day_of_this_month(today)
    page.locator(f'td[data-day="{other:%Y-%m-%d}"] .cal-daynum').click()
    expect(page.locator(".cal-day-list")).to_contain_text(f"{other:%d/%m/%Y}")
    page.get_by_role("link", name="Nouvelle activité").click()
    expect(dialog.locator("#id_start_date")).to_have_value(f"{other:%Y-%m-%d}")

    # Saved: the dialog closes and the page's live region says so.
    dialog.get_by_label("Sujet").fill("Visite chez Finloc")
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(dialog).to_have_count(0)
    status = page.get_by_role("status")
    expect(status).to_contain_text("Activité enregistrée : Visite chez Finloc.")
    expect(page.locator(f'td[data-day="{other:%Y-%m-%d}"]')).to_contain_text("Visite chez Finloc")
    page.screenshot(path=str(ARTIFACTS / "activity_saved_message.png"), full_page=False)
    assert Activity.objects.get(subject="Visite chez Finloc").start == _at(other, 9)

    # Edited from the month: a new message replaces the first.
    page.locator(f'td[data-day="{other:%Y-%m-%d}"]').get_by_text("Visite chez Finloc").click()
    dialog.get_by_role("link", name="Modifier").click()
    dialog.get_by_label("Sujet").fill("Visite chez Finloc (révisée)")
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(dialog).to_have_count(0)
    expect(status).to_have_text("Activité enregistrée : Visite chez Finloc (révisée).")
    assert missing == []  # nothing the pages ask for is missing, the tab's icon included


def test_a_multi_day_activity_fills_its_last_days_time_line_up_to_its_end(live_server, page, crm_user):
    ARTIFACTS.mkdir(exist_ok=True)
    last_day = timezone.localdate() + timedelta(days=7)
    Activity.objects.create(
        owner=crm_user, subject="Salon de Québec", start=_at(last_day - timedelta(days=2), 14), end=_at(last_day, 11)
    )
    Activity.objects.create(owner=crm_user, subject="Appel", start=_at(last_day, 10), end=_at(last_day, 10, 30))
    _sign_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/crm/calendrier/jour/?day={last_day:%Y-%m-%d}")

    expect(page.locator(".cal-band")).to_contain_text("Salon de Québec")
    block = page.locator(".cal-block", has_text="Salon de Québec")
    expect(block).to_contain_text(f"{last_day - timedelta(days=2):%d/%m} 14:00 – 11:00")
    top = page.locator('.cal-slot[data-time="08:00"]').bounding_box()
    eleven = page.locator('.cal-slot[data-time="11:00"]').bounding_box()
    box = block.bounding_box()
    assert abs(box["y"] - top["y"]) <= 3  # from the top of the time line…
    assert abs(box["y"] + box["height"] - eleven["y"]) <= 6  # …down to 11:00
    call = page.locator(".cal-block", has_text="Appel").bounding_box()
    assert call["x"] >= box["x"] + box["width"] - 2  # side by side with the call it overlaps
    page.screenshot(path=str(ARTIFACTS / "calendar_day_last_day_of_multi_day.png"), full_page=True)

    # The day before its last, the band only.
    page.goto(f"{live_server.url}/crm/calendrier/jour/?day={last_day - timedelta(days=1):%Y-%m-%d}")
    expect(page.locator(".cal-band")).to_contain_text("Salon de Québec")
    expect(page.locator(".cal-block")).to_have_count(0)
