"""Fixtures of the oversight tests: static files without a manifest and signed-in persona clients."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.screening.oversight.factories import signed_in


@pytest.fixture(autouse=True)
def plain_static_storage(settings: Any) -> Any:
    """Serve static files without a manifest, because tests do not run collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return settings


@pytest.fixture
def oversight_clients(clinician: Any, manager: Any, admin_user: Any, no_role_user: Any) -> dict[str, Client]:
    """Signed-in clients of the four personas, keyed by role ("no_role" for the user without one)."""
    return {
        "clinician": signed_in(clinician),
        "manager": signed_in(manager),
        "admin": signed_in(admin_user),
        "no_role": signed_in(no_role_user),
    }
