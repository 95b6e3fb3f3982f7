"""Report of a file that was stored but not decoded: detected type, no invented provenance, the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pydicom.data import get_testdata_file

from inference.imaging import messages
from screening.models import Study

pytestmark = pytest.mark.django_db

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}


def upload_multi_frame_dicom(client: Client) -> Study:
    """Upload pydicom-data's emri_small.dcm (MR, 10 frames) and return the study it created."""
    path = get_testdata_file("emri_small.dcm")
    if path is None:
        pytest.fail("test file emri_small.dcm not found in pydicom or pydicom-data")
    upload = SimpleUploadedFile("emri_small.dcm", Path(path).read_bytes())
    response = client.post(reverse("screening:upload"), {"radiographs": upload}, **XHR)
    assert response.status_code in (200, 201, 400, 422)
    return Study.objects.get(radiograph__original_filename="emri_small.dcm")


def report_html(client: Client, study: Study) -> str:
    response = client.get(reverse("screening:report", args=[study.pk]))
    assert response.status_code == 200
    return response.content.decode()


def provenance_table(html: str) -> str:
    start = html.index('data-testid="provenance"')
    return html[start : html.index("</table>", start)]


def test_multi_frame_dicom_keeps_detected_type(clinician_page_client: Client) -> None:
    study = upload_multi_frame_dicom(clinician_page_client)
    assert study.status == Study.Status.FAILED
    assert study.radiograph.file_type == "dicom"


def test_rejected_report_shows_no_unmeasured_values(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, upload_multi_frame_dicom(clinician_page_client))
    table = provenance_table(html)
    assert "DICOM" in table
    assert "The file was not decoded, so no other imaging values were measured." in table
    assert "contains 10 frames" in table
    for unmeasured in ("Frame", "Polarity inverted", "Converted from colour", "Pixel spacing", "Decoder"):
        assert f"<th>{unmeasured}</th>" not in table
    assert 'data-testid="header-facts"' not in html


def test_rejected_report_in_japanese(clinician_page_client_ja: Client) -> None:
    html = report_html(clinician_page_client_ja, upload_multi_frame_dicom(clinician_page_client_ja))
    table = provenance_table(html)
    assert "不明" not in table
    assert "フレーム" in table
    assert "白黒反転" not in table
    assert "<th>理由</th>" in table


def test_multi_frame_message_offers_what_clinician_can_do() -> None:
    error = messages.multi_frame(10)
    assert "single-frame file" in error.message_en
    assert "choose the frame" not in error.message_en
    assert "単一フレームのファイルとして書き出し" in error.message_ja
    assert "--frame" in error.detail
