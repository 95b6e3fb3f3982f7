"""The report of a study as a PDF download."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language

from screening.errors import StudyNotFound
from screening.services.reports import report_pdf_for_download
from screening.views.access import screening_role_required


@screening_role_required
def report_pdf(request: HttpRequest, study_id: int) -> HttpResponse:
    """Send the PDF report of a study in the reader's language."""
    try:
        document = report_pdf_for_download(
            study_id, user=request.user, language=get_language() or "ja", request=request
        )
    except StudyNotFound as error:
        raise Http404(error.message_en) from error
    response = HttpResponse(document.content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    # The PDF names the patient, so no shared or proxy cache may keep it.
    response["Cache-Control"] = "private, no-store"
    return response
