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
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from inference.orientation import Orientation, resolve_orientation
from screening.date_checks import check_birth_date, check_study_date
from screening.errors import UploadRejected
from screening.models import AuditEvent, Radiograph, Study
from screening.models.studies import original_upload_path
from screening.services.audit import record_event
from screening.services.header_dates import checked_header_date, drop_birth_after_study
from screening.services.sanitise import SanitiseReport, clean_json, clean_text, fit_text
from screening.units import format_bytes

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
    # Set only for a duplicate whose stored side differs from the side this upload gives.
    facing_conflict: FacingConflict | None = None

    @property
    def failed(self) -> bool:
        return self.study.status == Study.Status.FAILED


@dataclass(frozen=True)
class FacingConflict:
    """The side the existing study uses and the different side a repeated upload of its file gives.

    Each side is the one ``inference.orientation.resolve_orientation`` decides
    from the stated facing and the stored DICOM Patient Orientation.
    """

    study_side: Orientation
    requested_side: Orientation

    def message(self) -> str:
        """Return the explanation for the clinician, in the active language."""
        return _(
            "The existing study reads the patient as facing %(study_side)s, but this upload gives "
            "%(requested_side)s. The existing study and its result were not changed."
        ) % {
            "study_side": facing_phrase(self.study_side),
            "requested_side": facing_phrase(self.requested_side),
        }

    def to_dict(self) -> dict[str, str]:
        return {
            "study_side": self.study_side.anterior_side,
            "study_side_source": self.study_side.source,
            "requested_side": self.requested_side.anterior_side,
            "requested_side_source": self.requested_side.source,
        }


def facing_phrase(orientation: Orientation) -> str:
    """Return a side and where it came from, as in "right (stated at upload)", in the active language."""
    right = orientation.anterior_side == "right"
    if orientation.source == "stated":
        return _("right (stated at upload)") if right else _("left (stated at upload)")
    if orientation.source == "header":
        return _("right (DICOM Patient Orientation)") if right else _("left (DICOM Patient Orientation)")
    return _("left (assumed, because the file does not state it)")


def ingest_upload(
    uploaded_file: UploadedFileLike,
    *,
    user: Any,
    patient: PatientDetails | None = None,
    facing: str | None = None,
    request: HttpRequest | None = None,
) -> IngestOutcome:
    """Store ``uploaded_file`` as a new study and queue its screening after the commit.

    ``facing`` ("left" or "right") is the side the patient faces as a person
    stated it. It is stored on the radiograph and wins over the DICOM header
    when the study is screened. None or "" leaves the side to the file.

    A file uploaded before (same sha256) returns the existing study unchanged,
    with its stored side. When that side differs from the side this upload
    gives, the outcome carries a FacingConflict so the caller can say so.

    Raises UploadRejected, with nothing stored, for an empty file, a file over
    OLVF_MAX_UPLOAD_BYTES and a file that is no image at all. A file that is an
    image but cannot be read (damaged, unsupported, too many pixels) becomes a
    FAILED study with the reason, and its original is kept. Raises ValueError
    for a ``facing`` other than "left", "right", "" or None.
    """
    stated_facing = _checked_facing(facing)
    staged = _stage_upload(uploaded_file)
    try:
        existing = Study.objects.select_related("radiograph").filter(radiograph__sha256=staged.sha256).first()
        if existing is not None:
            return _duplicate_outcome(existing, stated_facing, user=user, request=request)
        reading = _read_radiograph(staged.path)
        return _create_study(
            staged,
            reading,
            uploaded_file,
            user=user,
            patient=patient,
            stated_facing=stated_facing,
            request=request,
        )
    finally:
        staged.path.unlink(missing_ok=True)


def _checked_facing(facing: str | None) -> str:
    if facing in (None, ""):
        return Radiograph.Facing.FROM_FILE
    if facing not in (Radiograph.Facing.LEFT, Radiograph.Facing.RIGHT):
        raise ValueError(f'facing must be "left", "right", "" or None, not {facing!r}')
    return str(facing)


