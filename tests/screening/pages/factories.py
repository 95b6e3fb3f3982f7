"""Rows and files as the screening task stores them, so that the pages are tested without running models."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone
from PIL import Image

from screening.models import AnalysisRun, ModelBundle, Radiograph, Study, VertebraFinding

ARCHITECTURES = ("resnet50", "densenet161", "resnext50_32x4d")
CAM_KEYS = ("ensemble", *ARCHITECTURES)
IMAGE_ROWS, IMAGE_COLUMNS = 200, 120

_numbers = itertools.count(1)


def make_bundle(*, demo: bool = True) -> ModelBundle:
    name, version = ("olvf-demo", "2026.12.04") if demo else ("clinic-model", "1.0")
    bundle, _ = ModelBundle.objects.get_or_create(
        name=name,
        version=version,
        manifest_sha256=hashlib.sha256(name.encode()).hexdigest(),
        defaults={"path": f"/nonexistent/{name}", "manifest": {"name": name, "demo": demo}, "is_demo": demo},
    )
    return bundle


def write_png(relative: str, value: int = 128) -> str:
    """Write a small grey PNG under MEDIA_ROOT and return its MEDIA_ROOT-relative name."""
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((IMAGE_ROWS, IMAGE_COLUMNS), value, dtype=np.uint8)).save(path)
    return relative


def make_study(
    *,
    status: str = "done",
    result_status: str = "mri_recommended",
    classes: Sequence[str] = ("normal", "old", "fresh", "normal", "normal"),
    demo: bool = True,
    patient_id: str | None = None,
    patient_name: str = "Yamada Taro",
    accession_number: str | None = None,
    uploaded_by: Any = None,
    not_assessable_reasons: Sequence[dict[str, str]] = (),
) -> Study:
    """Create a study with its radiograph, and for "done" a current run with findings and overlay files."""
    number = next(_numbers)
    study = Study.objects.create(
        patient_id=patient_id or f"P{number:05d}",
        patient_name=patient_name,
        accession_number=accession_number or f"ACC{number:05d}",
        status=status,
        uploaded_by=uploaded_by,
    )
    original = f"originals/test/{number}"
    (Path(settings.MEDIA_ROOT) / original).parent.mkdir(parents=True, exist_ok=True)
    (Path(settings.MEDIA_ROOT) / original).write_bytes(b"original bytes " + str(number).encode())
    Radiograph.objects.create(
        study=study,
        original=original,
        original_filename=f"study-{number}.dcm",
        sha256=hashlib.sha256(f"page-study-{number}".encode()).hexdigest(),
        size_bytes=20,
        file_type="dicom",
        header={"modality": "DX", "body_part_examined": "LSPINE", "view_position": "LL"},
        provenance={
            "file_type": "dicom",
            "decoder": "pydicom-native",
            "voi_lut": "window center=2048 width=4096",
        },
        spacing={"row_mm": 0.15, "column_mm": 0.15, "source": "pixel_spacing"},
        warnings=[
            {
                "code": "lossy_compression",
                "message_en": "Lossy JPEG compression.",
                "message_ja": "非可逆圧縮です。",
                "blocks_assessment": False,
            }
        ],
        rows=IMAGE_ROWS,
        columns=IMAGE_COLUMNS,
    )
    if status == "failed":
        Study.objects.filter(pk=study.pk).update(
            failure_code="damaged_image",
            failure_message_en="The DICOM file is truncated.",
            failure_message_ja="DICOM ファイルが途中で切れています。",
        )
    if status == "done":
        _make_run(study, classes, result_status, demo, not_assessable_reasons)
    return Study.objects.get(pk=study.pk)


def _make_run(
    study: Study,
    classes: Sequence[str],
    result_status: str,
    demo: bool,
    not_assessable_reasons: Sequence[dict[str, str]],
) -> AnalysisRun:
    bundle = make_bundle(demo=demo)
    folder = f"runs/test-{study.pk}"
    run = AnalysisRun.objects.create(
        study=study,
        bundle=bundle,
        bundle_name=bundle.name,
        bundle_version=bundle.version,
        bundle_manifest_sha256=bundle.manifest_sha256,
        is_demo=demo,
        status="done",
        result_status=result_status,
        not_assessable_reasons=list(not_assessable_reasons),
        thresholds={"fresh": 0.3, "source": "validation split, target fresh sensitivity 0.90"},
        timings_ms={"detect": 100.0, "classify": 400.0},
        device="cpu",
        overview_overlay=write_png(f"{folder}/overview.png"),
        full_image_cam_overlays={key: write_png(f"{folder}/cam-{key}.png", 90) for key in CAM_KEYS},
        finished_at=timezone.now(),
    )
    for index, predicted in enumerate(classes):
        level = f"L{index + 1}"
        probabilities = {"normal": 0.1, "old": 0.1, "fresh": 0.1, predicted: 0.8}
        VertebraFinding.objects.create(
            run=run,
            level=level,
            box_x1=30.0,
            box_y1=20.0 + 30 * index,
            box_x2=90.0,
            box_y2=44.0 + 30 * index,
            detection_confidence=0.93,
            predicted_class=predicted,
            ensemble_probabilities=probabilities,
            model_probabilities={name: probabilities for name in ARCHITECTURES},
            model_predicted_classes={name: predicted for name in ARCHITECTURES},
            cam_regions={key: {"anterior_wall": 0.4, "centre": 0.35, "outside": 0.25} for key in CAM_KEYS},
            overlays={key: write_png(f"{folder}/{level}-{key}.png", 60) for key in CAM_KEYS},
            crop_file=write_png(f"{folder}/{level}-crop.png", 200),
            warnings=[
                {
                    "code": "cam_outside",
                    "message_en": "Grad-CAM mass mostly outside the body.",
                    "message_ja": "Grad-CAM の多くが椎体の外にあります。",
                }
            ]
            if index == 0
            else [],
        )
    Study.objects.filter(pk=study.pk).update(
        current_run=run,
        mri_recommended=result_status == "mri_recommended",
        not_assessable=result_status == "not_assessable",
    )
    return run
