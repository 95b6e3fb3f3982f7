"""Reading PNG and JPEG files with Pillow.

Rules: 8-bit gray is used as stored (0..255 maps to 0..1) because an 8-bit
export is already windowed by the viewer that wrote it. 16-bit gray is
windowed like a DICOM file without a window (1st to 99th percentile), never
clipped to 8 bits. Colour becomes grayscale by BT.601 luma unless all three
channels are equal. Transparent pixels are composited over black. The EXIF
orientation of a JPEG or PNG is applied so that the image is upright.

Pillow's decompression-bomb check stays on and ``ImageFile.LOAD_TRUNCATED_IMAGES``
stays off, so a truncated file raises instead of giving a half-grey image. The
reader switches that flag back off when another library in the process has
turned it on.
"""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

from inference.imaging import messages
from inference.imaging.codestream import jpeg_frame_size
from inference.imaging.colour import has_equal_channels, to_luma
from inference.imaging.frames import choose_frame
from inference.imaging.limits import ImagingLimits
from inference.imaging.spacing import UNKNOWN_SPACING
from inference.imaging.types import HeaderFacts, ImagingWarning, Provenance, Radiograph
from inference.imaging.windowing import apply_window, percentile_window, render_uint8

logger = logging.getLogger(__name__)

_PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG"}

# Errors Pillow raises on malformed or truncated files.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)

# APP segments (EXIF, ICC profiles) can push the frame header far into the file.
_HEADER_SCAN_BYTES = 1024 * 1024

_GRAY_16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


def _keep_truncated_images_rejected() -> None:
    """Switch Pillow's process-wide LOAD_TRUNCATED_IMAGES flag off if another module turned it on."""
    # WeasyPrint 70 sets the flag when it is imported (weasyprint/images.py). With it on, Pillow pads
    # a truncated PNG or JPEG with grey instead of raising, and the model would screen that image.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        logger.warning("Pillow's LOAD_TRUNCATED_IMAGES was switched on by another module; switching it off")
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def read_raster(path: Path, file_type: str, *, limits: ImagingLimits, frame: int | None = None) -> Radiograph:
    """Read a PNG or JPEG file as a radiograph.

    An animated PNG follows the multi-frame policy of DICOM: it is rejected
    unless ``frame`` names the frame to read.
    """
    _keep_truncated_images_rejected()
    header_size = read_header_size(path, file_type)
    if header_size is not None:
        width, height = header_size
        if width * height > limits.max_pixels_per_frame:
            raise messages.too_many_pixels(height, width, limits.max_pixels_per_frame)

    notes: list[str] = []
    warnings: list[ImagingWarning] = []
    image, frame_count, frame_index, frame_policy = _open_and_load(path, file_type, limits, frame)
    source_mode = image.mode
    bits = _png_bit_depth(path) if file_type == "png" else 8

    orientation = _orientation(image)
    if orientation not in (None, 1):
        image = ImageOps.exif_transpose(image)
        notes.append(f"EXIF orientation {orientation} applied")

    gray, maximum, derived_from_colour = _to_gray(image, file_type, bits, warnings, notes)
    if source_mode in _GRAY_16_MODES:
        pixels, voi_description, window_center, window_width = _window_wide_gray(gray, warnings)
    else:
        pixels = gray / np.float32(maximum)
        np.clip(pixels, 0.0, 1.0, out=pixels)
        voi_description = f"none (8-bit values used as stored, 0..{maximum:g} maps to 0..1)"
        window_center = window_width = None

    if file_type == "jpeg":
        warnings.append(messages.lossy_compression("JPEG"))
    warnings.append(messages.no_dicom_header(file_type))
    warnings.append(messages.spacing_unknown())

    provenance = Provenance(
        file_type="png" if file_type == "png" else "jpeg",
        decoder="pillow",
        photometric_interpretation=f"Pillow mode {source_mode}",
        bits_allocated=bits,
        bits_stored=bits,
        pixel_representation=0,
        rows=int(pixels.shape[0]),
        columns=int(pixels.shape[1]),
        number_of_frames=frame_count,
        frame_index=frame_index,
        frame_policy=frame_policy,
        modality_lut="none",
        voi_lut=voi_description,
        window_center=window_center,
        window_width=window_width,
        inverted=False,
        derived_from_colour=derived_from_colour,
        notes=tuple(notes),
    )
    return Radiograph(
        pixels=pixels,
        rendering=render_uint8(pixels),
        spacing=UNKNOWN_SPACING,
        header=HeaderFacts(),
        provenance=provenance,
        warnings=tuple(warnings),
        source_path=str(path),
    )


def read_header_size(path: Path, file_type: str) -> tuple[int, int] | None:
    """Return (width, height) from the PNG IHDR or JPEG SOF header, or None when it is not found."""
    with path.open("rb") as stream:
        head = stream.read(_HEADER_SCAN_BYTES if file_type == "jpeg" else 33)
    if file_type == "png":
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise messages.truncated_file("png", "no IHDR chunk in the first bytes")
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    return jpeg_frame_size(head)


