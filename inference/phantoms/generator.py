"""Generation of phantom radiographs with their truth, one image or a whole labelled folder."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.phantoms.acquisition import FILE_FORMATS, Acquisition, sample_acquisition
from inference.phantoms.anatomy import FRACTURE_LEVELS, PatientAnatomy, sample_patient
from inference.phantoms.geometry import PlacedVertebra, SpinePose, place_spine
from inference.phantoms.render import render
from inference.phantoms.truth import TRUTH_FORMAT_VERSION, build_truth
from inference.phantoms.writers import DicomIdentity, available_dicom_encodings, stored_values, write_image

logger = logging.getLogger(__name__)

DEFAULT_CLASS_MIX: dict[str, float] = {"normal": 0.6, "old": 0.2, "fresh": 0.2}


@dataclass(frozen=True)
class PhantomImage:
    """One rendered phantom before it is written: stored values, truth and settings."""

    image_id: str
    values: np.ndarray  # uint16 detector values as they go into the file
    acquisition: Acquisition
    spacing_mm: float
    vertebrae: tuple[PlacedVertebra, ...]
    window_region: tuple[slice, slice]  # the spine and the tissue around it: sets the display window
    distractors: dict[str, Any]


@dataclass(frozen=True)
class DatasetInfo:
    """Summary of a generated phantom folder."""

    root: Path
    seed: int
    patients: int
    images: int
    image_files: tuple[Path, ...]
    label_files: tuple[Path, ...]
    class_counts: dict[str, int]  # L1 to L5 vertebrae per class
    encodings: dict[str, int]  # images per file encoding


def patient_code(index: int) -> str:
    """Return the phantom patient id for a zero-based index ("PHANTOM-0001" for 0)."""
    return f"PHANTOM-{index + 1:04d}"


def generate_patient(
    seed: int, patient_index: int, class_mix: dict[str, float] | None = None
) -> PatientAnatomy:
    """Draw the anatomy of phantom patient ``patient_index`` for ``seed``."""
    mix = _checked_class_mix(class_mix or DEFAULT_CLASS_MIX)
    return sample_patient(np.random.default_rng([seed, patient_index, 0]), patient_code(patient_index), mix)


def generate_image(
    anatomy: PatientAnatomy,
    *,
    seed: int,
    patient_index: int,
    image_index: int,
    formats: Sequence[str] = ("dicom",),
    image_size: int | None = None,
    acquisition_overrides: Mapping[str, Any] | None = None,
) -> PhantomImage:
    """Render image ``image_index`` of one patient; the same arguments give the same pixels.

    ``acquisition_overrides`` replaces fields of the drawn ``Acquisition``, for
    example ``{"photometric": "MONOCHROME1", "bits_stored": 12}``.
    """
    rng = np.random.default_rng([seed, patient_index, image_index + 1])
    acquisition = sample_acquisition(rng, tuple(formats), image_size)
    if acquisition_overrides:
        acquisition = dataclasses.replace(acquisition, **acquisition_overrides)
    placement_seed = [seed, patient_index, image_index + 1, 1]

    # Lay the spine out at 1 pixel per mm to learn its extent, then choose the field of view.
    unit_pose = SpinePose(
        pixels_per_mm=1.0,
        origin=(0.0, 0.0),
        lordosis_mm=acquisition.lordosis_mm,
        sacral_tilt=np.radians(acquisition.sacral_tilt_degrees),
        rotation=np.radians(acquisition.rotation_degrees),
    )
    extent = _spine_extent(place_spine(anatomy, unit_pose, np.random.default_rng(placement_seed)))
    rows = acquisition.rows
    pixels_per_mm = rows / ((extent[3] - extent[1]) * acquisition.field_margin)
    spine_width = (extent[2] - extent[0]) * pixels_per_mm
    columns = max(int(round(rows * acquisition.aspect)), int(np.ceil(spine_width * 1.25)))
    spine_height = (extent[3] - extent[1]) * pixels_per_mm
    # The abdomen in front of the spine is wider than the back behind it.
    left = float(rng.uniform(0.3, 0.6)) * (columns - spine_width)
    top = float(rng.uniform(0.25, 0.75)) * (rows - spine_height)
    pose = dataclasses.replace(
        unit_pose,
        pixels_per_mm=pixels_per_mm,
        origin=(left - extent[0] * pixels_per_mm, top - extent[1] * pixels_per_mm),
    )
    vertebrae = place_spine(anatomy, pose, np.random.default_rng(placement_seed))
    acquisition = _clear_of_spine(acquisition, vertebrae, (rows, columns), pixels_per_mm)

    rendered = render(anatomy, vertebrae, acquisition, (rows, columns), pixels_per_mm, rng)
    window_region = _window_region(vertebrae, rendered.exposed_field)
    values = stored_values(rendered.signal, acquisition, rng)
    return PhantomImage(
        image_id=f"{anatomy.patient_id}-{image_index + 1:02d}",
        values=values,
        acquisition=acquisition,
        spacing_mm=1.0 / pixels_per_mm,
        vertebrae=vertebrae,
        window_region=window_region,
        distractors=rendered.distractors,
    )


def _spine_extent(vertebrae: tuple[PlacedVertebra, ...]) -> tuple[float, float, float, float]:
    """Return the box of all bodies, widened behind them for the posterior elements."""
    boxes = np.array([v.box for v in vertebrae])
    behind = 2.6 * max(v.half_depth for v in vertebrae)
    return (
        float(boxes[:, 0].min()),
        float(boxes[:, 1].min()),
        float(boxes[:, 2].max() + behind),
        float(boxes[:, 3].max()),
    )


def _window_region(
    vertebrae: tuple[PlacedVertebra, ...], exposed_field: tuple[int, int, int, int]
) -> tuple[slice, slice]:
    """Return the spine with the tissue in front of and behind it, inside the exposed field.

    A display window taken here shows the bodies the way a radiographer's
    processing would, instead of spending the grey levels on air and on the
    unexposed border.
    """
    boxes = np.array([v.box for v in vertebrae])
    x1, y1 = boxes[:, 0].min(), boxes[:, 1].min()
    x2, y2 = boxes[:, 2].max(), boxes[:, 3].max()
    width = x2 - x1
    left = max(int(x1 - 0.5 * width), exposed_field[0])
    right = min(int(x2 + 0.8 * width), exposed_field[2])
    top = max(int(y1), exposed_field[1])
    bottom = min(int(y2), exposed_field[3])
    return slice(top, bottom), slice(left, right)


def _clear_of_spine(
    acquisition: Acquisition,
    vertebrae: tuple[PlacedVertebra, ...],
    shape: tuple[int, int],
    pixels_per_mm: float,
) -> Acquisition:
    """Narrow the collimation so that no blade covers a vertebral body, with 5 mm to spare."""
    rows, columns = shape
    boxes = np.array([v.box for v in vertebrae])
    spare = 5.0 * pixels_per_mm
    left, top, right, bottom = acquisition.collimation
    left = min(left, max(boxes[:, 0].min() - spare, 0.0) / columns)
    top = min(top, max(boxes[:, 1].min() - spare, 0.0) / rows)
    right = min(right, max(columns - boxes[:, 2].max() - spare, 0.0) / columns)
    bottom = min(bottom, max(rows - boxes[:, 3].max() - spare, 0.0) / rows)
    return dataclasses.replace(
        acquisition, collimation=(float(left), float(top), float(right), float(bottom))
    )


def write_phantom(
    phantom: PhantomImage,
    anatomy: PatientAnatomy,
    root: Path,
    *,
    seed: int,
    image_index: int,
    encoding: str,
) -> tuple[Path, Path]:
    """Write the image under ``root/images`` and its truth under ``root/labels``; return both paths."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    number = anatomy.patient_id.rsplit("-", 1)[-1]
    identity = DicomIdentity(
        patient_id=anatomy.patient_id,
        patient_name=f"PHANTOM^{number}",
        patient_sex=anatomy.sex,
        patient_age=anatomy.age,
        study_date=f"2026{(int(number) % 12) + 1:02d}{(int(number) % 28) + 1:02d}",
        image_number=image_index + 1,
        uid_entropy=(str(seed), anatomy.patient_id, phantom.image_id),
    )
    written = write_image(
        root / "images" / phantom.image_id,
        phantom.values,
        phantom.acquisition,
        phantom.window_region,
        phantom.spacing_mm,
        identity,
        encoding,
    )
    truth = build_truth(phantom, anatomy, written, root, seed=seed)
    label_path = root / "labels" / f"{phantom.image_id}.json"
    label_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return written.path, label_path


