"""Model bundle: a folder with ``manifest.json`` and the weight files it names.

The manifest fixes everything screening needs to reproduce a result. It names
the class order, the detector and its thresholds, and each classifier with its
input size and normalisation. It also records the crop margin, the MRI threshold
with where it came from, and a summary of the training data. Every weight file carries a sha256 that
``verify_bundle`` checks before any weight is loaded. docs/bundle-format.md
documents the schema.

This module does not import torch, so the web application can read and verify a
bundle cheaply.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from inference.errors import BundleError, BundleIntegrityError
from inference.result import CLASSES, LUMBAR_LEVELS, BundleInfo

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1

# Classifier architectures that ``inference.classification.build_classifier`` can build.
SUPPORTED_ARCHITECTURES: tuple[str, ...] = ("resnet50", "densenet161", "resnext50_32x4d")
# Detector classes a bundle may name: the five lumbar levels and their neighbours.
SUPPORTED_LEVELS: tuple[str, ...] = ("T12", *LUMBAR_LEVELS, "S1")
# YOLO downsamples by up to 32, so its input size must be a multiple of 32.
DETECTOR_STRIDE = 32
# DenseNet-161 and the ResNets reduce the input 32 times; below 32 px nothing is left.
MIN_CLASSIFIER_INPUT = 32

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class DetectorSpec:
    """The YOLO detector file and how to run it.

    ``class_names`` is the detector's class order (class index -> level name).
    ``image_size`` is the square YOLO input size in pixels; the thresholds are
    the confidence and non-maximum-suppression IoU passed to every predict call.
    """

    file: str
    sha256: str
    class_names: tuple[str, ...]
    image_size: int
    confidence_threshold: float
    iou_threshold: float
    framework: str = "ultralytics"

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest form of this entry."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "framework": self.framework,
            "class_names": list(self.class_names),
            "image_size": self.image_size,
            "confidence_threshold": self.confidence_threshold,
            "iou_threshold": self.iou_threshold,
        }


@dataclass(frozen=True)
class ClassifierSpec:
    """One classifier weight file with its preprocessing.

    The crop is ``input_size`` x ``input_size`` pixels. The network receives the
    8-bit crop scaled to 0..1, repeated on three channels, minus ``mean`` and
    divided by ``std`` (per channel).
    """

    architecture: str
    file: str
    sha256: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest form of this entry."""
        return {
            "architecture": self.architecture,
            "file": self.file,
            "sha256": self.sha256,
            "input_size": self.input_size,
            "mean": list(self.mean),
            "std": list(self.std),
        }


@dataclass(frozen=True)
class CropSpec:
    """Crop settings: ``margin`` is the share of the longer box side added on each side of a crop."""

    margin: float

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest form of this entry."""
        return {"margin": self.margin}


@dataclass(frozen=True)
class ThresholdSpec:
    """The MRI threshold on the ensemble fresh probability and where it came from."""

    fresh: float
    source: str
    target_sensitivity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest form of this entry."""
        return {"fresh": self.fresh, "source": self.source, "target_sensitivity": self.target_sensitivity}


