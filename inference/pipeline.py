"""Screening of one radiograph: detect L1 to L5, classify each, Grad-CAM, regions, MRI rule.

``load_models`` verifies a bundle and loads its detector and classifiers once
per process. ``screen`` turns a ``Radiograph`` into a ``ScreeningResult``:

1. A header that names another body part or modality makes the study not
   assessable; the models are not run.
2. The detector finds at most one box per level (``inference.detection``).
3. ``classify_detections`` crops every lumbar box and runs each classifier once
   on the batch of all crops, in ``eval()`` and inference mode. Each model's
   softmax is kept; the ensemble probability is their mean and its argmax the
   class. Grad-CAM maps for each model's class and for the ensemble class come
   from the same forward pass, and their mass is split into body regions.
4. MRI rule: MRI is recommended when any assessed vertebra has an ensemble fresh
   probability at or above the bundle threshold. A study with a missing level
   is not assessable, never "no fresh fracture found".

``LoadedModels`` contains torch modules and an ultralytics predictor, which are
not thread-safe, so every worker process or thread needs its own instance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from inference.bundle import BundleManifest, ClassifierSpec, bundle_info, verify_bundle
from inference.classification import load_classifier, to_tensor_batch
from inference.crops import CropWindow, crop_square, crop_window
from inference.detection import DetectionOutcome, Detector, resolve_device
from inference.errors import ImagingError
from inference.gradcam import FeatureRecorder, classifier_weight, ensemble_map, gradcam_maps, paste_into_image
from inference.imaging.types import ImagingWarning, Radiograph
from inference.orientation import (
    AnteriorSide,
    Orientation,
    maps_to_image_view,
    radiograph_orientation,
    to_model_view,
)
from inference.overlays import LabelledBox, save_crop, save_crop_overlay, save_full_image_cam, save_overview
from inference.regions import outside_area_fraction, region_geometry, region_shares, region_warnings
from inference.result import (
    CLASSES,
    ENSEMBLE,
    BundleInfo,
    Detection,
    Message,
    ScreeningResult,
    VertebraFinding,
)

logger = logging.getLogger(__name__)

OVERVIEW_FILE = "overview.png"


@dataclass(frozen=True)
class LoadedClassifier:
    """One classifier of the bundle, loaded and in ``eval()`` mode."""

    spec: ClassifierSpec
    model: nn.Module


@dataclass(frozen=True)
class LoadedModels:
    """A verified bundle with its detector and classifiers loaded on one device."""

    manifest: BundleManifest
    bundle_info: BundleInfo
    bundle_dir: Path
    detector: Detector
    classifiers: tuple[LoadedClassifier, ...]
    device: str
    cpu_threads: int | None = None


@dataclass(frozen=True)
class ClassificationOutput:
    """Findings for the given lumbar detections, the full-image overlays written, and stage timings."""

    findings: tuple[VertebraFinding, ...]
    full_image_cam_overlays: dict[str, str] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)


def load_models(bundle_dir: str | Path, *, device: str = "cpu", cpu_threads: int | None = None) -> LoadedModels:
    """Verify the bundle in ``bundle_dir`` and load its detector and classifiers onto ``device``.

    ``device`` is "cpu", "cuda" or "cuda:N"; ``cpu_threads`` sets torch's CPU
    thread count for the process (None keeps the current count). Raises
    BundleError or BundleIntegrityError for a bad bundle, RuntimeError when CUDA
    is requested but missing, and ValueError for an unknown device name.
    """
    started = time.perf_counter()
    if cpu_threads is not None:
        if cpu_threads < 1:
            raise ValueError(f"cpu_threads must be at least 1, got {cpu_threads}")
        torch.set_num_threads(cpu_threads)
    root = Path(bundle_dir)
    manifest = verify_bundle(root)
    resolved = resolve_device(device)

    detector = Detector(root / manifest.detector.file, manifest.detector, device=resolved)
    # The first predict call builds ultralytics' predictor (a fused copy of the model); do it now so
    # that screening never changes a model.
    detector.predict_raw(np.zeros((manifest.detector.image_size, manifest.detector.image_size), dtype=np.uint8))
    if cpu_threads is not None:
        torch.set_num_threads(cpu_threads)

    classifiers = tuple(
        LoadedClassifier(
            spec=spec,
            model=load_classifier(str(root / spec.file), spec, num_classes=len(manifest.classes), device=resolved),
        )
        for spec in manifest.classifiers
    )
    logger.info(
        "loaded bundle %s %s on %s in %.1f s",
        manifest.name,
        manifest.version,
        resolved,
        time.perf_counter() - started,
        extra={"bundle": manifest.name, "device": resolved},
    )
    return LoadedModels(
        manifest=manifest,
        bundle_info=bundle_info(root, manifest),
        bundle_dir=root,
        detector=detector,
        classifiers=classifiers,
        device=resolved,
        cpu_threads=cpu_threads,
    )


def screen(
    radiograph: Radiograph,
    models: LoadedModels,
    *,
    overlay_dir: Path | None = None,
    facing: str | None = None,
) -> ScreeningResult:
    """Screen one radiograph and return its result.

    With ``overlay_dir``, the overview, the full-image Grad-CAM maps, and for
    each vertebra its crop and every model's and the ensemble's map are
    written there as PNG. Paths in the result are relative to ``overlay_dir``.
    ``facing`` ("left" or "right") is the side the patient faces when a person
    stated it; it overrides the DICOM header (see ``inference.orientation``).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if models.cpu_threads is not None and torch.get_num_threads() != models.cpu_threads:
        torch.set_num_threads(models.cpu_threads)
    warnings = [_imaging_message(w) for w in radiograph.warnings if not w.blocks_assessment]
    if models.manifest.demo:
        warnings.insert(0, DEMO_WARNING)
    reasons = [_imaging_message(w) for w in radiograph.blocking_warnings]
    orientation = radiograph_orientation(radiograph, stated_facing=facing)
    if reasons:
        logger.info("study not assessable: %s", ", ".join(r.code for r in reasons), extra={"reasons": len(reasons)})
        timings["total"] = _elapsed_ms(started)
        return _result("not_assessable", (), reasons, warnings, radiograph, models, timings, orientation)

    with _timed(timings, "detection"):
        outcome = models.detector.detect(radiograph.rendering)
    warnings.extend(outcome.warnings)
    if not outcome.lumbar:
        reasons.append(NO_LUMBAR_LEVELS)
        overview = _write_overview(radiograph, outcome, (), models, overlay_dir, timings)
        timings["total"] = _elapsed_ms(started)
        return _result(
            "not_assessable", (), reasons, warnings, radiograph, models, timings, orientation, outcome, overview
        )

    output = classify_detections(radiograph, outcome.lumbar, models, overlay_dir=overlay_dir, orientation=orientation)
    timings.update(output.timings_ms)
    overview = _write_overview(radiograph, outcome, output.findings, models, overlay_dir, timings)

    if outcome.missing_levels:
        reasons.append(_levels_missing(outcome.missing_levels))
    suspected = [f.level for f in output.findings if f.fresh_probability >= models.manifest.thresholds.fresh]
    if reasons:
        status = "not_assessable"
        if suspected:
            warnings.append(_fresh_in_partial_study(suspected))
    elif suspected:
        status = "mri_recommended"
    else:
        status = "no_fresh_fracture_found"
    timings["total"] = _elapsed_ms(started)
    logger.info("screened study: %s", status, extra={"status": status, "levels": len(output.findings)})
    return _result(
        status,
        output.findings,
        reasons,
        warnings,
        radiograph,
        models,
        timings,
        orientation,
        outcome,
        overview,
        output.full_image_cam_overlays,
    )


