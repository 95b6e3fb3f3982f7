"""Screening one study: claim it, run ``inference`` on its original, store the run and its findings.

``run_screening`` is idempotent. It claims the study with one conditional
QUEUED -> RUNNING update that must change exactly one row, so two workers never
screen the same study at once, and a DONE study returns at once. Runs are unique
per (study, bundle): a repeat with the same bundle reuses the stored run instead
of adding another.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from inference.errors import InferenceError
from screening.errors import (
    BundleNotFound,
    NoActiveBundle,
    ScreeningError,
    StudyNotFound,
    StudyNotRerunnable,
)
from screening.models import AnalysisRun, AuditEvent, ModelBundle, Study, VertebraFinding
from screening.services import model_cache
from screening.services.audit import record_event
from screening.services.bundles import get_active_bundle

if TYPE_CHECKING:
    from inference.result import ScreeningResult

logger = logging.getLogger(__name__)

# Errors worth retrying: the database or the storage was briefly unavailable. Everything else is permanent.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, OSError)

# Overlays and crops of run N are written under MEDIA_ROOT/runs/N/.
RUNS_FOLDER = "runs"

TIMED_OUT = (
    "timed_out",
    "Screening took longer than the time limit and was stopped. Run the study again; "
    "if it keeps failing, ask an administrator to check the worker.",
    "スクリーニングが制限時間を超えたため中止されました。検査を再実行してください。"
    "繰り返し失敗する場合は、管理者にワーカーの確認を依頼してください。",
)
INTERNAL_ERROR = (
    "internal_error",
    "Screening failed because of an internal error. Run the study again; "
    "if it keeps failing, ask an administrator to check the worker log.",
    "内部エラーのためスクリーニングに失敗しました。検査を再実行してください。"
    "繰り返し失敗する場合は、管理者にワーカーのログの確認を依頼してください。",
)
# A study screened while no bundle is active stays QUEUED with this reason until a bundle is activated.
WAITING_FOR_BUNDLE = (
    NoActiveBundle.code,
    "Waiting for a model bundle: no bundle is active. The study is screened as soon as an "
    "administrator activates one.",
    "モデルバンドル待ち: 有効なバンドルがありません。管理者がバンドルを有効化すると、"
    "この検査は自動的にスクリーニングされます。",
)
TRANSIENT_EXHAUSTED = (
    "transient_error",
    "Screening failed because the database or file storage was unavailable. Run the study again later.",
    "データベースまたはファイル保存先に接続できなかったため、スクリーニングに失敗しました。"
    "時間をおいて検査を再実行してください。",
)


def run_screening(study_id: int, bundle_id: int | None = None, *, task_id: str = "") -> None:
    """Screen study ``study_id`` with ``bundle_id`` (default: the active bundle) and store the result.

    Returns at once when the study is missing, DONE, or not QUEUED (another
    worker has claimed it). Without ``bundle_id`` and an active bundle the study
    goes back to QUEUED with the reason WAITING_FOR_BUNDLE, and activating a
    bundle dispatches it (``dispatch_waiting_studies``). Permanent failures end the
    study FAILED with an en/ja reason. A transient error (TRANSIENT_ERRORS) puts the study back to QUEUED
    and is re-raised, so the caller may retry.
    """
    log_extra: dict[str, Any] = {"study_id": study_id, "task_id": task_id}
    status = Study.objects.filter(pk=study_id).values_list("status", flat=True).first()
    if status is None:
        logger.warning("study %s no longer exists; nothing to screen", study_id, extra=log_extra)
        return
    if status == Study.Status.DONE:
        logger.info("study %s is already done", study_id, extra=log_extra)
        return
    if not _claim(study_id):
        logger.info("study %s was not claimed: its status is %s", study_id, status, extra=log_extra)
        return

    logger.info("screening study %s", study_id, extra=log_extra)
    run: AnalysisRun | None = None
    try:
        bundle = _choose_bundle(bundle_id)
        run = _start_run(study_id, bundle, task_id)
        if run.status == AnalysisRun.Status.DONE:
            _finish_with_existing_run(study_id, run)
            return
        result = _screen_original(study_id, bundle, run)
        _store_result(study_id, run, result)
    except TRANSIENT_ERRORS as error:
        logger.warning("transient error while screening study %s: %r", study_id, error, extra=log_extra)
        _release_claim(study_id)
        raise
    except NoActiveBundle:
        _wait_for_bundle(study_id)
    except SoftTimeLimitExceeded:
        logger.error("screening study %s hit the soft time limit", study_id, extra=log_extra)
        fail_study(study_id, *TIMED_OUT, run=run)
    except (ScreeningError, InferenceError) as error:
        logger.warning("screening study %s failed: %s", study_id, error.code, extra=log_extra)
        fail_study(study_id, error.code, error.message_en, error.message_ja, detail=error.detail, run=run)
    except Exception as error:
        logger.exception("screening study %s failed with an unexpected error", study_id, extra=log_extra)
        fail_study(study_id, *INTERNAL_ERROR, detail=repr(error), run=run)


def fail_study(
    study_id: int,
    code: str,
    message_en: str,
    message_ja: str,
    *,
    detail: str = "",
    run: AnalysisRun | None = None,
) -> bool:
    """Mark a RUNNING or QUEUED study (and its run) FAILED with a readable reason; return whether it changed."""
    now = timezone.now()
    with transaction.atomic():
        changed = Study.objects.filter(
            pk=study_id, status__in=[Study.Status.RUNNING, Study.Status.QUEUED]
        ).update(
            status=Study.Status.FAILED,
            failure_code=code,
            failure_message_en=message_en,
            failure_message_ja=message_ja,
            finished_at=now,
        )
        if run is not None:
            AnalysisRun.objects.filter(pk=run.pk).exclude(status=AnalysisRun.Status.DONE).update(
                status=AnalysisRun.Status.FAILED,
                error={"code": code, "message_en": message_en, "message_ja": message_ja, "detail": detail},
                finished_at=now,
            )
        if changed:
            record_event(
                AuditEvent.Action.SCREENING_FAILED,
                obj=Study(pk=study_id),
                details={"code": code, "run_id": run.pk if run is not None else None},
            )
    return changed == 1


def requeue_study(
    study_id: int,
    *,
    actor: Any,
    request: HttpRequest | None = None,
    bundle_id: int | None = None,
) -> Study:
    """Queue a DONE or FAILED study again, with ``bundle_id`` or the active bundle, and dispatch it after commit.

    A repeat with a bundle that already screened the study reuses that run.
    Raises StudyNotFound, or StudyNotRerunnable while the study is QUEUED or RUNNING.
    """
    with transaction.atomic():
        study = Study.objects.select_for_update().filter(pk=study_id).first()
        if study is None:
            raise StudyNotFound(f"Study {study_id} does not exist.", f"検査 {study_id} は存在しません。")
        if study.status not in (Study.Status.DONE, Study.Status.FAILED):
            raise StudyNotRerunnable(
                "The study is already queued or running. Wait for it to finish.",
                "この検査はすでに待機中または実行中です。終了するまでお待ちください。",
            )
        study.status = Study.Status.QUEUED
        study.queued_at = timezone.now()
        study.started_at = None
        study.finished_at = None
        study.requeue_count = 0
        study.failure_code = ""
        study.failure_message_en = ""
        study.failure_message_ja = ""
        study.save()
        record_event(
            AuditEvent.Action.RERUN, actor=actor, request=request, obj=study, details={"bundle_id": bundle_id}
        )
        from screening.tasks import dispatch_screening

        transaction.on_commit(lambda: dispatch_screening(study_id, bundle_id))
    return study


def dispatch_waiting_studies(*, actor: Any = None, request: HttpRequest | None = None) -> list[int]:
    """Dispatch every study that waits for a model bundle, with the active bundle, and return their ids.

    Each study's wait reason is cleared and a STUDY_REQUEUED audit event is
    recorded, in one transaction. The update is conditional, so a second call
    finds nothing to dispatch.
    """
    now = timezone.now()
    dispatched: list[int] = []
    with transaction.atomic():
        waiting = Study.objects.filter(status=Study.Status.QUEUED, failure_code=NoActiveBundle.code)
        for study_id in waiting.order_by("pk").values_list("pk", flat=True):
            changed = Study.objects.filter(
                pk=study_id, status=Study.Status.QUEUED, failure_code=NoActiveBundle.code
            ).update(failure_code="", failure_message_en="", failure_message_ja="", queued_at=now)
            if not changed:
                continue
            record_event(
                AuditEvent.Action.STUDY_REQUEUED,
                actor=actor,
                request=request,
                obj=Study(pk=study_id),
                details={"reason": "bundle_activated"},
            )
            dispatched.append(study_id)
        transaction.on_commit(lambda: _dispatch_all(dispatched))
    if dispatched:
        logger.info(
            "dispatched %d studies that waited for a model bundle",
            len(dispatched),
            extra={"studies": dispatched},
        )
    return dispatched


def run_folder(run_id: int) -> str:
    """Return the folder of a run's overlays and crops, relative to MEDIA_ROOT."""
    return f"{RUNS_FOLDER}/{run_id}"


