"""Events: create, get, update, delete, recurrence, calendarView, time zones and meeting mail.

Documented behaviour: https://learn.microsoft.com/graph/api/user-post-events,
https://learn.microsoft.com/graph/api/event-get, https://learn.microsoft.com/graph/api/event-update,
https://learn.microsoft.com/graph/api/event-delete, https://learn.microsoft.com/graph/api/resources/event,
https://learn.microsoft.com/graph/api/user-list-calendarview, https://learn.microsoft.com/graph/api/user-list-events,
https://learn.microsoft.com/graph/api/event-list-instances and docs/graph-notes.md §4.
"""

from __future__ import annotations

import pytest

from .helpers import collect_delta, graph_error, new_event

WINDOW = "startDateTime=2025-03-01T00:00:00Z&endDateTime=2025-04-01T00:00:00Z"
EASTERN = {"Prefer": 'outlook.timezone="Eastern Standard Time"'}
WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
    "range": {"type": "endDate", "startDate": "2025-03-10", "endDate": "2025-03-31"},
}
ATTENDEES = [
    {"type": "required", "emailAddress": {"address": "jean.roy@groupe-roy.ca", "name": "Jean Roy"}},
    {"type": "optional", "emailAddress": {"address": "julie.gagnon@gmail.com"}},
]


def _post(graph, url, body, status=201, headers=None):
    response = graph.post(url, json=body, headers=headers or {})
    assert response.status_code == status, response.text
    return response.json()


