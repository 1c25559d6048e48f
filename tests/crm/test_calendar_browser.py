"""The activity calendars in a real headless Chromium: months, the dialog, create / edit / delete,
the daily time line, privacy from a second user's session, the imported list (R15, R17–R19)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.calendar import add_months, local_midnight
from crm.models import Activity, Contact, Customer
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MONTHS = [
    "Janvier",
    "Février",
    "Mars",
    "Avril",
    "Mai",
    "Juin",
    "Juillet",
    "Août",
    "Septembre",
    "Octobre",
    "Novembre",
    "Décembre",
]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A French-Canadian browser, as the customer's: 24-hour time inputs, dates as the screens show them."""
    return {**browser_context_args, "locale": "fr-CA", "timezone_id": "America/Toronto"}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


@pytest.fixture
def next_month() -> date:
    return add_months(timezone.localdate(), 1)


@pytest.fixture
def agenda(crm_user, outsider, next_month):
    """Bob's next month, as in the customer's October 2022: Outlook follow-ups, presentations, a trade show."""
    finloc = Customer.objects.create(code="C0001", name="Finloc inc.", city="Québec")
    david = Contact.objects.create(
        first_name="David", last_name="Veilleux", email="david.veilleux@finloc.com", customer=finloc
    )
    Contact.objects.create(first_name="Diane", last_name="Morin", email="diane.morin@groupecanam.com", customer=finloc)
    day = next_month.replace(day=10)
    outlook = {"source": Activity.Source.OUTLOOK}
    Activity.objects.create(
        owner=crm_user, contact=david, subject="Présentation tactile", start=_at(day, 9), end=_at(day, 10)
    )
    Activity.objects.create(
        owner=crm_user,
        subject="FW: Suivi test",
        start=_at(day, 12),
        end=_at(day, 13),
        location="Réunion Microsoft Teams",
        notes="Exchange Server re-created a meeting that was missing from your calendar.",
        outlook_id="o-1",
        **outlook,
    )
    Activity.objects.create(
        owner=crm_user,
        subject="Présentation du projet Power BI",
        start=_at(day, 13),
        end=_at(day, 14),
        location="Mon Bureau",
        outlook_id="o-2",
        **outlook,
    )
    for offset, subject in enumerate(
        ["Appel de service", "Documentation", "Déjeuner trimestriel", "Sous-traitance", "Tactile"]
    ):
        other = next_month.replace(day=3 + offset * 5)
        Activity.objects.create(
            owner=crm_user,
            subject=subject,
            start=_at(other, 10),
            end=_at(other, 11, 30),
            outlook_id=f"o-s{offset}",
            **outlook,
        )
    show = next_month.replace(day=17)
    Activity.objects.create(
        owner=crm_user,
        subject="Salon Expo Manufacturier",
        start=local_midnight(show),
        end=local_midnight(show + timedelta(days=3)),
        all_day=True,
    )
    diane = Contact.objects.get(last_name="Morin")
    Activity.objects.create(
        owner=crm_user, contact=diane, subject="Appel de suivi", start=_at(day, 9, 30), end=_at(day, 10, 30)
    )
    Activity.objects.create(
        owner=outsider, subject="Négociation secrète", start=_at(day, 9, 30), end=_at(day, 11), is_private=True
    )
    return {"david": david, "day": day}


def _sign_in(page, live_server, code: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 960})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", code)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")


