"""The database itself refuses what would corrupt CRM data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import (
    EXCHANGE_GROUP_CODE,
    Activity,
    Contact,
    ContactGroup,
    Customer,
    EmailDomain,
    OutlookContact,
    Supplier,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return Customer.objects.create(code="C0001", name="Finloc inc.")


@pytest.fixture
def supplier():
    return Supplier.objects.create(code="F0001", name="Acier Tremblay ltée")


def _refused(**fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(first_name="Luc", last_name="Roy", email="luc@finloc.com", **fields)


def test_contact_with_two_owners_is_refused(customer, supplier):
    _refused(customer=customer, supplier=supplier)


def test_contact_with_no_owner_is_refused():
    _refused()


def test_contact_with_exactly_one_owner_is_accepted(customer):
    contact = Contact.objects.create(first_name="Luc", last_name="Roy", email="luc@finloc.com", customer=customer)
    assert contact.owner == customer
    assert contact.owner_type == "Clients"


def test_exchange_group_exists_after_migrations_R9():
    group = ContactGroup.objects.get(code=EXCHANGE_GROUP_CODE)
    assert group.name == "Exchange"


def test_same_outlook_item_twice_in_one_mailbox_is_refused(customer, crm_user):
    contact = Contact.objects.create(first_name="Luc", last_name="Roy", email="luc@finloc.com", customer=customer)
    OutlookContact.objects.create(contact=contact, mailbox=crm_user, outlook_id="AAMkAGI1AAAt9AHjAAA=")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutlookContact.objects.create(contact=contact, mailbox=crm_user, outlook_id="AAMkAGI1AAAt9AHjAAA=")


def test_the_same_person_in_two_mailboxes_is_one_contact_with_two_links(customer, crm_user, outsider):
    contact = Contact.objects.create(first_name="Luc", last_name="Roy", email="luc@finloc.com", customer=customer)
    for mailbox in (crm_user, outsider):
        OutlookContact.objects.create(contact=contact, mailbox=mailbox, outlook_id="AAMk=")
    assert contact.outlook_items.count() == 2 and contact.is_synchronized


def test_one_active_contact_per_address_whatever_the_case(customer):
    Contact.objects.create(first_name="Luc", last_name="Roy", email="luc@finloc.com", customer=customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(first_name="Luc", last_name="Roy", email="LUC@Finloc.com", customer=customer)
    Contact.objects.create(
        first_name="Luc", last_name="Roy", email="luc@finloc.com", customer=customer, is_active=False
    )
    for _ in range(2):  # no address: no collision
        Contact.objects.create(first_name="Luc", last_name="Roy", customer=customer)
    assert Contact.objects.count() == 4


def test_activity_ending_before_it_starts_is_refused(crm_user):
    start = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.create(owner=crm_user, subject="Rencontre", start=start, end=start - timedelta(minutes=1))


def test_activity_of_zero_length_is_accepted(crm_user):
    start = timezone.now()
    assert Activity.objects.create(owner=crm_user, subject="Rappel", start=start, end=start).pk


def test_same_outlook_event_twice_for_one_user_is_refused(crm_user):
    start = timezone.now()
    fields = {"owner": crm_user, "start": start, "end": start + timedelta(hours=1), "outlook_id": "AAMkEvt="}
    Activity.objects.create(subject="Rencontre", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.create(subject="Rencontre (copie)", **fields)


def test_email_domain_needs_exactly_one_owner(customer, supplier):
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDomain.objects.create(domain="finloc.com", customer=customer, supplier=supplier)
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDomain.objects.create(domain="finloc.com")


def test_email_domain_is_stored_lowercase_without_at_sign(customer):
    domain = EmailDomain.objects.create(domain=" @FinLoc.COM ", customer=customer)
    assert domain.domain == "finloc.com"


def test_email_domain_lowercase_is_enforced_by_the_database(customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDomain.objects.bulk_create([EmailDomain(domain="FinLoc.com", customer=customer)])


def test_deleted_activities_are_hidden_but_kept(crm_user):
    start = timezone.now()
    kept = Activity.objects.create(owner=crm_user, subject="A", start=start, end=start + timedelta(hours=1))
    Activity.objects.create(owner=crm_user, subject="B", start=start, end=start + timedelta(hours=1), is_deleted=True)
    assert list(Activity.objects.alive()) == [kept]
    assert Activity.objects.count() == 2