@pytest.mark.parametrize("path", ["events", "calendar/events"])
def test_create_returns_201_and_the_event_in_utc_by_default(graph, user_url, path):
    """user-post-events: 201 Created; start/end come back in UTC unless Prefer: outlook.timezone."""
    event = _post(graph, f"{user_url}/{path}", new_event())
    assert event["type"] == "singleInstance"
    assert event["start"] == {"dateTime": "2025-03-10T13:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Eastern Standard Time"
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["isOrganizer"] and event["organizer"]["emailAddress"]["address"] in user_url
    assert event["body"]["contentType"] == "html" and event["seriesMasterId"] is None


def test_create_in_the_calendar_by_id(graph, user_url):
    """user-post-events: POST /users/{id}/calendars/{id}/events."""
    calendar = graph.get(f"{user_url}/calendar").json()
    listed = graph.get(f"{user_url}/calendars").json()["value"]
    assert [c["id"] for c in listed] == [calendar["id"]]
    event = _post(graph, f"{user_url}/calendars/{calendar['id']}/events", new_event())
    assert graph.get(f"{user_url}/events/{event['id']}").status_code == 200


@pytest.mark.parametrize("zone", ["Eastern Standard Time", "America/Toronto"])
def test_prefer_outlook_timezone_windows_or_iana_name(graph, user_url, zone):
    """user-list-calendarview headers: Prefer: outlook.timezone (Windows or IANA) sets the output zone."""
    event = _post(graph, f"{user_url}/events", new_event())
    got = graph.get(f"{user_url}/events/{event['id']}", headers={"Prefer": f'outlook.timezone="{zone}"'})
    assert got.json()["start"] == {"dateTime": "2025-03-10T09:00:00.0000000", "timeZone": zone}
    assert f'outlook.timezone="{zone}"' in got.headers["Preference-Applied"]


def test_daylight_saving_time_is_respected(graph, user_url):
    """Eastern time is UTC-4 in summer: 09:00 EDT is 13:00 UTC in July, 14:00 UTC in January."""
    summer = _post(graph, f"{user_url}/events", new_event(start="2025-07-02T09:00:00", end="2025-07-02T10:00:00"))
    winter = _post(graph, f"{user_url}/events", new_event(start="2025-01-15T09:00:00", end="2025-01-15T10:00:00"))
    assert summer["start"]["dateTime"].startswith("2025-07-02T13:00")
    assert winter["start"]["dateTime"].startswith("2025-01-15T14:00")


def test_unknown_time_zone_is_400(graph, user_url):
    """Graph answers TimeZoneNotSupportedException for an unknown timeZone."""
    body = new_event()
    body["start"]["timeZone"] = "Mars Standard Time"
    response = graph.post(f"{user_url}/events", json=body)
    assert response.status_code == 400
    assert graph_error(response)["code"] == "TimeZoneNotSupportedException"


def test_all_day_event_is_floating_midnight_in_every_zone(graph, user_url):
    """event resource: an all-day event starts and ends at midnight, shown as dates in any zone."""
    body = new_event(start="2025-03-12T00:00:00", end="2025-03-14T00:00:00", isAllDay=True)
    event = _post(graph, f"{user_url}/events", body)
    assert event["isAllDay"] and event["start"]["dateTime"] == "2025-03-12T00:00:00.0000000"
    eastern = graph.get(f"{user_url}/events/{event['id']}", headers=EASTERN).json()
    assert eastern["end"]["dateTime"] == "2025-03-14T00:00:00.0000000"


def test_all_day_event_must_be_at_midnight(graph, user_url):
    """An all-day event with a time of day is rejected (400)."""
    response = graph.post(f"{user_url}/events", json=new_event(isAllDay=True))
    assert response.status_code == 400


def test_transaction_id_makes_post_idempotent(graph, user_url):
    """event resource: transactionId identifies a POST; a retried POST returns the existing event."""
    body = new_event(transactionId="erp-activity-42")
    first = _post(graph, f"{user_url}/events", body)
    second = _post(graph, f"{user_url}/events", body)
    assert second["id"] == first["id"] and second["transactionId"] == "erp-activity-42"
    assert len(graph.get(f"{user_url}/events").json()["value"]) == 1


def test_reused_transaction_id_with_another_body_is_400(graph, user_url):
    """blog.rykoma.net 2020-10-05: the same transactionId with a changed body is refused, the
    event it created stays alone, and a repeat of the first body still answers the existing event."""
    first = _post(graph, f"{user_url}/events", new_event(transactionId="erp-activity-43"))
    changed = new_event("Rencontre déplacée", transactionId="erp-activity-43")
    response = graph.post(f"{user_url}/events", json=changed)
    assert response.status_code == 400 and graph_error(response)["code"] == "ErrorDuplicateTransactionId"
    assert _post(graph, f"{user_url}/events", new_event(transactionId="erp-activity-43"))["id"] == first["id"]
    assert [e["subject"] for e in graph.get(f"{user_url}/events").json()["value"]] == ["Rencontre"]


def test_transaction_id_is_returned_on_get_and_in_calendar_view_delta(graph, user_url):
    """api/event-delta's example response carries transactionId; null on events no app tagged."""
    tagged = _post(graph, f"{user_url}/events", new_event(transactionId="erp-activity-44"))
    _post(graph, f"{user_url}/events", new_event("Sans transaction"))
    assert graph.get(f"{user_url}/events/{tagged['id']}").json()["transactionId"] == "erp-activity-44"
    items, _link, _pages = collect_delta(graph, f"{user_url}/calendarView/delta?{WINDOW}")
    assert sorted((i["subject"], i["transactionId"]) for i in items) == [
        ("Rencontre", "erp-activity-44"),
        ("Sans transaction", None),
    ]


def test_update_returns_200_with_new_change_key(graph, user_url):
    """event-update: 200 OK and the updated event; changeKey and ETag change."""
    event = _post(graph, f"{user_url}/events", new_event())
    body = {"subject": "Rencontre déplacée", "location": {"displayName": "Chantier Laval"}}
    updated = graph.patch(f"{user_url}/events/{event['id']}", json=body).json()
    assert updated["subject"] == "Rencontre déplacée"
    assert updated["location"]["displayName"] == "Chantier Laval"
    assert [loc["displayName"] for loc in updated["locations"]] == ["Chantier Laval"]
    assert updated["changeKey"] != event["changeKey"]


def test_stale_if_match_is_412_and_matching_one_succeeds(graph, user_url):
    """docs/graph-notes.md §4.2: If-Match with a stale ETag → 412 ErrorIrresolvableConflict."""
    event = _post(graph, f"{user_url}/events", new_event())
    ok = graph.patch(
        f"{user_url}/events/{event['id']}", json={"subject": "A"}, headers={"If-Match": event["@odata.etag"]}
    )
    assert ok.status_code == 200
    stale = graph.delete(f"{user_url}/events/{event['id']}", headers={"If-Match": event["@odata.etag"]})
    assert stale.status_code == 412
    assert graph_error(stale)["code"] == "ErrorIrresolvableConflict"


def test_delete_moves_the_event_to_deleted_items_where_its_id_still_answers(graph, user_url):
    """event-delete: 204 No Content; the event goes to Deleted Items and keeps its (immutable) id,
    so a GET still answers 200, not cancelled; it leaves the calendar's views and lists."""
    event = _post(graph, f"{user_url}/events", new_event())
    assert graph.delete(f"{user_url}/events/{event['id']}").status_code == 204
    found = graph.get(f"{user_url}/events/{event['id']}")
    assert found.status_code == 200
    assert (found.json()["subject"], found.json()["isCancelled"]) == ("Rencontre", False)
    assert found.json()["start"] == event["start"]
    assert graph.get(f"{user_url}/calendarView?{WINDOW}").json()["value"] == []
    assert graph.get(f"{user_url}/events").json()["value"] == []


def test_a_second_delete_purges_the_event(graph, user_url):
    """Deleting from Deleted Items removes the item for good (Outlook's AppointmentItem.Delete);
    it never comes back to the calendar."""
    event = _post(graph, f"{user_url}/events", new_event())
    graph.delete(f"{user_url}/events/{event['id']}")
    assert graph.delete(f"{user_url}/events/{event['id']}").status_code == 204
    assert graph_error(graph.get(f"{user_url}/events/{event['id']}"))["code"] == "ErrorItemNotFound"
    assert graph.delete(f"{user_url}/events/{event['id']}").status_code == 404
    assert graph.get(f"{user_url}/calendarView?{WINDOW}").json()["value"] == []


@pytest.mark.parametrize("first_delete", [False, True])
def test_permanent_delete_purges_the_event(graph, user_url, first_delete):
    """event-permanentdelete: POST …/permanentDelete answers 204; the event is then
    ErrorItemNotFound, from the calendar as from Deleted Items."""
    event = _post(graph, f"{user_url}/events", new_event())
    if first_delete:
        graph.delete(f"{user_url}/events/{event['id']}")
    assert graph.post(f"{user_url}/events/{event['id']}/permanentDelete").status_code == 204
    assert graph_error(graph.get(f"{user_url}/events/{event['id']}"))["code"] == "ErrorItemNotFound"
    assert graph.get(f"{user_url}/calendarView?{WINDOW}").json()["value"] == []
    assert graph.get(f"{user_url}/events/{event['id']}/permanentDelete").status_code == 405


def test_attendees_on_create_update_and_delete_are_logged_as_mail(emulator, graph, user_url):
    """user-post-events: creating with attendees sends invitations; PATCH sends updates; DELETE cancellations."""
    before = emulator.log.next_index()
    event = _post(graph, f"{user_url}/events", new_event(attendees=ATTENDEES))
    graph.patch(f"{user_url}/events/{event['id']}", json={"start": event["start"]})
    graph.delete(f"{user_url}/events/{event['id']}")
    log = [e for e in emulator.requests_log(before) if e["kind"] == "graph"]
    addresses = ["jean.roy@groupe-roy.ca", "julie.gagnon@gmail.com"]
    assert [e["invitations"] for e in log] == [addresses, addresses, []]
    assert log[-1]["cancellations"] == addresses


def test_event_without_attendees_sends_nothing(emulator, graph, user_url):
    """No attendees, no mail: the log lets tests prove the product never invites anyone."""
    before = emulator.log.next_index()
    event = _post(graph, f"{user_url}/events", new_event())
    graph.patch(f"{user_url}/events/{event['id']}", json={"subject": "x"})
    graph.delete(f"{user_url}/events/{event['id']}")
    assert all(not e["invitations"] and not e["cancellations"] for e in emulator.requests_log(before))


def test_attendee_without_address_is_rejected(graph, user_url):
    """An attendee needs an email address (ErrorInvalidRecipients)."""
    body = new_event(attendees=[{"type": "required", "emailAddress": {"name": "Sans adresse"}}])
    assert graph.post(f"{user_url}/events", json=body).status_code == 400


def test_recurring_event_is_a_series_master_with_normalized_recurrence(graph, user_url):
    """user-post-events: posting `recurrence` creates a seriesMaster; Graph echoes every pattern property."""
    master = _post(graph, f"{user_url}/events", new_event(recurrence=WEEKLY))
    assert master["type"] == "seriesMaster"
    assert master["recurrence"]["pattern"]["firstDayOfWeek"] == "sunday"
    assert master["recurrence"]["range"]["recurrenceTimeZone"] == "Eastern Standard Time"


def test_invalid_recurrence_is_400(graph, user_url):
    """recurrencePattern: a weekly pattern needs daysOfWeek."""
    bad = {"pattern": {"type": "weekly", "interval": 1}, "range": WEEKLY["range"]}
    assert graph.post(f"{user_url}/events", json=new_event(recurrence=bad)).status_code == 400


def test_calendar_view_expands_occurrences_and_never_returns_the_master(graph, user_url):
    """user-list-calendarview: occurrences and exceptions expanded; series masters are not returned."""
    master = _post(graph, f"{user_url}/events", new_event(recurrence=WEEKLY))
    single = _post(graph, f"{user_url}/events", new_event(start="2025-03-12T15:00:00", end="2025-03-12T16:00:00"))
    items = graph.get(f"{user_url}/calendarView?{WINDOW}&$top=50", headers=EASTERN).json()["value"]
    types = [(i["type"], i["start"]["dateTime"][:16]) for i in items]
    assert types == [
        ("occurrence", "2025-03-10T09:00"),
        ("singleInstance", "2025-03-12T15:00"),
        ("occurrence", "2025-03-17T09:00"),
        ("occurrence", "2025-03-24T09:00"),
        ("occurrence", "2025-03-31T09:00"),
    ]
    occurrences = [i for i in items if i["type"] == "occurrence"]
    assert {i["seriesMasterId"] for i in occurrences} == {master["id"]}
    assert len({i["iCalUId"] for i in occurrences}) == 4  # different for each occurrence
    assert single["id"] in {i["id"] for i in items}


def test_calendar_view_requires_its_window(graph, user_url):
    """Observed (microsoft-graph-docs issue #10474): 400 ErrorInvalidParameter without StartDateTime and EndDateTime."""
    response = graph.get(f"{user_url}/calendarView")
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "ErrorInvalidParameter"
    assert "StartDateTime and EndDateTime" in error["message"]


def test_calendar_view_window_offset_is_honoured(graph, user_url):
    """user-list-calendarview: startDateTime/endDateTime offsets are honoured; no offset means UTC."""
    _post(graph, f"{user_url}/events", new_event(start="2025-03-10T21:00:00", end="2025-03-10T22:00:00"))
    utc = "startDateTime=2025-03-11T00:00:00&endDateTime=2025-03-12T00:00:00"
    eastern = "startDateTime=2025-03-11T00:00:00-04:00&endDateTime=2025-03-12T00:00:00-04:00"
    assert len(graph.get(f"{user_url}/calendarView?{utc}").json()["value"]) == 1  # 01:00 UTC on the 11th
    assert graph.get(f"{user_url}/calendarView?{eastern.replace('+', '%2B')}").json()["value"] == []


def test_calendar_view_pages_with_absolute_next_link(emulator, graph, user_url):
    """paging doc: calendarView pages carry an absolute nextLink that keeps the window."""
    daily = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2025-03-01", "numberOfOccurrences": 25},
    }
    _post(
        graph, f"{user_url}/events", new_event(start="2025-03-01T09:00:00", end="2025-03-01T09:30:00", recurrence=daily)
    )
    body = graph.get(f"{user_url}/calendarView?{WINDOW}").json()
    assert len(body["value"]) == 10
    link = body["@odata.nextLink"]
    assert link.startswith(emulator.graph_url) and "startDateTime=" in link
    second = graph.get(link).json()
    assert len(second["value"]) == 10


