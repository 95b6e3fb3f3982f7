"""Upload page: one or several radiograph files, sent by the page's JavaScript one per request."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from screening.errors import ScreeningError
from screening.forms import UploadForm
from screening.models import Study
from screening.services.ingest import IngestOutcome, PatientDetails, ingest_upload, patient_details_from_dict
from screening.views.access import screening_role_required, wants_json
from screening.views.studies import progress_message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    """Outcome of one uploaded file, as the page shows it."""

    file_name: str
    outcome: str  # "accepted", "duplicate", "failed" (stored, unreadable) or "rejected" (nothing stored)
    outcome_label: str
    badge: str
    message: str
    study_id: int | None = None
    study_url: str = ""
    link_text: str = ""
    status: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@require_http_methods(["GET", "HEAD", "POST"])
@screening_role_required
def upload(request: HttpRequest) -> HttpResponse:
    """Show the upload page; on POST store each file as a study and report each outcome."""
    if request.method != "POST":
        return _render_page(request, UploadForm(), [])

    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _rejected_response(request, form)

    patient = _patient_details(form.patient_details())
    facing = form.stated_facing()
    results = [
        _ingest_one(request, uploaded, patient, facing) for uploaded in form.cleaned_data["radiographs"]
    ]
    if wants_json(request):
        return JsonResponse(results[0].to_dict(), status=400 if results[0].outcome == "rejected" else 200)
    return _render_page(request, UploadForm(), results)


def _ingest_one(
    request: HttpRequest, uploaded: Any, patient: PatientDetails | None, facing: str
) -> FileOutcome:
    try:
        outcome = ingest_upload(uploaded, user=request.user, patient=patient, facing=facing, request=request)
    except ScreeningError as error:
        logger.info(
            "Upload rejected: %s", error.code, extra={"error_code": error.code, "detail": error.detail}
        )
        return _rejection(uploaded.name, error.message(get_language() or "ja"))
    return _describe_outcome(uploaded.name, outcome)


def _describe_outcome(file_name: str, outcome: IngestOutcome) -> FileOutcome:
    study = outcome.study
    url = reverse("screening:report", args=[study.pk])
    if outcome.duplicate:
        message = _("This file was uploaded before (same SHA-256), so no new study was made.")
        if outcome.facing_conflict is not None:
            message = f"{message} {outcome.facing_conflict.message()}"
        return FileOutcome(
            file_name=file_name,
            outcome="duplicate",
            outcome_label=_("Already uploaded"),
            badge="not-assessable",
            message=message,
            study_id=study.pk,
            study_url=url,
            link_text=_("Open the existing study %(id)s") % {"id": study.pk},
            status=study.status,
        )
    if study.status == Study.Status.FAILED:
        return FileOutcome(
            file_name=file_name,
            outcome="failed",
            outcome_label=_("Cannot be read"),
            badge="failed",
            message=study.failure_message(get_language() or "ja"),
            study_id=study.pk,
            study_url=url,
            link_text=_("Open study %(id)s") % {"id": study.pk},
            status=study.status,
        )
    return FileOutcome(
        file_name=file_name,
        outcome="accepted",
        outcome_label=str(Study.Status(study.status).label),
        badge=study.status,
        message=progress_message(study),
        study_id=study.pk,
        study_url=url,
        link_text=_("Open study %(id)s") % {"id": study.pk},
        status=study.status,
    )


def _rejection(file_name: str, message: str) -> FileOutcome:
    return FileOutcome(
        file_name=file_name, outcome="rejected", outcome_label=_("Rejected"), badge="failed", message=message
    )


def _rejected_response(request: HttpRequest, form: UploadForm) -> HttpResponse:
    messages = [str(error) for errors in form.errors.values() for error in errors]
    if wants_json(request):
        names = [uploaded.name or "" for uploaded in request.FILES.getlist("radiographs")]
        result = _rejection(names[0] if names else "", " ".join(messages))
        return JsonResponse(result.to_dict(), status=400)
    return _render_page(request, form, [], status=400)


def _patient_details(values: dict[str, Any]) -> PatientDetails | None:
    if all(value in (None, "") for value in values.values()):
        return None
    return patient_details_from_dict(values)


def _render_page(
    request: HttpRequest, form: UploadForm, results: list[FileOutcome], status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "results": results,
        "max_upload_bytes": settings.OLVF_MAX_UPLOAD_BYTES,
        "max_files_per_upload": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        "upload_texts": _script_texts(),
    }
    return render(request, "screening/upload.html", context, status=status)


def _script_texts() -> dict[str, str]:
    """Return the translated texts that static/js/upload.js shows."""
    return {
        "checking": _("Checking"),
        "waiting": _("Waiting"),
        "uploading": _("Uploading"),
        "checking_file": _("Reading the file"),
        "needs_details": _("Patient details needed"),
        "patient_id_required": _("Enter the patient ID."),
        "rejected": _("Rejected"),
        "empty": _("The file is empty (0 bytes). Choose the radiograph file again."),
        "server_error": _(
            "The server could not process this file. Try again; if it fails again, tell your administrator."
        ),
        "network_error": _("The upload was interrupted. Check the network connection and try again."),
        "facing_left": _("Patient faces left (stated at upload)"),
        "facing_right": _("Patient faces right (stated at upload)"),
    }
