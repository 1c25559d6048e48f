"""Change notifications end to end against the Graph emulator over real HTTPS: the product's
endpoint is served by a TLS server thread, the emulator validates it before each subscription's
201 and posts every change to it. The queued tasks are recorded and run by the test, so each step
is seen. Rules: exchange/subscriptions.py and exchange/notifications.py (delta stays the source of
truth: a notification only queues the delta sync of its mailbox and kind)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import ExchangeProfile
from crm.models import Activity, Contact
from exchange import subscriptions, tasks
from exchange.models import ACTIVITIES, Direction, Subscription
from exchange.sync.activities import sync_activities
from exchange.sync.contacts import sync_contacts
from graph_emulator import tls

from .https_app import HttpsApp

pytestmark = pytest.mark.django_db(transaction=True)


class Queue:
    """The tasks the product queued (sync_user, handle_lifecycle), in order, run on demand."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.later: list[tuple[tuple, dict, float]] = []  # sync_user.apply_async: the second looks
        self.lock = threading.Lock()

    def apply_async(self, args, kwargs=None, *, countdown=0, expires=None):
        with self.lock:
            self.later.append((tuple(args), dict(kwargs or {}), countdown))

    def recorder(self, name: str):
        def delay(*args):
            with self.lock:
                self.calls.append((name, args))

        return delay

    def wait(self, predicate, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [call for call in self.calls if predicate(call)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"nothing queued; so far: {self.calls}")

    def run_all(self) -> None:
        """Run what was queued (and what that queues), as a worker would."""
        while True:
            with self.lock:
                if not self.calls:
                    return
                name, args = self.calls.pop(0)
            getattr(tasks, name).run(*args)


@pytest.fixture
def public(graph_emulator, settings):
    """The product's endpoint on real HTTPS, named by PREXTRA_PUBLIC_URL."""
    folder = Path(graph_emulator.ca_file).parent
    delay, graph_emulator.notifier.delay = graph_emulator.notifier.delay, 0.2
    with HttpsApp(folder / tls.CERT_FILE, folder / tls.KEY_FILE) as app:
        settings.PREXTRA_PUBLIC_URL = app.url
        yield app
    graph_emulator.notifier.delay = delay
    graph_emulator.faults.clear()
    # Nothing of this test may post into a later one's request log (tests count its entries).
    graph_emulator.book.clear()
    graph_emulator.notifier.clear()
    time.sleep(0.3)  # a delivery in flight ends (its server is gone) and may queue a retry …
    graph_emulator.notifier.clear()  # … which goes too


@pytest.fixture
def queue():
    queue = Queue()
    with (
        mock.patch.object(tasks.sync_user, "delay", queue.recorder("sync_user")),
        mock.patch.object(tasks.sync_user, "apply_async", queue.apply_async),
        mock.patch.object(tasks.handle_lifecycle, "delay", queue.recorder("handle_lifecycle")),
        mock.patch.object(tasks.maintain_user_subscriptions, "delay", queue.recorder("maintain_user_subscriptions")),
    ):
        yield queue


@pytest.fixture
def subscribed(public, queue, connection, mailbox_user, graph_client):
    """A user whose first syncs resolved the mailbox and listed its folders, then subscribed."""
    sync_contacts(mailbox_user, client=graph_client)
    sync_activities(mailbox_user, client=graph_client)
    queue.calls.clear()
    subscriptions.maintain(mailbox_user.pk, graph_client)
    return mailbox_user


def _graph_subscriptions(emulator, user) -> list[dict]:
    return [sub for sub in emulator.subscriptions() if sub["mailbox"] == user.email]


def _notified_syncs(queue, user, group):
    return queue.wait(lambda call: call == ("sync_user", (user.pk, group, "notified")))


def test_switching_on_subscribes_each_reading_kind_validated_by_graph(subscribed, graph_emulator, public):
    rows = list(Subscription.objects.filter(user=subscribed).order_by("kind"))
    assert [(row.kind, row.status) for row in rows] == [("contacts", "active"), ("events", "active")]
    on_graph = _graph_subscriptions(graph_emulator, subscribed)
    assert sorted(sub["id"] for sub in on_graph) == sorted(row.graph_id for row in rows)
    assert {sub["notificationUrl"] for sub in on_graph} == {f"{public.url}/exchange/notifications/"}
    assert {sub["lifecycleNotificationUrl"] for sub in on_graph} == {f"{public.url}/exchange/notifications/"}
    assert all(sub["changeType"] == "created,updated,deleted" for sub in on_graph)
    # The secret is sent to Graph once and kept only as its hash.
    assert all(sub["clientState"] and len(sub["clientState"]) <= 128 for sub in on_graph)
    assert {subscriptions.hash_client_state(sub["clientState"]) for sub in on_graph} == {
        row.client_state_hash for row in rows
    }
    validations = [entry for entry in graph_emulator.requests_log() if entry.get("kind") == "validation"]
    assert len([v for v in validations if v["target"].startswith(public.url)]) >= 2
    # Lifetime: Graph's 10,080-minute maximum for Outlook resources, minus a margin.
    assert all(timedelta(days=6) < row.expires_at - timezone.now() < timedelta(days=7) for row in rows)


def test_an_outlook_change_is_notified_and_queues_the_delta_sync_that_brings_it(subscribed, outlook, queue):
    outlook.add_contact("Chloé", "Bélanger", "chloe.belanger@finloc.com")
    _notified_syncs(queue, subscribed, Direction.CONTACTS_IN)
    queue.run_all()
    assert Contact.objects.filter(email="chloe.belanger@finloc.com", is_active=True).count() == 1
    assert Subscription.objects.get(user=subscribed, kind="contacts").last_notified_at is not None


def test_an_event_change_queues_the_activity_sync(subscribed, outlook, queue):
    outlook.add_event("Visite chez Finloc")
    _notified_syncs(queue, subscribed, ACTIVITIES)
    queue.run_all()
    assert Activity.objects.filter(owner=subscribed, subject="Visite chez Finloc").count() == 1


def test_a_change_not_yet_in_the_delta_arrives_at_the_second_look(subscribed, outlook, queue, graph_emulator):
    """Graph's processing delays ("Expect varying delays ... Retry the @odata.deltaLink after some
    time": delta-query-overview): the notification comes before the delta shows the change. The
    notified sync reads nothing yet; the second look it queued (PREXTRA_NOTIFIED_RECHECKS, 3 s)
    brings it, instead of the safety poll 5 minutes later; the third is queued 17 s after that."""
    graph_emulator.store.delta_lag = 1.5
    try:
        outlook.add_contact("Rémi", "Gagnon", "remi.gagnon@finloc.com")
        _notified_syncs(queue, subscribed, Direction.CONTACTS_IN)
        queue.run_all()
        assert not Contact.objects.filter(email="remi.gagnon@finloc.com").exists()
        assert queue.later == [((subscribed.pk, Direction.CONTACTS_IN, "notified"), {"look": 1}, 3)]
        time.sleep(1.5)
        args, kwargs, _countdown = queue.later.pop()
        tasks.sync_user.run(*args, **kwargs)
        assert Contact.objects.filter(email="remi.gagnon@finloc.com", is_active=True).count() == 1
        assert queue.later == [((subscribed.pk, Direction.CONTACTS_IN, "notified"), {"look": 2}, 17)]
        args, kwargs, _countdown = queue.later.pop()
        tasks.sync_user.run(*args, **kwargs)
        assert queue.later == []  # two second looks (3 and 20 s after the first), then the safety poll
        assert Contact.objects.filter(email="remi.gagnon@finloc.com").count() == 1
    finally:
        graph_emulator.store.delta_lag = 0.0


def test_a_burst_of_changes_queues_one_sync(subscribed, outlook, queue, graph_emulator):
    for number in range(8):
        outlook.add_contact("Luc", f"Roy{number}", f"luc.roy{number}@finloc.com")
    _notified_syncs(queue, subscribed, Direction.CONTACTS_IN)
    time.sleep(1.0)  # every notification has arrived (0.2 s after its change)
    assert queue.calls.count(("sync_user", (subscribed.pk, Direction.CONTACTS_IN, "notified"))) == 1
    queue.run_all()
    assert Contact.objects.filter(email__startswith="luc.roy", is_active=True).count() == 8


def test_a_duplicated_notification_changes_nothing(subscribed, outlook, queue, graph_emulator):
    graph_emulator.inject_fault("notify_duplicate", path="contactFolders", count=None)
    outlook.add_contact("Anne", "Côté", "anne.cote@finloc.com")
    _notified_syncs(queue, subscribed, Direction.CONTACTS_IN)
    time.sleep(0.8)
    queue.run_all()
    queue.run_all()
    assert Contact.objects.filter(email="anne.cote@finloc.com").count() == 1


def test_a_notification_with_a_wrong_client_state_queues_nothing(subscribed, outlook, queue, graph_emulator, caplog):
    graph_emulator.inject_fault("notify_wrong_client_state", path="contactFolders", count=None)
    outlook.add_contact("Faux", "Signal", "faux.signal@finloc.com")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "clientState does not match" not in caplog.text:
        time.sleep(0.05)
    assert "clientState does not match" in caplog.text
    assert not [call for call in queue.calls if call[0] == "sync_user"]
    assert Subscription.objects.get(user=subscribed, kind="contacts").last_notified_at is None


def test_a_dropped_notification_waits_for_the_safety_poll(subscribed, outlook, queue, graph_emulator, settings):
    """Nothing queued: the mailbox is read at the next safety poll, and the change arrives then."""
    from exchange.scheduling import due_syncs

    graph_emulator.inject_fault("notify_drop", path="contactFolders", count=None)
    outlook.add_contact("Perdu", "Puis", "perdu.puis@finloc.com")
    time.sleep(1.0)
    assert not [call for call in queue.calls if call[0] == "sync_user"]
    assert (subscribed.pk, Direction.CONTACTS_IN) not in due_syncs()  # polled less than 5 min ago
    settings.PREXTRA_SAFETY_POLL = 10
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(seconds=11)):
        assert (subscribed.pk, Direction.CONTACTS_IN) in due_syncs()
    sync_contacts(subscribed)
    assert Contact.objects.filter(email="perdu.puis@finloc.com").count() == 1


