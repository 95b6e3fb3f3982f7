"""Queries behind the study list and the study detail, shared by the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from screening.errors import StudyNotFound
from screening.models import AnalysisRun, Study, VertebraFinding


@dataclass(frozen=True)
class StudyFilters:
    """Search and filters of the study list; None or "" means no filter.

    ``query`` matches patient ID, patient name or accession number (substring,
    case-insensitive). The date range applies to the study date, or to the upload
    date for studies without a study date.
    """

    query: str = ""
    status: str = ""
    mri_recommended: bool | None = None
    not_assessable: bool | None = None
    date_from: date | None = None
    date_to: date | None = None


def filters_for_audit(filters: StudyFilters) -> dict[str, Any]:
    """Return the active filters for an audit event; the search text becomes a flag because it may be a name."""
    recorded: dict[str, Any] = {}
    if filters.query.strip():
        recorded["search"] = True
    if filters.status:
        recorded["status"] = filters.status
    for name in ("mri_recommended", "not_assessable", "date_from", "date_to"):
        value = getattr(filters, name)
        if value is not None:
            recorded[name] = str(value)
    return recorded


def list_studies(filters: StudyFilters | None = None) -> QuerySet[Study]:
    """Return the studies matching ``filters``, newest first, with what a list row shows already joined."""
    filters = filters or StudyFilters()
    studies = Study.objects.select_related("radiograph", "current_run", "uploaded_by").order_by(
        "-created_at", "-id"
    )
    query = filters.query.strip()
    if query:
        studies = studies.filter(
            Q(patient_id__icontains=query)
            | Q(patient_name__icontains=query)
            | Q(accession_number__icontains=query)
        )
    if filters.status:
        studies = studies.filter(status=filters.status)
    if filters.mri_recommended is not None:
        studies = studies.filter(mri_recommended=filters.mri_recommended)
    if filters.not_assessable is not None:
        studies = studies.filter(not_assessable=filters.not_assessable)
    if filters.date_from is not None:
        studies = studies.filter(
            Q(study_date__gte=filters.date_from)
            | Q(study_date__isnull=True, created_at__date__gte=filters.date_from)
        )
    if filters.date_to is not None:
        studies = studies.filter(
            Q(study_date__lte=filters.date_to)
            | Q(study_date__isnull=True, created_at__date__lte=filters.date_to)
        )
    return studies


def get_study(study_id: int) -> Study:
    """Return one study with its radiograph, current run and that run's findings (in level order).

    Raises StudyNotFound.
    """
    findings = Prefetch("findings", queryset=VertebraFinding.objects.order_by("level"))
    runs = AnalysisRun.objects.select_related("bundle").prefetch_related(findings)
    study = (
        Study.objects.select_related("radiograph", "uploaded_by")
        .prefetch_related(Prefetch("runs", queryset=runs))
        .filter(pk=study_id)
        .first()
    )
    if study is None:
        raise StudyNotFound(f"Study {study_id} does not exist.", f"検査 {study_id} は存在しません。")
    return study


def current_run_of(study: Study) -> AnalysisRun | None:
    """Return the study's current run from the runs ``get_study`` prefetched (no extra query)."""
    if study.current_run_id is None:
        return None
    for run in study.runs.all():
        if run.pk == study.current_run_id:
            return run
    return None
