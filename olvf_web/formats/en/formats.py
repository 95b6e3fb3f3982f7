"""Display formats of this language: the shared ISO-style dates and 24-hour times."""

from olvf_web.formats.shared import (  # noqa: F401  # Django reads these names from this module
    DATE_FORMAT,
    DATETIME_FORMAT,
    MONTH_DAY_FORMAT,
    SHORT_DATE_FORMAT,
    SHORT_DATETIME_FORMAT,
    TIME_FORMAT,
    YEAR_MONTH_FORMAT,
)
