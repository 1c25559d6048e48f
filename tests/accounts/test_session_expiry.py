"""A session ends when the user's record says so (R2): after « Expiration de la connexion » of
inactivity, and at the next request once « Actif » is off or « Date d'expiration » has passed."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import LAST_ACTIVITY_KEY, POLL_HEADER, STAMP_REFRESH_SECONDS, expiry_duration
from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob_client(client, crm_user):
    client.force_login(crm_user)
    client.get(reverse("home"))  # the first request stamps the session
    return client


def _age_stamp(client, seconds: float) -> None:
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(time.time() - seconds)
    session.save()


def _set(user, **fields) -> None:
    User.objects.filter(pk=user.pk).update(**fields)


def test_aucune_expiration_keeps_an_idle_session(bob_client, crm_user):
    """R2: « Aucune expiration » leaves the session to Django's own lifetime."""
    assert crm_user.connection_expiry == User.ConnectionExpiry.NONE
    _age_stamp(bob_client, 30 * 24 * 3600)
    assert bob_client.get(reverse("home")).status_code == 200


def test_fifteen_minutes_of_inactivity_end_the_session_with_a_message(bob_client, crm_user):
    """R2 « Expiration de la connexion »: 15 minutes (and the minute the stamp may lag) without a request."""
    _set(crm_user, connection_expiry=User.ConnectionExpiry.MIN_15)
    _age_stamp(bob_client, 15 * 60 + STAMP_REFRESH_SECONDS + 1)
    response = bob_client.get(reverse("contact_search"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")
    assert SESSION_KEY not in bob_client.session
    page = bob_client.get(response.url).content.decode()
    assert "Votre session a expiré après 15 minutes d&#x27;inactivité." in page


def test_activity_within_the_duration_keeps_the_session_and_moves_the_stamp(bob_client, crm_user):
    _set(crm_user, connection_expiry=User.ConnectionExpiry.MIN_15)
    _age_stamp(bob_client, 14 * 60)
    before = bob_client.session[LAST_ACTIVITY_KEY]
    assert bob_client.get(reverse("home")).status_code == 200
    assert bob_client.session[LAST_ACTIVITY_KEY] >= before + 14 * 60 - 1


def test_a_recent_stamp_is_not_rewritten_on_every_page(bob_client, crm_user):
    """The session is written at most once a minute for the stamp: most page views write nothing."""
    _set(crm_user, connection_expiry=User.ConnectionExpiry.MIN_15)
    _age_stamp(bob_client, 20)
    before = bob_client.session[LAST_ACTIVITY_KEY]
    bob_client.get(reverse("home"))
    assert bob_client.session[LAST_ACTIVITY_KEY] == before


def test_a_page_polling_by_itself_is_no_activity(bob_client, crm_user):
    """A screen left open that refreshes itself (htmx polling) does not keep the session alive."""
    _set(crm_user, connection_expiry=User.ConnectionExpiry.MIN_15)
    _age_stamp(bob_client, 10 * 60)
    before = bob_client.session[LAST_ACTIVITY_KEY]
    bob_client.get(reverse("home"), headers={"HX-Request": "true", POLL_HEADER: "1"})
    assert bob_client.session[LAST_ACTIVITY_KEY] == before
    _age_stamp(bob_client, 16 * 60 + STAMP_REFRESH_SECONDS)
    response = bob_client.get(reverse("home"), headers={"HX-Request": "true", POLL_HEADER: "1"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == reverse("login")
    assert SESSION_KEY not in bob_client.session


def test_the_session_ends_in_the_users_language(bob_client, crm_user):
    _set(crm_user, connection_expiry=User.ConnectionExpiry.HOUR_1, language="en")
    _age_stamp(bob_client, 3600 + STAMP_REFRESH_SECONDS + 1)
    response = bob_client.get(reverse("home"), follow=True)
    assert "Your session expired after 1 hour of inactivity." in response.content.decode()


def test_a_deactivated_user_is_signed_out_at_the_next_request(bob_client, crm_user):
    """R2 « Actif » off: the open session ends at once, with the reason."""
    _set(crm_user, is_active=False)
    response = bob_client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "Votre compte n&#x27;est plus actif." in response.content.decode()
    assert SESSION_KEY not in bob_client.session


def test_a_user_past_their_expiry_date_is_signed_out_and_cannot_sign_in(bob_client, crm_user):
    """R2 « Date d'expiration » passed (and « N'expire jamais » off): signed out, password refused."""
    _set(crm_user, never_expires=False, expiry_date=timezone.localdate() - timedelta(days=1))
    response = bob_client.get(reverse("home"), follow=True)
    assert "Votre compte a expiré." in response.content.decode()
    assert SESSION_KEY not in bob_client.session
    response = bob_client.post(reverse("login"), {"username": "BOB", "password": PASSWORD})
    assert "Code d&#x27;utilisateur ou mot de passe invalide" in response.content.decode()
    assert SESSION_KEY not in bob_client.session


def test_an_expiry_date_of_today_or_never_expires_still_lets_the_user_in(bob_client, crm_user):
    _set(crm_user, never_expires=False, expiry_date=timezone.localdate())
    assert bob_client.get(reverse("home")).status_code == 200
    _set(crm_user, never_expires=True, expiry_date=timezone.localdate() - timedelta(days=9))
    assert bob_client.get(reverse("home")).status_code == 200


def test_a_session_of_a_retired_sign_in_back_end_ends_without_blaming_the_account(bob_client, crm_user):
    """Nothing on the record refuses the user: the session ends, and the message says only that."""
    session = bob_client.session
    session["_auth_user_backend"] = "django.contrib.auth.backends.RemoteUserBackend"
    session.save()
    response = bob_client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    page = response.content.decode()
    assert "Votre session a pris fin. Connectez-vous de nouveau." in page
    assert "Votre compte" not in page
    assert SESSION_KEY not in bob_client.session


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(15, "15 minutes"), (60, "1 heure"), (480, "8 heures"), (45, "45 minutes"), (1, "1 minute")],
)
def test_the_duration_reads_as_the_record_shows_it(minutes, words):
    assert expiry_duration(minutes) == words
