"""Reading DICOM files into radiographs.

The header is parsed and checked (pixel data present, geometry valid, size
within the limits, frame chosen, transfer syntax decodable, pixel data
complete) before any pixel is decoded. ``dicom_decode`` decodes the pixels
and ``dicom_display`` turns them into display values.
"""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.pixels import apply_color_lut, convert_color_space
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
)

from inference.imaging import messages
from inference.imaging.colour import has_equal_channels, to_luma
from inference.imaging.dicom_decode import (
    ImageGeometry,
    check_decodable,
    check_pixel_data_complete,
    clip_to_bits_stored,
    decode_frame,
    decoder_name,
)
from inference.imaging.dicom_deflate import read_deflated_dataset
from inference.imaging.dicom_display import GrayscaleResult, to_display_grayscale
from inference.imaging.frames import choose_frame
from inference.imaging.header import (
    decimal_values,
    header_warnings,
    is_image_storage_class,
    read_header,
    sop_class_name,
    text_value,
)
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

GRAYSCALE_INTERPRETATIONS = frozenset({"MONOCHROME1", "MONOCHROME2"})
COLOUR_INTERPRETATIONS = frozenset(
    {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420", "PALETTE COLOR"}
)

_ALWAYS_LOSSY_SYNTAXES = {
    JPEGBaseline8Bit: "JPEG baseline",
    JPEGExtended12Bit: "JPEG extended",
    JPEGLSNearLossless: "JPEG-LS near-lossless",
}


def read_dicom(path: Path, *, has_preamble: bool, limits: ImagingLimits, frame: int | None) -> Radiograph:
    """Read one frame of a DICOM file as a radiograph."""
    notes: list[str] = []
    ds = _read_dataset(path, has_preamble=has_preamble, limits=limits, notes=notes)
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
    decoder = check_decodable(transfer_syntax)
    # Before the frame is chosen, so that a Number of Frames that the pixel data cannot hold is
    # reported as damage rather than as a multi-frame file.
    check_pixel_data_complete(ds, transfer_syntax, geometry, limits, notes)
    frame_index, frame_policy = choose_frame(geometry.number_of_frames, frame)

    stored, plugin, decoded_interpretation = decode_frame(ds, decoder, transfer_syntax, geometry, frame_index)

    warnings: list[ImagingWarning] = []
    stored = clip_to_bits_stored(stored, geometry, warnings)

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
        decoder=decoder_name(plugin, transfer_syntax),
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


def _read_dataset(path: Path, *, has_preamble: bool, limits: ImagingLimits, notes: list[str]) -> Dataset:
    # force=True only for files whose first bytes sniff.looks_like_dicom_without_preamble accepted.
    try:
        ds = read_deflated_dataset(path, has_preamble=has_preamble, limits=limits)
        if ds is None:
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
        raise messages.invalid_header_value(keyword, None, reason=str(error)) from error
    if value is None or value == "":
        if default is None:
            raise messages.invalid_header_value(keyword, None)
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise messages.invalid_header_value(keyword, value) from error


# Attributes of the Image Pixel module. A dataset with any of them but no Pixel Data was cut
# short before the pixels, because Pixel Data is the last element of an image.
_IMAGE_PIXEL_KEYWORDS = ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation", "SamplesPerPixel")


def _raise_without_pixel_data(ds: Dataset) -> None:
    if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        raise messages.unsupported_pixel_format("floating-point pixel data", "浮動小数点の画素データ")
    if any(keyword in ds for keyword in _IMAGE_PIXEL_KEYWORDS):
        raise messages.truncated_file("dicom", "Image Pixel module present but no (7FE0,0010) Pixel Data")
    sop_class_uid = text_value(ds, "SOPClassUID")
    if not sop_class_uid or not UID(sop_class_uid).is_valid:
        # Bytes that only begin like DICOM parse into a few random elements and no SOP class.
        raise messages.dicom_unreadable(f"no Pixel Data and no valid SOP Class UID ({len(ds)} elements read)")
    if is_image_storage_class(sop_class_uid):
        raise messages.truncated_file("dicom", f"image SOP class {sop_class_uid} without Pixel Data")
    raise messages.dicom_without_pixel_data(sop_class_name(sop_class_uid))


def _check_geometry(ds: Dataset, limits: ImagingLimits) -> ImageGeometry:
    if "PixelData" not in ds:
        _raise_without_pixel_data(ds)

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
        raise messages.unsupported_pixel_format("1-bit pixel data", "1 ビットの画素データ")
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
        except _PARSE_ERRORS as error:
            raise messages.invalid_header_value(
                "Palette Color Lookup Table", None, reason=f"{type(error).__name__}: {error}"
            ) from error
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