def test_renewed_before_it_expires(subscribed, graph_emulator, graph_client):
    row = Subscription.objects.get(user=subscribed, kind="events")
    Subscription.objects.filter(pk=row.pk).update(expires_at=timezone.now() + timedelta(hours=12))
    assert subscribed.pk in subscriptions.users_needing_work()
    since = len(graph_emulator.requests_log())
    subscriptions.maintain(subscribed.pk, graph_client)
    log = graph_emulator.requests_log(since)
    patches = [entry for entry in log if entry["method"] == "PATCH" and "/subscriptions/" in entry["path"]]
    assert len(patches) == 1
    row.refresh_from_db()
    assert row.renewed_at is not None and row.expires_at - timezone.now() > timedelta(days=6)
    assert subscribed.pk not in subscriptions.users_needing_work()


def test_removed_by_graph_it_is_created_again_and_the_mailbox_read(subscribed, graph_emulator, queue):
    row = Subscription.objects.get(user=subscribed, kind="events")
    graph_emulator.send_lifecycle(row.graph_id, "subscriptionRemoved")
    queue.wait(lambda call: call == ("handle_lifecycle", (row.pk, "subscriptionRemoved")))
    queue.run_all()
    fresh = Subscription.objects.get(pk=row.pk)
    assert fresh.status == "active" and fresh.graph_id and fresh.graph_id != row.graph_id
    assert fresh.graph_id in {sub["id"] for sub in _graph_subscriptions(graph_emulator, subscribed)}


