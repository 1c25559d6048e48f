"""The Outlook event entity: validation, stored shape, recurrence expansion and rendering.

References: https://learn.microsoft.com/graph/api/resources/event,
https://learn.microsoft.com/graph/api/user-post-events, https://learn.microsoft.com/graph/api/event-update,
https://learn.microsoft.com/graph/api/user-list-calendarview (occurrences and exceptions
expanded, series masters never returned) and https://learn.microsoft.com/graph/outlook-get-shared-events-calendars.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

from . import ids, recurrence, tz
from . import schema as s
from .errors import GraphError, bad_request, body_read_error

ENTITY = "microsoft.graph.event"
NO_TIME = "0001-01-01T00:00:00Z"
DEFAULT_ZONE = "UTC"

SENSITIVITY = ("normal", "personal", "private", "confidential")
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
IMPORTANCE = ("low", "normal", "high")
PROVIDERS = ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer")
# An invitee's answer to a received meeting (resources/responsestatus: "organizer" is the organizer's own).
RESPONSES = ("none", "tentativelyAccepted", "accepted", "declined", "notResponded")

WRITABLE: dict[str, s.Validator] = {
    "subject": s.string,
    "body": s.ITEM_BODY,
    "start": s.DATE_TIME_TIME_ZONE,
    "end": s.DATE_TIME_TIME_ZONE,
    "isAllDay": s.boolean,
    "location": s.LOCATION,
    "locations": s.collection(s.LOCATION),
    "attendees": s.collection(s.ATTENDEE),
    "categories": s.strings,
    "sensitivity": s.enum("microsoft.graph.sensitivity", SENSITIVITY),
    "showAs": s.enum("microsoft.graph.freeBusyStatus", SHOW_AS),
    "importance": s.enum("microsoft.graph.importance", IMPORTANCE),
    "isReminderOn": s.boolean,
    "reminderMinutesBeforeStart": s.integer,
    "responseRequested": s.boolean,
    "hideAttendees": s.boolean,
    "allowNewTimeProposals": s.boolean,
    "isOnlineMeeting": s.boolean,
    "onlineMeetingProvider": s.enum("microsoft.graph.onlineMeetingProviderType", PROVIDERS),
    "recurrence": s.recurrence_passthrough,
    "transactionId": s.string,
    "singleValueExtendedProperties": s.collection(s.EXTENDED_PROPERTY),
}
READ_ONLY = (
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "uid",
    "bodyPreview",
    "isCancelled",
    "isOrganizer",
    "isDraft",
    "seriesMasterId",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "onlineMeeting",
    "organizer",
    "responseStatus",
    "hasAttachments",
    "occurrenceId",
    "cancelledOccurrences",
    "exceptionOccurrences",
    "instances",
    "attachments",
    "calendar",
    "extensions",
    "multiValueExtendedProperties",
)
FIELDS = {**WRITABLE, **dict.fromkeys(READ_ONLY, s.ignored)}

# Plain properties kept as given (after validation), with their defaults on create.
PLAIN_DEFAULTS = {
    "subject": "",
    "categories": [],
    "sensitivity": "normal",
    "showAs": "busy",
    "importance": "normal",
    "isReminderOn": True,
    "reminderMinutesBeforeStart": 15,
    "responseRequested": True,
    "hideAttendees": False,
    "allowNewTimeProposals": True,
    "isOnlineMeeting": False,
    "onlineMeetingProvider": "unknown",
    "isCancelled": False,
}
# Changing one of these on a meeting makes Outlook send an update to its attendees.
MEETING_FIELDS = {"start", "end", "isAllDay", "location", "locations", "recurrence", "subject", "body"}
SELECTABLE = {
    "id",
    "@odata.etag",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "transactionId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
}


@dataclass(frozen=True)
class Occurrence:
    """One instance in a view: its date key (None for a single event) and its times.

    `start`/`end` are UTC instants; for all-day events `local_start`/`local_end` are the
    floating midnights Outlook shows in every time zone.
    """

    key: str | None
    start: dt.datetime
    end: dt.datetime
    local_start: dt.datetime | None = None
    local_end: dt.datetime | None = None


@dataclass(frozen=True)
class RenderContext:
    """Per-request rendering options taken from the Prefer header and the mailbox."""

    zone_name: str = DEFAULT_ZONE
    zone: object = tz.UTC
    body_text: bool = False
    owner_name: str = ""
    owner_address: str = ""


def validate(body: dict) -> dict:
    """Validate an event body and return its writable properties."""
    s.check_entity_type(body, ENTITY)
    fields = s.validate_object(body, FIELDS, ENTITY)
    attendees = fields.get("attendees") or []
    if len(attendees) > 500:
        raise bad_request("An event can have at most 500 attendees.", "ErrorInvalidRequest")
    for attendee in attendees:
        address = ((attendee or {}).get("emailAddress") or {}).get("address")
        if not address:
            raise bad_request(
                "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
                "ErrorInvalidRecipients",
            )
    return fields


def parse_time(value: dict | None, name: str) -> tuple[dt.datetime, str]:
    """Read a dateTimeTimeZone into (naive local time, zone name); 400 when unusable."""
    if not value or not value.get("dateTime"):
        raise bad_request(f"The '{name}' property is required.", "ErrorInvalidRequest")
    zone_name = value.get("timeZone") or DEFAULT_ZONE
    if tz.resolve_zone(zone_name) is None:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{zone_name}'.",
        )
    try:
        return tz.parse_local(value["dateTime"]), zone_name
    except ValueError as exc:
        raise body_read_error(
            f"Cannot convert the literal '{value['dateTime']}' to the expected type 'Edm.DateTimeOffset'."
        ) from exc


def _location(value: dict | None) -> dict:
    if not value:
        return {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    name = value.get("displayName") or ""
    return {
        "displayName": name,
        "locationUri": value.get("locationUri") or "",
        "locationType": value.get("locationType") or "default",
        "uniqueId": value.get("uniqueId") or name,
        "uniqueIdType": value.get("uniqueIdType") or ("private" if name else "unknown"),
        "address": {k: v for k, v in (value.get("address") or {}).items() if v is not None},
        "coordinates": {},
    }


def _attendee(value: dict) -> dict:
    email = value.get("emailAddress") or {}
    return {
        "type": value.get("type") or "required",
        "status": {"response": "none", "time": NO_TIME},
        "emailAddress": {"name": email.get("name") or email.get("address"), "address": email.get("address")},
    }


def text_to_html(text: str) -> str:
    """Outlook stores bodies as HTML; plain text is wrapped like Outlook does."""
    escaped = html.escape(text).replace("\n", "<br>\r\n")
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
        f"</head>\r\n<body>\r\n{escaped}\r\n</body>\r\n</html>\r\n"
    )


_TAG = re.compile(r"<(head|style|script)[^>]*>.*?</\1>|<[^>]+>", re.S | re.I)


def html_to_text(content: str) -> str:
    """A plain-text rendering of an HTML body (for bodyPreview and outlook.body-content-type)."""
    text = html.unescape(_TAG.sub(" ", re.sub(r"<br\s*/?>", "\n", content, flags=re.I)))
    lines = (re.sub(r"[ \t\r]+", " ", line).strip() for line in text.split("\n"))
    return "\r\n".join(line for line in lines if line)


def _body(value: dict | None) -> dict:
    if not value:
        return {"contentType": "html", "content": ""}
    content = value.get("content") or ""
    if (value.get("contentType") or "text") == "text":
        content = text_to_html(content) if content else ""
    return {"contentType": "html", "content": content}


def apply_fields(record: dict, fields: dict) -> None:
    """Copy validated plain properties (not times/recurrence) into `record["fields"]`."""
    target = record["fields"]
    for name, value in fields.items():
        if name in PLAIN_DEFAULTS:
            target[name] = PLAIN_DEFAULTS[name] if value is None else value
        elif name == "body":
            target["body"] = _body(value)
        elif name == "location":
            # "If you update the location property, any prior locations in the locations collection
            # would be removed and replaced by the new location value" (api/event-update.md).
            target["location"] = _location(value)
            target["locations"] = [target["location"]] if value and value.get("displayName") else []
        elif name == "locations":
            target["locations"] = [_location(v) for v in value]
            if value and "location" not in fields:
                target["location"] = _location(value[0])
        elif name == "attendees":
            target["attendees"] = [_attendee(a) for a in value]
        elif name == "singleValueExtendedProperties":
            record.setdefault("props", {}).update({p["id"]: p.get("value") for p in value if p and p.get("id")})


def set_times(record: dict, fields: dict) -> None:
    """Apply start/end/isAllDay (whole or partial) to a record and check them together."""
    given = fields.get("isAllDay")  # null (as SDKs send it) means "unchanged"
    all_day = bool(record.get("all_day", False) if given is None else given)
    start_local, start_zone = _current_or_new(record, fields, "start")
    end_local, end_zone = _current_or_new(record, fields, "end")
    if all_day:
        if start_local.time() != dt.time(0) or end_local.time() != dt.time(0):
            raise bad_request(
                "Your request can't be completed. An all-day event must start and end at midnight.",
                "ErrorInvalidRequest",
            )
        start, end = start_local, end_local
    else:
        start = tz.localize(start_local, tz.resolve_zone(start_zone))
        end = tz.localize(end_local, tz.resolve_zone(end_zone))
    if end < start or (all_day and end == start):
        raise bad_request(
            "Your request can't be completed. The end time must be after the start time.",
            "ErrorInvalidRequest",
        )
    record.update(all_day=all_day, start=start, end=end, tz_start=start_zone, tz_end=end_zone)


def _current_or_new(record: dict, fields: dict, name: str) -> tuple[dt.datetime, str]:
    if fields.get(name) is not None:
        return parse_time(fields[name], name)
    if name not in record:
        raise bad_request(f"The '{name}' property is required.", "ErrorInvalidRequest")
    zone_name = record["tz_" + name]
    value = record[name]
    if record["all_day"]:
        return value, zone_name
    return tz.to_zone(value, tz.resolve_zone(zone_name)), zone_name


def set_recurrence(record: dict, value: object) -> None:
    """Validate and store a patternedRecurrence (None makes a single instance)."""
    try:
        record["recurrence"] = recurrence.normalize_recurrence(value, record["tz_start"])
    except recurrence.RecurrenceError as exc:
        raise bad_request(str(exc), "ErrorInvalidRequest") from exc


def shape(record: dict) -> dict:
    """What decides which occurrences a series has: kept in the history for delta."""
    return {
        "all_day": record["all_day"],
        "start": record["start"],
        "end": record["end"],
        "tz_start": record["tz_start"],
        "recurrence": record["recurrence"],
        "cancelled": list(record.get("cancelled", ())),
        "moved": {k: (e["start"], e["end"]) for k, e in record.get("exceptions", {}).items()},
    }


def expand(shape_: dict, window: tuple[dt.datetime, dt.datetime], floating) -> list[Occurrence]:
    """The instances of an event overlapping [start, end) of `window`, sorted by start."""
    w_start, w_end = window
    if shape_["recurrence"] is None:
        occ = _single(shape_, floating)
        return [occ] if overlaps(occ, w_start, w_end) else []
    return _series(shape_, w_start, w_end, floating)


def _single(shape_: dict, floating) -> Occurrence:
    if shape_["all_day"]:
        return Occurrence(
            None,
            tz.localize(shape_["start"], floating),
            tz.localize(shape_["end"], floating),
            shape_["start"],
            shape_["end"],
        )
    return Occurrence(None, shape_["start"], shape_["end"])


def overlaps(occ: Occurrence, w_start: dt.datetime, w_end: dt.datetime) -> bool:
    if occ.start == occ.end:
        return w_start <= occ.start < w_end
    return occ.start < w_end and occ.end > w_start


def _series(shape_: dict, w_start: dt.datetime, w_end: dt.datetime, floating) -> list[Occurrence]:
    all_day = shape_["all_day"]
    zone = floating if all_day else (tz.resolve_zone(shape_["tz_start"]) or tz.UTC)
    local_start = shape_["start"] if all_day else tz.to_zone(shape_["start"], zone)
    duration = (shape_["end"] - shape_["start"]) if all_day else (tz.to_zone(shape_["end"], zone) - local_start)
    since = tz.to_zone(w_start, zone).date() - dt.timedelta(days=duration.days + 1)
    until = tz.to_zone(w_end, zone).date()
    skipped = set(shape_["cancelled"]) | set(shape_["moved"])
    found = []
    for day in recurrence.occurrence_dates(shape_["recurrence"], until, since):
        key = day.strftime("%Y%m%d")
        if key in skipped:
            continue
        local = dt.datetime.combine(day, local_start.time())
        occ = Occurrence(
            key,
            tz.localize(local, zone),
            tz.localize(local + duration, zone),
            local if all_day else None,
            local + duration if all_day else None,
        )
        if overlaps(occ, w_start, w_end):
            found.append(occ)
    found.extend(_moved(shape_, zone, all_day, w_start, w_end))
    return sorted(found, key=lambda o: o.start)


def _moved(shape_: dict, zone, all_day: bool, w_start, w_end) -> list[Occurrence]:
    found = []
    for key, (start, end) in shape_["moved"].items():
        if key in shape_["cancelled"]:
            continue
        if all_day:
            occ = Occurrence(key, tz.localize(start, zone), tz.localize(end, zone), start, end)
        else:
            occ = Occurrence(key, start, end)
        if overlaps(occ, w_start, w_end):
            found.append(occ)
    return found


def find_occurrence(record: dict, key: str, floating) -> Occurrence | None:
    """The occurrence of a series on original date `key`, if the pattern has one."""
    if record["recurrence"] is None or key in record.get("cancelled", ()):
        return None
    if key in record.get("exceptions", {}):
        start, end = record["exceptions"][key]["start"], record["exceptions"][key]["end"]
        if record["all_day"]:
            return Occurrence(key, tz.localize(start, floating), tz.localize(end, floating), start, end)
        return Occurrence(key, start, end)
    day = dt.date(int(key[:4]), int(key[4:6]), int(key[6:8]))
    zone = floating if record["all_day"] else (tz.resolve_zone(record["tz_start"]) or tz.UTC)
    probe = (tz.localize(dt.datetime.combine(day, dt.time(0)), zone) - dt.timedelta(days=1),)
    window = (probe[0], probe[0] + dt.timedelta(days=3))
    plain = dict(shape(record), moved={})
    for occ in _series(plain, window[0], window[1], floating):
        if occ.key == key:
            return occ
    return None


def _time_out(occ_local: dt.datetime | None, instant: dt.datetime, ctx: RenderContext) -> dict:
    local = occ_local if occ_local is not None else tz.to_zone(instant, ctx.zone)
    return {"dateTime": tz.format_local(local), "timeZone": ctx.zone_name}


def render(record: dict, ctx: RenderContext, occ: Occurrence | None = None) -> dict:
    """The event (a single instance, a series master, or one occurrence) as Graph returns it."""
    exception = record.get("exceptions", {}).get(occ.key) if occ and occ.key else None
    fields = dict(record["fields"])
    if exception:
        fields.update(exception["fields"])
    change_key = exception["changeKey"] if exception else record["changeKey"]
    item_id = ids.occurrence_id(record["id"], occ.key) if occ and occ.key else record["id"]
    if occ is None:
        local = (record["start"], record["end"]) if record["all_day"] else (None, None)
        occ = Occurrence(None, record["start"], record["end"], *local)
    kind = _kind(record, occ, exception)
    received = record.get("received")
    body = fields["body"]
    text = html_to_text(body["content"])
    if ctx.body_text:
        body = {"contentType": "text", "content": text}
    out = {
        "@odata.etag": f'W/"{change_key}"',
        "id": item_id,
        "createdDateTime": exception["createdDateTime"] if exception else record["createdDateTime"],
        "lastModifiedDateTime": exception["lastModifiedDateTime"] if exception else record["lastModifiedDateTime"],
        "changeKey": change_key,
        "categories": fields["categories"],
        # Returned on GET, lists and calendarView/delta alike (api/event-delta's example response
        # carries it; delta returns "the same properties" as calendarView), null when none was set.
        "transactionId": record.get("transactionId"),
        "originalStartTimeZone": record["tz_start"],
        "originalEndTimeZone": record["tz_end"],
        "iCalUId": ids.occurrence_ical_uid(record["ical"], occ.key) if occ.key else record["ical"],
        "reminderMinutesBeforeStart": fields["reminderMinutesBeforeStart"],
        "isReminderOn": fields["isReminderOn"],
        "hasAttachments": False,
        "subject": fields["subject"],
        "bodyPreview": text[:255],
        "importance": fields["importance"],
        "sensitivity": fields["sensitivity"],
        "isAllDay": record["all_day"],
        "isCancelled": fields["isCancelled"],
        "isOrganizer": received is None,  # true only when the calendar owner organizes it (resources/event.md)
        "responseRequested": fields["responseRequested"],
        "seriesMasterId": record["id"] if occ.key else None,
        "showAs": fields["showAs"],
        "type": kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={item_id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": fields["isOnlineMeeting"],
        "onlineMeetingProvider": fields["onlineMeetingProvider"],
        "allowNewTimeProposals": fields["allowNewTimeProposals"],
        "isDraft": False,
        "hideAttendees": fields["hideAttendees"],
        "responseStatus": _response_status(received),
        "body": body,
        "start": _time_out(occ.local_start, occ.start, ctx),
        "end": _time_out(occ.local_end, occ.end, ctx),
        "location": fields["location"],
        "locations": fields["locations"],
        "recurrence": record["recurrence"] if kind == "seriesMaster" else None,
        "attendees": _visible_attendees(fields, received, ctx),
        "organizer": {"emailAddress": received["organizer"] if received else _owner(ctx)},
        "onlineMeeting": None,
    }
    return out


def _owner(ctx: RenderContext) -> dict:
    return {"name": ctx.owner_name, "address": ctx.owner_address}


def _response_status(received: dict | None) -> dict:
    if received is None:
        return {"response": "organizer", "time": NO_TIME}
    return {"response": received["response"], "time": received.get("responseTime") or NO_TIME}


def _visible_attendees(fields: dict, received: dict | None, ctx: RenderContext) -> list[dict]:
    """The attendees this mailbox's copy shows. When the organizer of a received meeting set
    hideAttendees, "each attendee only sees themselves in the meeting request and meeting Tracking
    list" (api/event-update.md, resources/event.md: hideAttendees): the copy lists the mailbox alone."""
    if received is None or not fields["hideAttendees"]:
        return fields["attendees"]
    mine = (ctx.owner_address or "").lower()
    return [a for a in fields["attendees"] if (a["emailAddress"].get("address") or "").lower() == mine]