def _claim(study_id: int) -> bool:
    claimed = Study.objects.filter(pk=study_id, status=Study.Status.QUEUED).update(
        status=Study.Status.RUNNING, started_at=timezone.now(), finished_at=None
    )
    return claimed == 1


def _release_claim(study_id: int) -> None:
    """Put a RUNNING study back to QUEUED so that a retry can claim it again."""
    try:
        Study.objects.filter(pk=study_id, status=Study.Status.RUNNING).update(
            status=Study.Status.QUEUED, started_at=None
        )
    except TRANSIENT_ERRORS as error:
        # The database is still unavailable; the sweep re-queues the study once it is stuck long enough.
        logger.warning("could not release study %s: %r", study_id, error, extra={"study_id": study_id})


def _dispatch_all(study_ids: list[int]) -> None:
    from screening.tasks import dispatch_screening

    for study_id in study_ids:
        dispatch_screening(study_id)


def _wait_for_bundle(study_id: int) -> None:
    """Put a RUNNING study back to QUEUED with the reason WAITING_FOR_BUNDLE."""
    code, message_en, message_ja = WAITING_FOR_BUNDLE
    Study.objects.filter(pk=study_id, status=Study.Status.RUNNING).update(
        status=Study.Status.QUEUED,
        started_at=None,
        failure_code=code,
        failure_message_en=message_en,
        failure_message_ja=message_ja,
    )
    logger.info("study %s waits for a model bundle: none is active", study_id, extra={"study_id": study_id})


