"""Every phantom file format and DICOM encoding reads back through ``inference.imaging.load``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from inference.imaging import load
from inference.phantoms import available_dicom_encodings, generate_image, generate_patient
from inference.phantoms.generator import write_phantom
from inference.phantoms.writers import DICOM_ENCODINGS

SEED = 21


def _write(root: Path, encoding: str, **overrides: object) -> tuple[Path, dict]:
    anatomy = generate_patient(SEED, 0)
    file_format = {"png8": "png", "png16": "png", "jpeg": "jpeg"}.get(encoding, "dicom")
    image = generate_image(
        anatomy,
        seed=SEED,
        patient_index=0,
        image_index=0,
        image_size=384,
        acquisition_overrides={"file_format": file_format, **overrides},
    )
    image_path, label_path = write_phantom(image, anatomy, root, seed=SEED, image_index=0, encoding=encoding)
    return image_path, json.loads(label_path.read_text(encoding="utf-8"))


def _bone_brighter_than_soft_tissue(rendering: np.ndarray, truth: dict) -> None:
    for name in ("L1", "L2", "L3", "L4", "L5"):
        x1, y1, x2, y2 = truth["levels"][name]["box"]
        width, height = x2 - x1, y2 - y1
        body = rendering[
            int(y1 + 0.3 * height) : int(y2 - 0.3 * height), int(x1 + 0.3 * width) : int(x2 - 0.3 * width)
        ]
        front = rendering[
            int(y1 + 0.3 * height) : int(y2 - 0.3 * height), int(x1 - 0.2 * width) - 4 : int(x1 - 0.2 * width)
        ]
        assert body.mean() > front.mean() + 5, name


def test_every_writable_encoding_is_offered() -> None:
    available = available_dicom_encodings()
    assert {"explicit_vr_little_endian", "implicit_vr_little_endian", "rle_lossless"} <= set(available)
    assert set(available) <= set(DICOM_ENCODINGS)


@pytest.mark.parametrize("encoding", available_dicom_encodings())
def test_dicom_encoding_reads_back_losslessly(tmp_path: Path, encoding: str) -> None:
    path, truth = _write(tmp_path, encoding, bits_stored=12, spacing_tag="PixelSpacing")
    radiograph = load(path)
    dataset = pydicom.dcmread(path)
    expected = generate_image(
        generate_patient(SEED, 0),
        seed=SEED,
        patient_index=0,
        image_index=0,
        image_size=384,
        acquisition_overrides={"file_format": "dicom", "bits_stored": 12, "spacing_tag": "PixelSpacing"},
    ).values
    assert radiograph.provenance.transfer_syntax_uid == str(DICOM_ENCODINGS[encoding])
    # GDCM adds an ImagerPixelSpacing of [1, 1] unless the writer drops its header.
    assert "ImagerPixelSpacing" not in dataset
    assert "PixelSpacing" in dataset
    assert np.array_equal(dataset.pixel_array, expected)
    assert radiograph.shape == (truth["image"]["rows"], truth["image"]["columns"])
    assert radiograph.header.body_part_examined == "LSPINE"
    assert radiograph.header.patient_name == "PHANTOM^0001"
    assert radiograph.spacing.row_mm == pytest.approx(truth["pixel_spacing"]["row_mm"], rel=1e-5)
    assert not radiograph.blocking_warnings
    _bone_brighter_than_soft_tissue(radiograph.rendering, truth)


@pytest.mark.parametrize("encoding", available_dicom_encodings())
def test_dicom_encoding_is_deterministic(tmp_path: Path, encoding: str) -> None:
    first, _ = _write(tmp_path / "a", encoding)
    second, _ = _write(tmp_path / "b", encoding)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("encoding", ["png8", "png16", "jpeg"])
def test_raster_format_reads_back_bone_bright(tmp_path: Path, encoding: str) -> None:
    path, truth = _write(tmp_path, encoding, photometric="MONOCHROME1")
    radiograph = load(path)
    assert radiograph.provenance.file_type == truth["image"]["format"]
    _bone_brighter_than_soft_tissue(radiograph.rendering, truth)


@pytest.mark.parametrize("bits_stored", [12, 14, 16])
def test_monochrome1_renders_bone_bright(tmp_path: Path, bits_stored: int) -> None:
    path, truth = _write(
        tmp_path, "explicit_vr_little_endian", photometric="MONOCHROME1", bits_stored=bits_stored
    )
    radiograph = load(path)
    assert pydicom.dcmread(path).PhotometricInterpretation == "MONOCHROME1"
    assert radiograph.provenance.inverted
    assert radiograph.provenance.bits_stored == bits_stored
    _bone_brighter_than_soft_tissue(radiograph.rendering, truth)


def test_imager_pixel_spacing_is_reported_as_detector_spacing(tmp_path: Path) -> None:
    path, truth = _write(
        tmp_path, "explicit_vr_little_endian", spacing_tag="ImagerPixelSpacing", modality="DX"
    )
    radiograph = load(path)
    assert radiograph.spacing.source.startswith("imager_pixel_spacing")
    assert radiograph.header.modality == "DX"
