"""The Outlook contact entity: validation of request bodies and the stored Graph shape.

Reference: https://learn.microsoft.com/graph/api/resources/contact,
https://learn.microsoft.com/graph/api/user-post-contacts and
https://learn.microsoft.com/graph/api/contact-update.
"""

from __future__ import annotations

import datetime as dt

from . import schema as s
from .errors import body_read_error

ENTITY = "microsoft.graph.contact"

WRITABLE: dict[str, s.Validator] = {
    "assistantName": s.string,
    "birthday": s.string,
    "businessAddress": s.PHYSICAL_ADDRESS,
    "businessHomePage": s.string,
    "businessPhones": s.strings,
    "categories": s.strings,
    "children": s.strings,
    "companyName": s.string,
    "department": s.string,
    "displayName": s.string,
    "emailAddresses": s.collection(s.EMAIL_ADDRESS),
    "fileAs": s.string,
    "generation": s.string,
    "givenName": s.string,
    "homeAddress": s.PHYSICAL_ADDRESS,
    "homePhones": s.strings,
    "imAddresses": s.strings,
    "initials": s.string,
    "jobTitle": s.string,
    "manager": s.string,
    "middleName": s.string,
    "mobilePhone": s.string,
    "nickName": s.string,
    "officeLocation": s.string,
    "otherAddress": s.PHYSICAL_ADDRESS,
    "parentFolderId": s.ignored,
    "personalNotes": s.string,
    "profession": s.string,
    "spouseName": s.string,
    "surname": s.string,
    "title": s.string,
    "yomiCompanyName": s.string,
    "yomiGivenName": s.string,
    "yomiSurname": s.string,
    "singleValueExtendedProperties": s.collection(s.EXTENDED_PROPERTY),
    # Read-only: accepted when a client echoes an item back, then ignored.
    "id": s.ignored,
    "changeKey": s.ignored,
    "createdDateTime": s.ignored,
    "lastModifiedDateTime": s.ignored,
    "photo": s.ignored,
    "extensions": s.ignored,
    "multiValueExtendedProperties": s.ignored,
}

# Output order of a contact, as in the contact resource JSON representation.
ORDER = (
    "categories",
    "parentFolderId",
    "birthday",
    "fileAs",
    "displayName",
    "givenName",
    "initials",
    "middleName",
    "nickName",
    "surname",
    "title",
    "yomiGivenName",
    "yomiSurname",
    "yomiCompanyName",
    "generation",
    "imAddresses",
    "jobTitle",
    "companyName",
    "department",
    "officeLocation",
    "profession",
    "businessHomePage",
    "assistantName",
    "manager",
    "homePhones",
    "mobilePhone",
    "businessPhones",
    "spouseName",
    "personalNotes",
    "children",
    "emailAddresses",
    "homeAddress",
    "businessAddress",
    "otherAddress",
)
LISTS = {
    "categories",
    "imAddresses",
    "homePhones",
    "businessPhones",
    "children",
    "emailAddresses",
}
ADDRESSES = {"homeAddress", "businessAddress", "otherAddress"}
SELECTABLE = {"id", "createdDateTime", "lastModifiedDateTime", "changeKey", *ORDER}


def validate(body: dict) -> dict:
    """Validate a contact body; return its writable properties, normalized."""
    s.check_entity_type(body, ENTITY)
    fields = s.validate_object(body, WRITABLE, ENTITY)
    if fields.get("birthday"):
        fields["birthday"] = _normalize_birthday(fields["birthday"])
    for name in ADDRESSES & fields.keys():
        fields[name] = {k: v for k, v in (fields[name] or {}).items() if v is not None}
    if "emailAddresses" in fields:
        fields["emailAddresses"] = [_email(e) for e in fields["emailAddresses"] if e]
    return fields


def _email(entry: dict) -> dict:
    address = entry.get("address") or ""
    return {"name": entry.get("name") or address, "address": address}


def _normalize_birthday(value: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise body_read_error(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'."
        ) from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC)
    return f"{parsed:%Y-%m-%dT%H:%M:%S}Z"


def _default(name: str) -> object:
    if name in LISTS:
        return []
    if name in ADDRESSES:
        return {}
    if name in ("fileAs", "personalNotes"):
        return ""
    return None


def computed_display_name(fields: dict) -> str:
    """Outlook builds displayName from the name parts when the client gives none."""
    parts = (fields.get("givenName"), fields.get("middleName"), fields.get("surname"))
    return " ".join(p for p in parts if p)


def build(fields: dict, meta: dict) -> dict:
    """The contact as Graph returns it: `meta` holds id, dates, changeKey and parentFolderId."""
    values = dict(fields)
    values.pop("singleValueExtendedProperties", None)
    if not values.get("displayName"):
        values["displayName"] = computed_display_name(values)
    graph = {
        "@odata.etag": f'W/"{meta["changeKey"]}"',
        "id": meta["id"],
        "createdDateTime": meta["createdDateTime"],
        "lastModifiedDateTime": meta["lastModifiedDateTime"],
        "changeKey": meta["changeKey"],
    }
    for name in ORDER:
        graph[name] = meta["parentFolderId"] if name == "parentFolderId" else values.get(name, _default(name))
    return graph


def patched_fields(current: dict, patch: dict) -> dict:
    """Merge a PATCH into the stored properties; a recomputed displayName follows its parts."""
    fields = {k: current[k] for k in ORDER if k != "parentFolderId"}
    auto_name = current.get("displayName") == computed_display_name(current)
    fields.update({k: v for k, v in patch.items() if k != "singleValueExtendedProperties"})
    if "displayName" not in patch and auto_name:
        fields["displayName"] = computed_display_name(fields)
    return fields