def _choose_bundle(bundle_id: int | None) -> ModelBundle:
    if bundle_id is None:
        return get_active_bundle()
    bundle = ModelBundle.objects.filter(pk=bundle_id).first()
    if bundle is None:
        raise BundleNotFound(
            f"Model bundle {bundle_id} is not installed.",
            f"モデルバンドル {bundle_id} はインストールされていません。",
        )
    return bundle


def _start_run(study_id: int, bundle: ModelBundle, task_id: str) -> AnalysisRun:
    """Return the run of (study, bundle), created if needed and marked RUNNING unless it is already DONE."""
    run, _ = AnalysisRun.objects.get_or_create(
        study_id=study_id,
        bundle=bundle,
        defaults={
            "bundle_name": bundle.name,
            "bundle_version": bundle.version,
            "bundle_manifest_sha256": bundle.manifest_sha256,
            "is_demo": bundle.is_demo,
        },
    )
    if run.status == AnalysisRun.Status.DONE:
        return run
    run.status = AnalysisRun.Status.RUNNING
    run.started_at = timezone.now()
    run.finished_at = None
    run.error = None
    run.worker = f"{socket.gethostname()}:{os.getpid()}"
    run.task_id = task_id
    run.save(update_fields=["status", "started_at", "finished_at", "error", "worker", "task_id"])
    return run


def _finish_with_existing_run(study_id: int, run: AnalysisRun) -> None:
    """Point the study at a run this bundle already finished, without screening again."""
    with transaction.atomic():
        Study.objects.filter(pk=study_id).update(
            status=Study.Status.DONE,
            current_run=run,
            mri_recommended=run.result_status == AnalysisRun.ResultStatus.MRI_RECOMMENDED,
            not_assessable=run.result_status == AnalysisRun.ResultStatus.NOT_ASSESSABLE,
            finished_at=timezone.now(),
        )
    logger.info("study %s reuses run %s", study_id, run.pk, extra={"study_id": study_id, "run_id": run.pk})


