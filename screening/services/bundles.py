"""Installing, activating and finding model bundles."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from screening.errors import BundleNotFound, BundleRejected, NoActiveBundle
from screening.models import AuditEvent, ModelBundle
from screening.services.audit import record_event

logger = logging.getLogger(__name__)


def get_active_bundle() -> ModelBundle:
    """Return the active bundle, or raise NoActiveBundle."""
    bundle = ModelBundle.objects.filter(is_active=True).first()
    if bundle is None:
        raise NoActiveBundle(
            "No model bundle is active, so the radiograph cannot be screened. "
            "Ask an administrator to install and activate a bundle.",
            "有効なモデルバンドルがないため、画像をスクリーニングできません。"
            "管理者にバンドルのインストールと有効化を依頼してください。",
        )
    return bundle


def install_bundle(
    path: str | Path,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> ModelBundle:
    """Verify the bundle at ``path`` (every sha256) and record it; an identical bundle is returned as is.

    Raises BundleRejected with the reason when the manifest is invalid or a file
    is missing or changed.
    """
    from inference.bundle import MANIFEST_NAME, sha256_file, verify_bundle
    from inference.errors import BundleError

    bundle_dir = Path(path).resolve()
    try:
        manifest = verify_bundle(bundle_dir)
        manifest_sha256 = sha256_file(bundle_dir / MANIFEST_NAME)
        manifest_data = json.loads((bundle_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except BundleError as error:
        logger.warning("bundle at %s rejected: %s", bundle_dir, error.code, extra={"detail": error.detail})
        raise BundleRejected(error.message_en, error.message_ja, detail=error.detail) from error

    identity = {"name": manifest.name, "version": manifest.version, "manifest_sha256": manifest_sha256}
    existing = ModelBundle.objects.filter(**identity).first()
    if existing is not None:
        if existing.path != str(bundle_dir):
            existing.path = str(bundle_dir)
            existing.save(update_fields=["path"])
        return existing

    try:
        with transaction.atomic():
            bundle = ModelBundle.objects.create(
                **identity,
                path=str(bundle_dir),
                manifest=manifest_data,
                is_demo=manifest.demo,
                installed_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            record_event(
                AuditEvent.Action.BUNDLE_INSTALL,
                actor=actor,
                request=request,
                obj=bundle,
                details={**identity, "demo": manifest.demo, "path": str(bundle_dir)},
            )
    except IntegrityError:
        # Another process installed the same bundle between the lookup and the insert.
        return ModelBundle.objects.get(**identity)
    logger.info(
        "installed bundle %s %s",
        manifest.name,
        manifest.version,
        extra={"bundle_id": bundle.pk, "demo": manifest.demo},
    )
    return bundle


def activate_bundle(bundle_id: int, *, actor: Any = None, request: HttpRequest | None = None) -> ModelBundle:
    """Make ``bundle_id`` the one active bundle and dispatch the studies that wait for one.

    New studies are screened with it. Activating the active bundle again changes
    nothing and dispatches nothing.
    """
    with transaction.atomic():
        # Lock in primary-key order so that two concurrent activations cannot deadlock.
        bundles = {bundle.pk: bundle for bundle in ModelBundle.objects.select_for_update().order_by("pk")}
        bundle = bundles.get(bundle_id)
        if bundle is None:
            raise BundleNotFound(
                f"Model bundle {bundle_id} is not installed.",
                f"モデルバンドル {bundle_id} はインストールされていません。",
            )
        if bundle.is_active:
            return bundle
        ModelBundle.objects.filter(is_active=True).update(is_active=False)
        bundle.is_active = True
        bundle.save(update_fields=["is_active"])
        record_event(
            AuditEvent.Action.BUNDLE_ACTIVATE,
            actor=actor,
            request=request,
            obj=bundle,
            details={
                "name": bundle.name,
                "version": bundle.version,
                "manifest_sha256": bundle.manifest_sha256,
            },
        )
    logger.info("activated bundle %s %s", bundle.name, bundle.version, extra={"bundle_id": bundle.pk})
    from screening.services.screening import dispatch_waiting_studies

    dispatch_waiting_studies(actor=actor, request=request)
    return bundle


def configured_bundle_dir() -> Path:
    """Return the bundle folder named by MODEL_BUNDLE_DIR."""
    return Path(settings.OLVF_INFERENCE["bundle_dir"])


def bundle_is_valid(path: str | Path) -> bool:
    """Return True when ``path`` contains a bundle whose manifest and file hashes check out."""
    from inference.bundle import verify_bundle
    from inference.errors import BundleError

    try:
        verify_bundle(path)
    except BundleError:
        return False
    return True


def ensure_demo_bundle(
    *,
    build_if_missing: bool = False,
    profile: str = "full",
    progress: Callable[[str], None] | None = None,
    actor: Any = None,
) -> ModelBundle:
    """Install the bundle in MODEL_BUNDLE_DIR and activate it when no bundle is active yet.

    With ``build_if_missing``, a folder without a valid bundle first gets the demo
    bundle built by ``inference.demo.build_demo_bundle`` (minutes on CPU).
    Raises BundleRejected when no valid bundle is there afterwards.
    """
    bundle_dir = configured_bundle_dir()
    report = progress or (lambda message: None)
    if not bundle_is_valid(bundle_dir):
        if not build_if_missing:
            raise BundleRejected(
                f"No valid model bundle in {bundle_dir}. Run `python manage.py ensure_demo_bundle` to build one.",
                f"{bundle_dir} に有効なモデルバンドルがありません。"
                "`python manage.py ensure_demo_bundle` を実行して作成してください。",
            )
        from inference.demo import build_demo_bundle

        report(f"Building the {profile} demo bundle in {bundle_dir} ...")
        logger.info("building the demo bundle", extra={"bundle_dir": str(bundle_dir), "profile": profile})
        build_demo_bundle(bundle_dir, profile=profile, device=str(settings.OLVF_INFERENCE["device"]))
        report("Demo bundle built.")

    bundle = install_bundle(bundle_dir, actor=actor)
    report(f"Installed bundle {bundle.name} {bundle.version} (id {bundle.pk}).")
    if not ModelBundle.objects.filter(is_active=True).exists():
        bundle = activate_bundle(bundle.pk, actor=actor)
        report(f"Activated bundle {bundle.name} {bundle.version}.")
    return bundle
