"""Outlook → Prextra contact synchronization against the Graph emulator over HTTPS (R4–R9)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import Setting
from crm.models import EXCHANGE_GROUP_CODE, Contact, Customer, EmailDomain, Prospect, Supplier
from exchange.models import JournalEntry, SyncRun, SyncState
from exchange.reasons import describe
from exchange.scheduling import due_syncs
from exchange.sync.contacts import confirm_pending_deletions, sync_contacts
from exchange.sync.locks import SyncBusy
from exchange.sync.rounds import release_brake
from exchange.sync.runs import in_flight, locked, state_for
from tests.exchange.outlook_items import contact_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def finloc(db):
    customer = Customer.objects.create(code="C1", name="Finloc inc.")
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    return customer


def _sync(user, client):
    run = sync_contacts(user, client=client)
    assert run is not None
    return run


def _contact(outlook_id: str) -> Contact:
    return contact_of(outlook_id)


def test_first_sync_creates_contacts_linked_by_domain_R8(connection, graph_client, mailbox_user, outlook, finloc):
    outlook_id = outlook.add_contact("Luc", "Roy", "Luc.Roy@FINLOC.com", jobTitle="Acheteur")
    run = _sync(mailbox_user, graph_client)
    contact = _contact(outlook_id)
    assert (run.result, run.created) == (SyncRun.Result.SUCCESS, 1)
    assert contact.customer == finloc
    assert (contact.email, contact.title, contact.source) == ("Luc.Roy@finloc.com", "Acheteur", "exchange")
    entry = JournalEntry.objects.get(contact=contact)
    assert describe(entry.reasons) == "Associé par le domaine finloc.com → client « Finloc inc. »."


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"first": "", "last": "Roy"}, "Ignoré : pas de prénom."),
        ({"first": "Luc", "last": "  "}, "Ignoré : pas de nom."),
        ({"email": None}, "Ignoré : pas de courriel."),
        ({"email": "pas-une-adresse"}, "Ignoré : adresse courriel invalide (pas-une-adresse)."),
    ],
)
def test_contact_without_first_name_last_name_or_email_is_skipped_with_its_reason_R7(
    connection, graph_client, mailbox_user, outlook, payload, reason
):
    skipped_id = outlook.add_contact(**payload)
    kept_id = outlook.add_contact("Ève", "Côté", "eve@exemple.ca")
    run = _sync(mailbox_user, graph_client)
    assert (run.created, run.skipped) == (1, 1)
    assert not Contact.objects.filter(outlook_items__outlook_id=skipped_id).exists()
    assert Contact.objects.filter(outlook_items__outlook_id=kept_id).exists()
    assert describe(JournalEntry.objects.get(outlook_id=skipped_id, action="skipped").reasons) == reason


def test_customer_then_prospect_then_supplier_R8(connection, graph_client, mailbox_user, outlook):
    customer = Customer.objects.create(code="C1", name="Client")
    prospect = Prospect.objects.create(code="P1", name="Prospect")
    supplier = Supplier.objects.create(code="F1", name="Fournisseur")
    EmailDomain.objects.create(domain="tous.ca", customer=customer)
    EmailDomain.objects.create(domain="tous.ca", prospect=prospect)
    EmailDomain.objects.create(domain="deux.ca", prospect=prospect)
    EmailDomain.objects.create(domain="deux.ca", supplier=supplier)
    EmailDomain.objects.create(domain="fourn.ca", supplier=supplier)
    ids = [outlook.add_contact("A", "A", f"a@{domain}") for domain in ("tous.ca", "deux.ca", "fourn.ca")]
    _sync(mailbox_user, graph_client)
    assert [_contact(i).owner for i in ids] == [customer, prospect, supplier]


def test_unmatched_domain_goes_to_the_exchange_group_R9(connection, graph_client, mailbox_user, outlook, finloc):
    outlook_id = outlook.add_contact("Nadia", "Ouellet", "nadia@inconnue.qc.ca")
    _sync(mailbox_user, graph_client)
    contact = _contact(outlook_id)
    assert contact.group.code == EXCHANGE_GROUP_CODE
    assert not contact.needs_review


def test_free_mail_domains_never_link_to_a_company(connection, graph_client, mailbox_user, outlook):
    customer = Customer.objects.create(code="C9", name="Vidéotron client")
    EmailDomain.objects.create(domain="videotron.ca", customer=customer)
    outlook_id = outlook.add_contact("Paul", "Roy", "paul@videotron.ca")
    _sync(mailbox_user, graph_client)
    assert _contact(outlook_id).group.code == EXCHANGE_GROUP_CODE


def test_free_mail_list_is_editable(connection, graph_client, mailbox_user, outlook, finloc):
    Setting.objects.filter(key="ExchangeFreeMailDomains").update(value="finloc.com")
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@finloc.com")
    _sync(mailbox_user, graph_client)
    assert _contact(outlook_id).group.code == EXCHANGE_GROUP_CODE


def test_domain_on_two_customers_is_flagged_for_review_not_guessed(connection, graph_client, mailbox_user, outlook):
    for number in (1, 2):
        customer = Customer.objects.create(code=f"C{number}", name=f"Groupe {number}")
        EmailDomain.objects.create(domain="groupe.ca", customer=customer)
    outlook_id = outlook.add_contact("Line", "Roy", "line@groupe.ca")
    _sync(mailbox_user, graph_client)
    contact = _contact(outlook_id)
    assert contact.group.code == EXCHANGE_GROUP_CODE
    assert contact.needs_review
    assert "Groupe 1, Groupe 2" in contact.review_reason  # the sentence, in the reader's language


def test_second_run_changes_nothing_and_reads_one_delta_page(connection, graph_client, mailbox_user, outlook, finloc):
    for number in range(5):
        outlook.add_contact("Luc", f"Roy{number}", f"luc{number}@finloc.com")
    _sync(mailbox_user, graph_client)
    before = list(Contact.objects.values_list("pk", "updated_at").order_by("pk"))
    journal = JournalEntry.objects.count()
    start = len(outlook.emulator.requests_log())
    run = _sync(mailbox_user, graph_client)
    graph_calls = [entry for entry in outlook.emulator.requests_log(start) if "/v1.0/" in entry["path"]]
    assert (run.created, run.updated, run.deleted, run.skipped) == (0, 0, 0, 0)
    assert list(Contact.objects.values_list("pk", "updated_at").order_by("pk")) == before
    assert JournalEntry.objects.count() == journal
    assert [call["path"].rsplit("/", 2)[-2:] for call in graph_calls] == [["contacts", "delta"]]
    # A quiet scheduled run leaves no empty row behind (one every 30 s would fill the table).
    assert SyncRun.objects.filter(user=mailbox_user).count() == 1


def test_outlook_edit_updates_the_contact(connection, graph_client, mailbox_user, outlook, finloc):
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@finloc.com")
    _sync(mailbox_user, graph_client)
    outlook.edit_contact(outlook_id, jobTitle="Directeur", businessPhones=["418 555-0199"])
    run = _sync(mailbox_user, graph_client)
    contact = _contact(outlook_id)
    assert run.updated == 1
    assert (contact.title, contact.phone) == ("Directeur", "418 555-0199")
    entry = JournalEntry.objects.filter(contact=contact, action="updated").get()
    assert entry.changes["title"] == ["", "Directeur"]


def test_outlook_deletion_makes_the_contact_inactive_never_deleted(
    connection, graph_client, mailbox_user, outlook, finloc
):
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@finloc.com")
    _sync(mailbox_user, graph_client)
    outlook.delete_contact(outlook_id)
    run = _sync(mailbox_user, graph_client)
    contact = _contact(outlook_id)
    assert run.deleted == 1
    assert not contact.is_active
    assert JournalEntry.objects.filter(contact=contact, action="deleted").exists()


def test_email_change_relinks_the_contact(connection, graph_client, mailbox_user, outlook, finloc):
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@ailleurs.ca")
    _sync(mailbox_user, graph_client)
    assert _contact(outlook_id).group.code == EXCHANGE_GROUP_CODE
    outlook.edit_contact(outlook_id, emailAddresses=[{"address": "luc@finloc.com", "name": "Luc Roy"}])
    _sync(mailbox_user, graph_client)
    assert _contact(outlook_id).customer == finloc


def test_domain_added_later_relinks_existing_contacts(
    connection, graph_client, mailbox_user, outlook, django_capture_on_commit_callbacks
):
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@nouveau.ca")
    _sync(mailbox_user, graph_client)
    supplier = Supplier.objects.create(code="F7", name="Nouveau fournisseur")
    with django_capture_on_commit_callbacks(execute=True):
        EmailDomain.objects.create(domain="nouveau.ca", supplier=supplier)
    contact = _contact(outlook_id)
    assert contact.supplier == supplier and contact.group is None
    assert JournalEntry.objects.filter(contact=contact, action="linked").exists()


def test_contact_assigned_by_hand_keeps_its_owner(connection, graph_client, mailbox_user, outlook, finloc):
    outlook_id = outlook.add_contact("Luc", "Roy", "luc@ailleurs.ca")
    _sync(mailbox_user, graph_client)
    prospect = Prospect.objects.create(code="P5", name="Choisi à la main")
    Contact.objects.filter(outlook_items__outlook_id=outlook_id).update(
        group=None, prospect=prospect, owner_locked=True
    )
    outlook.edit_contact(outlook_id, emailAddresses=[{"address": "luc@finloc.com"}])
    _sync(mailbox_user, graph_client)
    assert _contact(outlook_id).prospect == prospect


def test_mass_deletion_waits_for_an_administrator(connection, graph_client, mailbox_user, outlook, finloc):
    ids = [outlook.add_contact("C", f"N{number}", f"c{number}@finloc.com") for number in range(30)]
    _sync(mailbox_user, graph_client)
    for outlook_id in ids[:25]:
        outlook.delete_contact(outlook_id)
    run = _sync(mailbox_user, graph_client)
    state = state_for(mailbox_user, "contacts_in")
    assert run.result == SyncRun.Result.HALTED
    assert state.pending_confirmation and len(state.pending_deletions) == 25
    assert Contact.objects.filter(is_active=True).count() == 30
    assert sync_contacts(mailbox_user, client=graph_client) is None  # paused until someone decides
    assert confirm_pending_deletions(state) == 25
    assert Contact.objects.filter(is_active=True).count() == 5
    assert _sync(mailbox_user, graph_client).result == SyncRun.Result.SUCCESS


def test_a_confirmed_mass_deletion_keeps_the_contact_of_an_item_still_in_the_mailbox(
    connection, graph_client, mailbox_user, outlook, finloc
):
    """Two Outlook items of one address share one contact (one person, one contact); the brake
    holds the items that left, so confirming the removal of one keeps the other's contact."""
    ids = [outlook.add_contact("C", f"N{number}", f"c{number}@finloc.com") for number in range(30)]
    twin = outlook.add_contact("C", "N0 bis", "c0@finloc.com")
    _sync(mailbox_user, graph_client)
    assert _contact(twin) == _contact(ids[0])
    for outlook_id in ids[:25]:
        outlook.delete_contact(outlook_id)
    assert _sync(mailbox_user, graph_client).result == SyncRun.Result.HALTED
    state = state_for(mailbox_user, "contacts_in")
    assert sorted(state.pending_deletions) == sorted(ids[:25])
    assert confirm_pending_deletions(state) == 24  # c0 stays: the twin item still holds it
    kept = _contact(twin)
    assert kept.is_active and kept.email == "c0@finloc.com"
    assert Contact.objects.filter(is_active=True).count() == 6
    assert _sync(mailbox_user, graph_client).result == SyncRun.Result.SUCCESS
    assert Contact.objects.filter(is_active=True).count() == 6


