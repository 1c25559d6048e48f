"""Fault injection: throttling, outages, delays, dropped connections and ambiguous writes.

Documented behaviour: https://learn.microsoft.com/graph/throttling (429 + Retry-After,
ApplicationThrottled for Outlook), https://learn.microsoft.com/graph/errors (503, 504),
docs/graph-notes.md §5-§6; the network failures are what any client must survive.
"""

from __future__ import annotations

import pytest
import requests

from graph_emulator import GraphEmulator
from graph_emulator.testing import make_session, token_for

from .helpers import graph_error, new_event


def test_throttle_is_429_application_throttled_with_retry_after(emulator, graph, user_url, address):
    """throttling doc: 429 with Retry-After; Outlook's code is ApplicationThrottled."""
    emulator.inject_fault("throttle", method="GET", path=f"/users/{address}/contacts", count=2, retry_after=3)
    for _ in range(2):
        response = graph.get(f"{user_url}/contacts")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert graph_error(response)["code"] == "ApplicationThrottled"
    assert graph.get(f"{user_url}/contacts").status_code == 200


def test_service_unavailable_and_gateway_timeout(emulator, graph, user_url, address):
    """errors doc: 503 Service Unavailable (may carry Retry-After) and 504 Gateway Timeout."""
    emulator.inject_fault("unavailable", path=address, retry_after=2)
    emulator.inject_fault("gateway_timeout", path=address)
    first, second = graph.get(f"{user_url}/contacts"), graph.get(f"{user_url}/contacts")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "2")
    assert second.status_code == 504
    graph_error(second)


def test_fault_matches_method_and_path(emulator, graph, user_url, address):
    """Faults apply only to matching requests (method + path regex) and only `count` times."""
    emulator.inject_fault("throttle", method="POST", path=f"{address}/events$")
    assert graph.get(f"{user_url}/events").status_code == 200
    assert graph.post(f"{user_url}/events", json=new_event()).status_code == 429
    assert graph.post(f"{user_url}/events", json=new_event()).status_code == 201


def test_delay_slows_the_answer(emulator, graph, user_url, address):
    """A delay fault answers normally, late (for client timeout tests)."""
    emulator.inject_fault("delay", path=address, seconds=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        graph.get(f"{user_url}/contacts", timeout=0.1)
    assert graph.get(f"{user_url}/contacts", timeout=5).status_code == 200


def test_dropped_connection_mid_response(emulator, graph, user_url, address):
    """A connection cut halfway through the body: the client sees a broken response."""
    emulator.seed(address, contacts=20, seed=5)
    emulator.inject_fault("drop", path=address)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        graph.get(f"{user_url}/contacts").json()
    assert graph.get(f"{user_url}/contacts").status_code == 200


def test_timeout_after_write_applies_the_write(emulator, graph, user_url, address):
    """Ambiguous outcome: the POST is applied, the client times out; a retry with the same
    transactionId returns the existing event (event resource: transactionId)."""
    emulator.inject_fault("timeout_after_write", method="POST", path=address, seconds=1)
    body = new_event(transactionId="erp-7")
    with pytest.raises((requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError)):
        graph.post(f"{user_url}/events", json=body, timeout=0.3)
    retried = graph.post(f"{user_url}/events", json=body)
    assert retried.status_code == 201
    assert len(graph.get(f"{user_url}/events").json()["value"]) == 1


def test_revoke_tokens_fault_gives_401():
    """Token revocation: the next Graph call with the old token is 401 InvalidAuthenticationToken.

    Runs on its own emulator: revocation would invalidate the shared session token.
    """
    with GraphEmulator(mailboxes=["a@prextra-demo.ca"]) as emulator, make_session(emulator.ca_file) as session:
        session.headers["Authorization"] = f"Bearer {token_for(emulator, session)}"
        url = f"{emulator.graph_url}/users/{emulator.mailbox('a@prextra-demo.ca').upn}/contacts"
        assert session.get(url).status_code == 200
        emulator.inject_fault("revoke_tokens", path="contacts")
        response = session.get(url)
        assert response.status_code == 401
        assert graph_error(response)["code"] == "InvalidAuthenticationToken"


def test_faults_via_control_api(emulator, anonymous, graph, user_url, address):
    """POST /_emulator/faults arms a fault; GET lists it; DELETE disarms all; bad specs are 400."""
    control = f"{emulator.base_url}/_emulator/faults"
    made = anonymous.post(control, json={"kind": "error", "path": address, "status": 403, "code": "ErrorAccessDenied"})
    assert made.status_code == 201
    assert [f["kind"] for f in anonymous.get(control).json()["faults"]] == ["error"]
    response = graph.get(f"{user_url}/contacts")
    assert response.status_code == 403 and graph_error(response)["code"] == "ErrorAccessDenied"
    assert anonymous.post(control, json={"kind": "meteor"}).status_code == 400
    assert anonymous.post(control, json={"kind": "throttle", "path": "("}).status_code == 400
    anonymous.post(control, json={"kind": "throttle", "path": address, "count": None})
    assert anonymous.delete(control).status_code == 204
    assert graph.get(f"{user_url}/contacts").status_code == 200


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "syncStateInvalid"), (404, "syncStateNotFound"), (410, "resyncRequired"), (410, "SyncStateNotFound")],
)
def test_delta_expired_answers_each_restart_variant(emulator, graph, user_url, address, status, code):
    """delta-query-overview, "Token duration": "a 40X-series error with error codes such as syncStateNotFound"."""
    emulator.seed(address, contacts=2, seed=5)
    emulator.inject_fault("delta_expired", path="/calendarView/delta|/contacts/delta", status=status, code=code)
    response = graph.get(f"{user_url}/contacts/delta")
    assert (response.status_code, graph_error(response)["code"]) == (status, code)
    assert graph.get(f"{user_url}/contacts/delta").status_code == 200


def test_delta_expired_defaults_to_the_observed_410(emulator, graph, user_url):
    """microsoft-graph-docs issues 2350, 2877: Outlook answers 410 SyncStateNotFound."""
    emulator.inject_fault("delta_expired", path="/calendarView/delta")
    window = "startDateTime=2026-12-01T00:00:00Z&endDateTime=2026-12-31T00:00:00Z"
    response = graph.get(f"{user_url}/calendarView/delta?{window}")
    assert (response.status_code, graph_error(response)["code"]) == (410, "SyncStateNotFound")
