"""Time zones as Outlook names them: Windows names, IANA names and UTC.

Reference: https://learn.microsoft.com/graph/api/resources/datetimetimezone and the
`Prefer: outlook.timezone` header (https://learn.microsoft.com/graph/api/user-list-calendarview).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

UTC = dt.UTC

# Windows zone name -> IANA zone (CLDR windowsZones, "001" territory), the ones likely here.
WINDOWS_TO_IANA = {
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "tzone://Microsoft/Utc": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "US Mountain Standard Time": "America/Phoenix",
    "Pacific Standard Time": "America/Los_Angeles",
    "Alaskan Standard Time": "America/Anchorage",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Atlantic Standard Time": "America/Halifax",
    "Newfoundland Standard Time": "America/St_Johns",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Tokyo Standard Time": "Asia/Tokyo",
    "China Standard Time": "Asia/Shanghai",
    "India Standard Time": "Asia/Calcutta",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland",
}
_LOWER_WINDOWS = {name.lower(): iana for name, iana in WINDOWS_TO_IANA.items()}


@functools.lru_cache(maxsize=256)
def resolve_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """Return the zone for a Windows or IANA name, or None when Outlook would not know it."""
    if not name or not isinstance(name, str):
        return None
    iana = _LOWER_WINDOWS.get(name.strip().lower(), name.strip())
    try:
        return zoneinfo.ZoneInfo(iana)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def parse_local(value: str) -> dt.datetime:
    """Parse a dateTimeTimeZone.dateTime ("2024-05-01T09:00:00[.0000000]") as naive local time.

    Graph accepts up to 7 fractional digits; Python accepts 6, so extra digits are cut.
    Raises ValueError for anything else.
    """
    text = value.strip()
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        # Graph ignores an offset inside dateTime in favour of timeZone; so do we.
        parsed = parsed.replace(tzinfo=None)
    return parsed


def parse_window_bound(value: str) -> dt.datetime:
    """Parse startDateTime/endDateTime of calendarView: ISO 8601, offset honoured, UTC if none."""
    text = value.strip().replace(" ", "+")  # a '+' offset left unencoded arrives as a space
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_local(value: dt.datetime) -> str:
    """Format a naive local time the way Graph does: 7 fractional digits, no offset."""
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0"


def format_utc(value: dt.datetime) -> str:
    """Format an aware time as Graph's UTC DateTimeOffset (`…T03:00:51.2453720Z`)."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0Z"


def to_zone(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """Convert an aware instant to naive wall-clock time in `zone`."""
    return value.astimezone(zone).replace(tzinfo=None)


def localize(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """Attach `zone` to a naive wall-clock time and return the UTC instant."""
    return value.replace(tzinfo=zone).astimezone(UTC)
