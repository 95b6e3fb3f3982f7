"""Writing phantom images as DICOM (several transfer syntaxes), PNG and JPEG."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from inference.phantoms.acquisition import Acquisition
from inference.phantoms.render import COLLIMATED_SIGNAL

logger = logging.getLogger(__name__)

CR_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.1")
DX_IMAGE_STORAGE_FOR_PRESENTATION = UID("1.2.840.10008.5.1.4.1.1.1.1")

# DICOM encodings by name. pydicom 3.0 encodes RLE Lossless natively and JPEG
# 2000 with pylibjpeg-openjpeg. It has no encoder for JPEG Lossless and needs the
# separate pyjpegls package for JPEG-LS, so those two are transcoded with GDCM
# (python-gdcm) when it is installed.
DICOM_ENCODINGS: dict[str, UID] = {
    "explicit_vr_little_endian": ExplicitVRLittleEndian,
    "implicit_vr_little_endian": ImplicitVRLittleEndian,
    "rle_lossless": RLELossless,
    "jpeg2000_lossless": JPEG2000Lossless,
    "jpeg_lossless_sv1": JPEGLosslessSV1,
    "jpegls_lossless": JPEGLSLossless,
}
_GDCM_ENCODINGS = ("jpeg_lossless_sv1", "jpegls_lossless")


@dataclass(frozen=True)
class WrittenImage:
    """Location and encoding of one written phantom image."""

    path: Path
    file_format: str
    encoding: str  # DICOM encoding name, "png8", "png16" or "jpeg"
    photometric_interpretation: str
    bits_stored: int
    window: tuple[float, float] | None  # centre and width in stored values, when written to the header


@dataclass(frozen=True)
class DicomIdentity:
    """Synthetic identifiers written into a phantom's DICOM header."""

    patient_id: str
    patient_name: str
    patient_sex: str
    patient_age: int
    study_date: str
    image_number: int
    uid_entropy: tuple[str, ...]  # seed, patient and image: the same inputs give the same UIDs


def available_dicom_encodings() -> tuple[str, ...]:
    """Return the DICOM encodings that this installation can write."""
    names = [name for name in DICOM_ENCODINGS if name not in _GDCM_ENCODINGS]
    try:
        from pydicom.pixels.encoders import JPEG2000LosslessEncoder

        if not JPEG2000LosslessEncoder.is_available:
            names.remove("jpeg2000_lossless")
    except ImportError:
        names.remove("jpeg2000_lossless")
    try:
        import gdcm  # noqa: F401

        names.extend(_GDCM_ENCODINGS)
    except ImportError:
        pass
    return tuple(names)


def stored_values(signal: np.ndarray, acquisition: Acquisition, rng: np.random.Generator) -> np.ndarray:
    """Return the detector values (uint16, ``bits_stored`` bits) for a log signal.

    MONOCHROME2 stores bone bright; MONOCHROME1 stores the inverse, as many CR
    readers do, so the reader must flip it.
    """
    maximum = 2**acquisition.bits_stored - 1
    low = float(rng.uniform(0.01, 0.08)) * maximum
    high = float(rng.uniform(0.75, 0.97)) * maximum
    values = low + np.clip(signal / COLLIMATED_SIGNAL, 0.0, 1.05) * (high - low)
    values = np.clip(np.rint(values), 0, maximum)
    if acquisition.photometric == "MONOCHROME1":
        values = maximum - values
    return values.astype(np.uint16)


def _window(values: np.ndarray, region: tuple[slice, slice]) -> tuple[float, float]:
    """Return a window (centre, width) from the 1st to the 99.5th percentile of ``region``."""
    low, high = np.percentile(values[region], [1.0, 99.5])
    width = max(float(high - low), 2.0)
    return float(low + width / 2), width


def _display8(values: np.ndarray, acquisition: Acquisition, region: tuple[slice, slice]) -> np.ndarray:
    """Return the 8-bit image with bone bright, windowed on ``region``."""
    centre, width = _window(values, region)
    scaled = np.clip((values.astype(np.float32) - (centre - width / 2)) / width, 0.0, 1.0)
    if acquisition.photometric == "MONOCHROME1":
        scaled = 1.0 - scaled
    return np.rint(scaled * 255).astype(np.uint8)


