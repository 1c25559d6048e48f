"""Two checks of every request before a view sees it, each found by bin/scan (wapiti).

The methods a screen answers: GET, HEAD and POST, and nothing else. Every screen is a Django view
that reads GET and handles a form's POST; htmx uses those two only. Without this check, a view
that tests only `request.method == "POST"` answered OPTIONS (or any other method that CSRF does
not stop) with the page itself (wapiti's methods module). Each other method gets 405 Method Not
Allowed with the Allow header (RFC 9110 §15.5.6).

No NUL character in a parameter: PostgreSQL refuses one in any text it is given, so a NUL
reaching a query was a 500 (the Django admin's list filters, `?province=%00`, wapiti's file
module). The product's forms already refuse it (Django's ProhibitNullCharactersValidator); this
answers 400 with the product's page for every query string and form, the admin's included.
"""

from __future__ import annotations

from django.http import HttpResponseNotAllowed
from django.shortcuts import render

ALLOWED = ("GET", "HEAD", "POST")
NUL = "\x00"


class AllowedMethodsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ALLOWED:
            return HttpResponseNotAllowed(ALLOWED)
        return self.get_response(request)


class NullCharacterMiddleware:
    """After the session, authentication and language middleware: the 400 page has its menu."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return render(request, "400.html", status=400)
        return self.get_response(request)


def _has_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in data.getlist(key)) for key in data)
