"""Pixel spacing from a DICOM header, with where it came from.

Rules, in order:

1. Pixel Spacing (0028,0030) when it contains two valid values.
2. Else Imager Pixel Spacing (0018,1164), which is measured at the detector.
   It is divided by Estimated Radiographic Magnification Factor (0018,1114)
   when that factor is valid, and otherwise used as is with a warning.
3. Else unknown, with a warning.

A valid value pair is two finite numbers, each above 0 and at most
``MAX_SPACING_MM``. Anything else (a comma separator that does not split into
two such numbers, zero, a negative value, NaN, one or three values) is
ignored with a ``spacing_malformed`` warning and the next rule is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from inference.imaging import messages
from inference.imaging.header import decimal_values, parse_decimals, raw_text
from inference.imaging.types import ImagingWarning, PixelSpacing

# Projection radiographs have pixels of about 0.1 to 0.2 mm, and scanned film
# seldom exceeds 1 mm. A value above 10 mm is a wrong unit or a wrong field.
MAX_SPACING_MM = 10.0

# Magnification is the source-to-detector distance over the source-to-object
# distance, so it is at least 1. A factor above 3 is treated as an error.
MIN_MAGNIFICATION = 1.0
MAX_MAGNIFICATION = 3.0

UNKNOWN_SPACING = PixelSpacing(row_mm=None, column_mm=None, source="unknown")


@dataclass(frozen=True)
class SpacingReading:
    """The spacing chosen, with the warnings and provenance notes it produced."""

    spacing: PixelSpacing
    warnings: tuple[ImagingWarning, ...]
    notes: tuple[str, ...]


def parse_spacing_pair(text: str) -> tuple[tuple[float, float] | None, str | None]:
    """Parse a spacing value into (row_mm, column_mm).

    Returns the pair, or None when the text is invalid, and a note when a
    comma was read as the value separator.
    """
    note = None
    if "\\" not in text and text.count(",") == 1:
        # Some exporters write "0.143,0.143"; "0,143" splits into 0 and 143 and fails the checks below.
        text = text.replace(",", "\\")
        note = "comma read as the value separator"
    values = parse_decimals(text)
    if values is None or len(values) != 2:
        return None, note
    if not all(0.0 < value <= MAX_SPACING_MM for value in values):
        return None, note
    return (values[0], values[1]), note


def read_spacing(ds: Dataset) -> SpacingReading:
    """Choose the pixel spacing of a DICOM dataset by the rules of this module."""
    warnings: list[ImagingWarning] = []
    notes: list[str] = []

    pixel_spacing_text = raw_text(ds, "PixelSpacing")
    if pixel_spacing_text is not None:
        pair, note = parse_spacing_pair(pixel_spacing_text)
        if pair is not None:
            if note:
                notes.append(f"Pixel Spacing: {note}")
            spacing = PixelSpacing(row_mm=pair[0], column_mm=pair[1], source="pixel_spacing")
            return SpacingReading(spacing, tuple(warnings), tuple(notes))
        warnings.append(messages.spacing_malformed("Pixel Spacing", pixel_spacing_text))

    imager_text = raw_text(ds, "ImagerPixelSpacing")
    if imager_text is not None:
        pair, note = parse_spacing_pair(imager_text)
        if pair is not None:
            if note:
                notes.append(f"Imager Pixel Spacing: {note}")
            factor = _magnification_factor(ds)
            if factor is not None:
                notes.append(f"Imager Pixel Spacing divided by magnification factor {factor:g}")
                spacing = PixelSpacing(
                    row_mm=pair[0] / factor,
                    column_mm=pair[1] / factor,
                    source="imager_pixel_spacing_corrected",
                )
                return SpacingReading(spacing, tuple(warnings), tuple(notes))
            warnings.append(messages.spacing_at_detector())
            spacing = PixelSpacing(row_mm=pair[0], column_mm=pair[1], source="imager_pixel_spacing")
            return SpacingReading(spacing, tuple(warnings), tuple(notes))
        warnings.append(messages.spacing_malformed("Imager Pixel Spacing", imager_text))

    warnings.append(messages.spacing_unknown())
    return SpacingReading(UNKNOWN_SPACING, tuple(warnings), tuple(notes))


def _magnification_factor(ds: Dataset) -> float | None:
    values = decimal_values(ds, "EstimatedRadiographicMagnificationFactor")
    if values is None or len(values) != 1:
        return None
    factor = values[0]
    if not MIN_MAGNIFICATION <= factor <= MAX_MAGNIFICATION:
        return None
    return factor
