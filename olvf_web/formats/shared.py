"""Date and time display formats shared by every language (Django date-filter syntax).

Dates are ISO 8601 style and times use the 24-hour clock in English too, so that a clinic that reads
both languages never has to tell 12/05 (5 December, US) from 12/05 (12 May). Date and time carry the
time zone abbreviation (JST with the default TIME_ZONE), because the pages are read beside PACS and
other systems that may show another zone. Input formats are left to Django's locale modules.
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
YEAR_MONTH_FORMAT = "Y-m"
MONTH_DAY_FORMAT = "m-d"
