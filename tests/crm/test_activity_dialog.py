"""The activity dialog of the calendars: detail, create, edit, delete, contact search (R17, R18)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from crm.calendar import local_midnight
from crm.models import Activity, Contact, Customer

TORONTO = ZoneInfo("America/Toronto")
DAY = date(2026, 11, 10)
CREATE = "/crm/activites/nouvelle/"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO)


@pytest.fixture
def finloc(db):
    return Customer.objects.create(code="C0001", name="Finloc inc.")


@pytest.fixture
def david(finloc):
    return Contact.objects.create(first_name="David", last_name="Veilleux", email="david@finloc.com", customer=finloc)


@pytest.fixture
def make_activity(db):
    def make(owner, subject, start=None, end=None, **fields) -> Activity:
        start = start or at(DAY, 9)
        return Activity.objects.create(
            owner=owner, subject=subject, start=start, end=end or start + timedelta(hours=1), **fields
        )

    return make


@pytest.fixture
def changed():
    """activity_changed as the views call it (the push to Outlook is tested in tests/exchange)."""
    with mock.patch("crm.activity_views.activity_changed", autospec=True) as patched:
        yield patched


def _html(response) -> str:
    return response.content.decode()


def _post(**fields) -> dict:
    data = {
        "subject": "Présentation du projet Power BI",
        "contact": "",
        "start_date": "2026-11-10",
        "start_time": "13:00",
        "end_date": "2026-11-10",
        "end_time": "14:00",
        "location": "Mon Bureau",
        "notes": "Valider ce qui doit être inclus",
        "visibility": "public",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


# ---------------------------------------------------------------- detail


def test_detail_is_a_dialog_for_htmx_and_a_page_otherwise_R17(bob_client, crm_user, make_activity, david):
    activity = make_activity(crm_user, "Présentation tactile", contact=david, location="Salle 2")
    url = f"/crm/activites/{activity.pk}/"
    partial = _html(bob_client.get(url, headers={"HX-Request": "true"}))
    assert partial.lstrip().startswith('<dialog id="activity-dialog"')
    assert "Présentation tactile" in partial and "David Veilleux" in partial and "Salle 2" in partial
    assert "1 heure" in partial and "Modifier" in partial
    page = _html(bob_client.get(url))
    assert "<html" in page and "<dialog" in page and " open " in page.split("<dialog")[1].split(">")[0] + " "


def test_detail_of_another_users_private_activity_shows_only_busy_and_times(bob_client, outsider, make_activity, david):
    activity = make_activity(
        outsider, "Négociation secrète", location="Hôtel", notes="prix plancher", contact=david, is_private=True
    )
    for headers in ({}, {"HX-Request": "true"}):
        response = bob_client.get(f"/crm/activites/{activity.pk}/", headers=headers)
        html = _html(response)
        assert response.status_code == 200
        assert "Occupé" in html and "09:00" in html
        for secret in ("Négociation secrète", "Hôtel", "prix plancher", "David Veilleux", "Modifier", "Supprimer"):
            assert secret not in html


def test_public_activities_of_others_are_visible_to_all_crm_staff_R15(bob_client, outsider, make_activity):
    activity = make_activity(outsider, "Venue d'Outlook", source=Activity.Source.OUTLOOK, outlook_id="A1")
    html = _html(bob_client.get(f"/crm/activites/{activity.pk}/"))
    assert "Venue d&#x27;Outlook" in html
    assert "Modifier" not in html  # visible, not editable


def test_deleted_activity_detail_is_not_found(bob_client, crm_user, make_activity):
    activity = make_activity(crm_user, "Annulée", is_deleted=True)
    assert bob_client.get(f"/crm/activites/{activity.pk}/").status_code == 404


def test_anonymous_cannot_open_an_activity(client, crm_user, make_activity):
    activity = make_activity(crm_user, "Réunion")
    response = client.get(f"/crm/activites/{activity.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")


# ---------------------------------------------------------------- create


def test_create_form_defaults_to_the_clicked_day_and_time(bob_client):
    html = _html(bob_client.get(CREATE, {"date": "2026-11-10", "time": "14:30"}, headers={"HX-Request": "true"}))
    assert html.lstrip().startswith('<dialog id="activity-dialog"')
    assert 'value="2026-11-10"' in html and 'value="14:30"' in html and 'value="15:30"' in html
    assert 'name="owner"' not in html  # a non-administrator creates their own activities


def test_create_saves_for_the_signed_in_user_and_queues_the_push(bob_client, crm_user, david, changed):
    response = bob_client.post(CREATE, _post(contact=str(david.pk)), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "activity-changed"
    activity = Activity.objects.get()
    assert activity.owner == crm_user and activity.contact == david
    assert activity.start == at(DAY, 13) and activity.end == at(DAY, 14)
    assert (activity.location, activity.is_private, activity.source) == ("Mon Bureau", False, "prextra")
    changed.assert_called_once_with(activity)


def test_create_without_htmx_redirects_to_the_day(bob_client, crm_user, changed):
    response = bob_client.post(CREATE, _post(visibility="private"))
    assert response.status_code == 302
    assert response["Location"] == f"/crm/calendrier/jour/?user={crm_user.pk}&day=2026-11-10"
    assert Activity.objects.get().is_private


def _live_region(html: str) -> str:
    return re.search(r'<div id="messages" role="status"[^>]*>(.*?)</div>', html, re.S).group(1)


def test_a_saved_activity_is_confirmed_in_the_pages_live_region(bob_client, crm_user, make_activity, changed):
    """htmx: the dialog's slot is emptied (the dialog closes) and the message is swapped, out of
    band, into the page's role=status region, which screen readers announce."""
    response = bob_client.post(CREATE, _post(subject="Visite chez Finloc"), headers={"HX-Request": "true"})
    html = _html(response)
    assert re.fullmatch(r'\s*<div id="messages" role="status" hx-swap-oob="innerHTML">.*</div>\s*', html, re.S)
    assert "Activité enregistrée : Visite chez Finloc." in _live_region(html)
    activity = Activity.objects.get()
    edited = bob_client.post(
        f"/crm/activites/{activity.pk}/modifier/", _post(subject="Visite révisée"), headers={"HX-Request": "true"}
    )
    assert "Activité enregistrée : Visite révisée." in _live_region(_html(edited))
    deleted = bob_client.post(f"/crm/activites/{activity.pk}/supprimer/", headers={"HX-Request": "true"})
    assert "Activité supprimée : Visite révisée." in _live_region(_html(deleted))
    # Shown once: the refreshed calendar that follows has no message left.
    assert "Activité" not in _live_region(_html(bob_client.get("/crm/calendrier/jour/")))


