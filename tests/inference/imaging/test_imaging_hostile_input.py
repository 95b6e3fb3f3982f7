"""Crafted files that once gave NaN pixels, huge allocations, wrong errors or noisy logs."""

from __future__ import annotations

import io
import json
import logging
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import DeflatedExplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit

from inference.cli import main
from inference.errors import DamagedImageError, ImageTooLargeError, NotAnImageError, UnsupportedImageError
from inference.imaging import ImagingLimits, load, messages
from inference.imaging.codestream import j2k_image_size, jpeg_frame_size
from inference.imaging.windowing import Window, apply_window, is_valid_window

MIB = 1024 * 1024


def _jpeg_codestream(rows: int, columns: int) -> bytes:
    buffer = io.BytesIO()
    gray = np.random.default_rng(2).integers(0, 256, size=(rows, columns), dtype=np.uint8)
    Image.fromarray(gray).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _forge_jpeg_size(codestream: bytes, rows: int, columns: int) -> bytes:
    """Rewrite the height and width in the first SOF0 segment of a JPEG codestream."""
    start = codestream.index(b"\xff\xc0")
    return codestream[: start + 5] + struct.pack(">HH", rows, columns) + codestream[start + 9 :]


def _j2k_header(width: int, height: int) -> bytes:
    """Return SOC and a SIZ marker for one 8-bit component, then an EOC marker."""
    siz = struct.pack(">HHIIIIIIIIH", 41, 0, width, height, 0, 0, width, height, 0, 0, 1) + b"\x07\x01\x01"
    return b"\xff\x4f\xff\x51" + siz + b"\xff\xd9"


def _encapsulated_dataset(make_dataset, codestream: bytes, transfer_syntax: str, rows: int, columns: int):
    ds = make_dataset(np.zeros((rows, columns), dtype=np.uint8))
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.PixelData = encapsulate([codestream])
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"
    return ds


# ------------------------------------------------------------ rescale overflow


@pytest.mark.parametrize(
    ("slope", "intercept"),
    [("1e308", "0"), ("1e39", "0"), ("-1e38", "0"), ("1", "1e39"), ("1", "-3e38")],
)
def test_rescale_overflowing_float32_is_rejected(
    write_dicom, gradient_image, slope: str, intercept: str
) -> None:
    path = write_dicom(gradient_image(), RescaleSlope=slope, RescaleIntercept=intercept)

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    assert "Rescale Slope" in caught.value.message_en
    assert "Rescale Slope" in caught.value.message_ja


def test_large_but_finite_rescale_is_read(write_dicom, gradient_image) -> None:
    radiograph = load(write_dicom(gradient_image(), RescaleSlope="1e20", RescaleIntercept="-5e20"))

    assert np.isfinite(radiograph.pixels).all()
    assert radiograph.pixels.max() > radiograph.pixels.min()
    assert math.isfinite(radiograph.provenance.window_width or 0.0)


