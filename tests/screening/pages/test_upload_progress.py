"""Upload page: the sentence beside an accepted file follows the study's status while the page polls."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from pages.factories import make_study

pytestmark = pytest.mark.django_db


def progress_messages(client: Client, *studies: object) -> dict[int, str]:
    ids = ",".join(str(study.pk) for study in studies)  # type: ignore[attr-defined]
    response = client.get(reverse("screening:study_status") + f"?ids={ids}")
    assert response.status_code == 200
    return {entry["id"]: entry["progress_message"] for entry in response.json()["studies"]}


def test_progress_message_follows_status(clinician_page_client: Client) -> None:
    queued = make_study(status="queued")
    done = make_study()
    failed = make_study(status="failed")
    messages = progress_messages(clinician_page_client, queued, done, failed)
    assert messages[queued.pk] == "Uploaded. Screening runs in the background."
    assert messages[done.pk] == "Uploaded and screened."
    assert messages[failed.pk] == "Screening failed. Open the study for the reason."


def test_progress_message_in_japanese(clinician_page_client_ja: Client) -> None:
    failed = make_study(status="failed")
    messages = progress_messages(clinician_page_client_ja, failed)
    assert messages[failed.pk] == "スクリーニングに失敗しました。理由は検査を開いて確認してください。"


def test_upload_script_replaces_message_on_poll() -> None:
    script = (Path(settings.BASE_DIR) / "static" / "js" / "upload.js").read_text(encoding="utf-8")
    assert 'querySelector(".upload-item__message")' in script
    assert "study.progress_message" in script