def test_without_htmx_the_day_the_save_redirects_to_shows_the_message(bob_client, crm_user, changed):
    response = bob_client.post(CREATE, _post(subject="Visite chez Finloc"), follow=True)
    assert "Activité enregistrée : Visite chez Finloc." in _live_region(_html(response))


def test_a_post_by_a_non_administrator_cannot_choose_another_owner(bob_client, crm_user, outsider, changed):
    bob_client.post(CREATE, _post(owner=str(outsider.pk)))
    assert Activity.objects.get().owner == crm_user


def test_an_administrator_may_create_for_another_user(client, admin_user, outsider, changed):
    client.force_login(admin_user)
    html = _html(client.get(CREATE, {"owner": outsider.pk}))
    assert 'name="owner"' in html and f'value="{outsider.pk}" selected' in html
    client.post(CREATE, _post(owner=str(outsider.pk)))
    assert Activity.objects.get().owner == outsider


def test_all_day_dates_are_local_midnights_end_inclusive_R14(bob_client, changed):
    bob_client.post(
        CREATE, _post(all_day="on", start_date="2026-11-10", end_date="2026-11-12", start_time="", end_time="")
    )
    activity = Activity.objects.get()
    assert activity.all_day
    assert activity.start == local_midnight(date(2026, 11, 10))
    assert activity.end == local_midnight(date(2026, 11, 13))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"subject": ""}, "subject", "Le sujet est obligatoire."),
        ({"end_time": "12:00"}, "end_time", "La fin doit être après le début."),
        ({"end_date": "2026-11-09"}, "end_time", "La fin doit être après le début."),
        ({"start_date": "10 nov"}, "start_date", "Date illisible : utilisez le format AAAA-MM-JJ."),
        ({"start_time": "25:99"}, "start_time", "Heure illisible : utilisez le format HH:MM."),
        ({"start_date": ""}, "start_date", "La date de début est obligatoire."),
        ({"start_time": ""}, "start_time", "L'heure de début est obligatoire"),
        (
            {"all_day": "on", "end_date": "2026-11-09"},
            "end_date",
            "La fin doit être le même jour que le début ou après.",
        ),
        ({"contact": "999999"}, "contact", "Ce contact n'existe pas ou est inactif."),
        ({"start_date": "2026-03-08", "end_date": "2026-03-08", "start_time": "02:30"}, "start_time", "n'existe pas"),
    ],
)
def test_validation_errors_are_in_french_and_keep_the_input(bob_client, changed, fields, field, message):
    posted = _post(**fields)
    response = bob_client.post(CREATE, posted, headers={"HX-Request": "true"})
    html = _html(response)
    assert response.status_code == 200  # htmx swaps only 2xx: the dialog comes back with its errors
    assert message.replace("'", "&#x27;") in html or message in html
    assert "L&#x27;activité n&#x27;a pas été enregistrée" in html or "L'activité n'a pas été enregistrée" in html
    assert 'value="Mon Bureau"' in html and "Valider ce qui doit être inclus" in html  # no lost input
    assert not Activity.objects.exists()
    changed.assert_not_called()
    assert bob_client.post(CREATE, posted).status_code == 400  # a whole page without htmx


