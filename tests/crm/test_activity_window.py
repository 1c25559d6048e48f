"""The activity dialog and cards say when an activity outside the synchronized window will reach
Outlook (nothing accepted is left unsent in silence); a year no calendar can hold is refused.

Today is pinned to 2026-12-03; the connection keeps its default window (90 days back, 365 ahead).
Bob sends his activities to Outlook (« sync. activités Prextra à Exchange »); Charlie does not.
"""

from __future__ import annotations

import html
from datetime import date, datetime, time
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import ExchangeProfile
from crm.models import Activity, Contact, Customer
from exchange.models import GraphConnection

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")
CREATE = "/crm/activites/nouvelle/"
FAR = date(2028, 3, 15)  # enters the window on 2027-03-17: 365 days before the midnight after its start
FAR_NOTICE = "Cette activité sera envoyée à Outlook le 17/03/2027, quand elle entrera dans la période synchronisée."


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=TORONTO), tick=False):
        yield


@pytest.fixture
def connection(db):
    connection = GraphConnection(tenant_id="prextra", client_id="app")
    connection.set_secret("secret")
    connection.save()
    return connection


@pytest.fixture
def sending(crm_user, connection):
    """Bob's activities go to Outlook."""
    return ExchangeProfile.objects.create(user=crm_user, sync_activities_out=True)


@pytest.fixture(autouse=True)
def changed():
    """activity_changed as the views call it (the push itself is tested in tests/exchange)."""
    with mock.patch("crm.activity_views.activity_changed", autospec=True) as patched:
        yield patched


def _post(day: date, **fields) -> dict:
    data = {
        "subject": "Salon Finloc",
        "contact": "",
        "start_date": f"{day:%Y-%m-%d}",
        "start_time": "13:00",
        "end_date": f"{day:%Y-%m-%d}",
        "end_time": "14:00",
        "location": "",
        "notes": "",
        "visibility": "public",
    }
    data.update(fields)
    return data


def _activity(owner, day: date, subject="Salon Finloc", **fields) -> Activity:
    return Activity.objects.create(owner=owner, subject=subject, start=at(day, 13), end=at(day, 14), **fields)


def _html(response) -> str:
    """The page's text as read (« L'année » is escaped in the markup)."""
    return html.unescape(response.content.decode())


# ---------------------------------------------------------------- the dialog


