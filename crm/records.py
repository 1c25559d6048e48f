"""Customers, prospects and suppliers as one kind of screen: who may change them, their email
domains (R8) and what adding or removing one did to the synchronized contacts (R9).

One implementation serves the three kinds; `RecordKind` names what differs between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Activity, Contact, Customer, EmailDomain, Prospect, Supplier
from .signals import domain_proposed

# A host name: labels of letters, digits and hyphens, a dot between them, at least two labels.
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class RecordKind:
    """A kind of record: its model, its field on EmailDomain and Contact, its screens' names."""

    key: str  # customer, prospect, supplier: the field of EmailDomain, Contact and the URL names
    model: type[Model]
    segment: str  # the French URL segment
    title: str  # the list's title, as in Prextra's menu
    new_label: str

    def url_name(self, screen: str) -> str:
        return f"{self.key}_{screen}"

    @property
    def label(self) -> str:
        """One record of the kind, as in a sentence: « client », « prospect », « fournisseur »."""
        return self.model._meta.verbose_name


KINDS = {
    kind.key: kind
    for kind in (
        RecordKind("customer", Customer, "clients", gettext_lazy("Clients"), gettext_lazy("Nouveau client")),
        RecordKind("prospect", Prospect, "prospects", gettext_lazy("Prospects"), gettext_lazy("Nouveau prospect")),
        RecordKind(
            "supplier", Supplier, "fournisseurs", gettext_lazy("Fournisseurs"), gettext_lazy("Nouveau fournisseur")
        ),
    )
}


def can_edit(user, record) -> bool:
    """Administrators and the record's representative change a record; everyone reads it."""
    return bool(user.is_staff or (record.sales_rep_id is not None and record.sales_rep_id == user.pk))


def normalized_domain(text: str) -> str:
    """The form EmailDomain.save stores: trimmed, lowercase, without a leading @."""
    return text.strip().lower().lstrip("@")


def domain_refusal(kind: RecordKind, domain: str) -> str | None:
    """Why `domain` may not be added to a record of `kind`, or None.

    A domain already on a record of the same kind would make R8 ambiguous; one on another kind is
    fine (R8's order decides). Free-mail domains never link to a company (R9): their list is a
    setting of the apps above the CRM, which answer the `domain_proposed` signal, so the CRM
    learns the refusal without importing them (the layers of pyproject.toml).
    """
    if not DOMAIN_PATTERN.match(domain):
        return _("« %(domain)s » n'est pas un domaine de courriel (par exemple : finloc.com).") % {"domain": domain}
    existing = (
        EmailDomain.objects.filter(domain=domain, **{f"{kind.key}__isnull": False}).select_related(kind.key).first()
    )
    if existing is not None:
        text = _("Le domaine %(domain)s est déjà celui de %(owner)s (%(code)s).")
        return text % {"domain": domain, "owner": existing.owner.name, "code": existing.owner.code}
    return proposal_refusals([domain])[domain]


def proposal_refusals(domains: list[str]) -> dict[str, str | None]:
    """What the receivers of `domain_proposed` answer for each of `domains`: its refusal or None
    (one signal for many domains: the ERP import asks once per batch of lines)."""
    refusals: dict[str, str | None] = dict.fromkeys(domains)
    for _receiver, answers in domain_proposed.send(sender=EmailDomain, domains=list(domains)):
        for domain, reason in (answers or {}).items():
            if reason and domain in refusals and refusals[domain] is None:
                refusals[domain] = str(reason)
    return refusals


def _linked(record, kind: RecordKind, domain: str) -> int:
    return Contact.objects.filter(**{kind.key: record}, email__iendswith=f"@{domain}").count()


def add_domain(record, kind: RecordKind, domain: str) -> int:
    """Add `domain` to `record`; the contacts of that domain now linked to it.

    The re-linking receiver (post_save of EmailDomain) runs when the transaction commits, which
    is the end of the atomic block here: the count afterwards is what it did.
    """
    with transaction.atomic():
        EmailDomain.objects.create(domain=domain, **{kind.key: record})
    return _linked(record, kind, domain)


def remove_domain(record, kind: RecordKind, row: EmailDomain) -> int:
    """Remove the domain `row` from `record`; how many of its contacts left the record.

    Contacts entered in Prextra or linked by hand stay: the difference is what the re-linking moved.
    """
    domain = row.domain
    before = _linked(record, kind, domain)
    with transaction.atomic():
        row.delete()
    return before - _linked(record, kind, domain)


def recent_activities(record, kind: RecordKind):
    """The past activities of the record's contacts, latest first, as the contact page's « Activités
    récentes » (cards_of then applies the calendars' privacy rule)."""
    past = Activity.objects.alive().filter(**{f"contact__{kind.key}": record}, end__lt=timezone.now())
    return past.order_by("-start", "-pk")


# ---------------------------------------------------------------- the record picker


@dataclass(frozen=True)
class RecordGroup:
    """The active records of one kind that a search found, and whether more than those match."""

    kind: RecordKind
    records: list
    more: bool


def search_words(text: str) -> list[str]:
    """The words of a search as typed: control characters removed (nobody's name holds one, and
    PostgreSQL refuses a NUL), 100 characters at most; an address stands for its domain, so a
    pasted « eric@finloc.com » finds Finloc inc."""
    clean = "".join(char for char in text if char >= " " and char != "\x7f").strip()[:100]
    words = (word.rpartition("@")[2] for word in clean.split())
    return [word for word in words if word]


def search_records(query: str, limit: int = 8) -> list[RecordGroup]:
    """The active customers, prospects and suppliers whose name, code or an email domain holds
    every word of `query` (case ignored, accents not: as every other search of the product; on
    SQLite the case of accented letters counts too), by kind in R8's order, then name.

    At most `limit` of each kind, so a word common among customers does not hide the prospect
    someone looks for; `more` says that kind has others. Fewer than two letters find nothing (as
    the activity dialog's contact picker). At most two queries per kind (the records, their domains),
    whatever the matches.
    """
    words = search_words(query)
    if len("".join(words)) < 2:
        return []
    groups = []
    for kind in KINDS.values():
        records = kind.model.objects.filter(is_active=True)
        for word in words:
            domain = EmailDomain.objects.filter(**{kind.key: OuterRef("pk")}, domain__icontains=word)
            records = records.filter(Q(code__icontains=word) | Q(name__icontains=word) | Exists(domain))
        found = list(records.order_by("name", "code", "pk").prefetch_related("domains")[: limit + 1])
        if found:
            groups.append(RecordGroup(kind, found[:limit], len(found) > limit))
    return groups
