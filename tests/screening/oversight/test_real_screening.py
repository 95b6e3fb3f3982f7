"""Oversight on a study screened by the real tiny bundle: PDF images, decision trace and a re-run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from screening.models import AnalysisRun, Study
from screening.services.audit_queries import decision_trace
from screening.services.bundles import install_bundle
from screening.services.ingest import ingest_upload
from screening.services.reports import render_report_pdf
from screening.services.reruns import rerun_with_bundle
from tests.screening.helpers import uploaded


@pytest.fixture
def screened_study(
    tiny_bundle: Any, clinician: Any, phantom_dicom: Path, django_capture_on_commit_callbacks: Any
):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest_upload(uploaded("phantom.dcm", phantom_dicom.read_bytes()), user=clinician)
    study = Study.objects.get(pk=outcome.study.pk)
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    return study


def copy_bundle_as_new_version(source: Path, target: Path, version: str) -> Path:
    """Copy a bundle and give the copy another version, so it installs as a second bundle."""
    from inference.bundle import BundleManifest, load_manifest, write_manifest

    shutil.copytree(source, target)
    data = load_manifest(target).to_dict()
    data["version"] = version
    write_manifest(target, BundleManifest.from_dict(data))
    return target


def test_pdf_of_real_screening_embeds_overlays(screened_study):
    run = screened_study.current_run
    expected_images = 1 + len(run.full_image_cam_overlays) + sum(len(f.overlays) for f in run.findings.all())

    pdf = render_report_pdf(screened_study.pk, language="ja")

    assert pdf.startswith(b"%PDF")
    assert run.overview_overlay
    assert pdf.count(b"/Subtype /Image") >= expected_images


def test_trace_of_real_screening_names_bundle_files_and_worker(screened_study, tiny_bundle):
    data = decision_trace(screened_study.pk).to_dict()

    [run] = data["runs"]
    assert run["bundle"]["manifest_sha256"] == tiny_bundle.manifest_sha256
    assert set(run["bundle"]["file_sha256"]) >= {"resnet50.pt", "densenet161.pt", "resnext50_32x4d.pt"}
    assert ":" in run["worker"]
    assert run["timings_ms"]
    assert run["thresholds"]["fresh"] == tiny_bundle.manifest["thresholds"]["fresh"]
    json.dumps(data)  # the export is valid JSON


def test_rerun_with_second_bundle_keeps_first_run(
    screened_study, tiny_bundle, tiny_bundle_dir, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    copy = copy_bundle_as_new_version(Path(tiny_bundle_dir), tmp_path / "second", "second-1")
    second = install_bundle(copy)
    first_run_id = screened_study.current_run_id

    with django_capture_on_commit_callbacks(execute=True):
        rerun_with_bundle(screened_study.pk, second.pk, actor=admin_user)

    study = Study.objects.get(pk=screened_study.pk)
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    assert study.current_run.bundle_id == second.pk
    assert AnalysisRun.objects.filter(pk=first_run_id, status="done").exists()
    assert AnalysisRun.objects.filter(study=study).count() == 2
