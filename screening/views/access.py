"""Access checks shared by the page views: sign-in first, then the role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from screening import roles

View = Callable[..., HttpResponseBase]


def screening_role_required(view: View) -> View:
    """Redirect anonymous users to sign-in and refuse users who are neither clinician nor admin (403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not roles.can_screen(request.user):
            raise PermissionDenied("clinician or admin role required")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def wants_json(request: HttpRequest) -> bool:
    """Return True when the request comes from the page's JavaScript and expects JSON."""
    return request.headers.get(
        "x-requested-with"
    ) == "XMLHttpRequest" or "application/json" in request.headers.get("accept", "")