@dataclass(frozen=True)
class BundleManifest:
    """The parsed and validated ``manifest.json`` of a model bundle."""

    name: str
    version: str
    demo: bool
    created_at: str
    detector: DetectorSpec
    classifiers: tuple[ClassifierSpec, ...]
    crop: CropSpec
    thresholds: ThresholdSpec
    classes: tuple[str, ...] = CLASSES
    levels: tuple[str, ...] = LUMBAR_LEVELS
    training: dict[str, Any] = field(default_factory=dict)
    model_card: str | None = None
    format_version: int = FORMAT_VERSION

    @property
    def weight_files(self) -> dict[str, str]:
        """Return every weight file name mapped to its manifest sha256, detector first."""
        files = {self.detector.file: self.detector.sha256}
        for spec in self.classifiers:
            files[spec.file] = spec.sha256
        return files

    @property
    def architectures(self) -> tuple[str, ...]:
        """Return the classifier architectures in manifest order."""
        return tuple(spec.architecture for spec in self.classifiers)

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON-compatible data, in the documented key order."""
        return {
            "format_version": self.format_version,
            "name": self.name,
            "version": self.version,
            "demo": self.demo,
            "created_at": self.created_at,
            "classes": list(self.classes),
            "levels": list(self.levels),
            "detector": self.detector.to_dict(),
            "classifiers": [spec.to_dict() for spec in self.classifiers],
            "crop": self.crop.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "training": self.training,
            "model_card": self.model_card,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BundleManifest:
        """Parse and validate manifest data; raise BundleError naming the first invalid field."""
        return _parse_manifest(data)


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_manifest(bundle_dir: str | Path) -> BundleManifest:
    """Read and validate ``bundle_dir/manifest.json`` without checking the weight files.

    Raises BundleError when the folder or manifest is missing, is not JSON, or
    any field is missing or invalid.
    """
    manifest_path = Path(bundle_dir) / MANIFEST_NAME
    if not Path(bundle_dir).is_dir():
        raise BundleError(
            f"Model bundle folder not found: {bundle_dir}. Check the bundle path setting.",
            f"モデルバンドルのフォルダが見つかりません: {bundle_dir}。バンドルのパス設定を確認してください。",
            detail=str(bundle_dir),
        )
    try:
        raw = manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(
            f"The model bundle has no {MANIFEST_NAME}: {bundle_dir}. Rebuild or reinstall the bundle.",
            f"モデルバンドルに {MANIFEST_NAME} がありません: {bundle_dir}。バンドルを再作成するか再インストールしてください。",
            detail=str(manifest_path),
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise BundleError(
            f"The bundle manifest could not be read: {manifest_path}. Check the file and its permissions.",
            f"バンドルのマニフェストを読み込めません: {manifest_path}。ファイルと権限を確認してください。",
            detail=repr(error),
        ) from error
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BundleError(
            f"The bundle manifest is not valid JSON (line {error.lineno}): {manifest_path}. Rebuild the bundle.",
            f"バンドルのマニフェストが JSON として不正です (行 {error.lineno}): {manifest_path}。バンドルを再作成してください。",
            detail=str(error),
        ) from error
    return _parse_manifest(data)


def verify_bundle(bundle_dir: str | Path) -> BundleManifest:
    """Load the manifest and check that every weight file exists and matches its sha256.

    Raises BundleError for an invalid manifest and BundleIntegrityError for a
    missing file, a file without a recorded sha256, or a sha256 mismatch.
    """
    manifest = load_manifest(bundle_dir)
    root = Path(bundle_dir)
    for name, expected in manifest.weight_files.items():
        path = root / name
        if not path.is_file():
            raise BundleIntegrityError(
                f"Model bundle file is missing: {name}. Reinstall the bundle.",
                f"モデルバンドルのファイルがありません: {name}。バンドルを再インストールしてください。",
                detail=str(path),
            )
        if not expected:
            raise BundleIntegrityError(
                f"The manifest records no sha256 for {name}. Write the manifest with write_manifest.",
                f"マニフェストに {name} の sha256 が記録されていません。write_manifest でマニフェストを書き直してください。",
                detail=str(path),
            )
        actual = sha256_file(path)
        if actual != expected:
            logger.error(
                "bundle file %s failed its sha256 check", name, extra={"bundle": manifest.name, "file": name}
            )
            raise BundleIntegrityError(
                f"Model bundle file {name} has been changed or damaged (sha256 mismatch). "
                "Reinstall the bundle from a trusted copy.",
                f"モデルバンドルのファイル {name} が変更または破損しています (sha256 不一致)。"
                "信頼できるコピーからバンドルを再インストールしてください。",
                detail=f"expected {expected}, found {actual}",
            )
    logger.info("verified bundle %s %s", manifest.name, manifest.version, extra={"bundle": manifest.name})
    return manifest


def write_manifest(bundle_dir: str | Path, manifest: BundleManifest) -> Path:
    """Write ``manifest.json`` into ``bundle_dir`` with the sha256 of every weight file taken from disk.

    The manifest is validated first and written atomically. Returns the path of
    the written manifest. Raises BundleError for an invalid manifest and
    BundleIntegrityError when a weight file is missing.
    """
    root = Path(bundle_dir)
    hashes: dict[str, str] = {}
    for name in manifest.weight_files:
        _check_file_name(name, "weight file")
        path = root / name
        if not path.is_file():
            raise BundleIntegrityError(
                f"Cannot write the manifest: weight file {name} is missing in {root}.",
                f"マニフェストを書き込めません: {root} に重みファイル {name} がありません。",
                detail=str(path),
            )
        hashes[name] = sha256_file(path)
    filled = replace(
        manifest,
        detector=replace(manifest.detector, sha256=hashes[manifest.detector.file]),
        classifiers=tuple(replace(spec, sha256=hashes[spec.file]) for spec in manifest.classifiers),
    )
    data = filled.to_dict()
    _parse_manifest(data)  # refuse to write a manifest that load_manifest would reject

    target = root / MANIFEST_NAME
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=root, suffix=".tmp", delete=False) as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        temporary = Path(handle.name)
    os.replace(temporary, target)
    return target


def bundle_info(bundle_dir: str | Path, manifest: BundleManifest) -> BundleInfo:
    """Return the identity of a bundle that is stored with every screening result."""
    return BundleInfo(
        name=manifest.name,
        version=manifest.version,
        demo=manifest.demo,
        manifest_sha256=sha256_file(Path(bundle_dir) / MANIFEST_NAME),
        file_sha256=dict(manifest.weight_files),
        fresh_threshold=manifest.thresholds.fresh,
        threshold_source=manifest.thresholds.source,
    )


# --- parsing -------------------------------------------------------------------------------------


def _invalid(field_path: str, problem: str) -> BundleError:
    return BundleError(
        f"The bundle manifest is invalid: {field_path} {problem}. Rebuild the bundle or fix manifest.json.",
        f"バンドルのマニフェストが不正です: {field_path} {problem}。バンドルを再作成するか manifest.json を修正してください。",
        detail=f"{field_path}: {problem}",
    )


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: str) -> Any:
    if key not in data:
        raise _invalid(f"{path}{key}", "is missing")
    value = data[key]
    # bool is a subclass of int, so a JSON true must not pass as a number.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _invalid(f"{path}{key}", f"must be {_kind_name(kind)}, not a boolean")
    if not isinstance(value, kind):
        raise _invalid(f"{path}{key}", f"must be {_kind_name(kind)}, not {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _number(data: Mapping[str, Any], key: str, path: str, *, low: float, high: float, open_low: bool = False) -> float:
    value = float(_require(data, key, (int, float), path))
    too_low = value <= low if open_low else value < low
    if not math.isfinite(value) or too_low or value > high:
        bracket = "(" if open_low else "["
        raise _invalid(f"{path}{key}", f"must be in {bracket}{low}, {high}], not {value}")
    return value


def _check_file_name(name: str, field_path: str) -> None:
    """Reject a file name that would leave the bundle folder."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name or len(pure.parts) != 1:
        raise _invalid(field_path, f"must be a plain file name inside the bundle folder, not {name!r}")


