"""Fixtures of the browser tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Put a SQLite test database in a file, as `make run` does.

    The default in-memory test database uses SQLite's shared cache, whose table locks fail at once
    instead of waiting, so the browser's parallel image requests would fail in ways production cannot.
    """
    from django.conf import settings

    database: dict[str, Any] = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("e2e-db") / "test.sqlite3")
