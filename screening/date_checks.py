"""Plausibility checks of typed-in dates, shared by the upload form, the upload API and the MRI outcome.

Each check raises django.core.exceptions.ValidationError with a message in the active language.
"Today" is the local date in settings.TIME_ZONE, and today itself is allowed.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# Birth dates before this day are taken as typing errors in the year.
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
# Study and MRI dates before this day are typing errors too (MRI came into clinical use in the 1980s).
EARLIEST_EXAMINATION_DATE = dt.date(1900, 1, 1)


def check_birth_date(birth_date: dt.date | None) -> None:
    """Reject a birth date after today or before EARLIEST_BIRTH_DATE."""
    if birth_date is None:
        return
    if birth_date > timezone.localdate():
        raise ValidationError(
            _("The birth date %(date)s is in the future. Enter a date no later than today.")
            % {"date": birth_date.isoformat()},
            code="birth_date_in_future",
        )
    if birth_date < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            _("The birth date %(date)s is before %(earliest)s. Check the year.")
            % {"date": birth_date.isoformat(), "earliest": EARLIEST_BIRTH_DATE.isoformat()},
            code="birth_date_too_early",
        )


def check_study_date(study_date: dt.date | None) -> None:
    """Reject a study date after today or before EARLIEST_EXAMINATION_DATE."""
    if study_date is None:
        return
    if study_date > timezone.localdate():
        raise ValidationError(
            _("The study date %(date)s is in the future. Enter a date no later than today.")
            % {"date": study_date.isoformat()},
            code="study_date_in_future",
        )
    if study_date < EARLIEST_EXAMINATION_DATE:
        raise ValidationError(
            _("The study date %(date)s is before %(earliest)s. Check the year.")
            % {"date": study_date.isoformat(), "earliest": EARLIEST_EXAMINATION_DATE.isoformat()},
            code="study_date_too_early",
        )


def check_birth_before_study(birth_date: dt.date | None, study_date: dt.date | None) -> None:
    """Reject a birth date after the study date. A birth on the study day is allowed."""
    if birth_date is not None and study_date is not None and birth_date > study_date:
        raise ValidationError(
            _("The birth date %(birth_date)s is after the study date %(study_date)s.")
            % {"birth_date": birth_date.isoformat(), "study_date": study_date.isoformat()},
            code="birth_date_after_study_date",
        )


def check_mri_date(mri_date: dt.date | None, study_date: dt.date | None) -> None:
    """Reject an MRI date after today, before EARLIEST_EXAMINATION_DATE or before the study date."""
    if mri_date is None:
        return
    if mri_date > timezone.localdate():
        raise ValidationError(
            _("The MRI date %(date)s is in the future.") % {"date": mri_date.isoformat()},
            code="mri_date_in_future",
        )
    if mri_date < EARLIEST_EXAMINATION_DATE:
        raise ValidationError(
            _("The MRI date %(date)s is before %(earliest)s. Check the year.")
            % {"date": mri_date.isoformat(), "earliest": EARLIEST_EXAMINATION_DATE.isoformat()},
            code="mri_date_too_early",
        )
    if study_date is not None and mri_date < study_date:
        raise ValidationError(
            _("The MRI date %(date)s is before the study date %(study_date)s of the radiograph.")
            % {"date": mri_date.isoformat(), "study_date": study_date.isoformat()},
            code="mri_date_before_study_date",
        )
