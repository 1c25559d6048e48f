"""Which mailbox a user is (UPN ≠ primary SMTP, aliases) and what the app may do in it (consent).

Over real HTTPS against the emulator, whose mailboxes have a UPN on the tenant's initial domain
unless told otherwise: Graph names a user by object id or UPN only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import ExchangeProfile
from crm.models import Activity, Contact
from exchange.graph.client import GraphClient, GraphSettings, forget_apps
from exchange.models import Direction, SyncRun, SyncState
from exchange.sync.activities import sync_activities
from exchange.sync.contacts import resync_contact, sync_contacts
from graph_emulator.identity import ROLES

pytestmark = pytest.mark.django_db


def _directory_queries(emulator, since: int) -> list[dict]:
    return [e for e in emulator.requests_log(since) if e["kind"] == "graph" and e["path"] == "/v1.0/users"]


def _by_direction(runs) -> dict:
    return {run.direction: run for run in runs or []}


def _profile(user) -> ExchangeProfile:
    return ExchangeProfile.objects.get(user=user)


def test_a_mailbox_whose_upn_is_not_its_email_syncs_both_ways(graph_client, mailbox_user, outlook, graph_emulator):
    assert outlook.mailbox.upn.lower() != mailbox_user.email.lower()
    contact_id = outlook.add_contact("Luc", "Roy", "luc.roy@finloc.com")
    event_id = outlook.add_event("Rencontre Finloc")
    start = datetime(2026, 12, 3, 14, tzinfo=UTC)
    activity = Activity.objects.create(
        owner=mailbox_user, subject="Visite", start=start, end=start + timedelta(hours=1)
    )

    assert sync_contacts(mailbox_user, client=graph_client).result == SyncRun.Result.SUCCESS
    runs = _by_direction(sync_activities(mailbox_user, client=graph_client))

    assert Contact.objects.filter(outlook_items__mailbox=mailbox_user, outlook_items__outlook_id=contact_id).exists()
    assert Activity.objects.filter(owner=mailbox_user, outlook_id=event_id).exists()
    activity.refresh_from_db()
    assert activity.outlook_id in outlook.mailbox.events  # created in Outlook through the object id
    assert all(run.result == SyncRun.Result.SUCCESS for run in runs.values())
    assert _profile(mailbox_user).mailbox_id == outlook.mailbox.id


def test_a_user_whose_email_is_an_alias_of_the_mailbox_is_found(graph_client, django_user_model, graph_emulator):
    tag = uuid.uuid4().hex[:8]
    box = graph_emulator.add_mailbox(f"m.tremblay.{tag}@prextra-demo.ca", aliases=[f"marie.{tag}@prextra.ca"])
    user = django_user_model.objects.create_user(f"A{tag}".upper(), "x", name="Marie", email=f"marie.{tag}@prextra.ca")
    ExchangeProfile.objects.create(user=user, sync_contacts_in=True)
    graph_emulator.store.create_contact(graph_emulator.mailbox(box["id"]), {"givenName": "Luc", "surname": "Roy"})

    run = sync_contacts(user, client=graph_client)

    assert run.result == SyncRun.Result.SUCCESS and run.skipped == 1  # the contact without email: read
    assert _profile(user).mailbox_id == box["id"]


def test_no_mailbox_with_that_address_is_said_on_the_run_and_the_status_screen(
    client, admin_user, graph_client, mailbox_user
):
    mailbox_user.email = f"personne.{uuid.uuid4().hex[:6]}@prextra-demo.ca"
    mailbox_user.save()

    run = sync_contacts(mailbox_user, client=graph_client)

    expected = f"Aucune boîte aux lettres Microsoft 365 n'a l'adresse {mailbox_user.email}"
    assert run.result == SyncRun.Result.FAILED and expected in run.error
    state = SyncState.objects.get(user=mailbox_user, direction=Direction.CONTACTS_IN)
    assert state.not_before is not None and expected in state.last_error
    client.force_login(admin_user)
    assert escape(expected) in client.get(reverse("sync_status")).content.decode()


def test_the_resolved_id_is_stored_and_reused(graph_client, mailbox_user, outlook, graph_emulator):
    since = graph_emulator.log.next_index()
    sync_contacts(mailbox_user, client=graph_client)
    assert len(_directory_queries(graph_emulator, since)) == 1  # found by `mail eq`
    since = graph_emulator.log.next_index()
    sync_contacts(mailbox_user, client=graph_client, trigger=SyncRun.Trigger.MANUAL)
    sync_activities(mailbox_user, client=graph_client, trigger=SyncRun.Trigger.MANUAL)
    assert _directory_queries(graph_emulator, since) == []
    paths = [e["path"] for e in graph_emulator.requests_log(since) if e["kind"] == "graph"]
    assert paths and all(f"/users/{outlook.mailbox.id}/" in path for path in paths if path != "/v1.0/$batch")


def test_a_changed_email_is_resolved_again(graph_client, mailbox_user, graph_emulator):
    sync_contacts(mailbox_user, client=graph_client)
    other = graph_emulator.add_mailbox(f"nouvelle.{uuid.uuid4().hex[:6]}@prextra-demo.ca")
    payload = {"givenName": "Ève", "surname": "Roy", "emailAddresses": [{"address": "eve.roy@finloc.com"}]}
    contact_id = graph_emulator.store.create_contact(graph_emulator.mailbox(other["id"]), payload)["graph"]["id"]
    mailbox_user.email = other["address"]
    mailbox_user.save()
    since = graph_emulator.log.next_index()

    run = sync_contacts(mailbox_user, client=graph_client, trigger=SyncRun.Trigger.MANUAL)

    assert run.result == SyncRun.Result.SUCCESS and len(_directory_queries(graph_emulator, since)) == 1
    # The new mailbox is read from its start, not through the old mailbox's delta link.
    assert Contact.objects.filter(outlook_items__mailbox=mailbox_user, outlook_items__outlook_id=contact_id).exists()
    profile = _profile(mailbox_user)
    assert (profile.mailbox_id, profile.mailbox_address) == (other["id"], other["address"])


def test_an_id_graph_no_longer_knows_is_resolved_again(graph_client, mailbox_user, outlook, graph_emulator):
    sync_contacts(mailbox_user, client=graph_client)
    graph_emulator.store.remove_mailbox(outlook.mailbox)  # the user deleted and created again
    graph_emulator.add_mailbox(mailbox_user.email)
    contact_id = outlook.add_contact("Julie", "Roy", "julie.roy@finloc.com")

    run = sync_contacts(mailbox_user, client=graph_client, trigger=SyncRun.Trigger.MANUAL)

    assert run.result == SyncRun.Result.SUCCESS, run.error
    assert Contact.objects.filter(outlook_items__mailbox=mailbox_user, outlook_items__outlook_id=contact_id).exists()
    assert _profile(mailbox_user).mailbox_id == outlook.mailbox.id


def test_the_journal_resync_resolves_an_id_graph_no_longer_knows(graph_client, mailbox_user, outlook, graph_emulator):
    sync_contacts(mailbox_user, client=graph_client)
    graph_emulator.store.remove_mailbox(outlook.mailbox)  # the user deleted and created again
    graph_emulator.add_mailbox(mailbox_user.email)
    contact_id = outlook.add_contact("Julie", "Roy", "julie.roy@finloc.com")

    resync_contact(mailbox_user, contact_id)

    assert Contact.objects.filter(
        outlook_items__mailbox=mailbox_user, outlook_items__outlook_id=contact_id, is_active=True
    ).exists()
    assert _profile(mailbox_user).mailbox_id == outlook.mailbox.id


# --- consent ------------------------------------------------------------------------------------


@pytest.fixture
def consented(graph_emulator):
    """Set the app's consented permissions for this test; new tokens carry them."""

    def consent(roles):
        graph_emulator.set_roles(roles)
        forget_apps()  # msal caches the token of the process: the next client gets a new one

    yield consent
    graph_emulator.set_roles(ROLES)
    forget_apps()


