"""The public endpoint Microsoft Graph posts to (exchange/notifications.py): the validation
handshake, the clientState check, the size limit, and one queued sync per mailbox and kind."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from exchange import notifications, subscriptions, tasks
from exchange.models import ACTIVITIES, Direction, Subscription

pytestmark = pytest.mark.django_db

URL = "/exchange/notifications/"
SECRET = "s3cr3t-client-state-of-the-subscription"


@pytest.fixture
def row(crm_user):
    return Subscription.objects.create(
        user=crm_user,
        kind=Subscription.Kind.CONTACTS,
        resource="users/mailbox-id/contactFolders/folder-1/contacts",
        graph_id="graph-sub-1",
        client_state_hash=subscriptions.hash_client_state(SECRET),
        status=Subscription.Status.ACTIVE,
        expires_at=timezone.now() + timedelta(days=6),
    )


@pytest.fixture
def queued():
    with (
        mock.patch.object(tasks.sync_user, "delay") as sync_delay,
        mock.patch.object(tasks.handle_lifecycle, "delay") as lifecycle_delay,
    ):
        yield sync_delay, lifecycle_delay


def _item(subscription_id="graph-sub-1", client_state=SECRET, **extra) -> dict:
    return {
        "subscriptionId": subscription_id,
        "clientState": client_state,
        "changeType": "created",
        "resource": "Users/mailbox-id/Contacts/AAMk1",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Contact", "id": "AAMk1"},
        **extra,
    }


def _post(*items, client=None) -> object:
    client = client or Client(enforce_csrf_checks=True)
    return client.post(URL, json.dumps({"value": list(items)}), content_type="application/json")


def test_the_url_is_the_one_given_to_graph(settings):
    settings.PREXTRA_PUBLIC_URL = "https://prextra.example.com"
    assert reverse("graph_notifications") == URL
    assert subscriptions.notification_url() == "https://prextra.example.com/exchange/notifications/"


def test_validation_echoes_the_decoded_token_as_plain_text():
    token = "Validation: Testing client application reachability for subscription Request-Id: 3b3f9821"
    response = Client().post(
        f"{URL}?validationToken=Validation%3A+Testing+client+application+reachability"
        "+for+subscription+Request-Id%3A+3b3f9821",
        content_type="text/plain",
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == token
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_oversized_token_is_refused():
    response = Client().post(f"{URL}?validationToken={'x' * 5000}")
    assert response.status_code == 400


def test_a_notification_queues_the_delta_sync_of_its_mailbox_and_kind(row, queued):
    sync_delay, _lifecycle = queued
    response = _post(_item())
    assert response.status_code == 202
    sync_delay.assert_called_once_with(row.user_id, Direction.CONTACTS_IN, "notified")
    row.refresh_from_db()
    assert row.last_notified_at is not None


def test_a_burst_queues_one_sync_until_it_starts(row, queued):
    sync_delay, _lifecycle = queued
    for _ in range(3):
        _post(*[_item() for _ in range(40)])
    assert sync_delay.call_count == 1
    with mock.patch("exchange.scheduling.run_sync"), mock.patch.object(tasks, "enqueue_recheck"):
        tasks.sync_user.run(row.user_id, Direction.CONTACTS_IN, "notified")  # starting clears the mark
    _post(_item())
    assert sync_delay.call_count == 2


def test_events_and_contacts_queue_their_own_groups(row, queued, crm_user):
    sync_delay, _lifecycle = queued
    events = Subscription.objects.create(
        user=crm_user,
        kind="events",
        resource="users/mailbox-id/events",
        graph_id="graph-sub-2",
        client_state_hash=subscriptions.hash_client_state("other-secret"),
        status="active",
    )
    _post(_item(), _item(events.graph_id, "other-secret"))
    assert sorted(call.args for call in sync_delay.call_args_list) == sorted(
        [(crm_user.pk, Direction.CONTACTS_IN, "notified"), (crm_user.pk, ACTIVITIES, "notified")]
    )


@pytest.mark.parametrize(
    "forged",
    [
        _item(client_state="guessed"),
        _item(client_state=None),
        _item(client_state="x" * 129),
        _item(client_state=["not", "a", "string"]),
        _item(subscription_id="another-subscription"),  # the right secret on someone else's id
    ],
    ids=["wrong", "missing", "too-long", "not-a-string", "other-id"],
)
def test_a_forged_notification_queues_nothing_and_is_logged(row, queued, forged, caplog):
    sync_delay, lifecycle_delay = queued
    response = _post(forged)
    assert response.status_code == 202  # a forger learns nothing; Graph would only retry
    sync_delay.assert_not_called()
    lifecycle_delay.assert_not_called()
    row.refresh_from_db()
    assert row.last_notified_at is None
    assert "clientState does not match" in caplog.text
    assert SECRET not in caplog.text


def test_a_subscription_being_created_is_recognized_by_its_secret(row, queued):
    """Graph may notify before its 201 reached the product: the hash is stored first."""
    Subscription.objects.filter(pk=row.pk).update(graph_id="", status="pending")
    _post(_item(subscription_id="not-known-yet"))
    queued[0].assert_called_once()


def test_lifecycle_notifications_are_queued_for_a_worker(row, queued):
    _sync, lifecycle_delay = queued
    _post(
        {"subscriptionId": "graph-sub-1", "clientState": SECRET, "lifecycleEvent": "missed"},
        {"subscriptionId": "graph-sub-1", "clientState": SECRET, "lifecycleEvent": "somethingNew"},
    )
    lifecycle_delay.assert_called_once_with(row.pk, "missed")


@pytest.mark.parametrize("body", [b"not json", b'{"value": 3}', b"[]", b'{"other": []}', "é".encode("latin-1")])
def test_a_body_that_is_not_a_notification_collection_is_refused(body, queued):
    response = Client().post(URL, body, content_type="application/json")
    assert response.status_code == 400
    queued[0].assert_not_called()


def test_a_body_over_the_limit_is_refused_unread(queued):
    body = b'{"value": [' + b" " * notifications.MAX_BODY_BYTES + b"]}"
    response = Client().post(URL, body, content_type="application/json")
    assert response.status_code == 413
    queued[0].assert_not_called()


def test_a_broker_outage_asks_graph_to_retry(row):
    with mock.patch.object(tasks.sync_user, "delay", side_effect=OperationalError("broker down")):
        response = _post(_item())
    assert response.status_code == 503


def test_only_post_is_answered():
    assert Client().get(URL).status_code == 405
    assert Client().put(URL).status_code == 405


def test_a_notification_during_a_run_makes_it_run_once_more(row, queued, settings):
    settings.PREXTRA_PUBLIC_URL = "https://prextra.example.com"
    sync_delay, _lifecycle = queued

    def run_while_notified(*args):
        Subscription.objects.filter(pk=row.pk).update(last_notified_at=timezone.now() + timedelta(seconds=1))

    with mock.patch("exchange.scheduling.run_sync", side_effect=run_while_notified):
        tasks.sync_user.run(row.user_id, Direction.CONTACTS_IN, "schedule")
    sync_delay.assert_called_once_with(row.user_id, Direction.CONTACTS_IN, "notified")


def test_a_run_with_no_notification_since_it_started_does_not_run_again(row, queued, settings):
    settings.PREXTRA_PUBLIC_URL = "https://prextra.example.com"
    Subscription.objects.filter(pk=row.pk).update(last_notified_at=timezone.now() - timedelta(seconds=5))
    with mock.patch("exchange.scheduling.run_sync"):
        tasks.sync_user.run(row.user_id, Direction.CONTACTS_IN, "schedule")
    queued[0].assert_not_called()


def test_second_looks_are_queued_once_each_and_a_broker_outage_only_costs_latency(row, settings, caplog):
    settings.PREXTRA_NOTIFIED_RECHECKS = [3, 20]
    with mock.patch.object(tasks.sync_user, "apply_async") as apply_async:
        assert tasks.enqueue_recheck(row.user_id, Direction.CONTACTS_IN, 1) is True
        assert tasks.enqueue_recheck(row.user_id, Direction.CONTACTS_IN, 1) is False  # already queued
        assert tasks.enqueue_recheck(row.user_id, Direction.CONTACTS_IN, 3) is False  # only two
    apply_async.assert_called_once_with(
        (row.user_id, Direction.CONTACTS_IN, "notified"), {"look": 1}, countdown=3, expires=63
    )
    with mock.patch.object(tasks.sync_user, "apply_async", side_effect=OperationalError("broker down")):
        assert tasks.enqueue_recheck(row.user_id, Direction.CONTACTS_IN, 2) is False
    assert "Second look of user" in caplog.text and "OperationalError" in caplog.text
    with mock.patch.object(tasks.sync_user, "apply_async") as apply_async:  # no mark was left behind
        assert tasks.enqueue_recheck(row.user_id, Direction.CONTACTS_IN, 2) is True
    assert apply_async.call_args.kwargs["countdown"] == 17
    # Once a look starts, another notified sync may queue that look again (a later change's).
    assert tasks.enqueue_recheck(row.user_id, Direction.CONTACTS_IN, 2) is False
    with mock.patch("exchange.scheduling.run_sync", return_value=None):
        tasks.sync_user.run(row.user_id, Direction.CONTACTS_IN, "notified", look=2)
    with mock.patch.object(tasks.sync_user, "apply_async"):
        assert tasks.enqueue_recheck(row.user_id, Direction.CONTACTS_IN, 2) is True
    settings.PREXTRA_NOTIFIED_RECHECKS = []
    assert tasks.enqueue_recheck(row.user_id, ACTIVITIES, 1) is False


def test_a_notified_sync_does_not_jump_the_backoff(row, queued):
    """Graph asked to wait (Retry-After) or the last runs failed: the scheduler runs it after."""
    from exchange.models import SyncState

    later = timezone.now() + timedelta(minutes=2)
    SyncState.objects.create(user_id=row.user_id, direction="contacts_in", failed_attempts=2, not_before=later)
    with mock.patch("exchange.scheduling.run_sync") as run_sync:
        tasks.sync_user.run(row.user_id, Direction.CONTACTS_IN, "notified")
    run_sync.assert_not_called()


def test_a_broker_outage_leaves_no_mark_so_graphs_retry_queues_the_sync(row):
    with mock.patch.object(tasks.sync_user, "delay", side_effect=OperationalError("broker down")):
        assert _post(_item()).status_code == 503
    with mock.patch.object(tasks.sync_user, "delay") as delay:
        assert _post(_item()).status_code == 202
    delay.assert_called_once()
