"""The audit trail for admins: filtered list, CSV export, chain verification and the decision trace."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from screening.models import AuditEvent, Study
from screening.services.audit import record_event
from screening.services.audit_queries import (
    AuditFilters,
    decision_trace,
    events_to_csv,
    filter_events,
    verify_audit_trail,
)
from screening.services.reruns import rerun_choices
from screening.views.oversight.access import admin_role_required
from screening.views.oversight.forms import AuditFilterForm

EVENTS_PER_PAGE = 50
# Query parameter of the newest sequence that a paged audit list shows.
SNAPSHOT_PARAMETER = "upto"


def _filters(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilters]:
    form = AuditFilterForm(request.GET or None)
    if not request.GET or not form.is_valid():
        return form, AuditFilters()
    data = {key: value for key, value in form.cleaned_data.items() if value not in (None, "")}
    return form, AuditFilters(**data)


def _filters_for_audit(filters: AuditFilters) -> dict[str, str]:
    return {key: str(value) for key, value in vars(filters).items() if value not in (None, "")}


def _snapshot_sequence(request: HttpRequest) -> int | None:
    """Return the ``upto`` sequence that a page link carries, or None when it is missing or invalid."""
    try:
        sequence = int(request.GET.get(SNAPSHOT_PARAMETER, ""))
    except ValueError:
        return None
    return sequence if sequence > 0 else None


@admin_role_required
def audit_page(request: HttpRequest) -> HttpResponse:
    """Show the audit events that match the filters, newest first, one page at a time.

    Viewing the page records an event, so the list grows by one on every request. The first
    page therefore fixes the newest sequence it lists, and the Newer/Older links carry it as
    ``upto``: later pages read the same list, and every event appears on exactly one page.
    """
    form, filters = _filters(request)
    event = record_event(
        AuditEvent.Action.AUDIT_VIEW, request=request, details={"filters": _filters_for_audit(filters)}
    )
    upto = _snapshot_sequence(request) or event.sequence
    events = filter_events(filters).filter(sequence__lte=upto)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop(SNAPSHOT_PARAMETER, None)
    page_query = query.copy()
    page_query[SNAPSHOT_PARAMETER] = str(upto)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "page_query": page_query.urlencode(),
        "actions": AuditEvent.Action,
    }
    return render(request, "oversight/audit.html", context)


@admin_role_required
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Send every audit event that matches the filters as CSV, oldest first."""
    _, filters = _filters(request)
    record_event(
        AuditEvent.Action.EXPORT,
        request=request,
        details={"export": "audit_csv", "filters": _filters_for_audit(filters)},
    )
    events = filter_events(filters).order_by("sequence")
    response = StreamingHttpResponse(events_to_csv(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="olvf-audit-{stamp}.csv"'
    return response


@admin_role_required
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Check the whole hash chain now and show every break found."""
    problems = verify_audit_trail()
    context = {"problems": problems, "event_count": AuditEvent.objects.count()}
    return render(request, "oversight/audit_verify.html", context)


@admin_role_required
def trace_page(request: HttpRequest, study_id: int) -> HttpResponse:
    """Show the decision trace of a study: every run, its bundle, models, thresholds and inputs."""
    try:
        trace = decision_trace(study_id)
    except Study.DoesNotExist as error:
        raise Http404("No such study.") from error
    record_event(
        AuditEvent.Action.AUDIT_VIEW, request=request, obj=trace.study, details={"view": "decision_trace"}
    )
    context = {"trace": trace, "study": trace.study, "rerun_bundles": rerun_choices(trace.study)}
    return render(request, "oversight/trace.html", context)


@admin_role_required
def trace_json(request: HttpRequest, study_id: int) -> HttpResponse:
    """Send the decision trace of a study as JSON."""
    try:
        trace = decision_trace(study_id)
    except Study.DoesNotExist as error:
        raise Http404("No such study.") from error
    record_event(
        AuditEvent.Action.EXPORT, request=request, obj=trace.study, details={"export": "decision_trace"}
    )
    body = json.dumps(trace.to_dict(), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="olvf-trace-study-{study_id}.json"'
    return response
