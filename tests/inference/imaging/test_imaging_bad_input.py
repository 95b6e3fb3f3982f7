"""Every kind of bad input gives a typed error with an English and a Japanese message."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, RLELossless

from inference.errors import (
    DamagedImageError,
    ImageTooLargeError,
    ImagingError,
    NotAnImageError,
    UnsupportedImageError,
)
from inference.imaging import ImagingLimits, load

GSPS_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.11.1"  # Grayscale Softcopy Presentation State Storage


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _noise(rows: int = 120, columns: int = 100) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(rows, columns), dtype=np.uint8)


def _assert_messages(error: ImagingError, english: str, japanese: str) -> None:
    assert english in error.message_en
    assert japanese in error.message_ja
    assert error.message("ja") == error.message_ja


# ------------------------------------------------------------------ not an image


@pytest.mark.parametrize("suffix", [".dcm", ".png", ".jpg"])
def test_empty_file_is_not_an_image(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"empty{suffix}", b"")

    with pytest.raises(NotAnImageError) as caught:
        load(path)

    _assert_messages(caught.value, "The file is empty", "ファイルが空です")
    assert caught.value.code == "not_an_image"


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("IMG0001.dcm", b"\x00" * 300)
    return buffer.getvalue()


@pytest.mark.parametrize("suffix", [".dcm", ".png"])
@pytest.mark.parametrize(
    ("content", "english", "japanese"),
    [
        (b"<!DOCTYPE html>\n<html><body>Session expired</body></html>", "HTML web page", "HTML"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF document", "PDF"),
        (None, "ZIP archive", "ZIP"),
    ],
)
def test_renamed_document_is_not_an_image(
    tmp_path: Path, suffix: str, content: bytes | None, english: str, japanese: str
) -> None:
    path = _write(tmp_path / f"upload{suffix}", content if content is not None else _zip_bytes())

    with pytest.raises(NotAnImageError) as caught:
        load(path)

    _assert_messages(caught.value, english, japanese)


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "noise.dcm", np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    )

    with pytest.raises(NotAnImageError) as caught:
        load(path)

    _assert_messages(caught.value, "not a DICOM, PNG or JPEG image", "DICOM、PNG、JPEG")


def test_invalid_vr_bytes_are_not_forced(tmp_path: Path) -> None:
    # Group 0008 followed by "ZZ" and a length larger than the file: not a plausible element.
    data = struct.pack("<HH", 0x0008, 0x0016) + b"ZZ" + struct.pack("<H", 0xFFFF) + b"\x01" * 200
    path = _write(tmp_path / "fake.dcm", data)

    with pytest.raises(NotAnImageError):
        load(path)


def test_presentation_state_is_not_an_image(write_dicom: Callable[..., Path], make_dataset) -> None:
    ds = make_dataset(None, SOPClassUID=GSPS_SOP_CLASS, Modality="PR")
    ds.file_meta.MediaStorageSOPClassUID = GSPS_SOP_CLASS
    path = write_dicom(ds)

    with pytest.raises(NotAnImageError) as caught:
        load(path)

    _assert_messages(caught.value, "Grayscale Softcopy Presentation State Storage", "画素データを含みません")


# --------------------------------------------------------------------- unsupported


def test_tiff_renamed_png_is_unsupported(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(_noise()).save(buffer, format="TIFF")
    path = _write(tmp_path / "scan.png", buffer.getvalue())

    with pytest.raises(UnsupportedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "TIFF image", "TIFF 画像")


def test_unknown_transfer_syntax_is_unsupported(write_dicom: Callable[..., Path], gradient_image) -> None:
    path = write_dicom(gradient_image())
    # Replace Explicit VR Little Endian by a same-length UID that no standard defines.
    data = path.read_bytes()
    assert data.count(b"1.2.840.10008.1.2.1\x00") == 1
    path.write_bytes(data.replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.99999.1.2.1\x00"))

    with pytest.raises(UnsupportedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "unknown transfer syntax (1.2.840.99999.1.2.1)", "不明な転送構文")


def test_video_transfer_syntax_is_unsupported(write_dicom: Callable[..., Path], make_dataset) -> None:
    ds = make_dataset(np.zeros((16, 16), dtype=np.uint16))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 Main Profile / Main Level
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
    path = write_dicom(ds)

    with pytest.raises(UnsupportedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "MPEG2", "復号できません")


# ------------------------------------------------------------------------ damaged


def test_truncated_png_is_damaged(tmp_path: Path) -> None:
    data = _png_bytes(_noise(400, 300))
    path = _write(tmp_path / "cut.png", data[: len(data) * 6 // 10])

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "PNG file is truncated", "途中で切れて")


def test_truncated_jpeg_is_damaged(tmp_path: Path) -> None:
    data = _jpeg_bytes(_noise(400, 300))
    path = _write(tmp_path / "cut.jpg", data[: len(data) * 6 // 10])

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "JPEG file is truncated", "途中で切れて")


def test_truncated_native_dicom_is_damaged(write_dicom: Callable[..., Path], gradient_image) -> None:
    path = write_dicom(gradient_image(200, 150))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10_000])

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "shorter than the header declares", "ヘッダーの記載より短く")


def test_truncated_jpeg2000_dicom_is_damaged(
    write_dicom: Callable[..., Path], make_dataset, gradient_image
) -> None:
    ds = make_dataset(gradient_image(128, 96))
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    path = write_dicom(ds)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "DICOM file is truncated", "途中で切れて")


def test_truncated_dicom_header_is_damaged(write_dicom: Callable[..., Path], gradient_image) -> None:
    path = write_dicom(gradient_image())
    path.write_bytes(path.read_bytes()[:300])

    with pytest.raises(DamagedImageError):
        load(path)


def test_dicom_preamble_followed_by_garbage_is_damaged(tmp_path: Path) -> None:
    data = b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff" + b"\xee" * 500
    path = _write(tmp_path / "garbage.dcm", data)

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "The DICOM file", "DICOM ファイル")
    assert caught.value.code == "damaged_image"


def test_pixel_data_shorter_than_header_is_damaged(
    write_dicom: Callable[..., Path], make_dataset, gradient_image
) -> None:
    ds = make_dataset(gradient_image(64, 48))
    ds.PixelData = ds.PixelData[: 64 * 48]  # half of the 16-bit pixels
    path = write_dicom(ds)

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "(3,072 of 6,144 bytes)", "6,144 バイト中 3,072 バイト")


def test_zero_rows_is_damaged(write_dicom: Callable[..., Path], gradient_image) -> None:
    path = write_dicom(gradient_image(), Rows=0)

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "Rows x Columns", "不正な値")


def test_corrupt_rle_fragment_is_damaged(
    write_dicom: Callable[..., Path], make_dataset, gradient_image
) -> None:
    ds = make_dataset(gradient_image(64, 48))
    ds.file_meta.TransferSyntaxUID = RLELossless
    # An RLE header that claims 15 segments with offsets past the end of the data.
    ds.PixelData = encapsulate([struct.pack("<16L", 15, *([10_000] * 15)) + b"\x00" * 64])
    path = write_dicom(ds)

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    _assert_messages(caught.value, "could not be decoded", "復号できません")


# ---------------------------------------------------------------------- too large


def test_dicom_claiming_60000_squared_is_rejected_before_decoding(
    write_dicom: Callable[..., Path], make_dataset
) -> None:
    ds = make_dataset(np.zeros((4, 4), dtype=np.uint16))
    ds.Rows = 60_000
    ds.Columns = 60_000
    path = write_dicom(ds)

    with pytest.raises(ImageTooLargeError) as caught:
        load(path)

    _assert_messages(caught.value, "60,000 x 60,000 pixels", "メガピクセル")


def _patch_png_size(data: bytes, width: int, height: int) -> bytes:
    ihdr = bytearray(data[12:29])  # chunk type + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return data[:12] + bytes(ihdr) + crc + data[33:]


def test_png_claiming_60000_squared_is_rejected_before_decoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "huge.png", _patch_png_size(_png_bytes(_noise(8, 8)), 60_000, 60_000))

    with pytest.raises(ImageTooLargeError) as caught:
        load(path)

    _assert_messages(caught.value, "60,000 x 60,000 pixels", "メガピクセル")


def test_jpeg_claiming_60000_squared_is_rejected_before_decoding(tmp_path: Path) -> None:
    data = bytearray(_jpeg_bytes(_noise(8, 8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    path = _write(tmp_path / "huge.jpg", bytes(data))

    with pytest.raises(ImageTooLargeError) as caught:
        load(path)

    _assert_messages(caught.value, "60,000 x 60,000 pixels", "メガピクセル")


def test_pillow_safety_switches_stay_on(tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.png", _png_bytes(_noise()))
    bomb_limit = Image.MAX_IMAGE_PIXELS

    load(path)

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert Image.MAX_IMAGE_PIXELS == bomb_limit
    assert bomb_limit is not None


def test_truncated_png_rejected_after_another_module_sets_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WeasyPrint turns the flag on for the whole process when it is imported.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _png_bytes(_noise(400, 300))
    path = _write(tmp_path / "cut.png", data[: len(data) * 6 // 10])

    with pytest.raises(DamagedImageError):
        load(path)

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_pixel_limit_is_a_setting(write_dicom: Callable[..., Path], tmp_path: Path, gradient_image) -> None:
    limits = ImagingLimits(max_pixels_per_frame=1000)
    dicom_path = write_dicom(gradient_image(64, 48))
    png_path = _write(tmp_path / "small.png", _png_bytes(_noise(40, 30)))

    with pytest.raises(ImageTooLargeError):
        load(dicom_path, limits=limits)
    with pytest.raises(ImageTooLargeError):
        load(png_path, limits=limits)
    assert load(png_path).shape == (40, 30)


def test_file_size_limit_is_checked_first(write_dicom: Callable[..., Path], gradient_image) -> None:
    path = write_dicom(gradient_image(64, 48))

    with pytest.raises(ImageTooLargeError) as caught:
        load(path, limits=ImagingLimits(max_file_bytes=1024))

    _assert_messages(caught.value, "above the limit of 1,024 bytes", "上限")


def test_limits_reject_non_positive_values() -> None:
    with pytest.raises(ValueError, match="max_pixels_per_frame"):
        ImagingLimits(max_pixels_per_frame=0)
    with pytest.raises(ValueError, match="max_file_bytes"):
        ImagingLimits(max_file_bytes=-1)


def test_error_classes_have_codes() -> None:
    for error_type in (NotAnImageError, DamagedImageError, UnsupportedImageError, ImageTooLargeError):
        assert issubclass(error_type, ImagingError)
    codes = {
        error_type.code
        for error_type in (NotAnImageError, DamagedImageError, UnsupportedImageError, ImageTooLargeError)
    }
    assert codes == {"not_an_image", "damaged_image", "unsupported_image", "image_too_large"}
