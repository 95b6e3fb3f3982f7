"""Forms on the report: a review per vertebra and the MRI outcome of the study."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from screening.models import Study, VertebraFinding
from screening.services import review as review_service
from screening.views.access import screening_role_required
from screening.views.oversight.forms import MRIOutcomeForm, ReviewForm

# Session key of the outcome of the last review or MRI-outcome post, which the report shows at that form.
FORM_FEEDBACK_SESSION_KEY = "olvf_report_form_feedback"


def _report_url(study_id: int, anchor: str) -> str:
    return reverse("screening:report", args=[study_id]) + f"#{anchor}"


def _store_feedback(
    request: HttpRequest, *, finding_id: int | None, level: str, text: str, data: dict[str, Any] | None = None
) -> None:
    """Keep the message (and the rejected input) for the form it belongs to, where the user is looking.

    ``finding_id`` None means the MRI outcome form.
    """
    request.session[FORM_FEEDBACK_SESSION_KEY] = {
        "finding_id": finding_id,
        "level": level,
        "text": text,
        "data": data or {},
    }


def _form_error_text(form: ReviewForm | MRIOutcomeForm) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@screening_role_required
@require_POST
def review_create(request: HttpRequest, finding_id: int) -> HttpResponse:
    """Store a review of one vertebra and go back to the report."""
    study_id = VertebraFinding.objects.filter(pk=finding_id).values_list("run__study_id", flat=True).first()
    if study_id is None:
        raise Http404("No such vertebra finding.")
    form = ReviewForm(request.POST)
    anchor = f"review-{finding_id}"
    entered = {name: request.POST.get(name, "") for name in ("verdict", "corrected_class", "comment")}
    if not form.is_valid():
        _store_feedback(
            request, finding_id=finding_id, level="error", text=_form_error_text(form), data=entered
        )
        return redirect(_report_url(study_id, anchor))
    try:
        review = review_service.record_review(
            finding_id,
            reviewer=request.user,
            agrees=form.cleaned_data["verdict"] == "agree",
            corrected_class=form.cleaned_data["corrected_class"] or None,
            comment=form.cleaned_data["comment"],
            request=request,
        )
    except ValidationError as error:
        _store_feedback(
            request, finding_id=finding_id, level="error", text=" ".join(error.messages), data=entered
        )
    else:
        text = _("Your review of %(level)s is saved.") % {"level": review.finding.level}
        _store_feedback(request, finding_id=finding_id, level="success", text=text)
    return redirect(_report_url(study_id, anchor))


@screening_role_required
@require_POST
def outcome_create(request: HttpRequest, study_id: int) -> HttpResponse:
    """Store the MRI outcome of a study and go back to the report."""
    if not Study.objects.filter(pk=study_id).exists():
        raise Http404("No such study.")
    form = MRIOutcomeForm(request.POST)
    entered = {
        "mri_done": request.POST.get("mri_done", ""),
        "mri_date": request.POST.get("mri_date", ""),
        "fresh_levels": request.POST.getlist("fresh_levels"),
        "notes": request.POST.get("notes", ""),
    }
    if not form.is_valid():
        _store_feedback(request, finding_id=None, level="error", text=_form_error_text(form), data=entered)
        return redirect(_report_url(study_id, "mri-outcome"))
    try:
        review_service.record_mri_outcome(
            study_id,
            recorded_by=request.user,
            mri_done=form.cleaned_data["mri_done"],
            mri_date=form.cleaned_data["mri_date"],
            fresh_levels=form.cleaned_data["fresh_levels"],
            notes=form.cleaned_data["notes"],
            request=request,
        )
    except ValidationError as error:
        _store_feedback(request, finding_id=None, level="error", text=" ".join(error.messages), data=entered)
    else:
        _store_feedback(request, finding_id=None, level="success", text=_("The MRI outcome is saved."))
    return redirect(_report_url(study_id, "mri-outcome"))