def unreadable_result(path: str | Path, error: ImagingError, models: LoadedModels) -> ScreeningResult:
    """Return the not-assessable result, with reason ``unreadable``, of a file ``inference.imaging.load`` rejected.

    ``imaging`` contains the file path and the imaging error (code, messages, detail).
    """
    reason = Message("unreadable", error.message_en, error.message_ja)
    warnings = [DEMO_WARNING] if models.manifest.demo else []
    return ScreeningResult(
        status="not_assessable",
        findings=(),
        not_assessable_reasons=(reason,),
        warnings=tuple(warnings),
        bundle=models.bundle_info,
        imaging={"source_path": str(path), "error": error.to_dict()},
        device=models.device,
        cam_region_geometry=region_geometry(Orientation()),
    )


def classify_detections(
    radiograph: Radiograph,
    detections: Sequence[Detection],
    models: LoadedModels,
    *,
    overlay_dir: Path | None = None,
    orientation: Orientation | None = None,
) -> ClassificationOutput:
    """Classify the given lumbar detections with every model and compute their Grad-CAM maps and regions.

    ``screen`` calls this after detection; tests call it directly with chosen
    boxes, because a randomly initialised detector finds nothing. Findings
    keep the order of ``detections``. ``orientation`` defaults to the one the
    radiograph's header gives; crops of a patient facing right are mirrored
    for the models and their maps mirrored back.
    """
    if not detections:
        raise ValueError("classify_detections needs at least one detection")
    if orientation is None:
        orientation = radiograph_orientation(radiograph)
    side = orientation.anterior_side
    timings: dict[str, float] = {}
    margin = models.manifest.crop.margin
    windows = [crop_window(d.box, margin) for d in detections]
    with _timed(timings, "crops"):
        crops = _crops_by_size(radiograph.rendering, detections, margin, models.classifiers)

    runs = [
        _run_classifier(loaded, crops[loaded.spec.input_size], side, models.device, timings)
        for loaded in models.classifiers
    ]
    ensemble = np.mean([run.probabilities for run in runs], axis=0)  # (N, classes)
    ensemble_classes = [int(i) for i in np.argmax(ensemble, axis=1)]

    with _timed(timings, "gradcam"):
        own_maps = {run.architecture: run.maps(run.predicted) for run in runs}
        for_ensemble = [run.maps(ensemble_classes) for run in runs]
        ensemble_maps = _ensemble_maps(for_ensemble)

    with _timed(timings, "regions"):
        regions, region_notes = _regions(detections, windows, own_maps, ensemble_maps, runs, side)

    findings = []
    for index, detection in enumerate(detections):
        findings.append(
            VertebraFinding(
                level=detection.level,
                box=detection.box,
                detection_confidence=detection.confidence,
                predicted_class=CLASSES[ensemble_classes[index]],
                ensemble_probabilities=_by_class(ensemble[index]),
                model_probabilities={run.architecture: _by_class(run.probabilities[index]) for run in runs},
                model_predicted_classes={run.architecture: CLASSES[run.predicted[index]] for run in runs},
                cam_regions=regions[index],
                warnings=region_notes[index],
            )
        )
    full_image_overlays: dict[str, str] = {}
    if overlay_dir is not None:
        with _timed(timings, "overlays"):
            findings, full_image_overlays = _write_vertebra_overlays(
                radiograph, findings, windows, crops, own_maps, ensemble_maps, runs, models, overlay_dir
            )
    return ClassificationOutput(
        findings=tuple(findings), full_image_cam_overlays=full_image_overlays, timings_ms=timings
    )


