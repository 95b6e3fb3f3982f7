"""The side the patient faces, stated at upload: form and API field, storage, audit, and the real screening.

The screening tests run the tiny bundle on a phantom DICOM whose Patient
Orientation (0020,0020) is "P\\F" (facing left), so a stated "right" that
reaches ``inference.pipeline.screen`` shows as source "stated" and side "right".
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from screening.forms import UploadForm
from screening.models import AnalysisRun, AuditEvent, Radiograph, Study
from screening.services.bundles import install_bundle
from screening.services.ingest import ingest_upload
from screening.services.reruns import rerun_with_bundle
from tests.screening.helpers import png_bytes, uploaded

LIST_URL = "/api/studies/"
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}
BEFORE_FACING = ("screening", "0004_review_and_mri_outcome")
WITH_FACING = ("screening", "0005_radiograph_stated_facing")


def upload_form(**fields: str) -> UploadForm:
    files = {"radiographs": uploaded("scan.png", png_bytes(seed=61))}
    return UploadForm({"patient_id": "P-61", **fields}, files)


def upload_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.UPLOAD).order_by("sequence"))


# Form


@pytest.mark.parametrize("facing", ["left", "right"])
def test_form_accepts_stated_side(facing: str) -> None:
    form = upload_form(facing=facing)

    assert form.is_valid(), form.errors
    assert form.stated_facing() == facing
    assert "facing" not in form.patient_details()


def test_form_defaults_to_side_from_file() -> None:
    form = upload_form()

    assert form.is_valid(), form.errors
    assert form.stated_facing() == ""
    assert form.fields["facing"].initial == ""


def test_form_rejects_unknown_side() -> None:
    form = upload_form(facing="up")

    assert not form.is_valid()
    assert list(form.errors) == ["facing"]


# Service


def test_ingest_stores_stated_side_and_audits_it(db: Any, clinician: Any) -> None:
    outcome = ingest_upload(
        uploaded("scan.png", png_bytes(seed=62)), user=clinician, patient=None, facing="right"
    )

    assert Radiograph.objects.get(study=outcome.study).stated_facing == "right"
    [event] = upload_events()
    assert event.details["stated_facing"] == "right"
    assert "facing_conflict" not in event.details


def test_ingest_without_side_leaves_it_to_file(db: Any, clinician: Any) -> None:
    outcome = ingest_upload(uploaded("scan.png", png_bytes(seed=63)), user=clinician)

    assert Radiograph.objects.get(study=outcome.study).stated_facing == ""
    [event] = upload_events()
    assert event.details["stated_facing"] is None


def test_ingest_rejects_unknown_side(db: Any, clinician: Any) -> None:
    with pytest.raises(ValueError, match="facing"):
        ingest_upload(uploaded("scan.png", png_bytes(seed=64)), user=clinician, facing="up")

    assert not Study.objects.exists()


def test_duplicate_with_other_side_reports_conflict(db: Any, clinician: Any) -> None:
    content = png_bytes(seed=65)
    first = ingest_upload(uploaded("scan.png", content), user=clinician, facing="right")

    again = ingest_upload(uploaded("again.png", content), user=clinician)

    assert again.duplicate is True
    assert again.study.pk == first.study.pk
    assert Radiograph.objects.get(study=first.study).stated_facing == "right"
    assert again.facing_conflict is not None
    assert again.facing_conflict.to_dict() == {
        "study_side": "right",
        "study_side_source": "stated",
        "requested_side": "left",
        "requested_side_source": "assumed",
    }
    duplicate_event = upload_events()[-1]
    assert duplicate_event.details["duplicate"] is True
    assert duplicate_event.details["stated_facing"] is None
    assert duplicate_event.details["facing_conflict"]["study_side"] == "right"


def test_duplicate_with_same_side_has_no_conflict(db: Any, clinician: Any) -> None:
    content = png_bytes(seed=66)
    ingest_upload(uploaded("scan.png", content), user=clinician, facing="left")

    # A PNG states no side, so "from the file" also gives left: the same side, no conflict.
    again = ingest_upload(uploaded("again.png", content), user=clinician)

    assert again.duplicate is True
    assert again.facing_conflict is None


# API


def test_api_upload_stores_stated_side(api_client_for: Any, clinician: Any) -> None:
    response = api_client_for(clinician).post(
        LIST_URL,
        {"file": uploaded("scan.png", png_bytes(seed=67)), "patient_id": "P-67", "facing": "right"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["study"]["radiograph"]["stated_facing"] == "right"
    assert body["facing_conflict"] is None
    assert Radiograph.objects.get(study_id=body["study"]["id"]).stated_facing == "right"


@pytest.mark.parametrize("facing", [None, ""])
def test_api_upload_without_side_leaves_it_to_file(
    api_client_for: Any, clinician: Any, facing: str | None
) -> None:
    data: dict[str, Any] = {"file": uploaded("scan.png", png_bytes(seed=68)), "patient_id": "P-68"}
    if facing is not None:
        data["facing"] = facing

    response = api_client_for(clinician).post(LIST_URL, data, format="multipart")

    assert response.status_code == 201, response.content
    assert response.json()["study"]["radiograph"]["stated_facing"] is None


@pytest.mark.parametrize(("language", "expected"), [("en", 'Use "left" or "right"'), ("ja", "無効です")])
def test_api_rejects_unknown_side_with_reason(
    api_client_for: Any, clinician: Any, language: str, expected: str
) -> None:
    response = api_client_for(clinician).post(
        LIST_URL,
        {"file": uploaded("scan.png", png_bytes(seed=69)), "patient_id": "P-69", "facing": "anterior"},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 400, response.content
    [message] = response.json()["facing"]
    assert '"anterior"' in message
    assert expected in message
    assert not Study.objects.exists()


def test_api_duplicate_reports_facing_conflict(api_client_for: Any, clinician: Any) -> None:
    content = png_bytes(seed=70)
    client = api_client_for(clinician)
    client.post(LIST_URL, {"file": uploaded("scan.png", content), "patient_id": "P-70"}, format="multipart")

    response = client.post(
        LIST_URL,
        {"file": uploaded("scan.png", content), "patient_id": "P-70", "facing": "right"},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["duplicate"] is True
    assert body["study"]["radiograph"]["stated_facing"] is None
    conflict = body["facing_conflict"]
    assert conflict["study_side"] == "left"
    assert conflict["study_side_source"] == "assumed"
    assert conflict["requested_side"] == "right"
    assert conflict["requested_side_source"] == "stated"
    assert "were not changed" in conflict["message"]


def test_api_schema_documents_facing(api_client_for: Any, manager: Any) -> None:
    response = api_client_for(manager).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schemas = response.json()["components"]["schemas"]
    facing = schemas["StudyUpload"]["properties"]["facing"]
    choice_sets = {item["$ref"].rsplit("/", 1)[-1] for item in facing["oneOf"]}
    assert choice_sets == {"AnteriorSideEnum", "BlankEnum"}
    assert schemas["AnteriorSideEnum"]["enum"] == ["left", "right"]
    assert "Patient Orientation" in facing["description"]
    assert "stated_facing" in schemas["Radiograph"]["properties"]
    assert "facing_conflict" in schemas["UploadResult"]["properties"]


# Migration


def test_model_matches_committed_migrations(db: Any) -> None:
    call_command("makemigrations", "screening", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_migration_gives_existing_radiographs_side_from_file() -> None:
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([BEFORE_FACING])
        old_apps = executor.loader.project_state([BEFORE_FACING]).apps
        old_study = old_apps.get_model("screening", "Study").objects.create()
        old_apps.get_model("screening", "Radiograph").objects.create(
            study=old_study, original="originals/old", original_filename="old.png", sha256="a" * 64, size_bytes=1
        )

        executor = MigrationExecutor(connection)
        executor.migrate([WITH_FACING])
        new_apps = executor.loader.project_state([WITH_FACING]).apps
        migrated = new_apps.get_model("screening", "Radiograph").objects.get(sha256="a" * 64)
        assert migrated.stated_facing == ""
    finally:
        MigrationExecutor(connection).migrate(leaves)


# Real screening with the tiny bundle


def copy_bundle_as_new_version(source: Path, target: Path, version: str) -> Path:
    """Copy a bundle and give the copy another version, so it installs as a second bundle."""
    from inference.bundle import BundleManifest, load_manifest, write_manifest

    shutil.copytree(source, target)
    data = load_manifest(target).to_dict()
    data["version"] = version
    write_manifest(target, BundleManifest.from_dict(data))
    return target


def orientation_of(run: AnalysisRun) -> tuple[str, str]:
    geometry = run.result["cam_region_geometry"]
    return geometry["anterior_side"], geometry["anterior_side_source"]


def test_stated_side_reaches_screening_and_reruns(
    tiny_bundle: Any,
    tiny_bundle_dir: Path,
    clinician_client: Any,
    admin_user: Any,
    phantom_dicom: Path,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The upload page posts one file per request, as static/js/upload.js does; the eager task screens on commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = clinician_client.post(
            reverse("screening:upload"),
            {"radiographs": uploaded("phantom.dcm", phantom_dicom.read_bytes()), "facing": "right"},
            **XHR,
        )

    assert response.status_code == 200, response.content
    study = Study.objects.get(pk=response.json()["study_id"])
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    assert study.radiograph.header["patient_orientation"] == "P\\F"
    assert orientation_of(study.current_run) == ("right", "stated")

    second = install_bundle(copy_bundle_as_new_version(tiny_bundle_dir, tmp_path / "second", "second-1"))
    with django_capture_on_commit_callbacks(execute=True):
        rerun_with_bundle(study.pk, second.pk, actor=admin_user)

    study.refresh_from_db()
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    assert study.current_run.bundle_id == second.pk
    assert orientation_of(study.current_run) == ("right", "stated")


def test_side_from_header_without_statement(
    tiny_bundle: Any, clinician: Any, phantom_dicom: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest_upload(uploaded("phantom.dcm", phantom_dicom.read_bytes()), user=clinician)

    study = Study.objects.get(pk=outcome.study.pk)
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    assert orientation_of(study.current_run) == ("left", "header")
