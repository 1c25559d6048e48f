"""CRM › Maintenance › Activités Outlook importées (R19)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.calendar import local_midnight
from crm.models import Activity

TORONTO = ZoneInfo("America/Toronto")
URL = "/crm/activites-outlook/"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO)


@pytest.fixture
def imported(db):
    def make(owner, subject, start, minutes=60, **fields) -> Activity:
        fields.setdefault("outlook_id", f"id-{subject}-{start:%Y%m%d%H%M}")
        return Activity.objects.create(
            owner=owner,
            subject=subject,
            start=start,
            end=start + timedelta(minutes=minutes),
            source=Activity.Source.OUTLOOK,
            **fields,
        )

    return make


def _rows(html: str) -> list[str]:
    body = html.split("<tbody")[1].split(">", 1)[1].split("</tbody>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


def test_columns_and_wording_are_the_customers_R19(bob_client, crm_user, imported):
    imported(
        crm_user,
        "Documentation",
        at(date(2022, 10, 12), 11),
        location="Mon Bureau",
        notes="Valider ce qui doit être inclus pour Janvier et voir si le but est atteint avant la fin du mois",
    )
    imported(crm_user, "test", at(date(2022, 10, 12), 8), minutes=30)
    imported(crm_user, "Formation", at(date(2022, 10, 11), 13), minutes=90)
    day = date(2022, 10, 10)
    Activity.objects.create(
        owner=crm_user,
        subject="Congé",
        start=local_midnight(day),
        end=local_midnight(day + timedelta(days=1)),
        all_day=True,
        source=Activity.Source.OUTLOOK,
        outlook_id="id-conge",
    )
    html = bob_client.get(URL).content.decode()
    headers = re.findall(r"<th[^>]*>\s*(?:<a[^>]*>)?([^<]+?)\s*(?:<span|</a>|</th>)", html)
    assert headers == [
        "Date début",
        "Heure début",
        "Durée",
        "Sujet",
        "Emplacement",
        "Commentaire",
        "Dernière mise à jour",
        "Heure",
        "Code utilisateur",
    ]
    rows = _rows(html)
    assert rows[0].startswith("12/10/2022 11:00 1 heure Documentation Mon Bureau Valider ce qui doit être inclus")
    assert " ... " in rows[0] and rows[0].endswith("BOB")
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d BOB$", rows[0])
    assert rows[1].startswith("12/10/2022 8:00 30 minutes test")
    assert rows[2].startswith("11/10/2022 13:00 1 h 30 Formation")
    assert rows[3].startswith("10/10/2022 Toute la journée Congé")
    assert f'href="/crm/activites/{Activity.objects.get(subject="test").pk}/"' in html  # a click opens it


def test_only_live_outlook_activities_are_listed_R19(bob_client, crm_user, imported):
    imported(crm_user, "Importée", at(date(2022, 10, 12), 9))
    imported(crm_user, "Supprimée", at(date(2022, 10, 12), 10), is_deleted=True)
    Activity.objects.create(
        owner=crm_user, subject="Saisie Prextra", start=at(date(2022, 10, 12), 11), end=at(date(2022, 10, 12), 12)
    )
    html = bob_client.get(URL).content.decode()
    assert "Importée" in html
    assert "Supprimée" not in html and "Saisie Prextra" not in html


def test_another_users_private_import_is_only_busy_R19(bob_client, outsider, imported):
    imported(
        outsider, "Négociation secrète", at(date(2022, 10, 12), 9), location="Hôtel", notes="prix", is_private=True
    )
    for query in ({}, {"sort": "subject"}, {"sort": "-location"}):
        for headers in ({}, {"HX-Request": "true"}):
            html = bob_client.get(URL, query, headers=headers).content.decode()
            assert "Occupé" in html
            assert "Négociation secrète" not in html and "Hôtel" not in html and "prix" not in html


def test_filter_by_user_and_dates_R19(bob_client, crm_user, outsider, imported):
    imported(crm_user, "Début octobre", at(date(2022, 10, 3), 9))
    imported(crm_user, "Mi-octobre", at(date(2022, 10, 14), 9))
    imported(outsider, "De Charlie", at(date(2022, 10, 14), 10))
    html = bob_client.get(
        URL, {"user": crm_user.pk, "date_from": "2022-10-10", "date_to": "2022-10-14"}
    ).content.decode()
    assert "Mi-octobre" in html
    assert "Début octobre" not in html and "De Charlie" not in html


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "hier"},
        {"date_to": "2022-02-30"},
        {"user": "abc"},
        {"date_from": "2022-10-14", "date_to": "2022-10-01"},
        {"date_from": "0001-01-01"},
    ],
)
def test_invalid_filters_are_form_errors_never_a_500_R19(bob_client, query):
    response = bob_client.get(URL, query)
    assert response.status_code == 400
    assert "form-errors" in response.content.decode()
    htmx = bob_client.get(URL, query, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "form-errors" in htmx.content.decode()


def test_paged_at_the_users_rows_per_page_and_sortable_R19(client, crm_user, imported):
    crm_user.rows_per_page = 5
    crm_user.save()
    for number in range(12):
        imported(
            crm_user,
            f"Sujet {number:02d}",
            at(date(2022, 10, 1) + timedelta(days=number), 9),
            minutes=15 * (number + 1),
        )
    client.force_login(crm_user)
    html = client.get(URL).content.decode()
    assert "Élément(s) 1 à 5 sur 12" in html
    assert _rows(html)[0].startswith("12/10/2022")  # newest first
    by_duration = _rows(client.get(URL, {"sort": "-duration"}).content.decode())
    assert "Sujet 11" in by_duration[0]
    by_subject = _rows(client.get(URL, {"sort": "subject", "page": 3}).content.decode())
    assert len(by_subject) == 2 and "Sujet 10" in by_subject[0]


@pytest.fixture
def october_every_day(crm_user, imported):
    """One activity a day from 1 to 31 October 2022, five a page."""
    crm_user.rows_per_page = 5
    crm_user.save()
    for number in range(31):
        imported(crm_user, f"Jour {number + 1:02d}", at(date(2022, 10, 1) + timedelta(days=number), 9))


@time_machine.travel(datetime(2022, 10, 12, 15, tzinfo=TORONTO), tick=False)
@pytest.mark.parametrize(
    # Not "page": pytest-playwright would take it for its browser page and regroup the suite's order.
    ("query", "shown_page", "first_row"),
    [
        # Newest first: 31 → 13 October (19 rows) fill pages 1 to 3 and start page 4: 12 October.
        ({}, "4", "16/10/2022"),
        # Oldest first: 1 → 11 October (11 rows) are pages 1, 2 and page 3's first: 12 October.
        ({"sort": "start_date"}, "3", "11/10/2022"),
        # A page asked for is that page; another sort opens on its first page.
        ({"page": 1}, "1", "31/10/2022"),
        ({"sort": "subject"}, "1", "01/10/2022"),
    ],
)
def test_the_list_opens_where_today_is_visible_R19(client, crm_user, october_every_day, query, shown_page, first_row):
    client.force_login(crm_user)
    html = client.get(URL, query).content.decode()
    assert re.search(rf'aria-current="page">{shown_page}<', html)
    rows = _rows(html)
    assert rows[0].startswith(first_row)
    if "page" not in query and query.get("sort", "-start_date").endswith("start_date"):
        assert any(row.startswith("12/10/2022") for row in rows)


@time_machine.travel(datetime(2023, 3, 1, 9, tzinfo=TORONTO), tick=False)
@pytest.mark.parametrize(("query", "shown_page"), [({}, "1"), ({"sort": "start_date"}, "7")])
def test_with_nothing_near_today_the_list_opens_on_the_nearest_page_R19(
    client, crm_user, october_every_day, query, shown_page
):
    client.force_login(crm_user)
    assert re.search(rf'aria-current="page">{shown_page}<', client.get(URL, query).content.decode())


def test_htmx_gets_only_the_results(bob_client, crm_user, imported):
    imported(crm_user, "Importée", at(date(2022, 10, 12), 9))
    html = bob_client.get(URL, headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<section id="results"') and "Importée" in html


def test_list_issues_a_constant_number_of_queries_R19(
    bob_client, crm_user, outsider, imported, django_assert_max_num_queries
):
    Activity.objects.bulk_create(
        [
            Activity(
                owner=crm_user if number % 2 else outsider,
                subject=f"Sujet {number}",
                start=at(date(2022, 10, 1), 9) + timedelta(hours=number),
                end=at(date(2022, 10, 1), 10) + timedelta(hours=number),
                source=Activity.Source.OUTLOOK,
                outlook_id=f"id-{number}",
            )
            for number in range(200)
        ]
    )
    with django_assert_max_num_queries(7):
        assert bob_client.get(URL).status_code == 200


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")