def test_the_chosen_contact_is_kept_when_the_form_comes_back(bob_client, david, changed):
    html = _html(bob_client.post(CREATE, _post(subject="", contact=str(david.pk)), headers={"HX-Request": "true"}))
    assert f'value="{david.pk}"' in html and "David Veilleux &lt;david@finloc.com&gt;" in html


# ---------------------------------------------------------------- edit


def test_the_owner_edits_an_activity_and_the_push_is_queued(bob_client, crm_user, make_activity, changed):
    activity = make_activity(crm_user, "Suivi")
    url = f"/crm/activites/{activity.pk}/modifier/"
    form = _html(bob_client.get(url, headers={"HX-Request": "true"}))
    assert 'value="Suivi"' in form and 'value="09:00"' in form and 'value="10:00"' in form
    response = bob_client.post(
        url, _post(subject="Suivi révisé", start_time="10:00", end_time="11:30"), headers={"HX-Request": "true"}
    )
    assert response["HX-Trigger"] == "activity-changed"
    activity.refresh_from_db()
    assert activity.subject == "Suivi révisé" and activity.start == at(DAY, 10) and activity.end == at(DAY, 11, 30)
    changed.assert_called_once_with(activity)


def test_edit_form_shows_all_day_end_date_inclusive(bob_client, crm_user, make_activity):
    activity = make_activity(
        crm_user, "Congrès", local_midnight(DAY), local_midnight(DAY + timedelta(days=2)), all_day=True
    )
    html = _html(bob_client.get(f"/crm/activites/{activity.pk}/modifier/"))
    assert 'name="end_date" value="2026-11-11"' in html


def test_another_user_cannot_edit_or_delete_a_public_activity(bob_client, outsider, make_activity, changed):
    activity = make_activity(outsider, "Réunion de Charlie")
    assert bob_client.get(f"/crm/activites/{activity.pk}/modifier/").status_code == 403
    assert bob_client.post(f"/crm/activites/{activity.pk}/modifier/", _post()).status_code == 403
    assert bob_client.post(f"/crm/activites/{activity.pk}/supprimer/").status_code == 403
    activity.refresh_from_db()
    assert activity.subject == "Réunion de Charlie" and not activity.is_deleted
    changed.assert_not_called()


def test_another_users_private_activity_is_not_found_for_edit_even_for_an_administrator(
    client, admin_user, outsider, make_activity
):
    activity = make_activity(outsider, "Négociation secrète", is_private=True)
    client.force_login(admin_user)
    assert client.get(f"/crm/activites/{activity.pk}/modifier/").status_code == 404
    assert client.post(f"/crm/activites/{activity.pk}/supprimer/").status_code == 404


def test_an_administrator_edits_another_users_public_activity(client, admin_user, outsider, make_activity, changed):
    activity = make_activity(outsider, "Réunion de Charlie")
    client.force_login(admin_user)
    client.post(f"/crm/activites/{activity.pk}/modifier/", _post(subject="Réunion déplacée"))
    activity.refresh_from_db()
    assert activity.subject == "Réunion déplacée" and activity.owner == outsider
    changed.assert_called_once()


READ_ONLY = "Réunion organisée par Julie Fortin : à modifier dans Outlook"


