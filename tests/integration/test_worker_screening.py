"""An upload through the API is screened by a real Celery worker process and its result is stored."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from screening.models import AnalysisRun, Study, VertebraFinding
from tests.integration.conftest import WorkerProcess
from tests.screening.helpers import uploaded

pytestmark = pytest.mark.integration

SCREENING_TIMEOUT_S = 300


def wait_for_final_status(study_id: int, worker: WorkerProcess) -> Study:
    deadline = time.monotonic() + SCREENING_TIMEOUT_S
    while time.monotonic() < deadline:
        study = Study.objects.get(pk=study_id)
        if study.status in (Study.Status.DONE, Study.Status.FAILED):
            return study
        time.sleep(1)
    pytest.fail(f"study {study_id} was not screened within {SCREENING_TIMEOUT_S} s:\n{worker.log_tail()}")


def wait_for_log_line(worker: WorkerProcess, text: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in worker.log_path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.5)
    pytest.fail(f"the worker log did not show {text!r} within {timeout_s} s:\n{worker.log_tail()}")


def test_worker_screens_uploaded_dicom(
    tiny_bundle: Any,
    celery_worker_process: WorkerProcess,
    broker_dispatch: None,
    clinician: Any,
    api_client_for: Callable[[Any], APIClient],
    phantom_dicom: Path,
) -> None:
    # Given a clinician and an active bundle, when a phantom lumbar DICOM is uploaded through the API ...
    response = api_client_for(clinician).post(
        "/api/studies/", {"file": uploaded("phantom.dcm", phantom_dicom.read_bytes())}, format="multipart"
    )
    assert response.status_code == 201, response.content
    study_id = response.json()["study"]["id"]

    # ... then the worker process claims it, screens it and stores the run.
    study = wait_for_final_status(study_id, celery_worker_process)
    assert study.status == Study.Status.DONE, f"{study.failure_code}: {study.failure_message_en}"
    run = AnalysisRun.objects.get(pk=study.current_run_id)
    assert run.status == AnalysisRun.Status.DONE
    assert run.result is not None
    assert run.result_status in {choice.value for choice in AnalysisRun.ResultStatus}
    assert run.bundle_id == tiny_bundle.pk
    assert run.worker.rsplit(":", 1)[1] != str(os.getpid())
    assert VertebraFinding.objects.filter(run=run).count() == len(run.result["findings"])


def test_repeat_task_for_done_study_changes_nothing(
    tiny_bundle: Any,
    celery_worker_process: WorkerProcess,
    broker_dispatch: None,
    clinician: Any,
    api_client_for: Callable[[Any], APIClient],
    phantom_dicom: Path,
) -> None:
    from screening.tasks import run_screening_task

    response = api_client_for(clinician).post(
        "/api/studies/", {"file": uploaded("phantom.dcm", phantom_dicom.read_bytes())}, format="multipart"
    )
    study = wait_for_final_status(response.json()["study"]["id"], celery_worker_process)
    finished_at = study.finished_at

    # A duplicate message, as a redelivery after a lost acknowledgement would produce.
    run_screening_task.delay(study.pk)
    wait_for_log_line(celery_worker_process, f"study {study.pk} is already done")

    study.refresh_from_db()
    assert study.finished_at == finished_at
    assert AnalysisRun.objects.filter(study=study).count() == 1
