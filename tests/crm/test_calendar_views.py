"""The monthly (R17) and daily (R18) activity calendars: content, navigation, filter, privacy, queries."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crm.calendar import local_midnight
from crm.models import Activity, Contact, Customer

TORONTO = ZoneInfo("America/Toronto")
OCT_26 = date(2022, 10, 26)
MONTH = "/crm/calendrier/mois/"
DAY = "/crm/calendrier/jour/"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO)


@pytest.fixture
def make_activity(db):
    def make(owner, subject, start, end=None, **fields) -> Activity:
        return Activity.objects.create(
            owner=owner, subject=subject, start=start, end=end or start + timedelta(hours=1), **fields
        )

    return make


@pytest.fixture
def finloc(db):
    return Customer.objects.create(code="C0001", name="Finloc inc.")


@pytest.fixture
def david(finloc):
    return Contact.objects.create(first_name="David", last_name="Veilleux", email="david@finloc.com", customer=finloc)


def _html(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("url", ["/crm/calendrier/mois/", "/crm/calendrier/jour/", "/crm/activites-outlook/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")


def test_url_names_exist_and_appear_in_the_menu_R17_R18_R19(bob_client):
    assert reverse("calendar_month") == MONTH
    assert reverse("calendar_day") == DAY
    html = _html(bob_client.get(MONTH))
    for label in (
        "Calendrier mensuel des activités",
        "Calendrier journalier des activités",
        "Activités Outlook importées",
    ):
        assert label in html


# ---------------------------------------------------------------- monthly calendar (R17)


@time_machine.travel(datetime(2022, 10, 26, 12, tzinfo=TORONTO), tick=False)
def test_month_shows_the_users_month_sunday_first_with_today_marked_R17(bob_client, crm_user, make_activity):
    make_activity(crm_user, "Présentation tactile", at(OCT_26, 9))
    response = bob_client.get(MONTH)
    html = _html(response)
    assert response.status_code == 200
    assert "Octobre 2022" in html
    headers = re.findall(r'<th scope="col">(\w+)</th>', html)
    assert headers[:7] == ["Dimanche", "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi"]
    first_cell = re.search(r'data-day="([\d-]+)"', html).group(1)
    assert first_cell == "2022-09-25"
    assert re.search(r'class="cal-day cal-today[^"]*"\s+data-day="2022-10-26"', html)
    assert "Présentation tactile" in html and "09:00" in html
    assert "Aujourd'hui" in html
    assert "Filtrer calendrier" in html


def test_month_navigation_keeps_the_user_and_moves_a_month_R17(bob_client, outsider, make_activity):
    make_activity(outsider, "Rencontre publique", at(date(2026, 12, 3), 10))
    response = bob_client.get(MONTH, {"user": outsider.pk, "month": "2026-11"})
    html = _html(response)
    assert "Novembre 2026" in html
    assert f"user={outsider.pk}&amp;month=2026-12" in html  # next
    assert f"user={outsider.pk}&amp;month=2026-10" in html  # previous
    assert "Rencontre publique" in html  # 3 December is in November's last week
    december = _html(bob_client.get(MONTH, {"user": outsider.pk, "month": "2026-12"}))
    assert "Décembre 2026" in december and "Rencontre publique" in december


def test_month_cuts_a_full_day_to_four_lines_and_plus_n_R17(bob_client, crm_user, make_activity):
    for hour in range(8, 14):
        make_activity(crm_user, f"Appel {hour}", at(date(2026, 11, 10), hour))
    html = _html(bob_client.get(MONTH, {"month": "2026-11"}))
    assert "+2" in html
    assert "Appel 11" in html and "Appel 12" not in html.split("+2")[0].split('data-day="2026-11-10"')[1]


def test_clicking_a_day_lists_its_activities_R17(bob_client, crm_user, make_activity):
    make_activity(crm_user, "Dépanneur", at(date(2026, 11, 10), 15))
    html = _html(bob_client.get(MONTH, {"day": "2026-11-10"}))
    assert "10/11/2026" in html
    day_list = html.split('id="cal-day-list-title"')[1]
    assert "Dépanneur" in day_list and "15:00 – 16:00" in day_list
    assert "Journalier" in day_list and "day=2026-11-10" in day_list


def test_multi_day_activity_is_a_bar_on_each_day_R14_R17(bob_client, crm_user, make_activity):
    make_activity(
        crm_user, "Salon", local_midnight(date(2026, 11, 10)), local_midnight(date(2026, 11, 13)), all_day=True
    )
    html = _html(bob_client.get(MONTH, {"month": "2026-11"}))
    for day in ("2026-11-10", "2026-11-11", "2026-11-12"):
        cell = html.split(f'data-day="{day}"')[1].split("</td>")[0]
        assert "Salon" in cell and "cal-bar" in cell
    assert "Salon" not in html.split('data-day="2026-11-13"')[1].split("</td>")[0]


def test_htmx_navigation_returns_only_the_calendar_partial_R17(bob_client):
    response = bob_client.get(MONTH, {"month": "2026-11"}, headers={"HX-Request": "true"})
    html = _html(response)
    assert html.lstrip().startswith('<div id="calendar"')
    assert "<html" not in html
    assert "Novembre 2026" in html


def test_month_links_to_the_daily_view_of_any_day_R17(bob_client, crm_user):
    html = _html(bob_client.get(MONTH, {"month": "2026-11"}))
    assert f'href="{DAY}?user={crm_user.pk}&amp;day=2026-11-17"' in html


def _new_activity_date(html: str) -> str:
    link = re.search(r'<a class="button primary" href="([^"]+)"', html).group(1)
    return re.search(r"date=([\d-]+)", link).group(1)


@time_machine.travel(datetime(2022, 10, 26, 12, tzinfo=TORONTO), tick=False)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, "2022-10-26"),  # this month: today, not the 1st
        ({"month": "2022-10"}, "2022-10-26"),
        ({"month": "2022-11"}, "2022-11-01"),  # another month: its first day
        ({"month": "2022-10", "day": "2022-10-12"}, "2022-10-12"),  # a day clicked: that day
        ({"month": "2022-11", "day": "2022-11-15"}, "2022-11-15"),
    ],
)
def test_a_new_activity_from_the_month_starts_today_or_on_the_day_clicked_R17(bob_client, query, expected):
    html = _html(bob_client.get(MONTH, query))
    assert _new_activity_date(html) == expected
    # « Journalier » opens the same day.
    assert f'href="{DAY}?user=' in html and f"day={expected}" in html.split("Journalier")[0].rsplit("<a", 1)[1]


@pytest.mark.parametrize(
    "query",
    [
        {"month": "2026-13"},
        {"month": "nope"},
        {"day": "2026-02-30"},
        {"user": "abc"},
        {"others": "999999"},
        {"source": "x"},
    ],
)
def test_an_unreadable_query_is_a_form_error_never_a_500_R17(bob_client, query):
    response = bob_client.get(MONTH, query)
    assert response.status_code == 400
    assert "form-errors" in _html(response)
    assert bob_client.get(DAY, query).status_code == 400


# ---------------------------------------------------------------- filter (R17, R18)


def test_filter_adds_other_users_public_activities_only_R17(bob_client, crm_user, outsider, admin_user, make_activity):
    day = date(2026, 11, 10)
    make_activity(outsider, "Visite publique", at(day, 9))
    make_activity(outsider, "Rendez-vous médical", at(day, 11), is_private=True)
    make_activity(admin_user, "Comité", at(day, 13))
    alone = _html(bob_client.get(MONTH, {"month": "2026-11"}))
    assert "Visite publique" not in alone
    html = _html(bob_client.get(MONTH, {"month": "2026-11", "others": [outsider.pk]}))
    assert "Visite publique" in html and "CHARLIE" in html
    assert "Rendez-vous médical" not in html and "Comité" not in html


def test_filter_by_source_R17(bob_client, crm_user, make_activity):
    day = date(2026, 11, 10)
    make_activity(crm_user, "Saisie Prextra", at(day, 9))
    make_activity(crm_user, "Venue d'Outlook", at(day, 11), source=Activity.Source.OUTLOOK, outlook_id="AAA")
    html = _html(bob_client.get(MONTH, {"month": "2026-11", "source": "outlook"}))
    assert "Venue d&#x27;Outlook" in html and "Saisie Prextra" not in html
    html = _html(bob_client.get(DAY, {"day": "2026-11-10", "source": "prextra"}))
    assert "Saisie Prextra" in html and "Venue d&#x27;Outlook" not in html


# ---------------------------------------------------------------- privacy


def test_another_users_private_activity_is_only_busy_in_both_calendars(bob_client, outsider, make_activity, david):
    day = date(2026, 11, 10)
    make_activity(
        outsider,
        "Négociation secrète",
        at(day, 9),
        location="Hôtel Château",
        notes="prix",
        contact=david,
        is_private=True,
    )
    for url, query in ((MONTH, {"day": "2026-11-10"}), (DAY, {"day": "2026-11-10"})):
        for headers in ({}, {"HX-Request": "true"}):
            html = _html(bob_client.get(url, {**query, "user": outsider.pk}, headers=headers))
            assert "Occupé" in html
            for secret in ("Négociation secrète", "Hôtel Château", "David Veilleux"):
                assert secret not in html


def test_the_owner_sees_their_own_private_activity(client, outsider, make_activity):
    make_activity(outsider, "Négociation secrète", at(date(2026, 11, 10), 9), is_private=True)
    client.force_login(outsider)
    assert "Négociation secrète" in _html(client.get(DAY, {"day": "2026-11-10"}))


def test_deleted_activities_never_show(bob_client, crm_user, make_activity):
    make_activity(crm_user, "Annulée", at(date(2026, 11, 10), 9), is_deleted=True)
    assert "Annulée" not in _html(bob_client.get(MONTH, {"day": "2026-11-10"}))
    assert "Annulée" not in _html(bob_client.get(DAY, {"day": "2026-11-10"}))


# ---------------------------------------------------------------- daily calendar (R18)


def test_day_is_a_time_line_with_blocks_showing_contact_and_subject_R18(bob_client, crm_user, make_activity, david):
    make_activity(crm_user, "Présentation tactile", at(OCT_26, 9), contact=david)
    make_activity(crm_user, "FW: Suivi test", at(OCT_26, 12))
    response = bob_client.get(DAY, {"day": "2022-10-26"})
    html = _html(response)
    assert "Mercredi 26 octobre 2022" in html
    slots = re.findall(r'data-time="(\d\d:\d\d)"', html)
    assert slots[0] == "08:00" and slots[-1] == "17:30" and len(slots) == 20  # 30-minute rows
    block = html.split('<a class="cal-block')[1].split("</a>")[0]
    assert "--top: 60; --len: 60; --col: 0; --cols: 1" in block
    assert "David Veilleux" in block and "Présentation tactile" in block
    assert f'href="{MONTH}?user={crm_user.pk}&amp;day=2022-10-26">Mensuel' in html


def test_rows_follow_the_users_calendar_scale_and_widen_to_fit_R18(client, crm_user, make_activity):
    crm_user.crm_calendar_scale = 60
    crm_user.save()
    make_activity(crm_user, "Déjeuner tôt", at(OCT_26, 6, 30), at(OCT_26, 7, 15))
    make_activity(crm_user, "Souper", at(OCT_26, 18, 30), at(OCT_26, 20, 0))
    client.force_login(crm_user)
    slots = re.findall(r'data-time="(\d\d:\d\d)"', _html(client.get(DAY, {"day": "2022-10-26"})))
    assert slots[0] == "06:00" and slots[-1] == "19:00"
    assert len(slots) == 14


def test_overlapping_activities_are_side_by_side_R18(bob_client, crm_user, make_activity):
    make_activity(crm_user, "Première", at(OCT_26, 9), at(OCT_26, 10))
    make_activity(crm_user, "Seconde", at(OCT_26, 9, 30), at(OCT_26, 11))
    html = _html(bob_client.get(DAY, {"day": "2022-10-26"}))
    assert "--col: 0; --cols: 2" in html and "--col: 1; --cols: 2" in html


def test_all_day_and_multi_day_activities_are_in_the_band_R18(bob_client, crm_user, make_activity):
    make_activity(crm_user, "Congrès", local_midnight(OCT_26), local_midnight(OCT_26 + timedelta(days=2)), all_day=True)
    html = _html(bob_client.get(DAY, {"day": "2022-10-26"}))
    band = html.split('class="cal-band"')[1].split("</ul>")[0]
    assert "Congrès" in band


def test_a_multi_day_activity_shows_on_its_last_day_up_to_its_end_time_R18(bob_client, crm_user, make_activity):
    salon = make_activity(crm_user, "Salon de Québec", at(OCT_26 - timedelta(days=2), 14), at(OCT_26, 11))
    html = _html(bob_client.get(DAY, {"day": "2022-10-26"}))
    assert "Salon de Québec" in html.split('class="cal-band"')[1].split("</ul>")[0]
    block = html.split('<a class="cal-block')[1].split("</a>")[0]
    assert f'data-activity="{salon.pk}"' in block
    assert "--top: 0; --len: 180;" in block  # 08:00 → 11:00
    assert "24/10 14:00 – 11:00" in block  # begun on another day: its start says which
    # The day before its last, it is in the band only.
    before = _html(bob_client.get(DAY, {"day": "2022-10-25"}))
    assert "Salon de Québec" in before and '<a class="cal-block' not in before


def test_day_partial_for_htmx_R18(bob_client):
    html = _html(bob_client.get(DAY, {"day": "2022-10-26"}, headers={"HX-Request": "true"}))
    assert html.lstrip().startswith('<div id="calendar"') and "<html" not in html


def test_dst_day_time_line_has_real_local_labels_R18(bob_client, crm_user, make_activity):
    day = date(2026, 3, 8)
    make_activity(crm_user, "Nuit", at(day, 1), at(day, 4))  # two real hours across 02:00 → 03:00
    html = _html(bob_client.get(DAY, {"day": "2026-03-08"}))
    slots = re.findall(r'data-time="(\d\d:\d\d)"', html)
    assert "02:00" not in slots and "02:30" not in slots
    assert slots[:3] == ["01:00", "01:30", "03:00"]
    assert "--top: 0; --len: 120" in html


# ---------------------------------------------------------------- queries (scale)


@pytest.fixture
def busy_month(django_user_model, finloc):
    """3,000 activities in November 2026 across 50 users, one in seven private, some multi-day."""
    users = django_user_model.objects.bulk_create(
        [django_user_model(code=f"U{number:02d}", name=f"Utilisateur {number:02d}") for number in range(50)]
    )
    contact = Contact.objects.create(first_name="Eric", last_name="Lavoie", customer=finloc)
    activities = []
    for number in range(3000):
        day = date(2026, 11, 1) + timedelta(days=number % 30)
        start = at(day, 7 + number % 11, (number % 4) * 15)
        end = start + timedelta(days=2) if number % 97 == 0 else start + timedelta(minutes=45)
        activities.append(
            Activity(
                owner=users[number % 50],
                subject=f"Activité {number}",
                start=start,
                end=end,
                contact=contact,
                is_private=number % 7 == 0,
                all_day=False,
            )
        )
    Activity.objects.bulk_create(activities)
    return users


def test_month_and_day_issue_a_constant_number_of_queries(client, crm_user, busy_month, django_assert_max_num_queries):
    client.force_login(crm_user)
    others = [user.pk for user in busy_month]
    with django_assert_max_num_queries(8):
        response = client.get(MONTH, {"month": "2026-11", "others": others})
    assert response.status_code == 200
    assert "+" in _html(response)
    with django_assert_max_num_queries(8):
        response = client.get(DAY, {"day": "2026-11-10", "others": others})
    assert response.status_code == 200
    assert _html(response).count('<a class="cal-block') > 50
    with django_assert_max_num_queries(8):
        client.get(MONTH, {"month": "2026-11", "others": others}, headers={"HX-Request": "true"})