def _choose_encoding(phantom: PhantomImage, encodings: Sequence[str], rng: np.random.Generator) -> str:
    if phantom.acquisition.file_format == "dicom":
        return encodings[int(rng.integers(len(encodings)))]
    if phantom.acquisition.file_format == "png":
        return "png16" if rng.random() < 0.5 else "png8"
    return "jpeg"


def _checked_class_mix(class_mix: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(class_mix) - {"normal", "old", "fresh"})
    if unknown:
        raise ValueError(f"class mix names unknown classes {unknown}; use normal, old and fresh")
    if any(value < 0 for value in class_mix.values()) or sum(class_mix.values()) <= 0:
        raise ValueError(f"class mix {class_mix} must have non-negative shares with a positive sum")
    return {name: float(value) for name, value in class_mix.items()}


def generate_dataset(
    out_dir: Path,
    *,
    patients: int,
    seed: int,
    images_per_patient: tuple[int, int] = (1, 2),
    formats: Sequence[str] = ("dicom",),
    class_mix: dict[str, float] | None = None,
    image_size: int | None = None,
    dicom_encodings: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DatasetInfo:
    """Write a labelled folder of phantoms: ``images/<image_id>.*`` and ``labels/<image_id>.json``.

    Each patient gets between ``images_per_patient[0]`` and ``[1]`` images
    (inclusive). ``class_mix`` gives the expected share of L1 to L5 vertebrae
    in each class. ``image_size`` fixes the number of rows; by default it is
    drawn from 896 to 1280. ``progress`` is called with 1 after each image.
    """
    out_dir = Path(out_dir)
    mix = _checked_class_mix(class_mix or DEFAULT_CLASS_MIX)
    bad_formats = sorted(set(formats) - set(FILE_FORMATS))
    if bad_formats or not formats:
        raise ValueError(f"formats {list(formats)} are not valid; choose from {list(FILE_FORMATS)}")
    if patients < 1:
        raise ValueError(f"patients must be at least 1, got {patients}")
    low, high = images_per_patient
    if not 1 <= low <= high:
        raise ValueError(f"images per patient {images_per_patient} must satisfy 1 <= low <= high")
    available = available_dicom_encodings()
    encodings = tuple(dicom_encodings) if dicom_encodings else available
    missing = sorted(set(encodings) - set(available))
    if missing:
        raise ValueError(f"DICOM encodings {missing} cannot be written here; available: {list(available)}")

    image_files: list[Path] = []
    label_files: list[Path] = []
    classes: Counter[str] = Counter()
    used_encodings: Counter[str] = Counter()
    for patient_index in range(patients):
        anatomy = generate_patient(seed, patient_index, mix)
        classes.update(v.vertebra_class for v in anatomy.vertebrae if v.level in FRACTURE_LEVELS)
        count_rng = np.random.default_rng([seed, patient_index, 0, 1])
        for image_index in range(int(count_rng.integers(low, high + 1))):
            phantom = generate_image(
                anatomy,
                seed=seed,
                patient_index=patient_index,
                image_index=image_index,
                formats=formats,
                image_size=image_size,
            )
            encoding_rng = np.random.default_rng([seed, patient_index, image_index + 1, 3])
            encoding = _choose_encoding(phantom, encodings, encoding_rng)
            image_path, label_path = write_phantom(
                phantom, anatomy, out_dir, seed=seed, image_index=image_index, encoding=encoding
            )
            image_files.append(image_path)
            label_files.append(label_path)
            used_encodings[encoding] += 1
            if progress is not None:
                progress(1)

    info = DatasetInfo(
        root=out_dir,
        seed=seed,
        patients=patients,
        images=len(image_files),
        image_files=tuple(image_files),
        label_files=tuple(label_files),
        class_counts={name: classes.get(name, 0) for name in ("normal", "old", "fresh")},
        encodings=dict(sorted(used_encodings.items())),
    )
    _write_summary(info, mix, formats, images_per_patient, image_size)
    logger.info("wrote %d phantom images of %d patients to %s", info.images, patients, out_dir)
    return info


def _write_summary(
    info: DatasetInfo,
    mix: dict[str, float],
    formats: Sequence[str],
    images_per_patient: tuple[int, int],
    image_size: int | None,
) -> None:
    summary = {
        "truth_format_version": TRUTH_FORMAT_VERSION,
        "generator": "inference.phantoms",
        "seed": info.seed,
        "patients": info.patients,
        "images": info.images,
        "images_per_patient": list(images_per_patient),
        "formats": list(formats),
        "image_size": image_size,
        "class_mix": mix,
        "class_counts": info.class_counts,
        "encodings": info.encodings,
    }
    (info.root / "dataset.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