def test_missed_notifications_are_caught_up_by_a_delta_round(subscribed, graph_emulator, queue, outlook):
    row = Subscription.objects.get(user=subscribed, kind="contacts")
    graph_emulator.inject_fault("notify_drop", path="contactFolders", count=None)
    outlook.add_contact("Rattrapé", "Delta", "rattrape.delta@finloc.com")
    graph_emulator.faults.clear()
    graph_emulator.send_lifecycle(row.graph_id, "missed")
    queue.wait(lambda call: call == ("handle_lifecycle", (row.pk, "missed")))
    queue.run_all()
    assert Contact.objects.filter(email="rattrape.delta@finloc.com").count() == 1


def test_reauthorization_required_renews_and_notifications_resume(subscribed, graph_emulator, queue, outlook):
    row = Subscription.objects.get(user=subscribed, kind="contacts")
    graph_emulator.send_lifecycle(row.graph_id, "reauthorizationRequired", pause=True)
    queue.wait(lambda call: call == ("handle_lifecycle", (row.pk, "reauthorizationRequired")))
    queue.run_all()
    assert not [sub for sub in graph_emulator.subscriptions() if sub["id"] == row.graph_id][0]["paused"]
    outlook.add_contact("Repris", "Ensuite", "repris.ensuite@finloc.com")
    _notified_syncs(queue, subscribed, Direction.CONTACTS_IN)


