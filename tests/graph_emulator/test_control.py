"""The control API (/_emulator/…): mailboxes, deterministic fr-CA seeding, request log, reset.

Not Graph: no token, loopback clients only. The seeding must be realistic (Quebec names,
cities, .ca and free-mail domains, incomplete contacts, recurring/all-day/multi-day events,
meetings) and deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt

from graph_emulator import GraphEmulator
from graph_emulator.server import is_loopback

ANCHOR = dt.date(2025, 3, 1)


def test_create_and_list_mailboxes(emulator, anonymous):
    """POST /_emulator/mailboxes {"address"} creates a mailbox (idempotently); GET lists it."""
    url = f"{emulator.base_url}/_emulator/mailboxes"
    made = anonymous.post(url, json={"address": "gilles.roy@prextra-demo.ca"})
    again = anonymous.post(url, json={"address": "Gilles.Roy@prextra-demo.ca"})
    assert made.status_code == 201 and again.json()["id"] == made.json()["id"]
    assert "gilles.roy@prextra-demo.ca" in [m["address"] for m in anonymous.get(url).json()["mailboxes"]]
    assert anonymous.post(url, json={"address": "pas-une-adresse"}).status_code == 400


def test_seed_endpoint(emulator, anonymous, address):
    """POST /_emulator/mailboxes/{address}/seed {"contacts", "events", "seed"}."""
    url = f"{emulator.base_url}/_emulator/mailboxes/{address}/seed"
    response = anonymous.post(url, json={"contacts": 30, "events": 12, "seed": 9, "anchor": "2025-03-01"})
    assert response.status_code == 201
    mailbox = emulator.mailbox(address)
    assert (len(mailbox.contacts), len(mailbox.events)) == (30, 12)
    assert anonymous.post(url, json={"contacts": "many"}).status_code == 400


def _people(emulator, address):
    return [
        (c["graph"]["givenName"], c["graph"]["surname"], [e["address"] for e in c["graph"]["emailAddresses"]])
        for c in emulator.mailbox(address).contacts.values()
    ]


def test_seeding_is_deterministic_for_a_seed(emulator):
    """Same seed, address and anchor → the same people; another seed → other people."""
    with GraphEmulator() as other:
        for target in (emulator, other):
            target.seed("seed.a@prextra-demo.ca", contacts=50, events=10, seed=42, anchor=ANCHOR)
        other.seed("seed.b@prextra-demo.ca", contacts=50, seed=43)
        assert _people(emulator, "seed.a@prextra-demo.ca") == _people(other, "seed.a@prextra-demo.ca")
        assert _people(other, "seed.a@prextra-demo.ca") != _people(other, "seed.b@prextra-demo.ca")


def test_seeding_ten_thousand_contacts_gives_ten_thousand_distinct_contacts(emulator):
    """(How fast is the benchmark's business, not a timed test's: a loaded machine made this fail.)"""
    emulator.seed("big@prextra-demo.ca", contacts=10_000, seed=1)
    contacts = emulator.mailbox("big@prextra-demo.ca").contacts
    assert len(contacts) == len({record["graph"]["id"] for record in contacts.values()}) == 10_000


def test_seeded_contacts_look_like_quebec_and_include_incomplete_ones(emulator):
    """fr-CA data: Quebec surnames and cities, .ca domains, free-mail, and missing name/email parts."""
    emulator.seed("realism@prextra-demo.ca", contacts=400, seed=2)
    contacts = [c["graph"] for c in emulator.mailbox("realism@prextra-demo.ca").contacts.values()]
    surnames = {c["surname"] for c in contacts}
    domains = {e["address"].split("@")[1] for c in contacts for e in c["emailAddresses"]}
    cities = {c["businessAddress"].get("city") for c in contacts}
    assert {"Tremblay", "Gagnon", "Roy"} & surnames
    assert {"gmail.com", "hotmail.com", "videotron.ca"} & domains
    assert any(d.endswith(".ca") and d not in ("videotron.ca", "yahoo.ca", "live.ca", "sympatico.ca") for d in domains)
    assert {"Montréal", "Québec"} & cities
    assert any(c["givenName"] is None for c in contacts)
    assert any(c["surname"] is None for c in contacts)
    assert any(not c["emailAddresses"] for c in contacts)
    assert all(c["businessAddress"]["postalCode"][0] in "GHJ" for c in contacts)


def test_seeded_events_cover_series_all_day_multi_day_and_meetings(emulator):
    """Events: recurring series (with an exception and a cancellation), all-day, multi-day, several attendees."""
    emulator.seed("agenda@prextra-demo.ca", events=40, seed=3, anchor=ANCHOR)
    records = list(emulator.mailbox("agenda@prextra-demo.ca").events.values())
    assert any(r["recurrence"] for r in records)
    assert any(r["all_day"] for r in records)
    assert any(not r["all_day"] and (r["end"] - r["start"]).days >= 1 for r in records)
    assert any(len(r["fields"]["attendees"]) >= 2 for r in records)
    first_series = next(r for r in records if r["recurrence"])
    assert first_series["exceptions"] and first_series["cancelled"]


def test_request_log_counts_graph_calls_since_an_index(emulator, anonymous, graph, user_url):
    """GET /_emulator/requests?since=N returns what was served after N (method, path, status)."""
    url = f"{emulator.base_url}/_emulator/requests"
    start = anonymous.get(url, params={"since": 10**9}).json()["next"]
    graph.get(f"{user_url}/contacts")
    graph.get(f"{user_url}/contacts/AAMkAAAAAAAA")
    entries = anonymous.get(url, params={"since": start}).json()["requests"]
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 200), ("GET", 404)]
    assert entries[0]["path"].endswith("/contacts") and entries[0]["kind"] == "graph"


def test_request_log_can_be_cleared(emulator, anonymous, graph, user_url):
    """DELETE /_emulator/requests empties the log; indices keep growing."""
    url = f"{emulator.base_url}/_emulator/requests"
    graph.get(f"{user_url}/contacts")
    before = anonymous.get(url).json()["next"]
    assert anonymous.delete(url).status_code == 204
    body = anonymous.get(url).json()
    assert body["requests"] == [] and body["next"] == before


def test_reset_forgets_everything_but_startup_mailboxes():
    """POST /_emulator/reset: data, faults and log are gone; --mailbox ones come back empty."""
    from graph_emulator.testing import make_session

    with GraphEmulator(mailboxes=["demo@prextra-demo.ca"]) as emulator, make_session(emulator.ca_file) as session:
        emulator.seed("demo@prextra-demo.ca", contacts=5)
        emulator.add_mailbox("extra@prextra-demo.ca")
        emulator.inject_fault("throttle", count=None)
        assert session.post(f"{emulator.base_url}/_emulator/reset").status_code == 204
        assert [m.address for m in emulator.store.mailboxes.values()] == ["demo@prextra-demo.ca"]
        assert not emulator.mailbox("demo@prextra-demo.ca").contacts
        assert emulator.faults.listing() == [] and emulator.requests_log() == []


def test_direct_event_endpoints_use_the_same_store(emulator, anonymous, graph, user_url, address):
    """Control-API writes are visible to Graph right away (same store, same change tracking)."""
    base = f"{emulator.base_url}/_emulator/mailboxes/{address}/events"
    body = {
        "subject": "Direct",
        "start": {"dateTime": "2025-03-10T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2025-03-10T10:00:00", "timeZone": "UTC"},
    }
    made = anonymous.post(base, json=body).json()
    assert graph.get(f"{user_url}/events/{made['id']}").json()["subject"] == "Direct"
    assert anonymous.patch(f"{base}/{made['id']}", json={"subject": "Modifié"}).json()["subject"] == "Modifié"
    assert anonymous.delete(f"{base}/{made['id']}").status_code == 204  # to Deleted Items, as Outlook does
    assert graph.get(f"{user_url}/events").json()["value"] == []
    assert anonymous.delete(f"{base}/{made['id']}").status_code == 204  # purged from Deleted Items
    assert graph.get(f"{user_url}/events/{made['id']}").status_code == 404


def test_control_api_rejects_bad_input_without_500(emulator, anonymous, address):
    """Bad JSON or unknown mailboxes are 4xx with an error body."""
    base = f"{emulator.base_url}/_emulator/mailboxes"
    assert anonymous.post(base, data=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert anonymous.post(f"{base}/nobody@x.ca/seed", json={}).status_code == 404
    assert anonymous.post(f"{base}/{address}/contacts", json={"shoeSize": 1}).status_code == 400


def test_control_api_is_for_loopback_clients_only():
    """The control API needs no token, so it only answers loopback addresses."""
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.8.9.1")
    assert not is_loopback("10.0.0.5") and not is_loopback("192.168.1.20")