def _screen_original(study_id: int, bundle: ModelBundle, run: AnalysisRun) -> ScreeningResult:
    from inference.imaging import ImagingLimits, load
    from inference.pipeline import screen

    study = Study.objects.select_related("radiograph").get(pk=study_id)
    original_path = Path(study.radiograph.original.path)
    options = settings.OLVF_INFERENCE
    limits = ImagingLimits(
        max_file_bytes=int(options["max_file_bytes"]),
        max_pixels_per_frame=int(options["max_pixels_per_frame"]),
    )
    models = model_cache.get_models(bundle)
    radiograph = load(original_path, limits=limits)

    overlay_dir = Path(settings.MEDIA_ROOT) / run_folder(run.pk)
    # A failed or interrupted earlier attempt of this run may have left files behind.
    shutil.rmtree(overlay_dir, ignore_errors=True)
    overlay_dir.mkdir(parents=True, exist_ok=True)
    # The side stated at upload ("" when none) applies to every run of the study, re-runs included.
    facing = study.radiograph.stated_facing or None
    return screen(radiograph, models, overlay_dir=overlay_dir, facing=facing)


def _store_result(study_id: int, run: AnalysisRun, result: ScreeningResult) -> None:
    """Write the run, its findings and the study's status in one transaction."""
    folder = run_folder(run.pk)
    now = timezone.now()
    with transaction.atomic():
        run.status = AnalysisRun.Status.DONE
        run.result_status = result.status
        run.not_assessable_reasons = [asdict(reason) for reason in result.not_assessable_reasons]
        run.warnings = [asdict(warning) for warning in result.warnings]
        run.thresholds = {
            "fresh": result.bundle.fresh_threshold,
            "source": result.bundle.threshold_source,
        }
        run.timings_ms = dict(result.timings_ms)
        run.device = result.device
        run.bundle_manifest_sha256 = result.bundle.manifest_sha256
        run.bundle_file_sha256 = dict(result.bundle.file_sha256)
        run.result = result.to_dict()
        run.overview_overlay = _media_path(folder, result.overview_overlay)
        run.full_image_cam_overlays = {
            name: _media_path(folder, path) for name, path in result.full_image_cam_overlays.items()
        }
        run.finished_at = now
        run.save()

        VertebraFinding.objects.filter(run=run).delete()
        VertebraFinding.objects.bulk_create(_finding_rows(run, folder, result))

        Study.objects.filter(pk=study_id).update(
            status=Study.Status.DONE,
            current_run=run,
            mri_recommended=result.mri_recommended,
            not_assessable=result.status == "not_assessable",
            failure_code="",
            failure_message_en="",
            failure_message_ja="",
            finished_at=now,
        )
        record_event(
            AuditEvent.Action.SCREENING_DONE,
            obj=Study(pk=study_id),
            details={
                "run_id": run.pk,
                "bundle": f"{run.bundle_name} {run.bundle_version}",
                "result_status": result.status,
            },
        )
    logger.info(
        "study %s screened: %s",
        study_id,
        result.status,
        extra={"study_id": study_id, "run_id": run.pk, "timings_ms": dict(result.timings_ms)},
    )


def _finding_rows(run: AnalysisRun, folder: str, result: ScreeningResult) -> list[VertebraFinding]:
    return [
        VertebraFinding(
            run=run,
            level=finding.level,
            box_x1=finding.box.x1,
            box_y1=finding.box.y1,
            box_x2=finding.box.x2,
            box_y2=finding.box.y2,
            detection_confidence=finding.detection_confidence,
            predicted_class=finding.predicted_class,
            ensemble_probabilities=dict(finding.ensemble_probabilities),
            model_probabilities={name: dict(p) for name, p in finding.model_probabilities.items()},
            model_predicted_classes=dict(finding.model_predicted_classes),
            cam_regions={name: dict(shares) for name, shares in finding.cam_regions.items()},
            overlays={name: _media_path(folder, path) for name, path in finding.overlays.items()},
            crop_file=_media_path(folder, finding.crop_file),
            warnings=[asdict(warning) for warning in finding.warnings],
        )
        for finding in result.findings
    ]


def _media_path(folder: str, relative: str | None) -> str:
    """Return ``relative`` (a path inside the run's overlay folder) as a path relative to MEDIA_ROOT."""
    if not relative:
        return ""
    return f"{folder}/{relative}"


