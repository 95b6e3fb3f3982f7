"""Upload page: accepted, duplicate, unreadable and rejected files, each reason in the user's language."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from screening.models import AuditEvent, Radiograph, Study

pytestmark = pytest.mark.django_db

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}
NOT_AN_IMAGE = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" * 4


def png_bytes(seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, size=(64, 48), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def post_file(client: Client, name: str, content: bytes, **fields: str) -> Any:
    upload = SimpleUploadedFile(name, content)
    return client.post(reverse("screening:upload"), {"radiographs": upload, **fields}, **XHR)


def imaging_error_messages(tmp_path: Path, content: bytes) -> tuple[str, str]:
    """Return the English and Japanese reason that inference.imaging gives for ``content``."""
    from inference.errors import ImagingError
    from inference.imaging import load

    path = tmp_path / "probe.bin"
    path.write_bytes(content)
    with pytest.raises(ImagingError) as caught:
        load(path)
    return caught.value.message_en, caught.value.message_ja


def test_upload_page_renders_for_clinician(clinician_page_client: Client) -> None:
    response = clinician_page_client.get(reverse("screening:upload"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="dropzone"' in html
    assert 'type="file"' in html
    assert "multiple" in html
    assert 'id="upload-texts"' in html


def test_not_an_image_reason_in_english(clinician_page_client: Client, tmp_path: Path) -> None:
    expected_en, _ = imaging_error_messages(tmp_path, NOT_AN_IMAGE)
    response = post_file(clinician_page_client, "report.pdf", NOT_AN_IMAGE)
    assert response.status_code == 400
    body = response.json()
    assert body["outcome"] == "rejected"
    assert body["message"] == expected_en
    assert Study.objects.count() == 0


def test_not_an_image_reason_in_japanese(clinician_page_client_ja: Client, tmp_path: Path) -> None:
    _, expected_ja = imaging_error_messages(tmp_path, NOT_AN_IMAGE)
    response = post_file(clinician_page_client_ja, "report.pdf", NOT_AN_IMAGE)
    assert response.status_code == 400
    assert response.json()["message"] == expected_ja
    assert Radiograph.objects.count() == 0


def test_rejected_file_without_javascript_shows_reason_on_page(
    clinician_page_client_ja: Client, tmp_path: Path
) -> None:
    _, expected_ja = imaging_error_messages(tmp_path, NOT_AN_IMAGE)
    upload = SimpleUploadedFile("report.pdf", NOT_AN_IMAGE)
    response = clinician_page_client_ja.post(reverse("screening:upload"), {"radiographs": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-outcome="rejected"' in html
    assert expected_ja in html


def test_empty_file_is_rejected_in_each_language(
    clinician_page_client: Client, clinician_page_client_ja: Client
) -> None:
    english = post_file(clinician_page_client, "empty.dcm", b"")
    assert english.status_code == 400
    assert "empty.dcm is empty (0 bytes)" in english.json()["message"]
    japanese = post_file(clinician_page_client_ja, "empty.dcm", b"")
    assert japanese.status_code == 400
    assert "empty.dcm は空です" in japanese.json()["message"]
    assert Study.objects.count() == 0


def test_oversized_file_is_rejected_before_storing(clinician_page_client: Client, settings: Any) -> None:
    settings.OLVF_MAX_UPLOAD_BYTES = 100
    response = post_file(clinician_page_client, "big.png", png_bytes(), patient_id="P1")
    assert response.status_code == 400
    assert "more than the limit of 100" in response.json()["message"]
    assert Study.objects.count() == 0


def test_png_without_patient_id_is_rejected(clinician_page_client: Client) -> None:
    response = post_file(clinician_page_client, "lateral.png", png_bytes())
    assert response.status_code == 400
    assert "enter at least the patient ID" in response.json()["message"]
    assert Study.objects.count() == 0


def test_png_with_patient_details_becomes_queued_study(clinician_page_client: Client) -> None:
    response = post_file(
        clinician_page_client,
        "lateral.png",
        png_bytes(),
        patient_id="PNG-001",
        patient_name="Ito Keiko",
        patient_sex="F",
        study_date="2026-11-02",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "accepted"
    study = Study.objects.get(pk=body["study_id"])
    assert study.status == Study.Status.QUEUED
    assert study.patient_id == "PNG-001"
    assert study.patient_name == "Ito Keiko"
    assert str(study.study_date) == "2026-11-02"
    assert body["study_url"] == reverse("screening:report", args=[study.pk])
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPLOAD).count() == 1


def test_duplicate_upload_links_existing_study(clinician_page_client: Client) -> None:
    content = png_bytes(seed=7)
    first = post_file(clinician_page_client, "a.png", content, patient_id="DUP-1").json()
    second = post_file(clinician_page_client, "copy-of-a.png", content, patient_id="DUP-1").json()
    assert second["outcome"] == "duplicate"
    assert second["study_id"] == first["study_id"]
    assert second["study_url"] == reverse("screening:report", args=[first["study_id"]])
    assert Study.objects.count() == 1


def test_invalid_patient_fields_are_reported_not_500(clinician_page_client: Client) -> None:
    response = post_file(
        clinician_page_client,
        "x.png",
        png_bytes(),
        patient_id="P",
        patient_birth_date="31/31/2020",
        patient_sex="Z",
    )
    assert response.status_code == 400
    assert response.json()["outcome"] == "rejected"


def test_post_without_file_is_reported_not_500(clinician_page_client: Client) -> None:
    response = clinician_page_client.post(reverse("screening:upload"), {}, **XHR)
    assert response.status_code == 400
    assert response.json()["outcome"] == "rejected"
    page = clinician_page_client.post(reverse("screening:upload"), {})
    assert page.status_code == 400


def test_several_files_without_javascript_each_get_an_outcome(clinician_page_client: Client) -> None:
    files = [SimpleUploadedFile("one.png", png_bytes(1)), SimpleUploadedFile("two.png", png_bytes(2))]
    response = clinician_page_client.post(
        reverse("screening:upload"), {"radiographs": files, "patient_id": "MULTI"}
    )
    assert response.status_code == 200
    assert response.content.decode().count('data-outcome="accepted"') == 2
    assert Study.objects.filter(patient_id="MULTI").count() == 2


def test_per_file_sex_menu_defaults_to_unknown(clinician_page_client: Client) -> None:
    # A browser selects the first option unless one is marked selected, and the first choice is Female.
    html = clinician_page_client.get(reverse("screening:upload")).content.decode()
    row_template = html[html.index('<li class="upload-item">') :]
    sex_menu = row_template[row_template.index('<select name="patient_sex">') :]
    sex_menu = sex_menu[: sex_menu.index("</select>")]
    assert '<option value="" selected>' in sex_menu
    assert sex_menu.count("selected") == 1