def test_events_list_returns_masters_and_singles_not_occurrences(graph, user_url):
    """user-list-events: /events lists single instances and series masters only."""
    _post(graph, f"{user_url}/events", new_event(recurrence=WEEKLY))
    _post(graph, f"{user_url}/events", new_event())
    types = sorted(e["type"] for e in graph.get(f"{user_url}/events").json()["value"])
    assert types == ["seriesMaster", "singleInstance"]


def test_patching_an_occurrence_makes_an_exception(graph, user_url):
    """event-update on an occurrence id: that instance becomes type `exception`; the series stays."""
    _post(graph, f"{user_url}/events", new_event(recurrence=WEEKLY))
    items = graph.get(f"{user_url}/calendarView?{WINDOW}", headers=EASTERN).json()["value"]
    second = items[1]
    moved = {
        "subject": "Déplacée",
        "start": {"dateTime": "2025-03-18T14:00:00", "timeZone": "Eastern Standard Time"},
        "end": {"dateTime": "2025-03-18T15:00:00", "timeZone": "Eastern Standard Time"},
    }
    updated = graph.patch(f"{user_url}/events/{second['id']}", json=moved, headers=EASTERN).json()
    assert updated["type"] == "exception" and updated["id"] == second["id"]
    after = graph.get(f"{user_url}/calendarView?{WINDOW}", headers=EASTERN).json()["value"]
    assert [(i["type"], i["subject"], i["start"]["dateTime"][:16]) for i in after][1] == (
        "exception",
        "Déplacée",
        "2025-03-18T14:00",
    )


