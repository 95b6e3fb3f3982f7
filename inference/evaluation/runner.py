"""Evaluation of a model bundle on labelled images: run the models, compute the metrics, write the report.

Detection is measured on the raw detector output (confidence threshold 0.001,
as ultralytics' own validation does), so mAP covers the whole
precision-recall curve. Classification is measured on crops cut at the
reference boxes, so a detector miss does not hide or inflate a classifier
error. The detector and the classifiers are reported separately.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from inference.bundle import BundleManifest, verify_bundle
from inference.classification import load_classifier, to_tensor_batch
from inference.crops import model_crop
from inference.evaluation.metrics import (
    DEFAULT_BOOTSTRAP,
    Bootstrap,
    ClassificationCases,
    PredictedBox,
    TrueBox,
    classification_report,
    detection_report,
)
from inference.evaluation.report import write_report
from inference.result import CLASSES, LUMBAR_LEVELS
from inference.training.data import LabelledImage, read_images

logger = logging.getLogger(__name__)

# Confidence floor for mAP: keep nearly every box, as ultralytics' validation does (its default 0.001).
MAP_CONFIDENCE = 0.001


@dataclass(frozen=True)
class Predictions:
    """Model outputs on a labelled set, ready for the metrics."""

    predicted_boxes: tuple[PredictedBox, ...]
    true_boxes: tuple[TrueBox, ...]
    cases: ClassificationCases
    model_probabilities: Mapping[str, np.ndarray]  # architecture -> (N, 3), rows as in ``cases``
    levels: tuple[str, ...]  # level of each case


def resolve_device(device: str) -> str:
    """Return "cuda" for "auto" when a CUDA device is present, else "cpu"; other values unchanged."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def predict(
    bundle_dir: Path,
    images: Sequence[LabelledImage],
    *,
    device: str = "cpu",
    renderings: Mapping[str, np.ndarray] | None = None,
    progress: bool = True,
) -> Predictions:
    """Run the bundle's detector and classifiers on ``images`` and collect boxes and probabilities."""
    manifest = verify_bundle(bundle_dir)
    device = resolve_device(device)
    if renderings is None:
        images, renderings = read_images(images, progress=progress)
    predicted, truths = _detect(bundle_dir, manifest, images, renderings, device=device, progress=progress)

    case_rows = [
        (image, level)
        for image in images
        for level in LUMBAR_LEVELS
        if level in image.boxes and level in image.classes
    ]
    model_probabilities: dict[str, np.ndarray] = {}
    for spec in manifest.classifiers:
        model = load_classifier(
            str(Path(bundle_dir) / spec.file), spec, num_classes=len(CLASSES), device=device
        )
        crops = [
            model_crop(
                renderings[image.image_id],
                image.boxes[level],
                manifest.crop.margin,
                spec.input_size,
                image.anterior_side,
            )
            for image, level in case_rows
        ]
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(crops), 64):
                batch = to_tensor_batch(crops[start : start + 64], spec).to(device)
                outputs.append(torch.softmax(model(batch).float(), dim=1).cpu().numpy())
        model_probabilities[spec.architecture] = (
            np.concatenate(outputs) if outputs else np.zeros((0, len(CLASSES)))
        )
    # The ensemble is the mean of the softmax outputs, whose argmax equals that of their sum.
    ensemble = np.mean(list(model_probabilities.values()), axis=0)

    second_reader = None
    if any(image.second_reader for image in images):
        # -1 marks a vertebra without a second reading; the kappa between readers leaves it out.
        second_reader = np.array(
            [
                CLASSES.index(image.second_reader[level]) if level in image.second_reader else -1
                for image, level in case_rows
            ],
            dtype=np.int64,
        )
    cases = ClassificationCases(
        y_true=np.array([CLASSES.index(image.classes[level]) for image, level in case_rows], dtype=np.int64),
        probabilities=ensemble,
        patient_ids=tuple(image.patient_id for image, _ in case_rows),
        image_ids=tuple(image.image_id for image, _ in case_rows),
        second_reader=second_reader,
    )
    return Predictions(
        predicted_boxes=tuple(predicted),
        true_boxes=tuple(truths),
        cases=cases,
        model_probabilities=model_probabilities,
        levels=tuple(level for _, level in case_rows),
    )


def evaluate_bundle(
    bundle_dir: Path,
    images: Sequence[LabelledImage],
    out_dir: Path,
    *,
    title: str = "Evaluation",
    prefix: str = "evaluation",
    device: str = "cpu",
    settings: Bootstrap = DEFAULT_BOOTSTRAP,
    renderings: Mapping[str, np.ndarray] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate the bundle on ``images``, write JSON, Markdown and plots under ``out_dir``, return the report."""
    manifest = verify_bundle(bundle_dir)
    predictions = predict(bundle_dir, images, device=device, renderings=renderings, progress=progress)
    report = metrics_report(predictions, manifest, images, settings=settings)
    report["title"] = title
    report["bundle"] = {"name": manifest.name, "version": manifest.version, "demo": manifest.demo}
    write_report(report, out_dir, cases=predictions.cases, prefix=prefix, title=title)
    return report


def metrics_report(
    predictions: Predictions,
    manifest: BundleManifest,
    images: Sequence[LabelledImage],
    *,
    settings: Bootstrap = DEFAULT_BOOTSTRAP,
) -> dict[str, Any]:
    """Compute the detection and classification metrics, and each model's accuracy alone."""
    patient_of_image = {image.image_id: image.patient_id for image in images}
    threshold = manifest.thresholds.fresh
    per_model = {}
    for architecture, probabilities in predictions.model_probabilities.items():
        per_model[architecture] = {
            "accuracy": float(np.mean(probabilities.argmax(axis=1) == predictions.cases.y_true))
            if len(probabilities)
            else None
        }
    return {
        "detection": detection_report(
            predictions.predicted_boxes,
            predictions.true_boxes,
            patient_of_image=patient_of_image,
            settings=settings,
        ),
        "classification": classification_report(
            predictions.cases, fresh_threshold=threshold, settings=settings
        ),
        "per_model": per_model,
        "bootstrap": {
            "resamples": settings.resamples,
            "seed": settings.seed,
            "confidence": settings.confidence,
            "unit": "patient",
        },
        "classification_boxes": "reference boxes",
    }


def _detect(
    bundle_dir: Path,
    manifest: BundleManifest,
    images: Sequence[LabelledImage],
    renderings: Mapping[str, np.ndarray],
    *,
    device: str,
    progress: bool,
) -> tuple[list[PredictedBox], list[TrueBox]]:
    from inference.detection import Detector

    spec = replace(manifest.detector, confidence_threshold=MAP_CONFIDENCE)
    detector = Detector(Path(bundle_dir) / spec.file, spec, device=device)
    predicted: list[PredictedBox] = []
    truths: list[TrueBox] = []
    for image in tqdm(images, desc="detecting", unit="image", disable=not progress, leave=False):
        for detection in detector.predict_raw(renderings[image.image_id]):
            predicted.append(
                PredictedBox(image.image_id, detection.level, detection.box, detection.confidence)
            )
        truths += [TrueBox(image.image_id, level, box) for level, box in image.boxes.items()]
    return predicted, truths
