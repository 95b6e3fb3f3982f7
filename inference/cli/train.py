"""``python -m inference train-detector | train-classifiers | calibrate``: train a bundle on a labelled folder.

The three commands write into one bundle folder: the detector weights, the
classifier weights, then the manifest with the calibrated fresh threshold.
Every command splits the labelled folder by patient with the same
``--split-seed`` and ``--fractions``, so validation and test patients never
reach training.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from inference.classification import ARCHITECTURES
from inference.evaluation.runner import resolve_device
from inference.training.calibration import calibrate_fresh_threshold
from inference.training.classifiers import ClassifierTrainingConfig, ensemble_probabilities, train_classifier
from inference.training.data import (
    LabelledImage,
    data_summary,
    detector_images,
    from_labelled_dataset,
    read_images,
    read_renderings,
    vertebra_samples,
)
from inference.training.detector import DetectorTrainingConfig, train_detector, write_yolo_dataset
from inference.training.parts import (
    CLASSIFIERS_RECORD,
    DETECTOR_RECORD,
    assemble_manifest,
    classifier_specs,
    read_record,
    write_record,
)

logger = logging.getLogger(__name__)


def fractions_argument(text: str) -> tuple[float, float, float]:
    """Parse "0.7,0.15,0.15" into three shares that sum to 1."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid fractions {text!r}; expected three numbers such as 0.7,0.15,0.15"
        ) from None
    if len(values) != 3 or any(value < 0 for value in values) or not np.isclose(sum(values), 1.0):
        raise argparse.ArgumentTypeError(
            f"invalid fractions {text!r}; expected three non-negative shares that sum to 1"
        )
    return values  # type: ignore[return-value]


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--data``, ``--split-seed`` and ``--fractions``, shared by training and evaluation."""
    parser.add_argument("--data", type=Path, required=True, help="labelled folder with images/ and labels/")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the split by patient (default 0)")
    parser.add_argument(
        "--fractions",
        type=fractions_argument,
        default=(0.7, 0.15, 0.15),
        help="training, validation and test shares of the patients (default 0.7,0.15,0.15)",
    )


def load_split(args: argparse.Namespace) -> dict[str, list[LabelledImage]]:
    """Load ``args.data`` and split it by patient; returns "train", "validation" and "test" images."""
    from inference.datasets import load_labelled_folder, split_by_patient

    splits = split_by_patient(load_labelled_folder(args.data), seed=args.split_seed, fractions=args.fractions)
    return {name: from_labelled_dataset(subset) for name, subset in splits.as_dict().items()}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train-detector``, ``train-classifiers`` and ``calibrate`` commands."""
    detector = subparsers.add_parser(
        "train-detector",
        help="train the YOLO level detector from a model YAML (no downloads)",
        description="Train the YOLO level detector on the training split and write OUT/detector.pt.",
    )
    add_split_arguments(detector)
    detector.add_argument("--out", type=Path, required=True, help="bundle folder to write the detector into")
    detector.add_argument(
        "--model-yaml", default="yolov8n.yaml", help="ultralytics model YAML (default yolov8n.yaml)"
    )
    detector.add_argument(
        "--image-size",
        type=int,
        default=640,
        help="square network input in pixels, a multiple of 32 (default 640)",
    )
    detector.add_argument("--epochs", type=int, default=100, help="maximum training epochs (default 100)")
    detector.add_argument("--batch", type=int, default=16, help="images per batch (default 16)")
    detector.add_argument(
        "--patience", type=int, default=20, help="epochs without improvement before stopping (default 20)"
    )
    detector.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    detector.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    detector.set_defaults(func=run_train_detector)

    classifiers = subparsers.add_parser(
        "train-classifiers",
        help="train the three vertebra classifiers on reference-box crops",
        description="Train ResNet-50, DenseNet-161 and ResNeXt-50 on crops of the training split.",
    )
    add_split_arguments(classifiers)
    classifiers.add_argument(
        "--out", type=Path, required=True, help="bundle folder to write the classifiers into"
    )
    classifiers.add_argument(
        "--architectures",
        default=",".join(ARCHITECTURES),
        help=f"comma-separated subset of {','.join(ARCHITECTURES)}",
    )
    classifiers.add_argument(
        "--input-size", type=int, default=224, help="crop side in pixels fed to the networks (default 224)"
    )
    classifiers.add_argument(
        "--margin", type=float, default=0.15, help="crop margin, share of the longer box side (default 0.15)"
    )
    classifiers.add_argument("--epochs", type=int, default=30, help="maximum epochs per model (default 30)")
    classifiers.add_argument("--batch-size", type=int, default=32, help="crops per batch (default 32)")
    classifiers.add_argument(
        "--learning-rate", type=float, default=1e-3, help="peak AdamW learning rate (default 0.001)"
    )
    classifiers.add_argument(
        "--patience",
        type=int,
        default=6,
        help="epochs without a better validation score before stopping (default 6)",
    )
    classifiers.add_argument(
        "--initial-weights",
        action="append",
        default=[],
        metavar="ARCH=PATH",
        help="start ARCH from a state dict file instead of random weights; repeat per architecture",
    )
    classifiers.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    classifiers.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    classifiers.set_defaults(func=run_train_classifiers)

    calibrate = subparsers.add_parser(
        "calibrate",
        help="choose the MRI threshold on the validation split and write the bundle manifest",
        description="Choose the fresh threshold that reaches the target sensitivity on the validation split.",
    )
    add_split_arguments(calibrate)
    calibrate.add_argument(
        "--bundle", type=Path, required=True, help="bundle folder written by the training commands"
    )
    calibrate.add_argument(
        "--target-sensitivity", type=float, default=0.90, help="fresh sensitivity to reach (default 0.90)"
    )
    calibrate.add_argument(
        "--name", default="olvf-local", help="bundle name for the manifest (default olvf-local)"
    )
    calibrate.add_argument(
        "--version", default=None, help="bundle version (default: today's date, YYYY.MM.DD)"
    )
    calibrate.add_argument(
        "--demo", action="store_true", help="mark the bundle as a demo, not for clinical use"
    )
    calibrate.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    calibrate.set_defaults(func=run_calibrate)