@dataclass(frozen=True)
class SweepOutcome:
    """Ids of the studies one sweep re-queued, failed, or dispatched again."""

    requeued: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    redispatched: tuple[int, ...] = ()


def sweep_stuck_studies(now: datetime | None = None) -> SweepOutcome:
    """Re-queue or fail studies stuck in RUNNING, and dispatch again studies left in QUEUED.

    A study RUNNING for longer than OLVF_STUCK_AFTER_SECONDS lost its worker (a
    crash or the hard time limit). It is re-queued up to OLVF_STUCK_MAX_ATTEMPTS
    times, then failed as timed out. A study QUEUED for that long lost its message
    (for example the broker was down at upload), so it is dispatched again. The
    claim makes a duplicate message harmless. Studies waiting for a model bundle
    are dispatched when a bundle is active.
    A re-queued study keeps the bundle of its interrupted run.
    NOTE: a study that lost its message before any worker claimed it is
    dispatched with the active bundle, even when a re-run had asked for another.
    """
    from screening.tasks import dispatch_screening

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.OLVF_STUCK_AFTER_SECONDS))
    max_attempts = int(settings.OLVF_STUCK_MAX_ATTEMPTS)
    requeued: list[int] = []
    failed: list[int] = []
    redispatched: list[int] = []

    stuck = Study.objects.filter(status=Study.Status.RUNNING).filter(
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True)
    )
    for study_id, requeue_count in stuck.order_by("pk").values_list("pk", "requeue_count"):
        if requeue_count < max_attempts:
            if _requeue_stuck(study_id, cutoff, now):
                requeued.append(study_id)
        elif _fail_stuck(study_id):
            failed.append(study_id)

    # A study waiting for a bundle is dispatched by the activation, not on every sweep while none is active.
    waiting = (
        Study.objects.filter(status=Study.Status.QUEUED, queued_at__lt=cutoff)
        .exclude(failure_code=NoActiveBundle.code)
        .order_by("pk")
    )
    for study_id in waiting.values_list("pk", flat=True):
        # queued_at records when the study was last put on the queue, so it is dispatched again once per cutoff.
        if Study.objects.filter(pk=study_id, status=Study.Status.QUEUED, queued_at__lt=cutoff).update(
            queued_at=now
        ):
            redispatched.append(study_id)
            dispatch_screening(study_id)
    # Catches a study that started waiting while a bundle was being activated, after the activation's dispatch.
    if ModelBundle.objects.filter(is_active=True).exists():
        redispatched.extend(dispatch_waiting_studies())

    if requeued or failed or redispatched:
        logger.warning(
            "sweep re-queued %d, failed %d and dispatched again %d studies",
            len(requeued),
            len(failed),
            len(redispatched),
            extra={"requeued": requeued, "failed": failed, "redispatched": redispatched},
        )
    return SweepOutcome(requeued=tuple(requeued), failed=tuple(failed), redispatched=tuple(redispatched))


def _requeue_stuck(study_id: int, cutoff: datetime, now: datetime) -> bool:
    from screening.tasks import dispatch_screening

    with transaction.atomic():
        interrupted = AnalysisRun.objects.filter(study_id=study_id, status=AnalysisRun.Status.RUNNING).first()
        bundle_id = interrupted.bundle_id if interrupted is not None else None
        changed = (
            Study.objects.filter(pk=study_id, status=Study.Status.RUNNING)
            .filter(Q(started_at__lt=cutoff) | Q(started_at__isnull=True))
            .update(
                status=Study.Status.QUEUED,
                queued_at=now,
                started_at=None,
                requeue_count=F("requeue_count") + 1,
            )
        )
        if changed != 1:
            return False
        AnalysisRun.objects.filter(study_id=study_id, status=AnalysisRun.Status.RUNNING).update(
            status=AnalysisRun.Status.QUEUED
        )
        record_event(AuditEvent.Action.STUDY_REQUEUED, obj=Study(pk=study_id), details={"reason": "stuck"})
        transaction.on_commit(lambda: dispatch_screening(study_id, bundle_id))
    return True


def _fail_stuck(study_id: int) -> bool:
    run = AnalysisRun.objects.filter(study_id=study_id, status=AnalysisRun.Status.RUNNING).first()
    return fail_study(study_id, *TIMED_OUT, detail="stuck in RUNNING after the last re-queue", run=run)
