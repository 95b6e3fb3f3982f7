"""Impossible dates are rejected on the upload page, in the upload API and in MRI outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from screening.forms import PatientDetailsForm
from screening.models import MRIOutcome, Study
from screening.services.review import record_mri_outcome
from tests.screening.helpers import png_bytes, uploaded
from tests.screening.oversight.factories import make_study, make_user

ApiClientFor = Callable[[Any], APIClient]

TODAY = timezone.localdate()
TOMORROW = TODAY + dt.timedelta(days=1)
YESTERDAY = TODAY - dt.timedelta(days=1)

# (fields, field with the error, English message part, Japanese message part)
INVALID_DATES = [
    ({"patient_birth_date": TOMORROW}, "patient_birth_date", "is in the future", "未来"),
    (
        {"patient_birth_date": dt.date(1899, 12, 31)},
        "patient_birth_date",
        "is before 1900-01-01",
        "1900-01-01",
    ),
    ({"study_date": TOMORROW}, "study_date", "is in the future", "未来"),
    ({"study_date": dt.date(1899, 12, 31)}, "study_date", "is before 1900-01-01", "1900-01-01"),
    (
        {"patient_birth_date": YESTERDAY, "study_date": YESTERDAY - dt.timedelta(days=1)},
        "patient_birth_date",
        "is after the study date",
        "より後です",
    ),
]


def _as_text(fields: dict[str, dt.date]) -> dict[str, str]:
    return {name: value.isoformat() for name, value in fields.items()}


@pytest.mark.parametrize(("fields", "field", "english", "japanese"), INVALID_DATES)
def test_patient_form_rejects_date(fields: dict, field: str, english: str, japanese: str) -> None:
    for language, expected in (("en", english), ("ja", japanese)):
        with translation.override(language):
            form = PatientDetailsForm(data=_as_text(fields))

            assert not form.is_valid()
            assert list(form.errors) == [field]
            assert expected in form.errors[field][0]


def test_patient_form_accepts_today_and_1900() -> None:
    form = PatientDetailsForm(data=_as_text({"patient_birth_date": dt.date(1900, 1, 1), "study_date": TODAY}))

    assert form.is_valid(), form.errors


def test_patient_form_accepts_birth_on_study_day() -> None:
    form = PatientDetailsForm(data=_as_text({"patient_birth_date": TODAY, "study_date": TODAY}))

    assert form.is_valid(), form.errors


def test_upload_page_shows_date_error(clinician_client: Client) -> None:
    response = clinician_client.post(
        reverse("screening:upload"),
        {
            "radiographs": [uploaded("lumbar.png", png_bytes(seed=41))],
            "patient_id": "P-41",
            "study_date": TOMORROW.isoformat(),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert f"The study date {TOMORROW.isoformat()} is in the future." in response.content.decode()
    assert not Study.objects.exists()


@pytest.mark.parametrize(("fields", "field", "english", "japanese"), INVALID_DATES)
def test_upload_api_rejects_date(
    api_client_for: ApiClientFor, clinician: Any, fields: dict, field: str, english: str, japanese: str
) -> None:
    client = api_client_for(clinician)
    for language, expected in (("en", english), ("ja", japanese)):
        response = client.post(
            "/api/studies/",
            {"file": uploaded("new.png", png_bytes(seed=42)), "patient_id": "P-42", **_as_text(fields)},
            format="multipart",
            HTTP_ACCEPT_LANGUAGE=language,
        )

        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] == "invalid", body
        assert [name for name in body if name not in ("code", "detail")] == [field]
        assert expected in body[field][0]
    assert not Study.objects.exists()


def test_upload_api_accepts_today(api_client_for: ApiClientFor, clinician: Any) -> None:
    response = api_client_for(clinician).post(
        "/api/studies/",
        {
            "file": uploaded("new.png", png_bytes(seed=43)),
            "patient_id": "P-43",
            "patient_birth_date": "1900-01-01",
            "study_date": TODAY.isoformat(),
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_mri_outcome_rejects_date_before_study() -> None:
    study = make_study()
    Study.objects.filter(pk=study.pk).update(study_date=YESTERDAY)
    reviewer = make_user("dr-dates", "clinician")

    for language, expected in (("en", "is before the study date"), ("ja", "より前です")):
        with translation.override(language), pytest.raises(ValidationError) as excinfo:
            record_mri_outcome(
                study.pk, recorded_by=reviewer, mri_done=True, mri_date=YESTERDAY - dt.timedelta(days=1)
            )

        assert excinfo.value.code == "mri_date_before_study_date"
        assert expected in excinfo.value.messages[0]
    assert not MRIOutcome.objects.exists()


@pytest.mark.django_db
def test_mri_outcome_rejects_year_before_1900() -> None:
    study = make_study()
    reviewer = make_user("dr-dates", "clinician")

    with pytest.raises(ValidationError) as excinfo:
        record_mri_outcome(study.pk, recorded_by=reviewer, mri_done=True, mri_date=dt.date(1, 1, 1))

    assert excinfo.value.code == "mri_date_too_early"
    assert not MRIOutcome.objects.exists()


@pytest.mark.django_db
def test_mri_outcome_accepts_study_day() -> None:
    study = make_study()
    Study.objects.filter(pk=study.pk).update(study_date=YESTERDAY)
    reviewer = make_user("dr-dates", "clinician")

    outcome = record_mri_outcome(study.pk, recorded_by=reviewer, mri_done=True, mri_date=YESTERDAY)

    assert outcome.mri_date == YESTERDAY
