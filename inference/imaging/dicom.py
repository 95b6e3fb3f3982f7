"""Reading and decoding DICOM files.

The header is parsed and checked (pixel data present, geometry valid, size
within the limits, frame chosen, transfer syntax decodable, pixel data
complete) before any pixel is decoded. Decoding goes through pydicom's
decoders, which use pylibjpeg (openjpeg, libjpeg, rle plugins) first and
GDCM as the fallback.
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.pixels import apply_color_lut, convert_color_space, get_decoder
from pydicom.pixels.decoders.base import Decoder
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
)

from inference.imaging import messages
from inference.imaging.colour import has_equal_channels, to_luma
from inference.imaging.dicom_display import GrayscaleResult, to_display_grayscale
from inference.imaging.header import decimal_values, header_warnings, read_header, sop_class_name, text_value
from inference.imaging.limits import ImagingLimits
from inference.imaging.spacing import read_spacing
from inference.imaging.types import ImagingWarning, Provenance, Radiograph
from inference.imaging.windowing import render_uint8

logger = logging.getLogger(__name__)

# Errors that pydicom raises while parsing a damaged or non-conforming file.
_PARSE_ERRORS = (
    InvalidDicomError,
    BytesLengthException,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    NotImplementedError,
    OverflowError,
    zlib.error,
)

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

GRAYSCALE_INTERPRETATIONS = frozenset({"MONOCHROME1", "MONOCHROME2"})
COLOUR_INTERPRETATIONS = frozenset(
    {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420", "PALETTE COLOR"}
)

# Encapsulated syntaxes whose every frame ends with the FFD9 marker (JPEG EOI,
# JPEG-LS EOI, JPEG 2000 EOC). A missing marker means the file was cut short.
_SYNTAXES_ENDING_WITH_FFD9 = (
    "1.2.840.10008.1.2.4.5",
    "1.2.840.10008.1.2.4.8",
    "1.2.840.10008.1.2.4.9",
    "1.2.840.10008.1.2.4.20",
)

_ALWAYS_LOSSY_SYNTAXES = {
    JPEGBaseline8Bit: "JPEG baseline",
    JPEGExtended12Bit: "JPEG extended",
    JPEGLSNearLossless: "JPEG-LS near-lossless",
}


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


def read_dicom(path: Path, *, has_preamble: bool, limits: ImagingLimits, frame: int | None) -> Radiograph:
    """Read one frame of a DICOM file as a radiograph."""
    notes: list[str] = []
    ds = _read_dataset(path, has_preamble=has_preamble, notes=notes)
    # pydicom converts most elements only when they are first accessed, so a damaged element
    # can raise anywhere below. Those errors mean a damaged file, not a fault in this module.
    try:
        return _interpret_dataset(ds, path, notes, limits=limits, frame=frame)
    except _PARSE_ERRORS as error:
        logger.warning("DICOM element conversion failed: %s: %s", type(error).__name__, error)
        raise messages.dicom_unreadable(f"{type(error).__name__}: {error}") from error


def _interpret_dataset(
    ds: Dataset, path: Path, notes: list[str], *, limits: ImagingLimits, frame: int | None
) -> Radiograph:
    transfer_syntax = _transfer_syntax(ds, notes)
    geometry = _check_geometry(ds, limits)
    frame_index, frame_policy = _choose_frame(geometry.number_of_frames, frame)
    decoder = _check_decodable(transfer_syntax)
    _check_pixel_data_complete(ds, transfer_syntax, geometry)

    stored, plugin, decoded_interpretation = _decode(ds, decoder, transfer_syntax, geometry, frame_index)

    warnings: list[ImagingWarning] = []
    stored = _clip_to_bits_stored(stored, geometry, warnings)

    header = read_header(ds)
    warnings.extend(header_warnings(header))
    lossy = _lossy_description(ds, transfer_syntax)
    if lossy:
        warnings.append(messages.lossy_compression(lossy))

    derived_from_colour = decoded_interpretation not in GRAYSCALE_INTERPRETATIONS
    if derived_from_colour:
        display = _colour_to_display(ds, stored, decoded_interpretation, geometry, warnings)
    else:
        display = to_display_grayscale(ds, stored, decoded_interpretation, signed=geometry.signed)
    warnings.extend(display.warnings)
    notes.extend(display.notes)

    spacing_reading = read_spacing(ds)
    warnings.extend(spacing_reading.warnings)
    notes.extend(spacing_reading.notes)

    provenance = Provenance(
        file_type="dicom",
        decoder=_decoder_name(plugin, transfer_syntax),
        transfer_syntax_uid=str(transfer_syntax),
        transfer_syntax_name=transfer_syntax.name,
        photometric_interpretation=geometry.photometric_interpretation,
        bits_allocated=geometry.bits_allocated,
        bits_stored=geometry.bits_stored,
        pixel_representation=int(geometry.signed),
        rows=geometry.rows,
        columns=geometry.columns,
        number_of_frames=geometry.number_of_frames,
        frame_index=frame_index,
        frame_policy=frame_policy,
        modality_lut=display.modality_lut,
        voi_lut=display.voi_lut,
        window_center=display.window_center,
        window_width=display.window_width,
        inverted=display.inverted,
        derived_from_colour=derived_from_colour,
        notes=tuple(notes),
    )
    return Radiograph(
        pixels=display.pixels,
        rendering=render_uint8(display.pixels),
        spacing=spacing_reading.spacing,
        header=header,
        provenance=provenance,
        warnings=tuple(warnings),
        source_path=str(path),
    )


# ------------------------------------------------------------------ the header


def _read_dataset(path: Path, *, has_preamble: bool, notes: list[str]) -> Dataset:
    # force=True only for files whose first bytes sniff.looks_like_dicom_without_preamble accepted.
    try:
        ds = pydicom.dcmread(path, force=not has_preamble)
    except _PARSE_ERRORS as error:
        raise messages.dicom_unreadable(f"{type(error).__name__}: {error}") from error
    if len(ds) == 0:
        # pydicom drops every element it read when the file ends inside an element, so an empty
        # dataset after valid file meta information means the file was cut short.
        raise messages.truncated_file("dicom", "no data elements after the file meta information")
    if not has_preamble:
        notes.append(
            "file has no 128-byte preamble; read because its first element is a plausible DICOM element"
        )
    return ds


def _transfer_syntax(ds: Dataset, notes: list[str]) -> UID:
    file_meta = getattr(ds, "file_meta", None)
    uid_text = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
    if uid_text:
        return UID(str(uid_text).strip("\x00 "))

    # Without file meta information, only a native encoding can be inferred from the bytes.
    if "PixelData" in ds and ds["PixelData"].is_undefined_length:
        raise messages.no_transfer_syntax_for_compressed_data()
    implicit, little_endian = getattr(ds, "original_encoding", (None, None))
    if implicit:
        uid = ImplicitVRLittleEndian
    elif little_endian is False:
        uid = ExplicitVRBigEndian
    else:
        uid = ExplicitVRLittleEndian
    if file_meta is None:
        ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid
    notes.append(f"no Transfer Syntax UID in the file; {uid.name} inferred from the dataset encoding")
    return uid


def _int_attribute(ds: Dataset, keyword: str, default: int | None = None) -> int:
    try:
        value = ds.get(keyword)
    except (ValueError, TypeError) as error:
        raise messages.invalid_header_value(keyword, str(error)) from error
    if value is None or value == "":
        if default is None:
            raise messages.invalid_header_value(keyword, None)
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise messages.invalid_header_value(keyword, value) from error


def _check_geometry(ds: Dataset, limits: ImagingLimits) -> ImageGeometry:
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise messages.unsupported_pixel_format("floating-point pixel data")
        raise messages.dicom_without_pixel_data(sop_class_name(text_value(ds, "SOPClassUID")))

    rows = _int_attribute(ds, "Rows")
    columns = _int_attribute(ds, "Columns")
    if rows <= 0 or columns <= 0:
        raise messages.invalid_header_value("Rows x Columns", f"{rows} x {columns}")
    # Checked before any pixel is decoded, so a forged header cannot cause a huge allocation.
    if rows * columns > limits.max_pixels_per_frame:
        raise messages.too_many_pixels(rows, columns, limits.max_pixels_per_frame)

    samples_per_pixel = _int_attribute(ds, "SamplesPerPixel", default=1)
    bits_allocated = _int_attribute(ds, "BitsAllocated")
    bits_stored = _int_attribute(ds, "BitsStored", default=bits_allocated)
    pixel_representation = _int_attribute(ds, "PixelRepresentation", default=0)
    interpretation = (text_value(ds, "PhotometricInterpretation") or "").upper()

    if bits_allocated == 1:
        raise messages.unsupported_pixel_format("1-bit pixel data")
    if bits_allocated not in (8, 16, 32):
        raise messages.invalid_header_value("Bits Allocated", bits_allocated)
    if not 1 <= bits_stored <= bits_allocated:
        raise messages.invalid_header_value("Bits Stored", bits_stored)
    if pixel_representation not in (0, 1):
        raise messages.invalid_header_value("Pixel Representation", pixel_representation)
    if interpretation in GRAYSCALE_INTERPRETATIONS | {"PALETTE COLOR"}:
        if samples_per_pixel != 1:
            raise messages.invalid_header_value("Samples per Pixel", samples_per_pixel)
    elif interpretation in COLOUR_INTERPRETATIONS:
        if samples_per_pixel != 3:
            raise messages.invalid_header_value("Samples per Pixel", samples_per_pixel)
    else:
        raise messages.unsupported_pixel_format(f"Photometric Interpretation {interpretation or 'missing'}")

    frames_values = decimal_values(ds, "NumberOfFrames")
    number_of_frames = 1
    if frames_values is not None:
        if len(frames_values) != 1 or frames_values[0] != int(frames_values[0]) or frames_values[0] < 1:
            raise messages.invalid_header_value("Number of Frames", frames_values)
        number_of_frames = int(frames_values[0])

    return ImageGeometry(
        rows=rows,
        columns=columns,
        samples_per_pixel=samples_per_pixel,
        bits_allocated=bits_allocated,
        bits_stored=bits_stored,
        signed=pixel_representation == 1,
        photometric_interpretation=interpretation,
        number_of_frames=number_of_frames,
    )


def _choose_frame(number_of_frames: int, frame: int | None) -> tuple[int, str]:
    # The caller must name the frame of a multi-frame file, so frame 0 is never chosen silently.
    if number_of_frames == 1:
        if frame not in (None, 0):
            raise messages.frame_out_of_range(frame, 1)
        return 0, "single frame"
    if frame is None:
        raise messages.multi_frame(number_of_frames)
    if not 0 <= frame < number_of_frames:
        raise messages.frame_out_of_range(frame, number_of_frames)
    return frame, f"frame {frame} of {number_of_frames}, chosen by the caller"


def _check_decodable(transfer_syntax: UID) -> Decoder:
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


def _check_pixel_data_complete(ds: Dataset, transfer_syntax: UID, geometry: ImageGeometry) -> None:
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


# --------------------------------------------------------------------- decoding


def _decode(
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


def _decoder_name(plugin: str, transfer_syntax: UID) -> str:
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


def _clip_to_bits_stored(
    stored: np.ndarray, geometry: ImageGeometry, warnings: list[ImagingWarning]
) -> np.ndarray:
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


def _lossy_description(ds: Dataset, transfer_syntax: UID) -> str | None:
    if transfer_syntax in _ALWAYS_LOSSY_SYNTAXES:
        return _ALWAYS_LOSSY_SYNTAXES[transfer_syntax]
    if text_value(ds, "LossyImageCompression") == "01":
        method = text_value(ds, "LossyImageCompressionMethod")
        return f"Lossy Image Compression is 01{f', method {method}' if method else ''}"
    if transfer_syntax in (JPEG2000, HTJ2K) and text_value(ds, "LossyImageCompression") != "00":
        return f"{transfer_syntax.name}, which may be lossy, and the header does not mark it lossless"
    return None


# ------------------------------------------------------------------------ colour


def _colour_to_display(
    ds: Dataset,
    stored: np.ndarray,
    interpretation: str,
    geometry: ImageGeometry,
    warnings: list[ImagingWarning],
) -> GrayscaleResult:
    """Convert colour pixels to grayscale by BT.601 luma and map the stored range to 0..1.

    Colour images are display-ready, so no window is computed and the full
    range of the stored or palette values maps to 0..1.
    """
    notes: list[str] = []
    maximum = float(2**geometry.bits_stored - 1)
    if interpretation == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(stored, ds)
        except _DECODE_ERRORS as error:
            raise messages.invalid_header_value("Palette Color Lookup Table", str(error)) from error
        maximum = float(np.iinfo(rgb.dtype).max) if rgb.dtype.kind in "ui" else 1.0
        notes.append("palette colour expanded with the Palette Color Lookup Table")
    elif interpretation.startswith("YBR_FULL"):
        rgb = convert_color_space(stored, interpretation, "RGB")
        notes.append(f"{interpretation} converted to RGB")
    else:
        rgb = stored

    if has_equal_channels(rgb):
        gray = rgb[..., 0].astype(np.float32)
        notes.append("colour pixels with equal channels read as grayscale")
    else:
        gray = to_luma(rgb)
        warnings.append(messages.colour_converted(geometry.photometric_interpretation))
    pixels = gray / np.float32(maximum)
    np.clip(pixels, 0.0, 1.0, out=pixels)
    return GrayscaleResult(
        pixels=pixels,
        modality_lut="none (colour)",
        voi_lut=f"none (colour, full stored range 0..{maximum:g})",
        window_center=None,
        window_width=None,
        inverted=False,
        warnings=(),
        notes=tuple(notes),
    )
