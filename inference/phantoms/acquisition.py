"""Acquisition settings of one phantom image: size, spacing, exposure, encoding and distractors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

FileFormat = Literal["dicom", "png", "jpeg"]
FILE_FORMATS: tuple[str, ...] = ("dicom", "png", "jpeg")


@dataclass(frozen=True)
class Acquisition:
    """Everything that varies between two images of the same phantom patient."""

    rows: int
    aspect: float  # columns / rows before any widening to fit the spine
    field_margin: float  # field of view height over the height of the spine
    rotation_degrees: float
    lordosis_mm: float
    sacral_tilt_degrees: float
    photons: float  # mean photon count per pixel without attenuation: sets the quantum noise
    attenuation_scale: float  # exposure and beam quality: scales every density
    blur_pixels: float  # detector unsharpness, Gaussian sigma
    file_format: FileFormat
    photometric: Literal["MONOCHROME1", "MONOCHROME2"]
    bits_stored: int
    modality: Literal["CR", "DX"]
    spacing_tag: Literal["PixelSpacing", "ImagerPixelSpacing"]
    window_in_header: bool
    collimation: tuple[float, float, float, float]  # left, top, right, bottom, fraction of the side
    marker: Literal["L", "R"] | None
    marker_corner: Literal["top_left", "top_right", "bottom_left", "bottom_right"]
    ribs: int  # ribs drawn over T12 and L1
    iliac_crest: bool
    bowel_gas: int  # number of gas pockets
    heel_effect: float  # relative change of the incident intensity from the top to the bottom row


def sample_acquisition(
    rng: np.random.Generator,
    formats: tuple[str, ...],
    image_size: int | None,
) -> Acquisition:
    """Draw the acquisition of one image; ``image_size`` fixes the number of rows."""
    rows = int(image_size) if image_size else int(rng.integers(896, 1281))
    collimation = tuple(float(rng.uniform(0.02, 0.08)) if rng.random() < 0.35 else 0.0 for _ in range(4))
    file_format: FileFormat = formats[int(rng.integers(len(formats)))]  # type: ignore[assignment]
    marker: Literal["L", "R"] | None = "L" if rng.random() < 0.5 else "R"
    if rng.random() >= 0.85:
        marker = None  # some films carry no side marker
    return Acquisition(
        rows=rows,
        aspect=float(rng.uniform(0.72, 0.9)),
        field_margin=float(rng.uniform(1.2, 1.45)),
        rotation_degrees=float(np.clip(rng.normal(0.0, 6.0), -15.0, 15.0)),
        lordosis_mm=float(rng.uniform(6.0, 26.0)),
        sacral_tilt_degrees=float(rng.uniform(15.0, 30.0)),
        photons=float(np.exp(rng.uniform(np.log(800.0), np.log(6000.0)))),
        attenuation_scale=float(rng.uniform(0.85, 1.15)),
        blur_pixels=float(rng.uniform(0.5, 1.2)),
        file_format=file_format,
        photometric="MONOCHROME1" if rng.random() < 0.35 else "MONOCHROME2",
        bits_stored=int(rng.choice([12, 14, 15, 16])),
        modality="CR" if rng.random() < 0.5 else "DX",
        spacing_tag="PixelSpacing" if rng.random() < 0.7 else "ImagerPixelSpacing",
        window_in_header=bool(rng.random() < 0.8),
        collimation=collimation,  # type: ignore[arg-type]
        marker=marker,
        marker_corner=("top_left", "top_right", "bottom_left", "bottom_right")[int(rng.integers(4))],  # type: ignore[arg-type]
        ribs=int(rng.choice([0, 1, 2], p=[0.1, 0.3, 0.6])),
        iliac_crest=bool(rng.random() < 0.9),
        bowel_gas=int(rng.integers(0, 7)),
        heel_effect=float(rng.uniform(-0.25, 0.25)),
    )
