"""Helpers shared by the emulator tests: Graph shape checks and request bodies (the clients are in
graph_emulator.testing)."""

from __future__ import annotations

import requests


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
