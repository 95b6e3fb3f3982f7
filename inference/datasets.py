"""Labelled folders of radiographs (phantoms or a clinic's own data) and the split by patient.

A labelled folder contains ``images/<image_id>.<dcm|png|jpg|jpeg>`` and
``labels/<image_id>.json``; docs/data-format.md documents the JSON. Loading
checks every label and raises ``LabelledDataError`` naming the file and the
problem. Images are not decoded here: training reads them through
``inference.imaging.load``, the same function screening uses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from inference.errors import InferenceError

logger = logging.getLogger(__name__)

LEVEL_ORDER: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
LUMBAR: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5")
CLASS_NAMES: tuple[str, ...] = ("normal", "old", "fresh")
DEFORMITIES: tuple[str, ...] = ("none", "wedge", "biconcave", "crush")
CORNER_NAMES: tuple[str, ...] = (
    "superior_anterior",
    "superior_middle",
    "superior_posterior",
    "inferior_anterior",
    "inferior_middle",
    "inferior_posterior",
)
IMAGE_SUFFIXES: tuple[str, ...] = (".dcm", ".dicom", ".png", ".jpg", ".jpeg")


class LabelledDataError(InferenceError):
    """A labelled folder or one of its label files is missing or malformed."""

    code = "labelled_data_invalid"


def _invalid(path: Path, problem_en: str, problem_ja: str) -> LabelledDataError:
    return LabelledDataError(
        f"{path}: {problem_en}. Fix the file as docs/data-format.md describes and load the folder again.",
        f"{path}: {problem_ja}。docs/data-format.md の形式に合わせて修正し、もう一度読み込んでください。",
    )


@dataclass(frozen=True)
class LevelLabel:
    """The reference for one vertebra of one image.

    ``box`` is [x1, y1, x2, y2] in image pixels; when the label gives only
    corner points it is their bounding box. ``vertebra_class`` is None for a
    level without a reference class (always allowed for T12 and S1, and
    written as ``"class": null`` for a lumbar level that was not read).
    """

    level: str
    box: tuple[float, float, float, float]
    vertebra_class: str | None
    corners: dict[str, tuple[float, float]] | None = None
    class_reader2: str | None = None
    deformity: str | None = None
    genant_grade: int | None = None


@dataclass(frozen=True)
class LabelledImage:
    """One image of a labelled folder with its references."""

    image_id: str
    patient_id: str
    image_path: Path
    label_path: Path
    levels: dict[str, LevelLabel]
    facing: str | None = None  # "left" or "right" when the label states it
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def lumbar_levels(self) -> list[LevelLabel]:
        """Return the L1 to L5 labels that carry a class, cranial first."""
        return [
            self.levels[name] for name in LUMBAR if name in self.levels and self.levels[name].vertebra_class
        ]


@dataclass(frozen=True)
class LabelledDataset:
    """The images of one labelled folder (or a subset of it), in image-id order."""

    root: Path
    images: tuple[LabelledImage, ...]

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[LabelledImage]:
        return iter(self.images)

    @property
    def patient_ids(self) -> tuple[str, ...]:
        """Return the distinct patient ids in first-seen order."""
        return tuple(dict.fromkeys(image.patient_id for image in self.images))

    def class_counts(self) -> dict[str, int]:
        """Return the number of labelled L1 to L5 vertebrae per class."""
        counts = dict.fromkeys(CLASS_NAMES, 0)
        for image in self.images:
            for label in image.lumbar_levels():
                counts[label.vertebra_class or ""] += 1
        return counts

    def subset(self, patient_ids: Sequence[str]) -> LabelledDataset:
        """Return the images of ``patient_ids``."""
        selected = set(patient_ids)
        return LabelledDataset(self.root, tuple(image for image in self.images if image.patient_id in selected))


@dataclass(frozen=True)
class Splits:
    """Training, validation and test subsets with no patient on two sides."""

    train: LabelledDataset
    validation: LabelledDataset
    test: LabelledDataset
    seed: int
    fractions: tuple[float, float, float]

    def as_dict(self) -> dict[str, LabelledDataset]:
        """Return the subsets keyed "train", "validation" and "test"."""
        return {"train": self.train, "validation": self.validation, "test": self.test}


def load_labelled_folder(path: str | Path) -> LabelledDataset:
    """Read and check every label of a labelled folder; raise ``LabelledDataError`` on the first problem."""
    root = Path(path)
    images_dir, labels_dir = root / "images", root / "labels"
    for folder in (images_dir, labels_dir):
        if not folder.is_dir():
            raise _invalid(
                folder,
                "folder not found; a labelled folder needs images/ and labels/",
                "フォルダが見つかりません（images/ と labels/ が必要です）",
            )

    image_files: dict[str, list[Path]] = {}
    for image_path in sorted(images_dir.iterdir()):
        if image_path.suffix.lower() in IMAGE_SUFFIXES:
            image_files.setdefault(image_path.stem, []).append(image_path)

    images = []
    label_ids = set()
    for label_path in sorted(labels_dir.glob("*.json")):
        image_id = label_path.stem
        label_ids.add(image_id)
        candidates = image_files.get(image_id, [])
        if not candidates:
            raise _invalid(
                label_path,
                f"no image images/{image_id}.<dcm|png|jpg> for this label",
                f"このラベルに対応する画像 images/{image_id}.<dcm|png|jpg> がありません",
            )
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise _invalid(
                label_path,
                f"several images share the id {image_id} ({names}); keep one",
                f"同じ ID {image_id} の画像が複数あります（{names}）。1 つにしてください",
            )
        images.append(_parse_label(label_path, candidates[0]))

    unlabelled = sorted(set(image_files) - label_ids)
    if unlabelled:
        raise _invalid(
            images_dir / image_files[unlabelled[0]][0].name,
            f"{len(unlabelled)} image(s) have no label, first {unlabelled[0]}; add labels/{unlabelled[0]}.json or move the image out",
            f"ラベルのない画像が {len(unlabelled)} 件あります（最初は {unlabelled[0]}）。labels/{unlabelled[0]}.json を追加するか画像を移動してください",
        )
    if not images:
        raise _invalid(labels_dir, "no label files (*.json) found", "ラベルファイル（*.json）がありません")
    logger.info(
        "loaded %d labelled images of %d patients from %s",
        len(images),
        len({i.patient_id for i in images}),
        root,
    )
    return LabelledDataset(root, tuple(images))


def _parse_label(label_path: Path, image_path: Path) -> LabelledImage:
    try:
        data = json.loads(label_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _invalid(
            label_path, f"not readable as JSON ({error})", f"JSON として読めません（{error}）"
        ) from error
    if not isinstance(data, dict):
        raise _invalid(
            label_path,
            "the top level must be a JSON object",
            "最上位は JSON オブジェクトでなければなりません",
        )

    image_id = data.get("image_id", label_path.stem)
    if image_id != label_path.stem:
        raise _invalid(
            label_path,
            f"image_id {image_id!r} differs from the file name {label_path.stem!r}",
            f"image_id {image_id!r} がファイル名 {label_path.stem!r} と異なります",
        )
    patient_id = data.get("patient_id")
    if not isinstance(patient_id, str) or not patient_id.strip():
        raise _invalid(
            label_path,
            "patient_id is missing or empty; the split by patient needs it",
            "patient_id がないか空です（患者単位の分割に必要です）",
        )
    facing = data.get("facing")
    if facing not in (None, "left", "right"):
        raise _invalid(
            label_path,
            f'facing {facing!r} is invalid; use "left" or "right"',
            f'facing {facing!r} は無効です（"left" か "right"）',
        )
    levels_data = data.get("levels")
    if not isinstance(levels_data, dict) or not levels_data:
        raise _invalid(
            label_path,
            "levels is missing or empty; give an object keyed by level (T12, L1 ... L5, S1)",
            "levels がないか空です（T12, L1 ... L5, S1 をキーとするオブジェクト）",
        )

    levels = {}
    for name in sorted(levels_data, key=lambda n: LEVEL_ORDER.index(n) if n in LEVEL_ORDER else 99):
        if name not in LEVEL_ORDER:
            raise _invalid(
                label_path,
                f"unknown level {name!r}; use one of {', '.join(LEVEL_ORDER)}",
                f"不明な椎体レベル {name!r}（{', '.join(LEVEL_ORDER)} のいずれか）",
            )
        levels[name] = _parse_level(label_path, name, levels_data[name])
    _check_order(label_path, levels)
    extra = {
        key: value for key, value in data.items() if key not in {"image_id", "patient_id", "facing", "levels"}
    }
    return LabelledImage(image_id, patient_id.strip(), image_path, label_path, levels, facing, extra)


def _parse_level(label_path: Path, name: str, entry: Any) -> LevelLabel:
    where = f"levels.{name}"
    if not isinstance(entry, dict):
        raise _invalid(
            label_path, f"{where} must be an object", f"{where} はオブジェクトでなければなりません"
        )
    corners = _parse_corners(label_path, where, entry.get("corners"))
    box = _parse_box(label_path, where, entry.get("box"))
    if box is None and corners is None:
        raise _invalid(
            label_path,
            f"{where} has neither box nor corners; give at least one",
            f"{where} に box も corners もありません（どちらかが必要です）",
        )
    if box is None:
        assert corners is not None  # checked just above
        xs = [point[0] for point in corners.values()]
        ys = [point[1] for point in corners.values()]
        box = (min(xs), min(ys), max(xs), max(ys))

    if "class" not in entry and name in LUMBAR:
        raise _invalid(
            label_path,
            f"{where}.class is missing; use normal, old, fresh, or null when not read",
            f"{where}.class がありません（normal, old, fresh、未読影なら null）",
        )
    vertebra_class = _parse_class(label_path, f"{where}.class", entry.get("class"))
    reader2 = _parse_class(label_path, f"{where}.class_reader2", entry.get("class_reader2"))
    deformity = entry.get("deformity")
    if deformity is not None and deformity not in DEFORMITIES:
        raise _invalid(
            label_path,
            f"{where}.deformity {deformity!r} is invalid; use one of {', '.join(DEFORMITIES)}",
            f"{where}.deformity {deformity!r} は無効です（{', '.join(DEFORMITIES)}）",
        )
    grade = entry.get("genant_grade")
    if grade is not None and (not isinstance(grade, int) or isinstance(grade, bool) or not 0 <= grade <= 3):
        raise _invalid(
            label_path,
            f"{where}.genant_grade {grade!r} is invalid; use an integer from 0 to 3",
            f"{where}.genant_grade {grade!r} は無効です（0 から 3 の整数）",
        )
    return LevelLabel(name, box, vertebra_class, corners, reader2, deformity, grade)


def _parse_class(label_path: Path, where: str, value: Any) -> str | None:
    if value is None or value in CLASS_NAMES:
        return value
    raise _invalid(
        label_path,
        f"{where} {value!r} is invalid; use normal, old, fresh or null",
        f"{where} {value!r} は無効です（normal, old, fresh, null）",
    )


def _parse_box(label_path: Path, where: str, value: Any) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 4 and all(_is_number(v) for v in value)):
        raise _invalid(
            label_path,
            f"{where}.box {value!r} must be [x1, y1, x2, y2] in pixels",
            f"{where}.box {value!r} は画素単位の [x1, y1, x2, y2] でなければなりません",
        )
    x1, y1, x2, y2 = (float(v) for v in value)
    if not (x2 > x1 and y2 > y1) or min(x1, y1) < 0:
        raise _invalid(
            label_path,
            f"{where}.box {value!r} is invalid: it needs 0 <= x1 < x2 and 0 <= y1 < y2",
            f"{where}.box {value!r} は無効です（0 <= x1 < x2 かつ 0 <= y1 < y2）",
        )
    return x1, y1, x2, y2


def _parse_corners(label_path: Path, where: str, value: Any) -> dict[str, tuple[float, float]] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(CORNER_NAMES):
        raise _invalid(
            label_path,
            f"{where}.corners must name exactly the six points {', '.join(CORNER_NAMES)}",
            f"{where}.corners には 6 点 {', '.join(CORNER_NAMES)} がちょうど必要です",
        )
    corners = {}
    for name in CORNER_NAMES:
        point = value[name]
        if not (isinstance(point, list) and len(point) == 2 and all(_is_number(v) for v in point)):
            raise _invalid(
                label_path,
                f"{where}.corners.{name} {point!r} must be [x, y] in pixels",
                f"{where}.corners.{name} {point!r} は画素単位の [x, y] でなければなりません",
            )
        corners[name] = (float(point[0]), float(point[1]))
    return corners


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _check_order(label_path: Path, levels: dict[str, LevelLabel]) -> None:
    """Reject labels whose levels are not in cranio-caudal order (a swapped level name)."""
    centres = [(name, (label.box[1] + label.box[3]) / 2) for name, label in levels.items()]
    for (upper, upper_y), (lower, lower_y) in pairwise(centres):
        if lower_y <= upper_y:
            raise _invalid(
                label_path,
                f"level {lower} lies above {upper}; check the level names",
                f"{lower} が {upper} より上にあります。レベル名を確認してください",
            )


def split_by_patient(
    dataset: LabelledDataset, *, seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> Splits:
    """Split ``dataset`` into training, validation and test sets by patient.

    Patients are grouped by their most serious lumbar class (fresh, then old,
    then normal) and each group is shuffled with ``seed`` and divided by
    ``fractions``, so every side gets a similar share of fractured patients.
    All images of a patient land on the same side.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions {fractions} must be three non-negative numbers that sum to 1")
    rng = np.random.default_rng(seed)
    worst: dict[str, int] = {}
    for image in dataset.images:
        rank = max(
            (CLASS_NAMES.index(label.vertebra_class or "normal") for label in image.lumbar_levels()),
            default=0,
        )
        worst[image.patient_id] = max(worst.get(image.patient_id, 0), rank)

    sides: list[list[str]] = [[], [], []]
    carry = np.zeros(3)
    for rank in (2, 1, 0):
        group = sorted(patient for patient, value in worst.items() if value == rank)
        rng.shuffle(group)
        counts, carry = _allocate(len(group), np.asarray(fractions, dtype=float), carry)
        start = 0
        for side, count in enumerate(counts):
            sides[side].extend(group[start : start + count])
            start += count
    _fill_empty_sides(sides, fractions)

    train, validation, test = (dataset.subset(side) for side in sides)
    logger.info(
        "split %d patients by patient with seed %d: %d train, %d validation, %d test",
        len(worst),
        seed,
        len(sides[0]),
        len(sides[1]),
        len(sides[2]),
    )
    return Splits(
        train, validation, test, seed, (float(fractions[0]), float(fractions[1]), float(fractions[2]))
    )


def _allocate(total: int, fractions: np.ndarray, carry: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Divide ``total`` items by ``fractions`` with largest remainders; return counts and the rounding left over.

    The left-over rounding is added to the next group, so that over all groups
    the totals follow ``fractions`` as closely as whole patients allow.
    """
    target = fractions * total + carry
    counts = np.clip(np.floor(target + 1e-9), 0, None).astype(int)
    while counts.sum() > total:
        excess = np.where(counts > 0, counts - target, -np.inf)
        counts[int(np.argmax(excess))] -= 1
    while counts.sum() < total:
        counts[int(np.argmax(target - counts))] += 1
    return [int(c) for c in counts], target - counts


def _fill_empty_sides(sides: list[list[str]], fractions: Sequence[float]) -> None:
    """Give every side with a positive fraction at least one patient when there are enough patients."""
    needed = [index for index, fraction in enumerate(fractions) if fraction > 0]
    if sum(len(side) for side in sides) < len(needed):
        return
    for index in needed:
        if not sides[index]:
            donor = max(range(3), key=lambda i: len(sides[i]))
            sides[index].append(sides[donor].pop())
