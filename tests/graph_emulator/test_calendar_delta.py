"""calendarView/delta: window on the first call, expanded instances, and the @removed trap.

Documented behaviour: https://learn.microsoft.com/graph/api/event-delta (v1.0) and
https://learn.microsoft.com/graph/delta-query-events: the window is required on the first call
and encoded in the tokens; occurrences and exceptions are expanded, series masters never
returned; $select/$filter/$orderby/$expand/$search are not supported; events changed outside
the window come back as @removed "deleted" (microsoft-graph-docs issue #6599); docs/graph-notes.md §4.4.
"""

from __future__ import annotations

from .helpers import collect_delta, graph_error, new_event

WINDOW = "startDateTime=2025-03-01T00:00:00Z&endDateTime=2025-04-01T00:00:00Z"
WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
    "range": {"type": "endDate", "startDate": "2025-03-10", "endDate": "2025-03-31"},
}


def _delta_url(user_url: str) -> str:
    return f"{user_url}/calendarView/delta?{WINDOW}"


def _removed(items):
    return {i["id"] for i in items if "@removed" in i}


def test_first_call_needs_the_window(graph, user_url):
    """event-delta: startDateTime and endDateTime are required on the initial request."""
    response = graph.get(f"{user_url}/calendarView/delta")
    assert response.status_code == 400
    assert graph_error(response)["code"] == "ErrorInvalidParameter"


def test_unsupported_query_options_are_rejected(graph, user_url):
    """event-delta: $select, $expand, $filter, $orderby and $search are not supported."""
    for option in ("$select=subject", "$filter=subject eq 'x'", "$orderby=start/dateTime", "$top=5"):
        response = graph.get(f"{_delta_url(user_url)}&{option}")
        assert response.status_code == 400, option
        assert graph_error(response)["code"] == "ErrorInvalidUrlQuery"


def test_sdk_function_form_delta_parentheses_is_accepted(graph, user_url):
    """The v1.0 metadata (and so the SDKs) spell the function `delta()`; Graph accepts both forms."""
    graph.post(f"{user_url}/events", json=new_event())
    items, _link, _ = collect_delta(graph, f"{user_url}/calendarView/delta()?{WINDOW}")
    assert len(items) == 1


def test_full_round_expands_series_and_never_returns_masters(graph, user_url):
    """delta-query-events: single instances, occurrences and exceptions; never the series master."""
    master = graph.post(f"{user_url}/events", json=new_event(recurrence=WEEKLY)).json()
    graph.post(f"{user_url}/events", json=new_event(start="2025-03-05T10:00:00", end="2025-03-05T11:00:00"))
    graph.post(f"{user_url}/events", json=new_event(start="2025-06-05T10:00:00", end="2025-06-05T11:00:00"))
    items, delta_link, pages = collect_delta(graph, _delta_url(user_url), {"Prefer": "odata.maxpagesize=2"})
    assert sorted(i["type"] for i in items) == ["occurrence"] * 4 + ["singleInstance"]
    assert master["id"] not in {i["id"] for i in items}
    assert pages == 3 and "$deltatoken=" in delta_link and "startDateTime" not in delta_link


def test_outlook_timezone_applies_to_delta_items(graph, user_url):
    """event-delta: Prefer: outlook.timezone sets the zone of start/end (UTC if absent)."""
    graph.post(f"{user_url}/events", json=new_event())
    headers = {"Prefer": 'outlook.timezone="America/Toronto"'}
    items, _link, _ = collect_delta(graph, _delta_url(user_url), headers)
    assert items[0]["start"] == {"dateTime": "2025-03-10T09:00:00.0000000", "timeZone": "America/Toronto"}


def test_changes_inside_the_window_come_back_in_full(graph, user_url):
    """delta-query-overview: an updated item comes back with its properties."""
    event = graph.post(f"{user_url}/events", json=new_event()).json()
    _items, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.patch(f"{user_url}/events/{event['id']}", json={"subject": "Changé"})
    items, _link, _ = collect_delta(graph, delta_link)
    assert [(i["id"], i["subject"]) for i in items] == [(event["id"], "Changé")]


def test_deleted_event_is_removed(graph, user_url):
    """event-delta: a deleted event is {"@odata.type", "id", "@removed": {"reason": "deleted"}}."""
    event = graph.post(f"{user_url}/events", json=new_event()).json()
    _items, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.delete(f"{user_url}/events/{event['id']}")
    items, _link, _ = collect_delta(graph, delta_link)
    assert items == [{"@odata.type": "#microsoft.graph.event", "id": event["id"], "@removed": {"reason": "deleted"}}]


