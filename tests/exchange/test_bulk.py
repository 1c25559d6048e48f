"""`exchange.sync.bulk` against the Django it was written for.

`bulk.insert` rebuilds `bulk_create` from Django internals (`Model._prepare_related_fields_for_save`,
`Field.get_internal_type` names, `_state`); these tests fail when a Django upgrade changes one of
them, so the module is then re-measured against plain `bulk_create` (its docstring) or fixed:
- the rows it stores are, column by column, the rows `bulk_create` stores;
- related objects are resolved as `save` resolves them (an unsaved one is refused);
- a refused row raises `IntegrityError` and leaves nothing behind;
- the inserted instances behave as saved ones once `assign_pks` gave them their keys.
"""

from __future__ import annotations

import datetime as dt
import inspect

import pytest
from django.db import IntegrityError, connection, models, transaction

from crm.models import Activity, Contact, Customer
from exchange.models import Direction, JournalEntry, SyncRun
from exchange.sync import bulk

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=dt.UTC)


def _contacts(mailbox, customer) -> list[Contact]:
    """Contacts as the import makes them: every kind of column, empty and filled."""
    return [
        Contact(
            first_name="Émilie",
            last_name="Gagnon",
            email="emilie@finloc.com",
            city="Québec",
            customer=customer,
            source=Contact.Source.EXCHANGE,
            representative=mailbox,
            erp_code="K-1",
            outlook_modified_at=WHEN,
            created_at=WHEN,
        ),
        Contact(
            first_name="Paul",
            last_name="O'Brien",
            customer=customer,
            is_active=False,
            needs_review=True,
            representative=mailbox,
            erp_code="K-2",
            created_at=WHEN,
        ),
    ]


def _activities(owner, contact) -> list[Activity]:
    return [
        Activity(
            owner=owner,
            contact=contact,
            subject="Revue",
            start=WHEN,
            end=WHEN + dt.timedelta(hours=1),
            source=Activity.Source.OUTLOOK,
            outlook_id="AAMk-e1",
            sync_agreed={"subject": "Revue", "start": WHEN.isoformat(), "attendees": ["a@b.c"]},
            needs_push=False,
            created_at=WHEN,
        ),
        Activity(
            owner=owner,
            subject="Congé",
            start=WHEN,
            end=WHEN + dt.timedelta(days=2),
            all_day=True,
            outlook_id="AAMk-e2",
            deleted_at=WHEN,
            created_at=WHEN,
        ),
    ]


def _journal(run, contact, activity) -> list[JournalEntry]:
    return [
        JournalEntry(
            run=run,
            user_id=run.user_id,
            direction=run.direction,
            action=JournalEntry.Action.CREATED,
            item_label="Émilie Gagnon",
            contact=contact,
            changes={"city": ["", "Québec"]},
            at=WHEN,
        ),
        JournalEntry(
            run=run,
            user_id=run.user_id,
            direction=run.direction,
            action=JournalEntry.Action.SKIPPED,
            outlook_id="AAMk-3",
            reasons=[{"code": "no_email"}],
            activity=activity,
            at=WHEN,
        ),
    ]


