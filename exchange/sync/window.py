"""The synchronized window of the calendar: which activities the push sends, and when one that
waits outside it will be sent (nothing accepted is left unsent in silence).

calendarView/delta reads a sliding window, from local midnight `window_days_back` days ago to
`window_days_ahead` days after today's midnight (90 and 365 by default). The push keeps the same
window: an activity Outlook does not hold yet is sent once it overlaps the window; until then it
stays pending (`needs_push`). The window only slides forward, so one that ended before it is never
sent (unless an administrator widens the window). An activity already linked to Outlook is kept in
sync wherever it lies.

Pure functions of dates and the connection's two numbers: no database, no HTTP.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def window_for(connection, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The sliding window of calendarView/delta, from midnight `window_days_back` days ago."""
    today = timezone.localtime(now or timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=connection.window_days_back), today + timedelta(days=connection.window_days_ahead)


def overlaps_window(start: datetime, end: datetime, window: tuple[datetime, datetime]) -> bool:
    """Whether [start, end] meets the window (both bounds included, as the push has always had it)."""
    return end >= window[0] and start <= window[1]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def behind_window(end: datetime, connection, today: date) -> bool:
    """Whether an activity ended before the window of `today` began: the window only slides
    forward, so an activity not yet in Outlook is then never sent."""
    return end < _midnight(today - timedelta(days=connection.window_days_back))


def enters_window_on(start: datetime, end: datetime, connection, today: date) -> date | None:
    """The local day an activity not yet in Outlook enters the push window, so is sent; None when
    the window of `today` already holds it, or when it ended before the window (`behind_window`:
    it never enters it).

    The window of day D ends at midnight of D + `window_days_ahead` (local wall-clock days), and
    an activity starting at that very instant is in it: D is the first day whose window end is at
    or after `start`.
    """
    if behind_window(end, connection, today):
        return None
    local = timezone.localtime(start)
    first_midnight = local.date() if local.time() == time.min else local.date() + timedelta(days=1)
    day = first_midnight - timedelta(days=connection.window_days_ahead)
    return day if day > today else None
