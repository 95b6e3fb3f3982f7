"""Fixtures of the training tests: the tiny demo bundle, built once and cached."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path) -> Path:
    """Return the folder of the verified tiny demo bundle, without installing it in the database.

    ``tiny_bundle_dir`` (tests/conftest.py) builds it once with
    ``inference.demo.ensure_tiny_bundle`` into ``OLVF_TEST_BUNDLE_DIR``, or
    ``.cache/test-bundle`` when that is unset. The first build takes a few
    minutes on two CPU cores.
    """
    return tiny_bundle_dir