# --- classification and Grad-CAM -----------------------------------------------------------------


@dataclass
class _ClassifierRun:
    architecture: str
    input_size: int
    probabilities: np.ndarray  # (N, classes) float64
    predicted: list[int]
    features: torch.Tensor
    weight: torch.Tensor
    anterior_side: AnteriorSide

    def maps(self, classes: Sequence[int]) -> np.ndarray:
        """Return the Grad-CAM maps for ``classes`` in the orientation of the image, not of the model input."""
        return maps_to_image_view(gradcam_maps(self.features, self.weight, classes, self.input_size), self.anterior_side)


def _crops_by_size(
    rendering: np.ndarray, detections: Sequence[Detection], margin: float, classifiers: Sequence[LoadedClassifier]
) -> dict[int, list[np.ndarray]]:
    sizes = sorted({loaded.spec.input_size for loaded in classifiers})
    return {size: [crop_square(rendering, d.box, margin, size) for d in detections] for size in sizes}


def _run_classifier(
    loaded: LoadedClassifier,
    crops: list[np.ndarray],
    anterior_side: AnteriorSide,
    device: str,
    timings: dict[str, float],
) -> _ClassifierRun:
    architecture = loaded.spec.architecture
    batch = to_tensor_batch([to_model_view(crop, anterior_side) for crop in crops], loaded.spec).to(device)
    with _timed(timings, f"classify_{architecture}"), torch.inference_mode():
        with FeatureRecorder(loaded.model, architecture) as recorder:
            logits = loaded.model(batch)
        probabilities = torch.softmax(logits.to(torch.float64), dim=1).cpu().numpy()
        features = recorder.features
    timings["classification"] = timings.get("classification", 0.0) + timings[f"classify_{architecture}"]
    return _ClassifierRun(
        architecture=architecture,
        input_size=loaded.spec.input_size,
        probabilities=probabilities,
        predicted=[int(i) for i in np.argmax(probabilities, axis=1)],
        features=features,
        weight=classifier_weight(loaded.model, architecture),
        anterior_side=anterior_side,
    )


