"""Fixtures of the page tests: personas, a private MEDIA_ROOT and studies as the screening task stores them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from pages.factories import make_user


@pytest.fixture(autouse=True)
def page_settings(settings: Any, tmp_path: Path) -> Any:
    """Keep uploads and overlays in a temporary folder and serve static files without a manifest."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings


@pytest.fixture
def clinician_user(db: Any) -> Any:
    return make_user("page-clinician", "clinician")


@pytest.fixture
def manager_user(db: Any) -> Any:
    return make_user("page-manager", "manager")


@pytest.fixture
def admin_role_user(db: Any) -> Any:
    return make_user("page-admin", "admin")


@pytest.fixture
def roleless_user(db: Any) -> Any:
    return make_user("page-no-role")


def _signed_in(user: Any, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def clinician_page_client(clinician_user: Any) -> Client:
    """A clinician whose browser asks for English."""
    return _signed_in(clinician_user, "en")


@pytest.fixture
def clinician_page_client_ja(clinician_user: Any) -> Client:
    """The same clinician with a browser that asks for Japanese."""
    return _signed_in(clinician_user, "ja")


@pytest.fixture
def persona_clients(clinician_user: Any, manager_user: Any, admin_role_user: Any, roleless_user: Any) -> dict[str, Client]:
    return {
        "clinician": _signed_in(clinician_user, "en"),
        "manager": _signed_in(manager_user, "en"),
        "admin": _signed_in(admin_role_user, "en"),
        "no_role": _signed_in(roleless_user, "en"),
    }
