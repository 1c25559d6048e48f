"""The Content-Security-Policy header of every page, so that injected markup cannot run.

Scripts come only from this site: no inline script, no `eval` (htmx's `hx-on` and its eval are
off; the pages' handlers live in static/js/prextra.js). Style attributes stay allowed: the daily
calendar positions its blocks with them, and a style attribute cannot run code. Frames,
plugins, foreign forms and `<base>` are refused. Django 6 has this built in; on 5.2 it is this
small middleware.
"""

from __future__ import annotations

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