def _ensemble_maps(for_ensemble: list[np.ndarray]) -> np.ndarray:
    """Average the models' maps for the ensemble class per crop, at the largest input size."""
    size = max(maps.shape[1] for maps in for_ensemble)
    resized = [_resize_maps(maps, size) for maps in for_ensemble]
    return np.stack([ensemble_map([maps[i] for maps in resized]) for i in range(resized[0].shape[0])])


def _resize_maps(maps: np.ndarray, size: int) -> np.ndarray:
    if maps.shape[1] == size:
        return maps
    return np.stack([cv2.resize(m, (size, size)) for m in maps])


def _regions(
    detections: Sequence[Detection],
    windows: Sequence[CropWindow],
    own_maps: dict[str, np.ndarray],
    ensemble_maps: np.ndarray,
    runs: Sequence[_ClassifierRun],
    anterior_side: AnteriorSide,
) -> tuple[list[dict[str, dict[str, float]]], list[tuple[Message, ...]]]:
    regions: list[dict[str, dict[str, float]]] = []
    notes: list[tuple[Message, ...]] = []
    for index, (detection, window) in enumerate(zip(detections, windows, strict=True)):
        shares = {
            run.architecture: region_shares(
                own_maps[run.architecture][index],
                window.box_in_crop(detection.box, run.input_size),
                anterior_side=anterior_side,
            )
            for run in runs
        }
        ensemble_size = ensemble_maps.shape[1]
        ensemble_box = window.box_in_crop(detection.box, ensemble_size)
        shares[ENSEMBLE] = region_shares(ensemble_maps[index], ensemble_box, anterior_side=anterior_side)
        regions.append(shares)
        notes.append(
            region_warnings(
                shares[ENSEMBLE],
                source=f"{detection.level} ({ENSEMBLE})",
                source_ja=f"{detection.level}（アンサンブル）",
                outside_area=outside_area_fraction(ensemble_size, ensemble_box),
            )
        )
    return regions, notes


def _by_class(values: np.ndarray) -> dict[str, float]:
    return {name: float(value) for name, value in zip(CLASSES, values, strict=True)}


# --- overlays ------------------------------------------------------------------------------------


def _write_vertebra_overlays(
    radiograph: Radiograph,
    findings: list[VertebraFinding],
    windows: Sequence[CropWindow],
    crops: dict[int, list[np.ndarray]],
    own_maps: dict[str, np.ndarray],
    ensemble_maps: np.ndarray,
    runs: Sequence[_ClassifierRun],
    models: LoadedModels,
    overlay_dir: Path,
) -> tuple[list[VertebraFinding], dict[str, str]]:
    ensemble_size = ensemble_maps.shape[1]
    canvases = {key: np.zeros(radiograph.shape, dtype=np.float32) for key in [*own_maps, ENSEMBLE]}
    written = []
    for index, (finding, window) in enumerate(zip(findings, windows, strict=True)):
        level = finding.level
        crop_file = f"{level}_crop.png"
        save_crop(crops[ensemble_size][index], overlay_dir / crop_file)
        paths = {}
        for run in runs:
            name = f"{level}_cam_{run.architecture}.png"
            box = window.box_in_crop(finding.box, run.input_size)
            save_crop_overlay(crops[run.input_size][index], own_maps[run.architecture][index], overlay_dir / name, box=box)
            paste_into_image(canvases[run.architecture], own_maps[run.architecture][index], window)
            paths[run.architecture] = name
        name = f"{level}_cam_{ENSEMBLE}.png"
        box = window.box_in_crop(finding.box, ensemble_size)
        save_crop_overlay(crops[ensemble_size][index], ensemble_maps[index], overlay_dir / name, box=box)
        paste_into_image(canvases[ENSEMBLE], ensemble_maps[index], window)
        paths[ENSEMBLE] = name
        written.append(replace(finding, overlays=paths, crop_file=crop_file))

    full_image = {}
    for key, canvas in canvases.items():
        name = f"full_cam_{key}.png"
        save_full_image_cam(radiograph.rendering, canvas, overlay_dir / name, demo=models.manifest.demo)
        full_image[key] = name
    return written, full_image


