"""One person, one contact: the same address in several mailboxes, or already in Prextra, is one
Prextra contact with one link per mailbox's Outlook item; the latest Outlook change wins; a
contact becomes inactive only when no mailbox holds it any more."""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.urls import reverse

from accounts.models import ExchangeProfile
from crm.models import EXCHANGE_GROUP_CODE, Contact, ContactGroup, Customer, EmailDomain, OutlookContact
from exchange.models import JournalEntry
from exchange.reasons import describe
from exchange.sync.contacts import sync_contacts
from tests.exchange.conftest import Outlook


@pytest.fixture
def finloc(db):
    customer = Customer.objects.create(code="C0001", name="Finloc inc.")
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    return customer


@pytest.fixture
def mailboxes(django_user_model, graph_emulator):
    """Three sales representatives, each with a mailbox and the contacts switch on."""
    people = []
    for name in ("Marie Tremblay", "Jean Roy", "Julie Fortin"):
        address = f"u{uuid.uuid4().hex[:10]}@prextra-demo.ca"
        graph_emulator.add_mailbox(address)
        user = django_user_model.objects.create_user(f"U{uuid.uuid4().hex[:8]}".upper(), "x", name=name, email=address)
        ExchangeProfile.objects.create(user=user, sync_contacts_in=True)
        people.append((user, Outlook(graph_emulator, address)))
    return people


def _sync(user, client):
    run = sync_contacts(user, client=client)
    assert run.error == "", run.error
    return run


def _active(address: str) -> list[Contact]:
    return list(Contact.objects.filter(email__iexact=address, is_active=True))


def test_three_mailboxes_and_a_prextra_contact_give_one_contact_per_address(
    connection, graph_client, mailboxes, finloc
):
    exchange = ContactGroup.objects.get(code=EXCHANGE_GROUP_CODE)
    ana = Contact.objects.create(first_name="Ana", last_name="Lima", email="ana@lima.ca", group=exchange)
    items = {}
    for (user, outlook), extra in zip(mailboxes, ("marc@ailleurs.ca", None, None), strict=True):
        items[user.pk] = [
            outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com"),
            outlook.add_contact("Ana", "Lima", "ANA@lima.ca"),
        ]
        if extra:
            outlook.add_contact("Marc", "Seul", extra)
    for user, _outlook in mailboxes:
        _sync(user, graph_client)
    (eric,) = _active("eric.lavoie@finloc.com")
    assert eric.customer == finloc and eric.outlook_items.count() == 3  # R8, one contact, three links
    assert _active("ana@lima.ca") == [ana]  # Prextra had her first: linked, not duplicated
    ana.refresh_from_db()
    assert ana.group == exchange and ana.source == Contact.Source.MANUAL and ana.outlook_items.count() == 3
    assert Contact.objects.count() == 3
    link = JournalEntry.objects.filter(action="linked", contact=ana).first()
    assert describe(link.reasons).lower() == "associé au contact existant ana lima par ana@lima.ca."
    for user, _outlook in mailboxes:  # a second round changes nothing
        assert _sync(user, graph_client).created == 0


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=str)
def test_any_order_of_syncs_leaves_nothing_duplicated(connection, graph_client, mailboxes, finloc, order):
    for _user, outlook in mailboxes:
        outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    for index in order:
        _sync(mailboxes[index][0], graph_client)
    assert len(_active("eric.lavoie@finloc.com")) == 1 and OutlookContact.objects.count() == 3


