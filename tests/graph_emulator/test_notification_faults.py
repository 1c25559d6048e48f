"""The notify_* faults: a change notification dropped, sent twice, late, or with a wrong clientState,
chosen by subscription id or by resource path, armed in Python or through the control API."""

from __future__ import annotations

import pytest

from .helpers import new_event
from .receiver import subscribe


@pytest.fixture
def pair(emulator, graph, receiver, address):
    """Two subscriptions to the same events: the faulted one posts to /notify, a witness to /other."""
    faulted = subscribe(graph, emulator, receiver, f"users/{address}/events").json()
    witness = subscribe(graph, emulator, receiver, f"users/{address}/events", notificationUrl=receiver.url("/other"))
    return faulted, witness.json()


def _event(emulator, graph, address, subject):
    return graph.post(f"{emulator.graph_url}/users/{address}/events", json=new_event(subject)).json()["id"]


def test_a_dropped_notification_is_never_sent(emulator, graph, receiver, address, pair):
    faulted, _witness = pair
    emulator.inject_fault("notify_drop", subscription=faulted["id"])
    lost = _event(emulator, graph, address, "Perdu")
    receiver.wait_items(1, "/other")
    kept = _event(emulator, graph, address, "Reçu")
    assert [i["resourceData"]["id"] for i in receiver.wait_items(2, "/other")] == [lost, kept]
    assert [i["resourceData"]["id"] for i in receiver.wait_items(1)] == [kept]


def test_a_duplicated_notification_comes_twice_in_two_posts(emulator, graph, receiver, address, pair):
    faulted, witness = pair
    emulator.inject_fault("notify_duplicate", path=r"^users/.*/events$", subscription=faulted["id"])
    event_id = _event(emulator, graph, address, "Deux fois")
    items = receiver.wait_items(2)
    assert items[0] == items[1] and items[0]["resourceData"]["id"] == event_id
    assert [len(body["value"]) for body in receiver.bodies()] == [1, 1]
    assert [i["subscriptionId"] for i in receiver.wait_items(1, "/other")] == [witness["id"]]


def test_a_delayed_notification_arrives_after_a_later_one(emulator, graph, receiver, address, pair):
    """Delayed by 4 s: the change made right after it, sent after the usual 1 s, overtakes it."""
    faulted, _witness = pair
    emulator.inject_fault("notify_delay", seconds=4, subscription=faulted["id"])
    late = _event(emulator, graph, address, "En retard")
    prompt = _event(emulator, graph, address, "À l'heure")
    assert [i["resourceData"]["id"] for i in receiver.wait_items(2, "/other")] == [late, prompt]
    assert [i["resourceData"]["id"] for i in receiver.wait_items(2)] == [prompt, late]


def test_a_wrong_client_state(emulator, graph, receiver, address, pair):
    faulted, _witness = pair
    emulator.inject_fault("notify_wrong_client_state", subscription=faulted["id"])
    _event(emulator, graph, address, "Falsifié")
    forged = receiver.wait_items(1)[0]
    honest = receiver.wait_items(1, "/other")[0]
    assert forged["clientState"] != "secret-état" and honest["clientState"] == "secret-état"
    same = ("changeType", "resource", "resourceData", "tenantId")
    assert [forged[k] for k in same] == [honest[k] for k in same]


def test_notification_faults_through_the_control_api(emulator, graph, anonymous, receiver, address, pair):
    faulted, _witness = pair
    url = f"{emulator.base_url}/_emulator/faults"
    armed = anonymous.post(url, json={"kind": "notify_drop", "subscription": faulted["id"], "count": 2})
    assert armed.status_code == 201 and armed.json()["subscription"] == faulted["id"]
    assert anonymous.post(url, json={"kind": "throttle", "subscription": faulted["id"]}).status_code == 400
    assert anonymous.post(url, json={"kind": "notify_drop", "subscription": 7}).status_code == 400
    for subject in ("Un", "Deux", "Trois"):
        _event(emulator, graph, address, subject)
    receiver.wait_items(3, "/other")
    assert len(receiver.wait_items(1)) == 1  # two dropped, the third sent
    assert anonymous.get(url).json()["faults"] == []
