"""Vertebra detection with an ultralytics YOLO model, one class per level.

The detector returns at most one box per level (the most confident one) in the
pixel coordinates of the original image, then drops boxes that break the
cranio-caudal order, overlap another level or have an implausible size. Every
dropped box and every missing lumbar level becomes a coded message, so a study
with a missing level is reported as not assessable and never as normal.

Ultralytics is imported only through ``configure_ultralytics``. It sets the
environment before the first import so that ultralytics 8.4 skips its online
check, version check, package auto-install and usage analytics, and it turns
the settings sync and logger integrations off. The detector never plots, so the
Arial.ttf font download in ultralytics' plotting code is never reached.

A ``Detector`` owns one ultralytics model and is not thread-safe: each worker
process or thread needs its own instance.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from inference.bundle import DetectorSpec
from inference.errors import BundleError
from inference.result import LUMBAR_LEVELS, Box, Detection, Message

logger = logging.getLogger(__name__)

# Read by ultralytics 8.4 when ultralytics.utils is first imported (ultralytics/utils/__init__.py):
# YOLO_OFFLINE makes is_online() return False without a DNS lookup, which also disables the PyPI
# version check and the analytics events; YOLO_AUTOINSTALL=false stops pip installs of missing packages.
ULTRALYTICS_ENVIRONMENT: dict[str, str] = {
    "YOLO_OFFLINE": "true",
    "YOLO_AUTOINSTALL": "false",
    "YOLO_VERBOSE": "false",
}
# Ultralytics settings that would send data out or start logger integrations.
ULTRALYTICS_OFFLINE_SETTINGS: dict[str, bool] = {
    "sync": False,
    "clearml": False,
    "comet": False,
    "dvc": False,
    "mlflow": False,
    "raytune": False,
    "tensorboard": False,
    "wandb": False,
}

# Anatomical order from head to feet; box centres must go down the image in this order.
CRANIO_CAUDAL_ORDER: tuple[str, ...] = ("T12", *LUMBAR_LEVELS, "S1")

# Plausibility limits for a lumbar box, relative to the median of the other lumbar boxes.
# NOTE: these are rules of thumb, not measured on clinical films. Width is stable along the lumbar
# spine. Height may fall below half the median in a Genant grade 3 fracture, so its lower limit is loose.
WIDTH_RATIO_RANGE = (0.5, 2.0)
HEIGHT_RATIO_RANGE = (0.25, 2.0)
# Boxes of two levels that overlap this much cover the same vertebra.
DUPLICATE_IOU = 0.5
# A box smaller than this on either side cannot give a meaningful crop.
MIN_BOX_PIXELS = 8.0

_configure_lock = threading.Lock()
_ultralytics: ModuleType | None = None

for _name, _value in ULTRALYTICS_ENVIRONMENT.items():
    os.environ[_name] = _value


def configure_ultralytics() -> ModuleType:
    """Import ultralytics with its network features switched off and return the module.

    Safe to call many times. When another module imported ultralytics before
    this one set the environment, the online flags are switched off afterwards.
    """
    global _ultralytics
    with _configure_lock:
        if _ultralytics is not None:
            return _ultralytics
        imported_before = "ultralytics" in sys.modules
        import ultralytics
        from ultralytics.utils import SETTINGS, checks
        from ultralytics.utils import events as events_module

        if imported_before and ultralytics.utils.ONLINE:
            # The online check already ran; clear the flags the version check and analytics read.
            logger.warning("ultralytics was imported before inference.detection set YOLO_OFFLINE")
            ultralytics.utils.ONLINE = False
            checks.ONLINE = False
        events_module.events.enabled = False
        changed = {key: value for key, value in ULTRALYTICS_OFFLINE_SETTINGS.items() if SETTINGS.get(key) != value}
        if changed:
            SETTINGS.update(changed)  # SETTINGS writes its JSON file, so update only what differs
        _ultralytics = ultralytics
        return ultralytics


@dataclass(frozen=True)
class RejectedDetection:
    """A box the plausibility checks dropped, with the reason code."""

    detection: Detection
    reason: str


@dataclass(frozen=True)
class DetectionOutcome:
    """The accepted boxes (at most one per level, cranio-caudal order), the dropped boxes and warnings."""

    detections: tuple[Detection, ...]
    rejected: tuple[RejectedDetection, ...]
    warnings: tuple[Message, ...]

    @property
    def lumbar(self) -> tuple[Detection, ...]:
        """Return the accepted lumbar detections from L1 to L5."""
        return tuple(d for d in self.detections if d.level in LUMBAR_LEVELS)

    @property
    def other(self) -> tuple[Detection, ...]:
        """Return the accepted T12 and S1 detections."""
        return tuple(d for d in self.detections if d.level not in LUMBAR_LEVELS)

    @property
    def missing_levels(self) -> tuple[str, ...]:
        """Return the lumbar levels without an accepted box."""
        found = {d.level for d in self.detections}
        return tuple(level for level in LUMBAR_LEVELS if level not in found)


def resolve_device(device: str) -> str:
    """Return the torch device string for ``device`` ("cpu", "cuda" or "cuda:N").

    Raises ValueError for another name and RuntimeError when CUDA is requested
    but not available.
    """
    name = device.strip().lower()
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} was requested but CUDA is not available on this machine")
        index = int(name.split(":", 1)[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise RuntimeError(f"device {device!r} was requested but only {torch.cuda.device_count()} CUDA devices exist")
        return f"cuda:{index}"
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', not {device!r}")


class Detector:
    """One ultralytics YOLO model with the bundle's thresholds; not thread-safe."""

    def __init__(self, weights: str | Path, spec: DetectorSpec, *, device: str = "cpu") -> None:
        """Load the detector from ``weights`` (an ultralytics checkpoint) onto ``device``.

        The checkpoint is a pickle, so only load a file whose sha256 the bundle
        has verified. Raises BundleError when the model's class names differ
        from ``spec.class_names``.
        """
        ultralytics = configure_ultralytics()
        self.spec = spec
        self.device = resolve_device(device)
        path = Path(weights).resolve()
        if not path.is_file():
            # Ultralytics would try to download a missing file whose name matches one of its assets.
            raise BundleError(
                f"Detector weight file not found: {path}.",
                f"検出器の重みファイルが見つかりません: {path}。",
                detail=str(path),
            )
        self._model = ultralytics.YOLO(str(path), task="detect")
        names = self._model.names
        model_names = tuple(names[index] for index in sorted(names))
        if model_names != spec.class_names:
            raise BundleError(
                f"The detector's classes {list(model_names)} differ from the manifest's {list(spec.class_names)}. "
                "Rebuild the bundle.",
                f"検出器のクラス {list(model_names)} がマニフェストの {list(spec.class_names)} と一致しません。"
                "バンドルを再作成してください。",
                detail=str(path),
            )

    @property
    def model(self) -> torch.nn.Module:
        """Return the ultralytics DetectionModel as loaded from the checkpoint."""
        return self._model.model

    @property
    def inference_model(self) -> torch.nn.Module | None:
        """Return the fused copy the predictor runs, or None before the first predict call."""
        predictor = self._model.predictor
        return None if predictor is None else predictor.model

    def predict_raw(self, image: np.ndarray) -> list[Detection]:
        """Run YOLO on ``image`` and return every box above the confidence threshold.

        ``image`` is (H, W, 3) uint8 or the (H, W) uint8 rendering, which is
        stacked to three equal channels. Boxes are in original image pixels,
        clipped to the image.
        """
        stacked = _as_three_channels(image)
        threads = torch.get_num_threads()
        results = self._model.predict(
            source=stacked,
            imgsz=self.spec.image_size,
            conf=self.spec.confidence_threshold,
            iou=self.spec.iou_threshold,
            device=self.device,
            half=False,
            max_det=100,
            classes=None,
            agnostic_nms=False,
            augment=False,
            rect=True,
            batch=1,
            stream=False,
            save=False,
            show=False,
            verbose=False,
        )
        # Ultralytics resets torch's CPU thread count when it sets up a predictor; keep the caller's.
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return _to_detections(results[0], self.spec.class_names)

    def detect(self, image: np.ndarray) -> DetectionOutcome:
        """Detect the vertebrae in ``image`` and apply the one-box-per-level and plausibility rules."""
        raw = self.predict_raw(image)
        return check_detections(raw)