def run_train_detector(args: argparse.Namespace) -> int:
    """Train the detector and record it in the bundle folder."""
    splits = load_split(args)
    renderings = read_renderings([*splits["train"], *splits["validation"]])
    config = DetectorTrainingConfig(
        model_yaml=args.model_yaml,
        image_size=args.image_size,
        epochs=args.epochs,
        batch=args.batch,
        patience=args.patience,
        device=resolve_device(args.device),
        seed=args.seed,
    )

    # The YOLO copies of the radiographs stay outside the bundle folder, so sharing a bundle never
    # shares patient images.
    work = args.out.parent / f"{args.out.name}.detector-work"
    data_yaml = write_yolo_dataset(
        {
            "train": detector_images(splits["train"], renderings),
            "val": detector_images(splits["validation"], renderings),
        },
        work / "yolo",
        max_side=config.image_size,
    )
    result = train_detector(data_yaml, work, config)

    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "detector.pt"
    shutil.copyfile(result.weights, target)
    write_record(
        args.out,
        DETECTOR_RECORD,
        {
            "file": target.name,
            "class_names": list(result.class_names),
            "image_size": result.image_size,
            "confidence_threshold": config.confidence_threshold,
            "iou_threshold": config.iou_threshold,
            "validation": result.validation,
            "config": result.config,
            "data": data_summary(splits),
        },
    )
    sys.stdout.write(json.dumps({"detector": str(target), "validation": result.validation}, indent=2) + "\n")
    return 0


def _initial_weights(entries: list[str]) -> dict[str, Path]:
    weights = {}
    for entry in entries:
        architecture, separator, path = entry.partition("=")
        if not separator or architecture not in ARCHITECTURES:
            raise SystemExit(
                f"invalid --initial-weights {entry!r}; expected ARCH=PATH with ARCH one of {list(ARCHITECTURES)}"
            )
        weights[architecture] = Path(path)
    return weights


def run_train_classifiers(args: argparse.Namespace) -> int:
    """Train the chosen architectures and record them in the bundle folder."""
    architectures = [name.strip() for name in args.architectures.split(",") if name.strip()]
    unknown = sorted(set(architectures) - set(ARCHITECTURES))
    if unknown:
        raise SystemExit(f"unknown architectures {unknown}; choose from {list(ARCHITECTURES)}")
    initial = _initial_weights(args.initial_weights)

    splits = load_split(args)
    read, renderings = read_images([*splits["train"], *splits["validation"]])
    splits = {**splits, "train": read[: len(splits["train"])], "validation": read[len(splits["train"]) :]}
    config = ClassifierTrainingConfig(
        input_size=args.input_size,
        margin=args.margin,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        patience=args.patience,
        device=resolve_device(args.device),
        seed=args.seed,
    )
    train_samples, val_samples = vertebra_samples(splits["train"]), vertebra_samples(splits["validation"])

    results = [
        train_classifier(
            architecture,
            train_samples,
            val_samples,
            renderings,
            args.out / f"{architecture}.pt",
            config,
            initial_weights=initial.get(architecture),
        )
        for architecture in architectures
    ]

    write_record(
        args.out,
        CLASSIFIERS_RECORD,
        {
            "margin": config.margin,
            "classifiers": [{**result.spec.to_dict(), **result.summary()} for result in results],
            "config": asdict(config),
            "data": data_summary(splits),
        },
    )
    sys.stdout.write(json.dumps([result.summary() for result in results], indent=2) + "\n")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """Calibrate the fresh threshold on the validation split and write the manifest."""
    from datetime import UTC, datetime

    from inference.bundle import write_manifest

    splits = load_split(args)
    validation = splits["validation"]
    specs = classifier_specs(read_record(args.bundle, CLASSIFIERS_RECORD))
    margin = float(read_record(args.bundle, CLASSIFIERS_RECORD)["margin"])
    validation, renderings = read_images(validation)
    samples = vertebra_samples(validation)
    device = resolve_device(args.device)
    probabilities = ensemble_probabilities(
        [(args.bundle / spec.file, spec) for spec in specs], samples, renderings, margin, device
    )
    labels = np.array([sample.label for sample in samples])
    calibration = calibrate_fresh_threshold(labels, probabilities[:, 2], args.target_sensitivity)
    version = args.version or datetime.now(UTC).strftime("%Y.%m.%d")
    manifest = assemble_manifest(
        args.bundle,
        calibration,
        name=args.name,
        version=version,
        demo=args.demo,
        training={
            "data": data_summary(splits),
            "split_seed": args.split_seed,
            "fractions": list(args.fractions),
        },
    )
    manifest = replace(manifest, model_card=None)
    path = write_manifest(args.bundle, manifest)
    sys.stdout.write(json.dumps({"manifest": str(path), **calibration.to_dict()}, indent=2) + "\n")
    return 0