def test_rejected_mass_deletion_keeps_the_contacts(connection, graph_client, mailbox_user, outlook, finloc):
    ids = [outlook.add_contact("C", f"N{number}", f"c{number}@finloc.com") for number in range(22)]
    _sync(mailbox_user, graph_client)
    for outlook_id in ids:
        outlook.delete_contact(outlook_id)
    _sync(mailbox_user, graph_client)
    release_brake(state_for(mailbox_user, "contacts_in"))
    assert Contact.objects.filter(is_active=True).count() == 22


def test_expired_delta_link_resyncs_fully_without_duplicates(connection, graph_client, mailbox_user, outlook, finloc):
    kept = [outlook.add_contact("K", f"N{number}", f"k{number}@finloc.com") for number in range(3)]
    gone = outlook.add_contact("G", "Parti", "g@finloc.com")
    _sync(mailbox_user, graph_client)
    outlook.delete_contact(gone)
    outlook.edit_contact(kept[0], jobTitle="Nouveau titre")
    outlook.emulator.expire_delta_tokens()
    run = _sync(mailbox_user, graph_client)
    assert run.result == SyncRun.Result.SUCCESS
    assert Contact.objects.filter(representative=mailbox_user).count() == 4
    assert _contact(kept[0]).title == "Nouveau titre"
    assert not _contact(gone).is_active
    assert _sync(mailbox_user, graph_client).updated == 0


