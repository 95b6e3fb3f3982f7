"""Synthetic lateral lumbar radiographs (phantoms) with known truth, for training and tests.

Every phantom shows T12 to S1 of a patient who faces left, with a truth JSON
per image in the labelled-folder format that ``inference.datasets`` reads.
"""

from __future__ import annotations

from inference.phantoms.anatomy import LEVELS, genant_grade
from inference.phantoms.export import export_crops, export_yolo
from inference.phantoms.generator import (
    DEFAULT_CLASS_MIX,
    DatasetInfo,
    PhantomImage,
    generate_dataset,
    generate_image,
    generate_patient,
)
from inference.phantoms.writers import available_dicom_encodings

__all__ = [
    "DEFAULT_CLASS_MIX",
    "LEVELS",
    "DatasetInfo",
    "PhantomImage",
    "available_dicom_encodings",
    "export_crops",
    "export_yolo",
    "generate_dataset",
    "generate_image",
    "generate_patient",
    "genant_grade",
]