def _open_and_load(
    path: Path, file_type: str, limits: ImagingLimits, frame: int | None
) -> tuple[Image.Image, int, int, str]:
    """Open the file, choose its frame and decode it; return the image, frame count, index and policy."""
    try:
        image = Image.open(path, formats=[_PILLOW_FORMATS[file_type]])
    except Image.DecompressionBombError as error:
        raise messages.decompression_bomb(str(error)) from error
    except _PILLOW_ERRORS as error:
        raise messages.decoding_failed(
            file_type, file_type.upper(), f"{type(error).__name__}: {error}"
        ) from error

    width, height = image.size
    if width <= 0 or height <= 0:
        raise messages.decoding_failed(file_type, file_type.upper(), f"size {width} x {height}")
    if width * height > limits.max_pixels_per_frame:
        raise messages.too_many_pixels(height, width, limits.max_pixels_per_frame)
    try:
        # Pillow reports the frame count of an animated PNG (APNG acTL chunk) and 1 otherwise.
        frame_count = int(getattr(image, "n_frames", 1))
        frame_index, frame_policy = choose_frame(frame_count, frame, file_type)
        if frame_index:
            image.seek(frame_index)
        image.load()
    except Image.DecompressionBombError as error:
        raise messages.too_many_pixels(height, width, limits.max_pixels_per_frame) from error
    except _PILLOW_ERRORS as error:
        reason = f"{type(error).__name__}: {error}"
        if "truncated" in str(error).lower() or isinstance(error, EOFError):
            raise messages.truncated_file(file_type, reason) from error
        raise messages.decoding_failed(file_type, file_type.upper(), reason) from error
    return image, frame_count, frame_index, frame_policy


def _png_bit_depth(path: Path) -> int:
    with path.open("rb") as stream:
        head = stream.read(26)
    return head[24] if len(head) >= 25 else 8


def _orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(0x0112)
    except _PILLOW_ERRORS:
        return None
    return int(value) if isinstance(value, int) else None


def _to_gray(
    image: Image.Image, file_type: str, bits: int, warnings: list[ImagingWarning], notes: list[str]
) -> tuple[np.ndarray, float, bool]:
    """Return gray values as float32, their maximum possible value, and whether colour was converted."""
    mode = image.mode
    if mode in _GRAY_16_MODES:
        # Wide gray values are windowed afterwards, so their nominal maximum is not used.
        return np.asarray(image, dtype=np.float32), float(2**bits - 1), False
    if mode == "1":
        notes.append("1-bit image expanded to 8 bits")
        return np.asarray(image.convert("L"), dtype=np.float32), 255.0, False
    if mode == "L":
        return np.asarray(image, dtype=np.float32), 255.0, False
    if mode == "LA":
        array = np.asarray(image, dtype=np.float32)
        return _flatten_alpha(array[..., 0], array[..., 1], warnings, notes), 255.0, False
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        notes.append("palette expanded to RGB")
        mode = image.mode
    if mode == "CMYK":
        image = image.convert("RGB")
        notes.append("CMYK converted to RGB with Pillow's conversion, which ignores colour profiles")
    if image.mode not in ("RGB", "RGBA"):
        raise messages.unsupported_pixel_format(f"Pillow mode {image.mode}")
    if file_type == "png" and bits == 16:
        # NOTE: Pillow 13 reads 16-bit colour PNG as 8 bits per channel, so the low byte is lost.
        notes.append("16-bit colour PNG reduced to 8 bits per channel by Pillow")

    array = np.asarray(image)
    rgb = array[..., :3]
    derived = not has_equal_channels(rgb)
    if derived:
        gray = to_luma(rgb)
        warnings.append(messages.colour_converted(f"{file_type.upper()} {image.mode}"))
    else:
        gray = rgb[..., 0].astype(np.float32)
        notes.append(f"{image.mode} pixels with equal channels read as grayscale")
    if image.mode == "RGBA":
        gray = _flatten_alpha(gray, array[..., 3].astype(np.float32), warnings, notes)
    return gray, 255.0, derived


def _flatten_alpha(
    gray: np.ndarray, alpha: np.ndarray, warnings: list[ImagingWarning], notes: list[str]
) -> np.ndarray:
    if float(alpha.min()) >= 255.0:
        notes.append("opaque alpha channel ignored")
        return gray.astype(np.float32)
    warnings.append(messages.alpha_flattened())
    return (gray * (alpha / np.float32(255.0))).astype(np.float32)


def _window_wide_gray(
    gray: np.ndarray, warnings: list[ImagingWarning]
) -> tuple[np.ndarray, str, float | None, float | None]:
    window = percentile_window(gray)
    if window is None:
        warnings.append(messages.uniform_image())
        return np.zeros(gray.shape, dtype=np.float32), "none (uniform image)", None, None
    description = f"percentile window p1..p99 ({window.describe()})"
    return apply_window(gray, window), description, window.center, window.width
