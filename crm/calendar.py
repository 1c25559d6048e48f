"""Calendar logic of the activity screens (R17, R18): dates, grids, time lines, overlap columns.

Pure functions, no database: the views fetch activities once, then everything is laid out here in
Python. All day arithmetic is done in local time (America/Toronto), where a day is 23, 24 or 25
hours long; positions on a time line are minutes elapsed since local midnight.
"""

from __future__ import annotations

import calendar as pycalendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, TypeVar

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import NO_SUBJECT, hidden_from, received_meeting_reason
from .signals import Unsent, is_unsent, outlook_waits

SUNDAY = 6  # Python's weekday number: the customer's weeks start on Sunday.
DAY_START = time(8, 0)  # R18: the daily time line shows 08:00–18:00 by default.
DAY_END = time(18, 0)
MONTH_CELL_LINES = 4  # activities listed in a day of the monthly grid before "+N".
MIN_BLOCK_MINUTES = 15  # a zero-length activity still gets a block one can click.

T = TypeVar("T")


# ---------------------------------------------------------------- days in local time


def local_midnight(day: date) -> datetime:
    """The aware instant of local midnight starting `day` (DST never changes at midnight here)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of the local `day`: 23, 24 or 25 hours."""
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def local_moment(day: date, moment: time) -> datetime | None:
    """`day` at wall-clock `moment`, or None when that time does not exist (spring forward)."""
    zone = timezone.get_default_timezone()
    aware = datetime.combine(day, moment, tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != datetime.combine(day, moment):
        return None
    return aware


def covered_days(start: datetime, end: datetime) -> list[date]:
    """The local days an activity [start, end) touches; ending at midnight does not touch the next day."""
    zone = timezone.get_default_timezone()
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date() if end > start else first
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def month_weeks(year: int, month: int) -> list[list[date]]:
    """The weeks of the month's grid, Sunday first, with the neighbouring months' days (R17)."""
    return pycalendar.Calendar(firstweekday=SUNDAY).monthdatescalendar(year, month)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_focus_day(month: date, selected: date | None, today: date) -> date:
    """The day the monthly calendar's « Nouvelle activité » and « Journalier » act on (R17): the day
    clicked, else today when today is in the month shown, else the month's first day."""
    if selected:
        return selected
    return today if today.replace(day=1) == month.replace(day=1) else month.replace(day=1)


# ---------------------------------------------------------------- durations


def duration_words(start: datetime, end: datetime, all_day: bool) -> str:
    """A duration in words, the one place every screen takes it from (R19): « 1 heure », « 2 heures »,
    « 1 h 30 », « 30 minutes », « Toute la journée », « 3 jours », « 1 jour 2 heures ».

    Whole hours and lone minutes are words agreeing with their count (ngettext: « 1 heure », never
    « 1 Heures »); hours with minutes take the short form « 1 h 30 » (minutes on two digits, « 1 h 05 »).
    """
    if all_day:
        days = len(covered_days(start, end))
        if days <= 1:
            return _("Toute la journée")
        return ngettext("%(count)d jour", "%(count)d jours", days) % {"count": days}
    minutes = int((end - start).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(ngettext("%(count)d jour", "%(count)d jours", days) % {"count": days})
    if hours and minutes:
        parts.append(_("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": minutes})
    elif hours:
        parts.append(ngettext("%(count)d heure", "%(count)d heures", hours) % {"count": hours})
    elif minutes or not parts:
        parts.append(ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes})
    return " ".join(parts)


# ---------------------------------------------------------------- overlap columns


@dataclass(frozen=True)
class Placed(Generic[T]):
    """An item of a time line with its column among `columns` side-by-side columns."""

    item: T
    column: int
    columns: int


def assign_columns(items: Iterable[T], span: Callable[[T], tuple[float, float]]) -> list[Placed[T]]:
    """Lay overlapping items side by side (R18).

    `span(item)` gives (start, end) as comparable numbers, end exclusive. Items that overlap,
    directly or through a chain of overlaps, form a cluster; each takes the first free column of its
    cluster, and every item of a cluster shares the cluster's column count, so the blocks line up.
    """
    ordered = sorted(items, key=lambda item: (span(item)[0], -span(item)[1]))
    placed: list[Placed[T]] = []
    cluster: list[tuple[T, int]] = []
    column_ends: list[float] = []
    cluster_end = float("-inf")

    def close_cluster() -> None:
        placed.extend(Placed(item, column, len(column_ends)) for item, column in cluster)

    for item in ordered:
        start, end = span(item)
        if cluster and start >= cluster_end:
            close_cluster()
            cluster, column_ends, cluster_end = [], [], float("-inf")
        column = next((index for index, busy_until in enumerate(column_ends) if busy_until <= start), None)
        if column is None:
            column = len(column_ends)
            column_ends.append(end)
        else:
            column_ends[column] = end
        cluster.append((item, column))
        cluster_end = max(cluster_end, end)
    if cluster:
        close_cluster()
    return placed


# ---------------------------------------------------------------- the monthly grid


@dataclass
class MonthDay:
    day: date
    in_month: bool
    is_today: bool
    entries: list = field(default_factory=list)

    @property
    def shown(self) -> list:
        return self.entries[:MONTH_CELL_LINES]

    @property
    def iso(self) -> str:
        """ "2026-12-01": the day in the links of its cell."""
        return self.day.isoformat()

    @property
    def hidden_count(self) -> int:
        return max(0, len(self.entries) - MONTH_CELL_LINES)


@dataclass(frozen=True)
class DayEntry(Generic[T]):
    """One activity on one day of the grid; a multi-day activity has one entry per day it covers."""

    item: T
    spans: bool  # all-day or several days: drawn as a bar
    first: bool  # the bar starts this day
    last: bool  # the bar ends this day


def _entry_order(entry: DayEntry) -> tuple:
    return (not entry.spans, entry.item.start, entry.item.end)


def month_grid(year: int, month: int, items: Iterable[T], today: date) -> list[list[MonthDay]]:
    """The month's weeks of days, each listing the items it covers: bars first, then by start (R17).

    Items need `start`, `end` (aware) and `all_day`.
    """
    weeks = [[MonthDay(day, day.month == month, day == today) for day in week] for week in month_weeks(year, month)]
    cells = {cell.day: cell for week in weeks for cell in week}
    for item in items:
        days = covered_days(item.start, item.end)
        spans = item.all_day or len(days) > 1
        for day in days:
            if day in cells:
                cells[day].entries.append(DayEntry(item, spans, day == days[0], day == days[-1]))
    for cell in cells.values():
        cell.entries.sort(key=_entry_order)
    return weeks


def day_entries(day: date, items: Iterable[T]) -> list[DayEntry[T]]:
    """The items covering the local `day`, bars first, then by start (the day's list)."""
    entries = []
    for item in items:
        days = covered_days(item.start, item.end)
        if day in days:
            entries.append(DayEntry(item, item.all_day or len(days) > 1, day == days[0], day == days[-1]))
    return sorted(entries, key=_entry_order)


# ---------------------------------------------------------------- the daily time line


@dataclass(frozen=True)
class Row:
    """A row of the time line: `offset` minutes after local midnight, `minutes` long."""

    offset: int
    minutes: int
    moment: datetime  # aware; its local time labels the row


@dataclass(frozen=True)
class Block(Generic[T]):
    """An activity on the time line, in minutes from the time line's first row."""

    item: T
    top: int
    length: int
    column: int
    columns: int
    continued: bool = False  # the last day of an activity begun on an earlier day


@dataclass
class Timeline(Generic[T]):
    day: date
    scale: int
    rows: list[Row]
    blocks: list[Block[T]]
    band: list[T]  # all-day and multi-day activities, shown above the time line

    @property
    def total_minutes(self) -> int:
        return sum(row.minutes for row in self.rows)


def _touches(item, start: datetime, end: datetime) -> bool:
    """Whether `item` meets [start, end) (all in UTC); a zero-length item meets the range it sits in."""
    item_start, item_end = item.start.astimezone(UTC), item.end.astimezone(UTC)
    if item_end > item_start:
        return item_start < end and item_end > start
    return start <= item_start < end


def _minutes_between(start: datetime, end: datetime) -> int:
    """Real minutes elapsed: aware datetimes of one zone subtract as wall-clock times, UTC ones do not."""
    return int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)


