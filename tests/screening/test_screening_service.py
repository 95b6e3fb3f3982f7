"""run_screening claims its study once, stores one run per (study, bundle), and fails with readable reasons.

These tests replace the pipeline call (``_screen_original``) to exercise the
claim and storage logic; tests/screening/test_pipeline_end_to_end.py runs the real models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

from inference.errors import DamagedImageError
from screening.models import AnalysisRun, AuditEvent, Study, VertebraFinding
from screening.services import screening as screening_service
from screening.services.bundles import activate_bundle, install_bundle
from screening.services.ingest import ingest_upload
from screening.services.screening import requeue_study, run_screening
from tests.screening.helpers import png_bytes, screening_result, uploaded, write_hashed_bundle


class PipelineStub:
    """Stands in for the pipeline call; counts calls and returns or raises what a test sets."""

    def __init__(self) -> None:
        self.calls = 0
        self.outcome: Any = screening_result()

    def __call__(self, study_id: int, bundle: Any, run: Any) -> Any:
        self.calls += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> PipelineStub:
    stub = PipelineStub()
    monkeypatch.setattr(screening_service, "_screen_original", stub)
    return stub


@pytest.fixture
def hashed_bundle(db: Any, tmp_path: Path) -> Any:
    bundle = install_bundle(write_hashed_bundle(tmp_path / "bundle"))
    return activate_bundle(bundle.pk)


@pytest.fixture
def queued_study(db: Any, clinician: Any) -> Study:
    # Under the db fixture on_commit callbacks do not run, so the study stays QUEUED.
    return ingest_upload(uploaded("s.png", png_bytes(seed=11)), user=clinician).study


def test_run_stores_run_findings_and_marks_done(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    run_screening(queued_study.pk, task_id="task-1")

    study = Study.objects.get(pk=queued_study.pk)
    run = AnalysisRun.objects.get(study=study)
    assert study.status == Study.Status.DONE
    assert study.current_run_id == run.pk
    assert study.mri_recommended is True
    assert study.not_assessable is False
    assert run.status == AnalysisRun.Status.DONE
    assert run.result_status == "mri_recommended"
    assert run.bundle_name == hashed_bundle.name
    assert run.task_id == "task-1"
    assert run.thresholds == {"fresh": 0.3, "source": "test fixture"}
    assert run.result["status"] == "mri_recommended"


def test_findings_store_paths_relative_to_media_root(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    run_screening(queued_study.pk)

    run = AnalysisRun.objects.get(study_id=queued_study.pk)
    findings = list(VertebraFinding.objects.filter(run=run).order_by("level"))
    assert [finding.level for finding in findings] == ["L1", "L2", "L3", "L4", "L5"]
    assert findings[0].overlays == {"ensemble": f"runs/{run.pk}/L1_ensemble.png"}
    assert findings[0].crop_file == f"runs/{run.pk}/L1_crop.png"
    assert findings[0].warnings[0]["code"] == "cam_outside"
    assert run.overview_overlay == f"runs/{run.pk}/overview.png"


def test_done_study_is_not_screened_again(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    run_screening(queued_study.pk)

    run_screening(queued_study.pk)

    assert pipeline.calls == 1
    assert AnalysisRun.objects.filter(study_id=queued_study.pk).count() == 1


def test_running_study_is_not_claimed(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    Study.objects.filter(pk=queued_study.pk).update(status=Study.Status.RUNNING)

    run_screening(queued_study.pk)

    assert pipeline.calls == 0
    assert Study.objects.get(pk=queued_study.pk).status == Study.Status.RUNNING


def test_claim_changes_exactly_one_row_once(queued_study: Study) -> None:
    assert screening_service._claim(queued_study.pk) is True
    assert screening_service._claim(queued_study.pk) is False


def test_missing_study_is_ignored(pipeline: PipelineStub, hashed_bundle: Any) -> None:
    run_screening(987654)

    assert pipeline.calls == 0


def test_repeat_with_same_bundle_reuses_the_run(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study, clinician: Any
) -> None:
    run_screening(queued_study.pk)
    requeue_study(queued_study.pk, actor=clinician)

    run_screening(queued_study.pk)

    assert pipeline.calls == 1
    assert AnalysisRun.objects.filter(study_id=queued_study.pk).count() == 1
    assert Study.objects.get(pk=queued_study.pk).status == Study.Status.DONE


def test_rerun_with_another_bundle_adds_a_run(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study, clinician: Any, tmp_path: Path
) -> None:
    run_screening(queued_study.pk)
    second = install_bundle(write_hashed_bundle(tmp_path / "second", version="2"))
    requeue_study(queued_study.pk, actor=clinician, bundle_id=second.pk)

    run_screening(queued_study.pk, second.pk)

    study = Study.objects.get(pk=queued_study.pk)
    assert AnalysisRun.objects.filter(study=study).count() == 2
    assert study.current_run.bundle_id == second.pk
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RERUN).count() == 1


def test_transient_error_releases_claim_and_is_raised(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    pipeline.outcome = OperationalError("database is locked")

    with pytest.raises(OperationalError):
        run_screening(queued_study.pk)

    assert Study.objects.get(pk=queued_study.pk).status == Study.Status.QUEUED


def test_inference_error_fails_study_with_both_messages(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    pipeline.outcome = DamagedImageError(
        "Pixel data is truncated.", "画素データが途中で切れています。", detail="x"
    )

    run_screening(queued_study.pk)

    study = Study.objects.get(pk=queued_study.pk)
    run = AnalysisRun.objects.get(study=study)
    assert study.status == Study.Status.FAILED
    assert study.failure_code == "damaged_image"
    assert study.failure_message("ja") == "画素データが途中で切れています。"
    assert run.status == AnalysisRun.Status.FAILED
    assert run.error["code"] == "damaged_image"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SCREENING_FAILED).count() == 1


def test_unexpected_error_fails_with_internal_reason(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    pipeline.outcome = ValueError("shape mismatch")

    run_screening(queued_study.pk)

    study = Study.objects.get(pk=queued_study.pk)
    assert study.status == Study.Status.FAILED
    assert study.failure_code == "internal_error"
    assert "shape mismatch" not in study.failure_message_en


def test_soft_time_limit_fails_as_timed_out(
    pipeline: PipelineStub, hashed_bundle: Any, queued_study: Study
) -> None:
    pipeline.outcome = SoftTimeLimitExceeded()

    run_screening(queued_study.pk)

    assert Study.objects.get(pk=queued_study.pk).failure_code == "timed_out"


def test_no_active_bundle_leaves_study_waiting(pipeline: PipelineStub, queued_study: Study) -> None:
    run_screening(queued_study.pk)

    study = Study.objects.get(pk=queued_study.pk)
    assert study.status == Study.Status.QUEUED
    assert study.failure_code == "no_active_bundle"
    assert "activates" in study.failure_message_en
    assert "バンドル" in study.failure_message_ja
    assert study.started_at is None
    assert pipeline.calls == 0
    assert not AnalysisRun.objects.filter(study=study).exists()


def test_activation_dispatches_waiting_studies(
    pipeline: PipelineStub,
    queued_study: Study,
    tmp_path: Path,
    admin_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    run_screening(queued_study.pk)
    bundle = install_bundle(write_hashed_bundle(tmp_path / "bundle"))

    with django_capture_on_commit_callbacks(execute=True):
        activate_bundle(bundle.pk, actor=admin_user)

    study = Study.objects.get(pk=queued_study.pk)
    assert study.status == Study.Status.DONE
    assert study.failure_code == ""
    assert pipeline.calls == 1
    event = AuditEvent.objects.get(action=AuditEvent.Action.STUDY_REQUEUED, object_id=str(study.pk))
    assert event.details == {"reason": "bundle_activated"}
    assert event.actor_id == admin_user.pk


def test_waiting_studies_are_dispatched_once(pipeline: PipelineStub, queued_study: Study) -> None:
    run_screening(queued_study.pk)

    first = screening_service.dispatch_waiting_studies()
    second = screening_service.dispatch_waiting_studies()

    assert first == [queued_study.pk]
    assert second == []
    assert AuditEvent.objects.filter(action=AuditEvent.Action.STUDY_REQUEUED).count() == 1


def test_sweep_skips_waiting_study_without_bundle(pipeline: PipelineStub, queued_study: Study) -> None:
    from datetime import timedelta

    from django.utils import timezone

    run_screening(queued_study.pk)

    outcome = screening_service.sweep_stuck_studies(now=timezone.now() + timedelta(days=1))

    assert outcome.redispatched == ()
    assert Study.objects.get(pk=queued_study.pk).failure_code == "no_active_bundle"


def test_requeue_of_running_study_is_refused(queued_study: Study, clinician: Any) -> None:
    from screening.errors import StudyNotRerunnable

    with pytest.raises(StudyNotRerunnable):
        requeue_study(queued_study.pk, actor=clinician)
