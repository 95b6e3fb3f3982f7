"""Decoding DICOM pixel data: decoder choice, completeness checks and the Bits Stored range.

pydicom's decoders do the work. Compressed data goes to pylibjpeg (openjpeg,
libjpeg and rle plugins) first and to GDCM as the fallback.
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.pixels.decoders.base import Decoder
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from inference.imaging import messages
from inference.imaging.codestream import j2k_image_size, jpeg_frame_size
from inference.imaging.limits import ImagingLimits
from inference.imaging.types import ImagingWarning

logger = logging.getLogger(__name__)

# Errors that pydicom's decoders and their plugins raise on damaged pixel data.
_DECODE_ERRORS = (
    ValueError,
    RuntimeError,
    OSError,
    NotImplementedError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    zlib.error,
)

# Decoding plugins in the order they are tried: pylibjpeg (openjpeg, libjpeg,
# rle), then GDCM as the fallback, then pydicom's own RLE decoder and Pillow.
PLUGIN_ORDER = ("pylibjpeg", "gdcm", "pydicom", "pillow")

# Encapsulated syntaxes whose every frame ends with the FFD9 marker (JPEG EOI,
# JPEG-LS EOI, JPEG 2000 EOC). A missing marker means the file was cut short.
_SYNTAXES_ENDING_WITH_FFD9 = (
    "1.2.840.10008.1.2.4.5",
    "1.2.840.10008.1.2.4.8",
    "1.2.840.10008.1.2.4.9",
    "1.2.840.10008.1.2.4.20",
)


# JPEG (baseline, extended, lossless, JPEG-LS) and JPEG 2000 (including HTJ2K) transfer syntax prefixes.
_JPEG_SYNTAXES = ("1.2.840.10008.1.2.4.5", "1.2.840.10008.1.2.4.7", "1.2.840.10008.1.2.4.8")
_JPEG_2000_SYNTAXES = ("1.2.840.10008.1.2.4.9", "1.2.840.10008.1.2.4.20")


def one_line(text: str, max_length: int = 300) -> str:
    """Collapse whitespace and line breaks so that a library's message fits one log line."""
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= max_length else collapsed[: max_length - 3] + "..."


class _PluginFailureFilter(logging.Filter):
    """Log pydicom's per-plugin decoding failures as one-line INFO records instead of ERROR tracebacks.

    pydicom 3.0 calls ``LOGGER.exception`` in ``pydicom.pixels.decoders.base`` each
    time a plugin fails, and it tries every plugin, so one damaged upload gave several
    ERROR records with tracebacks. Such a failure is a fault of the input, and
    ``decode_frame`` logs it once at WARNING and raises DamagedImageError. Records
    at other levels pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.exc_info:
            error = record.exc_info[1]
            record.msg = "Decoding plugin failed: %s: %s"
            record.args = (type(error).__name__, one_line(str(error)))
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
            record.exc_info = None
            record.exc_text = None
        return True


# A filter on a logger applies only to records created by that logger, which is the one that
# logs the plugin failures, so errors of other pydicom modules and of this package are untouched.
logging.getLogger("pydicom.pixels.decoders.base").addFilter(_PluginFailureFilter())


@dataclass(frozen=True)
class ImageGeometry:
    """The Image Pixel module values that decoding depends on."""

    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric_interpretation: str
    number_of_frames: int


def check_decodable(transfer_syntax: UID) -> Decoder:
    """Return pydicom's decoder for the transfer syntax, or raise UnsupportedImageError."""
    if not transfer_syntax.is_transfer_syntax:
        raise messages.unknown_transfer_syntax(str(transfer_syntax))
    try:
        decoder = get_decoder(transfer_syntax)
    except NotImplementedError as error:
        raise messages.transfer_syntax_not_decodable(
            transfer_syntax.name, str(transfer_syntax), str(error)
        ) from error
    if not decoder.is_available:
        reason = "; ".join(decoder.missing_dependencies)
        raise messages.transfer_syntax_not_decodable(transfer_syntax.name, str(transfer_syntax), reason)
    return decoder


