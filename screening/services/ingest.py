"""Turning an uploaded file into a study: store the original unchanged, read it, queue its screening."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from screening.errors import UploadRejected
from screening.models import AuditEvent, Radiograph, Study
from screening.models.studies import original_upload_path
from screening.services.audit import record_event

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1024 * 1024


class UploadedFileLike(Protocol):
    """Interface of an upload that ingest reads; Django's UploadedFile implements it."""

    name: str | None

    def chunks(self, chunk_size: int | None = None) -> Any: ...


@dataclass(frozen=True)
class PatientDetails:
    """Patient and study identifiers entered by hand, used for files without a DICOM header."""

    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: date | None = None
    patient_sex: str = ""
    accession_number: str = ""
    study_date: date | None = None


@dataclass(frozen=True)
class IngestOutcome:
    """The study an upload produced or matched.

    ``duplicate`` is True when a file with the same sha256 was already uploaded
    and ``study`` is that existing study. ``study.status`` is FAILED (with the
    reason in ``failure_message_en``/``_ja``) when the file could not be read.
    """

    study: Study
    duplicate: bool

    @property
    def failed(self) -> bool:
        return self.study.status == Study.Status.FAILED


def ingest_upload(
    uploaded_file: UploadedFileLike,
    *,
    user: Any,
    patient: PatientDetails | None = None,
    request: HttpRequest | None = None,
) -> IngestOutcome:
    """Store ``uploaded_file`` as a new study and queue its screening after the commit.

    Raises UploadRejected, with nothing stored, for an empty file, a file over
    OLVF_MAX_UPLOAD_BYTES and a file that is no image at all. A file that is an
    image but cannot be read (damaged, unsupported, too many pixels) becomes a
    FAILED study with the reason, and its original is kept.
    """
    staged = _stage_upload(uploaded_file)
    try:
        existing = Study.objects.filter(radiograph__sha256=staged.sha256).first()
        if existing is not None:
            _record_upload(existing, user=user, request=request, duplicate=True)
            return IngestOutcome(study=existing, duplicate=True)
        reading = _read_radiograph(staged.path)
        return _create_study(staged, reading, uploaded_file, user=user, patient=patient, request=request)
    finally:
        staged.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class _StagedFile:
    path: Path
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class _Reading:
    """Result of ``inference.imaging.load``: the radiograph, or the imaging error it raised."""

    radiograph: Any = None  # inference.imaging.Radiograph
    error: Any = None  # inference.errors.ImagingError