def test_a_meeting_organized_by_someone_else_is_read_only_with_its_reason(bob_client, crm_user, make_activity):
    activity = make_activity(
        crm_user, "Revue chez Finloc", source=Activity.Source.OUTLOOK, outlook_id="M1",
        outlook_is_meeting=True, outlook_organizer="Julie Fortin",
    )  # fmt: skip
    html = _html(bob_client.get(f"/crm/activites/{activity.pk}/", headers={"HX-Request": "true"}))
    assert "Revue chez Finloc" in html and READ_ONLY in html
    assert "Modifier" not in html and "Supprimer" not in html


def test_editing_or_deleting_a_meeting_organized_by_someone_else_is_refused_in_words(
    bob_client, admin_user, client, crm_user, make_activity, changed
):
    """Server side too: a POST from a stale page or by hand changes nothing and says why (no 500)."""
    activity = make_activity(
        crm_user, "Revue chez Finloc", source=Activity.Source.OUTLOOK, outlook_id="M1", outlook_organizer="Julie Fortin"
    )
    edit, delete = f"/crm/activites/{activity.pk}/modifier/", f"/crm/activites/{activity.pk}/supprimer/"
    client.force_login(admin_user)
    for browser in (bob_client, client):
        for response in (browser.get(edit), browser.post(edit, _post(subject="Changé")), browser.post(delete)):
            assert response.status_code == 403 and READ_ONLY in _html(response)
    refused = bob_client.post(delete, headers={"HX-Request": "true"})
    assert READ_ONLY in _html(refused) and "HX-Trigger" not in refused
    activity.refresh_from_db()
    assert activity.subject == "Revue chez Finloc" and not activity.is_deleted
    changed.assert_not_called()


# ---------------------------------------------------------------- delete


def test_delete_is_a_recoverable_soft_delete_and_queues_the_push(bob_client, crm_user, make_activity, changed):
    activity = make_activity(crm_user, "À supprimer")
    confirm = bob_client.get(f"/crm/activites/{activity.pk}/supprimer/")
    assert confirm.status_code == 200 and "À supprimer" in _html(confirm)
    response = bob_client.post(f"/crm/activites/{activity.pk}/supprimer/", headers={"HX-Request": "true"})
    assert response["HX-Trigger"] == "activity-changed"
    activity.refresh_from_db()
    assert activity.is_deleted and activity.deleted_at is not None
    changed.assert_called_once_with(activity)
    assert bob_client.get(f"/crm/activites/{activity.pk}/").status_code == 404


def test_activity_changed_queues_a_push_after_commit_for_an_owner_who_syncs_out(
    bob_client, crm_user, django_capture_on_commit_callbacks
):
    """The view calls the real activity_changed (no `changed` fixture here): it queues nothing
    while the transaction is open, and one push of the owner's activities once it commits."""
    from accounts.models import ExchangeProfile

    ExchangeProfile.objects.create(user=crm_user, sync_activities_out=True)
    with mock.patch("exchange.tasks.sync_user.delay", autospec=True) as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            bob_client.post(CREATE, _post())
        created = Activity.objects.get(owner=crm_user)
        assert (created.subject, created.needs_push) == ("Présentation du projet Power BI", True)
        delay.assert_not_called()  # not before the commit: the worker could not see the activity yet
        for callback in callbacks:
            callback()
    delay.assert_called_once_with(crm_user.pk, "activities", "save")


# ---------------------------------------------------------------- contact search


def test_contact_search_lists_matching_active_contacts_by_name_or_email(bob_client, finloc, david):
    Contact.objects.create(first_name="Davina", last_name="Inactive", customer=finloc, is_active=False)
    Contact.objects.create(first_name="Eric", last_name="Lavoie", email="eric@davidson.ca", customer=finloc)
    html = _html(bob_client.get("/crm/activites/contacts/", {"contact_search": "david"}))
    assert "David Veilleux" in html and "Eric Lavoie" in html
    assert "Inactive" not in html
    assert f'data-value="{david.pk}"' in html


def test_contact_search_is_limited_and_needs_two_letters(bob_client, finloc):
    Contact.objects.bulk_create(
        [Contact(first_name=f"Client{number:02d}", last_name="Finloc", customer=finloc) for number in range(30)]
    )
    html = _html(bob_client.get("/crm/activites/contacts/", {"contact_search": "client"}))
    assert html.count("data-value=") == 15
    assert "data-value=" not in _html(bob_client.get("/crm/activites/contacts/", {"contact_search": "c"}))
