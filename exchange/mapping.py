"""Pure mapping between Microsoft Graph shapes and Prextra shapes: no database, no HTTP.

Everything that comes from Outlook is validated here, at the boundary: wrong JSON types,
control characters, oversized values and invalid addresses become a clean value, a recorded
truncation, or a Skip with its reason — never an exception.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from crm.models import Contact, activity_sync_values

from .reasons import reason

# C0 and C1 control characters (tab and newline included: these are single-line fields).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")

CONTACT_FIELDS = Contact.OUTLOOK_FIELDS  # crm owns the list: its contact form shows them read-only
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
    """An Outlook item that is not synchronized, and why (a reason of exchange/reasons.py, R7)."""

    reason: dict
    label: str = ""
    email: str = ""

    @property
    def code(self) -> str:
        """What kind of skip, for counting (the preview): "recurring", "private_event"…"""
        return self.reason["code"]


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
        return {name: getattr(self, name) for name in CONTACT_FIELDS}

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
        value = clean_text(address.get(key)) if isinstance(address, dict) else ""
        if value:
            return value
    return ""


def _first_phone(payload: dict) -> str:
    for phones_field in ("businessPhones", "homePhones"):
        phones = payload.get(phones_field)
        if isinstance(phones, list):
            for phone in phones:
                value = clean_text(phone)
                if value:
                    return value
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
        return Skip(reason("not_a_contact"))
    first_name, last_name = clean_text(payload.get("givenName")), clean_text(payload.get("surname"))
    email, raw_email = _first_email(payload)
    label = clean_text(payload.get("displayName"))[:200] or f"{first_name} {last_name}".strip()
    if not first_name:
        return Skip(reason("no_first_name"), label, email or raw_email)
    if not last_name:
        return Skip(reason("no_last_name"), label, email or raw_email)
    if not email:
        why = reason("invalid_email", address=raw_email[:100]) if raw_email else reason("no_email")
        return Skip(why, label, raw_email[:254])
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


# --- activities (R12–R16) ---------------------------------------------------------------------

# The company's zone: an all-day event keeps its calendar dates there (R14).
LOCAL_ZONE = ZoneInfo(settings.TIME_ZONE)
WINDOWS_ZONES = {
    "eastern standard time": "America/Toronto",
    "us eastern standard time": "America/Indianapolis",
    "central standard time": "America/Chicago",
    "mountain standard time": "America/Denver",
    "pacific standard time": "America/Los_Angeles",
    "atlantic standard time": "America/Halifax",
    "newfoundland standard time": "America/St_Johns",
    "gmt standard time": "Europe/London",
    "romance standard time": "Europe/Paris",
    "w. europe standard time": "Europe/Berlin",
    "utc": "UTC",
    "coordinated universal time": "UTC",
}
RECURRING_TYPES = {"occurrence", "exception", "seriesMaster"}
YEAR_RANGE = (1900, 2200)  # a CRM calendar has nothing to do outside these years
PRIVATE_SENSITIVITIES = {"private", "confidential"}


@dataclass(frozen=True)
class Cancelled:
    """An event Outlook marks cancelled: it leaves the Prextra calendars like a deletion."""

    label: str


@dataclass(frozen=True)
class ActivityData:
    """The synchronized fields of an Outlook event, cleaned, times in UTC (R12, R14)."""

    subject: str
    location: str
    start: datetime
    end: datetime
    all_day: bool
    is_private: bool
    attendee_emails: tuple[str, ...] = ()
    is_meeting: bool = False
    organizer: str = ""  # who organized it, when not the mailbox: a received meeting
    truncated: tuple[str, ...] = field(default=(), compare=False)

    def sync_values(self) -> dict:
        return activity_sync_values(self.subject, self.location, self.start, self.end, self.all_day, self.is_private)

    @property
    def label(self) -> str:
        return activity_label(self.subject, self.start)


def activity_label(subject: str, start: datetime) -> str:
    """An activity's label in the journal: its subject and its local start (the start alone for an
    event without subject: the journal shows no placeholder it would have to store)."""
    return f"{subject} ({start.astimezone(LOCAL_ZONE):%Y-%m-%d %H:%M})".lstrip()


def graph_zone(name: object) -> ZoneInfo | None:
    """A Graph time zone name (IANA or Windows) as a ZoneInfo; None when unknown."""
    if not isinstance(name, str) or not name.strip():
        return None
    key = WINDOWS_ZONES.get(name.strip().lower(), name.strip())
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _graph_local(value: object) -> tuple[datetime, ZoneInfo] | None:
    """A dateTimeTimeZone {"dateTime", "timeZone"} as a naive local datetime and its zone."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    zone = graph_zone(value.get("timeZone") or "UTC")
    text = value["dateTime"].strip()[:26]  # Graph sends 7 fractional digits; Python reads 6
    try:
        moment = datetime.fromisoformat(text.rstrip("Z"))
    except ValueError:
        return None
    if zone is None:
        return None
    return moment.replace(tzinfo=None), zone