def receive(record: dict, organizer: dict, response: str, mailbox_address: str, mailbox_name: str) -> None:
    """Make `record` this mailbox's copy of a meeting organized by someone else.

    resources/event.md: isOrganizer is true only when the calendar owner is the organizer;
    organizer is the organizer's recipient; responseStatus is the invitee's answer
    (resources/responsestatus.md: none, organizer, tentativelyAccepted, accepted, declined,
    notResponded). The mailbox is one of the attendees: Outlook put the invitation in its
    calendar because it was invited.
    """
    address = organizer.get("address") if isinstance(organizer, dict) else None
    if not isinstance(address, str) or "@" not in address:
        raise bad_request("organizer.emailAddress.address must be an email address.", "ErrorInvalidRequest")
    if address.lower() == mailbox_address.lower():
        raise bad_request("A received meeting is organized by someone else.", "ErrorInvalidRequest")
    if response not in RESPONSES:
        raise bad_request(f"responseStatus must be one of {', '.join(RESPONSES)}.", "ErrorInvalidRequest")
    attendees = record["fields"]["attendees"]
    if mailbox_address.lower() not in (a.lower() for a in attendee_addresses(attendees) if a):
        attendees.append(_attendee({"emailAddress": {"name": mailbox_name, "address": mailbox_address}}))
    for attendee in attendees:
        if (attendee["emailAddress"].get("address") or "").lower() == mailbox_address.lower():
            attendee["status"] = {"response": response, "time": NO_TIME}
    record["received"] = {"organizer": {"name": organizer.get("name") or address, "address": address},
                          "response": response}  # fmt: skip