def test_inspect_never_prints_nan(write_dicom, gradient_image, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_dicom(gradient_image(), RescaleSlope="1e39")

    main(["inspect", str(path)])
    output = capsys.readouterr().out

    def reject_constant(name: str) -> None:
        raise AssertionError(f"inspect printed {name}")

    json.loads(output, parse_constant=reject_constant)


# ------------------------------------------------------------ windows and uniform output


@pytest.mark.parametrize(
    "window",
    [
        Window(center=2048.0, width=1e39),
        Window(center=1e39, width=400.0),
        Window(center=2048.0, width=1e308),
        Window(center=-3.0e38, width=3.0e38, function="LINEAR_EXACT"),
        Window(center=2048.0, width=float("nan")),
    ],
)
def test_window_beyond_float32_is_invalid(window: Window) -> None:
    assert not is_valid_window(window)


def test_apply_window_never_returns_nan() -> None:
    values = np.array([[np.nan, -3.0e38, 0.0, 3.0e38]], dtype=np.float32)

    for function in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        result = apply_window(values, Window(center=-3.0e38, width=3.0e38, function=function))
        assert not np.isnan(result).any(), function
        assert result.min() >= 0.0, function
        assert result.max() <= 1.0, function


@pytest.mark.parametrize(
    ("center", "width"), [("2048", "1e39"), ("1e39", "400"), ("2048", "1e308"), ("2048", "-1e39")]
)
def test_header_window_beyond_float32_falls_back(
    write_dicom, gradient_image, center: str, width: str
) -> None:
    radiograph = load(write_dicom(gradient_image(), WindowCenter=center, WindowWidth=width))

    codes = [warning.code for warning in radiograph.warnings]
    assert "window_invalid" in codes
    assert "uniform_image" not in codes
    assert np.isfinite(radiograph.pixels).all()
    assert radiograph.pixels.max() > radiograph.pixels.min()
    assert math.isfinite(radiograph.provenance.window_width or 0.0)


def _png(path: Path, image: Image.Image) -> Path:
    image.save(path, format="PNG")
    return path


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (64, 48), 128),
        Image.new("L", (1, 1), 0),
        Image.new("RGBA", (64, 48), (200, 10, 30, 0)),
        Image.new("RGB", (64, 48), (90, 90, 90)),
    ],
    ids=["uniform_gray", "one_pixel", "transparent_rgba", "uniform_rgb"],
)
def test_constant_png_gets_uniform_warning(tmp_path: Path, image: Image.Image) -> None:
    radiograph = load(_png(tmp_path / "constant.png", image))

    blocking = [warning.code for warning in radiograph.blocking_warnings]
    assert blocking == ["uniform_image"]


def test_constant_jpeg_gets_uniform_warning(tmp_path: Path) -> None:
    path = tmp_path / "constant.jpg"
    Image.new("L", (64, 48), 77).save(path, format="JPEG")

    radiograph = load(path)

    assert "uniform_image" in [warning.code for warning in radiograph.blocking_warnings]


def test_uniform_warning_is_not_repeated(write_dicom) -> None:
    radiograph = load(write_dicom(np.full((32, 32), 700, dtype=np.uint16)))

    codes = [warning.code for warning in radiograph.warnings]
    assert codes.count("uniform_image") == 1


# ------------------------------------------------------------ deflate bomb


def test_deflated_dataset_beyond_limit_is_rejected(write_dicom, make_dataset, gradient_image) -> None:
    ds = make_dataset(gradient_image())
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    # Zeros compress about 1000:1, so this private element inflates to 4 MiB from a few kB.
    ds.add_new(0x00091010, "OB", b"\x00" * (4 * MIB))
    path = write_dicom(ds)
    assert path.stat().st_size < 64 * 1024

    with pytest.raises(ImageTooLargeError) as caught:
        load(path, limits=ImagingLimits(max_file_bytes=1 * MIB))

    assert "1.0 MiB" in caught.value.message_en
    assert "1.0 MiB" in caught.value.message_ja


def test_deflated_dataset_within_limit_is_read(write_dicom, make_dataset, gradient_image) -> None:
    pixels = gradient_image()
    reference = load(write_dicom(pixels))
    ds = make_dataset(pixels)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian

    radiograph = load(write_dicom(ds), limits=ImagingLimits(max_file_bytes=1 * MIB))

    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
    assert radiograph.provenance.decoder == "pydicom-native (deflate)"


def test_corrupt_deflate_stream_is_damaged(write_dicom, make_dataset, gradient_image) -> None:
    ds = make_dataset(gradient_image())
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = write_dicom(ds)
    data = bytearray(path.read_bytes())
    # Reserved block type 3 in the first deflate block header is always invalid (RFC 1951 3.2.3).
    meta_end = data.index(b"1.2.840.10008.1.2.1.99") + len("1.2.840.10008.1.2.1.99") + 1
    data[meta_end:] = b"\x07" + bytes(data[meta_end + 1 :])
    path.write_bytes(bytes(data))

    with pytest.raises(DamagedImageError) as caught:
        load(path)

    assert "header could not be read" in caught.value.message_en


# ------------------------------------------------------------ codestream size


def test_codestream_sizes_are_read() -> None:
    assert jpeg_frame_size(_jpeg_codestream(30, 40)) == (40, 30)
    assert j2k_image_size(_j2k_header(640, 480)) == (640, 480)
    assert jpeg_frame_size(b"\x00\x01") is None
    assert j2k_image_size(b"\xff\xd8") is None


