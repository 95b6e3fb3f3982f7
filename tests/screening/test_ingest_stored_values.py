"""Ingest stores only values PostgreSQL and SQLite accept, and never loses an original to a database error."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
from django.db import DataError, IntegrityError

import inference.imaging
from screening.errors import UploadRejected
from screening.models import Radiograph, Study
from screening.services import ingest
from screening.services.ingest import ingest_upload
from tests.screening.helpers import png_bytes, uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def crafted_header(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Make the reader return a real PNG reading whose header and provenance carry ``crafted_header`` values."""
    values: dict[str, Any] = {"header": {}, "provenance": {}}
    real_load = inference.imaging.load

    def load(path: Path, **kwargs: Any) -> Any:
        radiograph = real_load(path, **kwargs)
        header = dataclasses.replace(radiograph.header, **values["header"])
        provenance = dataclasses.replace(radiograph.provenance, **values["provenance"])
        return dataclasses.replace(radiograph, header=header, provenance=provenance)

    monkeypatch.setattr(inference.imaging, "load", load)
    return values


def warning_codes(study: Study) -> set[str]:
    return {item["code"] for item in Radiograph.objects.get(study=study).warnings}


def test_nan_in_provenance_stored_as_null(clinician: Any, crafted_header: dict[str, Any]) -> None:
    crafted_header["provenance"] = {"window_center": math.nan, "window_width": math.inf}

    outcome = ingest_upload(uploaded("nan.png", png_bytes(seed=201)), user=clinician)

    radiograph = Radiograph.objects.get(study=outcome.study)
    assert outcome.study.status == Study.Status.QUEUED
    assert radiograph.provenance["window_center"] is None
    assert radiograph.provenance["window_width"] is None
    assert "header_non_finite_numbers_removed" in warning_codes(outcome.study)


def test_nan_warning_names_the_fields(clinician: Any, crafted_header: dict[str, Any]) -> None:
    crafted_header["provenance"] = {"window_center": -math.inf}

    outcome = ingest_upload(uploaded("inf.png", png_bytes(seed=202)), user=clinician)

    warning = next(
        item
        for item in Radiograph.objects.get(study=outcome.study).warnings
        if item["code"] == "header_non_finite_numbers_removed"
    )
    assert "provenance.window_center" in warning["message_en"]
    assert "provenance.window_center" in warning["message_ja"]


def test_nul_in_patient_id_is_replaced(clinician: Any, crafted_header: dict[str, Any]) -> None:
    crafted_header["header"] = {
        "patient_id": "AB\x00CD",
        "patient_name": "Doe^\x07Jane",
        "manufacturer": "X\x00Y",
    }

    outcome = ingest_upload(uploaded("nul.png", png_bytes(seed=203)), user=clinician)

    study = Study.objects.get(pk=outcome.study.pk)
    radiograph = Radiograph.objects.get(study=study)
    assert study.patient_id == "AB\ufffdCD"
    assert study.patient_name == "Doe \ufffdJane"
    assert radiograph.header["patient_id"] == "AB\ufffdCD"
    assert radiograph.header["manufacturer"] == "X\ufffdY"
    assert "header_control_characters_replaced" in warning_codes(study)


def test_nul_padding_is_dropped_silently(clinician: Any, crafted_header: dict[str, Any]) -> None:
    crafted_header["header"] = {"patient_id": "P-204\x00"}

    outcome = ingest_upload(uploaded("pad.png", png_bytes(seed=204)), user=clinician)

    study = Study.objects.get(pk=outcome.study.pk)
    assert study.patient_id == "P-204"
    assert "header_control_characters_replaced" not in warning_codes(study)


def test_long_patient_id_is_marked_truncated(clinician: Any, crafted_header: dict[str, Any]) -> None:
    long_id = "P" * 100
    crafted_header["header"] = {"patient_id": long_id}

    outcome = ingest_upload(uploaded("long.png", png_bytes(seed=205)), user=clinician)

    study = Study.objects.get(pk=outcome.study.pk)
    radiograph = Radiograph.objects.get(study=study)
    assert study.patient_id == "P" * 63 + "\u2026"
    assert radiograph.header["patient_id"] == long_id
    assert "patient_id_truncated" in warning_codes(study)


def test_unexpected_integrity_error_keeps_original(clinician: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    content = png_bytes(seed=206)
    real_record = ingest._record_upload
    calls = {"count": 0}

    def fail_first_record(*args: Any, **kwargs: Any) -> None:
        calls["count"] += 1
        if calls["count"] == 1:
            raise IntegrityError("CHECK constraint failed: JSON_VALID")
        real_record(*args, **kwargs)

    monkeypatch.setattr(ingest, "_record_upload", fail_first_record)

    outcome = ingest_upload(uploaded("check.png", content), user=clinician)

    study = Study.objects.get(pk=outcome.study.pk)
    assert not outcome.duplicate
    assert study.status == Study.Status.FAILED
    assert study.failure_code == "ingest_failed"
    assert study.failure_message_ja
    assert Path(study.radiograph.original.path).read_bytes() == content


def test_data_error_becomes_failed_study(clinician: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    content = png_bytes(seed=207)
    real_save = Radiograph.save
    calls = {"count": 0}

    def fail_first_save(self: Radiograph, *args: Any, **kwargs: Any) -> None:
        calls["count"] += 1
        if calls["count"] == 1:
            raise DataError("invalid input syntax for type json")
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(Radiograph, "save", fail_first_save)

    outcome = ingest_upload(uploaded("data.png", content), user=clinician)

    assert outcome.study.status == Study.Status.FAILED
    assert Study.objects.count() == 1
    assert Path(outcome.study.radiograph.original.path).read_bytes() == content


def test_repeated_database_error_rejects_upload(
    clinician: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    def always_fail(self: Radiograph, *args: Any, **kwargs: Any) -> None:
        raise DataError("database refuses the row")

    monkeypatch.setattr(Radiograph, "save", always_fail)

    with pytest.raises(UploadRejected) as raised:
        ingest_upload(uploaded("never.png", png_bytes(seed=208)), user=clinician)

    assert raised.value.code == "upload_rejected"
    assert not Study.objects.exists()
    stored = list((Path(settings.MEDIA_ROOT) / "originals").rglob("*"))
    assert any(path.is_file() for path in stored)


def test_integrity_error_of_duplicate_returns_existing(
    clinician: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = png_bytes(seed=209)
    first = ingest_upload(uploaded("first.png", content), user=clinician).study
    # Hide the first study from the lookup before reading, as a concurrent upload that commits in between would.
    real_filter = Study.objects.filter
    calls = {"count": 0}

    def filter_missing_once(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == 1:
            return Study.objects.none()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Study.objects, "filter", filter_missing_once)

    outcome = ingest_upload(uploaded("second.png", content), user=clinician)

    assert outcome.duplicate
    assert outcome.study.pk == first.pk
