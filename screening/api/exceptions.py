"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import translation
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from screening.errors import ScreeningError

logger = logging.getLogger(__name__)


class DomainAPIException(exceptions.APIException):
    """A ``ScreeningError`` rendered with its code and the message in the request's language."""

    def __init__(self, error: ScreeningError, language: str) -> None:
        self.status_code = error.http_status
        super().__init__(detail=error.message(language), code=error.code)


def to_api_exception(error: ScreeningError, language: str | None = None) -> exceptions.APIException:
    """Return the DRF exception for ``error``, with the message in ``language`` (default: the active one)."""
    return DomainAPIException(error, language or translation.get_language() or "ja")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map ``ScreeningError`` to its status and code, then let DRF handle the rest."""
    if isinstance(exc, ScreeningError):
        logger.info(
            "API request failed with %s", exc.code, extra={"error_code": exc.code, "detail": exc.detail}
        )
        api_error = to_api_exception(exc)
        return Response(
            {"code": exc.code, "detail": str(api_error.detail)},
            status=api_error.status_code,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if (
        isinstance(exc, exceptions.APIException)
        and isinstance(response.data, dict)
        and "code" not in response.data
    ):
        codes = exc.get_codes()
        response.data["code"] = codes if isinstance(codes, str) else "invalid"
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, dict):
        # The field errors stay as DRF writes them. "detail" adds them as one readable line, so that every
        # error under /api/ has "code" and "detail".
        errors = {key: value for key, value in response.data.items() if key != "code"}
        response.data.setdefault("detail", summarise_validation_errors(errors))
    if response.status_code == status.HTTP_401_UNAUTHORIZED and isinstance(exc, exceptions.NotAuthenticated):
        response.data["code"] = "not_authenticated"
    return response


def summarise_validation_errors(errors: Any, field: str = "") -> str:
    """Join the messages of a DRF validation error into one line, each prefixed with its field path.

    Messages are already in the request's language. Errors of the whole request
    (``non_field_errors``) and of a list item keep the path of their parent.
    """
    if isinstance(errors, dict):
        parts = [
            summarise_validation_errors(value, _join_field(field, str(key))) for key, value in errors.items()
        ]
    elif isinstance(errors, list):
        parts = [summarise_validation_errors(value, field) for value in errors]
    else:
        return f"{field}: {errors}" if field else str(errors)
    return " ".join(part for part in parts if part)


def _join_field(parent: str, key: str) -> str:
    if key == api_settings.NON_FIELD_ERRORS_KEY:
        return parent
    return f"{parent}.{key}" if parent else key
