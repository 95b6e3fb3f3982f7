"""The screening task retries only transient errors; the sweep and the in-process dispatcher recover work."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from inference.errors import DamagedImageError
from olvf_web.celery import app as celery_app
from screening import tasks
from screening.models import AnalysisRun, AuditEvent, Study
from screening.services import screening as screening_service
from screening.services.bundles import activate_bundle, install_bundle
from screening.services.ingest import ingest_upload
from tests.screening.helpers import png_bytes, screening_result, uploaded, write_hashed_bundle


class PipelineStub:
    def __init__(self, outcome: Any) -> None:
        self.calls = 0
        self.outcome = outcome

    def __call__(self, study_id: int, bundle: Any, run: Any) -> Any:
        self.calls += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


@pytest.fixture
def hashed_bundle(db: Any, tmp_path: Path) -> Any:
    bundle = install_bundle(write_hashed_bundle(tmp_path / "bundle"))
    return activate_bundle(bundle.pk)


@pytest.fixture
def queued_study(db: Any, clinician: Any) -> Study:
    return ingest_upload(uploaded("t.png", png_bytes(seed=21)), user=clinician).study


def use_pipeline(monkeypatch: pytest.MonkeyPatch, outcome: Any) -> PipelineStub:
    stub = PipelineStub(outcome)
    monkeypatch.setattr(screening_service, "_screen_original", stub)
    return stub


def test_task_is_configured_for_gpu_workers() -> None:
    task = tasks.run_screening_task

    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert task.soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert task.time_limit > task.soft_time_limit
    assert celery_app.conf.worker_prefetch_multiplier == 1
    assert settings.CELERY_TASK_ROUTES[task.name] == {"queue": "inference"}


def test_transient_error_is_retried_then_fails_study(
    monkeypatch: pytest.MonkeyPatch, hashed_bundle: Any, queued_study: Study
) -> None:
    stub = use_pipeline(monkeypatch, OperationalError("server closed the connection"))
    monkeypatch.setattr(tasks.run_screening_task, "max_retries", 2)

    tasks.run_screening_task.apply(args=(queued_study.pk,))

    study = Study.objects.get(pk=queued_study.pk)
    assert stub.calls == 3
    assert study.status == Study.Status.FAILED
    assert study.failure_code == "transient_error"


def test_transient_error_then_success_finishes_study(
    monkeypatch: pytest.MonkeyPatch, hashed_bundle: Any, queued_study: Study
) -> None:
    outcomes = [OSError("NFS stale file handle"), screening_result()]

    def flaky(study_id: int, bundle: Any, run: Any) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(screening_service, "_screen_original", flaky)

    tasks.run_screening_task.apply(args=(queued_study.pk,))

    assert Study.objects.get(pk=queued_study.pk).status == Study.Status.DONE
    assert AnalysisRun.objects.filter(study_id=queued_study.pk).count() == 1


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (DamagedImageError("Truncated.", "途中で切れています。"), "damaged_image"),
        (ValueError("unexpected"), "internal_error"),
    ],
)
def test_permanent_error_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, hashed_bundle: Any, queued_study: Study, error: Exception, code: str
) -> None:
    stub = use_pipeline(monkeypatch, error)

    tasks.run_screening_task.apply(args=(queued_study.pk,))

    assert stub.calls == 1
    assert Study.objects.get(pk=queued_study.pk).failure_code == code


def test_retry_countdown_grows_and_is_capped(settings: Any) -> None:
    settings.OLVF_RETRY_BACKOFF_SECONDS = 5

    assert [tasks.retry_countdown(n) for n in range(3)] == [5.0, 10.0, 20.0]
    assert tasks.retry_countdown(20) == 300.0


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(tasks, "dispatch_screening", lambda study_id, bundle_id=None: calls.append(study_id))
    return calls


@pytest.fixture
def dispatched_bundles(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None]]:
    calls: list[tuple[int, int | None]] = []
    monkeypatch.setattr(
        tasks, "dispatch_screening", lambda study_id, bundle_id=None: calls.append((study_id, bundle_id))
    )
    return calls


def make_stuck(study: Study, *, minutes: int, requeue_count: int = 0) -> None:
    Study.objects.filter(pk=study.pk).update(
        status=Study.Status.RUNNING,
        started_at=timezone.now() - timedelta(minutes=minutes),
        requeue_count=requeue_count,
    )


def test_sweep_requeues_study_stuck_in_running(
    queued_study: Study, dispatched: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    make_stuck(queued_study, minutes=45)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = screening_service.sweep_stuck_studies()

    study = Study.objects.get(pk=queued_study.pk)
    assert outcome.requeued == (queued_study.pk,)
    assert study.status == Study.Status.QUEUED
    assert study.requeue_count == 1
    assert dispatched == [queued_study.pk]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.STUDY_REQUEUED).count() == 1


def test_sweep_fails_study_after_last_requeue(
    queued_study: Study, dispatched: list[int], settings: Any
) -> None:
    make_stuck(queued_study, minutes=45, requeue_count=settings.OLVF_STUCK_MAX_ATTEMPTS)

    outcome = screening_service.sweep_stuck_studies()

    study = Study.objects.get(pk=queued_study.pk)
    assert outcome.failed == (queued_study.pk,)
    assert study.status == Study.Status.FAILED
    assert study.failure_code == "timed_out"
    assert dispatched == []


def test_sweep_leaves_recent_running_study_alone(queued_study: Study, dispatched: list[int]) -> None:
    make_stuck(queued_study, minutes=1)

    outcome = screening_service.sweep_stuck_studies()

    assert outcome == screening_service.SweepOutcome()
    assert Study.objects.get(pk=queued_study.pk).status == Study.Status.RUNNING


def test_sweep_dispatches_old_queued_study_again(queued_study: Study, dispatched: list[int]) -> None:
    Study.objects.filter(pk=queued_study.pk).update(queued_at=timezone.now() - timedelta(hours=2))

    outcome = screening_service.sweep_stuck_studies()

    assert outcome.redispatched == (queued_study.pk,)
    assert dispatched == [queued_study.pk]
    assert Study.objects.get(pk=queued_study.pk).queued_at > timezone.now() - timedelta(minutes=1)


def test_sweep_task_returns_ids(queued_study: Study, dispatched: list[int]) -> None:
    make_stuck(queued_study, minutes=45)

    result = tasks.sweep_stuck_studies.apply().get()

    assert result == {"requeued": [queued_study.pk], "failed": [], "redispatched": []}


def test_broker_error_on_dispatch_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def reject_connection(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.run_screening_task, "delay", reject_connection)

    tasks.dispatch_screening(5)

    assert "could not send study 5" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_in_process_dispatcher_runs_task_on_its_thread(
    monkeypatch: pytest.MonkeyPatch, clinician: Any, tmp_path: Path
) -> None:
    bundle = install_bundle(write_hashed_bundle(tmp_path / "bundle"))
    activate_bundle(bundle.pk)
    study = ingest_upload(uploaded("d.png", png_bytes(seed=22)), user=clinician).study
    # ingest committed and dispatched eagerly without an active pipeline stub; reset the study to QUEUED.
    Study.objects.filter(pk=study.pk).update(status=Study.Status.QUEUED, failure_code="")
    AnalysisRun.objects.filter(study=study).delete()
    use_pipeline(monkeypatch, screening_result())
    dispatcher = tasks.InProcessDispatcher()

    dispatcher.submit(study.pk)
    try:
        finished = dispatcher.wait_until_idle(timeout=60)
    finally:
        dispatcher.stop()

    assert finished
    assert Study.objects.get(pk=study.pk).status == Study.Status.DONE


def wait_for_status(study_id: int, expected: str, timeout_s: float) -> str:
    """Poll the study's status until it is ``expected`` or the time is up; return the last status read."""
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        try:
            status = Study.objects.get(pk=study_id).status
        except OperationalError:
            # The test database is SQLite in memory with a shared cache, where a read while the
            # dispatcher thread writes fails at once with "table is locked" instead of waiting.
            status = ""
        if status == expected:
            return status
        time.sleep(0.1)
    return status


