"""Error responses: JSON under /api/ in the request's language, standalone HTML pages, request limits."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import path

from olvf_web import urls as project_urls
from tests.screening.helpers import png_bytes, uploaded

LIST_URL = "/api/studies/"


def _fail(request: Any) -> Any:
    raise RuntimeError("failure for the test")


urlpatterns = [
    path("api/test-failure/", _fail),
    path("test-failure/", _fail),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler500 = project_urls.handler500


@pytest.fixture
def token_client(api_client_for: Any, clinician: Any) -> Any:
    return api_client_for(clinician)


def test_too_large_form_field_is_json_400(token_client: Any, settings: Any, caplog: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    caplog.set_level(logging.INFO)

    response = token_client.post(
        LIST_URL,
        {"file": uploaded("a.png", png_bytes(seed=301)), "patient_id": "P" * 5000},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"
    assert "1000 B" in response.json()["detail"]
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].exc_info is None


def test_too_many_files_states_limit_in_japanese(token_client: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [uploaded(f"{index}.png", png_bytes(seed=310 + index)) for index in range(3)]

    response = token_client.post(LIST_URL, {"file": files}, format="multipart", HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "too_many_files"
    assert "2" in body["detail"]
    assert "ファイル" in body["detail"]


def test_too_many_fields_is_json_400(token_client: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 2
    fields = {"patient_id": "P-1", "patient_name": "x", "accession_number": "A-1"}

    response = token_client.post(LIST_URL, fields, format="multipart", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_fields"
    assert "more than 2 form fields" in response.json()["detail"]


def test_too_many_files_on_upload_page_states_limit(clinician_client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [uploaded(f"{index}.png", png_bytes(seed=320 + index)) for index in range(3)]

    response = clinician_client.post("/upload/", {"radiographs": files}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "more than 2 files" in response.content.decode()


def test_upload_page_states_file_count_limit(clinician_client: Client) -> None:
    response = clinician_client.get("/upload/", HTTP_ACCEPT_LANGUAGE="en")

    assert "100 files per upload" in response.content.decode()
    assert "512 MiB" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_api_server_error_is_json(clinician: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(clinician)

    response = client.get("/api/test-failure/", HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "サーバー" in response.json()["detail"]


@override_settings(ROOT_URLCONF=__name__)
def test_page_server_error_renders_without_static_manifest(clinician: Any, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = "/nonexistent-static-root"
    client = Client(raise_request_exception=False)

    response = client.get("/test-failure/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 500
    assert "Server error" in response.content.decode()
    assert "<style>" in response.content.decode()


def test_invalid_boolean_filter_is_translated(token_client: Any) -> None:
    response = token_client.get(LIST_URL, {"mri_recommended": "maybe"}, HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 400
    message = response.json()["mri_recommended"][0]
    assert message != "Must be a valid boolean."
    assert "真偽値" in message


@pytest.mark.parametrize(("language", "expected"), [("en", "is a PNG or JPEG file"), ("ja", "患者")])
def test_validation_error_has_code_and_detail(token_client: Any, language: str, expected: str) -> None:
    response = token_client.post(
        LIST_URL,
        {"file": uploaded("scan.png", png_bytes(seed=38))},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert expected in body["patient_id"][0]
    assert body["detail"] == f"patient_id: {body['patient_id'][0]}"


def test_validation_error_detail_names_every_field(token_client: Any) -> None:
    response = token_client.post(
        LIST_URL,
        {"file": uploaded("scan.png", png_bytes(seed=39)), "patient_sex": "X", "study_date": "yesterday"},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert f"patient_sex: {body['patient_sex'][0]}" in body["detail"]
    assert f"study_date: {body['study_date'][0]}" in body["detail"]


def test_validation_error_detail_of_query_parameter(token_client: Any) -> None:
    response = token_client.get(LIST_URL, {"mri_recommended": "maybe"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == f"mri_recommended: {body['mri_recommended'][0]}"


def test_forbidden_page_logs_one_line_without_traceback(
    manager_client: Client, manager: Any, caplog: Any
) -> None:
    with caplog.at_level(logging.WARNING):
        response = manager_client.get("/upload/")

    assert response.status_code == 403
    records = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(records) == 1, [record.getMessage() for record in records]
    assert records[0].exc_info is None
    assert (
        records[0].getMessage()
        == f"permission denied for user {manager.pk} on /upload/: clinician or admin role required"
    )


def test_favicon_redirects_to_static_icon(client: Client) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
