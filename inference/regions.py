"""Share of Grad-CAM mass in named regions of the vertebral body.

The detected box approximates the vertebral body on a lateral film. Inside the
box, in crop coordinates:

- ``anterior_wall``: the anterior ``WALL_FRACTION`` of the box width, full box height;
- ``posterior_wall``: the posterior ``WALL_FRACTION`` of the width, full height;
- ``superior_endplate``: the top ``ENDPLATE_FRACTION`` of the height, between the walls;
- ``inferior_endplate``: the bottom ``ENDPLATE_FRACTION`` of the height, between the walls;
- ``centre``: the rest of the box;
- ``outside``: every crop pixel outside the box (the crop margin).

The walls include the corners, where anterior buckling of a fresh fracture shows.
A pixel belongs to the region that contains its centre.

Which side is anterior depends on the way the patient faces: callers pass
``anterior_side`` from ``inference.orientation``, which reads it from the label
or the DICOM header and otherwise assumes that the patient faces left. Every
result stores the side used in its region geometry (``region_geometry``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inference.orientation import DEFAULT_ANTERIOR_SIDE, AnteriorSide, Orientation
from inference.result import CAM_REGIONS, Box, Message

WALL_FRACTION = 0.2
ENDPLATE_FRACTION = 0.2
# A map with more than this share of its mass outside the box did not look at the vertebral body.
OUTSIDE_WARNING_SHARE = 0.5
# The square crop around a wide vertebral body is often more than half margin, so even a flat map
# puts over half its mass outside. The warning therefore also needs the map to favour the outside:
# mass per pixel outside the box at least this many times the mass per pixel inside it.
# NOTE: 1.25 is a judgement, not a value fitted on data.
OUTSIDE_DENSITY_RATIO = 1.25



def region_geometry(orientation: Orientation) -> dict[str, Any]:
    """Return how the regions were laid out, for the result: the body, the anterior side and its source."""
    return {
        "body": "detected box",
        "anterior_side": orientation.anterior_side,
        "anterior_side_source": orientation.source,
        "wall_fraction_of_width": WALL_FRACTION,
        "endplate_fraction_of_height": ENDPLATE_FRACTION,
        "corners_belong_to": "walls",
    }


def region_masks(size: int, box: Box, *, anterior_side: AnteriorSide = DEFAULT_ANTERIOR_SIDE) -> dict[str, np.ndarray]:
    """Return one boolean (size, size) mask per name in ``CAM_REGIONS``; the masks partition the crop.

    ``box`` is the vertebral body in crop pixel coordinates (see
    ``CropWindow.box_in_crop``).
    """
    if anterior_side not in ("left", "right"):
        raise ValueError(f"anterior_side must be 'left' or 'right', not {anterior_side!r}")
    centres = np.arange(size, dtype=np.float64) + 0.5
    x = centres[None, :]
    y = centres[:, None]
    inside = (x >= box.x1) & (x < box.x2) & (y >= box.y1) & (y < box.y2)

    wall = WALL_FRACTION * box.width
    left_wall = inside & (x < box.x1 + wall)
    right_wall = inside & (x >= box.x2 - wall)
    between_walls = inside & ~left_wall & ~right_wall
    superior = between_walls & (y < box.y1 + ENDPLATE_FRACTION * box.height)
    inferior = between_walls & (y >= box.y2 - ENDPLATE_FRACTION * box.height)
    anterior, posterior = (left_wall, right_wall) if anterior_side == "left" else (right_wall, left_wall)
    return {
        "anterior_wall": anterior,
        "posterior_wall": posterior,
        "superior_endplate": superior,
        "inferior_endplate": inferior,
        "centre": between_walls & ~superior & ~inferior,
        "outside": ~inside,
    }


def region_shares(cam: np.ndarray, box: Box, *, anterior_side: AnteriorSide = DEFAULT_ANTERIOR_SIDE) -> dict[str, float]:
    """Return the share of ``cam`` mass in each region of ``CAM_REGIONS``.

    ``cam`` is a non-negative (S, S) map over the crop and ``box`` the
    vertebral body in crop pixels. The shares sum to 1, except for a map with
    no mass, where every share is 0.
    """
    if cam.ndim != 2 or cam.shape[0] != cam.shape[1]:
        raise ValueError(f"cam must be a square 2-D map, got shape {cam.shape}")
    values = np.asarray(cam, dtype=np.float64)
    if np.any(values < 0):
        raise ValueError("cam must be non-negative")
    total = float(values.sum())
    masks = region_masks(values.shape[0], box, anterior_side=anterior_side)
    if total <= 0:
        return {name: 0.0 for name in CAM_REGIONS}
    return {name: float(values[masks[name]].sum() / total) for name in CAM_REGIONS}


def outside_area_fraction(size: int, box: Box) -> float:
    """Return the share of the (size, size) crop's pixels that lie outside ``box``."""
    return float(region_masks(size, box)["outside"].mean())


def _favours_outside(outside_share: float, outside_area: float) -> bool:
    """Return True when the map puts more mass per pixel outside the box than inside, by the set ratio."""
    if outside_area <= 0.0:
        return True
    if outside_area >= 1.0 or outside_share >= 1.0:
        return True
    outside_density = outside_share / outside_area
    inside_density = (1.0 - outside_share) / (1.0 - outside_area)
    return outside_density >= OUTSIDE_DENSITY_RATIO * inside_density


def region_warnings(
    shares: dict[str, float],
    *,
    source: str,
    outside_area: float | None = None,
    source_ja: str | None = None,
) -> tuple[Message, ...]:
    """Return a warning when the map of ``source`` has no mass or most of it outside the body.

    ``outside_area`` is the share of crop pixels outside the box. When given,
    a map only gets the warning if it also favours the outside per pixel, so a
    flat map over a crop that is mostly margin does not. ``source_ja`` names
    the map in the Japanese message and defaults to ``source``.
    """
    source_ja = source_ja or source
    if not any(shares.values()):
        return (
            Message(
                "cam_empty",
                f"The Grad-CAM map of {source} is empty, so it shows no region.",
                f"{source_ja} の Grad-CAM マップが空で、注目領域を示していません。",
            ),
        )
    outside = shares["outside"]
    favours_outside = outside_area is None or _favours_outside(outside, outside_area)
    if outside > OUTSIDE_WARNING_SHARE and favours_outside:
        return (
            Message(
                "cam_mostly_outside",
                f"{outside:.0%} of the Grad-CAM map of {source} lies outside the vertebral body; "
                "check this vertebra on the image.",
                f"{source_ja} の Grad-CAM マップの {outside:.0%} が椎体の外にあります。画像でこの椎体を確認してください。",
            ),
        )
    return ()
