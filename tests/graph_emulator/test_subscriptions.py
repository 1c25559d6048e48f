"""Change notifications: /v1.0/subscriptions (validation handshake, limits, renew, delete), the
notifications POSTed after each change whatever made it, lifecycle notifications on command, and
delivery retries — against a real HTTPS receiver (receiver.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_emulator import GraphEmulator, tls
from graph_emulator.__main__ import parse_args
from graph_emulator.testing import make_session, token_for

from .helpers import graph_error, new_event
from .receiver import Receiver, deliveries, future, subscribe

NOT_200 = (
    "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."
)


@pytest.fixture
def events_sub(emulator, graph, receiver, address):
    """A validated subscription to the test mailbox's events."""
    response = subscribe(graph, emulator, receiver, f"users/{address}/events")
    assert response.status_code == 201, response.text
    return response.json()


# -- create ----------------------------------------------------------------------------------


def test_create_validates_both_urls_and_answers_the_subscription(emulator, graph, receiver, address):
    """201 only after both URLs echoed their token; Graph's subscription shape; GET and list find it."""
    response = subscribe(graph, emulator, receiver, f"users/{address}/events")
    assert response.status_code == 201, response.text
    body = response.json()
    assert [path for path, _token in receiver.tokens] == ["/notify", "/lifecycle"]
    assert all(t.startswith("Validation: Testing client application reachability") for _p, t in receiver.tokens)
    assert body["@odata.context"].endswith("/v1.0/$metadata#subscriptions/$entity")
    assert {k: body[k] for k in ("resource", "changeType", "clientState", "includeResourceData")} == {
        "resource": f"users/{address}/events",
        "changeType": "created,updated,deleted",
        "clientState": "secret-état",
        "includeResourceData": False,
    }
    assert body["notificationUrl"] == receiver.url("/notify")
    assert body["lifecycleNotificationUrl"] == receiver.url("/lifecycle")
    assert body["applicationId"] == emulator.identity.client_id and body["latestSupportedTlsVersion"] == "v1_2"
    assert body["creatorId"] and body["expirationDateTime"].endswith("Z")
    got = graph.get(f"{emulator.graph_url}/subscriptions/{body['id']}")
    assert got.status_code == 200 and got.json()["expirationDateTime"] == body["expirationDateTime"]
    listed = graph.get(f"{emulator.graph_url}/subscriptions").json()
    assert body["id"] in [s["id"] for s in listed["value"]]
    validations = [e for e in emulator.requests_log() if e["kind"] == "validation" and receiver.url("/") in e["target"]]
    assert [(e["path"], e["status"]) for e in validations] == [("/notify", 200), ("/lifecycle", 200)]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (
            "wrong",
            "Subscription validation request failed. Response must exactly match validationToken query parameter.",
        ),
        (
            "html",
            NOT_200,
        ),
        (
            "status",
            NOT_200,
        ),
        ("late", "Subscription validation request timed out."),
    ],
)
def test_a_failed_validation_creates_nothing(emulator, graph, receiver, address, monkeypatch, mode, message):
    """A wrong echo, a wrong content type, a non-200 or a late answer: 400 InvalidRequest, no subscription.
    (The 10 s limit is lowered to 1 s so the late case does not take 10 s; the receiver answers after 2 s.)"""
    monkeypatch.setattr(emulator.notifier, "validation_timeout", 1.0)
    receiver.validation = mode
    before = {s["id"] for s in emulator.subscriptions()}
    response = subscribe(graph, emulator, receiver, f"users/{address}/events", lifecycleNotificationUrl=None)
    error = graph_error(response)
    assert (response.status_code, error["code"], error["message"]) == (400, "InvalidRequest", message)
    assert {s["id"] for s in emulator.subscriptions()} == before
    assert len(receiver.tokens) == 1


def test_an_endpoint_with_an_untrusted_certificate_fails_validation(emulator, graph, address, tmp_path):
    """The default trust is the system store plus the emulator's CA: another CA's endpoint is refused."""
    ca, cert, key = tls.ensure_certificates(tmp_path / "other-ca")
    with Receiver(cert, key) as foreign:
        response = subscribe(graph, emulator, foreign, f"users/{address}/events", lifecycleNotificationUrl=None)
    assert response.status_code == 400 and "must respond with 200 OK" in graph_error(response)["message"]
    assert foreign.tokens == []


