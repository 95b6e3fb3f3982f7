"""Which way the patient faces: read from the header, mirrored for the models, recorded in the result."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from screening_helpers import make_radiograph, spine_image

from inference.crops import crop_square, model_crop
from inference.imaging import load
from inference.orientation import Orientation, resolve_orientation, side_from_patient_orientation
from inference.pipeline import LoadedModels, classify_detections, screen
from inference.result import ENSEMBLE, Box, Detection


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("P\\F", "left"),
        ("A\\F", "right"),
        ("a\\f", "right"),
        ("PF\\F", "left"),
        (" AH \\F", "right"),
        ("L\\F", None),  # a frontal film
        ("AP\\F", None),  # contradictory
        ("", None),
        (None, None),
    ],
)
def test_patient_orientation_gives_anterior_side(value: str | None, expected: str | None) -> None:
    assert side_from_patient_orientation(value) == expected


def test_stated_facing_overrides_header() -> None:
    orientation = resolve_orientation(stated_facing="right", patient_orientation="P\\F")

    assert orientation == Orientation("right", "stated")


def test_missing_orientation_is_assumed_left() -> None:
    orientation = resolve_orientation(stated_facing=None, patient_orientation="L\\F")

    assert orientation == Orientation("left", "assumed")
    assert not orientation.mirrored_for_models


def test_phantom_dicom_header_reads_patient_orientation(phantom_dicom: Path) -> None:
    radiograph = load(phantom_dicom)

    assert radiograph.header.patient_orientation == "P\\F"


def test_model_crop_mirrors_patient_facing_right() -> None:
    image, detections = spine_image()
    box = detections[0].box

    plain = crop_square(image, box, 0.15, 64)

    assert np.array_equal(model_crop(image, box, 0.15, 64, "left"), plain)
    assert np.array_equal(model_crop(image, box, 0.15, 64, "right"), plain[:, ::-1])


def _asymmetric_spine() -> tuple[np.ndarray, list[Detection]]:
    """Spine blocks with a bright anterior (left) wall, so a mirror image differs from the original."""
    image, detections = spine_image()
    for detection in detections:
        x1, y1, y2 = int(detection.box.x1), int(detection.box.y1), int(detection.box.y2)
        image[y1:y2, x1 : x1 + 12] = 250
    return image, detections


def _mirror(image: np.ndarray, detections: list[Detection]) -> tuple[np.ndarray, list[Detection]]:
    width = image.shape[1]
    mirrored = [
        replace(d, box=Box(width - d.box.x2, d.box.y1, width - d.box.x1, d.box.y2)) for d in detections
    ]
    return np.ascontiguousarray(image[:, ::-1]), mirrored


def _facing(image: np.ndarray, patient_orientation: str) -> object:
    radiograph = make_radiograph(image)
    return replace(radiograph, header=replace(radiograph.header, patient_orientation=patient_orientation))


def test_film_facing_right_classifies_like_its_mirror(loaded_models: LoadedModels) -> None:
    # Box centres and crop sides are whole pixels here, so the mirrored crops are exact mirrors.
    image, detections = _asymmetric_spine()
    right_image, right_detections = _mirror(image, detections)

    left = classify_detections(_facing(image, "P\\F"), detections, loaded_models)  # type: ignore[arg-type]
    right = classify_detections(_facing(right_image, "A\\F"), right_detections, loaded_models)  # type: ignore[arg-type]

    for on_left, on_right in zip(left.findings, right.findings, strict=True):
        for name, probability in on_left.ensemble_probabilities.items():
            assert on_right.ensemble_probabilities[name] == pytest.approx(probability, abs=1e-5)
        for region, share in on_left.cam_regions[ENSEMBLE].items():
            assert on_right.cam_regions[ENSEMBLE][region] == pytest.approx(share, abs=1e-4), region


def test_film_facing_right_unmirrored_would_differ(loaded_models: LoadedModels) -> None:
    # Guards the test above: without the header, the mirrored film gives other probabilities.
    image, detections = _asymmetric_spine()
    right_image, right_detections = _mirror(image, detections)

    left = classify_detections(_facing(image, "P\\F"), detections, loaded_models)  # type: ignore[arg-type]
    assumed = classify_detections(make_radiograph(right_image), right_detections, loaded_models)

    differences = [
        abs(a.ensemble_probabilities[name] - b.ensemble_probabilities[name])
        for a, b in zip(left.findings, assumed.findings, strict=True)
        for name in a.ensemble_probabilities
    ]
    assert max(differences) > 1e-4


def test_result_records_anterior_side_and_source(loaded_models: LoadedModels) -> None:
    image, _ = spine_image()

    from_header = screen(_facing(image, "A\\F"), loaded_models)  # type: ignore[arg-type]
    assumed = screen(make_radiograph(image), loaded_models)

    assert from_header.cam_region_geometry["anterior_side"] == "right"
    assert from_header.cam_region_geometry["anterior_side_source"] == "header"
    assert assumed.cam_region_geometry["anterior_side"] == "left"
    assert assumed.cam_region_geometry["anterior_side_source"] == "assumed"
