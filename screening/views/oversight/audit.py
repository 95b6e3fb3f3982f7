"""The audit trail for admins: filtered list, CSV export, chain verification and the decision trace."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

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
    """Return the bound form and the filters of its valid fields; an invalid field is left out alone."""
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        return form, AuditFilters()
    form.is_valid()
    # cleaned_data holds only the fields that passed, so one bad field leaves the others in force.
    data = {
        key: value
        for key, value in form.cleaned_data.items()
        if value not in (None, "") and key not in form.errors
    }
    if form.non_field_errors():
        # The only form-wide error is a start date after the end date: drop the range.
        data.pop("date_from", None)
        data.pop("date_to", None)
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
def audit_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Send every audit event that matches the filters as CSV, oldest first.

    Invalid filters get a 400 with the errors: a CSV cannot show that a filter was
    ignored, so an export never contains more events than the filters asked for.
    """
    form, filters = _filters(request)
    if form.is_bound and form.errors:
        problems = [str(error) for errors in form.errors.values() for error in errors]
        message = _("The CSV was not exported because some filters are invalid: %(problems)s") % {
            "problems": " ".join(problems)
        }
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
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
