"""Polling with change notifications (exchange/scheduling.py, exchange/subscriptions.py): a sync
group whose every subscription is healthy is read by the safety poll only (every
PREXTRA_SAFETY_POLL seconds); a missing, failed, pending or expired subscription, a direction in
backoff, or notifications switched off send it back to the fast poll (every beat tick)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ExchangeProfile
from exchange import subscriptions
from exchange.models import ContactFolder, Direction, Subscription, SyncState
from exchange.scheduling import due_syncs

pytestmark = pytest.mark.django_db

ACTIVITIES = "activities"


@pytest.fixture
def notified_user(connection, mailbox_user, settings):
    """A user whose mailbox is resolved, with two contact folders and every subscription active."""
    settings.PREXTRA_PUBLIC_URL = "https://prextra.example.com"
    ExchangeProfile.objects.filter(user=mailbox_user).update(mailbox_id="box-1", mailbox_address=mailbox_user.email)
    for folder in ("f1", "f2"):
        ContactFolder.objects.create(user=mailbox_user, folder_id=folder, display_name=folder)
    for resource, kind in subscriptions.resources_of(
        "box-1", events=True, contacts=True, folder_ids=["f1", "f2"]
    ).items():
        Subscription.objects.create(
            user=mailbox_user,
            kind=kind,
            resource=resource,
            graph_id=f"g-{resource}",
            status="active",
            expires_at=timezone.now() + timedelta(days=6),
        )
    now = timezone.now()
    for direction in Direction.values:
        SyncState.objects.create(user=mailbox_user, direction=direction, last_attempt_at=now, last_success_at=now)
    return mailbox_user


def _due(user):
    return {group for user_id, group in due_syncs() if user_id == user.pk}


def _age_attempts(user, seconds):
    then = timezone.now() - timedelta(seconds=seconds)
    SyncState.objects.filter(user=user).update(last_attempt_at=then, last_success_at=then)


def test_healthy_subscriptions_wait_for_the_safety_poll(notified_user, settings):
    assert subscriptions.healthy_groups() == {(notified_user.pk, "contacts_in"), (notified_user.pk, ACTIVITIES)}
    assert _due(notified_user) == set()
    _age_attempts(notified_user, settings.PREXTRA_SAFETY_POLL + 1)
    assert _due(notified_user) == {"contacts_in", ACTIVITIES}


def test_without_a_public_address_every_tick_polls(notified_user, settings):
    settings.PREXTRA_PUBLIC_URL = ""
    assert subscriptions.healthy_groups() == set()
    assert _due(notified_user) == {"contacts_in", ACTIVITIES}


@pytest.mark.parametrize(
    "breakage",
    [
        {"status": "failed"},
        {"status": "pending"},
        {"expires_at": timezone.now() - timedelta(seconds=1)},
    ],
    ids=["failed", "pending", "expired"],
)
def test_an_unhealthy_subscription_brings_back_the_fast_poll_for_its_kind_only(notified_user, breakage):
    Subscription.objects.filter(user=notified_user, kind="contacts", resource__contains="/f2/").update(**breakage)
    assert _due(notified_user) == {"contacts_in"}


def test_a_contact_folder_not_subscribed_yet_brings_back_the_fast_poll(notified_user):
    ContactFolder.objects.create(user=notified_user, folder_id="f3", display_name="Nouveau")
    assert _due(notified_user) == {"contacts_in"}
    assert notified_user.pk in subscriptions.users_needing_work()


def test_a_direction_in_backoff_keeps_its_backoff_schedule(notified_user):
    SyncState.objects.filter(user=notified_user, direction="activities_out").update(
        failed_attempts=1, not_before=timezone.now() - timedelta(seconds=1)
    )
    assert _due(notified_user) == {ACTIVITIES}


def test_a_changed_email_waits_for_its_mailbox_and_polls_meanwhile(notified_user):
    notified_user.email = "autre@prextra-demo.ca"
    notified_user.save()
    assert subscriptions.healthy_groups() == set()
    assert _due(notified_user) == {"contacts_in", ACTIVITIES}
    assert notified_user.pk not in subscriptions.users_needing_work()  # the next sync resolves it first


def test_nothing_to_do_for_healthy_subscriptions_far_from_expiry(notified_user):
    assert subscriptions.users_needing_work() == []


def test_renewal_is_due_two_days_before_expiry(notified_user):
    Subscription.objects.filter(user=notified_user, kind="events").update(
        expires_at=timezone.now() + subscriptions.RENEW_WITHIN - timedelta(minutes=1)
    )
    assert subscriptions.users_needing_work() == [notified_user.pk]


def test_switched_off_subscriptions_are_work_to_delete(notified_user):
    ExchangeProfile.objects.filter(user=notified_user).update(sync_contacts_in=False)
    assert subscriptions.users_needing_work() == [notified_user.pk]
    box = subscriptions.mailboxes([notified_user.pk])[notified_user.pk]
    assert set(box.wanted.values()) == {"events"}


def test_a_quiet_run_moves_its_stamps_once_the_safety_poll_is_due(notified_user, settings):
    """The scheduler reads last_attempt_at: a quiet run must move it when a safety poll is due,
    even with a longer PREXTRA_STAMP_REFRESH."""
    from exchange.sync.runs import finish_success

    settings.PREXTRA_STAMP_REFRESH, settings.PREXTRA_SAFETY_POLL = 600, 60
    _age_attempts(notified_user, 61)
    state = SyncState.objects.get(user=notified_user, direction="contacts_in")
    finish_success(state, None)
    state.refresh_from_db()
    assert timezone.now() - state.last_attempt_at < timedelta(seconds=5)


def test_saving_the_switches_or_the_user_queues_the_subscription_work(
    notified_user, django_capture_on_commit_callbacks
):
    from unittest import mock

    from exchange import tasks

    with (
        mock.patch.object(tasks.maintain_user_subscriptions, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        profile = ExchangeProfile.objects.get(user=notified_user)
        profile.sync_activities_in = False
        profile.save()
        notified_user.is_active = False
        notified_user.save()
        notified_user.save(update_fields=["last_login"])  # a sign-in changes nothing of the mailbox
    assert [call.args for call in delay.call_args_list] == [(notified_user.pk,), (notified_user.pk,)]


def test_a_failed_deletion_waits_for_its_retry_time(notified_user, settings):
    """Notifications switched off: every subscription is to delete; one whose deletion failed is
    not queued again every minute, only once its retry time has come."""
    settings.PREXTRA_PUBLIC_URL = ""
    assert subscriptions.users_needing_work() == [notified_user.pk]
    Subscription.objects.filter(user=notified_user).update(
        status="failed", retry_at=timezone.now() + timedelta(minutes=4)
    )
    assert subscriptions.users_needing_work() == []
    Subscription.objects.filter(user=notified_user).update(retry_at=timezone.now() - timedelta(seconds=1))
    assert subscriptions.users_needing_work() == [notified_user.pk]
