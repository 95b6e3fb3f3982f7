"""Ingest stores the original unchanged, decides the type by decoding, and never half-stores a bad upload."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from screening.errors import UploadRejected
from screening.models import AuditEvent, Radiograph, Study
from screening.services.ingest import PatientDetails, ingest_upload
from tests.screening.helpers import png_bytes, truncated, uploaded


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()]


def test_png_original_is_stored_byte_identical(db: Any, clinician: Any) -> None:
    content = png_bytes(seed=1)

    outcome = ingest_upload(uploaded("knee.png", content), user=clinician)

    radiograph = Radiograph.objects.get(study=outcome.study)
    assert Path(radiograph.original.path).read_bytes() == content
    assert radiograph.sha256 == hashlib.sha256(content).hexdigest()
    assert radiograph.size_bytes == len(content)


def test_stored_path_derives_from_sha256_not_file_name(db: Any, clinician: Any) -> None:
    content = png_bytes(seed=2)

    outcome = ingest_upload(uploaded("Yamada Taro.png", content), user=clinician)

    radiograph = outcome.study.radiograph
    digest = hashlib.sha256(content).hexdigest()
    assert radiograph.original.name == f"originals/{digest[:2]}/{digest[2:4]}/{digest}"
    assert radiograph.original_filename == "Yamada Taro.png"


def test_png_study_is_queued_with_entered_patient_details(db: Any, clinician: Any) -> None:
    patient = PatientDetails(
        patient_id="P-001",
        patient_name="Test Patient",
        patient_birth_date=date(1940, 2, 3),
        patient_sex="F",
        accession_number="ACC-9",
        study_date=date(2026, 11, 30),
    )

    outcome = ingest_upload(uploaded("image.png", png_bytes(seed=3)), user=clinician, patient=patient)

    study = outcome.study
    assert study.status == Study.Status.QUEUED
    assert study.queued_at is not None
    assert study.patient_id == "P-001"
    assert study.patient_birth_date == date(1940, 2, 3)
    assert study.accession_number == "ACC-9"
    assert study.radiograph.file_type == "png"
    assert study.uploaded_by == clinician


def test_dicom_header_supplies_identity(db: Any, clinician: Any, phantom_dicom: Path) -> None:
    outcome = ingest_upload(uploaded("phantom.dcm", phantom_dicom.read_bytes()), user=clinician)

    study = outcome.study
    assert study.radiograph.file_type == "dicom"
    assert study.patient_id.startswith("PHANTOM-")
    assert study.radiograph.rows and study.radiograph.columns
    assert study.radiograph.provenance["file_type"] == "dicom"


def test_duplicate_sha256_returns_existing_study(db: Any, clinician: Any) -> None:
    content = png_bytes(seed=4)
    first = ingest_upload(uploaded("a.png", content), user=clinician)

    second = ingest_upload(uploaded("b.png", content), user=clinician)

    assert second.duplicate is True
    assert second.study.pk == first.study.pk
    assert Study.objects.count() == 1


def test_empty_file_is_rejected_and_nothing_stored(db: Any, clinician: Any, private_media_root: Path) -> None:
    with pytest.raises(UploadRejected) as raised:
        ingest_upload(uploaded("empty.dcm", b""), user=clinician)

    assert "empty" in raised.value.message_en
    assert "空" in raised.value.message_ja
    assert not Study.objects.exists()
    assert stored_files(private_media_root) == []


def test_file_over_limit_is_rejected_and_nothing_stored(
    db: Any, clinician: Any, settings: Any, private_media_root: Path
) -> None:
    settings.OLVF_MAX_UPLOAD_BYTES = 100

    with pytest.raises(UploadRejected) as raised:
        ingest_upload(uploaded("big.png", png_bytes(seed=5)), user=clinician)

    assert "larger than the limit" in raised.value.message_en
    assert not Study.objects.exists()
    assert stored_files(private_media_root) == []


def test_file_that_is_no_image_is_rejected(db: Any, clinician: Any, private_media_root: Path) -> None:
    with pytest.raises(UploadRejected) as raised:
        ingest_upload(uploaded("page.png", b"<!doctype html><html><body>hello</body></html>"), user=clinician)

    assert raised.value.message_ja
    assert not Study.objects.exists()
    assert stored_files(private_media_root) == []


def test_damaged_dicom_becomes_failed_study_with_original_kept(
    db: Any, clinician: Any, phantom_dicom: Path
) -> None:
    content = truncated(phantom_dicom.read_bytes(), keep=0.6)

    outcome = ingest_upload(uploaded("cut.dcm", content), user=clinician)

    study = outcome.study
    assert study.status == Study.Status.FAILED
    assert study.failure_code in {"damaged_image", "unsupported_image", "not_an_image"}
    assert study.failure_message_en
    assert study.failure_message_ja
    assert Path(study.radiograph.original.path).read_bytes() == content


def test_upload_is_audited_without_patient_name(db: Any, clinician: Any) -> None:
    patient = PatientDetails(patient_id="P-2", patient_name="Secret Name")

    outcome = ingest_upload(uploaded("x.png", png_bytes(seed=6)), user=clinician, patient=patient)

    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPLOAD).get()
    assert event.object_id == str(outcome.study.pk)
    assert event.actor_id == clinician.pk
    assert "Secret Name" not in str(event.details)


def test_upload_dispatches_screening_after_commit(
    db: Any, clinician: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given no active bundle, the screening task that runs on commit leaves the study waiting for one.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcome = ingest_upload(uploaded("y.png", png_bytes(seed=7)), user=clinician)

    assert len(callbacks) == 1
    study = Study.objects.get(pk=outcome.study.pk)
    assert study.status == Study.Status.QUEUED
    assert study.failure_code == "no_active_bundle"
    assert "バンドル" in study.failure_message_ja
