"""Square vertebra crops cut from the 8-bit rendering around a detected box.

Training, screening and the Grad-CAM overlays all cut crops here, so a model is
always given crops made the same way. Classifier input goes through
``model_crop``, which also mirrors a crop of a patient facing right (see
``inference.orientation``); overlays show the unmirrored crop.

Geometry: the crop is a square centred on the box centre. Its side is the longer
box side times ``1 + 2 * margin``, so ``margin`` is the share of the longer side
added on each side. The side is rounded up to whole pixels and the corner is
rounded down, so the crop never cuts into the box. Parts of the square outside
the image are filled with 0 (black, like air on a radiograph in which bone is
bright). The square is then resized to ``size`` x ``size`` with Pillow's
bilinear filter, which antialiases when it shrinks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from inference.orientation import DEFAULT_ANTERIOR_SIDE, AnteriorSide, to_model_view
from inference.result import Box


@dataclass(frozen=True)
class CropWindow:
    """Square window of a crop in image pixels: top-left corner and side (may extend past the image)."""

    x0: int
    y0: int
    side: int

    def to_image(self, x: float, y: float, size: int) -> tuple[float, float]:
        """Map a point of a ``size`` x ``size`` crop (pixel-edge coordinates) to image pixels."""
        scale = self.side / size
        return (self.x0 + x * scale, self.y0 + y * scale)

    def box_in_crop(self, box: Box, size: int) -> Box:
        """Return ``box`` in the coordinates of a ``size`` x ``size`` crop cut with this window."""
        scale = size / self.side
        return Box(
            x1=(box.x1 - self.x0) * scale,
            y1=(box.y1 - self.y0) * scale,
            x2=(box.x2 - self.x0) * scale,
            y2=(box.y2 - self.y0) * scale,
        )


def crop_window(box: Box, margin: float) -> CropWindow:
    """Return the square window around ``box`` with ``margin`` (share of the longer side) on each side."""
    if not (box.width > 0 and box.height > 0):
        raise ValueError(f"box must have positive width and height, got {box}")
    if not (0.0 <= margin <= 1.0):
        raise ValueError(f"margin must be in [0, 1], got {margin}")
    centre_x = (box.x1 + box.x2) / 2.0
    centre_y = (box.y1 + box.y2) / 2.0
    side = max(box.width, box.height) * (1.0 + 2.0 * margin)
    side_pixels = max(1, math.ceil(side))
    x0 = math.floor(centre_x - side_pixels / 2.0)
    y0 = math.floor(centre_y - side_pixels / 2.0)
    return CropWindow(x0=x0, y0=y0, side=side_pixels)


def crop_square(rendering: np.ndarray, box: Box, margin: float, size: int) -> np.ndarray:
    """Cut the padded square around ``box`` from ``rendering`` and resize it.

    ``rendering`` is (H, W) uint8 with bone bright. Returns a (size, size)
    uint8 array. Raises ValueError for a wrong array, an empty box, a margin
    outside [0, 1] or a size below 1.
    """
    if rendering.ndim != 2 or rendering.dtype != np.uint8:
        raise ValueError(f"rendering must be a 2-D uint8 array, got {rendering.dtype} with shape {rendering.shape}")
    if size < 1:
        raise ValueError(f"size must be at least 1 pixel, got {size}")
    window = crop_window(box, margin)
    # Pillow's crop fills the part of the window outside the image with 0.
    image = Image.fromarray(np.ascontiguousarray(rendering))
    cut = image.crop((window.x0, window.y0, window.x0 + window.side, window.y0 + window.side))
    if window.side != size:
        cut = cut.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(cut, dtype=np.uint8).copy()


def model_crop(
    rendering: np.ndarray, box: Box, margin: float, size: int, anterior_side: AnteriorSide = DEFAULT_ANTERIOR_SIDE
) -> np.ndarray:
    """Cut the crop that a classifier receives: ``crop_square``, mirrored when the patient faces right.

    Training, calibration, evaluation and screening all cut classifier input
    here, so a model always receives the anterior wall on the left.
    """
    return to_model_view(crop_square(rendering, box, margin, size), anterior_side)