def _sha256_field(data: Mapping[str, Any], path: str) -> str:
    value = data.get("sha256", "")
    if not isinstance(value, str):
        raise _invalid(f"{path}sha256", "must be a string")
    value = value.lower()
    if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
        raise _invalid(f"{path}sha256", "must be 64 hexadecimal digits")
    return value


def _parse_detector(data: Any) -> DetectorSpec:
    path = "detector."
    if not isinstance(data, Mapping):
        raise _invalid("detector", "must be an object")
    file = _require(data, "file", str, path)
    _check_file_name(file, "detector.file")
    framework = data.get("framework", "ultralytics")
    if framework != "ultralytics":
        raise _invalid("detector.framework", f"must be 'ultralytics', not {framework!r}")
    names = tuple(_require(data, "class_names", list, path))
    unknown = [name for name in names if name not in SUPPORTED_LEVELS]
    if unknown:
        raise _invalid("detector.class_names", f"contains unknown levels {unknown}; allowed: {list(SUPPORTED_LEVELS)}")
    if len(set(names)) != len(names):
        raise _invalid("detector.class_names", "contains a level twice")
    missing = [level for level in LUMBAR_LEVELS if level not in names]
    if missing:
        raise _invalid("detector.class_names", f"lacks the lumbar levels {missing}")
    image_size = _require(data, "image_size", int, path)
    if image_size < DETECTOR_STRIDE or image_size % DETECTOR_STRIDE:
        raise _invalid("detector.image_size", f"must be a positive multiple of {DETECTOR_STRIDE}, not {image_size}")
    return DetectorSpec(
        file=file,
        sha256=_sha256_field(data, path),
        class_names=names,
        image_size=image_size,
        confidence_threshold=_number(data, "confidence_threshold", path, low=0.0, high=1.0, open_low=True),
        iou_threshold=_number(data, "iou_threshold", path, low=0.0, high=1.0, open_low=True),
        framework=framework,
    )


