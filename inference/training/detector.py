"""Training of the YOLO level detector with ultralytics, from a model YAML and without downloads.

The detector has one class per level (T12, L1 ... L5, S1 by default). Images
are the 8-bit renderings of ``inference.imaging.load``, so training uses
the same images as screening. Augmentation keeps the cranio-caudal order: no
vertical flip and no mosaic, because a mosaic cuts the spine into pieces
whose level cannot be identified from its neighbours. Horizontal flip is
allowed because a lateral film may face either way and a level box does not
depend on it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from inference.result import Box
from inference.training.offline import offline_ultralytics

logger = logging.getLogger(__name__)

DETECTOR_CLASS_NAMES: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")


@dataclass(frozen=True)
class DetectorImage:
    """One training image for the detector: its id, 8-bit rendering and level boxes in its pixels."""

    image_id: str
    rendering: np.ndarray  # (H, W) uint8, bone bright
    boxes: Mapping[str, Box]  # level name -> box


@dataclass(frozen=True)
class DetectorTrainingConfig:
    """Settings of one detector training run.

    ``model_yaml`` is an ultralytics model definition (a packaged name such as
    "yolov8n.yaml" or a path); training always starts from random weights.
    ``image_size`` is the square network input in pixels (a multiple of 32).
    ``patience`` is the number of epochs without a better validation fitness
    after which training stops.
    """

    model_yaml: str = "yolov8n.yaml"
    image_size: int = 320
    epochs: int = 40
    batch: int = 16
    device: str = "cpu"
    patience: int = 10
    seed: int = 0
    workers: int = 2
    learning_rate: float = 0.005
    degrees: float = 5.0
    translate: float = 0.1
    scale: float = 0.3
    brightness: float = 0.3  # ultralytics hsv_v: relative brightness change
    fliplr: float = 0.5
    confidence_threshold: float = 0.25  # recorded in the bundle for screening
    iou_threshold: float = 0.5  # non-maximum suppression IoU recorded in the bundle


@dataclass(frozen=True)
class DetectorTrainingResult:
    """The trained checkpoint and the ultralytics validation figures of its best epoch."""

    weights: Path
    run_dir: Path
    class_names: tuple[str, ...]
    image_size: int
    validation: dict[str, float]
    config: dict[str, Any]


def write_yolo_dataset(
    splits: Mapping[str, Sequence[DetectorImage]],
    out_dir: Path,
    *,
    class_names: Sequence[str] = DETECTOR_CLASS_NAMES,
    max_side: int | None = None,
) -> Path:
    """Write images and YOLO label files for each split and return the dataset YAML path.

    ``splits`` maps "train" and "val" (and optionally "test") to images. An
    image is shrunk so that its longer side is at most ``max_side`` pixels,
    which keeps the files small; YOLO labels are relative, so they do not
    change. Levels outside ``class_names`` are left out.
    """
    if "train" not in splits or "val" not in splits:
        raise ValueError(f"splits must contain 'train' and 'val', got {sorted(splits)}")
    class_index = {name: index for index, name in enumerate(class_names)}
    for split, images in splits.items():
        image_dir = out_dir / "images" / split
        label_dir = out_dir / "labels" / split
        image_dir.mkdir(parents=True, exist_ok=True)
        label_dir.mkdir(parents=True, exist_ok=True)
        for item in images:
            _write_image(item.rendering, image_dir / f"{item.image_id}.png", max_side)
            lines = _label_lines(item, class_index)
            (label_dir / f"{item.image_id}.txt").write_text("".join(lines), encoding="utf-8")

    yaml_path = out_dir / "data.yaml"
    names = "\n".join(f"  {index}: {name}" for index, name in enumerate(class_names))
    split_lines = "".join(f"{split}: images/{split}\n" for split in splits)
    yaml_path.write_text(f"path: {out_dir.resolve()}\n{split_lines}names:\n{names}\n", encoding="utf-8")
    return yaml_path


def train_detector(
    data_yaml: Path,
    out_dir: Path,
    config: DetectorTrainingConfig = DetectorTrainingConfig(),
    *,
    class_names: Sequence[str] = DETECTOR_CLASS_NAMES,
) -> DetectorTrainingResult:
    """Train a YOLO detector on ``data_yaml`` from random weights and return its best checkpoint.

    The run folder is ``out_dir/detector-run``; the best checkpoint is copied to
    ``out_dir/detector.pt``. Nothing is downloaded: no pretrained weights, no
    AMP check (``amp=False``), no plots (they need a downloaded font), and
    ultralytics runs offline. Raises RuntimeError when ultralytics writes no
    checkpoint.
    """
    with offline_ultralytics():
        from ultralytics import YOLO

        model = YOLO(config.model_yaml, task="detect")
        logger.info(
            "training detector %s at %d px for up to %d epochs on %s",
            config.model_yaml,
            config.image_size,
            config.epochs,
            config.device,
        )
        # ultralytics 8.4 (utils/torch_utils.py select_device) sets torch to cpu_count - 1 threads for
        # the whole process on CPU, which would leave later training on one core of a two-core machine.
        threads = torch.get_num_threads()
        # ultralytics' own console output is off (YOLO_VERBOSE=false), so this callback is the only sign of
        # progress during a run of several minutes on CPU.
        model.add_callback("on_fit_epoch_end", _log_epoch)
        try:
            model.train(**_train_arguments(data_yaml, out_dir, config))
        finally:
            torch.set_num_threads(threads)
        trainer = model.trainer
    best = Path(trainer.best) if trainer is not None else out_dir / "detector-run" / "weights" / "best.pt"
    if not best.is_file():
        raise RuntimeError(f"ultralytics wrote no checkpoint under {best.parent}; see its log above")
    target = out_dir / "detector.pt"
    shutil.copyfile(best, target)
    validation = {key: float(value) for key, value in (getattr(trainer, "metrics", None) or {}).items()}
    return DetectorTrainingResult(
        weights=target,
        run_dir=best.parent.parent,
        class_names=tuple(class_names),
        image_size=config.image_size,
        validation=validation,
        config=asdict(config),
    )


def _log_epoch(trainer: Any) -> None:
    """Log the number, duration and validation mAP of the epoch that ``trainer`` finished."""
    metrics = trainer.metrics or {}
    logger.info(
        "detector epoch %d/%d: %.0f s, validation mAP50-95 %.3f",
        trainer.epoch + 1,
        trainer.epochs,
        trainer.epoch_time or 0.0,
        float(metrics.get("metrics/mAP50-95(B)", float("nan"))),
    )


def _train_arguments(data_yaml: Path, out_dir: Path, config: DetectorTrainingConfig) -> dict[str, Any]:
    return {
        "data": str(data_yaml),
        "epochs": config.epochs,
        "imgsz": config.image_size,
        "batch": config.batch,
        "device": config.device,
        "workers": config.workers,
        "patience": config.patience,
        "seed": config.seed,
        "deterministic": True,
        "project": str(out_dir.resolve()),
        "name": "detector-run",
        "exist_ok": True,
        "pretrained": False,
        "amp": False,
        "plots": False,
        "verbose": False,
        "cache": "ram",
        "optimizer": "AdamW",
        "lr0": config.learning_rate,
        # Step the optimiser after every batch: ultralytics otherwise accumulates gradients up to 64
        # images, which leaves a small from-scratch run with too few steps to learn anything.
        "nbs": config.batch,
        "warmup_epochs": 1.0,
        "cos_lr": True,
        # Grayscale films: no hue or saturation change; brightness only.
        "hsv_h": 0.0,
        "hsv_s": 0.0,
        "hsv_v": config.brightness,
        "degrees": config.degrees,
        "translate": config.translate,
        "scale": config.scale,
        "fliplr": config.fliplr,
        "flipud": 0.0,
        "mosaic": 0.0,
        "close_mosaic": 0,
        "mixup": 0.0,
        "cutmix": 0.0,
    }


def _write_image(rendering: np.ndarray, path: Path, max_side: int | None) -> None:
    image = Image.fromarray(np.ascontiguousarray(rendering))
    if max_side is not None and max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    image.save(path)


def _label_lines(item: DetectorImage, class_index: Mapping[str, int]) -> list[str]:
    height, width = item.rendering.shape[:2]
    lines = []
    for level, box in item.boxes.items():
        if level not in class_index:
            continue
        x1, x2 = np.clip([box.x1, box.x2], 0, width)
        y1, y2 = np.clip([box.y1, box.y2], 0, height)
        if x2 <= x1 or y2 <= y1:
            continue
        centre_x, centre_y = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        lines.append(
            f"{class_index[level]} {centre_x:.6f} {centre_y:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}\n"
        )
    return lines