def _kind(record: dict, occ: Occurrence, exception: dict | None) -> str:
    if record["recurrence"] is None:
        return "singleInstance"
    if occ.key is None:
        return "seriesMaster"
    return "exception" if exception else "occurrence"


def new_record(item_id: str, ical: str) -> dict:
    """An empty event record with Outlook's defaults for every plain property."""
    fields = dict(PLAIN_DEFAULTS, categories=[])
    fields.update(body=_body(None), location=_location(None), locations=[], attendees=[])
    return {
        "id": item_id,
        "ical": ical,
        "fields": fields,
        "recurrence": None,
        "exceptions": {},
        "cancelled": [],
        "history": [],
        "props": {},
        "all_day": False,
    }


def attendee_addresses(attendees: list[dict]) -> list[str]:
    """Addresses of an attendee list, in order."""
    return [a["emailAddress"]["address"] for a in attendees if a.get("emailAddress")]


def extended_properties(record: dict, wanted: str | None) -> list[dict]:
    """singleValueExtendedProperties for $expand; the name part of ids is case-sensitive."""
    props = record.get("props") or {}
    return [
        {"id": pid, "value": value} for pid, value in props.items() if wanted is None or _same_property_id(pid, wanted)
    ]


def _same_property_id(a: str, b: str) -> bool:
    head_a, _, name_a = a.partition(" Name ")
    head_b, _, name_b = b.partition(" Name ")
    return head_a.lower() == head_b.lower() and name_a == name_b
