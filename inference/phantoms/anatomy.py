"""Anatomy of one phantom patient: vertebral sizes, classes, deformities and signs.

Everything here is in millimetres and fixed per patient, so every image of a
patient shows the same spine; ``geometry`` places it in an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

LEVELS: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
FRACTURE_LEVELS: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5")

Deformity = Literal["none", "wedge", "biconcave", "crush"]
VertebraClass = Literal["normal", "old", "fresh"]

# Body height relative to L3, and AP depth relative to the body height, per level.
# Approximate proportions of adult lumbar vertebrae; T12 is smaller and S1 is the
# upper sacral body.
_RELATIVE_HEIGHT = {"T12": 0.88, "L1": 0.93, "L2": 0.97, "L3": 1.0, "L4": 1.0, "L5": 0.96, "S1": 0.9}
_DEPTH_RATIO = {"T12": 1.2, "L1": 1.3, "L2": 1.35, "L3": 1.42, "L4": 1.48, "L5": 1.5, "S1": 1.45}
# Anterior height over posterior height of a normal body: T12 and L1 are slightly
# wedged by nature, L5 is taller in front.
_NORMAL_ANTERIOR_RATIO = {"T12": 0.93, "L1": 0.96, "L2": 0.99, "L3": 1.0, "L4": 1.02, "L5": 1.1, "S1": 1.08}

# Genant's semi-quantitative grading by height loss: 0 under 20 %, 1 from 20 to
# 25 %, 2 from 25 to 40 %, 3 over 40 %.
GENANT_LOWER_BOUNDS: tuple[float, float, float] = (0.20, 0.25, 0.40)

# Height loss drawn for each grade; kept off the boundaries so that rounding of
# pixel coordinates never moves a vertebra into the neighbouring grade.
_LOSS_RANGE = {0: (0.08, 0.17), 1: (0.21, 0.24), 2: (0.27, 0.38), 3: (0.43, 0.60)}


def genant_grade(height_loss: float) -> int:
    """Return the Genant grade (0 to 3) for a fractional height loss."""
    if height_loss > GENANT_LOWER_BOUNDS[2]:
        return 3
    if height_loss >= GENANT_LOWER_BOUNDS[1]:
        return 2
    if height_loss >= GENANT_LOWER_BOUNDS[0]:
        return 1
    return 0


@dataclass(frozen=True)
class VertebraAnatomy:
    """One vertebral body of a phantom patient, in millimetres.

    ``heights`` are the anterior, middle and posterior heights after any
    fracture. ``reference_height`` is the posterior height before it: the
    height loss and the Genant grade are measured against it.
    """

    level: str
    vertebra_class: VertebraClass
    deformity: Deformity
    depth: float
    heights: tuple[float, float, float]
    reference_height: float
    # Shift of the middle of the inferior endplate towards the body centre; a
    # biconcave fracture also dents the inferior endplate.
    inferior_middle_dent: float
    signs: tuple[str, ...]
    osteophytes: tuple[str, ...]  # corners: "superior_anterior", "inferior_anterior"
    osteophyte_size: float
    schmorl_node: str | None  # "superior" or "inferior" endplate
    cortex: float  # cortical thickness

    @property
    def height_loss(self) -> float:
        return 1.0 - min(self.heights) / self.reference_height

    @property
    def grade(self) -> int:
        return genant_grade(self.height_loss)


@dataclass(frozen=True)
class PatientAnatomy:
    """The fixed anatomy of one phantom patient."""

    patient_id: str
    vertebrae: tuple[VertebraAnatomy, ...]
    discs: tuple[float, ...]  # disc heights between consecutive levels, mm
    bone_density: float  # 1.0 normal; lower is osteopenia
    soft_tissue: float  # relative thickness of the abdomen and back
    sex: Literal["F", "M"]
    age: int


def sample_patient(rng: np.random.Generator, patient_id: str, class_mix: dict[str, float]) -> PatientAnatomy:
    """Draw the anatomy of one patient; L1 to L5 get classes from ``class_mix``."""
    l3_height = float(rng.normal(27.0, 1.8))
    age = int(rng.integers(55, 91))
    degeneration = float(np.clip((age - 50) / 40 + rng.normal(0.0, 0.15), 0.0, 1.0))
    bone_density = float(np.clip(rng.normal(0.8, 0.12), 0.5, 1.05))
    names = list(class_mix)
    weights = np.array([class_mix[name] for name in names], dtype=float)
    weights = weights / weights.sum()

    vertebrae = []
    for level in LEVELS:
        vertebra_class: VertebraClass = "normal"
        if level in FRACTURE_LEVELS:
            vertebra_class = names[int(rng.choice(len(names), p=weights))]  # type: ignore[assignment]
        vertebrae.append(_sample_vertebra(rng, level, vertebra_class, l3_height, degeneration))

    discs = []
    for upper in LEVELS[:-1]:
        relative = {"T12": 0.22, "L1": 0.28, "L2": 0.32, "L3": 0.36, "L4": 0.38, "L5": 0.34}[upper]
        height = l3_height * relative * float(rng.uniform(0.85, 1.15))
        if rng.random() < 0.35 * degeneration:
            height *= float(rng.uniform(0.35, 0.6))  # disc narrowing
        discs.append(height)

    return PatientAnatomy(
        patient_id=patient_id,
        vertebrae=tuple(vertebrae),
        discs=tuple(discs),
        bone_density=bone_density,
        soft_tissue=float(rng.uniform(0.8, 1.3)),
        sex="F" if rng.random() < 0.7 else "M",
        age=age,
    )


def _sample_vertebra(
    rng: np.random.Generator, level: str, vertebra_class: VertebraClass, l3_height: float, degeneration: float
) -> VertebraAnatomy:
    posterior = l3_height * _RELATIVE_HEIGHT[level] * float(rng.uniform(0.96, 1.04))
    anterior = posterior * _NORMAL_ANTERIOR_RATIO[level] * float(rng.uniform(0.98, 1.02))
    # Normal endplates are slightly concave, so the middle height is the smallest.
    middle = min(anterior, posterior) * float(rng.uniform(0.94, 0.98))
    depth = posterior * _DEPTH_RATIO[level] * float(rng.uniform(0.94, 1.06))

    deformity: Deformity = "none"
    signs: list[str] = []
    dent = (min(anterior, posterior) - middle) / 2
    reference = posterior
    if vertebra_class != "normal":
        deformity, grade = _sample_deformity(rng, vertebra_class)
        loss = float(rng.uniform(*_LOSS_RANGE[grade]))
        anterior, middle, posterior, dent = _fractured_heights(deformity, loss, anterior, middle, posterior)
        signs = _sample_signs(rng, vertebra_class, deformity, grade)

    osteophyte_chance = 0.25 * degeneration + (0.5 if vertebra_class == "old" else 0.0)
    osteophytes = tuple(
        corner for corner in ("superior_anterior", "inferior_anterior") if rng.random() < osteophyte_chance
    )
    if vertebra_class == "old" and osteophytes:
        signs.append("osteophytes")
    schmorl = None
    if level != "S1" and rng.random() < 0.08:
        schmorl = "superior" if rng.random() < 0.5 else "inferior"
    # Old fractures heal with smooth, well-corticated margins: a thicker rim.
    cortex = 1.0 if vertebra_class != "old" else float(rng.uniform(1.8, 2.5))

    return VertebraAnatomy(
        level=level,
        vertebra_class=vertebra_class,
        deformity=deformity,
        depth=depth,
        heights=(anterior, middle, posterior),
        reference_height=reference,
        inferior_middle_dent=dent,
        signs=tuple(signs),
        osteophytes=osteophytes,
        osteophyte_size=float(rng.uniform(2.0, 4.5)),
        schmorl_node=schmorl,
        cortex=cortex,
    )


def _sample_deformity(rng: np.random.Generator, vertebra_class: VertebraClass) -> tuple[Deformity, int]:
    if vertebra_class == "fresh" and rng.random() < 0.15:
        # A fresh fracture may show little deformity at all: a slight wedge below grade 1.
        return "wedge", 0
    kinds: tuple[Deformity, ...] = ("wedge", "biconcave", "crush")
    deformity = kinds[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
    grade = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
    return deformity, grade


def _fractured_heights(
    deformity: Deformity, loss: float, anterior: float, middle: float, posterior: float
) -> tuple[float, float, float, float]:
    """Return anterior, middle, posterior heights and the inferior dent for a fracture.

    The posterior height before the fracture is the reference; the smallest of
    the three heights is ``(1 - loss)`` times that reference.
    """
    reference = posterior
    lowest = (1.0 - loss) * reference
    if deformity == "wedge":
        # Keep the slight concavity of both endplates: the middle sits 3 % below
        # the line between the anterior and posterior heights.
        middle = 0.97 * (lowest + posterior) / 2
        return lowest, middle, posterior, ((lowest + posterior) / 2 - middle) / 2
    if deformity == "biconcave":
        # Both endplates cave in; the anterior wall loses a little height too.
        front = max(anterior * (1.0 - 0.3 * loss), lowest * 1.06)
        return front, lowest, posterior, (posterior - lowest) / 2
    # Crush: the whole body collapses, the posterior wall a little less.
    return lowest, lowest * 1.03, reference * (1.0 - 0.85 * loss), 0.0


def _sample_signs(
    rng: np.random.Generator, vertebra_class: VertebraClass, deformity: Deformity, grade: int
) -> list[str]:
    """Return the radiographic signs drawn on a fractured body.

    Fresh: anterior cortical buckling or a step, and often a band of increased
    density under the collapsed endplate. A fresh fracture with little
    deformity always shows the band and the buckling, so that a crop still
    carries a visible sign. Old: smooth, well-corticated margins.
    """
    if vertebra_class == "old":
        return ["corticated_margins"]
    if grade == 0:
        return ["anterior_buckling", "condensation_band"]
    signs = ["anterior_step" if rng.random() < 0.4 else "anterior_buckling"]
    if rng.random() < 0.8 or deformity == "biconcave":
        signs.append("condensation_band")
    return signs
