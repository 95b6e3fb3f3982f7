"""Cleaning of values read from uploaded files before they are stored in text and JSON columns.

PostgreSQL rejects NUL in text and jsonb, SQLite's JSON CHECK constraint rejects
NaN and infinity, and a crafted header may contain any of them. Ingest stores
the cleaned values and a warning that names the fields that were changed.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# Shown in place of each replaced character, so that a reader sees that the stored text differs from the file.
REPLACEMENT_CHARACTER = "\ufffd"
ELLIPSIS = "\u2026"

# Unicode categories replaced in stored text: control characters (C0, DEL, C1) and lone surrogates,
# which psycopg cannot encode as UTF-8.
_REPLACED_CATEGORIES = frozenset({"Cc", "Cs"})


@dataclass
class SanitiseReport:
    """Paths of the values that were changed while cleaning, e.g. ``header.patient_id``."""

    control_characters: list[str] = field(default_factory=list)
    non_finite_numbers: list[str] = field(default_factory=list)
    unsupported_types: list[str] = field(default_factory=list)

    def warnings(self) -> list[dict[str, Any]]:
        """Return one warning per kind of change, in the stored form of ``ImagingWarning``."""
        result = []
        if self.control_characters:
            fields = ", ".join(sorted(set(self.control_characters)))
            result.append(
                _warning(
                    "header_control_characters_replaced",
                    f"Control characters in {fields} were replaced with \ufffd before storing. "
                    "Compare these values with the imaging system.",
                    f"{fields} に含まれていた制御文字を \ufffd に置き換えて保存しました。"
                    "画像システムの値と照合してください。",
                )
            )
        if self.non_finite_numbers:
            fields = ", ".join(sorted(set(self.non_finite_numbers)))
            result.append(
                _warning(
                    "header_non_finite_numbers_removed",
                    f"{fields} contained NaN or infinity, which was stored as empty. "
                    "The file's header is damaged: check the image against the imaging system.",
                    f"{fields} に NaN または無限大が含まれていたため、空の値として保存しました。"
                    "ヘッダーが破損しています。画像システムの画像と照合してください。",
                )
            )
        if self.unsupported_types:
            fields = ", ".join(sorted(set(self.unsupported_types)))
            result.append(
                _warning(
                    "header_values_converted_to_text",
                    f"{fields} could not be stored as read and was stored as text.",
                    f"{fields} は読み取った形式のまま保存できないため、文字列として保存しました。",
                )
            )
        return result


def _warning(code: str, message_en: str, message_ja: str) -> dict[str, Any]:
    return {"code": code, "message_en": message_en, "message_ja": message_ja, "blocks_assessment": False}


def clean_text(value: str, *, path: str, report: SanitiseReport) -> str:
    """Return ``value`` with surrounding NUL padding removed and other control characters replaced.

    Some DICOM writers pad values with NUL, which is dropped silently. A control
    character inside the value is replaced with U+FFFD and ``path`` is added to
    ``report``.
    """
    text = value.strip("\x00")
    if not any(unicodedata.category(character) in _REPLACED_CATEGORIES for character in text):
        return text
    report.control_characters.append(path)
    return "".join(
        REPLACEMENT_CHARACTER if unicodedata.category(character) in _REPLACED_CATEGORIES else character
        for character in text
    )


def clean_json(value: Any, *, path: str, report: SanitiseReport) -> Any:
    """Return a copy of ``value`` that is valid JSON and storable in PostgreSQL jsonb.

    NaN and infinity become None, strings (keys included) are cleaned as by
    ``clean_text``, tuples become lists, and any other non-JSON value becomes
    its ``str``. Each change adds its path to ``report``.
    """
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        report.non_finite_numbers.append(path)
        return None
    if isinstance(value, str):
        return clean_text(value, path=path, report=report)
    if isinstance(value, dict):
        return {
            clean_text(str(key), path=path, report=report): clean_json(
                item, path=f"{path}.{key}", report=report
            )
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [clean_json(item, path=f"{path}[{index}]", report=report) for index, item in enumerate(value)]
    report.unsupported_types.append(path)
    return clean_text(str(value), path=path, report=report)


def fit_text(value: str, max_length: int) -> tuple[str, bool]:
    """Cut ``value`` to ``max_length`` characters ending in an ellipsis, and return it with whether it was cut."""
    if len(value) <= max_length:
        return value, False
    return value[: max_length - 1] + ELLIPSIS, True