def test_a_deletion_in_one_mailbox_keeps_the_contact_while_others_hold_it(connection, graph_client, mailboxes, finloc):
    ids = [outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com") for _user, outlook in mailboxes]
    for user, _outlook in mailboxes:
        _sync(user, graph_client)
    (eric,) = _active("eric.lavoie@finloc.com")
    for (user, outlook), outlook_id in list(zip(mailboxes, ids, strict=True))[:2]:
        outlook.delete_contact(outlook_id)
        run = _sync(user, graph_client)
        assert run.deleted == 0
        eric.refresh_from_db()
        assert eric.is_active
    assert eric.outlook_items.count() == 1
    assert JournalEntry.objects.filter(action="unlinked", contact=eric).count() == 2
    user, outlook = mailboxes[2]
    outlook.delete_contact(ids[2])
    assert _sync(user, graph_client).deleted == 1  # the last one: now nobody has it
    eric.refresh_from_db()
    assert not eric.is_active and not eric.outlook_items.exists()


def test_a_prextra_contact_stays_active_when_outlook_lets_it_go(connection, graph_client, mailboxes, finloc):
    ana = Contact.objects.create(first_name="Ana", last_name="Lima", email="ana@lima.ca", customer=finloc)
    user, outlook = mailboxes[0]
    outlook_id = outlook.add_contact("Ana", "Lima", "ana@lima.ca")
    _sync(user, graph_client)
    outlook.delete_contact(outlook_id)
    _sync(user, graph_client)
    ana.refresh_from_db()
    assert ana.is_active and ana.customer == finloc and not ana.outlook_items.exists()


def test_the_latest_outlook_change_wins_and_the_older_one_is_kept_in_the_journal(
    connection, graph_client, mailboxes, finloc
):
    (first, first_outlook), (second, second_outlook), _third = mailboxes
    a = first_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    b = second_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    _sync(first, graph_client)
    _sync(second, graph_client)
    first_outlook.edit_contact(a, jobTitle="Président")  # older
    second_outlook.edit_contact(b, jobTitle="Directeur général")  # latest
    _sync(second, graph_client)
    _sync(first, graph_client)  # arrives last, but is older: it does not win
    (eric,) = _active("eric.lavoie@finloc.com")
    assert eric.title == "Directeur général"
    conflict = JournalEntry.objects.get(action="conflict", contact=eric)
    assert conflict.changes == {"title": ["Directeur général", "Président"]}


def test_an_address_changed_in_one_mailbox_moves_only_that_link(connection, graph_client, mailboxes, finloc):
    (first, first_outlook), (second, second_outlook), _third = mailboxes
    a = first_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    second_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    _sync(first, graph_client)
    _sync(second, graph_client)
    (eric,) = _active("eric.lavoie@finloc.com")
    first_outlook.edit_contact(a, emailAddresses=[{"address": "eric@lavoie-transport.ca"}])
    _sync(first, graph_client)
    eric.refresh_from_db()
    assert eric.is_active and eric.email == "eric.lavoie@finloc.com" and eric.outlook_items.count() == 1
    (moved,) = _active("eric@lavoie-transport.ca")
    assert moved.pk != eric.pk and moved.outlook_items.get().mailbox == first


def test_a_user_whose_contacts_switch_goes_off_drops_only_what_nobody_else_holds(
    connection, graph_client, mailboxes, finloc, django_capture_on_commit_callbacks
):
    (first, first_outlook), (second, second_outlook), _third = mailboxes
    first_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    first_outlook.add_contact("Marc", "Seul", "marc@finloc.com")
    second_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    _sync(first, graph_client)
    _sync(second, graph_client)
    profile = ExchangeProfile.objects.get(user=first)
    profile.sync_contacts_in = False
    with django_capture_on_commit_callbacks(execute=True):
        profile.save()
    assert len(_active("eric.lavoie@finloc.com")) == 1  # Jean still has him
    assert _active("marc@finloc.com") == []  # only Marie had him
    assert not OutlookContact.objects.filter(mailbox=first).exists()


def test_a_deactivated_user_drops_their_links_from_the_user_screen(
    connection, graph_client, mailboxes, finloc, client, admin_user, django_capture_on_commit_callbacks
):
    (first, first_outlook), (second, second_outlook), _third = mailboxes
    first_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    first_outlook.add_contact("Marc", "Seul", "marc@finloc.com")
    second_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    _sync(first, graph_client)
    _sync(second, graph_client)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("user_deactivate", args=[first.pk]))
    assert len(_active("eric.lavoie@finloc.com")) == 1 and _active("marc@finloc.com") == []
    assert not OutlookContact.objects.filter(mailbox=first).exists()
    reasons = {describe(entry.reasons) for entry in JournalEntry.objects.filter(action="deleted")}
    assert reasons == {"Utilisateur désactivé : ses contacts Outlook ne sont plus synchronisés."}


def test_a_deletion_keeps_the_link_of_another_item_of_the_mailbox_with_that_address(
    connection, graph_client, mailboxes, finloc
):
    """Two items of one Outlook share an address (one contact, two links of that mailbox): the
    deletion of one removes its link only, and the contact stays with the other."""
    (user, outlook), _second, _third = mailboxes
    gone = outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    kept = outlook.add_contact("Eric", "Lavoie", "Eric.Lavoie@finloc.com")
    _sync(user, graph_client)
    (eric,) = _active("eric.lavoie@finloc.com")
    outlook.delete_contact(gone)
    assert _sync(user, graph_client).deleted == 0
    assert _active("eric.lavoie@finloc.com") == [eric]
    assert list(eric.outlook_items.values_list("outlook_id", flat=True)) == [kept]