def _event_times(payload: dict) -> tuple[datetime, datetime, bool] | dict:
    """The event's times in UTC, or the reason they cannot be read."""
    start, end = _graph_local(payload.get("start")), _graph_local(payload.get("end"))
    if start is None or end is None:
        return reason("unreadable_time")
    all_day = payload.get("isAllDay") is True
    try:
        if all_day:
            # All-day events are floating dates: keep the calendar days in Toronto (no shift).
            first = datetime.combine(start[0].date(), time(0), LOCAL_ZONE).astimezone(UTC)
            last = datetime.combine(end[0].date(), time(0), LOCAL_ZONE).astimezone(UTC)
        else:
            first = start[0].replace(tzinfo=start[1]).astimezone(UTC)
            last = end[0].replace(tzinfo=end[1]).astimezone(UTC)
    except (OverflowError, ValueError):
        return reason("date_out_of_range")
    if not (YEAR_RANGE[0] <= first.year and last.year <= YEAR_RANGE[1]):
        return reason("date_out_of_range_years", first=first.year, last=last.year)
    if last < first:
        return reason("end_before_start")
    return first, last, all_day


def _attendees(payload: dict, mailbox: str) -> tuple[tuple[str, ...], bool]:
    """Attendee addresses in Outlook's order (R16), and whether anyone but the mailbox is invited."""
    entries = payload.get("attendees")
    if not isinstance(entries, list):
        return (), False
    emails = []
    for entry in entries:
        address = entry.get("emailAddress") if isinstance(entry, dict) else None
        email = _clean_email(address.get("address")) if isinstance(address, dict) else ""
        if email and email.lower() != mailbox.lower():
            emails.append(email.lower())
    return tuple(emails), bool(emails)


def _organizer(payload: dict, mailbox: str) -> str:
    """Who organized the event when it is not the mailbox (name, else address), '' when it is.

    `isOrganizer` is Graph's own answer ("true if the calendar owner is the organizer",
    resources/event.md) and wins: the organizer's address alone may be an alias or the primary
    address of a mailbox Prextra knows by another one. Without it, an organizer address other
    than the mailbox's means someone else's meeting (the safe reading: Prextra then never writes).
    """
    value = payload.get("organizer")
    address = value.get("emailAddress") if isinstance(value, dict) else None
    address = address if isinstance(address, dict) else {}
    email, name = _clean_email(address.get("address")), clean_text(address.get("name"))[:255]
    is_organizer = payload.get("isOrganizer")
    if is_organizer is True or (is_organizer is not False and (not email or email.lower() == mailbox.lower())):
        return ""
    return name or email or str(_("un autre organisateur"))