def check_pixel_data_complete(
    ds: Dataset, transfer_syntax: UID, geometry: ImageGeometry, limits: ImagingLimits, notes: list[str]
) -> None:
    """Raise DamagedImageError when the pixel data does not match the header or was cut short.

    For compressed data, the size in the first codestream header is compared with
    Rows and Columns before anything is decoded. Native pixel data longer than the
    header declares is read, and a note records the extra bytes.
    """
    element = ds["PixelData"]
    value = element.value
    if value is None:
        raise messages.pixel_data_too_short(1, 0)
    if transfer_syntax.is_encapsulated:
        if not element.is_undefined_length:
            raise messages.invalid_header_value("Pixel Data length", "defined length for compressed data")
        fragment_count, first_fragment = _check_fragments_complete(value, transfer_syntax)
        # Every frame takes at least one fragment (PS3.5 A.4).
        if fragment_count < geometry.number_of_frames:
            raise messages.frames_exceed_pixel_data(geometry.number_of_frames, fragment_count)
        _check_codestream_size(first_fragment, transfer_syntax, geometry, limits)
        return

    frame_bytes = geometry.rows * geometry.columns * geometry.samples_per_pixel * geometry.bits_allocated // 8
    if geometry.photometric_interpretation == "YBR_FULL_422":
        # YBR_FULL_422 stores two Y values per Cb, Cr pair, so 2 values per pixel instead of 3.
        frame_bytes = frame_bytes * 2 // 3
    expected = frame_bytes * geometry.number_of_frames
    if len(value) < expected:
        # With at least one whole frame present, the declared frame count is what is wrong.
        if geometry.number_of_frames > 1 and 0 < frame_bytes <= len(value):
            raise messages.frames_exceed_pixel_data(geometry.number_of_frames, len(value) // frame_bytes)
        raise messages.pixel_data_too_short(expected, len(value))
    # Pixel Data of odd length gets one padding byte (PS3.5 8.1.1), which is not worth a note.
    extra = len(value) - expected
    if extra > 1:
        notes.append(
            f"Pixel Data has {extra} bytes beyond the {expected} bytes that Rows, Columns, Bits Allocated, "
            "Samples per Pixel and Number of Frames declare; the extra bytes were ignored"
        )


def _check_codestream_size(
    fragment: bytes, transfer_syntax: UID, geometry: ImageGeometry, limits: ImagingLimits
) -> None:
    if str(transfer_syntax).startswith(_JPEG_2000_SYNTAXES):
        size = j2k_image_size(fragment)
    elif str(transfer_syntax).startswith(_JPEG_SYNTAXES):
        size = jpeg_frame_size(fragment)
    else:
        return
    if size is None:
        # NOTE: a codestream whose header cannot be found here is left to the decoder to reject.
        return
    width, height = size
    if width * height > limits.max_pixels_per_frame:
        raise messages.too_many_pixels(height, width, limits.max_pixels_per_frame)
    # A JPEG height of 0 means a later DNL marker gives it, so only the width can be compared.
    if width != geometry.columns or height not in (geometry.rows, 0):
        raise messages.codestream_size_mismatch(
            transfer_syntax.name, width, height, geometry.columns, geometry.rows
        )


def _check_fragments_complete(value: bytes, transfer_syntax: UID) -> tuple[int, bytes]:
    """Walk the encapsulated items and return the fragment count and the first fragment.

    Raises DamagedImageError when the data was cut short.
    """
    offset = 0
    first_fragment = b""
    last_fragment = b""
    item_count = 0
    while offset + 8 <= len(value):
        group, element, length = struct.unpack_from("<HHL", value, offset)
        if (group, element) == (0xFFFE, 0xE0DD):
            break
        if (group, element) != (0xFFFE, 0xE000):
            raise messages.truncated_file("dicom", f"unexpected tag ({group:04X},{element:04X}) at {offset}")
        start = offset + 8
        end = start + length
        if end > len(value):
            raise messages.truncated_file(
                "dicom", f"item at {offset} needs {length} bytes, {len(value) - start} left"
            )
        if item_count == 1:
            first_fragment = value[start:end]
        if item_count > 0:
            last_fragment = value[start:end]
        item_count += 1
        offset = end
    if item_count < 2:
        raise messages.truncated_file(
            "dicom", "encapsulated pixel data has no fragment after the offset table"
        )
    # Encoders may pad after the marker. The coded data of JPEG, JPEG-LS and JPEG 2000 never
    # contains FF D9, so finding it near the end means the last frame is complete.
    if str(transfer_syntax).startswith(_SYNTAXES_ENDING_WITH_FFD9):
        if b"\xff\xd9" not in last_fragment[-64:]:
            raise messages.truncated_file("dicom", "last fragment does not end with the FFD9 end marker")
    return item_count - 1, first_fragment


def decode_frame(
    ds: Dataset,
    decoder: Decoder,
    transfer_syntax: UID,
    geometry: ImageGeometry,
    frame_index: int,
) -> tuple[np.ndarray, str, str]:
    """Decode one frame and return the stored values, the plugin used and the photometric interpretation."""
    if not transfer_syntax.is_encapsulated:
        # Unsigned gray values are decoded with every allocated bit, so that values above Bits
        # Stored are found and clipped instead of pydicom's silent masking of the high bits.
        # Signed values keep pydicom's sign extension from the high bit, because many files
        # leave the bits above it zero instead of repeating the sign.
        bits_to_decode = geometry.bits_stored
        if geometry.samples_per_pixel == 1 and not geometry.signed:
            bits_to_decode = geometry.bits_allocated
        try:
            # pydicom 3.0 annotates **kwargs as DecodeOptions without Unpack, so mypy rejects any option.
            # allow_excess_frames=False keeps the header's Number of Frames when Pixel Data is longer,
            # because check_pixel_data_complete has already noted the extra bytes.
            array, meta = decoder.as_array(
                ds,
                index=frame_index,
                bits_stored=bits_to_decode,  # type: ignore[arg-type]
                allow_excess_frames=False,  # type: ignore[arg-type]
            )
        except _DECODE_ERRORS as error:
            raise messages.decoding_failed(
                "dicom", transfer_syntax.name, f"{type(error).__name__}: {error}"
            ) from error
        return array, "", str(meta.get("photometric_interpretation", geometry.photometric_interpretation))

    plugins = [name for name in PLUGIN_ORDER if name in decoder.available_plugins]
    failures: list[str] = []
    for plugin in plugins:
        try:
            array, meta = decoder.as_array(ds, index=frame_index, decoding_plugin=plugin)
        except BaseException as error:
            if not isinstance(error, _DECODE_ERRORS) and not _is_decoder_panic(error):
                raise
            logger.warning(
                "Decoding plugin %s failed on %s: %s", plugin, transfer_syntax.name, one_line(str(error))
            )
            failures.append(f"{plugin}: {type(error).__name__}: {error}")
            continue
        return array, plugin, str(meta.get("photometric_interpretation", geometry.photometric_interpretation))
    raise messages.decoding_failed(
        "dicom", transfer_syntax.name, "; ".join(failures) or "no plugin available"
    )


def _is_decoder_panic(error: BaseException) -> bool:
    # Decoders written in Rust (pylibjpeg-rle 2.2) raise pyo3's PanicException on some corrupt
    # data. It derives from BaseException and its class cannot be imported, so match its name.
    return type(error).__name__ == "PanicException"


def decoder_name(plugin: str, transfer_syntax: UID) -> str:
    """Return the decoder name recorded in the provenance, such as "pylibjpeg-openjpeg"."""
    if not plugin:
        if transfer_syntax == DeflatedExplicitVRLittleEndian:
            return "pydicom-native (deflate)"
        return "pydicom-native"
    if plugin == "pylibjpeg":
        if transfer_syntax == "1.2.840.10008.1.2.5":
            return "pylibjpeg-rle"
        if str(transfer_syntax).startswith(("1.2.840.10008.1.2.4.9", "1.2.840.10008.1.2.4.20")):
            return "pylibjpeg-openjpeg"
        return "pylibjpeg-libjpeg"
    if plugin == "pydicom":
        return "pydicom-rle"
    return plugin


def clip_to_bits_stored(
    stored: np.ndarray, geometry: ImageGeometry, warnings: list[ImagingWarning]
) -> np.ndarray:
    """Clip values outside the Bits Stored range and add a warning with their count."""
    if geometry.signed:
        low, high = -(2 ** (geometry.bits_stored - 1)), 2 ** (geometry.bits_stored - 1) - 1
    else:
        low, high = 0, 2**geometry.bits_stored - 1
    actual_low, actual_high = int(stored.min()), int(stored.max())
    if actual_low >= low and actual_high <= high:
        return stored
    outside = int(np.count_nonzero((stored < low) | (stored > high)))
    logger.warning("Clipping %d pixel values outside the %d-bit range", outside, geometry.bits_stored)
    warnings.append(messages.pixel_values_clipped(outside, geometry.bits_stored, geometry.signed))
    return np.clip(stored, low, high)
