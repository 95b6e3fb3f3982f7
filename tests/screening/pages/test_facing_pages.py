"""Upload page field "Patient faces", its outcome messages, and the report row that shows the stated side."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from screening.models import AuditEvent, Radiograph, Study
from tests.screening.helpers import png_bytes
from tests.screening.pages.factories import make_study

pytestmark = pytest.mark.django_db

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}


def post_png(client: Client, seed: int, **fields: str) -> Any:
    upload = SimpleUploadedFile("scan.png", png_bytes(seed=seed))
    return client.post(reverse("screening:upload"), {"radiographs": upload, "patient_id": "P-1", **fields}, **XHR)


def upload_page(client: Client) -> str:
    response = client.get(reverse("screening:upload"))
    assert response.status_code == 200
    return response.content.decode()


def report_html(client: Client, study: Study) -> str:
    response = client.get(reverse("screening:report", args=[study.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_upload_page_offers_facing_outside_patient_details(clinician_page_client: Client) -> None:
    html = upload_page(clinician_page_client)

    fieldset = re.search(r'<fieldset class="facing-choice".*?</fieldset>', html, re.S)
    assert fieldset is not None
    assert re.findall(r'name="facing" value="(\w*)"', fieldset.group(0)) == ["", "left", "right"]
    assert re.search(r'name="facing" value=""[^>]*checked', fieldset.group(0))
    assert "From the file (DICOM header, else left)" in fieldset.group(0)
    assert "trained with the anterior side on the left" in fieldset.group(0)
    # The patient details are hidden when JavaScript runs, so the facing must not be among them.
    details = re.search(r'<details class="patient-details js-hidden".*?</details>', html, re.S)
    assert details is not None
    assert 'name="facing"' not in details.group(0)


def test_upload_page_facing_in_japanese(clinician_page_client_ja: Client) -> None:
    html = upload_page(clinician_page_client_ja)

    assert "患者の向き" in html
    assert "ファイルから（DICOM ヘッダー、記載がなければ左向き）" in html
    assert "右向き" in html
    assert "前側が左にある画像で学習" in html


def test_upload_script_sends_facing_with_each_file(clinician_page_client: Client) -> None:
    # Each file goes up on its own XMLHttpRequest, so the script must add the field to every request body.
    html = upload_page(clinician_page_client)
    script = clinician_page_client.get("/static/js/upload.js")
    source = b"".join(script.streaming_content).decode()

    assert 'data.append("facing", item.facing)' in source
    assert 'input[name=facing]:checked' in source
    assert '"facing_right": "Patient faces right (stated at upload)"' in html


def test_page_upload_stores_stated_side(clinician_page_client: Client) -> None:
    response = post_png(clinician_page_client, seed=81, facing="right")

    assert response.status_code == 200, response.content
    study_id = response.json()["study_id"]
    assert Radiograph.objects.get(study_id=study_id).stated_facing == "right"
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPLOAD, object_id=str(study_id))
    assert event.details["stated_facing"] == "right"


def test_page_upload_without_side_leaves_it_to_file(clinician_page_client: Client) -> None:
    response = post_png(clinician_page_client, seed=82)

    assert response.status_code == 200, response.content
    assert Radiograph.objects.get(study_id=response.json()["study_id"]).stated_facing == ""


def test_page_upload_rejects_unknown_side(clinician_page_client: Client) -> None:
    response = post_png(clinician_page_client, seed=83, facing="up")

    assert response.status_code == 400
    body = response.json()
    assert body["outcome"] == "rejected"
    assert body["message"] == '"up" is not a valid side for "Patient faces". Choose from the file, left or right.'
    assert not Study.objects.exists()


def test_page_upload_rejects_unknown_side_in_japanese(clinician_page_client_ja: Client) -> None:
    response = post_png(clinician_page_client_ja, seed=89, facing="up")

    assert response.status_code == 400
    assert response.json()["message"].startswith("「up」は「患者の向き」の値として無効です。")


def test_page_upload_without_javascript_stores_side(clinician_page_client: Client) -> None:
    files = [SimpleUploadedFile(f"scan-{seed}.png", png_bytes(seed=seed)) for seed in (84, 85)]

    response = clinician_page_client.post(
        reverse("screening:upload"), {"radiographs": files, "patient_id": "P-2", "facing": "left"}
    )

    assert response.status_code == 200
    assert sorted(Radiograph.objects.values_list("stated_facing", flat=True)) == ["left", "left"]


def test_duplicate_with_other_side_says_so(clinician_page_client: Client) -> None:
    post_png(clinician_page_client, seed=86, facing="right")

    response = post_png(clinician_page_client, seed=86)

    body = response.json()
    assert body["outcome"] == "duplicate"
    assert "The existing study reads the patient as facing right (stated at upload)" in body["message"]
    assert "this upload gives left (assumed, because the file does not state it)" in body["message"]
    assert "were not changed" in body["message"]


def test_duplicate_with_other_side_in_japanese(clinician_page_client_ja: Client) -> None:
    post_png(clinician_page_client_ja, seed=87)

    response = post_png(clinician_page_client_ja, seed=87, facing="right")

    message = response.json()["message"]
    assert "既存の検査では患者を「左向き（ファイルに記載がないための仮定）」として読み取っています" in message
    assert "「右向き（アップロード時に指定）」" in message


def test_duplicate_with_same_side_has_plain_message(clinician_page_client: Client) -> None:
    post_png(clinician_page_client, seed=88, facing="right")

    response = post_png(clinician_page_client, seed=88, facing="right")

    assert response.json()["message"] == "This file was uploaded before (same SHA-256), so no new study was made."


@pytest.mark.parametrize(
    ("stated_facing", "expected"),
    [
        ("right", "Right (stated at upload)"),
        ("left", "Left (stated at upload)"),
        ("", "From the file (DICOM header, else left)"),
    ],
)
def test_report_study_table_shows_stated_side(
    clinician_page_client: Client, stated_facing: str, expected: str
) -> None:
    study = make_study()
    Radiograph.objects.filter(study=study).update(stated_facing=stated_facing)

    html = report_html(clinician_page_client, study)

    row = re.search(r'<tr data-testid="stated-facing">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "Patient faces" in row.group(1)
    assert expected in row.group(1)


@pytest.mark.parametrize(
    ("stated_facing", "expected"),
    [("right", "右向き（アップロード時に指定）"), ("", "ファイルから（DICOM ヘッダー、記載がなければ左向き）")],
)
def test_report_study_table_in_japanese(
    clinician_page_client_ja: Client, stated_facing: str, expected: str
) -> None:
    study = make_study()
    Radiograph.objects.filter(study=study).update(stated_facing=stated_facing)

    html = report_html(clinician_page_client_ja, study)

    row = re.search(r'<tr data-testid="stated-facing">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "患者の向き" in row.group(1)
    assert expected in row.group(1)
