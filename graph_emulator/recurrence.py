"""Outlook recurrence patterns (patternedRecurrence): validation and expansion into dates.

Reference: https://learn.microsoft.com/graph/api/resources/patternedrecurrence,
https://learn.microsoft.com/graph/api/resources/recurrencepattern and
https://learn.microsoft.com/graph/api/resources/recurrencerange.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator

DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
INDEXES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
PATTERN_TYPES = (
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
)
RANGE_TYPES = ("endDate", "noEnd", "numbered")
NO_DATE = "0001-01-01"
MAX_PERIODS = 6000  # bounds every expansion loop (about 16 years of daily occurrences)

PATTERN_KEYS = {"type", "interval", "month", "dayOfMonth", "daysOfWeek", "firstDayOfWeek", "index"}
RANGE_KEYS = {"type", "startDate", "endDate", "recurrenceTimeZone", "numberOfOccurrences"}


class RecurrenceError(ValueError):
    """The pattern is not one Outlook accepts; the message says why."""


def _day_index(day: dt.date) -> int:
    """Sunday=0 … Saturday=6, the order of Graph's dayOfWeek enum."""
    return (day.weekday() + 1) % 7


def _check_keys(value: object, allowed: set[str], type_name: str) -> dict:
    if not isinstance(value, dict):
        raise RecurrenceError(f"A 'StartObject' node was expected for '{type_name}'.")
    for key in value:
        if key not in allowed and not key.startswith("@odata."):
            raise RecurrenceError(f"The property '{key}' does not exist on type 'microsoft.graph.{type_name}'.")
    return value


def _parse_date(value: object, name: str) -> str:
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise RecurrenceError(f"Cannot convert the literal '{value}' to 'Edm.Date' ({name}).") from exc


def _normalize_pattern(raw: object) -> dict:
    pattern = _check_keys(raw, PATTERN_KEYS, "recurrencePattern")
    kind = pattern.get("type")
    if kind not in PATTERN_TYPES:
        raise RecurrenceError(f"Cannot convert the literal '{kind}' to 'microsoft.graph.recurrencePatternType'.")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 999:
        raise RecurrenceError("The recurrence pattern interval must be a positive integer.")
    days = pattern.get("daysOfWeek") or []
    if not isinstance(days, list) or any(d not in DAYS for d in days):
        raise RecurrenceError("daysOfWeek must be a list of day names.")
    first_day = pattern.get("firstDayOfWeek") or "sunday"
    if first_day not in DAYS:
        raise RecurrenceError(f"Cannot convert the literal '{first_day}' to 'microsoft.graph.dayOfWeek'.")
    index = pattern.get("index") or "first"
    if index not in INDEXES:
        raise RecurrenceError(f"Cannot convert the literal '{index}' to 'microsoft.graph.weekIndex'.")
    month = pattern.get("month") or 0
    day_of_month = pattern.get("dayOfMonth") or 0
    if not isinstance(month, int) or not isinstance(day_of_month, int):
        raise RecurrenceError("month and dayOfMonth must be integers.")
    normalized = {
        "type": kind,
        "interval": interval,
        "month": month,
        "dayOfMonth": day_of_month,
        "daysOfWeek": [d for d in DAYS if d in days],
        "firstDayOfWeek": first_day,
        "index": index,
    }
    _check_pattern_needs(normalized)
    return normalized


def _check_pattern_needs(pattern: dict) -> None:
    """Each pattern type requires its own properties (recurrencePattern doc table)."""
    kind = pattern["type"]
    if kind in ("weekly", "relativeMonthly", "relativeYearly") and not pattern["daysOfWeek"]:
        raise RecurrenceError(f"A '{kind}' recurrence pattern requires daysOfWeek.")
    if kind in ("absoluteMonthly", "absoluteYearly") and not 1 <= pattern["dayOfMonth"] <= 31:
        raise RecurrenceError(f"A '{kind}' recurrence pattern requires dayOfMonth (1-31).")
    if kind in ("absoluteYearly", "relativeYearly") and not 1 <= pattern["month"] <= 12:
        raise RecurrenceError(f"A '{kind}' recurrence pattern requires month (1-12).")
    if kind == "absoluteYearly" and pattern["dayOfMonth"] > calendar.monthrange(2024, pattern["month"])[1]:
        raise RecurrenceError("dayOfMonth does not exist in that month.")


def _normalize_range(raw: object, default_zone: str) -> dict:
    rng = _check_keys(raw, RANGE_KEYS, "recurrenceRange")
    kind = rng.get("type")
    if kind not in RANGE_TYPES:
        raise RecurrenceError(f"Cannot convert the literal '{kind}' to 'microsoft.graph.recurrenceRangeType'.")
    if not rng.get("startDate"):
        raise RecurrenceError("The recurrence range requires startDate.")
    normalized = {
        "type": kind,
        "startDate": _parse_date(rng["startDate"], "startDate"),
        "endDate": NO_DATE,
        "recurrenceTimeZone": rng.get("recurrenceTimeZone") or default_zone,
        "numberOfOccurrences": 0,
    }
    if kind == "endDate":
        normalized["endDate"] = _parse_date(rng.get("endDate"), "endDate")
        if normalized["endDate"] < normalized["startDate"]:
            raise RecurrenceError("The recurrence range endDate is before its startDate.")
    if kind == "numbered":
        count = rng.get("numberOfOccurrences")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise RecurrenceError("A 'numbered' recurrence range requires numberOfOccurrences >= 1.")
        normalized["numberOfOccurrences"] = count
    return normalized


