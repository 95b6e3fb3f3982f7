"""Fixtures for the imaging tests: DICOM files written with pydicom into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DX_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation

WriteDicom = Callable[..., Path]


def testdata(name: str) -> str:
    """Return the path of a pydicom or pydicom-data test file, failing the test when it is missing."""
    path = get_testdata_file(name)
    if path is None:
        pytest.fail(f"test file {name} not found in pydicom or pydicom-data")
    return str(path)


def gradient_image(rows: int = 64, columns: int = 48, *, maximum: int = 4095, seed: int = 0) -> np.ndarray:
    """Return a uint16 image with a smooth gradient plus noise, values 0..maximum."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns]
    base = (y / max(rows - 1, 1)) * 0.7 + (x / max(columns - 1, 1)) * 0.3
    noisy = base * maximum + rng.normal(0.0, maximum * 0.02, size=base.shape)
    return np.clip(np.rint(noisy), 0, maximum).astype(np.uint16)


def make_dataset(pixels: np.ndarray | None, **attributes: Any) -> Dataset:
    """Build a lumbar DX dataset around ``pixels`` (uint16 or int16, 2-D); keyword arguments override attributes."""
    ds = Dataset()

    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = DX_SOP_CLASS
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()

    ds.SOPClassUID = DX_SOP_CLASS
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.BodyPartExamined = "LSPINE"
    ds.ViewPosition = "LL"
    ds.PatientID = "PHANTOM-1"
    ds.PatientName = "Phantom^Test"
    ds.PatientBirthDate = "19500101"
    ds.PatientSex = "F"
    ds.AccessionNumber = "ACC1"
    ds.StudyDate = "20261204"
    ds.Manufacturer = "OLVF tests"
    ds.PixelSpacing = [0.15, 0.15]

    if pixels is not None:
        signed = pixels.dtype.kind == "i"
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = pixels.dtype.itemsize * 8
        ds.BitsStored = 12 if pixels.dtype.itemsize == 2 else 8
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = int(signed)
        ds.PixelData = pixels.tobytes()

    for keyword, value in attributes.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


@pytest.fixture
def write_dicom(tmp_path: Path) -> WriteDicom:
    """Return a function that writes a dataset (or pixels plus attributes) to a file in tmp_path."""
    counter = {"n": 0}

    def write(
        pixels: np.ndarray | Dataset | None = None, *, name: str | None = None, **attributes: Any
    ) -> Path:
        ds = pixels if isinstance(pixels, Dataset) else make_dataset(pixels, **attributes)
        counter["n"] += 1
        path = tmp_path / (name or f"image{counter['n']}.dcm")
        ds.save_as(path, enforce_file_format=True)
        return path

    return write


@pytest.fixture(name="testdata")
def testdata_fixture() -> Callable[[str], str]:
    """Return the function that finds pydicom and pydicom-data test files."""
    return testdata


@pytest.fixture(name="make_dataset")
def make_dataset_fixture() -> Callable[..., Dataset]:
    """Return the function that builds a lumbar DX dataset around pixels."""
    return make_dataset


@pytest.fixture(name="gradient_image")
def gradient_image_fixture() -> Callable[..., np.ndarray]:
    """Return the function that draws a noisy uint16 gradient image."""
    return gradient_image
