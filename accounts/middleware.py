"""Activates the signed-in user's language (R2); French (Canada) for everyone else. Ends the
sessions that the user's record no longer allows (R2)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, get_user_model, logout
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.translation import gettext, ngettext


class UserLanguageMiddleware:
    """Picks the UI language: the user's record, else the language cookie, else fr-ca.

    The browser's Accept-Language is deliberately ignored: the product is French first.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = self._language_for(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

    def _language_for(self, request) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language in self.supported:
            return user.language
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if cookie in self.supported:
            return cookie
        return settings.LANGUAGE_CODE


class SessionSecurityMiddleware:
    """Ends a session that the user's record no longer allows (R2), with a message saying why.

    - « Expiration de la connexion »: after that many minutes without a request the session ends.
      « Aucune expiration » leaves the session to Django's own lifetime (SESSION_COOKIE_AGE).
    - « Actif » off, « Date d'expiration » passed: the sign-in back end no longer finds the user
      (accounts.backends), so the session that still names them is ended at its next request.

    A page signed out here goes on as an anonymous one: the login requirement sends it to the
    sign-in page (which shows the message); an htmx request is told to load that page instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reason, language = session_end_reason(request, time.time())
        if not reason:
            return self.get_response(request)
        logout(request)
        messages.warning(request, reason)
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204, headers={"HX-Redirect": resolve_url(settings.LOGIN_URL)})
        else:
            response = self.get_response(request)
        # The sign-in page that follows speaks the user's language, as the message does.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure()
        )
        return response


# The session's stamp of the user's last request, in seconds since the epoch. It moves at most once
# a minute, so most page views write nothing; the session therefore ends between the chosen
# duration and a minute after it, never before.
LAST_ACTIVITY_KEY = "prextra_last_activity"
STAMP_REFRESH_SECONDS = 60
# Sent by the pages' script on the requests a page makes by itself (htmx polling, static/js/prextra.js):
# they are no activity of the person, so they do not move the stamp (they may still end the session).
POLL_HEADER = "X-Prextra-Poll"


def stamp_activity_at_sign_in(sender, request, user, **kwargs) -> None:
    """Signing in is activity: the new session starts with its stamp, so its first pages write nothing."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY_KEY] = int(time.time())


def session_end_reason(request, now: float) -> tuple[str, str]:
    """Why this request's session must end, in words, and the user's language; ('', '') when it
    goes on (its stamp refreshed when due)."""
    user = request.user
    if user.is_authenticated:
        minutes = user.connection_expiry
        stamp = request.session.get(LAST_ACTIVITY_KEY)
        if minutes and isinstance(stamp, int | float) and now - stamp > minutes * 60 + STAMP_REFRESH_SECONDS:
            reason = gettext("Votre session a expiré après %(duration)s d'inactivité.")
            return reason % {"duration": expiry_duration(minutes)}, translation.get_language()
        polling = request.headers.get(POLL_HEADER) == "1"
        if not isinstance(stamp, int | float) or (now - stamp >= STAMP_REFRESH_SECONDS and not polling):
            request.session[LAST_ACTIVITY_KEY] = int(now)
        return "", ""
    if SESSION_KEY in request.session:  # signed in earlier, refused by the back end now
        return refused_account_reason(request.session[SESSION_KEY])
    return "", ""


def refused_account_reason(user_id) -> tuple[str, str]:
    """Why a signed-in session's user is no longer let in, in their language. When nothing on the
    record says so (the sign-in back end was changed, for one), the session ends all the same."""
    user = get_user_model().objects.filter(pk=user_id).first() if str(user_id).isdigit() else None
    language = user.language if user is not None else translation.get_language()
    with translation.override(language):
        if user is None or not user.is_active:
            return gettext("Votre compte n'est plus actif. Communiquez avec votre administrateur."), language
        if user.is_expired():
            return gettext("Votre compte a expiré. Communiquez avec votre administrateur."), language
        return gettext("Votre session a pris fin. Connectez-vous de nouveau."), language


def expiry_duration(minutes: int) -> str:
    """« 15 minutes », « 1 heure »: the choice's own label, else the minutes counted."""
    try:
        return str(get_user_model().ConnectionExpiry(minutes).label)
    except ValueError:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