def _as_three_channels(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError(f"detector input must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise ValueError(f"detector input must be (H, W) or (H, W, 3), got shape {image.shape}")


def _to_detections(result: Any, class_names: tuple[str, ...]) -> list[Detection]:
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return []
    xyxy = boxes.xyxy.detach().cpu().numpy().astype(np.float64)
    confidences = boxes.conf.detach().cpu().numpy().astype(np.float64)
    classes = boxes.cls.detach().cpu().numpy().astype(np.int64)
    detections = []
    for (x1, y1, x2, y2), confidence, class_index in zip(xyxy, confidences, classes, strict=True):
        detections.append(
            Detection(
                level=class_names[int(class_index)],
                box=Box(float(x1), float(y1), float(x2), float(y2)),
                confidence=float(confidence),
            )
        )
    return detections


# --- plausibility rules --------------------------------------------------------------------------


def _message(code: str, english: str, japanese: str) -> Message:
    return Message(code=code, message_en=english, message_ja=japanese)


def _iou(a: Box, b: Box) -> float:
    width = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    height = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    intersection = width * height
    union = a.width * a.height + b.width * b.height - intersection
    return intersection / union if union > 0 else 0.0


def _centre_y(detection: Detection) -> float:
    return (detection.box.y1 + detection.box.y2) / 2.0


def _best_per_level(raw: list[Detection]) -> list[Detection]:
    best: dict[str, Detection] = {}
    for detection in raw:
        current = best.get(detection.level)
        if current is None or detection.confidence > current.confidence:
            best[detection.level] = detection
    return sorted(best.values(), key=lambda d: d.confidence, reverse=True)


def _in_order(candidate: Detection, accepted: list[Detection]) -> bool:
    rank = CRANIO_CAUDAL_ORDER.index(candidate.level)
    for other in accepted:
        other_rank = CRANIO_CAUDAL_ORDER.index(other.level)
        if (other_rank < rank) != (_centre_y(other) < _centre_y(candidate)):
            return False
    return True


def _reject_by_size(accepted: list[Detection]) -> tuple[list[Detection], list[RejectedDetection]]:
    lumbar = [d for d in accepted if d.level in LUMBAR_LEVELS]
    if len(lumbar) < 3:
        return accepted, []  # too few boxes for a reliable median
    median_width = float(np.median([d.box.width for d in lumbar]))
    median_height = float(np.median([d.box.height for d in lumbar]))
    kept: list[Detection] = []
    rejected: list[RejectedDetection] = []
    for detection in accepted:
        width_ratio = detection.box.width / median_width
        height_ratio = detection.box.height / median_height
        plausible = (
            WIDTH_RATIO_RANGE[0] <= width_ratio <= WIDTH_RATIO_RANGE[1]
            and HEIGHT_RATIO_RANGE[0] <= height_ratio <= HEIGHT_RATIO_RANGE[1]
        )
        if detection.level in LUMBAR_LEVELS and not plausible:
            rejected.append(RejectedDetection(detection, "implausible_size"))
        else:
            kept.append(detection)
    return kept, rejected


def check_detections(raw: list[Detection]) -> DetectionOutcome:
    """Keep one box per level and drop boxes that break order, overlap another level or have odd sizes.

    Steps:
    1. Keep each level's most confident box.
    2. Drop boxes smaller than ``MIN_BOX_PIXELS`` on a side.
    3. Visit the rest by falling confidence. Drop a box that overlaps a kept box
       of another level by ``DUPLICATE_IOU`` or more, or whose centre breaks the
       cranio-caudal order of the boxes already kept.
    4. Drop lumbar boxes whose width or height is far from the lumbar median. Returns
    the kept boxes in cranio-caudal order with a warning for each dropped box;
    ``DetectionOutcome.missing_levels`` lists the lumbar levels left without a box.
    """
    accepted: list[Detection] = []
    rejected: list[RejectedDetection] = []
    for detection in _best_per_level(raw):
        if detection.box.width < MIN_BOX_PIXELS or detection.box.height < MIN_BOX_PIXELS:
            rejected.append(RejectedDetection(detection, "box_too_small"))
        elif any(_iou(detection.box, other.box) >= DUPLICATE_IOU for other in accepted):
            rejected.append(RejectedDetection(detection, "duplicate_box"))
        elif not _in_order(detection, accepted):
            rejected.append(RejectedDetection(detection, "out_of_order"))
        else:
            accepted.append(detection)
    accepted, size_rejected = _reject_by_size(accepted)
    rejected.extend(size_rejected)
    accepted.sort(key=lambda d: CRANIO_CAUDAL_ORDER.index(d.level))

    warnings = [_rejection_warning(item) for item in rejected]
    if rejected:
        logger.info(
            "dropped %d implausible detections", len(rejected), extra={"levels": [r.detection.level for r in rejected]}
        )
    return DetectionOutcome(detections=tuple(accepted), rejected=tuple(rejected), warnings=tuple(warnings))


_REJECTION_TEXT = {
    "box_too_small": ("its box is smaller than {size:.0f} pixels", "検出枠が {size:.0f} ピクセル未満です"),
    "duplicate_box": ("its box covers the same vertebra as another level", "検出枠が別の椎体レベルと同じ椎体を示しています"),
    "out_of_order": (
        "its box is out of cranio-caudal order with the other levels",
        "検出枠の上下の順序が他のレベルと矛盾しています",
    ),
    "implausible_size": (
        "its box size differs too much from the other lumbar vertebrae",
        "検出枠の大きさが他の腰椎と大きく異なります",
    ),
}


def _rejection_warning(item: RejectedDetection) -> Message:
    english, japanese = _REJECTION_TEXT[item.reason]
    level = item.detection.level
    return _message(
        f"detection_{item.reason}",
        f"The detection of {level} was discarded: " + english.format(size=MIN_BOX_PIXELS) + ".",
        f"{level} の検出を破棄しました: " + japanese.format(size=MIN_BOX_PIXELS) + "。",
    )