def test_jpeg_larger_than_header_is_rejected_before_decoding(write_dicom, make_dataset) -> None:
    codestream = _forge_jpeg_size(_jpeg_codestream(32, 32), 12000, 12000)
    ds = _encapsulated_dataset(make_dataset, codestream, JPEGBaseline8Bit, 32, 32)

    with pytest.raises(ImageTooLargeError):
        load(write_dicom(ds), limits=ImagingLimits(max_pixels_per_frame=1_000_000))


def test_jpeg_size_mismatch_is_damaged(write_dicom, make_dataset) -> None:
    ds = _encapsulated_dataset(make_dataset, _jpeg_codestream(40, 30), JPEGBaseline8Bit, 32, 32)

    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(ds))

    assert "30 x 40" in caught.value.message_en
    assert "32 x 32" in caught.value.message_en


def test_jpeg2000_size_mismatch_is_damaged(write_dicom, make_dataset) -> None:
    ds = _encapsulated_dataset(make_dataset, _j2k_header(64, 64), JPEG2000Lossless, 32, 32)

    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(ds))

    assert "64 x 64" in caught.value.message_en


def test_jpeg2000_above_pixel_limit_is_too_large(write_dicom, make_dataset) -> None:
    ds = _encapsulated_dataset(make_dataset, _j2k_header(12000, 12000), JPEG2000Lossless, 32, 32)

    with pytest.raises(ImageTooLargeError):
        load(write_dicom(ds))


# ------------------------------------------------------------ missing pixel data


def test_image_header_without_pixel_data_is_truncated(write_dicom, make_dataset, gradient_image) -> None:
    ds = make_dataset(gradient_image())
    del ds.PixelData

    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(ds))

    assert "truncated" in caught.value.message_en
    assert "report" not in caught.value.message_en


def test_image_sop_class_without_pixel_module_is_truncated(write_dicom, make_dataset) -> None:
    ds = make_dataset(None)

    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(ds))

    assert "truncated" in caught.value.message_en


@pytest.mark.parametrize(
    "content",
    [
        b"\x00" * 128 + b"DICM" + np.random.default_rng(3).bytes(4000),
        b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100" + np.random.default_rng(4).bytes(2000),
    ],
    ids=["dicm_then_random", "no_preamble_then_random"],
)
def test_dicom_lookalike_garbage_is_damaged(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.dcm"
    path.write_bytes(content)

    with pytest.raises((DamagedImageError, NotAnImageError)) as caught:
        load(path)

    assert "no SOP Class UID" not in caught.value.message_en
    assert "no SOP Class UID" not in caught.value.message_ja


# ------------------------------------------------------------ message wording


def test_number_of_frames_zero_is_shown_plainly(write_dicom, gradient_image) -> None:
    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(gradient_image(), NumberOfFrames="0"))

    assert "(0)" in caught.value.message_en
    assert "（0）" in caught.value.message_ja
    assert "0.0" not in caught.value.message_en


def test_zero_rows_are_shown_without_quotes(write_dicom, make_dataset, gradient_image) -> None:
    ds = make_dataset(gradient_image(), Rows=0, Columns=0)

    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(ds))

    assert "(0 x 0)" in caught.value.message_en
    assert "'" not in caught.value.message_en


def test_palette_error_hides_library_text(write_dicom, make_dataset) -> None:
    ds = make_dataset(np.arange(64, dtype=np.uint8).reshape(8, 8), PhotometricInterpretation="PALETTE COLOR")

    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(ds))

    assert "Palette Color Lookup Table" in caught.value.message_en
    assert "Module" not in caught.value.message_en
    assert "Module" not in caught.value.message_ja
    assert caught.value.detail


def test_frame_count_beyond_pixel_data_is_damaged(write_dicom, gradient_image) -> None:
    with pytest.raises(DamagedImageError) as caught:
        load(write_dicom(gradient_image(), NumberOfFrames="2000000000"))

    assert "2,000,000,000" in caught.value.message_en
    assert "damaged" in caught.value.message_en