def test_notify_ca_file_makes_the_emulator_trust_another_endpoint(tmp_path):
    """`notify_ca_file` (--notify-ca-file): the product's test HTTPS endpoint with its own CA."""
    ca, cert, key = tls.ensure_certificates(tmp_path / "product-ca")
    with GraphEmulator(notify_ca_file=ca, notify_delay=0.2) as own, Receiver(cert, key) as product:
        own.add_mailbox("ca@prextra-demo.ca", upn="ca@prextra-demo.ca")
        with make_session(own.ca_file) as session:
            session.headers["Authorization"] = f"Bearer {token_for(own, session)}"
            response = subscribe(session, own, product, "users/ca@prextra-demo.ca/contacts")
            assert response.status_code == 201, response.text
        own.store.create_contact(own.mailbox("ca@prextra-demo.ca"), {"givenName": "Zoé"})
        assert [i["changeType"] for i in product.wait_items(1)] == ["created"]


@pytest.mark.parametrize(
    ("minutes", "status", "code"),
    [
        (-5, 400, "ExtensionError"),
        (10_080 + 5, 400, "ExtensionError"),
        (10_079, 201, None),
    ],
)
def test_expiration_must_be_in_the_future_and_at_most_10080_minutes_ahead(
    emulator, graph, receiver, address, minutes, status, code
):
    response = subscribe(graph, emulator, receiver, f"users/{address}/events", expirationDateTime=future(minutes))
    assert response.status_code == status, response.text
    if code:
        assert graph_error(response)["code"] == code
    if minutes > 10_080:
        assert graph_error(response)["message"] == "Subscription expiration can only be 10080 minutes in the future."


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"expirationDateTime": None}, 400),
        ({"notificationUrl": "http://127.0.0.1:9/notify"}, 400),
        ({"lifecycleNotificationUrl": "http://127.0.0.1:9/lifecycle"}, 400),
        ({"changeType": "created,moved"}, 400),
        ({"changeType": ""}, 400),
        ({"clientState": "x" * 129}, 400),
        ({"resource": "me/events"}, 400),
        ({"resource": "users/{address}/messages"}, 400),
        ({"resource": "users/nobody@prextra-demo.ca/events"}, 404),
        ({"resource": "users/{address}/contactFolders/AAMkAGNvbnRhY3Q=/contacts"}, 404),
        ({"includeResourceData": True}, 400),
    ],
)
def test_bad_requests_are_refused_before_any_validation(emulator, graph, receiver, address, overrides, status):
    overrides = {k: v.format(address=address) if isinstance(v, str) else v for k, v in overrides.items()}
    resource = overrides.pop("resource", f"users/{address}/events")
    response = subscribe(graph, emulator, receiver, resource, **overrides)
    assert response.status_code == status, response.text
    graph_error(response)
    assert receiver.tokens == []


def test_client_state_may_be_128_characters(emulator, graph, receiver, address):
    response = subscribe(graph, emulator, receiver, f"users/{address}/contacts", clientState="é" * 128)
    assert response.status_code == 201 and response.json()["clientState"] == "é" * 128


def test_at_most_1000_subscriptions_per_mailbox(emulator, graph, receiver, address, monkeypatch):
    """The limit, lowered to 2 for the test (the same check runs with 1,000): 403 ExtensionError, and no
    validation request for the refused one."""
    monkeypatch.setattr(emulator.book, "max_per_mailbox", 2)
    assert subscribe(graph, emulator, receiver, f"users/{address}/events").status_code == 201
    assert subscribe(graph, emulator, receiver, f"users/{address}/contacts").status_code == 201
    tokens = len(receiver.tokens)
    refused = subscribe(graph, emulator, receiver, f"users/{address}/events")
    assert refused.status_code == 403 and graph_error(refused)["code"] == "ExtensionError"
    assert "Maximum number of subscriptions has been reached" in graph_error(refused)["message"]
    assert len(receiver.tokens) == tokens


def test_the_real_limit_is_1000():
    from graph_emulator import subscriptions

    assert subscriptions.MAX_PER_MAILBOX == 1000 and subscriptions.MAX_MINUTES == 10_080


# -- renew, delete, expiry -------------------------------------------------------------------


def test_renew_with_patch(emulator, graph, events_sub):
    url = f"{emulator.graph_url}/subscriptions/{events_sub['id']}"
    later = future(3 * 24 * 60)
    renewed = graph.patch(url, json={"expirationDateTime": later})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"][:19] == later[:19]
    too_far = graph.patch(url, json={"expirationDateTime": future(10_081)})
    assert too_far.status_code == 400 and graph_error(too_far)["code"] == "ExtensionError"
    assert graph.get(url).json()["expirationDateTime"][:19] == later[:19]
    assert graph.patch(url, json={}).status_code == 400
    assert graph.patch(url, json={"clientState": "autre"}).status_code == 400


