"""Pixel spacing: which attribute is used, and malformed values."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataelem import DataElement

from inference.imaging import load
from inference.imaging.spacing import parse_spacing_pair

WriteDicom = Callable[..., Path]

PIXEL_SPACING_TAG = 0x00280030
IMAGER_PIXEL_SPACING_TAG = 0x00181164
MAGNIFICATION_TAG = 0x00181114  # Estimated Radiographic Magnification Factor


def _write_raw_spacing(
    write_dicom: WriteDicom,
    make_dataset,
    *,
    pixel_spacing: str | None,
    imager_spacing: str | None = None,
    magnification: str | None = None,
) -> Path:
    """Write a DICOM file whose spacing attributes hold these exact strings, valid or not."""
    ds = make_dataset(np.arange(64 * 48, dtype=np.uint16).reshape(64, 48), PixelSpacing=None)
    # pydicom rejects malformed DS values when they are set, so a same-length valid
    # placeholder is written and its bytes are then replaced by the raw string.
    replacements: list[tuple[bytes, bytes]] = []
    for tag, value in (
        (PIXEL_SPACING_TAG, pixel_spacing),
        (IMAGER_PIXEL_SPACING_TAG, imager_spacing),
        (MAGNIFICATION_TAG, magnification),
    ):
        if value is None:
            continue
        raw = value.encode("ascii")
        raw += b" " * (len(raw) % 2)
        placeholder = b"1" * len(raw)
        ds.add(DataElement(tag, "DS", placeholder.decode("ascii")))
        element_header = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"DS" + struct.pack("<H", len(raw))
        replacements.append((element_header + placeholder, element_header + raw))
    path = write_dicom(ds)
    data = path.read_bytes()
    for old, new in replacements:
        assert data.count(old) == 1
        data = data.replace(old, new)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.143\\0.143", (0.143, 0.143)),
        ("0.1\\0.2", (0.1, 0.2)),
        (" 0.15 \\ 0.15 ", (0.15, 0.15)),
        ("0.143,0.143", (0.143, 0.143)),
        ("1e-1\\1e-1", (0.1, 0.1)),
    ],
)
def test_valid_spacing_is_parsed(text: str, expected: tuple[float, float]) -> None:
    pair, _note = parse_spacing_pair(text)

    assert pair == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "0,143",
        "0,143\\0,143",
        "0\\0",
        "0.000\\0.000",
        "-0.1\\0.1",
        "nan\\0.1",
        "inf\\inf",
        "0.1",
        "0.1\\0.1\\0.1",
        "",
        "abc\\def",
        "25\\25",
    ],
)
def test_malformed_spacing_is_rejected(text: str) -> None:
    pair, _note = parse_spacing_pair(text)

    assert pair is None


def test_comma_separator_is_noted() -> None:
    _pair, note = parse_spacing_pair("0.143,0.143")

    assert note == "comma read as the value separator"


def test_pixel_spacing_is_preferred(write_dicom: WriteDicom, make_dataset) -> None:
    path = _write_raw_spacing(write_dicom, make_dataset, pixel_spacing="0.1\\0.12", imager_spacing="0.2\\0.2")

    spacing = load(path).spacing

    assert spacing.source == "pixel_spacing"
    assert spacing.row_mm == pytest.approx(0.1)
    assert spacing.column_mm == pytest.approx(0.12)


def test_imager_spacing_is_marked_as_detector_spacing(write_dicom: WriteDicom, make_dataset) -> None:
    path = _write_raw_spacing(write_dicom, make_dataset, pixel_spacing=None, imager_spacing="0.2\\0.2")

    radiograph = load(path)

    assert radiograph.spacing.source == "imager_pixel_spacing"
    assert radiograph.spacing.row_mm == pytest.approx(0.2)
    assert "spacing_at_detector" in {warning.code for warning in radiograph.warnings}


def test_imager_spacing_is_corrected_by_magnification(write_dicom: WriteDicom, make_dataset) -> None:
    path = _write_raw_spacing(
        write_dicom, make_dataset, pixel_spacing=None, imager_spacing="0.2\\0.2", magnification="1.25"
    )

    radiograph = load(path)

    assert radiograph.spacing.source == "imager_pixel_spacing_corrected"
    assert radiograph.spacing.row_mm == pytest.approx(0.16)
    assert "spacing_at_detector" not in {warning.code for warning in radiograph.warnings}


@pytest.mark.parametrize("magnification", ["0.5", "nan", "abc", "1.1\\1.2"])
def test_invalid_magnification_is_ignored(magnification: str, write_dicom: WriteDicom, make_dataset) -> None:
    path = _write_raw_spacing(
        write_dicom, make_dataset, pixel_spacing=None, imager_spacing="0.2\\0.2", magnification=magnification
    )

    assert load(path).spacing.source == "imager_pixel_spacing"


@pytest.mark.parametrize("malformed", ["0,143", "0\\0", "-0.1\\0.1", "nan\\nan", "0.1\\0.1\\0.1", "0.1"])
def test_malformed_pixel_spacing_falls_back_to_imager_spacing(
    malformed: str, write_dicom: WriteDicom, make_dataset
) -> None:
    path = _write_raw_spacing(write_dicom, make_dataset, pixel_spacing=malformed, imager_spacing="0.2\\0.2")

    radiograph = load(path)

    assert radiograph.spacing.source == "imager_pixel_spacing"
    malformed_warning = next(
        warning for warning in radiograph.warnings if warning.code == "spacing_malformed"
    )
    assert "Pixel Spacing" in malformed_warning.message_en
    assert malformed in malformed_warning.message_en


def test_comma_separated_pixel_spacing_is_read(write_dicom: WriteDicom, make_dataset) -> None:
    path = _write_raw_spacing(write_dicom, make_dataset, pixel_spacing="0.143,0.143")

    radiograph = load(path)

    assert radiograph.spacing.source == "pixel_spacing"
    assert radiograph.spacing.row_mm == pytest.approx(0.143)
    assert any("comma" in note for note in radiograph.provenance.notes)


def test_no_spacing_is_unknown(write_dicom: WriteDicom, make_dataset) -> None:
    path = _write_raw_spacing(write_dicom, make_dataset, pixel_spacing=None)

    radiograph = load(path)

    assert radiograph.spacing.source == "unknown"
    assert radiograph.spacing.row_mm is None
    assert "spacing_unknown" in {warning.code for warning in radiograph.warnings}
