"""CRM operations the screens call: linking a contact to its company by hand."""

from __future__ import annotations

from typing import NamedTuple

from django.db import transaction

from .models import Contact, Customer, EmailDomain, Prospect, Supplier

Company = Customer | Prospect | Supplier
OWNER_FIELDS = ["customer", "prospect", "supplier", "group"]


class Candidate(NamedTuple):
    owner_type: str
    company: Company

    @property
    def type_label(self) -> str:
        return self.company._meta.verbose_name


def can_assign(contact: Contact) -> bool:
    """A contact may be linked by hand when it awaits review or sits in a group (e.g. EXC, R9)."""
    return contact.needs_review or contact.group_id is not None


@transaction.atomic
def assign_contact_owner(contact: Contact, company: Company) -> Contact:
    """Make `company` the only owner of `contact` and clear its review flag, in one transaction.
    The choice is a person's, as on the contact form: the sync no longer re-links the contact
    (owner_locked) when a domain changes.

    The row is locked first, so a sync running at the same time cannot interleave its own owner
    change; the database's exactly-one-owner constraint guards the result.
    """
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    owner_field = {Customer: "customer", Prospect: "prospect", Supplier: "supplier"}[type(company)]
    for field in OWNER_FIELDS:
        setattr(locked, field, company if field == owner_field else None)
    locked.needs_review = False
    locked.review = {}
    locked.owner_locked = True
    fields = ["customer", "prospect", "supplier", "group", "needs_review", "review", "owner_locked"]
    locked.save(update_fields=[*fields, "updated_at"])
    return locked


def candidate_companies(contact: Contact) -> list[Candidate]:
    """The (type, company) pairs whose email domain is the contact's, in the R8 order."""
    domain = contact.email.rpartition("@")[2].strip().lower()
    if not domain:
        return []
    rows = EmailDomain.objects.filter(domain=domain).select_related("customer", "prospect", "supplier")
    found = []
    for row in rows:
        for owner_type in ("customer", "prospect", "supplier"):
            company = getattr(row, owner_type)
            if company is not None and company.is_active:
                found.append(Candidate(owner_type, company))
    order = {"customer": 0, "prospect": 1, "supplier": 2}
    return sorted(found, key=lambda candidate: (order[candidate.owner_type], candidate.company.name))