def test_deleting_an_occurrence_removes_only_that_instance(graph, user_url):
    """event-delete on an occurrence id cancels that instance only."""
    _post(graph, f"{user_url}/events", new_event(recurrence=WEEKLY))
    items = graph.get(f"{user_url}/calendarView?{WINDOW}").json()["value"]
    assert graph.delete(f"{user_url}/events/{items[0]['id']}").status_code == 204
    assert len(graph.get(f"{user_url}/calendarView?{WINDOW}").json()["value"]) == 3
    assert graph.get(f"{user_url}/events/{items[0]['id']}").status_code == 404


def test_instances_of_a_series(graph, user_url):
    """event-list-instances: the occurrences of one series in a window."""
    master = _post(graph, f"{user_url}/events", new_event(recurrence=WEEKLY))
    _post(graph, f"{user_url}/events", new_event())
    items = graph.get(f"{user_url}/events/{master['id']}/instances?{WINDOW}").json()["value"]
    assert len(items) == 4 and {i["seriesMasterId"] for i in items} == {master["id"]}


def test_select_on_events(graph, user_url):
    """user-list-calendarview supports $select."""
    _post(graph, f"{user_url}/events", new_event())
    item = graph.get(f"{user_url}/calendarView?{WINDOW}&$select=subject,start").json()["value"][0]
    assert set(item) == {"@odata.etag", "id", "subject", "start"}


