"""Builders shared by the web tests: uploads, small images, bundles whose files only need valid hashes."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from inference.bundle import BundleManifest, write_manifest


def uploaded(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    """Return an in-memory upload of ``content`` named ``name``."""
    return SimpleUploadedFile(name, content, content_type=content_type)


def png_bytes(rows: int = 96, columns: int = 64, seed: int = 0) -> bytes:
    """Return an 8-bit grayscale PNG of random pixels; ``seed`` changes its content and sha256."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(rows, columns), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(rows: int = 96, columns: int = 64, seed: int = 0) -> bytes:
    """Return an 8-bit grayscale JPEG of random pixels; ``seed`` changes its content and sha256."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(rows, columns), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="JPEG")
    return buffer.getvalue()


def truncated(content: bytes, keep: float = 0.5) -> bytes:
    """Return the first ``keep`` share of ``content``: a file cut off in transfer."""
    return content[: max(1, int(len(content) * keep))]


def write_hashed_bundle(folder: Path, *, name: str = "hashed-test-bundle", version: str = "1") -> Path:
    """Write a bundle whose weight files are random bytes with correct sha256s.

    Such a bundle passes ``verify_bundle`` but cannot be loaded by the pipeline;
    it tests installing and activating only.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = ["detector.pt", "resnet50.pt", "densenet161.pt", "resnext50_32x4d.pt"]
    for file_name in files:
        (folder / file_name).write_bytes(os.urandom(256))
    classifier = {"input_size": 32, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "sha256": "0" * 64}
    data: dict[str, Any] = {
        "format_version": 1,
        "name": name,
        "version": version,
        "demo": True,
        "created_at": "2026-12-04T21:00:00Z",
        "classes": ["normal", "old", "fresh"],
        "detector": {
            "file": "detector.pt",
            "sha256": "0" * 64,
            "framework": "ultralytics",
            "class_names": ["T12", "L1", "L2", "L3", "L4", "L5", "S1"],
            "image_size": 256,
            "confidence_threshold": 0.25,
            "iou_threshold": 0.5,
        },
        "classifiers": [
            {"architecture": "resnet50", "file": "resnet50.pt", **classifier},
            {"architecture": "densenet161", "file": "densenet161.pt", **classifier},
            {"architecture": "resnext50_32x4d", "file": "resnext50_32x4d.pt", **classifier},
        ],
        "crop": {"margin": 0.15},
        "thresholds": {"fresh": 0.3, "source": "test fixture, not calibrated", "target_sensitivity": 0.9},
        "training": {},
        "model_card": None,
    }
    write_manifest(folder, BundleManifest.from_dict(data))
    return folder


def screening_result(
    levels: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5"), *, fresh_level: str | None = "L2"
) -> Any:
    """Return a ScreeningResult shaped like the pipeline's, for tests of what the service stores.

    Its probabilities are made up; tests that claim the whole works use the real pipeline instead.
    """
    from inference.result import Box, BundleInfo, Message, ScreeningResult, VertebraFinding

    models = ("resnet50", "densenet161", "resnext50_32x4d")
    findings = []
    for index, level in enumerate(levels):
        fresh = 0.8 if level == fresh_level else 0.05
        probabilities = {"normal": round(0.95 - fresh, 4), "old": 0.05, "fresh": fresh}
        predicted = max(probabilities, key=probabilities.__getitem__)
        findings.append(
            VertebraFinding(
                level=level,
                box=Box(10.0, 20.0 + 30 * index, 60.0, 45.0 + 30 * index),
                detection_confidence=0.9,
                predicted_class=predicted,
                ensemble_probabilities=probabilities,
                model_probabilities={name: probabilities for name in models},
                model_predicted_classes={name: predicted for name in models},
                cam_regions={"ensemble": {"centre": 0.6, "outside": 0.4}},
                overlays={"ensemble": f"{level}_ensemble.png"},
                crop_file=f"{level}_crop.png",
                warnings=(Message("cam_outside", "CAM mostly outside", "CAM の大部分が椎体外"),)
                if index == 0
                else (),
            )
        )
    return ScreeningResult(
        status="mri_recommended" if fresh_level else "no_fresh_fracture_found",
        findings=tuple(findings),
        not_assessable_reasons=(),
        warnings=(),
        bundle=BundleInfo(
            name="hashed-test-bundle",
            version="1",
            demo=True,
            manifest_sha256="a" * 64,
            file_sha256={"detector.pt": "b" * 64},
            fresh_threshold=0.3,
            threshold_source="test fixture",
        ),
        imaging={},
        overview_overlay="overview.png",
        full_image_cam_overlays={"ensemble": "full_ensemble.png"},
        timings_ms={"detect": 1.0, "classify": 2.0},
        device="cpu",
    )