def test_compressed_frame_count_beyond_fragments_is_damaged(write_dicom, make_dataset) -> None:
    ds = _encapsulated_dataset(make_dataset, _jpeg_codestream(32, 32), JPEGBaseline8Bit, 32, 32)
    ds.NumberOfFrames = 50

    with pytest.raises(DamagedImageError):
        load(write_dicom(ds))


# Japanese text puts a space between itself and an adjoining Latin word or number.
_JAPANESE_NEXT_TO_LATIN = re.compile(
    r"[\u3040-\u30ff\u4e00-\u9fff][A-Za-z0-9]|[A-Za-z0-9][\u3040-\u30ff\u4e00-\u9fff]"
)


@pytest.mark.parametrize("kind", sorted(messages.FILE_KIND_NAMES))
def test_japanese_file_kind_messages_are_spaced(kind: str) -> None:
    for error in (messages.not_an_image(kind), messages.unsupported_file_kind(kind)):
        assert not _JAPANESE_NEXT_TO_LATIN.search(error.message_ja), error.message_ja


def test_japanese_html_message_reads_naturally() -> None:
    assert "このファイルは HTML のウェブページで" in messages.not_an_image("html").message_ja


@pytest.mark.parametrize(
    "error",
    [
        messages.multi_frame(3),
        messages.multi_frame(2, "png"),
        messages.invalid_header_value("Number of Frames", (0.0,)),
        messages.frames_exceed_pixel_data(20, 1),
        messages.codestream_size_mismatch("JPEG", 40, 30, 32, 32),
        messages.inflated_too_large(MIB),
        messages.non_finite_pixels("test"),
    ],
)
def test_japanese_messages_are_spaced(error: DamagedImageError) -> None:
    assert not _JAPANESE_NEXT_TO_LATIN.search(error.message_ja), error.message_ja


# ------------------------------------------------------------ logging


def test_damaged_compressed_data_logs_no_error(
    write_dicom, make_dataset, caplog: pytest.LogCaptureFixture
) -> None:
    codestream = b"\xff\xd8" + np.random.default_rng(5).bytes(500) + b"\xff\xd9"
    ds = _encapsulated_dataset(make_dataset, codestream, JPEGBaseline8Bit, 32, 32)
    path = write_dicom(ds)

    with caplog.at_level(logging.DEBUG), pytest.raises(DamagedImageError):
        load(path)

    assert caplog.records
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert [record for record in caplog.records if record.exc_info] == []
    assert all("\n" not in record.getMessage() for record in caplog.records)


def test_pydicom_errors_elsewhere_are_not_downgraded(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("pydicom").error("an error of another module")

    assert [record.levelno for record in caplog.records] == [logging.ERROR]


# ------------------------------------------------------------ frames and extra pixel data


def _apng(path: Path) -> Path:
    first = Image.new("L", (32, 24), 0)
    second = Image.fromarray(np.tile(np.arange(32, dtype=np.uint8) * 8, (24, 1)))
    first.save(path, format="PNG", save_all=True, append_images=[second])
    return path


def test_animated_png_without_frame_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedImageError) as caught:
        load(_apng(tmp_path / "animated.png"))

    assert "2 frames" in caught.value.message_en
    assert "アニメーション PNG" in caught.value.message_ja


def test_animated_png_reads_named_frame(tmp_path: Path) -> None:
    radiograph = load(_apng(tmp_path / "animated.png"), frame=1)

    assert radiograph.provenance.frame_policy == "frame 1 of 2, chosen by the caller"
    assert radiograph.provenance.number_of_frames == 2
    assert radiograph.pixels.max() > radiograph.pixels.min()


def test_animated_png_frame_out_of_range_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedImageError):
        load(_apng(tmp_path / "animated.png"), frame=2)


def test_pixel_data_longer_than_declared_is_noted(write_dicom, make_dataset, gradient_image) -> None:
    pixels = gradient_image()
    ds = make_dataset(pixels)
    ds.PixelData = pixels.tobytes() + b"\x00" * 400

    radiograph = load(write_dicom(ds))

    assert any("400 bytes beyond" in note for note in radiograph.provenance.notes)
