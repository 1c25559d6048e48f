"""Contacts live in folders: every contact folder of the mailbox is synchronized (docs/graph-notes.md
§11: real mailboxes file contacts in subfolders).

Against the Graph emulator over HTTPS. Outlook users file contacts in subfolders of Contacts, at
any depth, and in other contact folders; Graph tracks changes per folder
(https://learn.microsoft.com/graph/api/contact-delta) and a move between folders arrives as
`@removed` in one folder and new in the other, with the same immutable id
(https://learn.microsoft.com/graph/outlook-immutable-id).
"""

from __future__ import annotations

import re

import pytest
import time_machine
from django.utils import timezone

from crm.models import Contact, Customer, EmailDomain, OutlookContact
from exchange.models import ContactFolder, JournalEntry, SyncRun, SyncState
from exchange.reasons import describe
from exchange.sync import folders
from exchange.sync.contacts import resync_contact, sync_contacts
from tests.exchange.outlook_items import contact_of, folder_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def finloc(db):
    customer = Customer.objects.create(code="C1", name="Finloc inc.")
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    return customer


def _sync(user, client, trigger=SyncRun.Trigger.SCHEDULE):
    run = sync_contacts(user, trigger=trigger, client=client)
    assert run is not None
    return run


def _later(minutes=6):
    return time_machine.travel(timezone.now() + timezone.timedelta(minutes=minutes), tick=False)


def test_contacts_of_a_nested_subfolder_and_of_another_top_level_folder_are_synchronized(
    connection, graph_client, mailbox_user, outlook, finloc
):
    clients = outlook.add_folder("Clients")
    deep = outlook.add_folder("Chantiers 2026", parent=outlook.add_folder("Québec", parent=clients))
    personal = outlook.add_folder("Carnet", parent="root")  # beside Contacts, as Outlook desktop allows
    ids = [
        outlook.add_contact("Ana", "Défaut", "ana@finloc.com"),
        outlook.add_contact("Léa", "Profonde", "lea@finloc.com", folder=deep),
        outlook.add_contact("Max", "Carnet", "max@finloc.com", folder=personal),
    ]
    run = _sync(mailbox_user, graph_client)
    assert (run.result, run.created) == (SyncRun.Result.SUCCESS, 3)
    links = {link.outlook_id: link for link in OutlookContact.objects.filter(mailbox=mailbox_user)}
    assert set(links) == set(ids)
    assert links[ids[1]].folder_id == deep and links[ids[1]].contact.customer == finloc
    assert ContactFolder.objects.filter(user=mailbox_user).count() == 5
    outlook.edit_contact(ids[1], jobTitle="Chargée de projet")
    assert _sync(mailbox_user, graph_client).updated == 1
    assert contact_of(ids[1]).title == "Chargée de projet"


@pytest.mark.parametrize("direction", ["out of Contacts", "into Contacts"])
def test_a_move_between_folders_keeps_the_same_prextra_contact_active_without_duplicate(
    connection, graph_client, mailbox_user, outlook, finloc, direction
):
    """Contacts is read first: out of it, the @removed comes before the add; into it, after."""
    sub = outlook.add_folder("Fournisseurs")
    default = outlook.mailbox.default_folder_id
    source, target = (default, sub) if direction == "out of Contacts" else (sub, default)
    moved = outlook.add_contact("Paul", "Mobile", "paul@finloc.com", folder=source)
    _sync(mailbox_user, graph_client)
    before = contact_of(moved)
    outlook.move_contact(moved, target)
    run = _sync(mailbox_user, graph_client)
    after = contact_of(moved)  # one row: no duplicate
    assert (after.pk, after.is_active, folder_of(moved)) == (before.pk, True, target)
    assert (run.deleted, run.created) == (0, 0)
    entry = JournalEntry.objects.filter(contact=after).latest("pk")
    assert describe(entry.reasons).startswith("Déplacé dans Outlook vers le dossier")
    assert not JournalEntry.objects.filter(contact=after, action=JournalEntry.Action.DELETED).exists()
    assert _sync(mailbox_user, graph_client).updated == 0


