"""Error responses: JSON ``{"code", "detail"}`` under /api/, standalone HTML pages elsewhere.

Django calls these views for errors raised outside DRF's exception handling:
a request body over Django's limits (raised while parsing, also in the CSRF
check and DRF's parsers) and uncaught exceptions. The HTML templates inline
their CSS, so that they render even when the static files manifest is missing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext
from django.views import defaults

from screening.units import format_bytes

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Return the 400 response. A request over a Django limit gets the limit in its message and one log line."""
    code, detail = _limit_error(exception)
    if code != "bad_request":
        # Django's own log line for these (django.security.*) is turned off in settings.LOGGING.
        logger.warning(
            "request to %s rejected: %s",
            request.path,
            code,
            extra={"error_code": code, "status_code": 400, "path": request.path},
        )
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse({"code": code, "detail": detail}, status=400)
    else:
        html = loader.get_template("400.html").render({"detail": detail})
        response = HttpResponse(html, status=400)
    if code != "bad_request":
        # The warning above replaces the "Bad Request: <path>" line of django.request.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Return Django's 403 page and log one WARNING line with the user id, path and reason.

    Django's own log line for a PermissionDenied carries the full traceback, so it is replaced.
    """
    reason = str(exception or "") or "permission denied"
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None else None
    logger.warning(
        "permission denied for user %s on %s: %s",
        user_id,
        request.path,
        reason,
        extra={"status_code": 403, "path": request.path, "user_id": user_id, "reason": reason},
    )
    response = defaults.permission_denied(request, exception or PermissionDenied())
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """Return the 500 response, after django.request has logged the exception with its traceback."""
    if request.path.startswith(API_PREFIX):
        detail = gettext(
            "The server failed to handle the request. Try again in a moment; "
            "if it fails again, tell your administrator the time it happened."
        )
        return JsonResponse({"code": "server_error", "detail": detail}, status=500)
    return HttpResponse(loader.get_template("500.html").render({}), status=500)


def _limit_error(exception: Exception | None) -> tuple[str, str]:
    """Return the error code and the translated message for ``exception``."""
    if isinstance(exception, TooManyFilesSent):
        return "too_many_files", gettext(
            "The request contains more than %(limit)s files. Send at most %(limit)s files at a time."
        ) % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    if isinstance(exception, TooManyFieldsSent):
        return "too_many_fields", gettext(
            "The request contains more than %(limit)s form fields. Send at most %(limit)s fields at a time."
        ) % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    if isinstance(exception, RequestDataTooBig):
        return "request_too_large", gettext(
            "A form field or the request body is larger than the limit of %(limit)s. "
            "Send radiographs as file parts of a multipart/form-data request."
        ) % {"limit": format_bytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
    return "bad_request", gettext(
        "The server could not understand the request. Go back, check what you entered and try again."
    )
