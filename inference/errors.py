"""Typed errors of the inference package, each with an English and a Japanese message.

Callers tell failures apart by class (or by ``code``) and show ``message(lang)``
to the user. Every message states what is wrong and what to do next.
"""

from __future__ import annotations


class InferenceError(Exception):
    """Base class of every error raised on purpose by ``inference``."""

    code = "inference_error"

    def __init__(self, message_en: str, message_ja: str, *, detail: str = "") -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_ja = message_ja
        # Technical detail for logs and the audit trail, never shown as the reason.
        self.detail = detail

    def message(self, language: str = "en") -> str:
        """Return the message in ``language`` ("ja" or "en"; anything else gives English)."""
        return self.message_ja if language.lower().startswith("ja") else self.message_en

    def to_dict(self) -> dict[str, str]:
        """Return the code and both messages, for JSON output and storage."""
        return {"code": self.code, "message_en": self.message_en, "message_ja": self.message_ja, "detail": self.detail}


class ImagingError(InferenceError):
    """A file could not be turned into a radiograph."""

    code = "imaging_error"


class NotAnImageError(ImagingError):
    """The file is not a DICOM, PNG or JPEG image at all (empty, HTML, PDF, ZIP, ...)."""

    code = "not_an_image"


class DamagedImageError(ImagingError):
    """The file claims to be an image but its content is truncated or inconsistent."""

    code = "damaged_image"


class UnsupportedImageError(ImagingError):
    """The file is a valid image of a kind this product does not read."""

    code = "unsupported_image"


class ImageTooLargeError(ImagingError):
    """The file or its pixel matrix exceeds the configured limits."""

    code = "image_too_large"


class BundleError(InferenceError):
    """A model bundle is missing, malformed or fails its integrity check."""

    code = "bundle_error"


class BundleIntegrityError(BundleError):
    """A bundle file is missing or its sha256 differs from the manifest."""

    code = "bundle_integrity"