def test_a_late_removed_from_the_folder_a_contact_left_changes_nothing(
    connection, graph_client, mailbox_user, outlook, finloc
):
    """The @removed of the old folder may come again on a later run (delta replays,
    docs/graph-notes.md §3), after the contact was refiled: Prextra files it elsewhere now, so it stays active."""
    target = outlook.add_folder("Fournisseurs")
    moved = outlook.add_contact("Paul", "Mobile", "paul@finloc.com")
    _sync(mailbox_user, graph_client)
    outlook.move_contact(moved, target)
    default = re.escape(outlook.mailbox.default_folder_id)
    outlook.emulator.inject_fault("delta_replay", path=default)  # the next round replays this one
    _sync(mailbox_user, graph_client)
    assert outlook.emulator.faults.listing() == []  # the replay was served
    replayed = _sync(mailbox_user, graph_client)
    assert replayed.deleted == 0 and contact_of(moved).is_active


def test_a_move_into_a_folder_created_since_the_last_listing_is_still_a_move(
    connection, graph_client, mailbox_user, outlook, finloc
):
    moved = outlook.add_contact("Zoé", "Nomade", "zoe@finloc.com")
    _sync(mailbox_user, graph_client)
    outlook.move_contact(moved, outlook.add_folder("Nouveau dossier"))
    run = _sync(mailbox_user, graph_client)  # scheduled, well within the listing interval
    assert (run.deleted, contact_of(moved).is_active) == (0, True)


