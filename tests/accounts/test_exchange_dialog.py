"""The Exchange dialog of the user record (R3, R4, R5, R20): switches, stamps, first sync on save."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html import unescape
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.models import ExchangeProfile
from exchange.models import Direction, GraphConnection, SyncState
from exchange.sync.runs import locked

pytestmark = pytest.mark.django_db

LABELS = [
    "Sync. contacts d'Exchange à Prextra :",
    "Sync. activités Exchange à Prextra :",
    "Sync. activités Prextra à Exchange :",
]
SAVED = "Enregistré. La première synchronisation démarre : résultat dans environ 10 secondes."
ALL_ON = {"sync_contacts_in": "on", "sync_activities_in": "on", "sync_activities_out": "on"}


@pytest.fixture
def dialog_url(crm_user, exchange_button, graph_connection):
    return reverse("user_exchange", args=[crm_user.pk])


@pytest.fixture
def enqueue():
    with mock.patch("exchange.views.enqueue_first_sync", autospec=True) as patched:
        yield patched


def _page(response) -> str:
    return unescape(response.content.decode())


def test_record_opens_the_dialog_with_htmx_and_a_real_href_R3(admin_client, crm_user, dialog_url):
    html = admin_client.get(reverse("user_detail", args=[crm_user.pk])).content.decode()
    assert f'href="{dialog_url}"' in html
    assert f'hx-get="{dialog_url}" hx-target="#exchange-dialog-slot"' in html


def test_dialog_has_the_three_boxes_and_the_buttons_of_the_customer_R4(admin_client, dialog_url):
    response = admin_client.get(dialog_url, HTTP_HX_REQUEST="true")
    html = _page(response)
    assert html.lstrip().startswith('<dialog id="exchange-dialog"')
    assert "<html" not in html and "<dialog" in html and "</dialog>" in html
    for label, name in zip(LABELS, ALL_ON, strict=True):
        assert f'<label for="id_{name}">{label}</label>' in html
        assert f'name="{name}"' in html
    assert ">Enregistrer</button>" in html and ">Fermer</button>" in html
    assert 'method="dialog"' in html  # Fermer closes the dialog without a request


def test_dialog_is_a_whole_page_on_a_browser_reload_R4(admin_client, crm_user, dialog_url):
    html = _page(admin_client.get(dialog_url))
    assert "<html" in html and "Bob Bélanger" in html
    assert "Code d'utilisateur :" in html  # the record under the dialog
    assert '<dialog id="exchange-dialog" class="exchange-dialog"' in html and " open " in html
    for label in LABELS:
        assert label in html


def test_dialog_is_not_found_when_the_button_is_not_configured_R3(admin_client, crm_user, exchange_button):
    exchange_button.value = "btnautre"
    exchange_button.save()
    assert admin_client.get(reverse("user_exchange", args=[crm_user.pk])).status_code == 404


def test_dialog_shows_each_directions_stamps_in_toronto_time_R20(admin_client, crm_user, dialog_url):
    SyncState.objects.create(
        user=crm_user,
        direction=Direction.ACTIVITIES_IN,
        last_success_at=datetime(2022, 11, 11, 16, 31, 43, tzinfo=UTC),
        last_attempt_at=datetime(2022, 11, 11, 16, 32, 5, tzinfo=UTC),
        last_failure={"code": "graph_mailbox_not_found"},
    )
    SyncState.objects.create(
        user=crm_user,
        direction=Direction.ACTIVITIES_OUT,
        last_success_at=datetime(2022, 7, 1, 4, 0, 0, tzinfo=UTC),  # summer time: UTC-4
        last_attempt_at=datetime(2022, 7, 1, 4, 0, 0, tzinfo=UTC),
    )
    html = _page(admin_client.get(dialog_url, HTTP_HX_REQUEST="true"))
    incoming = html[html.index("Dernière sync. d'activités (Exchange à Prextra) :") :].split("</dd>")[0]
    assert "11/11/2022 11:31:43" in incoming  # jj/mm/aaaa, as on every screen
    assert "Dernière tentative : 11/11/2022 11:32:05" in incoming
    assert "Dernière erreur : Boîte aux lettres introuvable : l" in incoming
    outgoing = html[html.index("Dernière sync. d'activités (Prextra à Exchange) :") :].split("</dd>")[0]
    assert "01/07/2022 00:00:00" in outgoing and "erreur" not in outgoing
    contacts = html[html.index("Dernière sync. de contacts (Exchange à Prextra) :") :].split("</dd>")[0]
    assert contacts.count("Jamais") == 2


def test_stamps_refresh_themselves_while_a_sync_is_in_flight(admin_client, crm_user, dialog_url):
    html = admin_client.get(dialog_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 3s"' not in html
    state = SyncState.objects.create(user=crm_user, direction=Direction.CONTACTS_IN)
    with locked(state):
        html = admin_client.get(dialog_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 3s"' in html and "en cours…" in html
    poll = admin_client.get(dialog_url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="exchange-stamps")
    assert poll.content.decode().lstrip().startswith('<dl id="exchange-stamps"')
    assert "<form" not in poll.content.decode()


def test_enregistrer_saves_the_switches_and_starts_the_first_sync_R4(admin_client, crm_user, dialog_url, enqueue):
    response = admin_client.post(dialog_url, {"sync_contacts_in": "on", "sync_activities_out": "on"})
    assert response["Location"] == dialog_url
    profile = ExchangeProfile.objects.get(user=crm_user)
    assert (profile.sync_contacts_in, profile.sync_activities_in, profile.sync_activities_out) == (True, False, True)
    enqueue.assert_called_once_with(crm_user)
    assert SAVED in _page(admin_client.get(dialog_url))


def test_enregistrer_with_htmx_answers_inside_the_dialog_and_polls_for_the_result_R4(
    admin_client, crm_user, dialog_url, enqueue
):
    response = admin_client.post(dialog_url, ALL_ON, HTTP_HX_REQUEST="true")
    html = _page(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="exchange-body"')
    assert SAVED in html
    assert "checked" in html and 'hx-trigger="every 3s"' in html and "?depuis=" in html
    enqueue.assert_called_once_with(crm_user)
    # No flash message is left behind for the next page.
    assert SAVED not in _page(admin_client.get(reverse("user_detail", args=[crm_user.pk])))


def test_the_first_sync_is_queued_once_the_save_commits_R4(
    admin_client, crm_user, dialog_url, django_capture_on_commit_callbacks
):
    with (
        mock.patch("exchange.tasks.sync_user.delay", autospec=True) as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        admin_client.post(dialog_url, {"sync_contacts_in": "on"})
    assert callbacks
    delay.assert_called_once_with(crm_user.pk, Direction.CONTACTS_IN, "save")


def test_unticking_every_box_saves_without_starting_a_sync(admin_client, crm_user, dialog_url, enqueue):
    ExchangeProfile.objects.create(user=crm_user, sync_contacts_in=True)
    response = admin_client.post(dialog_url, {}, follow=True)
    assert not ExchangeProfile.objects.get(user=crm_user).any_enabled
    enqueue.assert_not_called()
    assert "La synchronisation Exchange est désactivée pour cet utilisateur." in _page(response)


def test_user_without_email_cannot_be_switched_on(admin_client, crm_user, dialog_url, enqueue):
    crm_user.email = ""
    crm_user.save()
    html = _page(admin_client.get(dialog_url, HTTP_HX_REQUEST="true"))
    assert "Ajoutez d'abord une adresse courriel à l'utilisateur." in html
    assert reverse("user_edit", args=[crm_user.pk]) in html
    assert html.count("disabled") == 3
    assert ">Enregistrer</button>" not in html and ">Fermer</button>" in html
    response = admin_client.post(dialog_url, ALL_ON, HTTP_HX_REQUEST="true")
    assert "Ajoutez d'abord une adresse courriel" in _page(response)
    assert not ExchangeProfile.objects.filter(user=crm_user).exists()
    enqueue.assert_not_called()


def test_without_a_microsoft_365_connection_the_dialog_says_so(admin_client, crm_user, dialog_url, enqueue):
    GraphConnection.objects.all().delete()
    html = _page(admin_client.get(dialog_url, HTTP_HX_REQUEST="true"))
    assert "Aucune connexion Microsoft 365 n'est enregistrée" in html
    assert f'href="{reverse("graph_connection")}"' in html
    assert html.count("disabled") == 3 and ">Enregistrer</button>" not in html
    response = admin_client.post(dialog_url, ALL_ON, follow=True)
    assert "Aucune connexion Microsoft 365" in _page(response)
    assert not ExchangeProfile.objects.filter(user=crm_user).exists()
    enqueue.assert_not_called()


@pytest.mark.parametrize(
    "changes",
    [{"is_active": False}, {"never_expires": False, "expiry_date": date(2020, 1, 1)}],
    ids=["inactive", "expired"],
)
def test_inactive_or_expired_users_may_be_saved_with_a_warning_R5(admin_client, crm_user, dialog_url, enqueue, changes):
    for name, value in changes.items():
        setattr(crm_user, name, value)
    crm_user.save()
    html = _page(admin_client.get(dialog_url, HTTP_HX_REQUEST="true"))
    assert "il n'est pas synchronisé" in html and ">Enregistrer</button>" in html
    response = admin_client.post(dialog_url, ALL_ON, HTTP_HX_REQUEST="true")
    assert "Cet utilisateur n'est pas synchronisé tant qu'il est inactif ou expiré." in _page(response)
    assert ExchangeProfile.objects.get(user=crm_user).any_enabled
    enqueue.assert_not_called()


def test_sync_errors_are_escaped(admin_client, crm_user, dialog_url):
    hostile = {"code": "text", "params": {"text": "<script>alert(1)</script>"}}  # e.g. Graph's own words
    SyncState.objects.create(user=crm_user, direction=Direction.CONTACTS_IN, last_failure=hostile)
    html = admin_client.get(dialog_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


@pytest.mark.parametrize("interval", [10, 20])
def test_the_saved_message_promises_the_products_own_latency_R6(admin_client, dialog_url, enqueue, interval):
    """The message names the beat interval (PREXTRA_SYNC_INTERVAL, 10 s by default), never the
    help page's thirty seconds."""
    with override_settings(PREXTRA_SYNC_INTERVAL=interval):
        html = _page(admin_client.post(dialog_url, ALL_ON, HTTP_HX_REQUEST="true"))
    assert f"résultat dans environ {interval} secondes." in html
    assert "30 secondes" not in html and "trente" not in html
