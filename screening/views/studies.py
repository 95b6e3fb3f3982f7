"""Study list with search and filters, and the small JSON status endpoint its script polls."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from screening import roles
from screening.errors import NoActiveBundle
from screening.forms import StudyFilterForm
from screening.models import AuditEvent, Study
from screening.services import studies as study_queries
from screening.services.audit import record_event
from screening.views.access import screening_role_required

PAGE_SIZE = 25
# The status endpoint returns at most this many studies per request, which covers one list page.
MAX_STATUS_IDS = 100


def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in user to the first page of their role."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    if roles.can_screen(request.user):
        return redirect("screening:study_list")
    if roles.can_view_statistics(request.user):
        return redirect("oversight:statistics")
    return render(request, "screening/home.html")


@require_safe
@screening_role_required
def study_list(request: HttpRequest) -> HttpResponse:
    """List studies newest first, with search, filters and pagination."""
    filters = StudyFilterForm(request.GET or None)
    values = filters.filter_values() if request.GET else {}
    queryset = study_queries.list_studies(filters.study_filters() if request.GET else None)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    record_event(
        AuditEvent.Action.STUDY_LIST_VIEW,
        actor=request.user,
        request=request,
        details={"filters": _audit_filters(values), "page": page.number, "count": len(page.object_list)},
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page_obj": page,
        "rows": [study_row(study) for study in page.object_list],
        "query_without_page": f"{query.urlencode()}&" if query else "",
    }
    return render(request, "screening/study_list.html", context)


@require_safe
@screening_role_required
def study_status(request: HttpRequest) -> JsonResponse:
    """Return the status and result of the studies whose ids are given as ``?ids=1,2,3``."""
    ids = _parse_ids(request.GET.get("ids", ""))
    if ids is None:
        return JsonResponse(
            {"error": _("The ids parameter must be a comma-separated list of study numbers.")}, status=400
        )
    found = study_queries.list_studies().filter(pk__in=ids)
    return JsonResponse({"studies": [_status_entry(study) for study in found]})


def study_row(study: Study) -> dict[str, Any]:
    """Return what the list shows for one study. The status endpoint sends the same fields."""
    run = study.current_run
    result_status = run.result_status if run is not None else None
    return {
        "id": study.pk,
        "url": reverse("screening:report", args=[study.pk]),
        "patient_id": study.patient_id,
        "patient_name": study.patient_name,
        "accession_number": study.accession_number,
        "study_date": study.study_date,
        "created_at": study.created_at,
        "status": study.status,
        "status_label": _("Waiting for a model bundle")
        if is_waiting_for_bundle(study)
        else study.get_status_display(),
        "badge": study.status,
        "result_status": result_status or "",
        "result_label": _result_label(study, result_status),
        "result_badge": RESULT_BADGES.get(result_status or "", "clear"),
        "is_demo": bool(run is not None and run.is_demo),
    }


def is_waiting_for_bundle(study: Study) -> bool:
    """Return True for a QUEUED study that screening put back because no model bundle is active."""
    return study.status == Study.Status.QUEUED and study.failure_code == NoActiveBundle.code


RESULT_BADGES = {
    "mri_recommended": "mri",
    "not_assessable": "not-assessable",
    "no_fresh_fracture_found": "clear",
}


def _result_label(study: Study, result_status: str | None) -> str:
    if study.status != Study.Status.DONE or not result_status:
        return ""
    from screening.models import AnalysisRun

    return str(AnalysisRun.ResultStatus(result_status).label)


def _status_entry(study: Study) -> dict[str, Any]:
    row = study_row(study)
    return {
        "id": row["id"],
        "status": row["status"],
        "status_label": row["status_label"],
        "badge": row["badge"],
        "result_status": row["result_status"],
        "result_label": row["result_label"],
        "result_badge": row["result_badge"],
        "is_demo": row["is_demo"],
        "demo_label": _("Demo"),
        "url": row["url"],
        "progress_message": progress_message(study),
    }


def progress_message(study: Study) -> str:
    """Return the sentence that the upload page shows beside an accepted file in ``study``'s status."""
    if study.status == Study.Status.DONE:
        return str(_("Uploaded and screened."))
    if study.status == Study.Status.FAILED:
        return str(_("Screening failed. Open the study for the reason."))
    return str(_("Uploaded. Screening runs in the background."))


def _parse_ids(text: str) -> list[int] | None:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) > MAX_STATUS_IDS or not all(part.isdigit() and len(part) < 19 for part in parts):
        return None
    return [int(part) for part in parts]


def _audit_filters(values: dict[str, Any]) -> dict[str, Any]:
    """Return the filters for the audit trail without the search text, because it may be a patient name."""
    recorded: dict[str, Any] = {key: str(value) for key, value in values.items() if key != "q"}
    if "q" in values:
        recorded["search"] = True
    return recorded