def _stage_upload(uploaded_file: UploadedFileLike) -> _StagedFile:
    """Copy the upload into a private temporary file, hashing it and enforcing the size limit."""
    max_bytes = int(settings.OLVF_MAX_UPLOAD_BYTES)
    staging_dir = Path(settings.MEDIA_ROOT) / "staging"
    staging_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    descriptor, name = tempfile.mkstemp(dir=staging_dir, prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in uploaded_file.chunks(_CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                digest.update(chunk)
                handle.write(chunk)
        if size == 0:
            raise UploadRejected(
                "The file is empty. Choose the radiograph file again.",
                "ファイルが空です。画像ファイルを選び直してください。",
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _StagedFile(path=path, sha256=digest.hexdigest(), size_bytes=size)


def _too_large(max_bytes: int) -> UploadRejected:
    megabytes = max_bytes / (1024 * 1024)
    return UploadRejected(
        f"The file is larger than the limit of {megabytes:.0f} MiB. Export the radiograph at a smaller size.",
        f"ファイルが上限 {megabytes:.0f} MiB を超えています。より小さいサイズで画像を書き出してください。",
        max_bytes=max_bytes,
    )


def _read_radiograph(path: Path) -> _Reading:
    """Decode the file, which decides its type; a file that is no image at all is rejected."""
    from inference.errors import DamagedImageError, ImagingError, NotAnImageError
    from inference.imaging import ImagingLimits, load

    options = settings.OLVF_INFERENCE
    limits = ImagingLimits(
        max_file_bytes=int(options["max_file_bytes"]),
        max_pixels_per_frame=int(options["max_pixels_per_frame"]),
    )
    try:
        return _Reading(radiograph=load(path, limits=limits))
    except NotAnImageError as error:
        raise UploadRejected(error.message_en, error.message_ja, detail=error.detail) from error
    except ImagingError as error:
        return _Reading(error=error)
    except Exception as error:
        # A decoder bug must not turn an upload into a server error: keep the original and fail the study.
        logger.exception("reading an upload raised an unexpected error")
        return _Reading(
            error=DamagedImageError(
                "The file could not be read as a radiograph. Export it again from the imaging system.",
                "ファイルを画像として読み込めませんでした。画像システムから再度書き出してください。",
                detail=repr(error),
            )
        )


def _create_study(
    staged: _StagedFile,
    reading: _Reading,
    uploaded_file: UploadedFileLike,
    *,
    user: Any,
    patient: PatientDetails | None,
    request: HttpRequest | None,
) -> IngestOutcome:
    now = timezone.now()
    study = Study(uploaded_by=user if getattr(user, "is_authenticated", False) else None)
    _apply_identity(study, reading, patient)
    if reading.error is None:
        study.status = Study.Status.QUEUED
        study.queued_at = now
    else:
        study.status = Study.Status.FAILED
        study.failure_code = reading.error.code
        study.failure_message_en = reading.error.message_en
        study.failure_message_ja = reading.error.message_ja
        study.finished_at = now

    radiograph = Radiograph(
        original_filename=Path(uploaded_file.name or "upload").name[:255],
        sha256=staged.sha256,
        size_bytes=staged.size_bytes,
    )
    _apply_reading(radiograph, reading)
    stored_name = original_upload_path(radiograph, radiograph.original_filename)
    created_file = _store_original(staged.path, stored_name)
    radiograph.original.name = stored_name

    try:
        with transaction.atomic():
            study.save()
            radiograph.study = study
            radiograph.save()
            _record_upload(study, user=user, request=request, duplicate=False)
            if study.status == Study.Status.QUEUED:
                from screening.tasks import dispatch_screening

                study_id = study.pk
                transaction.on_commit(lambda: dispatch_screening(study_id))
    except IntegrityError:
        # The same file was stored by a concurrent upload: keep its (identical) original and return its study.
        existing = Study.objects.filter(radiograph__sha256=staged.sha256).first()
        if existing is None:
            if created_file:
                default_storage.delete(stored_name)
            raise
        _record_upload(existing, user=user, request=request, duplicate=True)
        return IngestOutcome(study=existing, duplicate=True)
    except BaseException:
        if created_file:
            default_storage.delete(stored_name)
        raise

    logger.info(
        "study %s created from upload",
        study.pk,
        extra={"study_id": study.pk, "status": study.status, "file_type": radiograph.file_type},
    )
    return IngestOutcome(study=study, duplicate=False)


def _store_original(staged_path: Path, stored_name: str) -> bool:
    """Move the staged file to its sha256 path; return False when an identical file was already there."""
    target = Path(default_storage.path(stored_name))
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return False
    os.chmod(staged_path, int(settings.FILE_UPLOAD_PERMISSIONS or 0o640))
    # Same filesystem as the staging folder, so the move is atomic and never leaves half a file.
    os.replace(staged_path, target)
    return True


def _apply_identity(study: Study, reading: _Reading, patient: PatientDetails | None) -> None:
    """Fill patient and study identifiers: DICOM header values first, entered values where the header has none."""
    entered = patient or PatientDetails()
    header = reading.radiograph.header if reading.radiograph is not None else None
    study.patient_id = _first_text(header and header.patient_id, entered.patient_id)[:64]
    study.patient_name = _first_text(
        header and _readable_person_name(header.patient_name), entered.patient_name
    )[:200]
    study.patient_birth_date = (
        _parse_dicom_date(header and header.patient_birth_date) or entered.patient_birth_date
    )
    study.patient_sex = _normalise_sex(_first_text(header and header.patient_sex, entered.patient_sex))
    study.accession_number = _first_text(header and header.accession_number, entered.accession_number)[:64]
    study.study_date = _parse_dicom_date(header and header.study_date) or entered.study_date


def _apply_reading(radiograph: Radiograph, reading: _Reading) -> None:
    if reading.radiograph is None:
        return
    data = reading.radiograph.to_dict()
    data.pop("source_path", None)
    radiograph.file_type = reading.radiograph.provenance.file_type
    radiograph.header = data["header"]
    radiograph.provenance = data["provenance"]
    radiograph.spacing = data["spacing"]
    radiograph.warnings = data["warnings"]
    radiograph.rows, radiograph.columns = reading.radiograph.shape


def _record_upload(study: Study, *, user: Any, request: HttpRequest | None, duplicate: bool) -> None:
    details: dict[str, Any] = {"duplicate": duplicate, "status": study.status}
    if study.failure_code:
        details["failure_code"] = study.failure_code
    record_event(AuditEvent.Action.UPLOAD, actor=user, request=request, obj=study, details=details)


def _first_text(*values: str | None) -> str:
    for value in values:
        if value and str(value).strip():
            return str(value).strip()
    return ""


def _readable_person_name(value: str | None) -> str:
    """Turn a DICOM PN value ("Family^Given^Middle") into "Family Given Middle"."""
    if not value:
        return ""
    return " ".join(part for part in str(value).split("=")[0].split("^") if part).strip()


def _parse_dicom_date(value: str | None) -> date | None:
    """Parse a DICOM DA value (YYYYMMDD); an invalid value gives None instead of a guessed date."""
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _normalise_sex(value: str) -> str:
    letter = value.strip().upper()[:1]
    return letter if letter in {"F", "M", "O"} else ""


def patient_details_from_dict(data: dict[str, Any]) -> PatientDetails:
    """Build PatientDetails from validated form or serializer data, ignoring unknown keys."""
    known = {key: data[key] for key in asdict(PatientDetails()) if key in data and data[key] is not None}
    return PatientDetails(**known)
