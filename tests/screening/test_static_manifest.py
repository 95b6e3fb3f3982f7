"""With DEBUG off and no collectstatic run, pages still render and their stylesheet is served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter, because the settings decide the storage once at import.
_SCRIPT = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False)
login = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
css = client.get("/static/css/olvf.css")
print(json.dumps({
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "login_status": login.status_code,
    "css_status": css.status_code,
}))
"""


def _environment(tmp_path: Path, static_root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "olvf_web.settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver",
        "STATIC_ROOT": str(static_root),
        "SECRET_KEY": "test-only-secret-key-not-for-production-use-0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }


def _run_settings(tmp_path: Path, static_root: Path) -> dict[str, object]:
    environment = _environment(tmp_path, static_root)
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_pages_render_without_collectstatic(tmp_path: Path) -> None:
    result = _run_settings(tmp_path, tmp_path / "empty-static-root")

    assert result["storage"] == "olvf_web.storage.ManifestIfCollectedStaticFilesStorage"
    assert result["login_status"] == 200
    assert result["css_status"] == 200


def test_manifest_storage_used_after_collectstatic(tmp_path: Path) -> None:
    static_root = tmp_path / "static-root"
    static_root.mkdir()
    (static_root / "staticfiles.json").write_text(json.dumps({"paths": {}, "version": "1.1"}))

    result = _run_settings(tmp_path, static_root)

    assert result["storage"] == "olvf_web.storage.ManifestIfCollectedStaticFilesStorage"


def test_collectstatic_writes_manifest_the_server_uses(tmp_path: Path) -> None:
    static_root = tmp_path / "static-root"
    environment = {**_environment(tmp_path, static_root), "LOG_FORMAT": "text"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    assert (static_root / "staticfiles.json").is_file()
    started = subprocess.run(
        [sys.executable, "-c", "import olvf_web.wsgi"],
        cwd=REPOSITORY,
        env={**environment, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "no static files manifest" not in started.stderr


def test_wsgi_start_warns_without_manifest(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "olvf_web.settings",
        "DEBUG": "0",
        "LOG_FORMAT": "text",
        "STATIC_ROOT": str(tmp_path / "empty-static-root"),
        "SECRET_KEY": "test-only-secret-key-not-for-production-use-0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # A broker URL keeps the in-process dispatcher, which needs migrated tables, from starting.
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
    }

    completed = subprocess.run(
        [sys.executable, "-c", "import olvf_web.wsgi"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert "no static files manifest" in completed.stderr
    assert "collectstatic" in completed.stderr