def test_event_deleted_to_deleted_items_is_removed_from_delta_but_still_answers(graph, user_url):
    """A delete moves the event to Deleted Items: delta reports it @removed once, while a GET of
    its id still answers 200 with its times (docs/graph-notes.md §11)."""
    event = graph.post(f"{user_url}/events", json=new_event()).json()
    _items, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.delete(f"{user_url}/events/{event['id']}")
    items, delta_link, _ = collect_delta(graph, delta_link)
    assert _removed(items) == {event["id"]}
    assert graph.get(f"{user_url}/events/{event['id']}").json()["start"] == event["start"]
    graph.patch(f"{user_url}/events/{event['id']}", json={"subject": "Dans la corbeille"})
    items, _link, _ = collect_delta(graph, delta_link)
    assert items == []  # an edit in Deleted Items never brings it back to the calendar
    full, _link, _ = collect_delta(graph, _delta_url(user_url))
    assert full == []


def test_lost_removal_fault_drops_the_deletion_for_good(emulator, graph, user_url):
    """The delta_lose_removed fault: the deletion never shows in delta (microsoft-graph-docs issue 11728)."""
    event = graph.post(f"{user_url}/events", json=new_event()).json()
    _items, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.delete(f"{user_url}/events/{event['id']}")
    emulator.inject_fault("delta_lose_removed", path="calendarView")
    items, delta_link, _ = collect_delta(graph, delta_link)
    assert items == []
    items, _link, _ = collect_delta(graph, delta_link)
    assert items == []


def test_event_moved_out_of_the_window_is_reported_removed(graph, user_url):
    """The documented trap: an event changed outside the window comes back as @removed deleted."""
    event = graph.post(f"{user_url}/events", json=new_event()).json()
    _items, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.patch(
        f"{user_url}/events/{event['id']}", json=new_event(start="2025-05-05T09:00:00", end="2025-05-05T10:00:00")
    )
    items, _link, _ = collect_delta(graph, delta_link)
    assert _removed(items) == {event["id"]}
    moved = graph.get(f"{user_url}/events/{event['id']}", headers={"Prefer": 'outlook.timezone="UTC"'})
    assert moved.json()["start"]["dateTime"] == "2025-05-05T13:00:00.0000000"  # its new times


def test_event_created_outside_the_window_is_reported_removed(graph, user_url):
    """microsoft-graph-docs issue #6599: even a new event outside the window shows up as @removed."""
    _items, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    event = graph.post(
        f"{user_url}/events", json=new_event(start="2025-09-01T09:00:00", end="2025-09-01T10:00:00")
    ).json()
    items, _link, _ = collect_delta(graph, delta_link)
    assert _removed(items) == {event["id"]}


def test_series_change_reports_occurrences_and_removed_ones(graph, user_url):
    """Changing a series pattern re-sends its occurrences; vanished ones come back @removed."""
    master = graph.post(f"{user_url}/events", json=new_event(recurrence=WEEKLY)).json()
    before, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    shorter = dict(WEEKLY, range=dict(WEEKLY["range"], endDate="2025-03-17"))
    graph.patch(f"{user_url}/events/{master['id']}", json={"recurrence": shorter})
    items, _link, _ = collect_delta(graph, delta_link)
    kept = {i["id"] for i in items if "@removed" not in i}
    assert kept == {i["id"] for i in before[:2]}
    assert _removed(items) == {i["id"] for i in before[2:]}


def test_deleted_occurrence_and_exception_are_reported(graph, user_url):
    """delta-query-events: exceptions are returned; a cancelled occurrence is @removed."""
    graph.post(f"{user_url}/events", json=new_event(recurrence=WEEKLY))
    before, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.patch(f"{user_url}/events/{before[0]['id']}", json={"subject": "Exception"})
    graph.delete(f"{user_url}/events/{before[1]['id']}")
    items, _link, _ = collect_delta(graph, delta_link)
    exceptions = [i for i in items if i.get("type") == "exception"]
    assert [(i["id"], i["subject"]) for i in exceptions] == [(before[0]["id"], "Exception")]
    assert before[1]["id"] in _removed(items)


def test_deleting_a_series_removes_its_occurrences(graph, user_url):
    """Deleting the master removes every occurrence the client holds."""
    master = graph.post(f"{user_url}/events", json=new_event(recurrence=WEEKLY)).json()
    before, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.delete(f"{user_url}/events/{master['id']}")
    items, _link, _ = collect_delta(graph, delta_link)
    assert _removed(items) == {i["id"] for i in before}


def test_unknown_token_is_410(graph, user_url):
    """Observed: 410 SyncStateNotFound for an expired or unknown token; only a full resync recovers."""
    response = graph.get(f"{user_url}/calendarView/delta?$deltatoken=xyz")
    assert response.status_code == 410
    assert graph_error(response)["code"] == "SyncStateNotFound"


def test_window_is_encoded_in_the_delta_token(graph, user_url):
    """delta-query-events: later calls use the deltaLink only; the window travels in the token."""
    _items, delta_link, _ = collect_delta(graph, _delta_url(user_url))
    graph.post(f"{user_url}/events", json=new_event())
    items, _link, _ = collect_delta(graph, delta_link)
    assert [i["type"] for i in items] == ["singleInstance"]
