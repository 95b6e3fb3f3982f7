"""Fixtures of the page tests: signed-in clients of the shared personas with a chosen browser language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def page_settings(settings: Any) -> Any:
    """Serve static files without a manifest: tests do not run collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return settings


def _signed_in(user: Any, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def clinician_page_client(clinician: Any) -> Client:
    """A clinician whose browser requests English."""
    return _signed_in(clinician, "en")


@pytest.fixture
def clinician_page_client_ja(clinician: Any) -> Client:
    """The same clinician with a browser that requests Japanese."""
    return _signed_in(clinician, "ja")


@pytest.fixture
def persona_clients(clinician: Any, manager: Any, admin_user: Any, no_role_user: Any) -> dict[str, Client]:
    return {
        "clinician": _signed_in(clinician, "en"),
        "manager": _signed_in(manager, "en"),
        "admin": _signed_in(admin_user, "en"),
        "no_role": _signed_in(no_role_user, "en"),
    }
