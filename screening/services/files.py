"""Serving originals, crops and overlays: a permission check and an audit event for every file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from screening import roles
from screening.errors import FileNotAvailable
from screening.models import AnalysisRun, AuditEvent, Study
from screening.services.audit import record_event

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    "dicom": "application/dicom",
    "png": "image/png",
    "jpeg": "image/jpeg",
}


@dataclass(frozen=True)
class StoredFile:
    """A file ready to send: where it is, its media type and the name offered for download."""

    path: Path
    content_type: str
    download_name: str


def open_original(study_id: int, *, user: Any, request: HttpRequest | None = None) -> StoredFile:
    """Return the unchanged original of a study after checking permission and recording the download.

    Raises PermissionDenied for users who may not screen, FileNotAvailable when
    the study or its file is missing.
    """
    _check_permission(user)
    study = Study.objects.select_related("radiograph").filter(pk=study_id).first()
    if study is None or not hasattr(study, "radiograph"):
        raise _not_available(study_id)
    radiograph = study.radiograph
    path = Path(radiograph.original.path)
    if not path.is_file():
        logger.error("original of study %s is missing on disk", study_id, extra={"study_id": study_id})
        raise _not_available(study_id)
    record_event(
        AuditEvent.Action.ORIGINAL_DOWNLOAD,
        actor=user,
        request=request,
        obj=study,
        details={"sha256": radiograph.sha256},
    )
    return StoredFile(
        path=path,
        content_type=CONTENT_TYPES.get(radiograph.file_type, "application/octet-stream"),
        download_name=radiograph.original_filename or f"study-{study_id}",
    )


def open_run_file(study_id: int, name: str, *, user: Any, request: HttpRequest | None = None) -> StoredFile:
    """Return an overlay or crop of the study's runs, named by its path relative to MEDIA_ROOT.

    Only paths that a run of this study recorded are served, so a crafted name
    cannot reach another file. Raises PermissionDenied or FileNotAvailable.
    """
    _check_permission(user)
    runs = list(AnalysisRun.objects.filter(study_id=study_id).prefetch_related("findings"))
    kind = _kind_of(name, runs)
    if kind is None:
        raise _not_available(study_id)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    path = (media_root / PurePosixPath(name)).resolve()
    if not path.is_relative_to(media_root) or not path.is_file():
        logger.warning("run file of study %s is missing on disk", study_id, extra={"study_id": study_id})
        raise _not_available(study_id)
    action = AuditEvent.Action.CROP_DOWNLOAD if kind == "crop" else AuditEvent.Action.OVERLAY_DOWNLOAD
    record_event(action, actor=user, request=request, obj=Study(pk=study_id), details={"file": name})
    return StoredFile(path=path, content_type=_content_type(path), download_name=path.name)


def _kind_of(name: str, runs: list[AnalysisRun]) -> str | None:
    """Return "crop" or "overlay" when a run recorded ``name``, else None."""
    for run in runs:
        if name and (name == run.overview_overlay or name in run.full_image_cam_overlays.values()):
            return "overlay"
        for finding in run.findings.all():
            if name == finding.crop_file:
                return "crop"
            if name in finding.overlays.values():
                return "overlay"
    return None


def _check_permission(user: Any) -> None:
    if not roles.can_screen(user):
        raise PermissionDenied("Only clinicians and admins may open study files.")


def _not_available(study_id: int) -> FileNotAvailable:
    return FileNotAvailable(
        f"The requested file of study {study_id} is not available.",
        f"検査 {study_id} の指定されたファイルはありません。",
    )


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".png":
        return "image/png"
    if suffix in {".jpg", ".jpeg"}:
        return "image/jpeg"
    return "application/octet-stream"
