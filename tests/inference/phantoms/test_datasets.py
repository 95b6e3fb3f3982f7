"""Labelled folders: loading, validation errors that name the problem, and the split by patient."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inference.datasets import LabelledDataError, LabelledDataset, load_labelled_folder, split_by_patient
from inference.phantoms import DatasetInfo

BOX_LEVELS = {
    "L1": {"box": [10, 10, 60, 40], "class": "normal"},
    "L2": {"box": [12, 50, 62, 80], "class": "fresh", "class_reader2": "old"},
    "L3": {
        "corners": {
            "superior_anterior": [14, 90],
            "superior_middle": [40, 92],
            "superior_posterior": [64, 90],
            "inferior_anterior": [14, 120],
            "inferior_middle": [40, 118],
            "inferior_posterior": [64, 121],
        },
        "class": None,
    },
}


def _folder(root: Path, labels: dict[str, object], image_suffix: str = ".png") -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for image_id, label in labels.items():
        (root / "images" / f"{image_id}{image_suffix}").write_bytes(b"not decoded by the loader")
        text = label if isinstance(label, str) else json.dumps(label)
        (root / "labels" / f"{image_id}.json").write_text(text, encoding="utf-8")
    return root


def _label(**changes: object) -> dict[str, object]:
    return {"image_id": "img1", "patient_id": "P1", "levels": BOX_LEVELS, **changes}


def test_loader_reads_phantom_folder(phantom_folder: DatasetInfo) -> None:
    dataset = load_labelled_folder(phantom_folder.root)
    assert len(dataset) == phantom_folder.images
    assert len(dataset.patient_ids) == phantom_folder.patients
    assert dataset.class_counts() == _counts_per_image(phantom_folder)
    first = dataset.images[0]
    assert first.facing == "left"
    assert list(first.levels) == ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    assert first.levels["L3"].corners is not None
    assert first.image_path.exists()


def _counts_per_image(info: DatasetInfo) -> dict[str, int]:
    counts = {"normal": 0, "old": 0, "fresh": 0}
    for path in info.label_files:
        truth = json.loads(path.read_text(encoding="utf-8"))
        for name in ("L1", "L2", "L3", "L4", "L5"):
            counts[truth["levels"][name]["class"]] += 1
    return counts


def test_loader_takes_box_or_corners_and_reader2(tmp_path: Path) -> None:
    dataset = load_labelled_folder(_folder(tmp_path, {"img1": _label()}))
    image = dataset.images[0]
    assert image.levels["L1"].box == (10.0, 10.0, 60.0, 40.0)
    assert image.levels["L3"].box == (14.0, 90.0, 64.0, 121.0)
    assert image.levels["L2"].class_reader2 == "old"
    assert [label.level for label in image.lumbar_levels()] == ["L1", "L2"]


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("{not json", "not readable as JSON"),
        (_label(patient_id=""), "patient_id is missing"),
        (_label(levels={}), "levels is missing or empty"),
        (_label(levels={"L6": {"box": [0, 0, 1, 1], "class": "normal"}}), "unknown level 'L6'"),
        (_label(levels={"L1": {"class": "normal"}}), "neither box nor corners"),
        (_label(levels={"L1": {"box": [0, 0, 1], "class": "normal"}}), "must be [x1, y1, x2, y2]"),
        (_label(levels={"L1": {"box": [5, 0, 1, 1], "class": "normal"}}), "0 <= x1 < x2"),
        (_label(levels={"L1": {"box": [0, 0, 1, 1]}}), "L1.class is missing"),
        (_label(levels={"L1": {"box": [0, 0, 1, 1], "class": "broken"}}), "'broken' is invalid"),
        (
            _label(levels={"L1": {"box": [0, 0, 1, 1], "class": "old", "genant_grade": 4}}),
            "genant_grade 4 is invalid",
        ),
        (
            _label(levels={"L1": {"box": [0, 0, 1, 1], "class": "old", "deformity": "bent"}}),
            "deformity 'bent' is invalid",
        ),
        (_label(levels={"L1": {"corners": {"superior_anterior": [0, 0]}, "class": "old"}}), "six points"),
        (
            _label(
                levels={
                    "L1": {"box": [0, 50, 9, 60], "class": "old"},
                    "L2": {"box": [0, 0, 9, 10], "class": "old"},
                }
            ),
            "L2 lies above L1",
        ),
        (_label(image_id="other"), "differs from the file name"),
        (_label(facing="up"), "facing 'up' is invalid"),
    ],
)
def test_loader_rejects_malformed_label(tmp_path: Path, label: object, message: str) -> None:
    root = _folder(tmp_path, {"img1": label})
    with pytest.raises(LabelledDataError) as raised:
        load_labelled_folder(root)
    assert message in raised.value.message_en
    assert "img1.json" in raised.value.message_en
    assert raised.value.message_ja


def test_loader_rejects_label_without_image(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"img1": _label()})
    (root / "images" / "img1.png").unlink()
    with pytest.raises(LabelledDataError, match="no image images/img1"):
        load_labelled_folder(root)


def test_loader_rejects_image_without_label(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"img1": _label()})
    (root / "images" / "img2.dcm").write_bytes(b"")
    with pytest.raises(LabelledDataError, match="have no label, first img2"):
        load_labelled_folder(root)


def test_loader_rejects_two_images_with_one_id(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"img1": _label()})
    (root / "images" / "img1.dcm").write_bytes(b"")
    with pytest.raises(LabelledDataError, match="several images share the id img1"):
        load_labelled_folder(root)


def test_loader_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(LabelledDataError, match="folder not found"):
        load_labelled_folder(tmp_path)


def _many_patients(tmp_path: Path, patients: int) -> LabelledDataset:
    labels = {}
    for patient in range(patients):
        for image in range(1 + patient % 3):
            classes = ("fresh", "old", "normal", "normal")[patient % 4]
            levels = {
                "L1": {"box": [0, 0, 10, 10], "class": classes},
                "L2": {"box": [0, 20, 10, 30], "class": "normal"},
            }
            labels[f"p{patient:03d}-{image}"] = {"patient_id": f"P{patient:03d}", "levels": levels}
    return load_labelled_folder(_folder(tmp_path, labels))


def test_split_never_puts_patient_on_two_sides(tmp_path: Path) -> None:
    dataset = _many_patients(tmp_path, 40)
    splits = split_by_patient(dataset, seed=3)
    sides = [set(part.patient_ids) for part in (splits.train, splits.validation, splits.test)]
    assert not sides[0] & sides[1]
    assert not sides[0] & sides[2]
    assert not sides[1] & sides[2]
    assert sum(len(part) for part in (splits.train, splits.validation, splits.test)) == len(dataset)
    assert [len(side) for side in sides] == [28, 6, 6]


def test_split_spreads_fresh_patients_over_every_side(tmp_path: Path) -> None:
    splits = split_by_patient(_many_patients(tmp_path, 40), seed=3)
    for part in (splits.train, splits.validation, splits.test):
        assert part.class_counts()["fresh"] > 0


def test_split_is_fixed_by_seed(tmp_path: Path) -> None:
    dataset = _many_patients(tmp_path, 20)
    first = split_by_patient(dataset, seed=1)
    assert first == split_by_patient(dataset, seed=1)
    assert first.test.patient_ids != split_by_patient(dataset, seed=2).test.patient_ids


def test_split_gives_each_side_a_patient_when_few(tmp_path: Path) -> None:
    splits = split_by_patient(_many_patients(tmp_path, 3), seed=0)
    assert [len(part.patient_ids) for part in (splits.train, splits.validation, splits.test)] == [1, 1, 1]


def test_split_rejects_fractions_not_summing_to_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        split_by_patient(_many_patients(tmp_path, 3), seed=0, fractions=(0.5, 0.2, 0.2))


def test_phantom_folder_copy_is_an_external_set(phantom_folder: DatasetInfo, tmp_path: Path) -> None:
    external = tmp_path / "external"
    shutil.copytree(phantom_folder.root, external)
    assert len(load_labelled_folder(external)) == phantom_folder.images
