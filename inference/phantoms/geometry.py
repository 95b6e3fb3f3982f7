"""Placement of a phantom spine in an image: vertebral outlines, corner points and boxes.

Coordinates are image pixels with x to the right and y downwards. Pixel
(column i, row j) covers [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5).
Each vertebral body has a local frame: ``u`` points posteriorly (to the right
before rotation, because every phantom faces left) and ``v`` points caudally.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from inference.phantoms.anatomy import PatientAnatomy, VertebraAnatomy

CORNER_NAMES: tuple[str, ...] = (
    "superior_anterior",
    "superior_middle",
    "superior_posterior",
    "inferior_anterior",
    "inferior_middle",
    "inferior_posterior",
)


@dataclass(frozen=True)
class AnteriorWallSign:
    """Buckling (a local bulge) or a step of the anterior cortex, in local pixels."""

    kind: str  # "buckling" or "step"
    v: float  # where along the wall
    amplitude: float  # outward displacement, pixels
    width: float  # extent along the wall, pixels


@dataclass(frozen=True)
class PlacedVertebra:
    """One vertebral body placed in the image, with its outline in local pixels."""

    anatomy: VertebraAnatomy
    centre: tuple[float, float]  # image pixels
    angle: float  # radians, rotation of the local frame against the image axes
    half_depth: float
    superior: tuple[float, float, float]  # v of the anterior, middle, posterior endplate points
    inferior: tuple[float, float, float]
    waist: float  # concavity of the anterior and posterior walls, pixels
    wall_sign: AnteriorWallSign | None

    @property
    def level(self) -> str:
        return self.anatomy.level

    def to_image(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map local (u, v) to image (x, y)."""
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        x = self.centre[0] + u * cos - v * sin
        y = self.centre[1] + u * sin + v * cos
        return x, y

    def to_local(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map image (x, y) to local (u, v)."""
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        dx, dy = x - self.centre[0], y - self.centre[1]
        return dx * cos + dy * sin, -dx * sin + dy * cos

    def endplate(self, points: tuple[float, float, float], u: np.ndarray) -> np.ndarray:
        """Return v of the endplate through the anterior, middle, posterior points at ``u``."""
        anterior, middle, posterior = points
        t = u / self.half_depth
        return middle + (posterior - anterior) / 2 * t + ((anterior + posterior) / 2 - middle) * t * t

    def anterior_wall(self, v: np.ndarray) -> np.ndarray:
        """Return u of the anterior cortex at ``v``."""
        # The waist vanishes at the anterior endplate points, so they lie on the outline.
        top, bottom = self.superior[0], self.inferior[0]
        t = np.clip((2 * v - top - bottom) / (bottom - top), -1.0, 1.0)
        u = -self.half_depth + self.waist * (1.0 - t * t)
        sign = self.wall_sign
        if sign is not None and sign.kind == "buckling":
            u = u - sign.amplitude * np.exp(-(((v - sign.v) / sign.width) ** 2))
        elif sign is not None:
            # The upper fragment is pushed anteriorly above the fracture line.
            u = u - sign.amplitude / (1.0 + np.exp((v - sign.v) / 0.7))
        return u

    def posterior_wall(self, v: np.ndarray) -> np.ndarray:
        """Return u of the posterior cortex at ``v``."""
        top, bottom = self.superior[2], self.inferior[2]
        t = np.clip((2 * v - top - bottom) / (bottom - top), -1.0, 1.0)
        return self.half_depth - 0.6 * self.waist * (1.0 - t * t)

    def depth_inside(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Return the distance in pixels to the nearest edge of the body, positive inside."""
        inside = np.minimum(u - self.anterior_wall(v), self.posterior_wall(v) - u)
        inside = np.minimum(inside, v - self.endplate(self.superior, u))
        return np.minimum(inside, self.endplate(self.inferior, u) - v)

    def corners(self) -> dict[str, tuple[float, float]]:
        """Return the six endplate points in image pixels."""
        u = np.array([-self.half_depth, 0.0, self.half_depth] * 2)
        v = np.array([*self.superior, *self.inferior])
        x, y = self.to_image(u, v)
        return {name: (float(x[i]), float(y[i])) for i, name in enumerate(CORNER_NAMES)}

    def heights(self) -> tuple[float, float, float]:
        """Return the anterior, middle and posterior heights in pixels."""
        return tuple(float(b - a) for a, b in zip(self.superior, self.inferior, strict=True))  # type: ignore[return-value]

    def local_extent(self) -> tuple[float, float, float, float]:
        """Return (u_min, u_max, v_min, v_max) that contain the whole body."""
        outward = self.wall_sign.amplitude if self.wall_sign else 0.0
        return (
            -self.half_depth - outward - 1.0,
            self.half_depth + 1.0,
            min(self.superior) - 1.0,
            max(self.inferior) + 1.0,
        )

    @cached_property
    def box(self) -> tuple[float, float, float, float]:
        """Axis-aligned box [x1, y1, x2, y2] that encloses the body.

        The outline is sampled every quarter pixel in the local frame, so the
        box is exact to about half a pixel.
        """
        u_min, u_max, v_min, v_max = self.local_extent()
        u, v = np.meshgrid(np.arange(u_min, u_max, 0.25), np.arange(v_min, v_max, 0.25))
        inside = self.depth_inside(u, v) >= 0
        x, y = self.to_image(u[inside], v[inside])
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())


