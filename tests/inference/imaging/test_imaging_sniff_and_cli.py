"""Deciding the file type from content, and the inspect command."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.cli import main
from inference.errors import NotAnImageError, UnsupportedImageError
from inference.imaging.sniff import looks_like_dicom_without_preamble, sniff


@pytest.mark.parametrize(
    ("head", "file_type", "has_preamble"),
    [
        (b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL", "dicom", True),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "png", True),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "jpeg", True),
        (struct.pack("<HH", 0x0008, 0x0005) + b"CS" + struct.pack("<H", 10) + b"ISO_IR 100", "dicom", False),
        (struct.pack("<HHI", 0x0008, 0x0000, 4) + b"\x00" * 40, "dicom", False),
        (struct.pack(">HH", 0x0008, 0x0016) + b"UI" + struct.pack(">H", 26) + b"1" * 26, "dicom", False),
    ],
)
def test_sniff_recognises_images(head: bytes, file_type: str, has_preamble: bool) -> None:
    result = sniff(head, file_size=10_000)

    assert result.file_type == file_type
    assert result.has_preamble is has_preamble


@pytest.mark.parametrize(
    "head",
    [
        struct.pack("<HH", 0x0010, 0x0010) + b"PN" + b"\x00" * 20,  # group 0010 first: not plausible
        struct.pack("<HH", 0x0008, 0x0016) + b"zz" + b"\x00" * 20,  # lower-case VR
        struct.pack("<HHI", 0x0008, 0x0016, 5_000_000) + b"\x00" * 20,  # implicit length beyond the file
    ],
)
def test_implausible_first_element_is_not_dicom(head: bytes) -> None:
    assert looks_like_dicom_without_preamble(head, file_size=10_000) is False


@pytest.mark.parametrize(
    ("head", "error_type", "kind"),
    [
        (b"GIF89a" + b"\x00" * 20, UnsupportedImageError, "GIF"),
        (b"BM" + b"\x00" * 40, UnsupportedImageError, "BMP"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 20, UnsupportedImageError, "JPEG 2000"),
        (b"Rar!\x1a\x07\x00" + b"\x00" * 20, NotAnImageError, "RAR"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, NotAnImageError, "gzip"),
        (b"<?xml version='1.0'?><report/>", NotAnImageError, "XML"),
        (b"PatientID,Level,Class\n1,L1,normal\n", NotAnImageError, "text"),
    ],
)
def test_sniff_names_other_file_kinds(head: bytes, error_type: type[Exception], kind: str) -> None:
    with pytest.raises(error_type) as caught:
        sniff(head, file_size=len(head))

    assert kind in caught.value.message_en


def test_inspect_prints_json_and_writes_png(
    tmp_path: Path, write_dicom, gradient_image, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_dicom(gradient_image(64, 48))
    out = tmp_path / "rendering.png"

    status = main(["inspect", str(path), "--png", str(out)])

    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["shape"] == [64, 48]
    assert report["header"]["body_part_examined"] == "LSPINE"
    assert report["provenance"]["decoder"] == "pydicom-native"
    assert report["spacing"]["source"] == "pixel_spacing"
    assert np.asarray(Image.open(out)).shape == (64, 48)


def test_inspect_reads_one_frame(capsys: pytest.CaptureFixture[str], testdata) -> None:
    status = main(["inspect", testdata("emri_small.dcm"), "--frame", "3"])

    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["provenance"]["frame_index"] == 3
    assert report["provenance"]["frame_policy"] == "frame 3 of 10, chosen by the caller"


def test_inspect_prints_error_json_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "page.dcm"
    path.write_text("<html><body>login</body></html>")

    status = main(["inspect", str(path)])

    report = json.loads(capsys.readouterr().out)
    assert status == 2
    assert report["error"]["code"] == "not_an_image"
    assert "HTML" in report["error"]["message_ja"]


def test_inspect_applies_pixel_limit(write_dicom, gradient_image, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_dicom(gradient_image(64, 48))

    status = main(["inspect", str(path), "--max-megapixels", "0.001"])

    assert status == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "image_too_large"


def test_inspect_reports_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["inspect", str(tmp_path / "absent.dcm")])

    report = json.loads(capsys.readouterr().out)
    assert status == 2
    assert report["error"]["code"] == "file_not_readable"
    assert "absent.dcm" in report["error"]["message_en"]