def test_patch_may_move_the_notification_url_after_validating_it(emulator, graph, receiver, address, events_sub):
    url = f"{emulator.graph_url}/subscriptions/{events_sub['id']}"
    moved = graph.patch(url, json={"notificationUrl": receiver.url("/moved")})
    assert moved.status_code == 200 and moved.json()["notificationUrl"] == receiver.url("/moved")
    assert receiver.tokens[-1][0] == "/moved"
    graph.post(f"{emulator.graph_url}/users/{address}/events", json=new_event())
    assert [i["subscriptionId"] for i in receiver.wait_items(1, "/moved")] == [events_sub["id"]]
    assert receiver.items("/notify") == []


def test_unknown_subscriptions_are_404_resource_not_found(emulator, graph):
    url = f"{emulator.graph_url}/subscriptions/00000000-0000-0000-0000-000000000000"
    answers = [graph.get(url), graph.patch(url, json={"expirationDateTime": future(60)}), graph.delete(url)]
    assert [(r.status_code, graph_error(r)["code"]) for r in answers] == [(404, "ResourceNotFound")] * 3


def test_delete_stops_the_notifications(emulator, graph, receiver, address, events_sub):
    """DELETE answers 204; a change afterwards reaches only the subscription still alive."""
    sentinel = subscribe(graph, emulator, receiver, f"users/{address}/events", notificationUrl=receiver.url("/other"))
    url = f"{emulator.graph_url}/subscriptions/{events_sub['id']}"
    assert graph.delete(url).status_code == 204
    assert graph.get(url).status_code == 404
    graph.post(f"{emulator.graph_url}/users/{address}/events", json=new_event())
    assert [i["subscriptionId"] for i in receiver.wait_items(1, "/other")] == [sentinel.json()["id"]]
    assert receiver.items("/notify") == []


def test_an_expired_subscription_stops_notifying_and_disappears(
    emulator, graph, anonymous, receiver, address, events_sub
):
    """Expired (here through the control API): GET 404, not listed, no notification."""
    sentinel = subscribe(graph, emulator, receiver, f"users/{address}/events", notificationUrl=receiver.url("/other"))
    control = f"{emulator.base_url}/_emulator/subscriptions/{events_sub['id']}/expire"
    assert anonymous.post(control).status_code == 204
    assert graph.get(f"{emulator.graph_url}/subscriptions/{events_sub['id']}").status_code == 404
    assert events_sub["id"] not in [s["id"] for s in graph.get(f"{emulator.graph_url}/subscriptions").json()["value"]]
    assert events_sub["id"] not in [
        s["id"] for s in anonymous.get(f"{emulator.base_url}/_emulator/subscriptions").json()["subscriptions"]
    ]
    graph.post(f"{emulator.graph_url}/users/{address}/events", json=new_event())
    assert [i["subscriptionId"] for i in receiver.wait_items(1, "/other")] == [sentinel.json()["id"]]
    assert receiver.items("/notify") == []


# -- notifications ---------------------------------------------------------------------------


def test_event_changes_through_graph_are_notified(emulator, graph, receiver, address, events_sub):
    """created, updated, deleted (the delete moves it to Deleted Items: it left users/{id}/events)."""
    user = f"{emulator.graph_url}/users/{address}"
    event = graph.post(f"{user}/events", json=new_event()).json()
    receiver.wait_items(1)
    updated = graph.patch(f"{user}/events/{event['id']}", json={"subject": "Autre"}).json()
    receiver.wait_items(2)
    assert graph.delete(f"{user}/events/{event['id']}").status_code == 204
    items = receiver.wait_items(3)
    assert [i["changeType"] for i in items] == ["created", "updated", "deleted"]
    mailbox_id = emulator.mailbox(address).id
    first = items[0]
    assert first == {
        "subscriptionId": events_sub["id"],
        "subscriptionExpirationDateTime": events_sub["expirationDateTime"],
        "changeType": "created",
        "resource": f"Users/{mailbox_id}/Events/{event['id']}",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": f"Users/{mailbox_id}/Events/{event['id']}",
            "@odata.etag": event["@odata.etag"],
            "id": event["id"],
        },
        "clientState": "secret-état",
        "tenantId": emulator.identity.tenant_id,
    }
    assert items[1]["resourceData"]["@odata.etag"] == updated["@odata.etag"]
    graph.delete(f"{user}/events/{event['id']}")  # a second delete purges it from Deleted Items: no notification
    graph.post(f"{user}/events", json=new_event("Témoin"))
    assert [i["changeType"] for i in receiver.wait_items(4)] == ["created", "updated", "deleted", "created"]


