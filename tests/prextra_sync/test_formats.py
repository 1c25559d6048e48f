"""prextra_sync/formats: jj/mm/aaaa on every screen, in French and in English, weeks from Sunday."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.formats import date_format, get_format

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
MOMENT = datetime(2022, 10, 26, 13, 5, 9, tzinfo=ZoneInfo("America/Toronto"))


@pytest.mark.parametrize("language", ["fr-ca", "en"])
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SHORT_DATE_FORMAT", date(2022, 10, 26), "26/10/2022"),
        ("DATE_FORMAT", date(2022, 10, 26), "26/10/2022"),
        ("SHORT_DATETIME_FORMAT", MOMENT, "26/10/2022 13:05"),
        ("DATETIME_FORMAT", MOMENT, "26/10/2022 13:05:09"),
    ],
)
def test_dates_read_day_month_year_in_both_languages(language, name, value, expected):
    with translation.override(language):
        assert date_format(value, name) == expected


@pytest.mark.parametrize("language", ["fr-ca", "en"])
def test_weeks_start_on_sunday(language):
    """French's own locale says Monday; the customer's calendars start on Sunday (R17)."""
    with translation.override(language):
        assert get_format("FIRST_DAY_OF_WEEK") == 0


def test_templates_name_their_date_formats_instead_of_spelling_a_year():
    """One place per format: a date shown in figures with its year goes through a named format
    (headings in words, « 26 octobre 2022 », are not figures). A spelled "Y-m-d" is only for values
    a machine reads (URLs, input values, datetime attributes, comparisons)."""
    spelled = []
    for template in TEMPLATES.rglob("*.html"):
        for line_number, line in enumerate(template.read_text().splitlines(), 1):
            for match in re.finditer(r"""\|date:["']([^"']+)["']""", line):
                fmt = match.group(1)
                if fmt.endswith("_FORMAT") or "Y" not in fmt or "F" in fmt or fmt in ("Y-m-d", "Y-m"):
                    continue
                spelled.append(f"{template.relative_to(TEMPLATES)}:{line_number}: {fmt}")
            for match in re.finditer(r"""\{\{\s*[\w.]+\|date:["']Y-m-d["']\s*\}\}""", line):
                before = line[: match.start()]
                if not re.search(r"""(value|href|hx-get|datetime|data-[\w-]+)=["'][^"']*$""", before):
                    spelled.append(f"{template.relative_to(TEMPLATES)}:{line_number}: shown Y-m-d")
    assert spelled == []