def _duplicate_outcome(
    existing: Study, stated_facing: str, *, user: Any, request: HttpRequest | None
) -> IngestOutcome:
    """Return the existing study of a repeated upload, noting when this upload gives another side."""
    conflict = _facing_conflict(existing.radiograph, stated_facing)
    _record_upload(
        existing,
        user=user,
        request=request,
        duplicate=True,
        stated_facing=stated_facing,
        facing_conflict=conflict,
    )
    return IngestOutcome(study=existing, duplicate=True, facing_conflict=conflict)


def _facing_conflict(radiograph: Radiograph, stated_facing: str) -> FacingConflict | None:
    """Compare the side the stored radiograph is screened with and the side ``stated_facing`` gives."""
    patient_orientation = (radiograph.header or {}).get("patient_orientation")
    study_side = resolve_orientation(
        stated_facing=radiograph.stated_facing, patient_orientation=patient_orientation
    )
    requested_side = resolve_orientation(stated_facing=stated_facing, patient_orientation=patient_orientation)
    if study_side.anterior_side == requested_side.anterior_side:
        return None
    return FacingConflict(study_side=study_side, requested_side=requested_side)


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
    # The type that the first bytes show when reading failed later, such as "dicom" for a
    # multi-frame DICOM file. It is "" when the type is unknown too.
    detected_file_type: str = ""


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
    limit = format_bytes(max_bytes)
    return UploadRejected(
        f"The file is larger than the limit of {limit}. Export the radiograph at a smaller size.",
        f"ファイルが上限 {limit} を超えています。より小さいサイズで画像を書き出してください。",
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
        return _Reading(error=error, detected_file_type=_detected_file_type(path))
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


def _detected_file_type(path: Path) -> str:
    """Return the file type that the first bytes show, or "" when they show none that is read."""
    from inference.errors import ImagingError
    from inference.imaging.sniff import SNIFF_BYTES, sniff

    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        return sniff(head, path.stat().st_size).file_type
    except (ImagingError, OSError):
        return ""


def _create_study(
    staged: _StagedFile,
    reading: _Reading,
    uploaded_file: UploadedFileLike,
    *,
    user: Any,
    patient: PatientDetails | None,
    stated_facing: str,
    request: HttpRequest | None,
) -> IngestOutcome:
    now = timezone.now()
    report = SanitiseReport()
    study = Study(uploaded_by=user if getattr(user, "is_authenticated", False) else None)
    identity_warnings = _apply_identity(study, reading, patient, report)
    if reading.error is None:
        study.status = Study.Status.QUEUED
        study.queued_at = now
    else:
        _mark_failed(study, reading.error.code, reading.error.message_en, reading.error.message_ja, now)

    radiograph = Radiograph(
        original_filename=_original_filename(uploaded_file, report),
        sha256=staged.sha256,
        size_bytes=staged.size_bytes,
        stated_facing=stated_facing,
    )
    _apply_reading(radiograph, reading, report)
    radiograph.warnings = [*radiograph.warnings, *identity_warnings, *report.warnings()]
    stored_name = original_upload_path(radiograph, radiograph.original_filename)
    created_file = _store_original(staged.path, stored_name)
    radiograph.original.name = stored_name

    try:
        _save_study(study, radiograph, user=user, request=request)
    except IntegrityError as error:
        # The only expected constraint failure is the unique sha256 of a concurrent upload of the same
        # file: that upload's study then exists, and its original is this identical file.
        existing = Study.objects.select_related("radiograph").filter(radiograph__sha256=staged.sha256).first()
        if existing is not None:
            return _duplicate_outcome(existing, stated_facing, user=user, request=request)
        return _save_as_failed(study, radiograph, error, user=user, request=request, now=now)
    except (DatabaseError, ValueError) as error:
        # ValueError: psycopg refuses text it cannot send, such as a NUL that cleaning missed.
        return _save_as_failed(study, radiograph, error, user=user, request=request, now=now)
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


def _save_study(study: Study, radiograph: Radiograph, *, user: Any, request: HttpRequest | None) -> None:
    """Insert the study, its radiograph and the upload event in one transaction, and queue screening on commit."""
    with transaction.atomic():
        study.save()
        radiograph.study = study
        radiograph.save()
        _record_upload(
            study, user=user, request=request, duplicate=False, stated_facing=radiograph.stated_facing
        )
        if study.status == Study.Status.QUEUED:
            from screening.tasks import dispatch_screening

            study_id = study.pk
            transaction.on_commit(lambda: dispatch_screening(study_id))


def _save_as_failed(
    study: Study,
    radiograph: Radiograph,
    error: Exception,
    *,
    user: Any,
    request: HttpRequest | None,
    now: Any,
) -> IngestOutcome:
    """Store a study that the database rejected as FAILED, without what was read from the file.

    The original is already in storage under its sha256 name and stays there,
    referenced by the FAILED study. Raises UploadRejected, keeping the file,
    when even this reduced study cannot be stored.
    """
    logger.warning(
        "storing the study of upload %s failed with %s, so it is stored as failed without header data",
        radiograph.sha256[:12],
        type(error).__name__,
        # Only the error type and SQLSTATE: PostgreSQL's message can quote the failing row, patient name included.
        extra={"sha256": radiograph.sha256, "sqlstate": _sqlstate(error)},
    )
    fallback = Study(uploaded_by=study.uploaded_by)
    _mark_failed(
        fallback,
        "ingest_failed",
        "The file was kept, but what was read from it could not be stored. "
        "Export the radiograph again from the imaging system and upload it.",
        "ファイルは保存しましたが、読み取った内容を保存できませんでした。"
        "画像システムから再度書き出してアップロードしてください。",
        now,
    )
    fallback_radiograph = Radiograph(
        original_filename="upload",
        sha256=radiograph.sha256,
        size_bytes=radiograph.size_bytes,
        file_type=radiograph.file_type,
        stated_facing=radiograph.stated_facing,
    )
    fallback_radiograph.original.name = radiograph.original.name
    try:
        _save_study(fallback, fallback_radiograph, user=user, request=request)
    except (DatabaseError, ValueError) as second_error:
        logger.error(
            "storing upload %s as a failed study failed too, and its original stays at %s",
            radiograph.sha256[:12],
            radiograph.original.name,
            extra={
                "sha256": radiograph.sha256,
                "error_type": type(second_error).__name__,
                "sqlstate": _sqlstate(second_error),
            },
        )
        raise UploadRejected(
            "The upload could not be stored. Try again later, and if it fails again, tell the administrator.",
            "アップロードを保存できませんでした。時間をおいて再度お試しください。"
            "再び失敗する場合は管理者に連絡してください。",
            detail=type(second_error).__name__,
        ) from second_error
    return IngestOutcome(study=fallback, duplicate=False)


def _sqlstate(error: BaseException) -> str | None:
    """Return the SQLSTATE of a database error (psycopg keeps it on the cause Django wraps), or None."""
    cause = error.__cause__ or error
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def _mark_failed(study: Study, code: str, message_en: str, message_ja: str, now: Any) -> None:
    study.status = Study.Status.FAILED
    study.failure_code = code
    study.failure_message_en = message_en
    study.failure_message_ja = message_ja
    study.finished_at = now


def _original_filename(uploaded_file: UploadedFileLike, report: SanitiseReport) -> str:
    name = clean_text(Path(uploaded_file.name or "upload").name, path="original_filename", report=report)
    return name[:255] or "upload"


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


# Study fields filled from the header or the entered details: (field, header attribute, max length).
_IDENTITY_TEXT_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("patient_id", "patient_id", 64),
    ("patient_name", "patient_name", 200),
    ("accession_number", "accession_number", 64),
)