def _window(day: date, timed: Sequence[tuple[int, int]], scale: int, day_length: int) -> tuple[int, int]:
    """[first, last) minutes shown: 08:00–18:00 widened by whole rows to fit every activity."""
    midnight = local_midnight(day)
    first = _minutes_between(midnight, local_moment(day, DAY_START) or midnight)
    last = _minutes_between(midnight, local_moment(day, DAY_END) or midnight)
    earliest = min([first, *(start for start, _end in timed)])
    latest = max([last, *(end for _start, end in timed)])
    if earliest < first:
        first -= -(-(first - earliest) // scale) * scale  # whole rows, anchored on 08:00
    first = max(first, 0)
    last = first + -(-(latest - first) // scale) * scale
    return first, min(last, day_length)


def day_timeline(day: date, items: Iterable[T], scale: int) -> Timeline[T]:
    """The local `day` as rows of `scale` minutes, its timed activities as blocks side by side (R18).

    Items need `start`, `end` (aware) and `all_day`. All-day activities and those that do not
    start and end within the day go to the band on top. A timed activity begun on an earlier day
    also has a block on its last day, from the top of the time line down to its end time
    (`Block.continued`): the day shows when its owner is free again. Rows and blocks are measured in
    minutes elapsed since local midnight, so a 23- or 25-hour day (DST) is laid out correctly and
    the rows are labelled with the real local time.
    """
    start_of_day, end_of_day = (moment.astimezone(UTC) for moment in day_bounds(day))
    day_length = _minutes_between(start_of_day, end_of_day)
    band, timed, continued = [], [], []
    for item in items:
        if not _touches(item, start_of_day, end_of_day):
            continue
        begun_before = item.start.astimezone(UTC) < start_of_day
        if item.all_day or begun_before or item.end.astimezone(UTC) > end_of_day:
            band.append(item)
            if not item.all_day and begun_before and item.end.astimezone(UTC) <= end_of_day:
                continued.append(item)
        else:
            timed.append(item)
    band.sort(key=lambda item: (item.start, item.end))
    spans = {
        id(item): (
            _minutes_between(start_of_day, item.start),
            max(_minutes_between(start_of_day, item.end), _minutes_between(start_of_day, item.start) + 1),
        )
        for item in timed
    }
    ends = {id(item): _minutes_between(start_of_day, item.end) for item in continued}
    # A continued block needs at least its last minute in view: the window widens to it if need be.
    first, last = _window(day, [*spans.values(), *((end - 1, end) for end in ends.values())], scale, day_length)
    spans.update({key: (min(first, end - 1), end) for key, end in ends.items()})
    timed.extend(continued)
    rows = [
        Row(offset, min(scale, last - offset), start_of_day + timedelta(minutes=offset))
        for offset in range(first, last, scale)
    ]

    def shown_span(item: T) -> tuple[int, int]:
        start, end = spans[id(item)]
        return start, min(max(end, start + MIN_BLOCK_MINUTES), day_length)

    blocks = []
    for placed in assign_columns(timed, shown_span):
        start, end = shown_span(placed.item)
        blocks.append(
            Block(placed.item, start - first, end - start, placed.column, placed.columns, id(placed.item) in ends)
        )
    blocks.sort(key=lambda block: (block.top, block.column))
    return Timeline(day, scale, rows, blocks, band)


# ---------------------------------------------------------------- privacy


@dataclass(frozen=True)
class ActivityCard:
    """An activity as one viewer may see it (R15, the privacy rule of crm.models.hidden_from).

    Another user's private activity is `busy`: only its owner and times, never its subject,
    location, notes or contact. The calendars, their partials, the dialog and the contact page
    show activities through this object, built by `activity_card` or `cards_of`.
    """

    pk: int
    owner_id: int
    owner_code: str
    owner_name: str
    start: datetime
    end: datetime
    all_day: bool
    is_private: bool
    source: str
    busy: bool
    can_edit: bool
    subject: str = ""
    location: str = ""
    notes: str = ""
    contact_id: int | None = None
    contact_name: str = ""
    is_meeting: bool = False
    organizer: str = ""  # a meeting received from this organizer: read-only in Prextra
    # Not in Outlook yet and outside the synchronized window (crm.signals.outlook_waits): sent on
    # `outlook_on`, or never when that is None. Never said of a busy card.
    outlook_held: bool = False
    outlook_on: date | None = None

    @cached_property
    def url(self) -> str:
        """The activity's own URL (its dialog): reversed once per card, used twice per entry."""
        return reverse("activity_detail", args=[self.pk])

    @cached_property
    def start_hm(self) -> str:
        """ "09:30" in Toronto time, made once per card (a month grid shows it up to three times)."""
        return f"{timezone.localtime(self.start):%H:%M}"

    @cached_property
    def end_hm(self) -> str:
        return f"{timezone.localtime(self.end):%H:%M}"

    @cached_property
    def start_iso(self) -> str:
        return timezone.localtime(self.start).isoformat()

    @property
    def read_only_reason(self) -> str:
        return received_meeting_reason(self.organizer)

    @property
    def outlook_state(self) -> str:
        """The card's short word on an activity the sync holds back ('' when it does not)."""
        if not self.outlook_held:
            return ""
        if self.outlook_on is None:
            return _("Antérieure à la période synchronisée : non envoyée à Outlook")
        return _("Sera envoyée à Outlook le %(date)s") % {"date": date_format(self.outlook_on, "SHORT_DATE_FORMAT")}

    @property
    def outlook_notice(self) -> str:
        """What the dialog says of an activity the sync holds back ('' when it does not)."""
        if not self.outlook_held:
            return ""
        if self.outlook_on is None:
            return _("Cette activité est antérieure à la période synchronisée : elle ne sera pas envoyée à Outlook.")
        return _(
            "Cette activité sera envoyée à Outlook le %(date)s, quand elle entrera dans la période synchronisée."
        ) % {"date": date_format(self.outlook_on, "SHORT_DATE_FORMAT")}

    @property
    def title(self) -> str:
        return _("Occupé") if self.busy else self.subject or NO_SUBJECT

    @property
    def duration(self) -> str:
        return duration_words(self.start, self.end, self.all_day)

    @property
    def local_start(self) -> datetime:
        return timezone.localtime(self.start)

    @property
    def local_end(self) -> datetime:
        return timezone.localtime(self.end)

    @property
    def last_day(self) -> date:
        """The last local day covered (an all-day activity's end is the next midnight)."""
        return covered_days(self.start, self.end)[-1]

    @property
    def multi_day(self) -> bool:
        return len(covered_days(self.start, self.end)) > 1


def can_edit(activity, viewer) -> bool:
    """The owner edits and deletes an activity; an administrator too, unless it is hidden from them."""
    return _editable(activity.is_private, activity.owner_id, viewer)


def _editable(is_private: bool, owner_id: int, viewer) -> bool:
    hidden = hidden_from(viewer, is_private=is_private, owner_id=owner_id)
    return not hidden and (owner_id == viewer.pk or bool(viewer.is_staff))


def activity_card(activity, viewer) -> ActivityCard:
    """`activity` (with its owner and contact loaded) as `viewer` may see it."""
    owner, contact = activity.owner, activity.contact
    row = {name: getattr(activity, name) for name in CARD_FIELDS}
    row.update(
        notes=activity.notes,
        owner__code=owner.code,
        owner__name=owner.name,
        contact__first_name=contact.first_name if contact else "",
        contact__last_name=contact.last_name if contact else "",
    )
    return card_from_row(row, viewer, _waits([row], viewer))


# What a card needs, read in one query by `cards_of` (no model instances: a month of fifty
# calendars is thousands of rows). Notes only in a single activity's card: calendars never show them.
CARD_FIELDS = (
    "pk", "owner_id", "start", "end", "all_day", "is_private", "source",
    "subject", "location", "contact_id", "outlook_is_meeting", "outlook_organizer",
    "needs_push", "outlook_id", "sync_excluded",
)  # fmt: skip
CARD_COLUMNS = (*CARD_FIELDS, "owner__code", "owner__name", "contact__first_name", "contact__last_name")


def cards_of(activities, viewer, *, with_notes: bool = False) -> list[ActivityCard]:
    """The activities of the queryset as `viewer` may see them, in one query (the calendars; the
    contact page, which also shows the notes), and one question to the sync about the ones
    Outlook does not hold yet (a constant number of queries, none when there are none)."""
    return card_lists([activities], viewer, with_notes=with_notes)[0]


def card_lists(querysets, viewer, *, with_notes: bool = False) -> list[list[ActivityCard]]:
    """`cards_of` of several querysets (a page's upcoming and recent activities), asking the sync
    once for all of them."""
    columns = (*CARD_COLUMNS, "notes") if with_notes else CARD_COLUMNS
    lists = [list(activities.values(*columns)) for activities in querysets]
    waits = _waits([row for rows in lists for row in rows], viewer)
    return [[card_from_row(row, viewer, waits) for row in rows] for rows in lists]


def _waits(rows: list[dict], viewer) -> dict:
    """crm.signals.outlook_waits for the rows not yet in Outlook that `viewer` may see in full."""
    unsent = [
        Unsent(row["pk"], row["owner_id"], row["start"], row["end"])
        for row in rows
        if is_unsent(needs_push=row["needs_push"], outlook_id=row["outlook_id"], sync_excluded=row["sync_excluded"])
        and not hidden_from(viewer, is_private=row["is_private"], owner_id=row["owner_id"])
    ]
    return outlook_waits(unsent)


def card_from_row(row: dict, viewer, waits: dict | None = None) -> ActivityCard:
    """A card from the values of CARD_COLUMNS (and `notes`, if there); another user's private
    activity stays "Occupé". `waits`: crm.signals.outlook_waits of the rows."""
    common = {
        "pk": row["pk"],
        "owner_id": row["owner_id"],
        "owner_code": row["owner__code"],
        "owner_name": row["owner__name"] or row["owner__code"],
        "start": row["start"],
        "end": row["end"],
        "all_day": row["all_day"],
        "is_private": row["is_private"],
        "source": row["source"],
    }
    if hidden_from(viewer, is_private=row["is_private"], owner_id=row["owner_id"]):
        return ActivityCard(**common, busy=True, can_edit=False)
    return ActivityCard(
        **common,
        busy=False,
        # A meeting someone else organized is read-only for everyone (it is changed in Outlook).
        can_edit=_editable(row["is_private"], row["owner_id"], viewer) and not row["outlook_organizer"],
        subject=row["subject"],
        location=row["location"],
        notes=row.get("notes", ""),
        contact_id=row["contact_id"],
        contact_name=f"{row['contact__first_name'] or ''} {row['contact__last_name'] or ''}".strip(),
        is_meeting=row["outlook_is_meeting"],
        organizer=row["outlook_organizer"],
        outlook_held=row["pk"] in (waits or {}),
        outlook_on=(waits or {}).get(row["pk"]),
    )