def test_a_big_mailbox_is_read_in_pages_of_200_short_pages_included(
    connection, graph_client, mailbox_user, outlook, finloc
):
    """Graph serves contacts in pages of at most 200, sometimes fewer (Q&A answers/a/2052165): the
    client asks for 200 (half the requests of pages of 100) and follows every nextLink."""
    outlook.emulator.seed(mailbox_user.email, contacts=450, seed=8)
    before = len(outlook.emulator.requests_log())
    run = _sync(mailbox_user, graph_client)
    pages = [r for r in outlook.emulator.requests_log()[before:] if r["path"].endswith("/contacts/delta")]
    assert run.result == SyncRun.Result.SUCCESS
    # Every contact read: created, or linked to the contact of an address read before (random names
    # repeat: one person, one contact), or skipped (seeded ones without an address).
    linked = JournalEntry.objects.filter(run=run, action="linked").count()
    assert run.created + linked + run.skipped == 450
    assert len(pages) == 3  # 100 (a short page), 200, 150


def test_a_long_retry_after_defers_the_run_until_then(connection, graph_client, mailbox_user, outlook, finloc):
    """A Retry-After longer than the client's cap (60 s) defers the run instead of retrying early."""
    outlook.add_contact("Luc", "Roy", "luc@finloc.com")
    outlook.emulator.inject_fault("throttle", path="/contacts/delta", retry_after=900)
    run = _sync(mailbox_user, graph_client)
    state = SyncState.objects.get(user=mailbox_user, direction="contacts_in")
    assert run.result == SyncRun.Result.FAILED and graph_client.slept == []
    assert timedelta(minutes=14) < state.not_before - timezone.now() <= timedelta(minutes=15)
    assert (mailbox_user.pk, "contacts_in") not in due_syncs()