def test_switching_off_deletes_the_subscription(subscribed, graph_emulator, graph_client):
    profile = ExchangeProfile.objects.get(user=subscribed)
    profile.sync_activities_in = False
    profile.save()
    subscriptions.maintain(subscribed.pk, graph_client)
    assert list(Subscription.objects.filter(user=subscribed).values_list("kind", flat=True)) == ["contacts"]
    assert [sub["resource"].split("/")[2] for sub in _graph_subscriptions(graph_emulator, subscribed)] == [
        "contactFolders"
    ]
    subscribed.is_active = False
    subscribed.save()
    subscriptions.maintain(subscribed.pk, graph_client)
    assert not Subscription.objects.filter(user=subscribed).exists()
    assert _graph_subscriptions(graph_emulator, subscribed) == []


def test_an_unreachable_endpoint_fails_in_words_and_keeps_the_fast_poll(
    public, queue, connection, mailbox_user, graph_client, settings
):
    from exchange.scheduling import due_syncs

    sync_contacts(mailbox_user, client=graph_client)
    settings.PREXTRA_PUBLIC_URL = "https://127.0.0.1:9"  # nothing listens there
    subscriptions.maintain(mailbox_user.pk, graph_client)
    row = Subscription.objects.get(user=mailbox_user, kind="contacts")
    assert row.status == "failed" and row.retry_at > timezone.now()
    assert "Microsoft 365" in row.error
    assert (mailbox_user.pk, Direction.CONTACTS_IN) in due_syncs()
    assert mailbox_user.pk not in subscriptions.users_needing_work()  # waits for its retry time


def test_the_hourly_sweep_recreates_what_graph_lost_and_deletes_orphans(subscribed, graph_emulator, graph_client):
    events = Subscription.objects.get(user=subscribed, kind="events")
    Subscription.objects.filter(pk=events.pk).update(created_at=timezone.now() - timedelta(hours=1))
    graph_emulator.book.remove(events.graph_id)  # gone from Graph with no lifecycle notification
    orphan = graph_client.create_subscription(
        f"users/{ExchangeProfile.objects.get(user=subscribed).mailbox_id}/events",
        subscriptions.notification_url(),
        "nobody-knows-me",
        timezone.now() + timedelta(hours=1),
    )
    assert subscriptions.sweep(graph_client) == (1, 1)
    assert orphan["id"] not in {sub["id"] for sub in graph_emulator.subscriptions()}
    subscriptions.maintain(subscribed.pk, graph_client)
    fresh = Subscription.objects.get(pk=events.pk)
    assert fresh.status == "active" and fresh.graph_id not in {"", events.graph_id}
    assert subscriptions.sweep(graph_client) == (0, 0)


def test_a_late_notification_still_brings_the_change_once(subscribed, outlook, queue, graph_emulator):
    graph_emulator.inject_fault("notify_delay", seconds=1.5, path="contactFolders", count=None)
    started = time.monotonic()
    outlook.add_contact("Lente", "Poste", "lente.poste@finloc.com")
    _notified_syncs(queue, subscribed, Direction.CONTACTS_IN)
    assert time.monotonic() - started >= 1.5
    queue.run_all()
    assert Contact.objects.filter(email="lente.poste@finloc.com").count() == 1
