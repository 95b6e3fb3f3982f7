"""Birth and study dates from a DICOM header pass the same checks as typed-in dates."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pydicom
from pydicom.uid import generate_uid

from screening.services.ingest import PatientDetails, ingest_upload
from tests.screening.helpers import uploaded


def _dicom_with_dates(phantom_dicom: Path, *, study: str, birth: str, uid_suffix: str) -> bytes:
    dataset = pydicom.dcmread(phantom_dicom)
    dataset.StudyDate = study
    dataset.PatientBirthDate = birth
    # A new SOP Instance UID keeps the sha256 apart from the other uploads of this module.
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=[uid_suffix])
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _warning_codes(study: Any) -> list[str]:
    return [warning["code"] for warning in study.radiograph.warnings]


def test_future_header_study_date_is_not_stored(db: Any, clinician: Any, phantom_dicom: Path) -> None:
    content = _dicom_with_dates(phantom_dicom, study="20991231", birth="19500101", uid_suffix="1")

    study = ingest_upload(uploaded("future.dcm", content), user=clinician).study

    assert study.study_date is None
    assert study.patient_birth_date == date(1950, 1, 1)
    assert "header_study_date_ignored" in _warning_codes(study)
    warning = next(w for w in study.radiograph.warnings if w["code"] == "header_study_date_ignored")
    assert "2099-12-31" in warning["message_en"]
    assert "is in the future" in warning["message_en"]
    assert "未来" in warning["message_ja"]
    assert study.radiograph.header["study_date"] == "20991231"  # the header facts keep the value


def test_early_header_birth_date_is_not_stored(db: Any, clinician: Any, phantom_dicom: Path) -> None:
    content = _dicom_with_dates(phantom_dicom, study="20200101", birth="18000101", uid_suffix="2")

    study = ingest_upload(uploaded("early.dcm", content), user=clinician).study

    assert study.patient_birth_date is None
    assert study.study_date == date(2020, 1, 1)
    assert "header_patient_birth_date_ignored" in _warning_codes(study)


def test_header_birth_after_study_is_not_stored(db: Any, clinician: Any, phantom_dicom: Path) -> None:
    content = _dicom_with_dates(phantom_dicom, study="20200101", birth="20230101", uid_suffix="3")

    study = ingest_upload(uploaded("order.dcm", content), user=clinician).study

    assert study.patient_birth_date is None
    assert study.study_date == date(2020, 1, 1)
    assert "header_patient_birth_date_ignored" in _warning_codes(study)


def test_malformed_header_date_gives_warning(db: Any, clinician: Any, phantom_dicom: Path) -> None:
    content = _dicom_with_dates(phantom_dicom, study="20250230", birth="19500101", uid_suffix="4")

    study = ingest_upload(uploaded("feb30.dcm", content), user=clinician).study

    assert study.study_date is None
    warning = next(w for w in study.radiograph.warnings if w["code"] == "header_study_date_ignored")
    assert "YYYYMMDD" in warning["message_en"]


def test_rejected_header_date_falls_back_to_entered(db: Any, clinician: Any, phantom_dicom: Path) -> None:
    content = _dicom_with_dates(phantom_dicom, study="20991231", birth="19500101", uid_suffix="5")
    entered = PatientDetails(study_date=date(2021, 6, 1))

    study = ingest_upload(uploaded("entered.dcm", content), user=clinician, patient=entered).study

    assert study.study_date == date(2021, 6, 1)


def test_valid_header_dates_are_stored_without_warning(db: Any, clinician: Any, phantom_dicom: Path) -> None:
    content = _dicom_with_dates(phantom_dicom, study="20200101", birth="19500101", uid_suffix="6")

    study = ingest_upload(uploaded("valid.dcm", content), user=clinician).study

    assert study.study_date == date(2020, 1, 1)
    assert not any(code.startswith("header_") for code in _warning_codes(study))
