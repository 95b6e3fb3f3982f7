"""Reading PNG and JPEG files: bit depths, palettes, alpha, colour and orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.errors import UnsupportedImageError
from inference.imaging import load


def _codes(radiograph) -> set[str]:
    return {warning.code for warning in radiograph.warnings}


@pytest.fixture
def gray8() -> np.ndarray:
    y, x = np.mgrid[0:90, 0:70]
    return ((y * 2 + x) % 256).astype(np.uint8)


def test_png_8_bit_gray_is_used_as_stored(tmp_path: Path, gray8: np.ndarray) -> None:
    path = tmp_path / "gray8.png"
    Image.fromarray(gray8).save(path)

    radiograph = load(path)

    np.testing.assert_array_equal(radiograph.rendering, gray8)
    assert radiograph.provenance.file_type == "png"
    assert radiograph.provenance.bits_stored == 8
    assert {"no_dicom_header", "spacing_unknown"} <= _codes(radiograph)
    assert radiograph.spacing.source == "unknown"


def test_png_16_bit_gray_is_windowed_not_clipped(tmp_path: Path) -> None:
    # All values lie above 255: clipping to 8 bits would give a white image.
    values = np.linspace(20_000, 40_000, 100 * 80).reshape(100, 80).astype(np.uint16)
    path = tmp_path / "gray16.png"
    Image.fromarray(values).save(path)

    radiograph = load(path)

    assert radiograph.provenance.bits_stored == 16
    assert radiograph.provenance.voi_lut.startswith("percentile window p1..p99")
    assert float(radiograph.pixels.min()) == 0.0
    assert float(radiograph.pixels.max()) == 1.0
    assert len(np.unique(radiograph.rendering)) > 200
    assert 19_000 < radiograph.provenance.window_center - radiograph.provenance.window_width / 2 < 21_000


def test_png_16_bit_keeps_low_byte_detail(tmp_path: Path) -> None:
    # Neighbouring values differ only in the low byte; the window must keep them apart.
    values = (30_000 + np.arange(60 * 50) % 200).reshape(60, 50).astype(np.uint16)
    path = tmp_path / "detail16.png"
    Image.fromarray(values).save(path)

    radiograph = load(path)

    assert len(np.unique(radiograph.rendering)) > 100


def test_png_gray_palette_is_read_without_colour_warning(tmp_path: Path, gray8: np.ndarray) -> None:
    path = tmp_path / "palette_gray.png"
    Image.fromarray(gray8).convert("P").save(path)

    radiograph = load(path)

    assert radiograph.provenance.photometric_interpretation == "Pillow mode P"
    assert "colour_converted" not in _codes(radiograph)
    assert radiograph.provenance.derived_from_colour is False
    np.testing.assert_array_equal(radiograph.rendering, gray8)


def test_png_colour_palette_is_converted(tmp_path: Path) -> None:
    image = Image.new("P", (40, 30))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    image.putdata([index % 3 for index in range(40 * 30)])
    path = tmp_path / "palette_colour.png"
    image.save(path)

    radiograph = load(path)

    assert "colour_converted" in _codes(radiograph)
    assert radiograph.provenance.derived_from_colour is True
    # Pure red gives luma 0.299 * 255 = 76.2 under BT.601.
    assert radiograph.rendering[0, 0] == 76


def test_png_gray_with_alpha_is_composited_over_black(tmp_path: Path) -> None:
    gray = np.full((20, 20), 200, dtype=np.uint8)
    alpha = np.full((20, 20), 255, dtype=np.uint8)
    alpha[:, :10] = 0
    path = tmp_path / "gray_alpha.png"
    Image.fromarray(np.stack([gray, alpha], axis=-1), mode="LA").save(path)

    radiograph = load(path)

    assert "alpha_flattened" in _codes(radiograph)
    assert int(radiograph.rendering[0, 0]) == 0
    assert int(radiograph.rendering[0, 15]) == 200


def test_png_rgba_opaque_is_read_as_gray(tmp_path: Path, gray8: np.ndarray) -> None:
    rgba = np.stack([gray8, gray8, gray8, np.full_like(gray8, 255)], axis=-1)
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)

    radiograph = load(path)

    np.testing.assert_array_equal(radiograph.rendering, gray8)
    assert "alpha_flattened" not in _codes(radiograph)
    assert "colour_converted" not in _codes(radiograph)


def test_png_rgb_colour_uses_bt601_luma(tmp_path: Path) -> None:
    rgb = np.zeros((10, 10, 3), dtype=np.uint8)
    rgb[..., 1] = 255  # pure green
    path = tmp_path / "green.png"
    Image.fromarray(rgb).save(path)

    radiograph = load(path)

    assert int(radiograph.rendering[0, 0]) == 150  # 0.587 * 255 = 149.7
    assert "colour_converted" in _codes(radiograph)


def test_jpeg_gray_is_lossy(tmp_path: Path, gray8: np.ndarray) -> None:
    path = tmp_path / "gray.jpg"
    Image.fromarray(gray8).save(path, quality=95)

    radiograph = load(path)

    assert radiograph.provenance.file_type == "jpeg"
    assert "lossy_compression" in _codes(radiograph)
    assert float(np.abs(radiograph.rendering.astype(int) - gray8.astype(int)).mean()) < 6


def test_jpeg_rgb_colour_is_converted(tmp_path: Path) -> None:
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # a reddish image, as a photographed film with a colour cast might be
    rgb[..., 1] = 120
    rgb[..., 2] = 60
    path = tmp_path / "colour.jpg"
    Image.fromarray(rgb).save(path, quality=95)

    radiograph = load(path)

    assert {"colour_converted", "lossy_compression"} <= _codes(radiograph)
    assert radiograph.provenance.derived_from_colour is True
    # BT.601 luma of (200, 120, 60) is 137.2; JPEG may move each channel by a step or two.
    assert abs(int(radiograph.rendering[16, 16]) - 137) <= 3


def test_jpeg_cmyk_is_converted(tmp_path: Path) -> None:
    cmyk = np.zeros((16, 16, 4), dtype=np.uint8)
    cmyk[..., 0] = 255  # full cyan
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(cmyk, mode="CMYK").save(path, quality=95)

    radiograph = load(path)

    assert radiograph.provenance.photometric_interpretation == "Pillow mode CMYK"
    assert any("CMYK" in note for note in radiograph.provenance.notes)
    assert radiograph.provenance.derived_from_colour is True


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    array = np.zeros((40, 60), dtype=np.uint8)
    array[:, :10] = 255  # a bright band on the left
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=95)

    radiograph = load(path)

    assert radiograph.shape == (60, 40)
    assert float(radiograph.rendering[:10, :].mean()) > 200  # the band is now on top
    assert any("EXIF orientation 6" in note for note in radiograph.provenance.notes)


def test_raster_rejects_a_frame_index(tmp_path: Path, gray8: np.ndarray) -> None:
    path = tmp_path / "gray8.png"
    Image.fromarray(gray8).save(path)

    with pytest.raises(UnsupportedImageError):
        load(path, frame=1)
