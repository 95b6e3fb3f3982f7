"""Session fixtures for screening tests: one bundle of real architectures, loaded once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from screening_helpers import build_test_bundle

from inference.pipeline import LoadedModels, load_models


@pytest.fixture(scope="session")
def screening_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_test_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def loaded_models(screening_bundle: Path) -> LoadedModels:
    return load_models(screening_bundle, device="cpu", cpu_threads=min(2, os.cpu_count() or 1))
