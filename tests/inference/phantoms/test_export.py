"""YOLO and classifier-crop exports of a labelled folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.crops import crop_square
from inference.datasets import load_labelled_folder, split_by_patient
from inference.imaging import load
from inference.phantoms import DatasetInfo
from inference.phantoms.export import YOLO_CLASS_NAMES, export_crops, export_yolo
from inference.result import Box


@pytest.fixture(scope="module")
def exported(
    phantom_folder: DatasetInfo, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, dict]:
    splits = split_by_patient(load_labelled_folder(phantom_folder.root), seed=0).as_dict()
    out = tmp_path_factory.mktemp("exports")
    return (
        export_yolo(splits, out / "yolo", max_size=320),
        export_crops(splits, out / "crops", size=96),
        splits,
    )


def test_yolo_classes_follow_level_order() -> None:
    assert YOLO_CLASS_NAMES == ("T12", "L1", "L2", "L3", "L4", "L5", "S1")


def test_yolo_export_writes_one_label_line_per_level(exported: tuple[Path, Path, dict]) -> None:
    yaml_path, _, splits = exported
    root = yaml_path.parent
    text = yaml_path.read_text(encoding="utf-8")
    assert "train: images/train" in text
    assert "val: images/val" in text
    assert "0: T12" in text
    assert "6: S1" in text
    for split, folder in (("train", "train"), ("validation", "val"), ("test", "test")):
        for image in splits[split]:
            lines = (root / "labels" / folder / f"{image.image_id}.txt").read_text(encoding="utf-8").split()
            assert len(lines) == 7 * 5
            values = np.array(lines, dtype=float).reshape(7, 5)
            assert values[:, 0].tolist() == list(range(7))
            assert ((values[:, 1:] > 0) & (values[:, 1:] < 1)).all()
            picture = Image.open(root / "images" / folder / f"{image.image_id}.png")
            assert max(picture.size) <= 320


def test_yolo_box_matches_truth_box(exported: tuple[Path, Path, dict]) -> None:
    yaml_path, _, splits = exported
    image = splits["train"].images[0]
    line = (
        (yaml_path.parent / "labels" / "train" / f"{image.image_id}.txt")
        .read_text(encoding="utf-8")
        .splitlines()[3]
    )
    _, cx, cy, w, h = (float(v) for v in line.split())
    x1, y1, x2, y2 = image.levels["L3"].box
    rows, columns = load(image.image_path).shape
    assert cx == pytest.approx((x1 + x2) / 2 / columns, abs=1e-5)
    assert cy == pytest.approx((y1 + y2) / 2 / rows, abs=1e-5)
    assert w == pytest.approx((x2 - x1) / columns, abs=1e-5)
    assert h == pytest.approx((y2 - y1) / rows, abs=1e-5)


def test_crops_cover_every_lumbar_vertebra(
    exported: tuple[Path, Path, dict], phantom_folder: DatasetInfo
) -> None:
    _, index_path, _ = exported
    rows = index_path.read_text(encoding="utf-8").splitlines()[1:]
    images = {image.image_id: image for image in load_labelled_folder(phantom_folder.root)}
    assert len(rows) == 5 * phantom_folder.images
    for row in rows[:10]:
        split, relative, image_id, _, level, vertebra_class, _ = row.split(",")
        crop = np.asarray(Image.open(index_path.parent / relative))
        assert crop.shape == (96, 96)
        assert relative.startswith(f"{split}/{vertebra_class}/")
        assert relative.endswith(f"_{level}.png")
        image = images[image_id]
        expected = crop_square(load(image.image_path).rendering, Box(*image.levels[level].box), 0.15, 96)
        assert np.array_equal(crop, expected)