def test_only_the_subscribed_change_types_are_notified(emulator, graph, receiver, address):
    sub = subscribe(graph, emulator, receiver, f"users/{address}/events", changeType="deleted").json()
    user = f"{emulator.graph_url}/users/{address}"
    event = graph.post(f"{user}/events", json=new_event()).json()
    graph.patch(f"{user}/events/{event['id']}", json={"subject": "Autre"})
    graph.delete(f"{user}/events/{event['id']}")
    items = receiver.wait_items(1)
    assert [(i["changeType"], i["subscriptionId"]) for i in items] == [("deleted", sub["id"])]


def test_an_occurrence_change_notifies_the_series_master(emulator, graph, receiver, address, events_sub):
    user = f"{emulator.graph_url}/users/{address}"
    recurrence = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2025-03-10", "numberOfOccurrences": 3},
    }
    master = graph.post(f"{user}/events", json=new_event(recurrence=recurrence)).json()
    window = "startDateTime=2025-03-09T00:00:00Z&endDateTime=2025-03-14T00:00:00Z"
    occurrences = graph.get(f"{user}/events/{master['id']}/instances?{window}").json()["value"]
    receiver.wait_items(1)
    assert graph.delete(f"{user}/events/{occurrences[1]['id']}").status_code == 204
    items = receiver.wait_items(2)
    assert [(i["changeType"], i["resourceData"]["id"]) for i in items] == [
        ("created", master["id"]),
        ("updated", master["id"]),
    ]


def test_contacts_through_the_control_api_and_the_outlook_page(emulator, graph, anonymous, receiver, address):
    """Changes made "in Outlook" (control API, the Outlook page) notify as Graph's own do."""
    sub = subscribe(graph, emulator, receiver, f"users/{address}/contacts").json()
    control = f"{emulator.base_url}/_emulator/mailboxes/{address}/contacts"
    contact = anonymous.post(control, json={"givenName": "Josée"}).json()
    receiver.wait_items(1)
    anonymous.patch(f"{control}/{contact['id']}", json={"surname": "Côté"})
    receiver.wait_items(2)
    page = f"{emulator.base_url}/_emulator/outlook/contact/delete"
    assert (
        anonymous.post(page, data={"address": address, "id": contact["id"]}, allow_redirects=False).status_code == 303
    )
    items = receiver.wait_items(3)
    assert [(i["changeType"], i["resourceData"]["id"]) for i in items] == [
        ("created", contact["id"]),
        ("updated", contact["id"]),
        ("deleted", contact["id"]),
    ]
    mailbox_id = emulator.mailbox(address).id
    assert items[0]["resource"] == f"Users/{mailbox_id}/Contacts/{contact['id']}"
    assert items[0]["resourceData"]["@odata.type"] == "#Microsoft.Graph.Contact"
    assert {i["subscriptionId"] for i in items} == {sub["id"]}


def test_events_created_on_the_outlook_page_are_notified(emulator, graph, anonymous, receiver, address, events_sub):
    form = {
        "address": address,
        "subject": "Visite",
        "start": "2025-03-12T10:00",
        "end": "2025-03-12T11:00",
        "timeZone": "Eastern Standard Time",
        "location": "",
        "attendees": "",
        "sensitivity": "normal",
    }
    response = anonymous.post(f"{emulator.base_url}/_emulator/outlook/event", data=form, allow_redirects=False)
    assert response.status_code == 303
    assert [i["changeType"] for i in receiver.wait_items(1)] == ["created"]


