"""Originals, crops and overlays, served only after a permission check that also writes an audit event."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from screening.errors import FileNotAvailable
from screening.services import files as file_service
from screening.views.access import screening_role_required


@require_safe
@screening_role_required
def original(request: HttpRequest, study_id: int) -> FileResponse:
    """Send the unchanged original file of a study as a download."""
    try:
        stored = file_service.open_original(study_id, user=request.user, request=request)
    except FileNotAvailable as error:
        raise Http404(error.message_en) from error
    return _send(stored, as_attachment=True)


@require_safe
@screening_role_required
def run_file(request: HttpRequest, study_id: int, name: str) -> FileResponse:
    """Send an overlay or crop that a run of the study recorded, for display in the report."""
    try:
        stored = file_service.open_run_file(study_id, name, user=request.user, request=request)
    except FileNotAvailable as error:
        raise Http404(error.message_en) from error
    return _send(stored, as_attachment=False)


def _send(stored: file_service.StoredFile, *, as_attachment: bool) -> FileResponse:
    response = FileResponse(
        stored.path.open("rb"),
        as_attachment=as_attachment,
        filename=stored.download_name,
        content_type=stored.content_type,
    )
    # Patient images must not linger in shared or proxy caches.
    response["Cache-Control"] = "private, no-store"
    return response