def activity_from_graph(payload: object, mailbox: str, private_policy: str) -> ActivityData | Skip | Cancelled:
    """An Outlook event as Prextra activity data, a Skip with its reason, or Cancelled.

    R13: series masters, occurrences and exceptions are never imported. R14: multi-day and
    all-day events are. R15: imported activities are Public, except events Outlook marks private
    or confidential, which follow the connection's `private_policy` (private / public / skip).
    Subject and location are cleaned and cut to 255 characters (listed in `truncated`).
    An event someone else organized (`isOrganizer` false) is a meeting even when its attendees
    list the mailbox alone or are hidden (`hideAttendees`); `organizer` then names who organized it.
    """
    if not isinstance(payload, dict):
        return Skip(reason("not_an_event"))
    subject = clean_text(payload.get("subject"))
    location_value = payload.get("location")
    location = clean_text(location_value.get("displayName")) if isinstance(location_value, dict) else ""
    label = subject[:200]  # the journal shows « (sans objet) » for an empty one
    kind = payload.get("type") if isinstance(payload.get("type"), str) else ""
    if kind in RECURRING_TYPES or payload.get("seriesMasterId") or payload.get("recurrence"):
        return Skip(reason("recurring"), label)
    if payload.get("isCancelled") is True:
        return Cancelled(label)
    sensitive = isinstance(payload.get("sensitivity"), str) and payload["sensitivity"] in PRIVATE_SENSITIVITIES
    if sensitive and private_policy == "skip":
        return Skip(reason("private_event"), label)
    times = _event_times(payload)
    if isinstance(times, dict):
        return Skip(times, label)
    truncated = tuple(name for name, value in (("subject", subject), ("location", location)) if len(value) > 255)
    emails, has_attendees = _attendees(payload, mailbox)
    organizer = _organizer(payload, mailbox)
    return ActivityData(
        subject=subject[:255].rstrip(),
        location=location[:255].rstrip(),
        start=times[0],
        end=times[1],
        all_day=times[2],
        is_private=sensitive and private_policy == "private",
        attendee_emails=emails,
        is_meeting=has_attendees or bool(organizer),
        organizer=organizer,
        truncated=truncated,
    )


def activity_to_graph(values: dict, contact_name: str = "") -> dict:
    """A Prextra activity's synchronized values as a Graph event body — never with attendees, so
    Outlook sends no invitation to anyone. Timed events go in UTC; all-day events as midnights in
    Eastern time, as Graph requires for isAllDay."""
    start = datetime.fromisoformat(values["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(values["end"].replace("Z", "+00:00"))
    if values["all_day"]:
        first = start.astimezone(LOCAL_ZONE).date()
        last = max(end.astimezone(LOCAL_ZONE).date(), first + timedelta(days=1))
        start_value = {"dateTime": f"{first.isoformat()}T00:00:00", "timeZone": "Eastern Standard Time"}
        end_value = {"dateTime": f"{last.isoformat()}T00:00:00", "timeZone": "Eastern Standard Time"}
    else:
        start_value = {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
        end_value = {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    body = {
        "subject": values["subject"],
        "start": start_value,
        "end": end_value,
        "isAllDay": values["all_day"],
        "location": {"displayName": values["location"]},
        "sensitivity": "private" if values["is_private"] else "normal",
        "showAs": "free" if values["all_day"] else "busy",
    }
    if contact_name:
        body["body"] = {"contentType": "text", "content": _("Contact : %(name)s") % {"name": contact_name}}
    return body


# A PATCH sends a Graph property only when the Prextra field behind it changed since the agreed state.
_PATCHED_BY = {"subject": ("subject",), "location": ("location",), "is_private": ("sensitivity",)}
_TIMES = ("start", "end", "all_day")


def activity_patch(agreed: dict, current: dict) -> dict:
    """The PATCH body for a linked activity: only the properties whose Prextra field differs from
    the agreed state (the last version both sides held), never the others.

    A PATCH replaces what it names: `location` replaces Outlook's several `locations`
    (api/event-update.md), `sensitivity` a personal or confidential choice, `showAs` a tentative
    or out-of-office one, `body` what the user wrote in Outlook. Prextra holds none of those, so it
    sends `sensitivity` only when is_private changed, never `showAs`, and never `body` (the
    contact's name goes in at creation only: Prextra cannot tell an Outlook-edited body from its
    own). Start and end go together when any time field changed (Graph checks the pair), with
    isAllDay only when it changed. An empty agreed state (never agreed) sends every field.
    """
    full = activity_to_graph(current)
    changed = {name for name in current if not agreed or agreed.get(name) != current[name]}
    patch = {key: full[key] for name in changed & _PATCHED_BY.keys() for key in _PATCHED_BY[name]}
    if changed & set(_TIMES):
        patch.update(start=full["start"], end=full["end"])
        if "all_day" in changed:
            patch["isAllDay"] = full["isAllDay"]
    return patch