def write_image(
    path_stem: Path,
    values: np.ndarray,
    acquisition: Acquisition,
    window_region: tuple[slice, slice],
    spacing_mm: float,
    identity: DicomIdentity,
    encoding: str,
) -> WrittenImage:
    """Write ``values`` in the acquisition's file format; return where and how."""
    if acquisition.file_format == "dicom":
        return _write_dicom(
            path_stem.with_suffix(".dcm"), values, acquisition, window_region, spacing_mm, identity, encoding
        )
    if acquisition.file_format == "png":
        # Half of the PNGs keep 16 bits (bone bright, unwindowed), the rest are 8-bit displays.
        if encoding == "png16":
            maximum = 2**acquisition.bits_stored - 1
            bright = values if acquisition.photometric == "MONOCHROME2" else maximum - values
            scaled = np.rint(bright.astype(np.float64) * (65535 / maximum)).astype(np.uint16)
            path = path_stem.with_suffix(".png")
            Image.fromarray(scaled).save(path, optimize=False)
            return WrittenImage(path, "png", "png16", "MONOCHROME2", 16, None)
        path = path_stem.with_suffix(".png")
        Image.fromarray(_display8(values, acquisition, window_region)).save(path)
        return WrittenImage(path, "png", "png8", "MONOCHROME2", 8, None)
    path = path_stem.with_suffix(".jpg")
    Image.fromarray(_display8(values, acquisition, window_region)).save(path, quality=92)
    return WrittenImage(path, "jpeg", "jpeg", "MONOCHROME2", 8, None)


def _dicom_dataset(
    values: np.ndarray, acquisition: Acquisition, spacing_mm: float, identity: DicomIdentity
) -> Dataset:
    def uid(kind: str) -> UID:
        return generate_uid(entropy_srcs=[*identity.uid_entropy, kind])

    sop_class = CR_IMAGE_STORAGE if acquisition.modality == "CR" else DX_IMAGE_STORAGE_FOR_PRESENTATION
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = uid("sop")
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[*identity.uid_entropy[:2], "study"])
    ds.SeriesInstanceUID = uid("series")
    ds.PatientName = identity.patient_name
    ds.PatientID = identity.patient_id
    ds.PatientSex = identity.patient_sex
    ds.PatientAge = f"{identity.patient_age:03d}Y"
    # Fixed dates and times: GDCM fills a missing StudyTime with the clock, which
    # would make two runs with the same seed write different files.
    ds.StudyDate = identity.study_date
    ds.SeriesDate = identity.study_date
    ds.ContentDate = identity.study_date
    ds.StudyTime = "090000"
    ds.SeriesTime = "090000"
    ds.ContentTime = f"0900{identity.image_number:02d}"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = identity.image_number
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Modality = acquisition.modality
    ds.Manufacturer = "OLVF screen phantom generator"
    ds.BodyPartExamined = "LSPINE"
    ds.ViewPosition = "LL"
    # Rows run posterior (the patient faces left), columns run towards the feet.
    ds.PatientOrientation = ["P", "F"]
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SeriesDescription = "Synthetic lateral lumbar spine (phantom, not a patient)"
    ds.BurnedInAnnotation = "NO"
    if acquisition.modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.RescaleSlope = 1
        ds.RescaleIntercept = 0
        ds.RescaleType = "US"
    setattr(ds, acquisition.spacing_tag, [round(spacing_mm, 6), round(spacing_mm, 6)])
    ds.set_pixel_data(values, acquisition.photometric, acquisition.bits_stored, generate_instance_uid=False)
    return ds


def _write_dicom(
    path: Path,
    values: np.ndarray,
    acquisition: Acquisition,
    window_region: tuple[slice, slice],
    spacing_mm: float,
    identity: DicomIdentity,
    encoding: str,
) -> WrittenImage:
    ds = _dicom_dataset(values, acquisition, spacing_mm, identity)
    window = None
    if acquisition.window_in_header:
        window = _window(values, window_region)
        ds.WindowCenter = round(window[0], 1)
        ds.WindowWidth = round(window[1], 1)
    transfer_syntax = DICOM_ENCODINGS[encoding]
    if encoding in _GDCM_ENCODINGS:
        ds.save_as(path, enforce_file_format=True)
        _transcode_with_gdcm(path, transfer_syntax)
        # GDCM adds attributes of its own (an ImagerPixelSpacing of [1, 1], rescale
        # values, its AE title), so only its encoded pixel data is kept.
        encoded = dcmread(path)
        ds.file_meta.TransferSyntaxUID = transfer_syntax
        ds.PixelData = encoded.PixelData
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.save_as(path, enforce_file_format=True)
    else:
        if transfer_syntax == ImplicitVRLittleEndian:
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        elif transfer_syntax.is_compressed:
            ds.compress(transfer_syntax, generate_instance_uid=False)
        ds.save_as(path, enforce_file_format=True)
    return WrittenImage(path, "dicom", encoding, acquisition.photometric, acquisition.bits_stored, window)


def _transcode_with_gdcm(path: Path, transfer_syntax: UID) -> None:
    """Rewrite the DICOM file at ``path`` in ``transfer_syntax`` with GDCM."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    if not reader.Read():
        raise RuntimeError(f"GDCM could not read the phantom it is asked to transcode: {path}")
    target = {
        JPEGLosslessSV1: gdcm.TransferSyntax.JPEGLosslessProcess14_1,
        JPEGLSLossless: gdcm.TransferSyntax.JPEGLSLossless,
    }[transfer_syntax]
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(target))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise RuntimeError(f"GDCM could not encode {path} as {transfer_syntax.name}")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(path))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise RuntimeError(f"GDCM could not write {path}")
