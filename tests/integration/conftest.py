"""A real Celery worker process, started and stopped by the test, on the test database and the test broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from olvf_web.celery import app as celery_app

REPOSITORY = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT_S = 120
WORKER_STOP_TIMEOUT_S = 30


@dataclass(frozen=True)
class WorkerProcess:
    """A started worker: its Celery node name, its process and where it logs."""

    hostname: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, characters: int = 4000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-characters:]


def _require_integration_services() -> None:
    if connection.vendor != "postgresql":
        pytest.fail(
            "integration tests need PostgreSQL: run them with `make test-integration` (DATABASE_URL)."
        )
    if not settings.CELERY_BROKER_URL:
        pytest.fail(
            "integration tests need a broker: run them with `make test-integration` (CELERY_BROKER_URL)."
        )


def _purge_queues() -> None:
    """Drop messages an earlier, interrupted run left on the test broker's queues."""
    with celery_app.connection_for_write() as broker:
        channel = broker.default_channel
        for queue in ("inference", "celery"):
            channel.queue_purge(queue)


def _worker_environment(database_name: str) -> dict[str, str]:
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/{database_name}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_PASSWORD": str(database.get("PASSWORD") or ""),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "OLVF_INFERENCE_DEVICE": "cpu",
        "OLVF_CPU_THREADS": "1",
        "LOG_FORMAT": "text",
    }


def _wait_until_pong(worker: WorkerProcess) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {worker.process.returncode}:\n{worker.log_tail()}")
        replies = celery_app.control.ping(destination=[worker.hostname], timeout=1.0)
        if replies:
            return
    pytest.fail(
        f"the Celery worker did not answer a ping within {WORKER_START_TIMEOUT_S} s:\n{worker.log_tail()}"
    )


def _stop(worker: WorkerProcess) -> None:
    if worker.process.poll() is not None:
        return
    # SIGTERM is Celery's warm shutdown: the worker finishes its current task and exits.
    os.killpg(worker.process.pid, signal.SIGTERM)
    try:
        worker.process.wait(timeout=WORKER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=WORKER_STOP_TIMEOUT_S)


@pytest.fixture
def celery_worker_process(transactional_db: Any, tmp_path: Path) -> Iterator[WorkerProcess]:
    """Start `celery -A olvf_web worker -Q inference,celery --concurrency 1 --pool prefork`; stop it afterwards.

    The test database is committed to (transactional_db), so the worker reads what the test writes.
    """
    _require_integration_services()
    _purge_queues()
    hostname = f"integration-{uuid.uuid4().hex[:8]}@localhost"
    log_path = tmp_path / "celery-worker.log"
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "olvf_web",
        "worker",
        "-Q",
        "inference,celery",
        "--concurrency",
        "1",
        "--pool",
        "prefork",
        "--prefetch-multiplier",
        "1",
        "--hostname",
        hostname,
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPOSITORY,
            env=_worker_environment(connection.settings_dict["NAME"]),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = WorkerProcess(hostname=hostname, process=process, log_path=log_path)
    try:
        _wait_until_pong(worker)
        yield worker
    finally:
        _stop(worker)


@pytest.fixture
def broker_dispatch() -> Iterator[None]:
    """Send tasks to the broker instead of running them eagerly, for the length of one test."""
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True