# Every way Graph says "start the delta over" (docs/graph-notes.md §3): 410 and other 4xx.
DELTA_RESTARTS = [
    (410, "SyncStateNotFound"),
    (400, "syncStateInvalid"),
    (404, "syncStateNotFound"),
    (410, "resyncRequired"),
    (403, "syncStateNotFound"),
]


@pytest.mark.parametrize(("status", "code"), DELTA_RESTARTS)
def test_every_delta_restart_answer_starts_a_full_round_without_duplicates(
    connection, graph_client, mailbox_user, outlook, finloc, status, code
):
    kept = [outlook.add_contact("K", f"N{number}", f"k{number}@finloc.com") for number in range(3)]
    _sync(mailbox_user, graph_client)
    outlook.edit_contact(kept[1], jobTitle="Directrice")
    outlook.emulator.inject_fault("delta_expired", path="/contacts/delta", status=status, code=code)
    before = len(outlook.emulator.requests_log())
    run = _sync(mailbox_user, graph_client)
    assert run.result == SyncRun.Result.SUCCESS, run.error
    assert Contact.objects.filter(representative=mailbox_user).count() == 3
    assert _contact(kept[1]).title == "Directrice"
    served = [r for r in outlook.emulator.requests_log()[before:] if r["path"].endswith("/contacts/delta")]
    assert [r["status"] for r in served] == [status, 200]
    assert "$deltatoken" in served[0]["query"] and not served[1]["query"]
    assert _sync(mailbox_user, graph_client).updated == 0


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("throttle", {"retry_after": 2}),
        ("unavailable", {}),
        ("gateway_timeout", {}),
        ("drop", {}),
        ("revoke_tokens", {}),
        ("delta_duplicate", {}),
        ("delta_replay", {}),
    ],
)
def test_faults_during_a_sync_lose_and_duplicate_nothing(
    connection, graph_client, mailbox_user, outlook, finloc, kind, options
):
    ids = [outlook.add_contact("F", f"N{number}", f"f{number}@finloc.com") for number in range(250)]
    outlook.emulator.inject_fault(kind, method="GET", path=r"/contacts/delta", count=2, **options)
    run = _sync(mailbox_user, graph_client)
    if run.result != SyncRun.Result.SUCCESS:  # retries exhausted: the next run converges
        run = _sync(mailbox_user, graph_client)
    outlook.emulator.clear_faults()
    assert run.result == SyncRun.Result.SUCCESS
    assert Contact.objects.filter(outlook_items__mailbox=mailbox_user, is_active=True).count() == 250
    assert set(Contact.objects.values_list("outlook_items__outlook_id", flat=True)) == set(ids)
    if kind == "throttle":
        assert graph_client.slept[:2] == [2.0, 2.0]


def test_persistent_outage_is_recorded_and_retried_later(connection, graph_client, mailbox_user, outlook):
    outlook.add_contact()
    outlook.emulator.inject_fault("unavailable", method="GET", path=r"/contacts/delta", count=None)
    try:
        run = _sync(mailbox_user, graph_client)
    finally:
        outlook.emulator.clear_faults()
    state = SyncState.objects.get(user=mailbox_user, direction="contacts_in")
    assert run.result == SyncRun.Result.FAILED
    assert "temporairement indisponible" in run.error
    assert state.failed_attempts == 1 and state.not_before is not None and state.last_success_at is None
    assert state.last_attempt_at is not None and not in_flight([state])


