"""Birth and study dates read from a DICOM header, held to the same rules as typed-in dates.

A header date that is malformed, in the future, too early, or a birth date after the study date is
not stored on the study. It is kept in the radiograph's header facts, and the study gets a warning
in English and Japanese that names the value and the reason. Storing such a date would, for
example, make every MRI date fall before a study date of 2099.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation

from screening.date_checks import check_birth_before_study

_LABELS = {
    "patient_birth_date": ("birth date", "生年月日"),
    "study_date": ("study date", "検査日"),
}


def parse_dicom_date(value: str | None) -> date | None:
    """Parse a DICOM DA value (YYYYMMDD); an invalid value gives None instead of a guessed date."""
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def checked_header_date(
    field_name: str, raw: str | None, check: Callable[[date], None]
) -> tuple[date | None, dict[str, Any] | None]:
    """Return the header date of ``field_name`` when it passes ``check``, else None and a warning."""
    text = str(raw or "").strip()
    if not text:
        return None, None
    parsed = parse_dicom_date(text)
    if parsed is None:
        reasons = (
            "It is not a valid DICOM date (YYYYMMDD).",
            "DICOM の日付 (YYYYMMDD) として無効です。",
        )
        return None, _ignored_warning(field_name, text, reasons)
    try:
        check(parsed)
    except ValidationError:
        return None, _ignored_warning(field_name, parsed.isoformat(), _reasons(check, parsed))
    return parsed, None


def drop_birth_after_study(
    birth_date: date | None, study_date: date | None
) -> tuple[date | None, dict[str, Any] | None]:
    """Return the birth date, or None and a warning when it falls after the study date."""
    if birth_date is None or study_date is None:
        return birth_date, None
    try:
        check_birth_before_study(birth_date, study_date)
    except ValidationError:
        reasons = (
            _message_in("en", lambda: check_birth_before_study(birth_date, study_date)),
            _message_in("ja", lambda: check_birth_before_study(birth_date, study_date)),
        )
        return None, _ignored_warning("patient_birth_date", birth_date.isoformat(), reasons)
    return birth_date, None


def _reasons(check: Callable[[date], None], value: date) -> tuple[str, str]:
    return _message_in("en", lambda: check(value)), _message_in("ja", lambda: check(value))


def _message_in(language: str, call: Callable[[], None]) -> str:
    """Return the ValidationError message that ``call`` raises, translated into ``language``."""
    with translation.override(language):
        try:
            call()
        except ValidationError as error:
            return " ".join(str(message) for message in error.messages)
    return ""


def _ignored_warning(field_name: str, value: str, reasons: tuple[str, str]) -> dict[str, Any]:
    label_en, label_ja = _LABELS[field_name]
    reason_en, reason_ja = reasons
    return {
        "code": f"header_{field_name}_ignored",
        "message_en": (
            f"The {label_en} {value} in the DICOM header was not stored with the study. Reason: {reason_en}"
        ),
        "message_ja": f"DICOM ヘッダーの{label_ja} {value} は検査に保存していません。理由: {reason_ja}",
        "blocks_assessment": False,
    }