def test_creating_outside_the_window_is_accepted_and_the_dialog_says_when_it_is_sent(bob_client, sending):
    response = bob_client.post(CREATE, _post(FAR), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "activity-changed"  # the calendar behind refreshes
    activity = Activity.objects.get()
    assert activity.start == at(FAR, 13) and activity.needs_push
    page = _html(response)
    assert FAR_NOTICE in page
    assert "data-outlook-notice" in page and "Activité enregistrée." in page
    assert "<dialog" in page  # the dialog stays open on the notice rather than closing in silence


def test_without_htmx_the_notice_follows_the_redirect(bob_client, sending):
    response = bob_client.post(CREATE, _post(FAR), follow=True)
    assert response.redirect_chain and FAR_NOTICE in _html(response)


def test_moving_an_activity_outside_the_window_says_so(bob_client, crm_user, sending):
    activity = _activity(crm_user, date(2026, 12, 10))
    url = reverse("activity_edit", args=[activity.pk])
    response = bob_client.post(url, _post(FAR), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and FAR_NOTICE in _html(response)
    # Opening it again shows its state before any change.
    assert FAR_NOTICE in _html(bob_client.get(url, HTTP_HX_REQUEST="true"))


def assert_closed_without_notice(response) -> None:
    """The dialog closes (only the page's messages are swapped in: « Activité enregistrée : … »)."""
    page = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger"] == "activity-changed"
    assert "Activité enregistrée" in page and "<dialog" not in page and "Outlook le" not in page


def test_an_activity_inside_the_window_closes_the_dialog_as_before(bob_client, sending):
    # The window of today ends at midnight starting 2027-12-03: 2027-12-02 is its last day.
    response = bob_client.post(CREATE, _post(date(2027, 12, 2)), HTTP_HX_REQUEST="true")
    assert_closed_without_notice(response)


def test_nothing_is_said_when_the_owner_does_not_send_to_outlook(bob_client, crm_user, connection):
    ExchangeProfile.objects.create(user=crm_user, sync_activities_in=True, sync_activities_out=False)
    response = bob_client.post(CREATE, _post(FAR), HTTP_HX_REQUEST="true")
    assert_closed_without_notice(response)


def test_nothing_is_said_without_a_microsoft_365_connection(bob_client, crm_user):
    ExchangeProfile.objects.create(user=crm_user, sync_activities_out=True)
    response = bob_client.post(CREATE, _post(FAR), HTTP_HX_REQUEST="true")
    assert_closed_without_notice(response)


def test_an_activity_before_the_window_is_said_never_sent(bob_client, sending):
    response = bob_client.post(CREATE, _post(date(2026, 8, 1)), HTTP_HX_REQUEST="true")  # 124 days ago
    assert "Cette activité est antérieure à la période synchronisée : elle ne sera pas envoyée à Outlook." in _html(
        response
    )


@pytest.mark.parametrize("year", [1899, 2201, 2300, 9999])
def test_a_year_no_calendar_can_hold_is_refused(bob_client, sending, year):
    day = f"{year}-12-31"
    response = bob_client.post(CREATE, _post(FAR, start_date=day, end_date=day))
    assert response.status_code == 400
    page = _html(response)
    assert f"L'année {year} est hors des limites : aucun calendrier ne peut la contenir (1900 à 2200)." in page
    assert page.count("est hors des limites") == 1  # one date, one error
    assert not Activity.objects.exists()


def test_an_all_day_activity_ending_on_9999_12_31_is_refused_not_crashed(bob_client, sending):
    data = _post(FAR, end_date="9999-12-31", all_day="on")
    response = bob_client.post(CREATE, data)
    assert response.status_code == 400
    assert "L'année 9999 est hors des limites" in _html(response)


def test_years_at_the_limits_are_accepted(bob_client, sending):
    for day in ("1900-01-01", "2200-12-31"):
        response = bob_client.post(CREATE, _post(FAR, start_date=day, end_date=day), HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    assert Activity.objects.count() == 2


# ---------------------------------------------------------------- the cards


def test_the_calendars_show_the_state_on_the_card(bob_client, crm_user, sending):
    _activity(crm_user, FAR)
    month = _html(bob_client.get(reverse("calendar_month"), {"month": "2028-03", "day": "2028-03-15"}))
    assert "Sera envoyée à Outlook le 17/03/2027" in month
    assert "cal-held" in month
    day = _html(bob_client.get(reverse("calendar_day"), {"day": "2028-03-15"}))
    assert "Sera envoyée à Outlook le 17/03/2027" in day


def test_the_detail_dialog_shows_the_state(bob_client, crm_user, sending):
    activity = _activity(crm_user, FAR)
    page = _html(bob_client.get(reverse("activity_detail", args=[activity.pk]), HTTP_HX_REQUEST="true"))
    assert FAR_NOTICE in page and "Activité enregistrée." not in page


def test_the_contact_page_shows_the_state(bob_client, crm_user, sending):
    finloc = Customer.objects.create(code="C0001", name="Finloc inc.")
    david = Contact.objects.create(first_name="David", last_name="Veilleux", email="david@finloc.com", customer=finloc)
    _activity(crm_user, FAR, contact=david)
    _activity(crm_user, date(2026, 12, 10), subject="Dans la fenêtre", contact=david)
    page = _html(bob_client.get(reverse("contact_detail", args=[david.pk])))
    assert page.count("Sera envoyée à Outlook le") == 1
    assert "Sera envoyée à Outlook le 17/03/2027" in page


def test_sent_or_linked_activities_show_no_state(bob_client, crm_user, sending):
    linked = _activity(crm_user, FAR, subject="Déjà dans Outlook")
    Activity.objects.filter(pk=linked.pk).update(outlook_id="AAMk-1", needs_push=True)
    page = _html(bob_client.get(reverse("calendar_month"), {"month": "2028-03"}))
    assert "Déjà dans Outlook" in page and "Sera envoyée" not in page


def test_another_user_s_private_activity_says_nothing_but_busy(client, admin_user, crm_user, sending):
    _activity(crm_user, FAR, subject="Secret", is_private=True)
    client.force_login(admin_user)
    page = _html(client.get(reverse("calendar_month"), {"month": "2028-03", "user": crm_user.pk}))
    assert "Occupé" in page and "Secret" not in page and "Sera envoyée" not in page


def test_an_owner_who_does_not_send_gets_no_state(bob_client, outsider, crm_user, sending):
    _activity(outsider, FAR, subject="De Charlie")
    page = _html(
        bob_client.get(reverse("calendar_month"), {"month": "2028-03", "user": crm_user.pk, "others": outsider.pk})
    )
    assert "De Charlie" in page and "Sera envoyée" not in page


def test_english_says_it_in_english(bob_client, crm_user, sending):
    crm_user.language = "en"
    crm_user.save()
    response = bob_client.post(CREATE, _post(FAR), HTTP_HX_REQUEST="true")
    assert "This activity will be sent to Outlook on 17/03/2027, when it enters the synchronized period." in _html(
        response
    )
