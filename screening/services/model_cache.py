"""Per-process cache of loaded models, so that each worker process loads a bundle once.

Celery's prefork pool forks its worker processes. Models are loaded after the
fork (``worker_process_init`` calls ``preload_active_bundle``), because CUDA
state and torch thread pools do not survive a fork. The cache keeps one bundle at a
time and drops the previous one when another bundle becomes active.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.conf import settings

from screening.models import ModelBundle

if TYPE_CHECKING:
    from inference.pipeline import LoadedModels

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[tuple[str, str], LoadedModels] = {}


def get_models(bundle: ModelBundle) -> LoadedModels:
    """Return the loaded models of ``bundle``, loading and verifying them on first use in this process.

    Raises ``inference.errors.BundleError`` when the files no longer match the
    manifest or the manifest changed since the bundle was installed.
    """
    key = (bundle.path, bundle.manifest_sha256)
    with _lock:
        models = _cache.get(key)
        if models is not None:
            return models
        models = _load(bundle)
        # One bundle at a time: the previous one would only hold memory (or GPU memory).
        _cache.clear()
        _cache[key] = models
        return models


def preload_active_bundle() -> None:
    """Load the active bundle now, if there is one; called once per worker process after the fork."""
    bundle = ModelBundle.objects.filter(is_active=True).first()
    if bundle is None:
        logger.warning("no active model bundle to preload; studies will fail until one is activated")
        return
    try:
        get_models(bundle)
    except Exception:
        # The task loads again and fails its study with the reason; the worker must still start.
        logger.exception("preloading bundle %s failed", bundle.pk, extra={"bundle_id": bundle.pk})


def clear() -> None:
    """Forget every loaded model in this process."""
    with _lock:
        _cache.clear()


def _load(bundle: ModelBundle) -> LoadedModels:
    from inference.errors import BundleIntegrityError
    from inference.pipeline import load_models

    options = settings.OLVF_INFERENCE
    logger.info("loading bundle %s %s", bundle.name, bundle.version, extra={"bundle_id": bundle.pk})
    models = load_models(bundle.path, device=str(options["device"]), cpu_threads=options["cpu_threads"])
    loaded_sha256 = models.bundle_info.manifest_sha256
    if loaded_sha256 != bundle.manifest_sha256:
        raise BundleIntegrityError(
            f"The manifest of bundle {bundle.name} {bundle.version} changed after it was installed. "
            "Install the bundle again.",
            f"バンドル {bundle.name} {bundle.version} のマニフェストがインストール後に変更されています。"
            "バンドルを再インストールしてください。",
            detail=f"installed {bundle.manifest_sha256}, found {loaded_sha256}",
        )
    return models
