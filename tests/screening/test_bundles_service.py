"""Installing verifies every hash; exactly one bundle is active; both actions are audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from screening.errors import BundleNotFound, BundleRejected, NoActiveBundle
from screening.models import AuditEvent, ModelBundle
from screening.services.bundles import activate_bundle, ensure_demo_bundle, get_active_bundle, install_bundle
from tests.screening.helpers import write_hashed_bundle


def test_install_records_identity_and_manifest(db: Any, tmp_path: Path, admin_user: Any) -> None:
    bundle = install_bundle(write_hashed_bundle(tmp_path / "b"), actor=admin_user)

    assert bundle.name == "hashed-test-bundle"
    assert bundle.is_demo is True
    assert bundle.is_active is False
    assert bundle.manifest["thresholds"]["fresh"] == 0.3
    assert len(bundle.manifest_sha256) == 64
    assert bundle.installed_by == admin_user
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BUNDLE_INSTALL).count() == 1


def test_installing_same_bundle_twice_returns_the_same_row(db: Any, tmp_path: Path) -> None:
    folder = write_hashed_bundle(tmp_path / "b")

    first = install_bundle(folder)
    second = install_bundle(folder)

    assert first.pk == second.pk
    assert ModelBundle.objects.count() == 1


def test_changed_weight_file_is_rejected(db: Any, tmp_path: Path) -> None:
    folder = write_hashed_bundle(tmp_path / "b")
    (folder / "resnet50.pt").write_bytes(b"tampered")

    with pytest.raises(BundleRejected) as raised:
        install_bundle(folder)

    assert "resnet50.pt" in raised.value.message_en
    assert raised.value.message_ja
    assert not ModelBundle.objects.exists()


def test_missing_folder_is_rejected(db: Any, tmp_path: Path) -> None:
    with pytest.raises(BundleRejected):
        install_bundle(tmp_path / "nowhere")


def test_activation_leaves_exactly_one_active_bundle(db: Any, tmp_path: Path) -> None:
    first = install_bundle(write_hashed_bundle(tmp_path / "a", version="1"))
    second = install_bundle(write_hashed_bundle(tmp_path / "b", version="2"))

    activate_bundle(first.pk)
    activate_bundle(second.pk)

    assert list(ModelBundle.objects.filter(is_active=True)) == [second]
    assert get_active_bundle() == second
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BUNDLE_ACTIVATE).count() == 2


def test_database_refuses_second_active_bundle(db: Any, tmp_path: Path) -> None:
    first = install_bundle(write_hashed_bundle(tmp_path / "a", version="1"))
    second = install_bundle(write_hashed_bundle(tmp_path / "b", version="2"))
    activate_bundle(first.pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelBundle.objects.filter(pk=second.pk).update(is_active=True)


def test_activating_unknown_bundle_raises(db: Any) -> None:
    with pytest.raises(BundleNotFound):
        activate_bundle(4242)


def test_no_active_bundle_raises_with_both_messages(db: Any) -> None:
    with pytest.raises(NoActiveBundle) as raised:
        get_active_bundle()

    assert "administrator" in raised.value.message_en
    assert "管理者" in raised.value.message_ja


def test_ensure_demo_bundle_installs_and_activates_existing_bundle(
    db: Any, tmp_path: Path, settings: Any
) -> None:
    folder = write_hashed_bundle(tmp_path / "demo")
    settings.OLVF_INFERENCE = {**settings.OLVF_INFERENCE, "bundle_dir": folder}

    bundle = ensure_demo_bundle(build_if_missing=False)

    assert bundle.is_active is True
    assert bundle.path == str(folder.resolve())


def test_ensure_demo_bundle_without_bundle_and_without_build_raises(
    db: Any, tmp_path: Path, settings: Any
) -> None:
    settings.OLVF_INFERENCE = {**settings.OLVF_INFERENCE, "bundle_dir": tmp_path / "empty"}

    with pytest.raises(BundleRejected, match="ensure_demo_bundle"):
        ensure_demo_bundle(build_if_missing=False)
