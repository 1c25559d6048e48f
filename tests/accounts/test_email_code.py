"""« Authentification par courriel » (R2): after the password, a one-time code sent by email.

Short-lived (ten minutes), single use, five wrong codes cancel the sign-in, at most five codes
mailed per user in fifteen minutes, never in a log line. Django's mail outbox stands in for SMTP.
"""

from __future__ import annotations

import logging
import re
import time
import types

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from accounts import email_code, throttle
from accounts.forms import EmailCodeForm
from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def diane(django_user_model):
    """Diane signs in with a code sent to her mailbox."""
    return django_user_model.objects.create_user(
        "DIANE", PASSWORD, name="Diane Morin", email="diane@prextra.test", email_authentication=True
    )


@pytest.fixture
def clock(monkeypatch):
    """The pending sign-in's clock, moved by hand: clock.now += 601."""
    state = types.SimpleNamespace(now=time.time())
    monkeypatch.setattr(email_code, "time", types.SimpleNamespace(time=lambda: state.now))
    return state


def _password(client, code="DIANE", **extra):
    return client.post(reverse("login"), {"username": code, "password": PASSWORD, **extra})


def _mailed_code(index=-1) -> str:
    return CODE.search(mail.outbox[index].body).group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_password_alone_does_not_sign_in_but_mails_a_code(client, diane):
    response = _password(client)
    assert response.status_code == 302 and response.url == reverse("login_code")
    assert SESSION_KEY not in client.session
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["diane@prextra.test"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject == "Votre code de connexion à Prextra"
    assert "valide pendant 10 minutes" in message.body
    page = client.get(reverse("login_code")).content.decode()
    assert "d•••@prextra.test" in page and 'autocomplete="one-time-code"' in page
    assert _mailed_code() not in page


def test_the_right_code_signs_in_and_goes_where_the_person_was_going(client, diane):
    _password(client, next=reverse("contact_search"))
    response = client.post(reverse("login_code"), {"code": _mailed_code()})
    assert response.status_code == 302 and response.url == reverse("contact_search")
    assert client.session[SESSION_KEY] == str(diane.pk)
    assert "Bonjour Diane Morin" in client.get(reverse("home")).content.decode()


def test_spaces_in_the_typed_code_are_ignored(client, diane):
    _password(client)
    code = _mailed_code()
    client.post(reverse("login_code"), {"code": f" {code[:3]} {code[3:]} "})
    assert client.session[SESSION_KEY] == str(diane.pk)


def test_a_wrong_code_says_how_many_tries_are_left(client, diane):
    _password(client)
    response = client.post(reverse("login_code"), {"code": _wrong(_mailed_code())})
    assert response.status_code == 400
    assert "Ce code n&#x27;est pas le bon. Il vous reste 4 essais." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_five_wrong_codes_cancel_the_sign_in(client, diane):
    _password(client)
    code = _mailed_code()
    for _attempt in range(email_code.MAX_ATTEMPTS - 1):
        assert client.post(reverse("login_code"), {"code": _wrong(code)}).status_code == 400
    response = client.post(reverse("login_code"), {"code": _wrong(code)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "La connexion est annulée." in response.content.decode()
    client.post(reverse("login_code"), {"code": code})  # the right one, too late
    assert SESSION_KEY not in client.session


def test_wrong_codes_count_as_failed_sign_ins(client, diane):
    """After five wrong codes, the password itself is refused for a while (accounts.throttle)."""
    _password(client)
    code = _mailed_code()
    for _attempt in range(email_code.MAX_ATTEMPTS):
        client.post(reverse("login_code"), {"code": _wrong(code)})
    response = _password(client)
    assert "Trop de tentatives de connexion infructueuses" in response.content.decode()
    assert len(mail.outbox) == 1


def test_a_malformed_code_is_no_attempt(client, diane):
    _password(client)
    for typed in ["12345", "1234567", "abcdef", "١٢٣٤٥٦", ""]:
        response = client.post(reverse("login_code"), {"code": typed})
        assert response.status_code == 400
    assert client.session[email_code.SESSION_KEY]["attempts"] == 0


def test_an_expired_code_is_refused(client, diane, clock):
    _password(client)
    clock.now += email_code.LIFETIME_SECONDS + 1
    response = client.post(reverse("login_code"), {"code": _mailed_code()}, follow=True)
    assert "Le code a expiré." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_a_code_just_within_ten_minutes_is_accepted(client, diane, clock):
    _password(client)
    clock.now += email_code.LIFETIME_SECONDS - 1
    client.post(reverse("login_code"), {"code": _mailed_code()})
    assert client.session[SESSION_KEY] == str(diane.pk)


def test_a_code_is_good_once(client, diane):
    _password(client)
    code = _mailed_code()
    client.post(reverse("login_code"), {"code": code})
    client.post(reverse("logout"))
    response = client.post(reverse("login_code"), {"code": code})
    assert response.status_code == 302 and response.url == reverse("login")
    assert SESSION_KEY not in client.session


def test_a_new_sign_in_replaces_the_previous_code(client, diane):
    _password(client)
    first = _mailed_code()
    _password(client)
    second = _mailed_code()
    if first != second:
        assert client.post(reverse("login_code"), {"code": first}).status_code == 400
    client.post(reverse("login_code"), {"code": second})
    assert client.session[SESSION_KEY] == str(diane.pk)


def test_the_session_holds_no_code(client, diane):
    _password(client)
    pending = client.session[email_code.SESSION_KEY]
    assert _mailed_code() not in {str(value) for value in pending.values()}
    assert len(pending["digest"]) == 64


def test_at_most_five_codes_are_mailed_in_fifteen_minutes(client, diane):
    for _attempt in range(throttle.MAX_CODES_PER_USER):
        _password(client)
    response = _password(client)
    assert response.status_code == 200
    assert "Trop de codes de connexion ont été envoyés." in response.content.decode()
    assert len(mail.outbox) == throttle.MAX_CODES_PER_USER
    assert email_code.SESSION_KEY not in client.session


def test_a_user_without_an_email_address_cannot_sign_in(client, diane):
    User.objects.filter(pk=diane.pk).update(email="")
    response = _password(client)
    assert response.status_code == 200
    assert "il n&#x27;a pas d&#x27;adresse courriel. Communiquez avec" in response.content.decode()
    assert SESSION_KEY not in client.session and not mail.outbox


def test_a_mail_server_that_fails_is_said_and_nothing_waits(client, diane, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(email_code, "send_mail", refuse)
    response = _password(client)
    assert "Le code de connexion n&#x27;a pas pu être envoyé." in response.content.decode()
    assert email_code.SESSION_KEY not in client.session
    assert "could not be sent" in caplog.text


def test_a_user_deactivated_while_the_code_waits_is_not_signed_in(client, diane):
    _password(client)
    User.objects.filter(pk=diane.pk).update(is_active=False)
    client.post(reverse("login_code"), {"code": _mailed_code()})
    assert SESSION_KEY not in client.session


def test_users_without_email_authentication_sign_in_with_the_password(client, crm_user):
    client.post(reverse("login"), {"username": "BOB", "password": PASSWORD})
    assert client.session[SESSION_KEY] == str(crm_user.pk)
    assert not mail.outbox


def test_the_code_email_is_in_the_users_language(client, diane):
    User.objects.filter(pk=diane.pk).update(language="en")
    _password(client)
    assert mail.outbox[0].subject == "Your Prextra sign-in code"


def test_the_code_is_never_logged(client, diane, caplog):
    caplog.set_level(logging.DEBUG)
    _password(client)
    code = _mailed_code()
    client.post(reverse("login_code"), {"code": _wrong(code)})
    client.post(reverse("login_code"), {"code": code})
    assert client.session[SESSION_KEY] == str(diane.pk)
    assert "Sign-in code mailed to user DIANE" in caplog.text  # the log does speak of it...
    logged = caplog.text + " ".join(repr(record.args) for record in caplog.records)
    assert code not in logged and _wrong(code) not in logged  # ...never with it


def test_the_django_admin_sign_in_page_does_not_skip_the_code(client, diane):
    """The admin's own sign-in asks for no code: such a user is sent to the product's page."""
    User.objects.filter(pk=diane.pk).update(is_staff=True)
    response = client.post("/admin/login/", {"username": "DIANE", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 200
    assert "passez par la page de connexion de Prextra" in response.content.decode()
    assert SESSION_KEY not in client.session
    _password(client)
    client.post(reverse("login_code"), {"code": _mailed_code()})
    assert client.get("/admin/").status_code == 200


def test_the_code_page_without_a_pending_sign_in_goes_to_the_sign_in_page(client):
    assert client.get(reverse("login_code")).url == reverse("login")


@pytest.mark.parametrize(("typed", "valid"), [("012345", True), ("012 345", True), ("01234", False), ("0123a5", False)])
def test_the_code_form_takes_six_digits(typed, valid):
    assert EmailCodeForm({"code": typed}).is_valid() is valid


def test_codes_are_six_digits_and_vary():
    codes = {email_code.new_code() for _draw in range(50)}
    assert all(re.fullmatch(r"\d{6}", code) for code in codes) and len(codes) > 40


def test_the_address_is_masked_on_the_page():
    assert email_code.masked_email("diane@prextra.test") == "d•••@prextra.test"


def test_the_error_is_tied_to_the_code_input(client, diane):
    _password(client)
    page = client.post(reverse("login_code"), {"code": "12"}).content.decode()
    assert 'aria-describedby="id_code_error"' in page
    assert '<p class="error" id="id_code_error" role="alert">Le code compte six chiffres.</p>' in page
