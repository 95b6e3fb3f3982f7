"""Trained parts of a bundle before it has a manifest, and the manifest assembled from them.

``train-detector`` and ``train-classifiers`` each write their weight files into
the bundle folder together with a small JSON record (``DETECTOR_RECORD``,
``CLASSIFIERS_RECORD``). ``calibrate`` reads both records, chooses the fresh
threshold and writes ``manifest.json`` with ``inference.bundle.write_manifest``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inference.bundle import BundleManifest, ClassifierSpec, CropSpec, DetectorSpec, ThresholdSpec
from inference.training.calibration import Calibration

DETECTOR_RECORD = "training-detector.json"
CLASSIFIERS_RECORD = "training-classifiers.json"


def write_record(bundle_dir: Path, name: str, data: dict[str, Any]) -> Path:
    """Write one training record as JSON into ``bundle_dir`` and return its path."""
    bundle_dir.mkdir(parents=True, exist_ok=True)
    path = bundle_dir / name
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def read_record(bundle_dir: Path, name: str) -> dict[str, Any]:
    """Read a training record; raise FileNotFoundError naming the command that writes it."""
    path = bundle_dir / name
    if not path.is_file():
        command = "train-detector" if name == DETECTOR_RECORD else "train-classifiers"
        raise FileNotFoundError(
            f"{path} not found; run `python -m inference {command} --out {bundle_dir}` first"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def classifier_specs(record: dict[str, Any]) -> tuple[ClassifierSpec, ...]:
    """Return the classifier specs stored by ``train-classifiers`` (sha256 left empty)."""
    return tuple(
        ClassifierSpec(
            architecture=entry["architecture"],
            file=entry["file"],
            sha256="",
            input_size=int(entry["input_size"]),
            mean=tuple(entry["mean"]),  # type: ignore[arg-type]
            std=tuple(entry["std"]),  # type: ignore[arg-type]
        )
        for entry in record["classifiers"]
    )


def assemble_manifest(
    bundle_dir: Path,
    calibration: Calibration,
    *,
    name: str,
    version: str,
    demo: bool,
    training: dict[str, Any] | None = None,
) -> BundleManifest:
    """Build the manifest of a bundle from its training records and a calibration (sha256 filled on write)."""
    detector = read_record(bundle_dir, DETECTOR_RECORD)
    classifiers = read_record(bundle_dir, CLASSIFIERS_RECORD)
    return BundleManifest(
        name=name,
        version=version,
        demo=demo,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        detector=DetectorSpec(
            file=detector["file"],
            sha256="",
            class_names=tuple(detector["class_names"]),
            image_size=int(detector["image_size"]),
            confidence_threshold=float(detector["confidence_threshold"]),
            iou_threshold=float(detector["iou_threshold"]),
        ),
        classifiers=classifier_specs(classifiers),
        crop=CropSpec(margin=float(classifiers["margin"])),
        thresholds=ThresholdSpec(
            fresh=calibration.threshold,
            source=calibration.source,
            target_sensitivity=calibration.target_sensitivity,
        ),
        training={
            "detector": detector,
            "classifiers": classifiers,
            "calibration": calibration.to_dict(),
            **(training or {}),
        },
    )