def _write_overview(
    radiograph: Radiograph,
    outcome: DetectionOutcome,
    findings: Sequence[VertebraFinding],
    models: LoadedModels,
    overlay_dir: Path | None,
    timings: dict[str, float],
) -> str | None:
    if overlay_dir is None:
        return None
    classified = {f.level: f for f in findings}
    boxes = []
    for detection in outcome.detections:
        finding = classified.get(detection.level)
        boxes.append(
            LabelledBox(
                level=detection.level,
                box=detection.box,
                predicted_class=finding.predicted_class if finding else None,
                probability=finding.ensemble_probabilities[finding.predicted_class] if finding else None,
            )
        )
    started = time.perf_counter()
    save_overview(radiograph.rendering, boxes, overlay_dir / OVERVIEW_FILE, demo=models.manifest.demo)
    timings["overlays"] = timings.get("overlays", 0.0) + _elapsed_ms(started)
    return OVERVIEW_FILE


# --- messages and result -------------------------------------------------------------------------

DEMO_WARNING = Message(
    "demo_bundle",
    "Demo model trained on synthetic phantoms: not for clinical use.",
    "合成ファントムで学習したデモ用モデルです。臨床には使用できません。",
)
NO_LUMBAR_LEVELS = Message(
    "no_lumbar_levels",
    "No lumbar vertebra (L1 to L5) was found. Check that this is a lateral lumbar radiograph.",
    "腰椎 (L1〜L5) が検出されませんでした。腰椎側面像であることを確認してください。",
)


def _levels_missing(missing: Sequence[str]) -> Message:
    joined = ", ".join(missing)
    return Message(
        "levels_missing",
        f"Not every lumbar level was found (missing: {joined}), so the study cannot be fully assessed. "
        "Read the image yourself.",
        f"一部の腰椎レベルが検出されなかったため (未検出: {joined})、完全には評価できません。画像を直接読影してください。",
    )


def _fresh_in_partial_study(levels: Sequence[str]) -> Message:
    joined = ", ".join(levels)
    return Message(
        "fresh_fracture_suspected",
        f"A fresh fracture is suspected at {joined}; consider MRI although the study is not fully assessable.",
        f"{joined} に新鮮骨折が疑われます。評価は不完全ですが MRI を検討してください。",
    )


def _imaging_message(warning: ImagingWarning) -> Message:
    return Message(code=warning.code, message_en=warning.message_en, message_ja=warning.message_ja)


def _result(
    status: str,
    findings: Sequence[VertebraFinding],
    reasons: Sequence[Message],
    warnings: Sequence[Message],
    radiograph: Radiograph,
    models: LoadedModels,
    timings: dict[str, float],
    orientation: Orientation,
    outcome: DetectionOutcome | None = None,
    overview: str | None = None,
    full_image_cam_overlays: dict[str, str] | None = None,
) -> ScreeningResult:
    # A status other than not_assessable must never come with a reason; check the invariant here.
    assert (status == "not_assessable") == bool(reasons), (status, reasons)
    return ScreeningResult(
        status=status,  # type: ignore[arg-type]
        findings=tuple(findings),
        not_assessable_reasons=tuple(reasons),
        warnings=tuple(warnings),
        bundle=models.bundle_info,
        imaging=radiograph.to_dict(),
        other_detections=outcome.other if outcome else (),
        overview_overlay=overview,
        full_image_cam_overlays=dict(full_image_cam_overlays or {}),
        timings_ms=dict(timings),
        device=models.device,
        cam_region_geometry=region_geometry(orientation),
    )


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + _elapsed_ms(started)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0

