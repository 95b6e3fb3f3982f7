"""Helpers for screening tests: a bundle of randomly initialised real architectures, and synthetic images.

The classifiers are the real torchvision architectures at a 64-pixel input, so
the tests stay fast. The detector is an untrained YOLOv8n built from its model
YAML with the seven level classes. An untrained detector finds nothing, so
classification is tested through ``classify_detections`` with chosen boxes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from inference.bundle import (
    BundleManifest,
    ClassifierSpec,
    CropSpec,
    DetectorSpec,
    ThresholdSpec,
    write_manifest,
)
from inference.classification import ARCHITECTURES, build_classifier
from inference.detection import configure_ultralytics
from inference.imaging.types import HeaderFacts, ImagingWarning, PixelSpacing, Provenance, Radiograph
from inference.pipeline import LoadedModels
from inference.result import LUMBAR_LEVELS, Box, Detection

LEVEL_CLASSES = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
CLASSIFIER_INPUT = 64
DETECTOR_INPUT = 64


def write_detector_checkpoint(path: Path, *, class_names: tuple[str, ...] = LEVEL_CLASSES, seed: int = 0) -> None:
    """Write an untrained YOLOv8n checkpoint with ``class_names``, in the layout ultralytics' trainer saves."""
    ultralytics = configure_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(seed)
    model = DetectionModel("yolov8n.yaml", nc=len(class_names), verbose=False)
    model.names = dict(enumerate(class_names))
    checkpoint = {
        "model": model.half(),
        "ema": None,
        "train_args": {"task": "detect", "imgsz": DETECTOR_INPUT},
        "version": ultralytics.__version__,
    }
    torch.save(checkpoint, path)


def build_test_bundle(
    out_dir: Path, *, seed: int = 0, input_size: int = CLASSIFIER_INPUT, fresh_threshold: float = 0.3
) -> Path:
    """Write a complete bundle of randomly initialised models into ``out_dir`` and return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_detector_checkpoint(out_dir / "detector.pt", seed=seed)
    specs = []
    for index, architecture in enumerate(ARCHITECTURES):
        torch.manual_seed(seed + index + 1)
        model = build_classifier(architecture, num_classes=3)
        torch.save(model.state_dict(), out_dir / f"{architecture}.pt")
        specs.append(
            ClassifierSpec(
                architecture=architecture,
                file=f"{architecture}.pt",
                sha256="",
                input_size=input_size,
                mean=(0.5, 0.5, 0.5),
                std=(0.25, 0.25, 0.25),
            )
        )
    manifest = BundleManifest(
        name="screening-test",
        version="0.0.0",
        demo=True,
        created_at="2026-12-04T00:00:00Z",
        detector=DetectorSpec(
            file="detector.pt",
            sha256="",
            class_names=LEVEL_CLASSES,
            image_size=DETECTOR_INPUT,
            confidence_threshold=0.25,
            iou_threshold=0.5,
        ),
        classifiers=tuple(specs),
        crop=CropSpec(margin=0.15),
        thresholds=ThresholdSpec(fresh=fresh_threshold, source="fixed for tests", target_sensitivity=None),
        training={"data": {"note": "random initialisation, no training"}, "metrics": {}},
    )
    write_manifest(out_dir, manifest)
    return out_dir


def spine_image(rows: int = 600, columns: int = 400, *, seed: int = 0) -> tuple[np.ndarray, list[Detection]]:
    """Draw five bright blocks stacked like L1 to L5 on a dark background; return the image and their boxes."""
    rng = np.random.default_rng(seed)
    image = rng.integers(10, 40, size=(rows, columns), dtype=np.uint8)
    detections = []
    height, width, gap = rows // 9, columns // 4, rows // 40
    top = rows // 8
    for index, level in enumerate(LUMBAR_LEVELS):
        y1 = top + index * (height + gap)
        x1 = columns // 2 - width // 2
        image[y1 : y1 + height, x1 : x1 + width] = 180 + 10 * index
        detections.append(Detection(level, Box(float(x1), float(y1), float(x1 + width), float(y1 + height)), 0.9))
    return image, detections


def make_radiograph(rendering: np.ndarray, *, warnings: tuple[ImagingWarning, ...] = ()) -> Radiograph:
    """Wrap an 8-bit image in a Radiograph as ``inference.imaging.load`` would return it."""
    return Radiograph(
        pixels=rendering.astype(np.float32) / 255.0,
        rendering=rendering,
        spacing=PixelSpacing(None, None, "unknown"),
        header=HeaderFacts(modality="DX", body_part_examined="LSPINE"),
        provenance=Provenance(
            file_type="png", decoder="test", rows=rendering.shape[0], columns=rendering.shape[1]
        ),
        warnings=warnings,
        source_path="synthetic.png",
    )


def with_threshold(models: LoadedModels, fresh: float) -> LoadedModels:
    """Return ``models`` with another MRI threshold, sharing the loaded networks."""
    manifest = replace(models.manifest, thresholds=replace(models.manifest.thresholds, fresh=fresh))
    return replace(models, manifest=manifest, bundle_info=replace(models.bundle_info, fresh_threshold=fresh))
