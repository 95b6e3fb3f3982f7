"""Forms on the report: a review per vertebra and the MRI outcome of the study."""

from __future__ import annotations

from django.contrib import messages
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


def _report_url(study_id: int) -> str:
    return reverse("screening:report", args=[study_id]) + "#review"


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
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect(_report_url(study_id))
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
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your review of %(level)s is saved.") % {"level": review.finding.level})
    return redirect(_report_url(study_id))


@screening_role_required
@require_POST
def outcome_create(request: HttpRequest, study_id: int) -> HttpResponse:
    """Store the MRI outcome of a study and go back to the report."""
    if not Study.objects.filter(pk=study_id).exists():
        raise Http404("No such study.")
    form = MRIOutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect(_report_url(study_id))
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
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The MRI outcome is saved."))
    return redirect(_report_url(study_id))