def test_contact_sync_never_writes_to_outlook(connection, graph_client, mailbox_user, outlook, finloc):
    start = len(outlook.emulator.requests_log())
    identifier = outlook.add_contact()
    _sync(mailbox_user, graph_client)
    outlook.delete_contact(identifier)
    _sync(mailbox_user, graph_client)
    assert outlook.graph_writes(start) == [entry for entry in outlook.graph_writes(start) if "/token" in entry["path"]]


def test_hostile_outlook_values_are_cleaned_truncated_and_journaled(connection, graph_client, mailbox_user, outlook):
    hostile = "<script>alert('x')</script>\x00\x1b[31m"
    outlook_id = outlook.add_contact(hostile, "Ro\u202ey" + "é" * 300, "x@exemple.ca", jobTitle="😀" * 50_000)
    other = outlook.add_contact("Ok", "Normal", "ok@exemple.ca")
    run = _sync(mailbox_user, graph_client)
    contact = _contact(outlook_id)
    assert run.created == 2 and Contact.objects.filter(outlook_items__outlook_id=other).exists()
    assert "\x00" not in contact.first_name and "\x1b" not in contact.first_name
    assert len(contact.last_name) == 100 and len(contact.title) == 150
    assert describe(JournalEntry.objects.get(contact=contact, action="truncated").reasons).endswith("nom, titre.")


@pytest.mark.parametrize(
    "change",
    [{"is_active": False}, {"email": ""}, {"never_expires": False, "expiry_date": date(2001, 1, 1)}],
)
def test_inactive_expired_or_emailless_users_are_never_synchronized_R5(
    connection, graph_client, mailbox_user, outlook, change
):
    outlook.add_contact()
    for name, value in change.items():
        setattr(mailbox_user, name, value)
    mailbox_user.save()
    assert sync_contacts(mailbox_user, client=graph_client) is None
    assert not Contact.objects.exists()


def test_switch_off_means_no_sync_R4(connection, graph_client, mailbox_user, outlook):
    outlook.add_contact()
    mailbox_user.exchange_profile.sync_contacts_in = False
    mailbox_user.exchange_profile.save()
    assert sync_contacts(mailbox_user, client=graph_client) is None


def test_no_connection_means_no_sync(graph_client, mailbox_user, outlook):
    from exchange.models import GraphConnection

    GraphConnection.objects.all().delete()
    assert sync_contacts(mailbox_user, client=graph_client) is None


def test_two_workers_never_sync_the_same_mailbox_at_once(connection, graph_client, mailbox_user):
    with locked(state_for(mailbox_user, "contacts_in")), pytest.raises(SyncBusy):
        sync_contacts(mailbox_user, client=graph_client)
    assert not in_flight(SyncState.objects.filter(user=mailbox_user))


def _writes_during(function) -> list[str]:
    from django.db import connection as db

    writes = []

    def record(execute, sql, params, many, context):
        if sql.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(sql[:80])
        return execute(sql, params, many, context)

    with db.execute_wrapper(record):
        function()
    return writes


def test_a_quiet_scheduled_run_writes_nothing_and_its_stamp_moves_every_few_minutes_R20(
    connection, graph_client, mailbox_user, outlook, settings
):
    import time_machine
    from django.utils import timezone

    outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    _sync(mailbox_user, graph_client)
    stamp = SyncState.objects.get(user=mailbox_user, direction="contacts_in").last_success_at
    assert _writes_during(lambda: _sync(mailbox_user, graph_client)) == []
    assert SyncState.objects.get(user=mailbox_user, direction="contacts_in").last_success_at == stamp
    assert not SyncRun.objects.filter(created=0, trigger="schedule").exists()  # no empty run rows
    later = timezone.now() + timezone.timedelta(seconds=settings.PREXTRA_STAMP_REFRESH + 1)
    with time_machine.travel(later, tick=False):
        _sync(mailbox_user, graph_client)
        assert SyncState.objects.get(user=mailbox_user, direction="contacts_in").last_success_at == later


def test_a_manual_run_moves_the_stamp_even_when_nothing_changed_R20(connection, graph_client, mailbox_user, outlook):
    outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    _sync(mailbox_user, graph_client)
    stamp = SyncState.objects.get(user=mailbox_user, direction="contacts_in").last_success_at
    run = sync_contacts(mailbox_user, trigger=SyncRun.Trigger.MANUAL, client=graph_client)
    state = SyncState.objects.get(user=mailbox_user, direction="contacts_in")
    assert state.last_success_at > stamp and run.pk is not None  # the person who asked sees it happen
