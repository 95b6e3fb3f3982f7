"""Exports of labelled folders for training: a YOLO detection dataset and classifier crops.

Both read every image through ``inference.imaging.load`` and use its 8-bit
``rendering``, so the models train on exactly the pixels that screening processes. They work
for phantoms and for a clinic's own labelled folder alike.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from inference.datasets import LEVEL_ORDER, LabelledDataset, LabelledImage

logger = logging.getLogger(__name__)

# YOLO class indices follow the cranio-caudal order: 0 = T12, 1..5 = L1..L5, 6 = S1.
YOLO_CLASS_NAMES: tuple[str, ...] = LEVEL_ORDER
YOLO_SPLIT_NAMES = {"train": "train", "validation": "val", "test": "test"}


def _rendering(image: LabelledImage) -> np.ndarray:
    from inference.imaging import load

    return load(image.image_path).rendering


def yolo_lines(image: LabelledImage, shape: tuple[int, int]) -> list[str]:
    """Return the YOLO label lines ("class cx cy w h", normalised to 0..1) of one image."""
    rows, columns = shape
    lines = []
    for name, label in image.levels.items():
        x1, y1, x2, y2 = label.box
        x1, x2 = max(x1, 0.0), min(x2, float(columns))
        y1, y2 = max(y1, 0.0), min(y2, float(rows))
        if x2 <= x1 or y2 <= y1:
            continue
        cx, cy = (x1 + x2) / 2 / columns, (y1 + y2) / 2 / rows
        lines.append(
            f"{YOLO_CLASS_NAMES.index(name)} {cx:.6f} {cy:.6f} {(x2 - x1) / columns:.6f} {(y2 - y1) / rows:.6f}"
        )
    return lines


def export_yolo(splits: Mapping[str, LabelledDataset], out_dir: Path, *, max_size: int | None = None) -> Path:
    """Write ``images/<split>/*.png``, ``labels/<split>/*.txt`` and ``data.yaml``; return the YAML path.

    ``splits`` is keyed "train", "validation" and "test" (as ``Splits.as_dict``);
    the folders use ultralytics' names train, val and test. With ``max_size``
    an image whose longer side exceeds it is shrunk; normalised labels stay valid.
    """
    out_dir = Path(out_dir)
    for split, dataset in splits.items():
        folder = YOLO_SPLIT_NAMES.get(split, split)
        (out_dir / "images" / folder).mkdir(parents=True, exist_ok=True)
        (out_dir / "labels" / folder).mkdir(parents=True, exist_ok=True)
        for image in dataset:
            rendering = _rendering(image)
            picture = Image.fromarray(rendering)
            longer = max(picture.size)
            if max_size is not None and longer > max_size:
                scale = max_size / longer
                picture = picture.resize(
                    (round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BILINEAR
                )
            picture.save(out_dir / "images" / folder / f"{image.image_id}.png")
            text = "\n".join(yolo_lines(image, rendering.shape)) + "\n"
            (out_dir / "labels" / folder / f"{image.image_id}.txt").write_text(text, encoding="utf-8")

    names = "\n".join(f"  {index}: {name}" for index, name in enumerate(YOLO_CLASS_NAMES))
    present = [YOLO_SPLIT_NAMES.get(split, split) for split in splits]
    entries = "\n".join(f"{name}: images/{name}" for name in present)
    yaml_path = out_dir / "data.yaml"
    yaml_path.write_text(f"path: {out_dir.resolve()}\n{entries}\nnames:\n{names}\n", encoding="utf-8")
    logger.info("wrote a YOLO dataset to %s", out_dir)
    return yaml_path


def export_crops(
    splits: Mapping[str, LabelledDataset], out_dir: Path, *, size: int, margin: float = 0.15
) -> Path:
    """Write L1 to L5 crops as ``<split>/<class>/<image_id>_<level>.png`` plus ``index.csv``; return the CSV path.

    Crops are cut with ``inference.crops.crop_square`` from the rendering,
    the function screening uses, with ``margin`` as in the bundle manifest.
    """
    from inference.crops import crop_square
    from inference.result import Box

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / "index.csv"
    with index_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "file", "image_id", "patient_id", "level", "class", "class_reader2"])
        for split, dataset in splits.items():
            for image in dataset:
                rendering = _rendering(image)
                for label in image.lumbar_levels():
                    crop = crop_square(rendering, Box(*label.box), margin, size)
                    relative = Path(split) / str(label.vertebra_class) / f"{image.image_id}_{label.level}.png"
                    (out_dir / relative.parent).mkdir(parents=True, exist_ok=True)
                    Image.fromarray(crop).save(out_dir / relative)
                    writer.writerow(
                        [
                            split,
                            relative.as_posix(),
                            image.image_id,
                            image.patient_id,
                            label.level,
                            label.vertebra_class,
                            label.class_reader2 or "",
                        ]
                    )
    logger.info("wrote classifier crops to %s", out_dir)
    return index_path


__all__ = ["YOLO_CLASS_NAMES", "export_crops", "export_yolo", "yolo_lines"]