def _stored(model: type[models.Model], pks) -> list[tuple]:
    """The rows as the database holds them (no ORM conversion), primary key and `auto_now` left out."""
    columns = [
        field.column
        for field in model._meta.concrete_fields
        if not field.primary_key and not getattr(field, "auto_now", False)
    ]
    quote = connection.ops.quote_name
    sql = "SELECT {} FROM {} WHERE {} IN ({}) ORDER BY {}".format(
        ", ".join(map(quote, columns)),
        quote(model._meta.db_table),
        quote(model._meta.pk.column),
        ", ".join(["%s"] * len(pks)),
        quote(model._meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(pks))
        return cursor.fetchall()


def _insert_then_bulk_create(model, make, key: str, queryset) -> tuple[list[tuple], list[tuple]]:
    """The same instances stored once by `bulk.insert` and once by `bulk_create` (deleted in between)."""
    ours = make()
    bulk.insert(ours)
    bulk.assign_pks(ours, queryset, key)
    by_insert = _stored(model, [obj.pk for obj in ours])
    model.objects.filter(pk__in=[obj.pk for obj in ours]).delete()
    theirs = make()
    model.objects.bulk_create(theirs)
    return by_insert, _stored(model, [obj.pk for obj in theirs])


@pytest.fixture
def customer():
    return Customer.objects.create(code="C1", name="Finloc")


@pytest.fixture
def run(crm_user):
    return SyncRun.objects.create(user=crm_user, direction=Direction.CONTACTS_IN)


def test_the_private_api_it_calls_is_still_there():
    parameters = inspect.signature(models.Model._prepare_related_fields_for_save).parameters
    assert "operation_name" in parameters
    for name in bulk.ADAPTED_TYPES:  # a renamed field class would silently lose its adaptation
        assert getattr(models, name)().get_internal_type() == name


def test_the_fields_it_passes_as_they_are_need_no_adapting(crm_user, customer, run):
    """For every column bulk.py does not adapt, `get_db_prep_save` returns the value unchanged."""
    (contact, _other) = _contacts(crm_user, customer)
    (activity, _other) = _activities(crm_user, None)
    (entry, _other) = _journal(run, None, None)
    for obj in (contact, activity, entry):
        for field in type(obj)._meta.concrete_fields:
            if field.get_internal_type() in bulk.ADAPTED_TYPES or field.primary_key:
                continue
            value = getattr(obj, field.attname)
            assert field.get_db_prep_save(value, connection) == value, (type(obj).__name__, field.name)


def test_contact_rows_are_those_of_bulk_create(crm_user, customer):
    by_insert, by_bulk_create = _insert_then_bulk_create(
        Contact,
        lambda: _contacts(crm_user, customer),
        "erp_code",
        Contact.objects.filter(representative=crm_user),
    )
    assert by_insert == by_bulk_create


def test_activity_rows_are_those_of_bulk_create(crm_user, customer):
    (contact, _other) = _contacts(crm_user, customer)
    contact.save()
    by_insert, by_bulk_create = _insert_then_bulk_create(
        Activity, lambda: _activities(crm_user, contact), "outlook_id", Activity.objects.filter(owner=crm_user)
    )
    assert by_insert == by_bulk_create


def test_journal_rows_are_those_of_bulk_create(crm_user, customer, run):
    (contact, _other) = _contacts(crm_user, customer)
    contact.save()
    (activity, _other) = _activities(crm_user, contact)
    activity.save()
    by_insert, by_bulk_create = _insert_then_bulk_create(
        JournalEntry,
        lambda: _journal(run, contact, activity),
        "item_label",
        JournalEntry.objects.filter(run=run),
    )
    assert by_insert == by_bulk_create


def test_auto_now_is_stamped_on_the_instances_and_the_rows(crm_user, customer):
    contacts = _contacts(crm_user, customer)
    bulk.insert(contacts)
    bulk.assign_pks(contacts, Contact.objects.filter(representative=crm_user), "erp_code")
    assert contacts[0].updated_at is not None
    assert [c.updated_at for c in contacts] == list(
        Contact.objects.filter(pk__in=[c.pk for c in contacts]).order_by("pk").values_list("updated_at", flat=True)
    )


def test_a_related_object_saved_after_assignment_is_linked_as_save_links_it(crm_user, customer, run):
    """The sync journals a new contact before the page's INSERT gives it its key."""
    contacts = _contacts(crm_user, customer)
    entries = _journal(run, contacts[0], None)
    bulk.insert(contacts)
    bulk.assign_pks(contacts, Contact.objects.filter(representative=crm_user), "erp_code")
    bulk.insert(entries)
    assert list(JournalEntry.objects.filter(run=run).values_list("contact_id", flat=True).order_by("pk")) == [
        contacts[0].pk,
        None,
    ]


def test_an_unsaved_related_object_is_refused(crm_user, customer, run):
    (contact, _other) = _contacts(crm_user, customer)
    with pytest.raises(ValueError, match="unsaved related object"):
        bulk.insert(_journal(run, contact, None))
    assert not JournalEntry.objects.exists()


def test_a_refused_row_raises_integrity_error_and_stores_nothing(crm_user, customer):
    Contact.objects.create(
        first_name="Déjà", last_name="Là", customer=customer, representative=crm_user, erp_code="K-2"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(_contacts(crm_user, customer))
    assert Contact.objects.count() == 1


def test_inserted_instances_behave_as_saved_ones(crm_user, customer):
    contacts = _contacts(crm_user, customer)
    bulk.insert(contacts)
    bulk.assign_pks(contacts, Contact.objects.filter(representative=crm_user), "erp_code")
    assert all(not c._state.adding and c._state.db == "default" and c.pk for c in contacts)
    contacts[0].city = "Lévis"
    contacts[0].save()  # an UPDATE of its row, not a second INSERT
    assert Contact.objects.count() == 2
    assert Contact.objects.get(pk=contacts[0].pk).city == "Lévis"
