"""The methods a screen answers: GET, HEAD and POST, and nothing else.

Every screen is a Django view that reads GET and handles a form's POST; htmx uses those two
only. Without this middleware, a view that checks only `request.method == "POST"` answered
OPTIONS (or any other method that CSRF does not stop) with the page itself (bin/scan, wapiti's
methods module). Each other method now gets 405 Method Not Allowed with the Allow header
(RFC 9110 §15.5.6), before any view runs.
"""

from __future__ import annotations

from django.http import HttpResponseNotAllowed

ALLOWED = ("GET", "HEAD", "POST")


class AllowedMethodsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ALLOWED:
            return HttpResponseNotAllowed(ALLOWED)
        return self.get_response(request)