def _token_requests(emulator, since: int) -> int:
    return sum(1 for e in emulator.requests_log(since) if e["kind"] == "identity" and e["path"].endswith("/token"))


def _client(connection) -> GraphClient:
    return GraphClient(GraphSettings.from_connection(connection), sleep=lambda seconds: None)


def test_without_admin_consent_the_sync_says_so_once_without_refreshing(
    consented, connection, mailbox_user, graph_emulator
):
    consented([])
    since = graph_emulator.log.next_index()

    run = sync_contacts(mailbox_user, client=_client(connection))

    assert run.result == SyncRun.Result.FAILED
    assert "Accordez la permission d'application Contacts.Read, Calendars.ReadWrite, User.Read.All" in run.error
    assert _token_requests(graph_emulator, since) == 1  # no refresh: a new token would hold no more
    assert len([e for e in graph_emulator.requests_log(since) if e["kind"] == "graph"]) == 1
    state = SyncState.objects.get(user=mailbox_user, direction=Direction.CONTACTS_IN)
    assert state.not_before >= state.last_attempt_at + timedelta(minutes=5)  # a permanent failure's backoff


def test_a_token_without_calendars_readwrite_names_it_for_the_calendar(
    consented, connection, mailbox_user, outlook, graph_emulator
):
    consented(["Contacts.Read", "User.Read.All"])
    outlook.add_event("Rencontre Finloc")
    client = _client(connection)

    contacts = sync_contacts(mailbox_user, client=client)
    runs = _by_direction(sync_activities(mailbox_user, client=client))

    assert contacts.result == SyncRun.Result.SUCCESS
    pull = runs[Direction.ACTIVITIES_IN]
    assert pull.result == SyncRun.Result.FAILED
    assert "Accordez la permission d'application Calendars.ReadWrite" in pull.error
    assert not Activity.objects.filter(owner=mailbox_user).exists()


