"""Shared fixtures: personas and their clients, eager tasks, a private MEDIA_ROOT, the tiny bundle, phantoms."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from olvf_web.celery import app as celery_app

REPOSITORY = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session", autouse=True)
def eager_celery() -> Iterator[None]:
    """Run Celery tasks synchronously in the test process.

    Errors are not propagated, because Celery implements a retry as a raised
    Retry exception; tests check the stored study instead.
    """
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def private_media_root(settings: Any, tmp_path: Path) -> Path:
    """Keep originals, overlays and crops of each test in its own folder; retry without waiting."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OLVF_RETRY_BACKOFF_SECONDS = 0
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def plain_static_files(settings: Any) -> None:
    """Serve static files from the source folders, because tests do not run collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def make_persona(username: str, role: str | None, **extra: Any) -> Any:
    """Create a user in the group ``role`` (None: no group) with the shared test password."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if role is not None:
        # get_or_create: a transactional test's flush also removes the groups the data migration created.
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


@pytest.fixture
def clinician(db: Any) -> Any:
    return make_persona("clinician", "clinician")


@pytest.fixture
def manager(db: Any) -> Any:
    return make_persona("manager", "manager")


@pytest.fixture
def admin_user(db: Any) -> Any:
    """An admin by group membership (not a superuser); replaces pytest-django's fixture of this name."""
    return make_persona("admin", "admin")


@pytest.fixture
def no_role_user(db: Any) -> Any:
    return make_persona("no-role", None)


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clinician_client(clinician: Any) -> Client:
    return _client_for(clinician)


@pytest.fixture
def manager_client(manager: Any) -> Client:
    return _client_for(manager)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    """A signed-in admin; replaces pytest-django's fixture of this name."""
    return _client_for(admin_user)


@pytest.fixture
def no_role_client(no_role_user: Any) -> Client:
    return _client_for(no_role_user)


@pytest.fixture
def api_client_for(db: Any) -> Callable[[Any], APIClient]:
    """Return a factory of API clients that authenticate ``user`` with a real token (None: anonymous)."""
    from rest_framework.authtoken.models import Token

    def build(user: Any) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return build


@pytest.fixture(scope="session")
def tiny_bundle_dir() -> Path:
    """Return the tiny demo bundle, built once into OLVF_TEST_BUNDLE_DIR (default .cache/test-bundle).

    The first build takes a few minutes on two CPU cores; later runs reuse it.
    """
    from inference.demo import ensure_tiny_bundle

    cache = Path(os.environ.get("OLVF_TEST_BUNDLE_DIR") or REPOSITORY / ".cache" / "test-bundle")
    return ensure_tiny_bundle(cache)


@pytest.fixture
def tiny_bundle(db: Any, tiny_bundle_dir: Path, settings: Any) -> Any:
    """Install and activate the tiny bundle; return its ModelBundle row."""
    from screening.services.bundles import activate_bundle, install_bundle

    settings.OLVF_INFERENCE = {**settings.OLVF_INFERENCE, "bundle_dir": tiny_bundle_dir, "device": "cpu"}
    bundle = install_bundle(tiny_bundle_dir)
    return activate_bundle(bundle.pk)


@pytest.fixture(scope="session")
def phantom_dicom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return one phantom lateral lumbar DICOM drawn with the tiny bundle's phantom settings."""
    from inference.demo import PROFILES
    from inference.phantoms import generate_dataset

    folder = tmp_path_factory.mktemp("phantom")
    info = generate_dataset(
        folder, patients=1, seed=4242, images_per_patient=(1, 1), **PROFILES["tiny"].phantom_settings
    )
    return info.image_files[0]


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise warns once per client when collectstatic has not run; tests do not need collected files.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


def _django_test_order(item: pytest.Item) -> int:
    """Return 0 for a database test, 1 for a transactional one and 2 for one without the database.

    This is the order of pytest-django and Django's own runner. A transactional test ends by
    emptying every table, so it must come after the tests that read the migrations' rows.
    """
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    transactional = "transactional_db" in fixtures or "live_server" in fixtures
    if marker is not None:
        transactional = transactional or bool(
            marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences") or any(marker.args[:1])
        )
    if transactional:
        return 1
    if marker is not None or "db" in fixtures:
        return 0
    return 2


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    """Sort the tests as pytest-django does, again after options that reorder them (--ff, --nf).

    The emptied tables include the role groups that the data migrations created and that later tests
    look up, so a transactional test that --ff moves to the front makes those tests fail. The stable
    sort keeps the order that other options chose within each group.
    """
    result = yield
    items.sort(key=_django_test_order)
    return result
