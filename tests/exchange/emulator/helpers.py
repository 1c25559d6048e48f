"""Helpers shared by the emulator tests: the production-like client and Graph shape checks."""

from __future__ import annotations

import msal
import requests

from exchange.emulator import GraphEmulator

SCOPE = ["https://graph.microsoft.com/.default"]


def make_session(ca_file: str) -> requests.Session:
    """What the product does: ignore REQUESTS_CA_BUNDLE and trust the emulator's CA explicitly."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file
    return session


def make_app(emulator: GraphEmulator, session: requests.Session, secret: str | None = None, **kwargs):
    """An msal confidential client against the emulator's authority."""
    return msal.ConfidentialClientApplication(
        kwargs.pop("client_id", emulator.identity.client_id),
        client_credential=secret or emulator.identity.client_secret,
        authority=kwargs.pop("authority", emulator.authority),
        instance_discovery=False,
        http_client=session,
        timeout=10,
        **kwargs,
    )


def graph_error(response: requests.Response) -> dict:
    """The `error` object of a Graph error response, checked for Graph's documented shape."""
    body = response.json()
    error = body["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    return error


def new_event(
    subject: str = "Rencontre", start: str = "2025-03-10T09:00:00", end: str = "2025-03-10T10:00:00", **extra
) -> dict:
    """An event body in Eastern time."""
    body = {
        "subject": subject,
        "start": {"dateTime": start, "timeZone": "Eastern Standard Time"},
        "end": {"dateTime": end, "timeZone": "Eastern Standard Time"},
    }
    body.update(extra)
    return body


def collect_delta(session: requests.Session, url: str, headers: dict | None = None) -> tuple[list[dict], str, int]:
    """Follow nextLinks to the deltaLink; return (items, deltaLink, pages)."""
    items, pages = [], 0
    while True:
        response = session.get(url, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        items += body["value"]
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]
