"""English: the same day-first dates as the French screens (see the package docstring); only the
month and day read in English order."""

from ..fr.formats import (  # noqa: F401 - Django reads the format names from this module
    DATE_FORMAT,
    DATETIME_FORMAT,
    FIRST_DAY_OF_WEEK,
    SHORT_DATE_FORMAT,
    SHORT_DATETIME_FORMAT,
    TIME_FORMAT,
    YEAR_MONTH_FORMAT,
)

MONTH_DAY_FORMAT = "F j"
