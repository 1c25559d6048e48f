"""Sign-in by a code sent by email (R2 « Authentification par courriel »).

After a correct password, a user with the box ticked is not signed in yet: a six-digit code is
mailed to their address and the sign-in completes only with it. The pending sign-in lives in the
session: the user, their back end, a keyed hash of the code (never the code: salted with the
secret key, so a leaked session does not give it away), when it expires and the wrong attempts so
far. A code is good for ten minutes and once; five wrong codes cancel the pending sign-in and each
counts as a failed sign-in (accounts.throttle); at most five codes are mailed to a user in fifteen
minutes. The code is in the email only: never in the session, a page or a log line.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import load_backend, login
from django.core.mail import send_mail
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext

from prextra_sync.client_address import client_address

from . import throttle
from .models import User

logger = logging.getLogger(__name__)

SESSION_KEY = "prextra_email_code"
LIFETIME_SECONDS = 10 * 60
MAX_ATTEMPTS = 5
DIGITS = 6
_SALT = "accounts.email_code"


class Outcome(enum.StrEnum):
    SIGNED_IN = "signed_in"
    WRONG = "wrong"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # too many wrong codes, or the user may no longer sign in
    NONE_PENDING = "none_pending"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    attempts_left: int = 0
    next_url: str = ""


def new_code() -> str:
    """Six random digits, leading zeros kept."""
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def _digest(nonce: str, user_id: int, code: str) -> str:
    return salted_hmac(_SALT, f"{nonce}:{user_id}:{code}", algorithm="sha256").hexdigest()


def start(request, user: User, next_url: str = "") -> str:
    """Mail a new code to `user` and remember the pending sign-in; '' when the code was sent, else
    why the sign-in cannot go on, in words (the user then stays signed out)."""
    cancel(request)
    if not user.email:
        return gettext(
            "L'authentification par courriel est exigée pour ce compte, mais il n'a pas d'adresse "
            "courriel. Communiquez avec votre administrateur."
        )
    if not throttle.allow_email_code(user.pk):
        return gettext(
            "Trop de codes de connexion ont été envoyés. Réessayez dans quinze minutes ou communiquez "
            "avec votre administrateur."
        )
    code, nonce = new_code(), secrets.token_hex(16)
    try:
        send_code(user, code)
    except Exception:  # SMTP refused or unreachable: say so, keep the trace (never the message) in the log
        logger.exception("The sign-in code email to user %s could not be sent", user.code)
        return gettext(
            "Le code de connexion n'a pas pu être envoyé. Réessayez plus tard ou communiquez avec votre administrateur."
        )
    request.session[SESSION_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "nonce": nonce,
        "digest": _digest(nonce, user.pk, code),
        "expires": time.time() + LIFETIME_SECONDS,
        "attempts": 0,
        "next": next_url,
    }
    logger.info("Sign-in code mailed to user %s", user.code)
    return ""


def send_code(user: User, code: str) -> None:
    """The email, in the user's language, from DEFAULT_FROM_EMAIL."""
    with translation.override(user.language):
        subject = gettext("Votre code de connexion à Prextra")
        body = gettext(
            "Bonjour %(name)s,\n\n"
            "Votre code de connexion à Prextra : %(code)s\n\n"
            "Il est valide pendant %(minutes)d minutes, une seule fois.\n\n"
            "Si vous n'avez pas tenté de vous connecter, quelqu'un connaît votre mot de passe : "
            "changez-le et avertissez votre administrateur.\n"
        ) % {"name": user.name or user.code, "code": code, "minutes": LIFETIME_SECONDS // 60}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def pending_user(request) -> User | None:
    """The user whose sign-in waits for a code in this session, if any."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    return User.objects.filter(pk=data.get("user")).first()


def cancel(request) -> None:
    request.session.pop(SESSION_KEY, None)


def verify(request, typed: str) -> Result:
    """Check the typed code against the pending sign-in; on a match, sign the user in (once)."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return Result(Outcome.NONE_PENDING)
    if time.time() > data["expires"]:
        cancel(request)
        return Result(Outcome.EXPIRED)
    user = load_backend(data["backend"]).get_user(data["user"])  # None when deactivated or expired since
    if user is None:
        cancel(request)
        return Result(Outcome.CANCELLED)
    if constant_time_compare(_digest(data["nonce"], user.pk, typed), data["digest"]):
        cancel(request)  # single use: gone before the sign-in
        login(request, user, backend=data["backend"])
        return Result(Outcome.SIGNED_IN, next_url=data["next"])
    throttle.record_failure(client_address(request), user.code)
    attempts = data["attempts"] + 1
    if attempts >= MAX_ATTEMPTS:
        cancel(request)
        logger.warning("Sign-in of user %s cancelled after %d wrong email codes", user.code, attempts)
        return Result(Outcome.CANCELLED)
    request.session[SESSION_KEY] = {**data, "attempts": attempts}
    return Result(Outcome.WRONG, attempts_left=MAX_ATTEMPTS - attempts)


def masked_email(address: str) -> str:
    """« b•••@prextra.test »: enough for the person to know which mailbox to open."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
