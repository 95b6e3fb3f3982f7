"""Manifest parsing, writing and integrity checks of model bundles."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from inference.bundle import (
    BundleManifest,
    ClassifierSpec,
    CropSpec,
    DetectorSpec,
    ThresholdSpec,
    bundle_info,
    load_manifest,
    sha256_file,
    verify_bundle,
    write_manifest,
)
from inference.errors import BundleError, BundleIntegrityError


def _manifest() -> BundleManifest:
    return BundleManifest(
        name="test-bundle",
        version="0.0.1",
        demo=True,
        created_at="2026-12-04T21:00:00Z",
        detector=DetectorSpec(
            file="detector.pt",
            sha256="",
            class_names=("T12", "L1", "L2", "L3", "L4", "L5", "S1"),
            image_size=640,
            confidence_threshold=0.25,
            iou_threshold=0.5,
        ),
        classifiers=tuple(
            ClassifierSpec(
                architecture=arch,
                file=f"{arch}.pt",
                sha256="",
                input_size=224,
                mean=(0.5, 0.5, 0.5),
                std=(0.25, 0.25, 0.25),
            )
            for arch in ("resnet50", "densenet161", "resnext50_32x4d")
        ),
        crop=CropSpec(margin=0.15),
        thresholds=ThresholdSpec(fresh=0.3, source="validation split", target_sensitivity=0.9),
        training={"data": {"images": 10}, "metrics": {"accuracy": 0.5}},
        model_card="MODEL_CARD.md",
    )


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    manifest = _manifest()
    for name in manifest.weight_files:
        (tmp_path / name).write_bytes(name.encode() * 100)
    write_manifest(tmp_path, manifest)
    return tmp_path


def _rewrite(bundle_dir: Path, **changes: object) -> None:
    path = bundle_dir / "manifest.json"
    data = json.loads(path.read_text())
    for dotted, value in changes.items():
        target = data
        keys = dotted.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is KeyError:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    path.write_text(json.dumps(data))


def test_write_manifest_fills_every_sha256(bundle_dir: Path) -> None:
    manifest = load_manifest(bundle_dir)

    assert manifest.detector.sha256 == sha256_file(bundle_dir / "detector.pt")
    for spec in manifest.classifiers:
        assert spec.sha256 == sha256_file(bundle_dir / spec.file)


def test_manifest_round_trips_through_json(bundle_dir: Path) -> None:
    manifest = load_manifest(bundle_dir)

    assert BundleManifest.from_dict(json.loads(json.dumps(manifest.to_dict()))) == manifest
    assert manifest.classifiers[1].architecture == "densenet161"
    assert manifest.thresholds.target_sensitivity == 0.9
    assert manifest.crop.margin == 0.15


def test_verify_bundle_accepts_intact_bundle(bundle_dir: Path) -> None:
    assert verify_bundle(bundle_dir).name == "test-bundle"


def test_verify_bundle_rejects_tampered_weight_file(bundle_dir: Path) -> None:
    with open(bundle_dir / "densenet161.pt", "ab") as handle:
        handle.write(b"\0")

    with pytest.raises(BundleIntegrityError) as caught:
        verify_bundle(bundle_dir)

    assert "densenet161.pt" in caught.value.message_en
    assert "sha256" in caught.value.message_ja


def test_verify_bundle_rejects_missing_weight_file(bundle_dir: Path) -> None:
    (bundle_dir / "detector.pt").unlink()

    with pytest.raises(BundleIntegrityError, match="missing: detector.pt"):
        verify_bundle(bundle_dir)


def test_verify_bundle_rejects_empty_sha256(bundle_dir: Path) -> None:
    _rewrite(bundle_dir, detector__sha256="")

    with pytest.raises(BundleIntegrityError, match="no sha256"):
        verify_bundle(bundle_dir)


def test_load_manifest_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="folder not found"):
        load_manifest(tmp_path / "absent")


def test_load_manifest_rejects_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no manifest.json"):
        load_manifest(tmp_path)


def test_load_manifest_rejects_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")

    with pytest.raises(BundleError, match="not valid JSON"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"format_version": 2}, "format_version"),
        ({"classes": ["normal", "fresh", "old"]}, "classes"),
        ({"levels": ["L1", "L2"]}, "levels"),
        ({"demo": "yes"}, "demo"),
        ({"name": KeyError}, "name is missing"),
        ({"detector__class_names": ["L1", "L2", "L3", "L4"]}, "lacks the lumbar levels"),
        ({"detector__class_names": ["L1", "L2", "L3", "L4", "L5", "C7"]}, "unknown levels"),
        ({"detector__image_size": 100}, "multiple of 32"),
        ({"detector__confidence_threshold": 0}, "confidence_threshold"),
        ({"detector__iou_threshold": True}, "boolean"),
        ({"detector__file": "../detector.pt"}, "plain file name"),
        ({"detector__sha256": "xyz"}, "hexadecimal"),
        ({"classifiers": []}, "at least one classifier"),
        ({"classifiers__0__architecture": "vgg16"}, "architecture"),
        ({"classifiers__1__architecture": "resnet50"}, "architecture twice"),
        ({"classifiers__0__input_size": 16}, "at least 32"),
        ({"classifiers__0__std": [0.2, 0.0, 0.2]}, "positive"),
        ({"classifiers__0__mean": [0.5, 0.5]}, "three numbers"),
        ({"classifiers__0__file": "/etc/passwd"}, "plain file name"),
        ({"crop__margin": 1.5}, "crop.margin"),
        ({"thresholds__fresh": 1.2}, "thresholds.fresh"),
        ({"thresholds__source": " "}, "came from"),
        ({"training": []}, "training"),
    ],
)
def test_load_manifest_rejects_invalid_field(bundle_dir: Path, change: dict[str, object], fragment: str) -> None:
    _rewrite(bundle_dir, **change)

    with pytest.raises(BundleError) as caught:
        load_manifest(bundle_dir)

    assert fragment in caught.value.message_en
    assert caught.value.message_ja


def test_write_manifest_rejects_missing_weight_file(tmp_path: Path) -> None:
    with pytest.raises(BundleIntegrityError, match="detector.pt is missing"):
        write_manifest(tmp_path, _manifest())


def test_write_manifest_rejects_invalid_manifest(tmp_path: Path) -> None:
    manifest = replace(_manifest(), crop=CropSpec(margin=-1.0))
    for name in manifest.weight_files:
        (tmp_path / name).write_bytes(b"x")

    with pytest.raises(BundleError, match="crop.margin"):
        write_manifest(tmp_path, manifest)

    assert not (tmp_path / "manifest.json").exists()


def test_bundle_info_records_names_and_hashes(bundle_dir: Path) -> None:
    manifest = verify_bundle(bundle_dir)

    info = bundle_info(bundle_dir, manifest)

    assert info.manifest_sha256 == sha256_file(bundle_dir / "manifest.json")
    assert set(info.file_sha256) == {"detector.pt", "resnet50.pt", "densenet161.pt", "resnext50_32x4d.pt"}
    assert info.fresh_threshold == 0.3
    assert info.demo is True
