"""crm/calendar.py: month grids, time lines, overlap columns, DST days, durations (R17, R18, R19)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from crm.calendar import (
    MONTH_CELL_LINES,
    add_months,
    assign_columns,
    covered_days,
    day_bounds,
    day_entries,
    day_timeline,
    duration_words,
    local_midnight,
    local_moment,
    month_grid,
    month_weeks,
)

TORONTO = ZoneInfo("America/Toronto")


@dataclass(frozen=True)
class Item:
    name: str
    start: datetime
    end: datetime
    all_day: bool = False


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO)


def timed(name: str, day: date, start: tuple[int, int], end: tuple[int, int]) -> Item:
    return Item(name, at(day, *start), at(day, *end))


def all_day(name: str, first: date, last: date) -> Item:
    return Item(name, local_midnight(first), local_midnight(last + timedelta(days=1)), all_day=True)


# ---------------------------------------------------------------- month grid


def test_month_grid_starts_on_sunday_like_october_2022_R17():
    weeks = month_weeks(2022, 10)
    assert weeks[0][0] == date(2022, 9, 25)  # the customer's grid: 25 … 1
    assert weeks[0][-1] == date(2022, 10, 1)
    assert weeks[-1][0] == date(2022, 10, 30)
    assert weeks[-1][-1] == date(2022, 11, 5)
    assert len(weeks) == 6
    assert all(week[0].weekday() == 6 for week in weeks)


def test_month_grid_february_2026_has_whole_weeks_R17():
    weeks = month_weeks(2026, 2)  # 1 February 2026 is a Sunday
    assert weeks[0][0] == date(2026, 2, 1)
    assert len(weeks) == 4


def test_month_grid_marks_today_and_other_months_days_R17():
    weeks = month_grid(2022, 10, [], today=date(2022, 10, 26))
    cells = {cell.day: cell for week in weeks for cell in week}
    assert cells[date(2022, 10, 26)].is_today
    assert not cells[date(2022, 10, 25)].is_today
    assert not cells[date(2022, 9, 25)].in_month
    assert cells[date(2022, 10, 1)].in_month


def test_month_grid_lists_bars_first_then_by_start_and_counts_overflow_R17():
    day = date(2022, 10, 26)
    items = [timed(f"t{hour}", day, (hour, 0), (hour, 30)) for hour in (14, 9, 12, 16, 11)]
    items.append(all_day("congrès", day, day + timedelta(days=1)))
    cell = next(c for week in month_grid(2022, 10, items, date(2022, 10, 1)) for c in week if c.day == day)
    names = [entry.item.name for entry in cell.entries]
    assert names == ["congrès", "t9", "t11", "t12", "t14", "t16"]
    assert len(cell.shown) == MONTH_CELL_LINES
    assert cell.hidden_count == 6 - MONTH_CELL_LINES


def test_multi_day_activity_is_drawn_on_each_day_it_covers_R14():
    item = Item("salon", at(date(2022, 10, 12), 15), at(date(2022, 10, 14), 11))
    weeks = month_grid(2022, 10, [item], date(2022, 10, 1))
    covering = {cell.day: cell.entries[0] for week in weeks for cell in week if cell.entries}
    assert sorted(covering) == [date(2022, 10, 12), date(2022, 10, 13), date(2022, 10, 14)]
    assert all(entry.spans for entry in covering.values())
    assert covering[date(2022, 10, 12)].first and not covering[date(2022, 10, 12)].last
    assert covering[date(2022, 10, 14)].last and not covering[date(2022, 10, 14)].first


def test_all_day_activity_ending_at_midnight_does_not_spill_on_next_day_R14():
    item = all_day("vacances", date(2022, 10, 27), date(2022, 10, 28))
    assert covered_days(item.start, item.end) == [date(2022, 10, 27), date(2022, 10, 28)]
    assert day_entries(date(2022, 10, 29), [item]) == []


def test_zero_length_activity_covers_its_day():
    moment = at(date(2022, 10, 26), 10)
    assert covered_days(moment, moment) == [date(2022, 10, 26)]


def test_add_months_crosses_years():
    assert add_months(date(2022, 12, 15), 1) == date(2023, 1, 1)
    assert add_months(date(2023, 1, 31), -1) == date(2022, 12, 1)
    assert add_months(date(2022, 10, 1), -13) == date(2021, 9, 1)


# ---------------------------------------------------------------- overlap columns


def _columns(spans: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {p.item: (p.column, p.columns) for p in assign_columns(spans, lambda name: spans[name])}


def test_overlapping_activities_sit_side_by_side_R18():
    placed = _columns({"a": (540, 600), "b": (570, 630), "c": (720, 780)})
    assert placed == {"a": (0, 2), "b": (1, 2), "c": (0, 1)}


def test_a_freed_column_is_reused_within_a_cluster_R18():
    # a 9–12 overlaps b 9–10 then c 10–11: c takes b's column; the cluster has two columns.
    placed = _columns({"a": (540, 720), "b": (540, 600), "c": (600, 660)})
    assert placed == {"a": (0, 2), "b": (1, 2), "c": (1, 2)}


def test_chained_overlaps_share_the_column_count_R18():
    placed = _columns({"a": (0, 60), "b": (30, 90), "c": (60, 120), "d": (45, 75)})
    assert {columns for _column, columns in placed.values()} == {3}
    assert len({placed[name][0] for name in ("a", "b", "d")}) == 3


def test_back_to_back_activities_do_not_overlap_R18():
    assert _columns({"a": (540, 600), "b": (600, 660)}) == {"a": (0, 1), "b": (0, 1)}


# ---------------------------------------------------------------- daily time line


def test_time_line_defaults_to_8_to_18_in_rows_of_the_scale_R18():
    line = day_timeline(date(2022, 10, 26), [], scale=30)
    assert [row.moment.astimezone(TORONTO).strftime("%H:%M") for row in line.rows][:3] == ["08:00", "08:30", "09:00"]
    assert line.rows[-1].moment.astimezone(TORONTO).strftime("%H:%M") == "17:30"
    assert len(line.rows) == 20
    assert line.total_minutes == 600


def test_time_line_widens_by_whole_rows_to_fit_early_and_late_activities_R18():
    day = date(2022, 10, 26)
    line = day_timeline(day, [timed("tôt", day, (6, 40), (7, 0)), timed("tard", day, (18, 30), (19, 10))], scale=45)
    labels = [row.moment.astimezone(TORONTO).strftime("%H:%M") for row in line.rows]
    assert labels[0] == "06:30"  # 08:00 − 2 × 45 minutes, anchored on 08:00
    assert labels[-1] == "18:30"  # the last row, 18:30–19:15, holds 19:10
    early = next(block for block in line.blocks if block.item.name == "tôt")
    assert early.top == 10 and early.length == 20


def test_blocks_are_positioned_from_the_first_row_and_span_their_duration_R18():
    day = date(2022, 10, 26)
    line = day_timeline(day, [timed("présentation", day, (9, 0), (10, 0))], scale=30)
    (block,) = line.blocks
    assert (block.top, block.length, block.column, block.columns) == (60, 60, 0, 1)


def test_all_day_and_multi_day_activities_go_to_the_band_R18():
    day = date(2022, 10, 26)
    overnight = Item("nuit", at(day - timedelta(days=1), 22), at(day, 2))
    items = [all_day("congé", day, day), overnight, timed("réunion", day, (9, 0), (10, 0))]
    line = day_timeline(day, items, scale=30)
    assert [item.name for item in line.band] == ["nuit", "congé"]
    # The night's last day also shows it on the time line, up to 02:00 (see below).
    assert [(block.item.name, block.continued) for block in line.blocks] == [("nuit", True), ("réunion", False)]


def test_a_multi_day_activity_shows_on_its_last_days_time_line_up_to_its_end_R18():
    day = date(2022, 10, 26)
    trip = Item("salon", at(day - timedelta(days=2), 14), at(day, 11))
    line = day_timeline(day, [trip, timed("appel", day, (10, 0), (10, 30))], scale=30)
    assert [item.name for item in line.band] == ["salon"]  # still in the band with the other multi-day ones
    salon, appel = line.blocks
    # From the top of the time line (08:00) down to 11:00, beside the call it overlaps.
    assert (salon.item.name, salon.continued, salon.top, salon.length) == ("salon", True, 0, 180)
    assert (salon.columns, appel.columns, {salon.column, appel.column}) == (2, 2, {0, 1})
    assert line.rows[0].moment.astimezone(TORONTO).strftime("%H:%M") == "08:00"


def test_a_multi_day_activity_ending_before_8_widens_the_time_line_to_its_end_R18():
    day = date(2022, 10, 26)
    line = day_timeline(day, [Item("nuit", at(day - timedelta(days=1), 22), at(day, 2))], scale=30)
    assert line.rows[0].moment.astimezone(TORONTO).strftime("%H:%M") == "01:30"
    (block,) = line.blocks
    assert (block.top, block.length, block.continued) == (0, 30, True)


@pytest.mark.parametrize(
    "item",
    [
        Item("départ", at(date(2022, 10, 26), 14), at(date(2022, 10, 28), 11)),  # its first day
        Item("traversée", at(date(2022, 10, 25), 14), at(date(2022, 10, 27), 11)),  # a day in between
        Item("jusqu'à minuit", at(date(2022, 10, 25), 14), local_midnight(date(2022, 10, 26))),  # ended
        all_day("congé", date(2022, 10, 25), date(2022, 10, 26)),  # all day: its last day is whole
    ],
    ids=lambda item: item.name,
)
def test_other_days_of_a_multi_day_activity_have_no_block_R18(item):
    line = day_timeline(date(2022, 10, 26), [item], scale=30)
    assert line.blocks == []


def test_activities_of_other_days_are_left_out_R18():
    day = date(2022, 10, 26)
    line = day_timeline(day, [timed("hier", day - timedelta(days=1), (9, 0), (10, 0))], scale=30)
    assert line.blocks == [] and line.band == []


def test_spring_forward_day_has_23_hours_and_real_labels_R18():
    day = date(2026, 3, 8)  # 02:00 → 03:00 in Toronto
    start, end = day_bounds(day)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    item = Item("nuit blanche", at(day, 1, 0), datetime(2026, 3, 8, 8, 0, tzinfo=UTC))  # 01:00 → 04:00 EDT
    line = day_timeline(day, [item], scale=60)
    (block,) = line.blocks
    assert block.length == 120  # two real hours, not three
    labels = [row.moment.astimezone(TORONTO).strftime("%H:%M") for row in line.rows]
    assert labels[:4] == ["01:00", "03:00", "04:00", "05:00"]
    assert labels[-1] == "17:00"


def test_fall_back_day_has_25_hours_and_08_00_is_where_it_belongs_R18():
    day = date(2026, 11, 1)  # 02:00 → 01:00 in Toronto
    start, end = day_bounds(day)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)
    line = day_timeline(day, [timed("café", day, (8, 0), (9, 0))], scale=30)
    assert line.rows[0].offset == 9 * 60  # 08:00 is nine real hours after midnight that day
    assert line.rows[0].moment.astimezone(TORONTO).strftime("%H:%M") == "08:00"
    assert line.blocks[0].top == 0 and line.blocks[0].length == 60


def test_nonexistent_local_time_is_detected():
    assert local_moment(date(2026, 3, 8), time(2, 30)) is None
    assert local_moment(date(2026, 3, 8), time(3, 30)) == at(date(2026, 3, 8), 3, 30)


def test_local_midnight_is_in_toronto():
    assert local_midnight(date(2022, 10, 26)).astimezone(UTC) == datetime(2022, 10, 26, 4, 0, tzinfo=UTC)


# ---------------------------------------------------------------- durations (R19)


@pytest.mark.parametrize(
    ("minutes", "french", "english"),
    [
        (60, "1 heure", "1 hour"),
        (120, "2 heures", "2 hours"),
        (30, "30 minutes", "30 minutes"),
        (1, "1 minute", "1 minute"),
        (90, "1 h 30", "1 h 30"),
        (125, "2 h 05", "2 h 05"),
        (0, "0 minute", "0 minutes"),  # French: singular up to one (locale/fr, manage.py french_plurals)
        (26 * 60, "1 jour 2 heures", "1 day 2 hours"),
        (2 * 24 * 60 + 90, "2 jours 1 h 30", "2 days 1 h 30"),
    ],
)
def test_durations_are_worded_with_their_count_R19(minutes, french, english):
    """« 1 heure », « 1 h 30 », « 30 minutes », never « 1 Heures »; English alike."""
    start = at(date(2022, 10, 12), 11)
    end = start + timedelta(minutes=minutes)
    assert duration_words(start, end, all_day=False) == french
    with translation.override("en"):
        assert duration_words(start, end, all_day=False) == english


def test_all_day_durations_R19():
    day = date(2022, 10, 12)
    one = all_day("a", day, day)
    three = all_day("b", day, day + timedelta(days=2))
    assert duration_words(one.start, one.end, all_day=True) == "Toute la journée"
    assert duration_words(three.start, three.end, all_day=True) == "3 jours"
