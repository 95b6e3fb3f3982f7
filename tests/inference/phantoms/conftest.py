"""Shared phantom folders, generated once per test session at a small image size."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.phantoms import DatasetInfo, generate_dataset

# Fractures are over-represented so that a few patients cover every class.
FRACTURE_RICH_MIX = {"normal": 0.4, "old": 0.3, "fresh": 0.3}


@pytest.fixture(scope="session")
def phantom_folder(tmp_path_factory: pytest.TempPathFactory) -> DatasetInfo:
    """Return a folder of 6 patients in DICOM, PNG and JPEG with every DICOM encoding."""
    root: Path = tmp_path_factory.mktemp("phantoms")
    return generate_dataset(
        root,
        patients=6,
        seed=11,
        images_per_patient=(1, 2),
        formats=("dicom", "png", "jpeg"),
        class_mix=FRACTURE_RICH_MIX,
        image_size=512,
    )