def test_an_address_changed_in_place_frees_it_for_a_new_item_of_the_same_run(
    connection, graph_client, mailboxes, finloc
):
    """The contact's address changes in place while a new item of the same page takes the old
    address: the new item gets its own contact (the update is written before the insert)."""
    (user, outlook), _second, _third = mailboxes
    moved = outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    _sync(user, graph_client)
    (eric,) = _active("eric.lavoie@finloc.com")
    outlook.edit_contact(moved, emailAddresses=[{"address": "eric@lavoie-transport.ca"}])
    new = outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    run = _sync(user, graph_client)
    assert run.failed == 0
    assert OutlookContact.objects.get(outlook_id=moved).contact == eric
    eric.refresh_from_db()
    assert eric.email == "eric@lavoie-transport.ca"
    (other,) = _active("eric.lavoie@finloc.com")
    assert OutlookContact.objects.get(outlook_id=new).contact == other != eric


def test_an_address_changed_in_place_follows_even_when_another_mailbox_changed_the_contact_later(
    connection, graph_client, mailboxes, finloc
):
    """The address changed in the last mailbox holding the contact, before a colleague's later
    edit (since removed) won: the address still follows the item (it is its own contact); the
    colleague's values stay, the older ones are journaled as a conflict."""
    (first, first_outlook), (second, second_outlook), _third = mailboxes
    a = first_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com", jobTitle="Président")
    b = second_outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    _sync(first, graph_client)
    _sync(second, graph_client)
    first_outlook.edit_contact(a, emailAddresses=[{"address": "eric@lavoie-transport.ca"}], jobTitle="Vendeur")
    second_outlook.edit_contact(b, jobTitle="Directeur général")  # later
    _sync(second, graph_client)
    second_outlook.delete_contact(b)
    _sync(second, graph_client)
    _sync(first, graph_client)
    (eric,) = _active("eric@lavoie-transport.ca")
    assert OutlookContact.objects.get(outlook_id=a).contact == eric
    assert eric.title == "Directeur général" and _active("eric.lavoie@finloc.com") == []
    conflict = JournalEntry.objects.get(action="conflict", contact=eric)
    assert conflict.changes == {"title": ["Directeur général", "Vendeur"]}


def test_an_edit_in_outlook_journals_no_address_change(connection, graph_client, mailboxes, finloc):
    """A title edited in Outlook is an update of the same contact, never « Adresse changée »."""
    (user, outlook), _second, _third = mailboxes
    item = outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    _sync(user, graph_client)
    outlook.edit_contact(item, jobTitle="Président")
    assert _sync(user, graph_client).updated == 1
    (eric,) = _active("eric.lavoie@finloc.com")
    assert eric.title == "Président"
    assert not JournalEntry.objects.filter(action="unlinked").exists()


def test_an_address_taken_earlier_in_the_run_is_not_changed_in_place(connection, graph_client, mailboxes, finloc):
    """An item moves to Eric's address, then (same run) Eric's own item changes its address: Eric
    is now held by the first item, so the second gets a contact of its own and Eric keeps his
    address."""
    (user, outlook), _second, _third = mailboxes
    eric_item = outlook.add_contact("Eric", "Lavoie", "eric.lavoie@finloc.com")
    outlook.add_contact("Marc", "Roy", "marc.roy@finloc.com")
    mover = outlook.add_contact("Marc", "Roy", "marc.roy@finloc.com")
    _sync(user, graph_client)
    (eric,) = _active("eric.lavoie@finloc.com")
    outlook.edit_contact(mover, emailAddresses=[{"address": "eric.lavoie@finloc.com"}])
    outlook.edit_contact(eric_item, emailAddresses=[{"address": "eric@lavoie-transport.ca"}])
    _sync(user, graph_client)
    eric.refresh_from_db()
    assert eric.email == "eric.lavoie@finloc.com" and OutlookContact.objects.get(outlook_id=mover).contact == eric
    (moved,) = _active("eric@lavoie-transport.ca")
    assert OutlookContact.objects.get(outlook_id=eric_item).contact == moved != eric
    assert len(_active("marc.roy@finloc.com")) == 1
