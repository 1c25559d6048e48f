"""Pure mapping between Microsoft Graph shapes and Prextra shapes: no database, no HTTP.

Everything that comes from Outlook is validated here, at the boundary: wrong JSON types,
control characters, oversized values and invalid addresses become a clean value, a recorded
truncation, or a Skip with its reason — never an exception.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

# C0 and C1 control characters (tab and newline included: these are single-line fields).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")

CONTACT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "title": 150,
    "phone": 30,
    "mobile": 30,
    "city": 100,
    "province": 50,
    "country": 50,
}


@dataclass(frozen=True)
class Skip:
    """An Outlook item that is not synchronized, and why (shown to administrators, R7)."""

    reason: str
    label: str = ""
    email: str = ""


@dataclass(frozen=True)
class ContactData:
    """The synchronized fields of an Outlook contact, cleaned (R7–R9)."""

    first_name: str
    last_name: str
    email: str
    title: str = ""
    phone: str = ""
    mobile: str = ""
    city: str = ""
    province: str = ""
    country: str = ""
    truncated: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>"

    @property
    def domain(self) -> str:
        return email_domain(self.email)

    def fields(self) -> dict[str, str]:
        """The values written on the Prextra contact."""
        values = asdict(self)
        values.pop("truncated")
        return values

    def fingerprint(self) -> str:
        """A hash of the synchronized fields: equal hashes mean nothing to write (no echo, no churn)."""
        return hashlib.sha256(json.dumps(self.fields(), sort_keys=True).encode()).hexdigest()


def clean_text(value: object) -> str:
    """A single-line string: non-strings become empty, control characters go, spaces collapse."""
    if not isinstance(value, str):
        return ""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


def email_domain(email: str) -> str:
    """The lowercase domain of an address ('' when there is none)."""
    return email.rpartition("@")[2].strip().lower() if "@" in email else ""


def _clean_email(value: object) -> str:
    address = clean_text(value)
    if not address or len(address) > 254:
        return ""
    local, _at, domain = address.rpartition("@")
    address = f"{local}@{domain.lower()}"
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return address


def _first_email(payload: dict) -> tuple[str, str]:
    """The first valid address of emailAddresses, and the first raw one (for the skip message)."""
    entries = payload.get("emailAddresses")
    if not isinstance(entries, list):
        return "", ""
    raw_first = ""
    for entry in entries:
        raw = entry.get("address") if isinstance(entry, dict) else None
        raw_first = raw_first or clean_text(raw)
        address = _clean_email(raw)
        if address:
            return address, raw_first
    return "", raw_first


def _address_part(payload: dict, key: str) -> str:
    for address_field in ("businessAddress", "homeAddress", "otherAddress"):
        address = payload.get(address_field)
        if isinstance(address, dict) and clean_text(address.get(key)):
            return clean_text(address.get(key))
    return ""


def _first_phone(payload: dict) -> str:
    for phones_field in ("businessPhones", "homePhones"):
        phones = payload.get(phones_field)
        if isinstance(phones, list):
            for phone in phones:
                if clean_text(phone):
                    return clean_text(phone)
    return ""


def _truncate(values: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    truncated = []
    for name, limit in CONTACT_LIMITS.items():
        if len(values[name]) > limit:
            values[name] = values[name][:limit].rstrip()
            truncated.append(name)
    return values, tuple(truncated)


def contact_from_graph(payload: object) -> ContactData | Skip:
    """An Outlook contact (Graph `contact` resource) as Prextra contact data, or a Skip with its reason.

    R7: a contact with no first name, no last name or no email address is not synchronized.
    An address that is not a valid email counts as no email. Over-long values are cut to the
    Prextra field sizes and listed in `truncated` (the sync journals them).
    """
    if not isinstance(payload, dict):
        return Skip(_("Ignoré : élément illisible (ce n'est pas un contact)."))
    first_name, last_name = clean_text(payload.get("givenName")), clean_text(payload.get("surname"))
    email, raw_email = _first_email(payload)
    label = clean_text(payload.get("displayName"))[:200] or f"{first_name} {last_name}".strip()
    if not first_name:
        return Skip(_("Ignoré : pas de prénom."), label, email or raw_email)
    if not last_name:
        return Skip(_("Ignoré : pas de nom."), label, email or raw_email)
    if not email:
        reason = _("Ignoré : adresse courriel invalide (%(address)s).") % {"address": raw_email[:100]}
        return Skip(reason if raw_email else _("Ignoré : pas de courriel."), label, raw_email[:254])
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "title": clean_text(payload.get("jobTitle")),
        "phone": _first_phone(payload),
        "mobile": clean_text(payload.get("mobilePhone")),
        "city": _address_part(payload, "city"),
        "province": _address_part(payload, "state"),
        "country": _address_part(payload, "countryOrRegion"),
    }
    values, truncated = _truncate(values)
    return ContactData(email=email, truncated=truncated, **values)
