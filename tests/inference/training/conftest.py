"""Fixtures of the training tests: the tiny demo bundle, built once and cached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inference.demo import ensure_tiny_bundle

REPOSITORY = Path(__file__).resolve().parents[3]


def tiny_bundle_cache() -> Path:
    """Return the cache folder: OLVF_TEST_BUNDLE_DIR when set (CI), else .cache/test-bundles in the repository."""
    configured = os.environ.get("OLVF_TEST_BUNDLE_DIR")
    return Path(configured) if configured else REPOSITORY / ".cache" / "test-bundles"


@pytest.fixture(scope="session")
def tiny_bundle() -> Path:
    """Return the folder of a verified tiny demo bundle; the first run builds it (a few minutes on 2 CPU cores)."""
    return ensure_tiny_bundle(tiny_bundle_cache())