@pytest.mark.django_db(transaction=True)
def test_in_process_dispatcher_sweeps_while_idle(
    monkeypatch: pytest.MonkeyPatch, clinician: Any, tmp_path: Path, settings: Any
) -> None:
    bundle = install_bundle(write_hashed_bundle(tmp_path / "bundle"))
    activate_bundle(bundle.pk)
    use_pipeline(monkeypatch, screening_result())
    study = ingest_upload(uploaded("s.png", png_bytes(seed=23)), user=clinician).study
    AnalysisRun.objects.filter(study=study).delete()
    make_stuck(study, minutes=45)
    settings.OLVF_SWEEP_INTERVAL_SECONDS = 0.2
    dispatcher = tasks.InProcessDispatcher()

    dispatcher.start()
    try:
        final_status = wait_for_status(study.pk, Study.Status.DONE, timeout_s=30)
    finally:
        dispatcher.stop()

    assert final_status == Study.Status.DONE
    assert Study.objects.get(pk=study.pk).requeue_count == 1


def test_sweep_requeues_with_bundle_of_interrupted_run(
    queued_study: Study,
    hashed_bundle: Any,
    dispatched_bundles: list[tuple[int, int | None]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    AnalysisRun.objects.create(
        study=queued_study,
        bundle=hashed_bundle,
        bundle_name=hashed_bundle.name,
        bundle_version=hashed_bundle.version,
        bundle_manifest_sha256=hashed_bundle.manifest_sha256,
        status=AnalysisRun.Status.RUNNING,
    )
    make_stuck(queued_study, minutes=45)

    with django_capture_on_commit_callbacks(execute=True):
        screening_service.sweep_stuck_studies()

    assert dispatched_bundles == [(queued_study.pk, hashed_bundle.pk)]
