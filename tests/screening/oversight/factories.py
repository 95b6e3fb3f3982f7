"""Database rows for the oversight tests: a bundle, a study with a finished run and its findings.

The rows look like what the screening service writes, so the oversight code is
tested without running the models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from screening.models import AnalysisRun, ModelBundle, Radiograph, Study, VertebraFinding

_counter = itertools.count(1)

ARCHITECTURES = ("resnet50", "densenet161", "resnext50_32x4d")


def signed_in(user: Any, language: str = "en") -> Client:
    """Return a test client signed in as ``user`` whose requests set Accept-Language to ``language``."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def make_user(username: str, *roles: str, **fields: Any) -> Any:
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, **fields)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_bundle(
    name: str = "olvf-demo", version: str = "2026.12.04", *, demo: bool = True, active: bool = False
) -> ModelBundle:
    digest = hashlib.sha256(f"{name}{version}".encode()).hexdigest()
    manifest = {
        "format_version": 1,
        "name": name,
        "version": version,
        "demo": demo,
        "classes": ["normal", "old", "fresh"],
        "thresholds": {"fresh": 0.3, "source": "validation split", "target_sensitivity": 0.9},
        "training": {"metrics": {"accuracy": 0.9}},
        "model_card": "MODEL_CARD.md",
    }
    bundle, _ = ModelBundle.objects.get_or_create(
        name=name,
        version=version,
        manifest_sha256=digest,
        defaults={
            "path": f"/nonexistent/{name}-{version}",
            "manifest": manifest,
            "is_demo": demo,
            "is_active": active,
        },
    )
    return bundle


def _probabilities(predicted: str) -> dict[str, float]:
    probabilities = {"normal": 0.1, "old": 0.1, "fresh": 0.1}
    probabilities[predicted] = 0.8
    return probabilities


def make_study(
    *,
    uploaded_by: Any = None,
    patient_name: str = "Yamada Taro",
    status: str = "done",
    bundle: ModelBundle | None = None,
    classes: Sequence[str] = ("normal", "normal", "fresh", "normal", "old"),
    result_status: str = "mri_recommended",
    created_at: dt.datetime | None = None,
    report_after: dt.timedelta = dt.timedelta(minutes=2),
) -> Study:
    """Create a study with its radiograph and, when ``status`` is "done", a finished run with findings."""
    number = next(_counter)
    study = Study.objects.create(
        patient_id=f"P{number:04d}",
        patient_name=patient_name,
        accession_number=f"A{number:04d}",
        status=status,
        uploaded_by=uploaded_by,
    )
    if created_at is not None:
        Study.objects.filter(pk=study.pk).update(created_at=created_at)
        study.refresh_from_db()
    Radiograph.objects.create(
        study=study,
        original=f"originals/test/{number}",
        original_filename=f"{patient_name}.dcm",
        sha256=hashlib.sha256(f"study-{number}".encode()).hexdigest(),
        size_bytes=1234,
        file_type="dicom",
        header={
            "modality": "DX",
            "body_part_examined": "LSPINE",
            "patient_name": patient_name,
            "patient_id": study.patient_id,
        },
        provenance={"file_type": "dicom", "decoder": "pydicom-native", "rows": 100, "columns": 80},
        spacing={"row_mm": 0.2, "column_mm": 0.2, "source": "pixel_spacing"},
        rows=100,
        columns=80,
    )
    if status == "done":
        make_run(
            study,
            bundle or make_bundle(),
            classes=classes,
            result_status=result_status,
            report_after=report_after,
        )
    return Study.objects.get(pk=study.pk)


def make_run(
    study: Study,
    bundle: ModelBundle,
    *,
    classes: Sequence[str] = ("normal", "normal", "fresh", "normal", "old"),
    result_status: str = "mri_recommended",
    report_after: dt.timedelta = dt.timedelta(minutes=2),
    make_current: bool = True,
) -> AnalysisRun:
    """Create a finished run of ``study`` by ``bundle`` with one finding per class given, L1 downwards."""
    finished_at = study.created_at + report_after
    run = AnalysisRun.objects.create(
        study=study,
        bundle=bundle,
        bundle_name=bundle.name,
        bundle_version=bundle.version,
        bundle_manifest_sha256=bundle.manifest_sha256,
        bundle_file_sha256={"resnet50.pt": "a" * 64, "detector.pt": "b" * 64},
        is_demo=bundle.is_demo,
        status="done",
        result_status=result_status,
        thresholds={"fresh": 0.3, "source": "validation split"},
        timings_ms={"detect": 120.0, "classify": 340.0},
        worker="test-host:4242",
        device="cpu",
        task_id="task-1",
        result={"status": result_status},
        started_at=finished_at - dt.timedelta(seconds=5),
        finished_at=finished_at,
    )
    for index, predicted in enumerate(classes):
        VertebraFinding.objects.create(
            run=run,
            level=f"L{index + 1}",
            box_x1=10.0,
            box_y1=10.0 + 15 * index,
            box_x2=60.0,
            box_y2=22.0 + 15 * index,
            detection_confidence=0.9,
            predicted_class=predicted,
            ensemble_probabilities=_probabilities(predicted),
            model_probabilities={arch: _probabilities(predicted) for arch in ARCHITECTURES},
            model_predicted_classes={arch: predicted for arch in ARCHITECTURES},
            cam_regions={"ensemble": {"centre": 0.5, "anterior_wall": 0.3, "outside": 0.2}},
        )
    if make_current:
        Study.objects.filter(pk=study.pk).update(
            current_run=run,
            status="done",
            finished_at=timezone.now(),
            mri_recommended=result_status == "mri_recommended",
            not_assessable=result_status == "not_assessable",
        )
    return run
