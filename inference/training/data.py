"""Labelled images as training and evaluation need them, read through ``inference.imaging.load``.

A ``LabelledImage`` is one image of a labelled folder with its reference boxes
and classes per level. Renderings are read once and kept in memory, because
every classifier epoch cuts new crops from them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from inference.imaging import load
from inference.orientation import DEFAULT_ANTERIOR_SIDE, AnteriorSide, radiograph_orientation
from inference.result import CLASSES, LUMBAR_LEVELS, Box
from inference.training.classifiers import VertebraSample
from inference.training.detector import DetectorImage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledImage:
    """One labelled radiograph: where it is, whose it is, and the reference per level.

    ``boxes`` and ``classes`` are keyed by level name ("T12", "L1" ... "S1");
    classes are names from ``CLASSES``. ``second_reader`` holds a second
    reference class per level when a second reading exists. ``facing`` is the
    side the label states, if any. ``anterior_side`` is the side used for
    classifier crops, which ``read_images`` decides from the label or the header.
    """

    image_id: str
    patient_id: str
    path: Path
    boxes: Mapping[str, Box]
    classes: Mapping[str, str]
    second_reader: Mapping[str, str] = field(default_factory=dict)
    facing: str | None = None
    anterior_side: AnteriorSide = DEFAULT_ANTERIOR_SIDE


def from_labelled_dataset(dataset: Iterable[Any]) -> list[LabelledImage]:
    """Convert the images of an ``inference.datasets.LabelledDataset`` into ``LabelledImage`` values.

    Every level with a box is kept for the detector; only levels with a
    reference class get a class (T12 and S1 usually have none).
    """
    converted = []
    for item in dataset:
        boxes = {name: _as_box(label.box) for name, label in item.levels.items()}
        classes = {name: label.vertebra_class for name, label in item.levels.items() if label.vertebra_class}
        second = {name: label.class_reader2 for name, label in item.levels.items() if label.class_reader2}
        converted.append(
            LabelledImage(
                image_id=item.image_id,
                patient_id=item.patient_id,
                path=Path(item.image_path),
                boxes=boxes,
                classes=classes,
                second_reader=second,
                facing=item.facing,
                anterior_side=item.facing if item.facing in ("left", "right") else DEFAULT_ANTERIOR_SIDE,
            )
        )
    return converted


def load_labelled_images(folder: Path) -> list[LabelledImage]:
    """Load a labelled folder with ``inference.datasets.load_labelled_folder`` and convert its images."""
    from inference.datasets import load_labelled_folder

    return from_labelled_dataset(load_labelled_folder(folder))


def read_images(
    images: Sequence[LabelledImage], *, progress: bool = True, description: str = "reading images"
) -> tuple[list[LabelledImage], dict[str, np.ndarray]]:
    """Read every image with ``inference.imaging.load``.

    Returns the images with ``anterior_side`` decided (the label's ``facing``
    first, then the DICOM Patient Orientation, else left), in the given order,
    and image id -> (H, W) uint8 rendering.
    """
    resolved = []
    renderings = {}
    for image in tqdm(images, desc=description, unit="image", disable=not progress, leave=False):
        radiograph = load(image.path)
        renderings[image.image_id] = radiograph.rendering
        orientation = radiograph_orientation(radiograph, stated_facing=image.facing)
        resolved.append(replace(image, anterior_side=orientation.anterior_side))
    return resolved, renderings


def read_renderings(
    images: Sequence[LabelledImage], *, progress: bool = True, description: str = "reading images"
) -> dict[str, np.ndarray]:
    """Read every image with ``inference.imaging.load`` and return image id -> (H, W) uint8 rendering."""
    return read_images(images, progress=progress, description=description)[1]


def vertebra_samples(
    images: Sequence[LabelledImage], levels: Sequence[str] = LUMBAR_LEVELS
) -> list[VertebraSample]:
    """Return one classifier sample per labelled level that has both a box and a class."""
    samples = []
    for image in images:
        for level in levels:
            if level in image.boxes and level in image.classes:
                samples.append(
                    VertebraSample(
                        image_id=image.image_id,
                        patient_id=image.patient_id,
                        level=level,
                        box=image.boxes[level],
                        label=CLASSES.index(image.classes[level]),
                        anterior_side=image.anterior_side,
                    )
                )
    return samples


def detector_images(
    images: Sequence[LabelledImage], renderings: Mapping[str, np.ndarray]
) -> list[DetectorImage]:
    """Pair each image's rendering with its reference boxes for YOLO training."""
    return [DetectorImage(image.image_id, renderings[image.image_id], dict(image.boxes)) for image in images]


def data_summary(
    splits: Mapping[str, Sequence[LabelledImage]], levels: Sequence[str] = LUMBAR_LEVELS
) -> dict[str, Any]:
    """Count patients, images and vertebrae per class in each split, for the manifest and the model card."""
    summary: dict[str, Any] = {}
    for name, images in splits.items():
        counts = dict.fromkeys(CLASSES, 0)
        for image in images:
            for level in levels:
                if level in image.classes:
                    counts[image.classes[level]] += 1
        summary[name] = {
            "patients": len({image.patient_id for image in images}),
            "images": len(images),
            "vertebrae": counts,
        }
    return summary


def _as_box(value: Any) -> Box:
    if isinstance(value, Box):
        return value
    x1, y1, x2, y2 = (float(v) for v in value)
    return Box(x1, y1, x2, y2)
