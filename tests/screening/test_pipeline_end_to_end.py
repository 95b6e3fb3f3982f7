"""An upload is screened by the real tiny bundle in-process, and every stored file is reachable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from screening.models import AnalysisRun, Study, VertebraFinding
from screening.services.ingest import ingest_upload
from tests.screening.helpers import uploaded


def test_phantom_upload_is_screened_and_stored(
    tiny_bundle: Any,
    clinician: Any,
    clinician_client: Any,
    phantom_dicom: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given the tiny bundle is active, when a phantom DICOM is uploaded, the eager task screens it on commit.
    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest_upload(uploaded("phantom.dcm", phantom_dicom.read_bytes()), user=clinician)

    study = Study.objects.get(pk=outcome.study.pk)
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    run = AnalysisRun.objects.get(pk=study.current_run_id)
    assert run.bundle_manifest_sha256 == tiny_bundle.manifest_sha256
    assert run.is_demo is True
    assert set(run.timings_ms)
    assert study.not_assessable == (run.result_status == "not_assessable")

    findings = list(VertebraFinding.objects.filter(run=run))
    assert len(findings) == len(run.result["findings"])
    media_root = Path(settings.MEDIA_ROOT)
    stored_names = [run.overview_overlay, *run.full_image_cam_overlays.values()]
    for finding in findings:
        stored_names.extend(finding.overlays.values())
        stored_names.append(finding.crop_file)
    for name in filter(None, stored_names):
        assert (media_root / name).is_file(), name
        response = clinician_client.get(f"/api/studies/{study.pk}/files/{name}")
        assert response.status_code == 200, name


def test_upload_waits_for_bundle_until_activation(
    db: Any,
    tiny_bundle_dir: Path,
    settings: Any,
    clinician: Any,
    clinician_client: Any,
    phantom_dicom: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from screening.services.bundles import activate_bundle, install_bundle

    settings.OLVF_INFERENCE = {**settings.OLVF_INFERENCE, "bundle_dir": tiny_bundle_dir, "device": "cpu"}
    bundle = install_bundle(tiny_bundle_dir)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest_upload(uploaded("phantom.dcm", phantom_dicom.read_bytes()), user=clinician)

    study = Study.objects.get(pk=outcome.study.pk)
    assert study.status == Study.Status.QUEUED
    assert study.failure_code == "no_active_bundle"
    page = clinician_client.get("/studies/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Waiting for a model bundle" in page
    report = clinician_client.get(f"/studies/{study.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="waiting-message"' in report

    with django_capture_on_commit_callbacks(execute=True):
        activate_bundle(bundle.pk)

    study.refresh_from_db()
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    assert study.failure_code == ""
    assert AnalysisRun.objects.get(pk=study.current_run_id).bundle_id == bundle.pk
