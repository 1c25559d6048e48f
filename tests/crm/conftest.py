"""CRM fixtures: one company of each kind, the Exchange group, and a contact builder."""

from __future__ import annotations

import pytest

from crm.models import EXCHANGE_GROUP_CODE, Contact, ContactGroup, Customer, EmailDomain, Prospect, Supplier


@pytest.fixture
def finloc(db):
    """A customer whose domain is shared with a supplier (an ambiguous domain)."""
    customer = Customer.objects.create(code="C0001", name="Finloc inc.", city="Québec")
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    return customer


@pytest.fixture
def canam(db):
    return Prospect.objects.create(code="P0001", name="Groupe Canam", city="Saint-Georges")


@pytest.fixture
def acier(db):
    supplier = Supplier.objects.create(code="F0001", name="Acier Tremblay ltée", city="Lévis")
    EmailDomain.objects.create(domain="finloc.com", supplier=supplier)
    return supplier


@pytest.fixture
def exchange_group(db):
    return ContactGroup.objects.get(code=EXCHANGE_GROUP_CODE)


@pytest.fixture
def make_contact(db):
    def make(first_name: str, last_name: str, **fields) -> Contact:
        fields.setdefault("email", f"{first_name}.{last_name}@example.com".lower())
        return Contact.objects.create(first_name=first_name, last_name=last_name, **fields)

    return make


@pytest.fixture
def bob_client(client, crm_user):
    """The test client signed in as Bob (CRM staff)."""
    client.force_login(crm_user)
    return client
