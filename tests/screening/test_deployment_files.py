"""docker-compose.yml parses and is consistent with the settings and the Celery setup (Docker cannot run here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_every_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"db", "redis", "setup", "web", "worker", "beat"}


def test_worker_consumes_inference_queue_one_task_at_a_time(compose: dict[str, Any]) -> None:
    command = compose["services"]["worker"]["command"]

    assert command[command.index("-Q") + 1] == "inference"
    assert command[command.index("--prefetch-multiplier") + 1] == "1"
    assert command[command.index("--concurrency") + 1] == "1"


def test_worker_reserves_a_gpu_and_uses_cuda(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]

    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert worker["environment"]["OLVF_INFERENCE_DEVICE"] == "cuda"


def test_web_runs_gunicorn_with_broker_and_postgres(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]

    assert web["command"][0] == "gunicorn"
    assert web["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")


def test_references_resolve(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name} uses unknown secret {secret}"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose["volumes"], f"{name} mounts unknown volume {volume}"


# Variables that the C library or the Python runtime reads, not the settings.
PROCESS_VARIABLES = frozenset({"MALLOC_ARENA_MAX"})


def test_every_app_variable_is_read_by_settings(compose: dict[str, Any]) -> None:
    settings_source = (REPOSITORY / "olvf_web" / "settings.py").read_text(encoding="utf-8")
    names = set(compose["services"]["web"]["environment"]) | set(compose["services"]["worker"]["environment"])

    for name in sorted(names - PROCESS_VARIABLES):
        base = name.removesuffix("_FILE")
        assert f'"{base}"' in settings_source, f"settings.py does not read {name}"
