"""Meetings organized by someone else, and what a PATCH replaces (docs/graph-notes.md §4.2, §11).

Documented behaviour: https://learn.microsoft.com/graph/api/resources/event (isOrganizer,
organizer, responseStatus, hideAttendees, location/locations) and
https://learn.microsoft.com/graph/api/event-update ("If you update the location property, any
prior locations in the locations collection would be removed and replaced").
"""

from __future__ import annotations

from .helpers import new_event

JULIE = {"emailAddress": {"name": "Julie Fortin", "address": "julie.fortin@finloc.com"}}
OTHERS = [
    {"type": "required", "emailAddress": {"address": "luc.roy@finloc.com", "name": "Luc Roy"}},
    {"type": "optional", "emailAddress": {"address": "ana.cote@finloc.com"}},
]


def _receive(emulator, anonymous, address, status=201, **extra):
    body = {**new_event("Revue de projet"), "organizer": JULIE, **extra}
    response = anonymous.post(f"{emulator.base_url}/_emulator/mailboxes/{address}/meetings", json=body)
    assert response.status_code == status, response.text
    return response.json()


def test_own_events_are_organized_by_the_mailbox(graph, user_url, address):
    """resources/event: isOrganizer is true when the calendar owner organizes the event."""
    event = graph.post(f"{user_url}/events", json=new_event()).json()
    assert event["isOrganizer"] is True
    assert event["organizer"]["emailAddress"]["address"] == address
    assert event["responseStatus"]["response"] == "organizer"


def test_a_received_one_to_one_invitation_lists_only_the_mailbox(emulator, anonymous, graph, user_url, address):
    """A one-to-one invitation: isOrganizer false, organizer the sender, attendees the mailbox alone."""
    made = _receive(emulator, anonymous, address, responseStatus={"response": "accepted"})
    event = graph.get(f"{user_url}/events/{made['id']}").json()
    assert event["isOrganizer"] is False
    assert event["organizer"] == JULIE
    assert event["responseStatus"]["response"] == "accepted"
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == [address]
    assert event["attendees"][0]["status"]["response"] == "accepted"


def test_hide_attendees_shows_the_invitee_only_itself(emulator, anonymous, graph, user_url, address):
    """event-update, hideAttendees: "each attendee only sees themselves in the meeting request"."""
    made = _receive(emulator, anonymous, address, attendees=OTHERS, hideAttendees=True)
    event = graph.get(f"{user_url}/events/{made['id']}").json()
    assert event["hideAttendees"] is True and event["isOrganizer"] is False
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == [address]
    visible = _receive(emulator, anonymous, address, attendees=OTHERS)
    listed = graph.get(f"{user_url}/events/{visible['id']}").json()["attendees"]
    assert [a["emailAddress"]["address"] for a in listed] == ["luc.roy@finloc.com", "ana.cote@finloc.com", address]


def test_received_meetings_come_through_calendar_view_delta(emulator, anonymous, graph, user_url, address):
    """calendarView/delta returns the same properties as GET (api/event-delta.md)."""
    made = _receive(emulator, anonymous, address, responseStatus={"response": "notResponded"})
    window = "startDateTime=2025-03-01T00:00:00Z&endDateTime=2025-04-01T00:00:00Z"
    items = graph.get(f"{user_url}/calendarView/delta?{window}").json()["value"]
    (item,) = [i for i in items if i["id"] == made["id"]]
    assert item["isOrganizer"] is False and item["responseStatus"]["response"] == "notResponded"


def test_an_invitees_writes_to_its_copy_send_nothing(emulator, anonymous, graph, user_url, address):
    """Only the organizer's changes or deletion reach the attendees (docs/graph-notes.md §4.2)."""
    made = _receive(emulator, anonymous, address, attendees=OTHERS)
    start = emulator.log.next_index()
    graph.patch(f"{user_url}/events/{made['id']}", json={"subject": "Changé"})
    graph.delete(f"{user_url}/events/{made['id']}")
    entries = emulator.requests_log(start)
    assert [e["status"] for e in entries] == [200, 204]
    assert all(e["invitations"] == [] and e["cancellations"] == [] for e in entries)


def test_a_received_meeting_needs_another_organizer(emulator, anonymous, address):
    """The control API refuses an invitation "from" the mailbox itself or with a bad answer, without 500."""
    _receive(emulator, anonymous, address, 400, organizer={"emailAddress": {"address": address}})
    _receive(emulator, anonymous, address, 400, organizer={})
    _receive(emulator, anonymous, address, 400, responseStatus={"response": "maybe"})


def test_setting_location_replaces_locations(graph, user_url):
    """event-update, locations: updating location removes the prior locations."""
    places = [{"displayName": "Salle A"}, {"displayName": "Salle B"}]
    event = graph.post(f"{user_url}/events", json=new_event(locations=places)).json()
    assert [p["displayName"] for p in event["locations"]] == ["Salle A", "Salle B"]
    kept = graph.patch(f"{user_url}/events/{event['id']}", json={"subject": "Autre"}).json()
    assert [p["displayName"] for p in kept["locations"]] == ["Salle A", "Salle B"]
    moved = graph.patch(f"{user_url}/events/{event['id']}", json={"location": {"displayName": "Salle C"}}).json()
    assert [p["displayName"] for p in moved["locations"]] == ["Salle C"]


def test_the_request_log_keeps_the_json_body_of_graph_writes(emulator, graph, user_url):
    """Tests read what a PATCH sent (the product must send only what changed)."""
    event = graph.post(f"{user_url}/events", json=new_event()).json()
    start = emulator.log.next_index()
    graph.patch(f"{user_url}/events/{event['id']}", json={"subject": "Seul"})
    graph.get(f"{user_url}/events/{event['id']}")
    assert [e["body"] for e in emulator.requests_log(start)] == [{"subject": "Seul"}, None]
