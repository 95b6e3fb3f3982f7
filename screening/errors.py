"""Domain errors of the screening app, each with an English and a Japanese message.

Services raise these; ``screening.api.exceptions`` maps them to HTTP responses in
one place, and the pages show ``message(language)``.
"""

from __future__ import annotations

from typing import Any


class ScreeningError(Exception):
    """Base class of the domain errors raised on purpose by ``screening`` services."""

    code = "screening_error"
    http_status = 400

    def __init__(self, message_en: str, message_ja: str, *, detail: str = "", **context: Any) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_ja = message_ja
        # Technical detail for logs and the audit trail; never shown as the reason.
        self.detail = detail
        self.context = context

    def message(self, language: str = "en") -> str:
        """Return the message in ``language`` ("ja" or "en"; anything else gives English)."""
        return self.message_ja if (language or "").lower().startswith("ja") else self.message_en


class UploadRejected(ScreeningError):
    """An upload is empty, too large or otherwise cannot become a study; nothing was stored."""

    code = "upload_rejected"
    http_status = 400


class StudyNotFound(ScreeningError):
    """No study has the requested id."""

    code = "study_not_found"
    http_status = 404


class FileNotAvailable(ScreeningError):
    """A stored original, crop or overlay is missing or its name is not one of the study's files."""

    code = "file_not_available"
    http_status = 404


class NoActiveBundle(ScreeningError):
    """No model bundle is installed and active, so no study can be screened."""

    code = "no_active_bundle"
    http_status = 503


class BundleNotFound(ScreeningError):
    """No installed model bundle has the requested id."""

    code = "bundle_not_found"
    http_status = 404


class BundleRejected(ScreeningError):
    """A model bundle could not be installed: its manifest is invalid or a file hash differs."""

    code = "bundle_rejected"
    http_status = 400


class StudyNotRerunnable(ScreeningError):
    """A study cannot be queued again in its current state."""

    code = "study_not_rerunnable"
    http_status = 409