def test_body_content_type_text_preference(graph, user_url):
    """Prefer: outlook.body-content-type="text" returns the body as text."""
    event = _post(graph, f"{user_url}/events", new_event(body={"contentType": "text", "content": "Ligne 1\nLigne 2"}))
    got = graph.get(f"{user_url}/events/{event['id']}", headers={"Prefer": 'outlook.body-content-type="text"'}).json()
    assert got["body"] == {"contentType": "text", "content": "Ligne 1\r\nLigne 2"}
    assert event["bodyPreview"] == "Ligne 1\r\nLigne 2"


def test_immutable_id_preference_is_accepted(graph, user_url):
    """outlook-immutable-id: Prefer: IdType="ImmutableId" is accepted; ids here never change anyway."""
    headers = {"Prefer": 'IdType="ImmutableId", outlook.timezone="UTC"'}
    event = _post(graph, f"{user_url}/events", new_event(), headers=headers)
    response = graph.get(f"{user_url}/events/{event['id']}", headers=headers)
    assert response.status_code == 200 and 'IdType="ImmutableId"' in response.headers["Preference-Applied"]


def test_extended_property_round_trip_and_filter(graph, user_url):
    """extended-properties-overview: set on POST, read with $expand($filter=id eq …), find with $filter."""
    prop_id = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name ErpActivityId"
    tagged = _post(
        graph, f"{user_url}/events", new_event(singleValueExtendedProperties=[{"id": prop_id, "value": "123"}])
    )
    _post(graph, f"{user_url}/events", new_event())
    url = f"{user_url}/events/{tagged['id']}?$expand=singleValueExtendedProperties($filter=id eq '{prop_id}')"
    assert graph.get(url).json()["singleValueExtendedProperties"] == [{"id": prop_id, "value": "123"}]
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop_id}' and ep/value eq '123')"
    found = graph.get(f"{user_url}/events?$filter={flt}").json()["value"]
    assert [e["id"] for e in found] == [tagged["id"]]


def test_events_delta_without_window_is_not_supported_in_v1(graph, user_url):
    """msgraph-metadata #608: change tracking is not supported against microsoft.graph.event (v1.0)."""
    response = graph.get(f"{user_url}/events/delta")
    assert response.status_code == 400
    assert "Change tracking is not supported" in graph_error(response)["message"]


def test_bad_event_bodies_are_400(graph, user_url):
    """RequestBodyRead for wrong types, bad enum literals and unknown properties; never a 500."""
    for body in (
        new_event(sensitivity="secret"),
        new_event(isAllDay="yes"),
        new_event(attendees={"a": 1}),
        new_event(start="not a date"),
        new_event(colour="blue"),
        {"subject": "sans heures"},
    ):
        response = graph.post(f"{user_url}/events", json=body)
        assert response.status_code == 400, body
        graph_error(response)
