"""Report page of one study: the stored result, never recomputed on view."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inference.result import LUMBAR_LEVELS
from screening.errors import StudyNotFound
from screening.models import AuditEvent
from screening.services import studies as study_queries
from screening.services.audit import record_event
from screening.views.access import screening_role_required
from screening.views.oversight.review import FORM_FEEDBACK_SESSION_KEY
from screening.views.report_context import build_report_context


@require_safe
@screening_role_required
def report(request: HttpRequest, study_id: int) -> HttpResponse:
    """Show the report of ``study_id`` and record that it was viewed."""
    try:
        study = study_queries.get_study(study_id)
    except StudyNotFound as error:
        raise Http404(error.message_en) from error
    record_event(AuditEvent.Action.REPORT_VIEW, actor=request.user, request=request, obj=study)
    context = build_report_context(study)
    # The outcome of the last review or MRI-outcome post is shown once, at the form that was sent.
    context["lumbar_levels"] = LUMBAR_LEVELS
    context["form_feedback"] = request.session.pop(FORM_FEEDBACK_SESSION_KEY, None)
    return render(request, "screening/report.html", context)
