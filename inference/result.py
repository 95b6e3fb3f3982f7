"""The one result type of screening: ``ScreeningResult`` and its parts.

The JSON form (``to_dict``) carries ``schema_version``; docs/result-schema.md
documents every field. Change the schema only by adding fields, and bump the
minor version when you do.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = "1.1"

CLASSES: tuple[str, str, str] = ("normal", "old", "fresh")
LUMBAR_LEVELS: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5")
CAM_REGIONS: tuple[str, ...] = (
    "anterior_wall",
    "posterior_wall",
    "superior_endplate",
    "inferior_endplate",
    "centre",
    "outside",
)
ENSEMBLE = "ensemble"

Status = Literal["mri_recommended", "no_fresh_fracture_found", "not_assessable"]


@dataclass(frozen=True)
class Message:
    """A coded reason or warning with its English and Japanese text."""

    code: str
    message_en: str
    message_ja: str

    def message(self, language: str = "en") -> str:
        """Return the text in ``language`` ("ja" or "en")."""
        return self.message_ja if language.lower().startswith("ja") else self.message_en


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in original image pixels: x to the right, y downwards."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class Detection:
    """One detected vertebra before classification."""

    level: str  # "T12", "L1" ... "L5", "S1"
    box: Box
    confidence: float


@dataclass(frozen=True)
class VertebraFinding:
    """Classification, Grad-CAM and warnings for one lumbar level.

    Probabilities are keyed by class name in ``CLASSES`` order. Model keys are
    the architecture names of the bundle ("resnet50", "densenet161",
    "resnext50_32x4d"); ``cam_regions`` and ``overlays`` also have the key
    ``ENSEMBLE``. Overlay paths are relative to the overlay folder given to
    ``screen``.
    """

    level: str
    box: Box
    detection_confidence: float
    predicted_class: str
    ensemble_probabilities: dict[str, float]
    model_probabilities: dict[str, dict[str, float]]
    model_predicted_classes: dict[str, str]
    cam_regions: dict[str, dict[str, float]] = field(default_factory=dict)
    overlays: dict[str, str] = field(default_factory=dict)
    crop_file: str | None = None
    warnings: tuple[Message, ...] = ()

    @property
    def fresh_probability(self) -> float:
        return self.ensemble_probabilities["fresh"]


@dataclass(frozen=True)
class BundleInfo:
    """Identity of the model bundle that produced a result."""

    name: str
    version: str
    demo: bool
    manifest_sha256: str
    file_sha256: dict[str, str]  # file name inside the bundle -> sha256
    fresh_threshold: float
    threshold_source: str


@dataclass(frozen=True)
class ScreeningResult:
    """Everything screening found for one radiograph.

    ``status`` is "not_assessable" whenever ``not_assessable_reasons`` is not
    empty; such a result never claims that no fracture was found.
    """

    status: Status
    findings: tuple[VertebraFinding, ...]
    not_assessable_reasons: tuple[Message, ...]
    warnings: tuple[Message, ...]
    bundle: BundleInfo
    imaging: dict[str, Any]  # Radiograph.to_dict()
    other_detections: tuple[Detection, ...] = ()  # T12, S1 and other non-lumbar boxes
    overview_overlay: str | None = None  # full image with level boxes and legend
    full_image_cam_overlays: dict[str, str] = field(default_factory=dict)  # model or ensemble -> path
    timings_ms: dict[str, float] = field(default_factory=dict)  # stage -> milliseconds
    device: str = "cpu"
    schema_version: str = SCHEMA_VERSION
    # How CAM regions were laid out in each crop (body box, anterior side, wall and endplate fractions).
    cam_region_geometry: dict[str, Any] = field(default_factory=dict)

    @property
    def mri_recommended(self) -> bool:
        return self.status == "mri_recommended"

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-compatible data."""
        data = asdict(self)
        data["mri_recommended"] = self.mri_recommended
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """Return the result as a JSON document."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreeningResult:
        """Rebuild a result from ``to_dict`` output."""

        def messages(items: list[dict[str, str]]) -> tuple[Message, ...]:
            return tuple(Message(**item) for item in items)

        findings = tuple(
            VertebraFinding(
                level=f["level"],
                box=Box(**f["box"]),
                detection_confidence=f["detection_confidence"],
                predicted_class=f["predicted_class"],
                ensemble_probabilities=f["ensemble_probabilities"],
                model_probabilities=f["model_probabilities"],
                model_predicted_classes=f["model_predicted_classes"],
                cam_regions=f.get("cam_regions", {}),
                overlays=f.get("overlays", {}),
                crop_file=f.get("crop_file"),
                warnings=messages(f.get("warnings", [])),
            )
            for f in data["findings"]
        )
        return cls(
            status=data["status"],
            findings=findings,
            not_assessable_reasons=messages(data["not_assessable_reasons"]),
            warnings=messages(data["warnings"]),
            bundle=BundleInfo(**data["bundle"]),
            imaging=data["imaging"],
            other_detections=tuple(
                Detection(level=d["level"], box=Box(**d["box"]), confidence=d["confidence"])
                for d in data.get("other_detections", [])
            ),
            overview_overlay=data.get("overview_overlay"),
            full_image_cam_overlays=data.get("full_image_cam_overlays", {}),
            timings_ms=data.get("timings_ms", {}),
            device=data.get("device", "cpu"),
            schema_version=data.get("schema_version", SCHEMA_VERSION),
            cam_region_geometry=data.get("cam_region_geometry", {}),
        )