def _apply_identity(
    study: Study, reading: _Reading, patient: PatientDetails | None, report: SanitiseReport
) -> list[dict[str, Any]]:
    """Fill patient and study identifiers: DICOM header values first, entered values where the header has none.

    Returns a warning for each value longer than its column, which is stored
    cut to the column with a trailing ellipsis, and for each header date that
    is not stored because it failed the date checks.
    """
    entered = patient or PatientDetails()
    header = reading.radiograph.header if reading.radiograph is not None else None
    warnings: list[dict[str, Any]] = []
    for field_name, attribute, max_length in _IDENTITY_TEXT_FIELDS:
        header_value = getattr(header, attribute, None) if header is not None else None
        if field_name == "patient_name":
            header_value = _readable_person_name(header_value)
        text = clean_text(
            _first_text(header_value, getattr(entered, field_name)), path=field_name, report=report
        )
        stored, cut = fit_text(text, max_length)
        setattr(study, field_name, stored)
        if cut:
            warnings.append(_truncation_warning(field_name, len(text), max_length))

    # Header dates pass the same checks as typed-in ones. The entered value replaces a rejected one.
    birth_date, birth_warning = checked_header_date(
        "patient_birth_date", header and header.patient_birth_date, check_birth_date
    )
    study_date, study_warning = checked_header_date("study_date", header and header.study_date, check_study_date)
    study_date = study_date or entered.study_date
    birth_date, order_warning = drop_birth_after_study(birth_date or entered.patient_birth_date, study_date)
    study.patient_birth_date = birth_date
    study.patient_sex = _normalise_sex(_first_text(header and header.patient_sex, entered.patient_sex))
    study.study_date = study_date
    warnings.extend(w for w in (birth_warning, study_warning, order_warning) if w is not None)
    return warnings