@dataclass(frozen=True)
class SpinePose:
    """Pose of the spine in one image: scale, position, lordosis and rotation."""

    pixels_per_mm: float
    origin: tuple[float, float]  # image pixels of the top of T12 on the spinal axis
    lordosis_mm: float  # anterior displacement of the mid-lumbar spine
    sacral_tilt: float  # extra tilt of S1, radians
    rotation: float  # in-plane rotation of the whole spine, radians


def place_spine(
    anatomy: PatientAnatomy, pose: SpinePose, rng: np.random.Generator
) -> tuple[PlacedVertebra, ...]:
    """Stack T12 to S1 along a lordotic curve and place the bodies in the image."""
    scale = pose.pixels_per_mm
    bodies = anatomy.vertebrae
    length = sum(max(v.heights) for v in bodies) + sum(anatomy.discs)
    rotation_cos, rotation_sin = np.cos(pose.rotation), np.sin(pose.rotation)

    placed = []
    s = 0.0  # arc length along the spinal axis, mm
    for index, vertebra in enumerate(bodies):
        reference = vertebra.reference_height
        s_centre = s + reference / 2
        # The axis bulges anteriorly (to smaller x) with its apex in the middle
        # of the stack; the local tilt follows the tangent of that curve.
        phase = np.pi * s_centre / length
        offset = -pose.lordosis_mm * np.sin(phase)
        slope = -pose.lordosis_mm * np.pi / length * np.cos(phase)
        tilt = np.arctan(slope)
        if vertebra.level == "S1":
            tilt += pose.sacral_tilt
        # Spine frame (mm) -> image: rotate the whole spine, then scale.
        sx, sy = offset, s_centre
        x = pose.origin[0] + (sx * rotation_cos - sy * rotation_sin) * scale
        y = pose.origin[1] + (sx * rotation_sin + sy * rotation_cos) * scale
        placed.append(_place_body(vertebra, (float(x), float(y)), float(tilt + pose.rotation), scale, rng))
        if index < len(anatomy.discs):
            s += reference + anatomy.discs[index]
    return tuple(placed)


def _place_body(
    vertebra: VertebraAnatomy,
    centre: tuple[float, float],
    angle: float,
    scale: float,
    rng: np.random.Generator,
) -> PlacedVertebra:
    anterior, middle, posterior = (h * scale for h in vertebra.heights)
    half_reference = vertebra.reference_height * scale / 2
    dent = vertebra.inferior_middle_dent * scale
    # The inferior endplate keeps its place; a collapse moves the superior endplate down.
    inferior = (half_reference, half_reference - dent, half_reference)
    superior = (inferior[0] - anterior, inferior[1] - middle, inferior[2] - posterior)
    half_depth = vertebra.depth * scale / 2

    wall_sign = None
    height = anterior
    if "anterior_buckling" in vertebra.signs:
        wall_sign = AnteriorWallSign(
            kind="buckling",
            v=superior[0] + height * float(rng.uniform(0.2, 0.4)),
            amplitude=float(rng.uniform(1.8, 3.0)) * scale,
            width=height * float(rng.uniform(0.12, 0.2)),
        )
    elif "anterior_step" in vertebra.signs:
        wall_sign = AnteriorWallSign(
            kind="step",
            v=superior[0] + height * float(rng.uniform(0.25, 0.45)),
            amplitude=float(rng.uniform(1.8, 3.0)) * scale,
            width=1.0,
        )
    return PlacedVertebra(
        anatomy=vertebra,
        centre=centre,
        angle=angle,
        half_depth=half_depth,
        superior=superior,
        inferior=inferior,
        waist=float(rng.uniform(0.8, 1.5)) * scale,
        wall_sign=wall_sign,
    )
