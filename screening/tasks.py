"""Celery tasks of the screening app, and the dispatcher used when no broker is configured.

Tasks take ids only and call one service each. With CELERY_BROKER_URL empty,
``dispatch_screening`` hands the same task to one background thread of the web
process, so an upload returns at once and the study list updates while it runs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from functools import partial
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django import db
from django.conf import settings

from olvf_web.celery import app as celery_app
from screening.models import Study
from screening.services import model_cache
from screening.services.screening import (
    TRANSIENT_ERRORS,
    TRANSIENT_EXHAUSTED,
    fail_study,
    run_screening,
)
from screening.services.screening import sweep_stuck_studies as sweep_stuck_studies_service

logger = logging.getLogger(__name__)


def retry_countdown(retries: int) -> float:
    """Return the seconds to wait before retry number ``retries + 1``: exponential, capped at 5 minutes."""
    base = float(settings.OLVF_RETRY_BACKOFF_SECONDS)
    return min(base * (2**retries), 300.0)


@shared_task(
    bind=True,
    name="screening.tasks.run_screening_task",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.OLVF_TASK_MAX_RETRIES,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def run_screening_task(self: Any, study_id: int, bundle_id: int | None = None) -> None:
    """Screen one study; retry only transient database and storage errors, with backoff and a limit."""
    task_id = self.request.id or ""
    try:
        run_screening(study_id, bundle_id, task_id=task_id)
    except TRANSIENT_ERRORS as error:
        retries = int(self.request.retries)
        if retries >= self.max_retries:
            logger.error(
                "study %s failed after %d retries: %r",
                study_id,
                retries,
                error,
                extra={"study_id": study_id, "task_id": task_id},
            )
            fail_study(study_id, *TRANSIENT_EXHAUSTED, detail=repr(error))
            return
        countdown = retry_countdown(retries)
        logger.warning(
            "retrying study %s in %.0f s after %r",
            study_id,
            countdown,
            error,
            extra={"study_id": study_id, "task_id": task_id, "retry": retries + 1},
        )
        if self.request.is_eager and countdown > 0:
            # Eager execution (tests, the in-process dispatcher) runs the retry at once and ignores countdown.
            time.sleep(countdown)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(name="screening.tasks.sweep_stuck_studies")
def sweep_stuck_studies() -> dict[str, list[int]]:
    """Re-queue or fail studies stuck in RUNNING and dispatch again studies left in QUEUED."""
    outcome = sweep_stuck_studies_service()
    return {
        "requeued": list(outcome.requeued),
        "failed": list(outcome.failed),
        "redispatched": list(outcome.redispatched),
    }


@worker_process_init.connect
def load_models_in_worker_process(**kwargs: Any) -> None:
    """Load the active bundle once per worker process, after the fork."""
    # Connections inherited from the parent process must not be shared with it.
    db.connections.close_all()
    model_cache.preload_active_bundle()


def broker_configured() -> bool:
    """Return True when tasks go to a Celery broker (or run eagerly), False for the in-process dispatcher."""
    return bool(settings.CELERY_BROKER_URL) or bool(celery_app.conf.task_always_eager)


def dispatch_screening(study_id: int, bundle_id: int | None = None) -> None:
    """Send the screening task of ``study_id`` to the broker, or to the in-process dispatcher without one.

    A broker error is logged, not raised: the study stays QUEUED and the sweep
    dispatches it again.
    """
    if not broker_configured():
        in_process_dispatcher.submit(study_id, bundle_id)
        return
    try:
        run_screening_task.delay(study_id, bundle_id)
    except TRANSIENT_ERRORS as error:
        # kombu's connection errors derive from OSError.
        logger.error(
            "could not send study %s to the broker: %r; the sweep dispatches it again",
            study_id,
            error,
            extra={"study_id": study_id},
        )


class InProcessDispatcher:
    """One background thread that runs tasks in the web process, in order, when no broker is configured.

    Between tasks it runs the sweep every OLVF_SWEEP_INTERVAL_SECONDS. On start
    it dispatches the studies a previous process left QUEUED.
    NOTE: Celery's time limits are not enforced here, because they rely on the
    prefork pool's signals. A study that hangs blocks the queue until a restart.
    """

    def __init__(self) -> None:
        # Items are (study_id, bundle_id). A None item tells the thread to stop.
        self._queue: queue.Queue[tuple[int, int | None] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, study_id: int, bundle_id: int | None = None) -> None:
        """Queue one study for the background thread, starting the thread if needed."""
        self.start()
        self._queue.put((study_id, bundle_id))

    def start(self, *, recover: bool = False) -> None:
        """Start the background thread once; with ``recover``, queue the studies left QUEUED."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="olvf-dispatcher", daemon=True)
            self._thread.start()
        if recover:
            for study_id in (
                Study.objects.filter(status=Study.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
            ):
                self._queue.put((study_id, None))

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish its current task and stop; wait up to ``timeout`` seconds."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def wait_until_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every queued study was processed; return False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.05)
        return False

    def _loop(self) -> None:
        interval = float(settings.OLVF_SWEEP_INTERVAL_SECONDS)
        next_sweep = time.monotonic() + interval
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_sweep - time.monotonic()))
            except queue.Empty:
                pass
            else:
                if not self._handle(item):
                    return
            # Checked after every task too, so that a steady stream of uploads cannot postpone the sweep.
            if time.monotonic() >= next_sweep:
                self._run_safely(partial(sweep_stuck_studies.apply, throw=False))
                next_sweep = time.monotonic() + interval

    def _handle(self, item: tuple[int, int | None] | None) -> bool:
        """Run one queued study; return False for the stop request."""
        try:
            if item is None:
                return False
            self._run_safely(partial(run_screening_task.apply, args=item, throw=False))
            return True
        finally:
            self._queue.task_done()

    @staticmethod
    def _run_safely(call: Any) -> None:
        try:
            result = call()
            if result.failed():
                logger.error("background task failed: %r", result.result, extra={"task_id": result.id})
        except Exception:
            logger.exception("background task failed")
        finally:
            # This thread has its own database connections; close them so none is left open between tasks.
            db.connections.close_all()


in_process_dispatcher = InProcessDispatcher()