def test_a_push_without_calendars_readwrite_fails_the_run_once_not_each_item(
    consented, connection, mailbox_user, outlook
):
    consented(["Contacts.Read", "Calendars.Read", "User.Read.All"])
    start = datetime(2026, 12, 3, 14, tzinfo=UTC)
    for number in range(3):
        Activity.objects.create(
            owner=mailbox_user, subject=f"Visite {number}", start=start, end=start + timedelta(hours=1)
        )

    runs = _by_direction(sync_activities(mailbox_user, client=_client(connection)))

    push = runs[Direction.ACTIVITIES_OUT]
    assert push.result == SyncRun.Result.FAILED and push.failed == 0
    assert "Calendars.ReadWrite" in push.error
    assert Activity.objects.filter(owner=mailbox_user, needs_push=True).count() == 3
    assert not outlook.mailbox.events


def test_without_user_read_all_the_mailbox_cannot_be_found_and_it_is_said(consented, connection, mailbox_user):
    consented(["Contacts.Read", "Calendars.ReadWrite"])

    run = sync_contacts(mailbox_user, client=_client(connection))

    assert run.result == SyncRun.Result.FAILED
    assert "Accordez la permission d'application User.Read.All" in run.error


def test_a_mailbox_gone_during_a_push_deletes_nothing_and_says_why(graph_client, mailbox_user, outlook, graph_emulator):
    start = datetime(2026, 12, 3, 14, tzinfo=UTC)
    activity = Activity.objects.create(
        owner=mailbox_user, subject="Visite", start=start, end=start + timedelta(hours=1)
    )
    sync_activities(mailbox_user, client=graph_client)
    activity.refresh_from_db()
    activity.subject = "Visite déplacée"
    activity.save()
    graph_emulator.store.remove_mailbox(outlook.mailbox)

    push = _by_direction(sync_activities(mailbox_user, client=graph_client))[Direction.ACTIVITIES_OUT]

    # The batch's 404 ErrorInvalidUser is about the mailbox, not "deleted in Outlook".
    assert push.result == SyncRun.Result.FAILED and "Aucune boîte aux lettres Microsoft 365" in push.error
    activity.refresh_from_db()
    assert not activity.is_deleted and activity.outlook_id and activity.needs_push