def _triple(data: Mapping[str, Any], key: str, path: str, *, positive: bool) -> tuple[float, float, float]:
    values = _require(data, key, list, path)
    if len(values) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise _invalid(f"{path}{key}", "must be a list of three numbers (one per RGB channel)")
    if positive and any(v <= 0 for v in values):
        raise _invalid(f"{path}{key}", "must contain only positive numbers")
    return (float(values[0]), float(values[1]), float(values[2]))


def _parse_classifier(data: Any, index: int) -> ClassifierSpec:
    path = f"classifiers[{index}]."
    if not isinstance(data, Mapping):
        raise _invalid(f"classifiers[{index}]", "must be an object")
    architecture = _require(data, "architecture", str, path)
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise _invalid(f"{path}architecture", f"must be one of {list(SUPPORTED_ARCHITECTURES)}, not {architecture!r}")
    file = _require(data, "file", str, path)
    _check_file_name(file, f"{path}file")
    input_size = _require(data, "input_size", int, path)
    if input_size < MIN_CLASSIFIER_INPUT:
        raise _invalid(f"{path}input_size", f"must be at least {MIN_CLASSIFIER_INPUT} pixels, not {input_size}")
    return ClassifierSpec(
        architecture=architecture,
        file=file,
        sha256=_sha256_field(data, path),
        input_size=input_size,
        mean=_triple(data, "mean", path, positive=False),
        std=_triple(data, "std", path, positive=True),
    )


def _parse_classifiers(items: Sequence[Any]) -> tuple[ClassifierSpec, ...]:
    if not items:
        raise _invalid("classifiers", "must name at least one classifier")
    specs = tuple(_parse_classifier(item, index) for index, item in enumerate(items))
    architectures = [spec.architecture for spec in specs]
    if len(set(architectures)) != len(architectures):
        raise _invalid("classifiers", "names an architecture twice")
    return specs


def _parse_thresholds(data: Any) -> ThresholdSpec:
    if not isinstance(data, Mapping):
        raise _invalid("thresholds", "must be an object")
    source = _require(data, "source", str, "thresholds.")
    if not source.strip():
        raise _invalid("thresholds.source", "must say where the threshold came from")
    target = data.get("target_sensitivity")
    if target is not None:
        target = _number(data, "target_sensitivity", "thresholds.", low=0.0, high=1.0)
    return ThresholdSpec(
        fresh=_number(data, "fresh", "thresholds.", low=0.0, high=1.0, open_low=True),
        source=source,
        target_sensitivity=target,
    )


def _parse_manifest(data: Any) -> BundleManifest:
    if not isinstance(data, Mapping):
        raise _invalid("manifest", "must be a JSON object")
    version_number = _require(data, "format_version", int, "")
    if version_number != FORMAT_VERSION:
        raise _invalid("format_version", f"is {version_number}; this program reads format {FORMAT_VERSION}")
    classes = tuple(_require(data, "classes", list, ""))
    if classes != CLASSES:
        raise _invalid("classes", f"must be {list(CLASSES)} in this order, not {list(classes)}")
    levels = tuple(data.get("levels", LUMBAR_LEVELS))
    if levels != LUMBAR_LEVELS:
        raise _invalid("levels", f"must be {list(LUMBAR_LEVELS)}, not {list(levels)}")

    detector = _parse_detector(_require(data, "detector", dict, ""))
    classifiers = _parse_classifiers(_require(data, "classifiers", list, ""))
    weight_names = [detector.file, *(spec.file for spec in classifiers)]
    if len(set(weight_names)) != len(weight_names):
        raise _invalid("classifiers", "use a weight file name twice (each model needs its own file)")

    crop = _require(data, "crop", dict, "")
    margin = _number(crop, "margin", "crop.", low=0.0, high=1.0)
    training = data.get("training", {})
    if not isinstance(training, dict):
        raise _invalid("training", "must be an object")
    model_card = data.get("model_card")
    if model_card is not None:
        if not isinstance(model_card, str):
            raise _invalid("model_card", "must be a file name or null")
        _check_file_name(model_card, "model_card")
    name = _require(data, "name", str, "")
    if not name.strip():
        raise _invalid("name", "must not be empty")

    return BundleManifest(
        name=name,
        version=_require(data, "version", str, ""),
        demo=_require(data, "demo", bool, ""),
        created_at=_require(data, "created_at", str, ""),
        detector=detector,
        classifiers=classifiers,
        crop=CropSpec(margin=margin),
        thresholds=_parse_thresholds(_require(data, "thresholds", dict, "")),
        classes=classes,
        levels=levels,
        training=training,
        model_card=model_card,
        format_version=version_number,
    )