def normalize_recurrence(raw: object, default_zone: str) -> dict | None:
    """Validate a patternedRecurrence and return it with every property Graph echoes back."""
    if raw is None:
        return None
    value = _check_keys(raw, {"pattern", "range"}, "patternedRecurrence")
    if "pattern" not in value or "range" not in value:
        raise RecurrenceError("A recurrence requires both pattern and range.")
    return {
        "pattern": _normalize_pattern(value["pattern"]),
        "range": _normalize_range(value["range"], default_zone),
    }


def _daily(pattern: dict, start: dt.date, skip_to: dt.date | None) -> Iterator[dt.date]:
    step = pattern["interval"]
    first = start
    if skip_to and skip_to > start:
        first = start + dt.timedelta(days=((skip_to - start).days // step) * step)
    for n in range(MAX_PERIODS):
        yield first + dt.timedelta(days=n * step)


def _weekly(pattern: dict, start: dt.date, skip_to: dt.date | None) -> Iterator[dt.date]:
    first_day = DAYS.index(pattern["firstDayOfWeek"])
    week0 = start - dt.timedelta(days=(_day_index(start) - first_day) % 7)
    step = pattern["interval"]
    periods = 0
    if skip_to and skip_to > week0:
        periods = max(0, ((skip_to - week0).days // 7) // step - 1)
    offsets = sorted((DAYS.index(d) - first_day) % 7 for d in pattern["daysOfWeek"])
    for n in range(periods, periods + MAX_PERIODS):
        week = week0 + dt.timedelta(weeks=n * step)
        for offset in offsets:
            yield week + dt.timedelta(days=offset)


def _months(start: dt.date, step: int) -> Iterator[tuple[int, int]]:
    index = start.year * 12 + start.month - 1
    for n in range(MAX_PERIODS):
        yield divmod(index + n * step, 12)


def _nth_weekday(year: int, month: int, days: list[str], index: str) -> dt.date | None:
    wanted = {DAYS.index(d) for d in days}
    last = calendar.monthrange(year, month)[1]
    matches = [dt.date(year, month, d) for d in range(1, last + 1) if _day_index(dt.date(year, month, d)) in wanted]
    position = INDEXES[index]
    if position >= len(matches):
        return None
    return matches[position]


def _absolute_monthly(pattern: dict, start: dt.date, _skip: dt.date | None) -> Iterator[dt.date]:
    for year, month0 in _months(start, pattern["interval"]):
        if pattern["dayOfMonth"] <= calendar.monthrange(year, month0 + 1)[1]:
            yield dt.date(year, month0 + 1, pattern["dayOfMonth"])


def _relative_monthly(pattern: dict, start: dt.date, _skip: dt.date | None) -> Iterator[dt.date]:
    for year, month0 in _months(start, pattern["interval"]):
        found = _nth_weekday(year, month0 + 1, pattern["daysOfWeek"], pattern["index"])
        if found:
            yield found


def _absolute_yearly(pattern: dict, start: dt.date, _skip: dt.date | None) -> Iterator[dt.date]:
    for n in range(MAX_PERIODS // 12):
        year = start.year + n * pattern["interval"]
        if pattern["dayOfMonth"] <= calendar.monthrange(year, pattern["month"])[1]:
            yield dt.date(year, pattern["month"], pattern["dayOfMonth"])


def _relative_yearly(pattern: dict, start: dt.date, _skip: dt.date | None) -> Iterator[dt.date]:
    for n in range(MAX_PERIODS // 12):
        year = start.year + n * pattern["interval"]
        found = _nth_weekday(year, pattern["month"], pattern["daysOfWeek"], pattern["index"])
        if found:
            yield found


_GENERATORS = {
    "daily": _daily,
    "weekly": _weekly,
    "absoluteMonthly": _absolute_monthly,
    "relativeMonthly": _relative_monthly,
    "absoluteYearly": _absolute_yearly,
    "relativeYearly": _relative_yearly,
}


def occurrence_dates(recurrence: dict, until: dt.date, since: dt.date | None = None) -> Iterator[dt.date]:
    """Yield the series' dates in order, from `since` (a hint) up to `until` inclusive.

    A numbered range always counts from its start date, so `since` is ignored for it.
    """
    pattern, rng = recurrence["pattern"], recurrence["range"]
    start = dt.date.fromisoformat(rng["startDate"])
    end = dt.date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    limit = rng["numberOfOccurrences"] if rng["type"] == "numbered" else 0
    skip_to = None if limit else since
    count = 0
    for day in _GENERATORS[pattern["type"]](pattern, start, skip_to):
        if day < start:
            continue
        if day > until or (end and day > end):
            return
        count += 1
        if skip_to is None or day >= skip_to:
            yield day
        if limit and count >= limit:
            return
