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


def check_pixel_data_complete(ds: Dataset, transfer_syntax: UID, geometry: ImageGeometry) -> None:
    """Raise DamagedImageError when the pixel data is shorter than the geometry needs or was cut short."""
    element = ds["PixelData"]
    value = element.value
    if value is None:
        raise messages.pixel_data_too_short(1, 0)
    if transfer_syntax.is_encapsulated:
        if not element.is_undefined_length:
            raise messages.invalid_header_value("Pixel Data length", "defined length for compressed data")
        _check_fragments_complete(value, transfer_syntax)
        return
    expected = (
        geometry.rows
        * geometry.columns
        * geometry.samples_per_pixel
        * geometry.number_of_frames
        * geometry.bits_allocated
        // 8
    )
    if geometry.photometric_interpretation == "YBR_FULL_422":
        # YBR_FULL_422 stores two Y values per Cb, Cr pair, so 2 values per pixel instead of 3.
        expected = expected * 2 // 3
    if len(value) < expected:
        raise messages.pixel_data_too_short(expected, len(value))


def _check_fragments_complete(value: bytes, transfer_syntax: UID) -> None:
    """Walk the encapsulated items and raise DamagedImageError when the data was cut short."""
    offset = 0
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
            array, meta = decoder.as_array(ds, index=frame_index, bits_stored=bits_to_decode)  # type: ignore[arg-type]
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
            logger.warning("Decoding plugin %s failed on %s: %s", plugin, transfer_syntax.name, error)
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
