"""The DICOM grayscale pipeline: modality LUT, VOI LUT or window, polarity.

Order (DICOM PS3.4 N.2.1): stored values -> Modality LUT Sequence, else
Rescale Slope/Intercept -> VOI LUT Sequence (first item), else Window
Center/Width (first pair), else the robust percentile window -> polarity.
The image is inverted once, after windowing, when Photometric Interpretation
is MONOCHROME1 or Presentation LUT Shape is INVERSE. The DX and CR modules
pair MONOCHROME1 with INVERSE to describe the same single inversion, so both
together still flip once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from inference.imaging import messages
from inference.imaging.header import decimal_values, raw_text, text_value
from inference.imaging.types import ImagingWarning
from inference.imaging.windowing import (
    FLOAT32_MAX,
    PERCENTILE_HIGH,
    PERCENTILE_LOW,
    Window,
    WindowFunction,
    apply_window,
    invert,
    is_valid_window,
    percentile_window,
    read_lookup_table,
)

logger = logging.getLogger(__name__)

_WINDOW_FUNCTIONS: tuple[WindowFunction, ...] = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True)
class GrayscaleResult:
    """Display values in 0..1 (bone bright) and how they were made."""

    pixels: np.ndarray
    modality_lut: str
    voi_lut: str
    window_center: float | None
    window_width: float | None
    inverted: bool
    warnings: tuple[ImagingWarning, ...]
    notes: tuple[str, ...]


def to_display_grayscale(
    ds: Dataset, stored: np.ndarray, interpretation: str, *, signed: bool
) -> GrayscaleResult:
    """Turn stored grayscale values into display values in 0..1 with bone bright."""
    warnings: list[ImagingWarning] = []
    notes: list[str] = []
    little_endian = _is_little_endian(ds)

    values, modality_lut, padding = _apply_modality(
        ds, stored, little_endian=little_endian, signed=signed, notes=notes
    )

    pixels, voi_lut, window = _apply_voi(
        ds, values, padding, little_endian=little_endian, warnings=warnings, notes=notes
    )

    shape = (text_value(ds, "PresentationLUTShape") or "").upper()
    inverted = interpretation == "MONOCHROME1" or shape == "INVERSE"
    if inverted:
        invert(pixels)
        reasons = [
            reason
            for reason, present in (
                ("MONOCHROME1", interpretation == "MONOCHROME1"),
                ("Presentation LUT Shape INVERSE", shape == "INVERSE"),
            )
            if present
        ]
        notes.append(f"inverted once after windowing ({' and '.join(reasons)})")

    return GrayscaleResult(
        pixels=pixels,
        modality_lut=modality_lut,
        voi_lut=voi_lut,
        window_center=window.center if window else None,
        window_width=window.width if window else None,
        inverted=inverted,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def _is_little_endian(ds: Dataset) -> bool:
    file_meta = getattr(ds, "file_meta", None)
    uid = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    return str(uid) != "1.2.840.10008.1.2.2"


def _apply_modality(
    ds: Dataset, stored: np.ndarray, *, little_endian: bool, signed: bool, notes: list[str]
) -> tuple[np.ndarray, str, float | None]:
    """Return modality values, the description and the Pixel Padding Value in modality units."""
    padding = _padding_value(ds, signed)

    sequence = ds.get("ModalityLUTSequence")
    if sequence:
        table = read_lookup_table(sequence[0], little_endian=little_endian, signed_input=signed)
        if table is not None:
            values = table.apply(stored)
            if padding is not None:
                padding = float(table.apply(np.array([padding]))[0])
            return values, "modality LUT sequence", padding
        notes.append("Modality LUT Sequence is malformed and was ignored")

    slope = _single_decimal(ds, "RescaleSlope", default=1.0)
    intercept = _single_decimal(ds, "RescaleIntercept", default=0.0)
    if slope is None or intercept is None or slope == 0.0:
        notes.append(
            f"Rescale Slope/Intercept invalid ({raw_text(ds, 'RescaleSlope')!r}, "
            f"{raw_text(ds, 'RescaleIntercept')!r}) and ignored"
        )
        slope, intercept = 1.0, 0.0
    values = stored.astype(np.float32)
    if slope == 1.0 and intercept == 0.0:
        return values, "none", padding
    _check_rescaled_range(stored, slope, intercept)
    values *= np.float32(slope)
    values += np.float32(intercept)
    if padding is not None:
        padding = padding * slope + intercept
    return values, f"rescale slope={slope:g} intercept={intercept:g}", padding


# Modality values must stay this far inside float32, so that a window spanning them (its width
# is up to twice the largest value) and the window arithmetic also stay finite.
_MAX_MODALITY_MAGNITUDE = FLOAT32_MAX / 4


def _check_rescaled_range(stored: np.ndarray, slope: float, intercept: float) -> None:
    """Raise DamagedImageError when Rescale Slope/Intercept map the stored values outside float32.

    No other reading of such a header is sound: ignoring the rescale would change the
    values that every window in the header refers to.
    """
    ends = [float(stored.min()) * slope + intercept, float(stored.max()) * slope + intercept]
    if all(math.isfinite(end) and abs(end) <= _MAX_MODALITY_MAGNITUDE for end in ends):
        return
    raise messages.non_finite_pixels(
        f"rescale slope={slope!r} intercept={intercept!r} maps stored values to {ends[0]!r}..{ends[1]!r}"
    )


def _padding_value(ds: Dataset, signed: bool) -> float | None:
    # Pixel Padding Value is US or SS depending on Pixel Representation, which pydicom resolves.
    try:
        value = ds.get("PixelPaddingValue")
    except (ValueError, TypeError):
        return None
    if value is None or isinstance(value, bytes | list):
        return None
    number = int(value)
    if signed and number > 32767:
        number -= 65536
    return float(number)


def _single_decimal(ds: Dataset, keyword: str, *, default: float) -> float | None:
    text = raw_text(ds, keyword)
    if text is None or text == "":
        return default
    values = decimal_values(ds, keyword)
    if values is None or len(values) != 1:
        return None
    return values[0]


def _apply_voi(
    ds: Dataset,
    values: np.ndarray,
    padding: float | None,
    *,
    little_endian: bool,
    warnings: list[ImagingWarning],
    notes: list[str],
) -> tuple[np.ndarray, str, Window | None]:
    """Return display values in 0..1, the VOI description and the window used (None for a LUT)."""
    sequence = ds.get("VOILUTSequence")
    if sequence:
        table = read_lookup_table(
            sequence[0], little_endian=little_endian, signed_input=bool(values.min() < 0)
        )
        if table is not None:
            pixels = table.apply(values)
            pixels *= np.float32(1.0 / (2**table.bits - 1))
            np.clip(pixels, 0.0, 1.0, out=pixels)
            count = len(sequence)
            return pixels, f"VOI LUT sequence (item 1 of {count})", None
        notes.append("VOI LUT Sequence is malformed and was ignored")

    window = _header_window(ds, warnings, notes)
    if window is not None:
        description = window.describe()
        if _window_count(ds) > 1:
            description += " (first of several)"
        return apply_window(values, window), description, window

    window = percentile_window(values, excluded_value=padding)
    if window is None:
        warnings.append(messages.uniform_image())
        return np.zeros(values.shape, dtype=np.float32), "none (uniform image)", None
    description = f"percentile window p{PERCENTILE_LOW:g}..p{PERCENTILE_HIGH:g} ({window.describe()})"
    return apply_window(values, window), description, window


def _window_count(ds: Dataset) -> int:
    values = decimal_values(ds, "WindowCenter")
    return len(values) if values else 0


def _header_window(ds: Dataset, warnings: list[ImagingWarning], notes: list[str]) -> Window | None:
    center_text = raw_text(ds, "WindowCenter")
    width_text = raw_text(ds, "WindowWidth")
    if not center_text and not width_text:
        return None
    centers = decimal_values(ds, "WindowCenter")
    widths = decimal_values(ds, "WindowWidth")
    function_text = (text_value(ds, "VOILUTFunction") or "LINEAR").upper()
    function: WindowFunction = "LINEAR"
    for candidate in _WINDOW_FUNCTIONS:
        if function_text == candidate:
            function = candidate
    if function_text != function:
        notes.append(f"unknown VOI LUT Function {function_text!r} read as LINEAR")
    if not centers or not widths:
        warnings.append(messages.window_invalid(center_text or "", width_text or ""))
        return None
    window = Window(center=centers[0], width=widths[0], function=function)
    if not is_valid_window(window):
        warnings.append(messages.window_invalid(center_text or "", width_text or ""))
        return None
    return window