def _truncation_warning(field_name: str, length: int, max_length: int) -> dict[str, Any]:
    return {
        "code": f"{field_name}_truncated",
        "message_en": (
            f"The {field_name.replace('_', ' ')} in the file has {length} characters, more than the "
            f"{max_length} stored: the study shows its first {max_length - 1} followed by \u2026. "
            "The full value is in the header details."
        ),
        "message_ja": (
            f"ファイルの {field_name} は {length} 文字あり、保存できる {max_length} 文字を超えています。"
            f"検査には先頭 {max_length - 1} 文字と \u2026 を表示しています。全体はヘッダー情報にあります。"
        ),
        "blocks_assessment": False,
    }


def _apply_reading(radiograph: Radiograph, reading: _Reading, report: SanitiseReport) -> None:
    if reading.radiograph is None:
        if reading.detected_file_type:
            radiograph.file_type = reading.detected_file_type
        return
    data = reading.radiograph.to_dict()
    data.pop("source_path", None)
    radiograph.file_type = clean_text(
        reading.radiograph.provenance.file_type, path="file_type", report=report
    )
    radiograph.header = clean_json(data["header"], path="header", report=report)
    radiograph.provenance = clean_json(data["provenance"], path="provenance", report=report)
    radiograph.spacing = clean_json(data["spacing"], path="spacing", report=report)
    radiograph.warnings = clean_json(data["warnings"], path="warnings", report=report)
    radiograph.rows, radiograph.columns = reading.radiograph.shape


def _record_upload(
    study: Study,
    *,
    user: Any,
    request: HttpRequest | None,
    duplicate: bool,
    stated_facing: str,
    facing_conflict: FacingConflict | None = None,
) -> None:
    # stated_facing is what this upload stated (null: from the file), even for a duplicate that keeps its side.
    details: dict[str, Any] = {
        "duplicate": duplicate,
        "status": study.status,
        "stated_facing": stated_facing or None,
    }
    if facing_conflict is not None:
        details["facing_conflict"] = facing_conflict.to_dict()
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


def _normalise_sex(value: str) -> str:
    letter = value.strip().upper()[:1]
    return letter if letter in {"F", "M", "O"} else ""


def patient_details_from_dict(data: dict[str, Any]) -> PatientDetails:
    """Build PatientDetails from validated form or serializer data, ignoring unknown keys."""
    known = {key: data[key] for key in asdict(PatientDetails()) if key in data and data[key] is not None}
    return PatientDetails(**known)