def test_a_folder_subscription_sees_its_folder_and_a_move_in_and_out(emulator, graph, anonymous, receiver, address):
    """contactFolders/{id}/contacts: only that folder; a move is deleted/created for the folders and
    updated for users/{id}/contacts (all the mailbox's contacts)."""
    mailbox = emulator.mailbox(address)
    folder = emulator.store.create_folder(mailbox, "Clients")
    in_folder = subscribe(graph, emulator, receiver, f"users/{address}/contactFolders/{folder['id']}/contacts").json()
    everywhere = subscribe(
        graph, emulator, receiver, f"users/{address}/contacts", notificationUrl=receiver.url("/all")
    ).json()
    outside = emulator.store.create_contact(mailbox, {"givenName": "Dehors"})
    inside = emulator.store.create_contact(mailbox, {"givenName": "Dedans"}, folder["id"])
    receiver.wait_items(1)
    emulator.store.move_contact(mailbox, outside["graph"]["id"], folder["id"])
    folder_items = receiver.wait_items(2)
    assert [(i["changeType"], i["resourceData"]["id"]) for i in folder_items] == [
        ("created", inside["graph"]["id"]),
        ("created", outside["graph"]["id"]),
    ]
    assert {i["subscriptionId"] for i in folder_items} == {in_folder["id"]}
    all_items = receiver.wait_items(3, "/all")
    assert [(i["changeType"], i["resourceData"]["id"]) for i in all_items] == [
        ("created", outside["graph"]["id"]),
        ("created", inside["graph"]["id"]),
        ("updated", outside["graph"]["id"]),
    ]
    assert {i["subscriptionId"] for i in all_items} == {everywhere["id"]}


def test_changes_within_the_delay_share_one_post(emulator, graph, receiver, address):
    """Seeding (another path through the store) writes 3 contacts at once: one POST of 3 notifications."""
    subscribe(graph, emulator, receiver, f"users/{address}/contacts")
    emulator.seed(address, contacts=3, seed=7)
    receiver.wait_items(3)
    assert [len(body["value"]) for body in receiver.bodies()] == [3]
    assert [i["changeType"] for i in receiver.items()] == ["created"] * 3


def test_notification_posts_are_in_the_request_log(emulator, graph, receiver, address, events_sub):
    before = emulator.log.next_index()
    graph.post(f"{emulator.graph_url}/users/{address}/events", json=new_event())
    receiver.wait_items(1)
    posts = receiver.wait_for(lambda: deliveries(emulator, receiver, before))
    assert [(e["method"], e["path"], e["status"], e["attempt"]) for e in posts] == [("POST", "/notify", 202, 1)]
    assert posts[0]["body"]["value"][0]["subscriptionId"] == events_sub["id"]


def test_a_failed_delivery_is_retried(emulator, graph, receiver, address, events_sub, monkeypatch):
    monkeypatch.setattr(emulator.notifier, "retry_delays", (0.2, 0.2))
    receiver.fail_next = 1
    graph.post(f"{emulator.graph_url}/users/{address}/events", json=new_event())
    bodies = receiver.wait_for(lambda: len(receiver.bodies()) >= 2 and receiver.bodies())
    assert bodies[0] == bodies[1]
    attempts = receiver.wait_for(lambda: len(deliveries(emulator, receiver)) >= 2 and deliveries(emulator, receiver))
    assert [(e["status"], e["attempt"]) for e in attempts] == [(503, 1), (202, 2)]


def test_a_delivery_failing_every_time_is_dropped_after_its_retries(
    emulator, graph, receiver, address, events_sub, monkeypatch
):
    monkeypatch.setattr(emulator.notifier, "retry_delays", (0.1, 0.1))
    receiver.fail_always = True
    dropped = emulator.notifier.dropped
    graph.post(f"{emulator.graph_url}/users/{address}/events", json=new_event())
    receiver.wait_for(lambda: emulator.notifier.dropped > dropped)
    assert len(receiver.bodies()) == 3  # the first try and its two retries, nothing after


# -- lifecycle -------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["reauthorizationRequired", "missed", "subscriptionRemoved"])
def test_lifecycle_notifications_on_command(emulator, graph, anonymous, receiver, events_sub, event):
    control = f"{emulator.base_url}/_emulator/subscriptions/{events_sub['id']}/lifecycle"
    answer = anonymous.post(control, json={"lifecycleEvent": event})
    assert answer.status_code == 202 and answer.json()["sent"]["lifecycleEvent"] == event
    items = receiver.wait_items(1, "/lifecycle")
    assert items == [
        {
            "subscriptionId": events_sub["id"],
            "subscriptionExpirationDateTime": events_sub["expirationDateTime"],
            "tenantId": emulator.identity.tenant_id,
            "clientState": "secret-état",
            "lifecycleEvent": event,
        }
    ]
    still_there = graph.get(f"{emulator.graph_url}/subscriptions/{events_sub['id']}").status_code
    assert still_there == (404 if event == "subscriptionRemoved" else 200)


