"""Pixel rendering of a phantom: projected density, exposure and quantum noise.

The image is built as a map of projected attenuation (soft tissue, bone,
gas, a lead marker), blurred by the detector, exposed with Poisson-like
quantum noise and turned into a log signal in which bone is bright. Every
structure is drawn on its own small patch so that one 1024-row image takes a
fraction of a second.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from inference.phantoms.acquisition import Acquisition
from inference.phantoms.anatomy import PatientAnatomy, VertebraAnatomy
from inference.phantoms.geometry import PlacedVertebra

# Projected attenuation (dimensionless, mu times path length) of each structure.
# Chosen so that a lumbar body shows against about 2 units of soft tissue with
# roughly the contrast of a lateral film.
SOFT_TISSUE = 2.0
TRABECULAR = 0.5
CORTEX = 0.45
POSTERIOR_ELEMENTS = 0.32
CONDENSATION_BAND = 0.6
LEAD_MARKER = 5.0
# Log signal given to collimated (unexposed) areas: brighter than any bone.
COLLIMATED_SIGNAL = 6.0

# 5 x 7 bitmaps of the side markers.
_LETTERS = {
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
}


@dataclass(frozen=True)
class RenderedImage:
    """Log signal of one phantom image (bone bright) and the distractors drawn on it."""

    signal: np.ndarray  # float32 (rows, columns), 0 = no attenuation
    distractors: dict[str, object]
    exposed_field: tuple[int, int, int, int]  # x1, y1, x2, y2 inside the collimator blades


def render(
    anatomy: PatientAnatomy,
    vertebrae: tuple[PlacedVertebra, ...],
    acquisition: Acquisition,
    shape: tuple[int, int],
    pixels_per_mm: float,
    rng: np.random.Generator,
) -> RenderedImage:
    """Draw one image of ``vertebrae`` with the exposure of ``acquisition``."""
    density = _soft_tissue(anatomy, vertebrae, shape, pixels_per_mm)
    for vertebra in vertebrae:
        _draw_body(density, vertebra, anatomy.bone_density, pixels_per_mm, rng)
        if vertebra.level != "S1":
            _draw_posterior_elements(density, vertebra, anatomy.bone_density, rng)
    _draw_sacrum(density, vertebrae[-1], anatomy.bone_density, pixels_per_mm, rng)

    distractors: dict[str, object] = {"ribs": acquisition.ribs, "iliac_crest": acquisition.iliac_crest}
    _draw_ribs(density, vertebrae, acquisition.ribs, pixels_per_mm, rng)
    if acquisition.iliac_crest:
        _draw_iliac_crest(density, vertebrae, pixels_per_mm, rng)
    distractors["bowel_gas"] = _draw_bowel_gas(density, vertebrae, acquisition.bowel_gas, pixels_per_mm, rng)
    if acquisition.marker is not None:
        distractors["marker"] = _draw_marker(density, acquisition, pixels_per_mm)

    density = ndimage.gaussian_filter(density, acquisition.blur_pixels, mode="nearest")
    signal = _expose(
        density * acquisition.attenuation_scale, acquisition.photons, acquisition.heel_effect, rng
    )
    field = _collimate(signal, acquisition.collimation, rng)
    distractors["collimation"] = list(field)
    return RenderedImage(signal=signal.astype(np.float32), distractors=distractors, exposed_field=field)


def _soft_tissue(
    anatomy: PatientAnatomy, vertebrae: tuple[PlacedVertebra, ...], shape: tuple[int, int], scale: float
) -> np.ndarray:
    """Return the soft tissue of the trunk: thickest in front of the spine, ending at the back skin."""
    rows, columns = shape
    y = np.arange(rows, dtype=np.float32) + 0.5
    x = np.arange(columns, dtype=np.float32) + 0.5
    centres_y = np.array([v.centre[1] for v in vertebrae])
    centres_x = np.array([v.centre[0] for v in vertebrae])
    spine_x = np.interp(y, centres_y, centres_x)
    depth = np.mean([v.half_depth for v in vertebrae])
    # The back skin lies behind the spinous processes; the abdomen reaches past the left edge.
    skin_x = spine_x + depth + 95.0 * scale * anatomy.soft_tissue
    trunk_centre = (spine_x - 90.0 * scale).astype(np.float32)
    inverse_radius = (1.0 / (skin_x - trunk_centre)).astype(np.float32)
    t = (x[None, :] - trunk_centre[:, None]) * inverse_radius[:, None]
    thickness = np.sqrt(np.clip(1.0 - t * t, 0.0, 1.0))
    thickness *= np.float32(SOFT_TISSUE * anatomy.soft_tissue)
    return thickness


def _patch(
    shape: tuple[int, int], vertebra: PlacedVertebra, extent: tuple[float, float, float, float]
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
    """Return the image slices and local (u, v) of pixel centres covering ``extent``."""
    u_min, u_max, v_min, v_max = extent
    x, y = vertebra.to_image(np.array([u_min, u_max, u_max, u_min]), np.array([v_min, v_min, v_max, v_max]))
    x1, x2 = max(int(np.floor(x.min())), 0), min(int(np.ceil(x.max())) + 1, shape[1])
    y1, y2 = max(int(np.floor(y.min())), 0), min(int(np.ceil(y.max())) + 1, shape[0])
    if x1 >= x2 or y1 >= y2:
        return None
    grid_y, grid_x = np.mgrid[y1:y2, x1:x2].astype(np.float32) + 0.5
    u, v = vertebra.to_local(grid_x, grid_y)
    return (slice(y1, y2), slice(x1, x2)), u, v


def _texture(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Return smooth noise with unit standard deviation: the trabecular pattern."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma)
    return noise / max(float(noise.std()), 1e-6)


def _draw_body(
    density: np.ndarray, vertebra: PlacedVertebra, bone_density: float, scale: float, rng: np.random.Generator
) -> None:
    anatomy = vertebra.anatomy
    margin = 6.0 * scale
    u_min, u_max, v_min, v_max = vertebra.local_extent()
    found = _patch(density.shape, vertebra, (u_min - margin, u_max + margin, v_min - margin, v_max + margin))
    if found is None:
        return
    where, u, v = found
    depth = vertebra.depth_inside(u, v)
    if anatomy.schmorl_node is not None:
        depth = _schmorl_notch(vertebra, u, v, depth, scale)
    body = np.clip(depth + 0.5, 0.0, 1.0)

    texture = _texture(rng, u.shape, 0.5 * scale)
    value = body * TRABECULAR * bone_density * (1.0 + 0.22 * texture)
    cortex_width = 0.9 * scale * anatomy.cortex
    cortex_strength = CORTEX * (1.4 if "corticated_margins" in anatomy.signs else 0.6 + 0.4 * bone_density)
    cortex = body * (depth < cortex_width) * cortex_strength
    if vertebra.wall_sign is not None:
        cortex *= _cortical_break(vertebra, u, v, scale)
    value += cortex
    if "condensation_band" in anatomy.signs:
        value += _condensation_band(vertebra, u, v, body, scale, rng)
    for corner in anatomy.osteophytes:
        value += _osteophyte(vertebra, u, v, corner, anatomy.osteophyte_size * scale) * cortex_strength * 1.4
    density[where] += value


def _cortical_break(vertebra: PlacedVertebra, u: np.ndarray, v: np.ndarray, scale: float) -> np.ndarray:
    """Return a factor that interrupts the anterior cortex where a fresh fracture buckles or steps."""
    sign = vertebra.wall_sign
    assert sign is not None
    gap = 1.5 * scale
    along = np.exp(-(((v - sign.v) / gap) ** 2))
    front = u < -vertebra.half_depth + 0.2 * vertebra.half_depth * 2
    return 1.0 - 0.85 * along * front


def _schmorl_notch(
    vertebra: PlacedVertebra, u: np.ndarray, v: np.ndarray, depth: np.ndarray, scale: float
) -> np.ndarray:
    """Return ``depth`` with a rounded defect in one endplate (a Schmorl's node)."""
    radius = 2.5 * scale
    u0 = 0.15 * vertebra.half_depth
    if vertebra.anatomy.schmorl_node == "superior":
        v0 = float(vertebra.endplate(vertebra.superior, np.array(u0)))
    else:
        v0 = float(vertebra.endplate(vertebra.inferior, np.array(u0)))
    distance = np.hypot(u - u0, v - v0) - radius
    return np.minimum(depth, distance)


def _condensation_band(
    vertebra: PlacedVertebra,
    u: np.ndarray,
    v: np.ndarray,
    body: np.ndarray,
    scale: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return the band of increased density under the collapsed superior endplate."""
    width = float(rng.uniform(3.5, 6.0)) * scale
    below = v - vertebra.endplate(vertebra.superior, u)
    # Even density over the upper two thirds of the band, fading to nothing at its
    # lower edge, which the texture makes irregular.
    profile = np.clip((width - below) / (width / 3), 0.0, 1.0)
    return body * profile * CONDENSATION_BAND * (1.0 + 0.25 * _texture(rng, u.shape, 0.8 * scale))


def _osteophyte(
    vertebra: PlacedVertebra, u: np.ndarray, v: np.ndarray, corner: str, size: float
) -> np.ndarray:
    """Return a beak-shaped spur growing from an anterior corner towards the disc."""
    if corner == "superior_anterior":
        base_v, direction = vertebra.superior[0], -1.0
    else:
        base_v, direction = vertebra.inferior[0], 1.0
    base = np.array([-vertebra.half_depth + 0.3 * size, base_v - direction * 0.4 * size])
    tip = np.array([-vertebra.half_depth - 0.7 * size, base_v + direction * 0.6 * size])
    segment = tip - base
    t = np.clip(
        ((u - base[0]) * segment[0] + (v - base[1]) * segment[1]) / float(segment @ segment), 0.0, 1.0
    )
    distance = np.hypot(u - base[0] - t * segment[0], v - base[1] - t * segment[1])
    radius = 0.45 * size * (1.0 - 0.8 * t)
    return np.clip(radius - distance + 0.5, 0.0, 1.0)


def _draw_posterior_elements(
    density: np.ndarray, vertebra: PlacedVertebra, bone_density: float, rng: np.random.Generator
) -> None:
    """Draw the pedicle and the lamina with the spinous process behind the body."""
    w = vertebra.half_depth * 2
    top = vertebra.superior[2]
    height = vertebra.inferior[2] - top
    extent = (
        vertebra.half_depth - 1.0,
        vertebra.half_depth + 1.25 * w,
        top - 0.2 * height,
        top + 1.3 * height,
    )
    found = _patch(density.shape, vertebra, extent)
    if found is None:
        return
    where, u, v = found
    pedicle_u = (u - vertebra.half_depth) / (0.4 * w)
    pedicle_v = (v - top - 0.3 * height) / (0.22 * height)
    pedicle = np.clip(1.0 - np.abs(pedicle_v) ** 4 - np.abs(pedicle_u - 0.5) ** 4 * 8, 0.0, 1.0)
    # The spinous process points backwards and a little downwards.
    su, sv = u - vertebra.half_depth - 0.8 * w, v - top - 0.65 * height
    along, across = su * 0.94 + sv * 0.34, -su * 0.34 + sv * 0.94
    spinous = np.clip(1.0 - (along / (0.42 * w)) ** 2 - (across / (0.2 * height)) ** 2, 0.0, 1.0) ** 0.5
    texture = 1.0 + 0.15 * _texture(rng, u.shape, 2.0)
    density[where] += (np.maximum(pedicle, spinous) * POSTERIOR_ELEMENTS * bone_density * texture).astype(
        np.float32
    )


def _draw_sacrum(
    density: np.ndarray, s1: PlacedVertebra, bone_density: float, scale: float, rng: np.random.Generator
) -> None:
    """Draw the fused sacral segments below S1 so that S1 does not end in soft tissue."""
    previous = s1
    for shrink in (0.82, 0.66):
        height = (s1.inferior[2] - s1.superior[2]) * shrink
        shift = previous.inferior[2] + height / 2 + 1.0
        cos, sin = np.cos(previous.angle), np.sin(previous.angle)
        centre = (previous.centre[0] - shift * sin, previous.centre[1] + shift * cos)
        segment = dataclasses.replace(
            previous,
            anatomy=_plain(previous.anatomy),
            centre=centre,
            half_depth=s1.half_depth * shrink,
            superior=(-height / 2, -height / 2 + 0.5 * scale, -height / 2),
            inferior=(height / 2, height / 2, height / 2),
            wall_sign=None,
        )
        _draw_body(density, segment, bone_density * 0.85, scale, rng)
        previous = segment


def _plain(anatomy: VertebraAnatomy) -> VertebraAnatomy:
    return dataclasses.replace(anatomy, signs=(), osteophytes=(), schmorl_node=None, cortex=1.0)


def _draw_tube(
    density: np.ndarray, points: np.ndarray, radius: float, strength: float, shell: float = 0.35
) -> None:
    """Add a bony tube along the polyline ``points`` (N, 2): bright cortical edges, lighter middle."""
    rows, columns = density.shape
    x1 = max(int(points[:, 0].min() - radius - 2), 0)
    x2 = min(int(points[:, 0].max() + radius + 3), columns)
    y1 = max(int(points[:, 1].min() - radius - 2), 0)
    y2 = min(int(points[:, 1].max() + radius + 3), rows)
    if x1 >= x2 or y1 >= y2:
        return
    grid_y, grid_x = np.mgrid[y1:y2, x1:x2].astype(np.float32) + 0.5
    distance = np.full(grid_x.shape, np.inf, dtype=np.float32)
    for start, end in zip(points[:-1], points[1:], strict=True):
        segment = end - start
        length2 = max(float(segment @ segment), 1e-6)
        t = np.clip(((grid_x - start[0]) * segment[0] + (grid_y - start[1]) * segment[1]) / length2, 0.0, 1.0)
        distance = np.minimum(
            distance, np.hypot(grid_x - start[0] - t * segment[0], grid_y - start[1] - t * segment[1])
        )
    inner = radius * (1.0 - shell)
    # Chord through the outer cylinder minus 0.6 of the chord through the marrow,
    # so the middle stays lighter than the cortical edges but not empty.
    chord = np.sqrt(np.clip(radius**2 - distance**2, 0.0, None)) - 0.6 * np.sqrt(
        np.clip(inner**2 - distance**2, 0.0, None)
    )
    density[y1:y2, x1:x2] += (strength * chord / radius).astype(np.float32)


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, count: int = 12) -> np.ndarray:
    t = np.linspace(0.0, 1.0, count)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _draw_ribs(
    density: np.ndarray,
    vertebrae: tuple[PlacedVertebra, ...],
    count: int,
    scale: float,
    rng: np.random.Generator,
) -> None:
    """Draw the lowest ribs: they run from behind T12 forwards and down across L1."""
    t12, l1 = vertebrae[0], vertebrae[1]
    for index in range(count):
        start = np.array([t12.centre[0] + t12.half_depth * 2.2, t12.centre[1] + index * 12 * scale])
        start[1] += float(rng.uniform(-8, 8)) * scale
        end = np.array(
            [
                l1.centre[0] - l1.half_depth * float(rng.uniform(1.2, 2.5)),
                l1.centre[1] + float(rng.uniform(5, 30)) * scale,
            ]
        )
        control = (start + end) / 2 + np.array([0.0, -float(rng.uniform(5, 20)) * scale])
        _draw_tube(density, _bezier(start, control, end), float(rng.uniform(4.0, 6.0)) * scale, 0.35)


def _draw_iliac_crest(
    density: np.ndarray, vertebrae: tuple[PlacedVertebra, ...], scale: float, rng: np.random.Generator
) -> None:
    """Draw the iliac crest as an arc over L5 with the faint iliac wing below it."""
    l4, l5 = vertebrae[4], vertebrae[5]
    radius = float(rng.uniform(90, 130)) * scale
    top_y = float(rng.uniform(l4.centre[1], l5.centre[1]))
    centre = np.array([l5.centre[0] + float(rng.uniform(0, 25)) * scale, top_y + radius])
    angles = np.linspace(-np.pi / 2 - 0.75, -np.pi / 2 + 0.6, 16)
    arc = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    _draw_tube(density, arc, float(rng.uniform(3.0, 4.5)) * scale, 0.3)

    rows, columns = density.shape
    x1, x2 = max(int(arc[:, 0].min()), 0), min(int(arc[:, 0].max()) + 1, columns)
    y1, y2 = max(int(top_y), 0), min(int(top_y + 0.6 * radius), rows)
    if x1 >= x2 or y1 >= y2:
        return
    grid_y, grid_x = np.mgrid[y1:y2, x1:x2].astype(np.float32) + 0.5
    below_crest = radius - np.hypot(grid_x - centre[0], grid_y - centre[1])
    # The wing is densest just under the crest and fades downwards and towards the arc's ends.
    radial = np.clip(below_crest / (0.05 * radius), 0.0, 1.0) * np.exp(
        -np.clip(below_crest, 0.0, None) / (0.3 * radius)
    )
    angle = np.arctan2(grid_y - centre[1], grid_x - centre[0])
    middle, half_span = (angles[0] + angles[-1]) / 2, (angles[-1] - angles[0]) / 2
    along = np.clip(1.0 - ((angle - middle) / half_span) ** 2, 0.0, 1.0)
    density[y1:y2, x1:x2] += (0.16 * radial * along).astype(np.float32)


def _draw_bowel_gas(
    density: np.ndarray,
    vertebrae: tuple[PlacedVertebra, ...],
    count: int,
    scale: float,
    rng: np.random.Generator,
) -> int:
    """Draw pockets of bowel gas in front of and over the lower lumbar spine; return how many."""
    rows, columns = density.shape
    anterior_x = min(v.centre[0] - v.half_depth for v in vertebrae)
    top, bottom = vertebrae[2].centre[1], vertebrae[-1].centre[1]
    for _ in range(count):
        cx = float(rng.uniform(anterior_x - 60 * scale, anterior_x + 35 * scale))
        cy = float(rng.uniform(top, bottom))
        sx, sy = float(rng.uniform(6, 20)) * scale, float(rng.uniform(5, 14)) * scale
        x1, x2 = max(int(cx - 3 * sx), 0), min(int(cx + 3 * sx) + 1, columns)
        y1, y2 = max(int(cy - 3 * sy), 0), min(int(cy + 3 * sy) + 1, rows)
        if x1 >= x2 or y1 >= y2:
            continue
        grid_y, grid_x = np.mgrid[y1:y2, x1:x2].astype(np.float32) + 0.5
        blob = np.exp(-((((grid_x - cx) / sx) ** 2 + ((grid_y - cy) / sy) ** 2) ** 2))
        density[y1:y2, x1:x2] -= (blob * float(rng.uniform(0.25, 0.7))).astype(np.float32)
    return count


def _draw_marker(density: np.ndarray, acquisition: Acquisition, scale: float) -> dict[str, object]:
    """Draw the lead side marker letter in a corner; return its letter and box."""
    letter = _LETTERS[acquisition.marker or "L"]
    bitmap = np.array([[c == "1" for c in row] for row in letter], dtype=np.float32)
    cell = max(int(round(2.0 * scale)), 1)
    glyph = np.kron(bitmap, np.ones((cell, cell), dtype=np.float32))
    rows, columns = density.shape
    gy, gx = glyph.shape
    left, top, right, bottom = acquisition.collimation
    # Four cells of space between the letter and the edge of the exposed field.
    if "left" in acquisition.marker_corner:
        x = int(left * columns) + cell * 4
    else:
        x = columns - int(right * columns) - gx - cell * 4
    if "top" in acquisition.marker_corner:
        y = int(top * rows) + cell * 4
    else:
        y = rows - int(bottom * rows) - gy - cell * 4
    x, y = int(np.clip(x, 0, columns - gx)), int(np.clip(y, 0, rows - gy))
    density[y : y + gy, x : x + gx] += glyph * LEAD_MARKER
    return {"letter": acquisition.marker, "box": [x, y, x + gx, y + gy]}


def _expose(density: np.ndarray, photons: float, heel_effect: float, rng: np.random.Generator) -> np.ndarray:
    """Return the log signal -ln(I / I0) of an exposure with quantum noise.

    The incident intensity changes linearly from top to bottom by
    ``heel_effect`` (the anode heel effect), while I0 stays the nominal value,
    so the signal carries a gentle vertical gradient as on a real film.
    """
    rows = density.shape[0]
    incident = photons * (1.0 + heel_effect * (np.arange(rows, dtype=np.float32) / rows - 0.5))
    expected = incident[:, None] * np.exp(-density)
    # Gaussian approximation of Poisson counts, fine above a few photons per pixel.
    counts = expected + np.sqrt(expected) * rng.standard_normal(density.shape, dtype=np.float32)
    return -np.log(np.maximum(counts, 0.5) / photons)


def _collimate(
    signal: np.ndarray, collimation: tuple[float, float, float, float], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """Mark the unexposed border behind the collimator blades; return the exposed field [x1, y1, x2, y2]."""
    rows, columns = signal.shape
    left, top, right, bottom = collimation
    x1, y1 = int(left * columns), int(top * rows)
    x2, y2 = columns - int(right * columns), rows - int(bottom * rows)
    mask = np.ones(signal.shape, dtype=bool)
    mask[y1:y2, x1:x2] = False
    if mask.any():
        signal[mask] = COLLIMATED_SIGNAL + 0.05 * rng.standard_normal(int(mask.sum()), dtype=np.float32)
    return x1, y1, x2, y2
