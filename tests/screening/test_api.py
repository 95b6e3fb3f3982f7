"""The study API: authentication, roles, upload outcomes, languages, file downloads and query counts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from screening.models import AuditEvent, Study
from screening.services import screening as screening_service
from screening.services.bundles import activate_bundle, install_bundle
from screening.services.ingest import ingest_upload
from tests.screening.helpers import (
    jpeg_bytes,
    png_bytes,
    screening_result,
    truncated,
    uploaded,
    write_hashed_bundle,
)

ApiClientFor = Callable[[Any], APIClient]

LIST_URL = "/api/studies/"


def api_urls(study_id: int) -> list[tuple[str, str]]:
    """Return (method, url) of every API endpoint."""
    return [
        ("get", LIST_URL),
        ("post", LIST_URL),
        ("get", f"/api/studies/{study_id}/"),
        ("get", f"/api/studies/{study_id}/original/"),
        ("get", f"/api/studies/{study_id}/files/runs/1/overview.png"),
        ("get", "/api/schema/"),
    ]


@pytest.fixture
def study(db: Any, clinician: Any) -> Study:
    return ingest_upload(uploaded("a.png", png_bytes(seed=31)), user=clinician).study


def test_anonymous_request_is_refused_everywhere(api_client_for: ApiClientFor, study: Study) -> None:
    client = api_client_for(None)

    for method, url in api_urls(study.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 401, f"{method.upper()} {url} returned {response.status_code}"


@pytest.mark.parametrize("persona", ["manager", "no_role_user"])
def test_users_without_clinical_role_are_forbidden(
    request: pytest.FixtureRequest, api_client_for: ApiClientFor, study: Study, persona: str
) -> None:
    client = api_client_for(request.getfixturevalue(persona))

    for method, url in api_urls(study.pk)[:-1]:
        response = getattr(client, method)(url)
        assert response.status_code == 403, (
            f"{persona}: {method.upper()} {url} returned {response.status_code}"
        )


def test_schema_is_served_to_signed_in_users(api_client_for: ApiClientFor, manager: Any) -> None:
    response = api_client_for(manager).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert "/api/studies/" in response.json()["paths"]


def test_session_authentication_works(clinician_client: Any, study: Study) -> None:
    response = clinician_client.get(LIST_URL)

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_upload_creates_study(api_client_for: ApiClientFor, clinician: Any) -> None:
    content = png_bytes(seed=32)

    response = api_client_for(clinician).post(
        LIST_URL,
        {
            "file": uploaded("new.png", content),
            "patient_id": "P-77",
            "patient_sex": "M",
            "study_date": "2026-12-01",
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["duplicate"] is False
    assert body["study"]["patient_id"] == "P-77"
    assert body["study"]["radiograph"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["study"]["status"] in {"queued", "running", "done", "failed"}


def test_upload_rejects_repeated_field(api_client_for: ApiClientFor, clinician: Any) -> None:
    response = api_client_for(clinician).post(
        LIST_URL,
        {"file": uploaded("twice.png", png_bytes(seed=33)), "patient_id": "P-78", "facing": ["left", "right"]},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["facing"][0] == "この項目が 2 回送信されました。1 回だけ送信してください。"  # Japanese by default
    assert not Study.objects.filter(patient_id="P-78").exists()


@pytest.mark.parametrize("value", ["20200505", "2020-W01-1"])
def test_upload_rejects_dates_not_in_iso_form(api_client_for: ApiClientFor, clinician: Any, value: str) -> None:
    response = api_client_for(clinician).post(
        LIST_URL,
        {"file": uploaded("date.png", png_bytes(seed=34)), "patient_id": "P-79", "study_date": value},
        format="multipart",
    )

    assert response.status_code == 400
    assert "study_date" in response.json()


def test_upload_names_nonexistent_day(api_client_for: ApiClientFor, clinician: Any) -> None:
    response = api_client_for(clinician).post(
        LIST_URL,
        {"file": uploaded("leap.png", png_bytes(seed=35)), "patient_id": "P-80", "patient_birth_date": "2023-02-29"},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response.json()["patient_birth_date"] == ["Enter a date that exists, written as YYYY-MM-DD."]


def test_upload_of_known_file_returns_existing_study(
    api_client_for: ApiClientFor, clinician: Any, study: Study
) -> None:
    content = Path(study.radiograph.original.path).read_bytes()

    response = api_client_for(clinician).post(
        LIST_URL, {"file": uploaded("again.png", content), "patient_id": "P-31"}, format="multipart"
    )

    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert response.json()["study"]["id"] == study.pk


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.dcm", b"", "upload_rejected"),
        ("page.png", b"<html><body>not an image</body></html>", "upload_rejected"),
        ("zip.dcm", b"PK\x03\x04" + b"\x00" * 64, "upload_rejected"),
    ],
)
def test_bad_upload_is_answered_400_with_reason(
    api_client_for: ApiClientFor, clinician: Any, name: str, content: bytes, code: str
) -> None:
    response = api_client_for(clinician).post(
        LIST_URL, {"file": uploaded(name, content)}, format="multipart", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert not Study.objects.exists()


@pytest.mark.parametrize("patient_id", [None, "", "   "])
@pytest.mark.parametrize("name", ["scan.png", "scan.jpg"])
def test_png_or_jpeg_upload_requires_patient_id(
    api_client_for: ApiClientFor, clinician: Any, name: str, patient_id: str | None
) -> None:
    content = png_bytes(seed=36) if name.endswith(".png") else jpeg_bytes(seed=36)
    data: dict[str, Any] = {"file": uploaded(name, content)}
    if patient_id is not None:
        data["patient_id"] = patient_id

    response = api_client_for(clinician).post(LIST_URL, data, format="multipart", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["patient_id"][0].startswith(f"{name} is a PNG or JPEG file")
    assert not Study.objects.exists()


def test_patient_id_rule_message_in_japanese(api_client_for: ApiClientFor, clinician: Any) -> None:
    response = api_client_for(clinician).post(
        LIST_URL,
        {"file": uploaded("scan.png", png_bytes(seed=37))},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="ja",
    )

    assert response.status_code == 400
    assert "患者" in response.json()["patient_id"][0]


def test_dicom_upload_needs_no_patient_id(
    api_client_for: ApiClientFor, clinician: Any, phantom_dicom: Path
) -> None:
    response = api_client_for(clinician).post(
        LIST_URL, {"file": uploaded("phantom.dcm", phantom_dicom.read_bytes())}, format="multipart"
    )

    assert response.status_code == 201, response.content


def test_upload_without_file_is_answered_400(api_client_for: ApiClientFor, clinician: Any) -> None:
    response = api_client_for(clinician).post(LIST_URL, {"patient_id": "P-1"}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()


def test_oversized_upload_is_answered_400(
    api_client_for: ApiClientFor, clinician: Any, settings: Any
) -> None:
    settings.OLVF_MAX_UPLOAD_BYTES = 200

    response = api_client_for(clinician).post(
        LIST_URL,
        {"file": uploaded("big.png", png_bytes(seed=33)), "patient_id": "P-33"},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "larger than the limit" in response.json()["detail"]


def test_damaged_dicom_kept_as_failed_study(
    api_client_for: ApiClientFor, clinician: Any, phantom_dicom: Path
) -> None:
    content = truncated(phantom_dicom.read_bytes(), keep=0.6)

    response = api_client_for(clinician).post(
        LIST_URL, {"file": uploaded("cut.dcm", content)}, format="multipart", HTTP_ACCEPT_LANGUAGE="ja"
    )

    assert response.status_code == 400
    body = response.json()
    study = Study.objects.get(pk=body["study"]["id"])
    assert study.status == Study.Status.FAILED
    assert body["detail"] == study.failure_message_ja
    assert Path(study.radiograph.original.path).read_bytes() == content


def test_reason_follows_the_request_language(api_client_for: ApiClientFor, clinician: Any) -> None:
    client = api_client_for(clinician)

    english = client.post(
        LIST_URL, {"file": uploaded("e.dcm", b"")}, format="multipart", HTTP_ACCEPT_LANGUAGE="en"
    )
    japanese = client.post(
        LIST_URL, {"file": uploaded("e.dcm", b"")}, format="multipart", HTTP_ACCEPT_LANGUAGE="ja"
    )

    assert english.json()["detail"] == "The file is empty. Choose the radiograph file again."
    assert japanese.json()["detail"] == "ファイルが空です。画像ファイルを選び直してください。"


def test_list_filters_by_status_and_search(api_client_for: ApiClientFor, clinician: Any) -> None:
    first = ingest_upload(uploaded("1.png", png_bytes(seed=34)), user=clinician).study
    second = ingest_upload(uploaded("2.png", png_bytes(seed=35)), user=clinician).study
    Study.objects.filter(pk=first.pk).update(patient_id="FIND-ME")
    Study.objects.filter(pk=second.pk).update(status=Study.Status.FAILED)
    client = api_client_for(clinician)

    searched = client.get(LIST_URL, {"q": "find-me"}).json()
    failed = client.get(LIST_URL, {"status": "failed"}).json()

    assert [row["id"] for row in searched["results"]] == [first.pk]
    assert [row["id"] for row in failed["results"]] == [second.pk]


def test_list_is_newest_first_and_paginated(api_client_for: ApiClientFor, clinician: Any) -> None:
    ids = [
        ingest_upload(uploaded(f"{n}.png", png_bytes(seed=40 + n)), user=clinician).study.pk for n in range(3)
    ]

    body = api_client_for(clinician).get(LIST_URL).json()

    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == list(reversed(ids))


def test_invalid_filter_is_answered_400(api_client_for: ApiClientFor, clinician: Any) -> None:
    response = api_client_for(clinician).get(LIST_URL, {"date_from": "2026-12-10", "date_to": "2026-12-01"})

    assert response.status_code == 400


def test_list_query_count_does_not_grow_with_rows(
    api_client_for: ApiClientFor, clinician: Any, django_assert_num_queries: Any
) -> None:
    for n in range(5):
        ingest_upload(uploaded(f"q{n}.png", png_bytes(seed=50 + n)), user=clinician)
    client = api_client_for(clinician)
    client.get(LIST_URL)  # warms the token and session lookups that every request makes

    # token + user, role groups, count, page of studies joined with radiograph, run and uploader,
    # then the audit event: savepoint, lock of the chain head, insert, head update, release
    with django_assert_num_queries(9):
        response = client.get(LIST_URL)

    assert len(response.json()["results"]) == 5


@pytest.fixture
def done_study(
    db: Any, clinician: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> Study:
    """A study screened with the pipeline call replaced, with the overlay files it names written to disk."""
    bundle = install_bundle(write_hashed_bundle(tmp_path / "bundle"))
    activate_bundle(bundle.pk)
    monkeypatch.setattr(
        screening_service, "_screen_original", lambda study_id, bundle, run: screening_result()
    )
    study = ingest_upload(uploaded("done.png", png_bytes(seed=60)), user=clinician).study
    screening_service.run_screening(study.pk)
    study.refresh_from_db()
    run_dir = Path(settings.MEDIA_ROOT) / "runs" / str(study.current_run_id)
    run_dir.mkdir(parents=True)
    (run_dir / "overview.png").write_bytes(png_bytes(seed=61))
    return study


def test_detail_shows_findings_and_bundle(
    api_client_for: ApiClientFor, clinician: Any, done_study: Study
) -> None:
    body = api_client_for(clinician).get(f"/api/studies/{done_study.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()

    run = body["current_run"]
    assert body["status"] == "done"
    assert body["mri_recommended"] is True
    assert run["is_demo"] is True
    assert [finding["level"] for finding in run["findings"]] == ["L1", "L2", "L3", "L4", "L5"]
    assert run["findings"][1]["predicted_class"] == "fresh"
    assert run["findings"][0]["warnings"][0]["message"] == "CAM mostly outside"
    assert run["overview_overlay_url"] == reverse(
        "api-study-file", kwargs={"pk": done_study.pk, "name": f"runs/{run['id']}/overview.png"}
    )


def test_detail_query_count_is_fixed(
    api_client_for: ApiClientFor, clinician: Any, done_study: Study, django_assert_num_queries: Any
) -> None:
    client = api_client_for(clinician)
    client.get(f"/api/studies/{done_study.pk}/")

    # token + user, role groups, study with radiograph and uploader, runs with bundle, findings,
    # then the audit event: savepoint, lock of the chain head, insert, head update, release
    with django_assert_num_queries(10):
        client.get(f"/api/studies/{done_study.pk}/")


def test_unknown_study_is_answered_404(api_client_for: ApiClientFor, clinician: Any) -> None:
    response = api_client_for(clinician).get("/api/studies/999999/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json()["code"] == "study_not_found"


def test_api_reads_audited_without_search_text(
    api_client_for: ApiClientFor, clinician: Any, study: Study
) -> None:
    client = api_client_for(clinician)

    client.get(LIST_URL, {"q": "Yamada", "status": "queued"})
    client.get(f"/api/studies/{study.pk}/")

    list_event = AuditEvent.objects.get(action=AuditEvent.Action.STUDY_LIST_VIEW)
    assert list_event.details["filters"] == {"search": True, "status": "queued"}
    assert "Yamada" not in str(list_event.details)
    report_event = AuditEvent.objects.get(action=AuditEvent.Action.REPORT_VIEW)
    assert report_event.object_id == str(study.pk)
    assert report_event.actor_id == clinician.pk


def test_original_download_is_byte_identical_and_audited(
    api_client_for: ApiClientFor, clinician: Any, study: Study
) -> None:
    response = api_client_for(clinician).get(f"/api/studies/{study.pk}/original/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == Path(study.radiograph.original.path).read_bytes()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.ORIGINAL_DOWNLOAD, object_id=str(study.pk)
    ).exists()


def test_overlay_download_is_audited(api_client_for: ApiClientFor, clinician: Any, done_study: Study) -> None:
    name = f"runs/{done_study.current_run_id}/overview.png"

    response = api_client_for(clinician).get(f"/api/studies/{done_study.pk}/files/{name}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OVERLAY_DOWNLOAD).count() == 1


@pytest.mark.parametrize("name", ["../../etc/passwd", "runs/1/../../secret_key", "originals/aa/bb/cc"])
def test_file_outside_recorded_runs_is_answered_404(
    api_client_for: ApiClientFor, clinician: Any, done_study: Study, name: str
) -> None:
    response = api_client_for(clinician).get(f"/api/studies/{done_study.pk}/files/{name}")

    assert response.status_code == 404


def test_detail_says_why_study_waits(api_client_for: ApiClientFor, clinician: Any, study: Study) -> None:
    code, message_en, message_ja = screening_service.WAITING_FOR_BUNDLE
    Study.objects.filter(pk=study.pk).update(
        status=Study.Status.QUEUED,
        failure_code=code,
        failure_message_en=message_en,
        failure_message_ja=message_ja,
    )

    body = api_client_for(clinician).get(f"{LIST_URL}{study.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    listed = api_client_for(clinician).get(LIST_URL, HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["status"] == "queued"
    assert body["failure"] is None
    assert body["waiting"]["code"] == "no_active_bundle"
    assert body["waiting"]["message"] == message_en
    assert listed["results"][0]["waiting"]["code"] == "no_active_bundle"


def test_detail_has_no_waiting_reason_when_queued_normally(
    api_client_for: ApiClientFor, clinician: Any, study: Study
) -> None:
    Study.objects.filter(pk=study.pk).update(status=Study.Status.QUEUED, failure_code="")

    body = api_client_for(clinician).get(f"{LIST_URL}{study.pk}/").json()

    assert body["waiting"] is None