def test_lifecycle_needs_a_lifecycle_url_and_a_known_event(emulator, graph, anonymous, receiver, address):
    sub = subscribe(graph, emulator, receiver, f"users/{address}/events", lifecycleNotificationUrl=None).json()
    control = f"{emulator.base_url}/_emulator/subscriptions/{sub['id']}/lifecycle"
    assert anonymous.post(control, json={"lifecycleEvent": "missed"}).json() == {"sent": None}
    assert anonymous.post(control, json={"lifecycleEvent": "bored"}).status_code == 400
    unknown = f"{emulator.base_url}/_emulator/subscriptions/nope/lifecycle"
    assert anonymous.post(unknown, json={"lifecycleEvent": "missed"}).status_code == 404


def test_a_paused_reauthorization_loses_changes_until_reauthorized(
    emulator, graph, anonymous, receiver, address, events_sub
):
    control = f"{emulator.base_url}/_emulator/subscriptions/{events_sub['id']}/lifecycle"
    anonymous.post(control, json={"lifecycleEvent": "reauthorizationRequired", "pause": True})
    receiver.wait_items(1, "/lifecycle")
    user = f"{emulator.graph_url}/users/{address}"
    graph.post(f"{user}/events", json=new_event("Perdu"))
    reauthorize = graph.post(f"{emulator.graph_url}/subscriptions/{events_sub['id']}/reauthorize")
    assert reauthorize.status_code == 204
    kept = graph.post(f"{user}/events", json=new_event("Reçu")).json()
    items = receiver.wait_items(1)
    assert [(i["changeType"], i["resourceData"]["id"]) for i in items] == [("created", kept["id"])]


# -- permissions and options -----------------------------------------------------------------


def test_managing_a_subscription_needs_the_read_permission_of_its_resource(tmp_path):
    with GraphEmulator() as own:
        folder = Path(own.ca_file).parent
        own.add_mailbox("perm@prextra-demo.ca", upn="perm@prextra-demo.ca")
        with Receiver(folder / tls.CERT_FILE, folder / tls.KEY_FILE) as endpoint, make_session(own.ca_file) as session:
            own.set_roles(["Contacts.Read", "Calendars.ReadBasic"])
            session.headers["Authorization"] = f"Bearer {token_for(own, session)}"
            refused = subscribe(session, own, endpoint, "users/perm@prextra-demo.ca/events")
            assert refused.status_code == 403 and graph_error(refused)["code"] == "ErrorAccessDenied"
            created = subscribe(session, own, endpoint, "users/perm@prextra-demo.ca/contacts")
            assert created.status_code == 201
            own.set_roles(["Calendars.Read"])
            session.headers["Authorization"] = f"Bearer {token_for(own, session)}"
            url = f"{own.graph_url}/subscriptions/{created.json()['id']}"
            assert [session.get(url).status_code, session.delete(url).status_code] == [403, 403]
            assert subscribe(session, own, endpoint, "users/perm@prextra-demo.ca/events").status_code == 201


def test_command_line_options_for_notifications():
    args = parse_args(["--port", "0", "--notify-delay", "0.25", "--notify-ca-file", "/tmp/ca.pem"])  # noqa: S108
    assert (args.notify_delay, args.notify_ca_file) == (0.25, "/tmp/ca.pem")  # noqa: S108
    assert parse_args(["--port", "0"]).notify_delay == 1.0


def test_batch_writes_and_received_meetings_notify_too(emulator, graph, anonymous, receiver, address, events_sub):
    batch = {"requests": [{"id": "1", "method": "POST", "url": f"/users/{address}/events", "body": new_event("Lot")}]}
    batch["requests"][0]["headers"] = {"Content-Type": "application/json"}
    answer = graph.post(f"{emulator.graph_url}/$batch", json=batch).json()["responses"][0]
    assert answer["status"] == 201
    receiver.wait_items(1)
    meeting = dict(new_event("Invitation"), organizer={"emailAddress": {"address": "autre@client.ca"}})
    received = anonymous.post(f"{emulator.base_url}/_emulator/mailboxes/{address}/meetings", json=meeting).json()
    items = receiver.wait_items(2)
    assert [(i["changeType"], i["resourceData"]["id"]) for i in items] == [
        ("created", answer["body"]["id"]),
        ("created", received["id"]),
    ]


def test_the_control_api_lists_subscriptions_with_their_mailbox(emulator, anonymous, address, events_sub):
    listed = anonymous.get(f"{emulator.base_url}/_emulator/subscriptions").json()["subscriptions"]
    mine = [s for s in listed if s["id"] == events_sub["id"]]
    assert [(s["mailbox"], s["resource"], s["paused"]) for s in mine] == [(address, f"users/{address}/events", False)]
