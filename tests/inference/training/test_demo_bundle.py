"""The tiny demo bundle: it verifies, records its training, and screens a phantom of the same settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.bundle import verify_bundle
from inference.demo import PROFILES, TARGET_FRESH_SENSITIVITY, ensure_tiny_bundle
from inference.imaging import load
from inference.phantoms import generate_dataset
from inference.result import LUMBAR_LEVELS


def test_tiny_bundle_verifies_and_is_marked_demo(tiny_bundle: Path) -> None:
    manifest = verify_bundle(tiny_bundle)

    assert manifest.demo is True
    assert manifest.architectures == ("resnet50", "densenet161", "resnext50_32x4d")
    assert manifest.training["profile"] == "tiny"
    assert f"target fresh sensitivity {TARGET_FRESH_SENSITIVITY:.2f}" in manifest.thresholds.source
    assert (tiny_bundle / "MODEL_CARD.md").read_text().startswith("# Model card")


def test_tiny_bundle_records_test_metrics(tiny_bundle: Path) -> None:
    metrics = verify_bundle(tiny_bundle).training["metrics"]

    assert metrics["test_images"] > 0
    assert 0.0 <= metrics["detection_map50"] <= 1.0
    assert (tiny_bundle / "evaluation" / "evaluation.json").is_file()
    assert (tiny_bundle / "evaluation" / "evaluation-roc.png").is_file()


def test_ensure_tiny_bundle_reuses_cached_bundle(tiny_bundle: Path) -> None:
    before = (tiny_bundle / "manifest.json").stat().st_mtime_ns

    again = ensure_tiny_bundle(tiny_bundle.parent)

    assert again == tiny_bundle
    assert (tiny_bundle / "manifest.json").stat().st_mtime_ns == before


def test_tiny_bundle_screens_phantom_with_five_levels(tiny_bundle: Path, tmp_path: Path) -> None:
    pipeline = pytest.importorskip("inference.pipeline")
    # A seed used neither for training (0) nor for the bundle's test set (1000).
    info = generate_dataset(
        tmp_path / "phantom",
        patients=1,
        seed=4242,
        images_per_patient=(1, 1),
        **PROFILES["tiny"].phantom_settings,
    )
    models = pipeline.load_models(tiny_bundle, device="cpu")

    result = pipeline.screen(load(info.image_files[0]), models, overlay_dir=tmp_path / "overlays")

    assert tuple(finding.level for finding in result.findings) == LUMBAR_LEVELS
    assert result.status != "not_assessable", [reason.message_en for reason in result.not_assessable_reasons]
    assert result.bundle.demo is True
