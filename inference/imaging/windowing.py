"""Grayscale transforms: lookup tables, windows and the 8-bit rendering.

Every function works on float32 arrays of shape (rows, columns). A window or
VOI lookup table maps stored or modality values to display values in 0..1,
where 0 is black and 1 is white before any polarity flip.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

WindowFunction = Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"]

# The robust window spans these percentiles of the pixel values, so a few
# collimator-edge or burnt-in label pixels cannot compress the anatomy.
PERCENTILE_LOW = 1.0
PERCENTILE_HIGH = 99.0

# Percentiles are taken on a regular subsample of about this many pixels. On
# a 2,000 x 2,500 image that is every second pixel in both directions.
PERCENTILE_SAMPLE_PIXELS = 1_500_000


@dataclass(frozen=True)
class Window:
    """A VOI window as DICOM PS3.3 C.11.2.1.2 defines it."""

    center: float
    width: float
    function: WindowFunction = "LINEAR"

    def describe(self) -> str:
        return f"window center={self.center:g} width={self.width:g} function={self.function}"


def window_from_bounds(low: float, high: float) -> Window:
    """Return the LINEAR_EXACT window that maps ``low`` to 0 and ``high`` to 1."""
    return Window(center=(low + high) / 2.0, width=high - low, function="LINEAR_EXACT")


# Largest finite float32. Pixels are float32, so a window or value beyond it overflows to inf.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_valid_window(window: Window) -> bool:
    """Return True when the window is finite in float32 and its width suits its function (PS3.3 C.11.2.1.2)."""
    bounds = (
        window.center,
        window.width,
        window.center - window.width / 2.0,
        window.center + window.width / 2.0,
    )
    if not all(math.isfinite(value) and abs(value) <= FLOAT32_MAX for value in bounds):
        return False
    if window.function == "LINEAR":
        return window.width >= 1.0
    return window.width > 0.0


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Map values through a window to float32 in 0..1.

    The result never contains NaN: a NaN input maps to 0 and values that overflow
    float32 on the way map to the nearer end of the window.
    """
    result = _window_values(values, window)
    np.nan_to_num(result, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    return result


def _window_values(values: np.ndarray, window: Window) -> np.ndarray:
    center = window.center
    width = window.width
    if window.function == "SIGMOID":
        exponent = (values.astype(np.float32) - np.float32(center)) * np.float32(-4.0 / width)
        np.clip(exponent, -80.0, 80.0, out=exponent)
        result = 1.0 / (1.0 + np.exp(exponent, dtype=np.float32))
        return result.astype(np.float32, copy=False)
    if window.function == "LINEAR_EXACT":
        low = center - width / 2.0
        scale = 1.0 / width
    else:
        # LINEAR: y = ((x - (c - 0.5)) / (w - 1) + 0.5), clipped at the ends.
        low = center - 0.5 - (width - 1.0) / 2.0
        scale = 1.0 / (width - 1.0)
    result = values.astype(np.float32, copy=True)
    with np.errstate(over="ignore", invalid="ignore"):
        result -= np.float32(low)
        result *= np.float32(scale)
    np.clip(result, 0.0, 1.0, out=result)
    return result


def percentile_window(values: np.ndarray, *, excluded_value: float | None = None) -> Window | None:
    """Return the window from the 1st to the 99th percentile, or None when the image is uniform.

    ``excluded_value`` (Pixel Padding Value) and non-finite values are left out of the statistics.
    Returns None as well when the window would not be finite in float32.
    """
    step = max(1, int(math.sqrt(values.size / PERCENTILE_SAMPLE_PIXELS)))
    sample = values[::step, ::step].ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return None
    if excluded_value is not None:
        without_padding = sample[sample != excluded_value]
        if without_padding.size:
            sample = without_padding
    low, high = np.percentile(sample, [PERCENTILE_LOW, PERCENTILE_HIGH])
    if high <= low:
        # At least 98 % of the sampled pixels share one value, so the full range is used instead.
        low, high = float(sample.min()), float(sample.max())
        if high <= low:
            return None
    window = window_from_bounds(float(low), float(high))
    return window if is_valid_window(window) else None


@dataclass(frozen=True)
class LookupTable:
    """A modality or VOI lookup table (LUT Descriptor and LUT Data)."""

    first_mapped: int
    data: np.ndarray  # int64, one output value per entry
    bits: int

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Return the table's output for each value as float32. Values outside the table take its end entries."""
        indices = np.rint(values) if values.dtype.kind == "f" else values
        indices = np.clip(indices.astype(np.int64) - self.first_mapped, 0, self.data.size - 1)
        return self.data.astype(np.float32)[indices]


def read_lookup_table(item: Dataset, *, little_endian: bool, signed_input: bool) -> LookupTable | None:
    """Read a modality or VOI LUT item, or return None when its descriptor or data is malformed."""
    descriptor = item.get("LUTDescriptor")
    if descriptor is None or len(descriptor) != 3 or "LUTData" not in item:
        return None
    entries, first_mapped, bits = (int(value) for value in descriptor)
    entries = entries or 65536
    if signed_input and first_mapped > 32767:
        # The descriptor's second value is US or SS, and it is SS when the input is signed.
        first_mapped -= 65536
    if not 1 <= bits <= 16:
        return None

    raw = item["LUTData"].value
    if isinstance(raw, bytes):
        if len(raw) >= entries * 2:
            data = struct.unpack_from(f"{'<' if little_endian else '>'}{entries}H", raw)
        elif len(raw) == entries and bits <= 8:
            data = tuple(raw)
        else:
            return None
    elif isinstance(raw, int):
        data = (raw,)
    else:
        data = tuple(int(value) for value in raw)
        if len(data) < entries:
            return None
    table = np.asarray(data[:entries], dtype=np.int64)
    return LookupTable(first_mapped=first_mapped, data=table, bits=bits)


def invert(pixels: np.ndarray) -> np.ndarray:
    """Flip polarity in place: 0 becomes 1 and 1 becomes 0."""
    np.subtract(np.float32(1.0), pixels, out=pixels)
    return pixels


def render_uint8(pixels: np.ndarray) -> np.ndarray:
    """Round float32 values in 0..1 to uint8 in 0..255."""
    scaled = pixels * np.float32(255.0)
    scaled += np.float32(0.5)
    return scaled.astype(np.uint8)
