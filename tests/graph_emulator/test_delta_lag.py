"""Processing delays: a change shows in delta rounds some time after it was made.

"Expect varying delays between the time a change is made to a resource instance ... and the
time the tracked change is reflected in a delta query response ... Retry the @odata.nextLink or
@odata.deltaLink after some time to retrieve the latest changes" (concepts/delta-query-overview.md,
Processing delays). The emulator's lag is 0 unless asked for (--delta-lag, PUT /_emulator/delta/lag).
"""

from __future__ import annotations

import time

import pytest

from .helpers import collect_delta, new_event

LAG = 0.6
WINDOW = "startDateTime=2025-03-01T00:00:00Z&endDateTime=2025-04-01T00:00:00Z"


@pytest.fixture
def lagging(emulator):
    emulator.store.delta_lag = LAG
    yield emulator
    emulator.store.delta_lag = 0.0


def _ids(items) -> set[str]:
    return {item["id"] for item in items if "@removed" not in item}


def test_a_new_contact_reaches_the_delta_after_the_lag_and_the_next_delta_link_brings_it(graph, user_url, lagging):
    _items, link, _pages = collect_delta(graph, f"{user_url}/contacts/delta")
    made = graph.post(f"{user_url}/contacts", json={"givenName": "Luc", "surname": "Roy"}).json()["id"]
    early, link, _pages = collect_delta(graph, link)
    assert made not in _ids(early)  # not in delta yet: a client must look again
    assert graph.get(f"{user_url}/contacts/{made}").status_code == 200  # a GET sees it at once
    time.sleep(LAG + 0.1)
    later, _link, _pages = collect_delta(graph, link)
    assert made in _ids(later)


def test_an_event_and_its_deletion_reach_the_calendar_delta_after_the_lag(graph, user_url, lagging):
    _items, link, _pages = collect_delta(graph, f"{user_url}/calendarView/delta?{WINDOW}")
    made = graph.post(f"{user_url}/events", json=new_event()).json()["id"]
    early, link, _pages = collect_delta(graph, link)
    assert made not in _ids(early)
    time.sleep(LAG + 0.1)
    later, link, _pages = collect_delta(graph, link)
    assert made in _ids(later)
    graph.delete(f"{user_url}/events/{made}")
    assert not [item for item in collect_delta(graph, link)[0] if item["id"] == made]
    time.sleep(LAG + 0.1)
    gone, _link, _pages = collect_delta(graph, link)
    assert [item["@removed"] for item in gone if item["id"] == made] == [{"reason": "deleted"}]


def test_the_lag_is_set_through_the_control_api(emulator, anonymous):
    url = f"{emulator.base_url}/_emulator/delta/lag"
    try:
        assert anonymous.put(url, json={"seconds": 2.5}).json() == {"seconds": 2.5}
        assert anonymous.get(url).json() == {"seconds": 2.5}
        for wrong in ("soon", -1, 4000, True):
            assert anonymous.put(url, json={"seconds": wrong}).status_code == 400
    finally:
        emulator.store.delta_lag = 0.0


def test_without_a_lag_a_change_is_in_the_next_round(graph, user_url, emulator):
    assert emulator.store.delta_lag == 0
    _items, link, _pages = collect_delta(graph, f"{user_url}/contacts/delta")
    made = graph.post(f"{user_url}/contacts", json={"givenName": "Ève", "surname": "Roy"}).json()["id"]
    assert made in _ids(collect_delta(graph, link)[0])
