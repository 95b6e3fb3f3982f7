"""Reading radiographs: one function turns a DICOM, PNG or JPEG file into one
upright grayscale image with bone bright, plus how it was read.

Training, screening and every overlay shown to people use ``load``, so a
model never receives pixels prepared differently from its training data.
"""

from __future__ import annotations

from inference.errors import (
    DamagedImageError,
    ImageTooLargeError,
    ImagingError,
    NotAnImageError,
    UnsupportedImageError,
)
from inference.imaging.limits import DEFAULT_LIMITS, ImagingLimits
from inference.imaging.reader import load
from inference.imaging.types import HeaderFacts, ImagingWarning, PixelSpacing, Provenance, Radiograph

__all__ = [
    "DEFAULT_LIMITS",
    "DamagedImageError",
    "HeaderFacts",
    "ImageTooLargeError",
    "ImagingError",
    "ImagingLimits",
    "ImagingWarning",
    "NotAnImageError",
    "PixelSpacing",
    "Provenance",
    "Radiograph",
    "UnsupportedImageError",
    "load",
]