def test_a_new_folder_is_picked_up_on_the_next_listing_and_an_idle_run_stays_one_request(
    connection, graph_client, mailbox_user, outlook, finloc
):
    outlook.add_contact("Ana", "Défaut", "ana@finloc.com")
    _sync(mailbox_user, graph_client)
    new = outlook.add_contact("Noé", "Nouveau", "noe@finloc.com", folder=outlook.add_folder("Salon 2026"))
    start = len(outlook.emulator.requests_log())
    assert _sync(mailbox_user, graph_client).created == 0  # idle cycle: the known folders only
    assert len([e for e in outlook.emulator.requests_log(start) if "/v1.0/" in e["path"]]) == 1
    with _later(folders.LIST_EVERY.seconds // 60 + 1):
        assert _sync(mailbox_user, graph_client).created == 1
    assert contact_of(new).is_active
    manual = outlook.add_contact("Eva", "Vite", "eva@finloc.com", folder=outlook.add_folder("Autre"))
    assert _sync(mailbox_user, graph_client, SyncRun.Trigger.MANUAL).created == 1  # a person asked: at once
    assert Contact.objects.filter(outlook_items__outlook_id=manual).exists()


def test_with_notifications_on_the_folders_are_listed_hourly(
    connection, graph_client, mailbox_user, outlook, finloc, settings
):
    """A healthy mailbox is read every 5 minutes by the safety poll: listing its folders at each
    read would triple its cost (exchange/sync/folders.py, LIST_EVERY_NOTIFIED)."""
    settings.PREXTRA_PUBLIC_URL = "https://prextra.example.com"
    _sync(mailbox_user, graph_client)
    new = outlook.add_contact("Noé", "Horaire", "noe.horaire@finloc.com", folder=outlook.add_folder("Salon 2027"))
    with _later(folders.LIST_EVERY.seconds // 60 + 1):
        assert _sync(mailbox_user, graph_client).created == 0
    with _later(folders.LIST_EVERY_NOTIFIED.seconds // 60 + 1):
        assert _sync(mailbox_user, graph_client).created == 1
    assert contact_of(new).is_active


def test_a_deleted_folder_deactivates_its_contacts(connection, graph_client, mailbox_user, outlook, finloc):
    kept = [outlook.add_contact("K", f"N{n}", f"k{n}@finloc.com") for n in range(3)]
    old = outlook.add_folder("Anciens clients")
    gone = [outlook.add_contact("G", f"N{n}", f"g{n}@finloc.com", folder=old) for n in range(2)]
    _sync(mailbox_user, graph_client)
    outlook.delete_folder(old)
    run = _sync(mailbox_user, graph_client)
    assert (run.result, run.deleted) == (SyncRun.Result.SUCCESS, 2)
    assert not Contact.objects.filter(outlook_items__outlook_id__in=gone, is_active=True).exists()
    assert Contact.objects.filter(outlook_items__outlook_id__in=kept, is_active=True).count() == 3
    assert not ContactFolder.objects.filter(user=mailbox_user, folder_id=old).exists()
    assert _sync(mailbox_user, graph_client).deleted == 0


def test_a_folder_deleted_in_outlook_goes_to_deleted_items_and_its_contacts_are_deactivated(
    connection, graph_client, mailbox_user, outlook, finloc
):
    """Outlook moves a deleted folder to Deleted Items: its delta still answers, its contacts keep
    their ids; the listing no longer has it among the contact folders, so they left Outlook's contacts."""
    kept = outlook.add_contact("K", "Reste", "k@finloc.com")
    old = outlook.add_folder("Anciens")
    gone = outlook.add_contact("G", "Corbeille", "g@finloc.com", folder=old)
    elsewhere = outlook.add_folder("Rangé")
    moved_folder = outlook.add_contact("R", "Rangé", "r@finloc.com", folder=elsewhere)
    _sync(mailbox_user, graph_client)
    outlook.move_folder(old, "deleteditems")
    outlook.move_folder(elsewhere, "root")  # a folder moved, not deleted: its contacts stay
    with _later():
        run = _sync(mailbox_user, graph_client)
    assert (run.result, run.deleted) == (SyncRun.Result.SUCCESS, 1)
    assert not contact_of(gone).is_active
    assert Contact.objects.filter(outlook_items__outlook_id__in=[kept, moved_folder], is_active=True).count() == 2


def test_deleting_a_big_folder_waits_for_an_administrator(connection, graph_client, mailbox_user, outlook, finloc):
    outlook.add_contact("K", "Seul", "k@finloc.com")
    big = outlook.add_folder("Importés")
    for number in range(25):
        outlook.add_contact("I", f"N{number}", f"i{number}@finloc.com", folder=big)
    _sync(mailbox_user, graph_client)
    outlook.delete_folder(big)
    run = _sync(mailbox_user, graph_client)
    state = SyncState.objects.get(user=mailbox_user, direction="contacts_in")
    assert run.result == SyncRun.Result.HALTED and len(state.pending_deletions) == 25
    assert Contact.objects.filter(is_active=True).count() == 26


def test_an_expired_folder_link_reads_that_folder_in_full_without_duplicates(
    connection, graph_client, mailbox_user, outlook, finloc
):
    sub = outlook.add_folder("Clients")
    kept = outlook.add_contact("K", "Reste", "k@finloc.com", folder=sub)
    gone = outlook.add_contact("G", "Parti", "g@finloc.com", folder=sub)
    other = outlook.add_contact("A", "Défaut", "a@finloc.com")
    _sync(mailbox_user, graph_client)
    outlook.delete_contact(gone)
    outlook.emulator.expire_delta_tokens()
    run = _sync(mailbox_user, graph_client)
    assert run.result == SyncRun.Result.SUCCESS and run.created == 0
    assert Contact.objects.filter(representative=mailbox_user).count() == 3
    assert not contact_of(gone).is_active
    assert Contact.objects.filter(outlook_items__outlook_id__in=[kept, other], is_active=True).count() == 2


def test_contacts_synchronized_before_folders_are_refiled_silently(
    connection, graph_client, mailbox_user, outlook, finloc
):
    """The upgrade: contacts with no folder yet and no folder cursor; nothing is created, changed
    or deactivated, and the journal stays quiet."""
    ids = [outlook.add_contact("L", f"N{n}", f"l{n}@finloc.com") for n in range(3)]
    _sync(mailbox_user, graph_client)
    OutlookContact.objects.update(folder_id="")
    ContactFolder.objects.all().delete()
    journal = JournalEntry.objects.count()
    run = _sync(mailbox_user, graph_client)
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)
    default = outlook.mailbox.default_folder_id
    assert set(OutlookContact.objects.filter(outlook_id__in=ids).values_list("folder_id", flat=True)) == {default}
    assert JournalEntry.objects.count() == journal


def test_resync_reads_a_contact_of_a_subfolder(connection, graph_client, mailbox_user, outlook, finloc):
    """GET /users/{id}/contacts/{id} reads a contact of any folder (microsoft-graph-docs PR 781)."""
    deep = outlook.add_folder("Profond", parent=outlook.add_folder("Clients"))
    outlook_id = outlook.add_contact("Léo", "Caché", "leo@finloc.com", folder=deep)
    _sync(mailbox_user, graph_client)
    outlook.edit_contact(outlook_id, jobTitle="Directeur")
    assert resync_contact(mailbox_user, outlook_id).startswith("Modifié dans Outlook.")
    contact = contact_of(outlook_id)
    assert (contact.title, folder_of(outlook_id), contact.is_active) == ("Directeur", deep, True)