def _title(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def test_calendars_create_edit_delete_and_privacy(live_server, page, browser, agenda, crm_user, outsider, next_month):
    ARTIFACTS.mkdir(exist_ok=True)
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm "Supprimer cette activité ?"
    _sign_in(page, live_server, "bob")
    this_month = timezone.localdate().replace(day=1)

    # R17: the menu, then between months with ‹ › and Aujourd'hui (htmx, URL kept in sync).
    page.locator("summary", has_text="CRM › Maintenance").click()
    page.get_by_role("link", name="Calendrier mensuel des activités").click()
    title = page.locator("#calendar .cal-title")
    expect(title).to_have_text(_title(this_month))
    expect(page.locator(".cal-month th").first).to_have_text("Dimanche")
    expect(page.locator(".cal-day.cal-today")).to_have_count(1)
    page.get_by_role("link", name="Mois suivant").first.click()
    expect(title).to_have_text(_title(next_month))
    expect(page).to_have_url(re.compile(rf"month={next_month:%Y-%m}"))
    page.get_by_role("link", name="Mois suivant").first.click()
    expect(title).to_have_text(_title(add_months(next_month, 1)))
    page.get_by_role("link", name="Aujourd'hui").click()
    expect(title).to_have_text(_title(this_month))
    page.get_by_role("link", name="Mois suivant").first.click()
    expect(title).to_have_text(_title(next_month))
    day = agenda["day"]
    cell = page.locator(f'td[data-day="{day:%Y-%m-%d}"]')
    expect(cell).to_contain_text("Présentation tactile")
    expect(page.locator(f'td[data-day="{next_month.replace(day=18):%Y-%m-%d}"] .cal-bar')).to_contain_text("Salon Expo")
    expect(page.locator("#calendar")).not_to_contain_text("Négociation secrète")
    page.screenshot(path=str(ARTIFACTS / "calendar_month.png"), full_page=True)

    # A click on a day lists it beside the grid; a click on an activity opens its dialog.
    cell.locator(".cal-daynum").click()
    expect(page.locator(".cal-day-list")).to_contain_text(f"{day:%d/%m/%Y}")
    expect(page.locator(".cal-day-list")).to_contain_text("Présentation du projet Power BI")
    cell.get_by_text("Présentation tactile").click()
    dialog = page.locator("dialog#activity-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("David Veilleux")
    expect(dialog).to_contain_text("1 heure")
    page.screenshot(path=str(ARTIFACTS / "activity_detail.png"), full_page=False)
    dialog.get_by_role("button", name="Fermer").click()
    expect(dialog).to_have_count(0)

    # Create (R17): a mistake first, nothing typed is lost; then a valid private activity.
    new_day = next_month.replace(day=12)
    page.get_by_role("link", name="Nouvelle activité").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Sujet").fill("Rencontre Finloc")
    dialog.get_by_label("Contact").fill("veil")
    dialog.get_by_role("option").get_by_text("David Veilleux").click()
    expect(dialog.get_by_label("Contact")).to_have_value("David Veilleux <david.veilleux@finloc.com>")
    dialog.locator("#id_start_date").fill(f"{new_day:%Y-%m-%d}")
    dialog.locator("#id_start_time").fill("14:00")
    dialog.locator("#id_end_date").fill(f"{new_day:%Y-%m-%d}")
    dialog.locator("#id_end_time").fill("13:30")
    dialog.get_by_label("Emplacement").fill("Bureau de Finloc")
    dialog.get_by_label("Privé").check()
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(dialog).to_contain_text("La fin doit être après le début.")
    expect(dialog.get_by_label("Sujet")).to_have_value("Rencontre Finloc")
    expect(dialog.get_by_label("Contact")).to_have_value("David Veilleux <david.veilleux@finloc.com>")
    expect(dialog.get_by_label("Privé")).to_be_checked()
    dialog.locator("#id_end_time").fill("15:30")
    page.screenshot(path=str(ARTIFACTS / "activity_dialog.png"), full_page=False)
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(dialog).to_have_count(0)
    new_cell = page.locator(f'td[data-day="{new_day:%Y-%m-%d}"]')
    expect(new_cell).to_contain_text("14:00 Rencontre Finloc")
    created = Activity.objects.get(subject="Rencontre Finloc")
    assert (created.owner, created.contact, created.is_private) == (crm_user, agenda["david"], True)

    # R18: the day's time line, the block at 14:00 spanning 1 h 30 (rows of 30 minutes).
    new_cell.locator(".cal-daylink").click()
    expect(page.locator("h1")).to_have_text("Calendrier journalier des activités")
    block = page.locator(".cal-block", has_text="Rencontre Finloc")
    expect(block).to_contain_text("14:00 – 15:30")
    expect(block).to_contain_text("David Veilleux")
    slot = page.locator('.cal-slot[data-time="14:00"]').bounding_box()
    box = block.bounding_box()
    assert abs(box["y"] - slot["y"]) <= 3
    assert abs(box["height"] - 3 * slot["height"]) <= 6

    # The customer's 26 October: three blocks, overlapping ones side by side.
    page.goto(f"{live_server.url}/crm/calendrier/jour/?day={day:%Y-%m-%d}")
    expect(page.locator(".cal-block")).to_have_count(4)
    expect(page.locator(".cal-block", has_text="Appel de suivi")).to_have_attribute(
        "style", re.compile("--col: 1; --cols: 2")
    )
    page.screenshot(path=str(ARTIFACTS / "calendar_day.png"), full_page=True)
    page.goto(f"{live_server.url}/crm/calendrier/jour/?day={new_day:%Y-%m-%d}")

    # Edit from the day view.
    page.locator(".cal-block", has_text="Rencontre Finloc").click()
    dialog.get_by_role("link", name="Modifier").click()
    expect(dialog.get_by_label("Sujet")).to_have_value("Rencontre Finloc")
    dialog.get_by_label("Sujet").fill("Rencontre Finloc (révisée)")
    dialog.locator("#id_end_time").fill("16:00")
    dialog.get_by_role("button", name="Enregistrer").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(".cal-block", has_text="Rencontre Finloc (révisée)")).to_contain_text("14:00 – 16:00")

    # Privacy: Charlie, in a second session, sees Bob's private activity as "Occupé" only.
    other = browser.new_context(locale="fr-CA", timezone_id="America/Toronto")
    charlie = other.new_page()
    _sign_in(charlie, live_server, "charlie")
    charlie.goto(f"{live_server.url}/crm/calendrier/jour/?user={crm_user.pk}&day={new_day:%Y-%m-%d}")
    busy = charlie.locator(".cal-block.cal-busy")
    expect(busy).to_contain_text("Occupé")
    expect(charlie.locator("body")).not_to_contain_text("Rencontre Finloc")
    expect(charlie.locator("body")).not_to_contain_text("David Veilleux")
    busy.click()
    expect(charlie.locator("dialog#activity-dialog")).to_contain_text("Occupé")
    expect(charlie.locator("dialog#activity-dialog")).not_to_contain_text("Bureau de Finloc")
    expect(charlie.locator("dialog#activity-dialog").get_by_role("link", name="Modifier")).to_have_count(0)
    charlie.goto(f"{live_server.url}/crm/calendrier/mois/?user={crm_user.pk}&day={new_day:%Y-%m-%d}")
    expect(charlie.locator(f'td[data-day="{new_day:%Y-%m-%d}"]')).to_contain_text("Occupé")
    expect(charlie.locator("body")).not_to_contain_text("Rencontre Finloc")
    other.close()

    # Delete from the dialog (soft delete); it leaves the time line.
    page.locator(".cal-block", has_text="Rencontre Finloc").click()
    dialog.get_by_role("button", name="Supprimer").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(".cal-block", has_text="Rencontre Finloc")).to_have_count(0)
    created.refresh_from_db()
    assert created.is_deleted

    # R19: the imported activities, one click opens one.
    page.locator("summary", has_text="CRM › Maintenance").click()
    page.get_by_role("link", name="Activités Outlook importées").click()
    expect(page.locator("#results")).to_contain_text("Élément(s) 1 à 7 sur 7")
    expect(page.locator("#results")).to_contain_text("1 h 30")
    page.screenshot(path=str(ARTIFACTS / "imported_activities.png"), full_page=True)
    page.locator("#results").get_by_role("link", name="FW: Suivi test").click()
    expect(dialog).to_contain_text("Réunion Microsoft Teams")
