"""Value types returned by ``inference.imaging.load``.

These types are the contract between image reading, screening, training and
the web application. Keep fields additive: the web application stores
``Radiograph.to_dict()`` beside every study.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

SpacingSource = Literal["pixel_spacing", "imager_pixel_spacing", "imager_pixel_spacing_corrected", "unknown"]


@dataclass(frozen=True)
class PixelSpacing:
    """Physical size of one pixel in millimetres, with where the value came from.

    ``row_mm`` is the distance between rows (vertical), ``column_mm`` between
    columns. Both are None when ``source`` is "unknown". "imager_pixel_spacing"
    is measured at the detector and is not corrected for magnification.
    """

    row_mm: float | None
    column_mm: float | None
    source: SpacingSource


@dataclass(frozen=True)
class HeaderFacts:
    """Facts from the file header that a clinician or auditor needs; None when absent."""

    modality: str | None = None
    sop_class_uid: str | None = None
    body_part_examined: str | None = None
    view_position: str | None = None
    patient_orientation: str | None = None  # DICOM Patient Orientation, e.g. "P\\F" (rows, columns)
    laterality: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    patient_birth_date: str | None = None  # DICOM DA, YYYYMMDD
    patient_sex: str | None = None
    accession_number: str | None = None
    study_date: str | None = None  # DICOM DA, YYYYMMDD
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None
    manufacturer: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Reading and display steps that turned the pixels into the displayed image."""

    file_type: Literal["dicom", "png", "jpeg"]
    decoder: str  # for example "pydicom-native", "pylibjpeg-openjpeg", "gdcm", "pillow"
    transfer_syntax_uid: str | None = None
    transfer_syntax_name: str | None = None
    photometric_interpretation: str | None = None
    bits_allocated: int | None = None
    bits_stored: int | None = None
    pixel_representation: int | None = None  # 0 unsigned, 1 signed
    rows: int = 0
    columns: int = 0
    number_of_frames: int = 1
    frame_index: int = 0
    frame_policy: str = "single frame"
    modality_lut: str = "none"  # "none", "rescale slope=... intercept=...", "modality LUT sequence"
    voi_lut: str = "none"  # "voi lut sequence", "window center=... width=...", "percentile p1..p99", ...
    window_center: float | None = None
    window_width: float | None = None
    inverted: bool = False  # True when MONOCHROME1 or INVERSE presentation was flipped
    derived_from_colour: bool = False  # True when colour pixels were converted to grayscale
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImagingWarning:
    """A fact about the file that a clinician must see beside the result.

    ``blocks_assessment`` marks warnings that make the study not assessable,
    such as a header that names another body part or a modality that is not a
    projection radiograph.
    """

    code: str  # for example "body_part_not_lumbar", "modality_not_projection", "lossy_compression"
    message_en: str
    message_ja: str
    blocks_assessment: bool = False

    def message(self, language: str = "en") -> str:
        """Return the message in ``language`` ("ja" or "en")."""
        return self.message_ja if language.lower().startswith("ja") else self.message_en


@dataclass(frozen=True)
class Radiograph:
    """One upright grayscale radiograph in which bone is bright.

    ``pixels`` is float32, shape (rows, columns), values in 0..1.
    ``rendering`` is the same image as uint8, shape (rows, columns), 0..255;
    detection, classification and every overlay shown to people use it.
    """

    pixels: np.ndarray = field(repr=False, compare=False)
    rendering: np.ndarray = field(repr=False, compare=False)
    spacing: PixelSpacing
    header: HeaderFacts
    provenance: Provenance
    warnings: tuple[ImagingWarning, ...] = ()
    source_path: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        """Return (rows, columns)."""
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    @property
    def blocking_warnings(self) -> tuple[ImagingWarning, ...]:
        """Return the warnings that make the radiograph not assessable."""
        return tuple(w for w in self.warnings if w.blocks_assessment)

    def to_dict(self) -> dict[str, Any]:
        """Return everything but the pixels as JSON-compatible data."""
        return {
            "shape": list(self.shape),
            "spacing": asdict(self.spacing),
            "header": asdict(self.header),
            "provenance": {**asdict(self.provenance), "notes": list(self.provenance.notes)},
            "warnings": [asdict(w) for w in self.warnings],
            "source_path": self.source_path,
        }
