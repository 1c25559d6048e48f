"""The data migration exchange 0008: today's duplicates (the same address synchronized from
several mailboxes, or entered in Prextra too) merge into one contact, keeping every activity,
note, journal entry, link and manual owner choice; running it again changes nothing."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("crm", "0011_outlook_contact_links"), ("exchange", "0007_contact_folders")]
merge = importlib.import_module("exchange.migrations.0008_one_contact_per_address")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_duplicates_of_the_demo_kind_merge_into_one_contact_each_and_twice_changes_nothing():
    old = _migrate(BEFORE)
    User = old.get_model("accounts", "User")
    Contact = old.get_model("crm", "Contact")
    Customer = old.get_model("crm", "Customer")
    ContactGroup = old.get_model("crm", "ContactGroup")
    Activity = old.get_model("crm", "Activity")
    ContactNote = old.get_model("crm", "ContactNote")
    marie = User.objects.create(code="MTREMBLAY", name="Marie Tremblay", email="marie@prextra-demo.ca")
    jean = User.objects.create(code="JROY", name="Jean Roy", email="jean@prextra-demo.ca")
    finloc = Customer.objects.create(code="FINLOC", name="Finloc inc.")
    canam = Customer.objects.create(code="CANAM", name="Groupe Canam")
    exchange = ContactGroup.objects.get_or_create(code="EXC", defaults={"name": "Exchange"})[0]
    now = timezone.now()
    Contact.objects.create(
        first_name="Eric", last_name="Lavoie", email="eric.lavoie@finloc.com", customer=finloc, source="exchange",
        outlook_mailbox=marie, outlook_id="AAMk-m1", representative=marie, created_at=now - timedelta(days=3),
    )  # fmt: skip
    second = Contact.objects.create(
        first_name="Eric", last_name="Lavoie", email="Eric.Lavoie@finloc.com", customer=canam, owner_locked=True,
        source="exchange", outlook_mailbox=jean, outlook_id="AAMk-j1", representative=jean, created_at=now,
    )  # fmt: skip
    manual = Contact.objects.create(
        first_name="Ana", last_name="Lima", email="ana@lima.ca", group=exchange, erp_code="K1", created_at=now
    )
    synced_ana = Contact.objects.create(
        first_name="Ana", last_name="Lima", email="ana@lima.ca", group=exchange, source="exchange",
        outlook_mailbox=marie, outlook_id="AAMk-m2", representative=marie, created_at=now - timedelta(days=9),
    )  # fmt: skip
    alone = Contact.objects.create(
        first_name="Luc", last_name="Roy", email="luc@finloc.com", customer=finloc, source="exchange",
        outlook_mailbox=marie, outlook_id="AAMk-m3", representative=marie,
    )  # fmt: skip
    Activity.objects.create(owner=jean, contact=second, subject="Visite", start=now, end=now + timedelta(hours=1))
    ContactNote.objects.create(contact=synced_ana, author=marie, text="Rappeler en janvier")

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # 0008, then every later one

    from crm.models import Activity as NowActivity
    from crm.models import Contact as NowContact
    from exchange.models import JournalEntry

    eric = NowContact.objects.get(email__iexact="eric.lavoie@finloc.com")
    assert eric.pk == second.pk  # the one whose owner a person chose, before the oldest
    assert eric.customer_id == canam.pk and eric.owner_locked  # Jean's choice by hand is kept
    assert sorted(eric.outlook_items.values_list("outlook_id", flat=True)) == ["AAMk-j1", "AAMk-m1"]
    assert NowActivity.objects.get(subject="Visite").contact_id == eric.pk
    ana = NowContact.objects.get(email="ana@lima.ca")
    assert ana.pk == manual.pk and ana.erp_code == "K1"  # Prextra had her first
    assert list(ana.notes.values_list("text", flat=True)) == ["Rappeler en janvier"]
    assert ana.outlook_items.get().outlook_id == "AAMk-m2"
    assert NowContact.objects.get(pk=alone.pk).outlook_items.get().outlook_id == "AAMk-m3"
    assert NowContact.objects.count() == 3
    merges = JournalEntry.objects.filter(action="merged")
    assert sorted(merges.values_list("contact_id", flat=True)) == sorted([eric.pk, ana.pk])
    assert merges.get(contact=eric).reasons == [
        {"code": "merged_duplicates", "params": {"count": 1, "address": "eric.lavoie@finloc.com", "mailboxes": 2}}
    ]  # the sentence 0008 wrote, read back as a code by exchange 0010

    assert merge.merge_duplicates(current_apps) == 0  # twice: nothing more
    assert NowContact.objects.count() == 3 and merges.count() == 2
