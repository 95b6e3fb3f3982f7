"""The one rule that turns colour pixels into grayscale."""

from __future__ import annotations

import numpy as np

# ITU-R BT.601 luma weights for R, G and B. They give the Y of the YBR_FULL
# colour space that DICOM uses, so a YBR image and its RGB form agree.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def has_equal_channels(rgb: np.ndarray) -> bool:
    """Return True when an (rows, columns, 3) image is gray stored as colour."""
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))


def to_luma(rgb: np.ndarray) -> np.ndarray:
    """Return the BT.601 luma of an (rows, columns, 3) image as float32, in the input's value scale."""
    red, green, blue = (rgb[..., channel].astype(np.float32) for channel in range(3))
    luma = red * np.float32(LUMA_WEIGHTS[0])
    luma += green * np.float32(LUMA_WEIGHTS[1])
    luma += blue * np.float32(LUMA_WEIGHTS[2])
    return luma
