"""Role checks of the oversight pages: sign-in first (redirect), then the role (403)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from screening import roles

View = Callable[..., HttpResponseBase]


def _role_required(check: Callable[[Any], bool], denied: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not check(request.user):
                raise PermissionDenied(denied)
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator


statistics_role_required = _role_required(roles.can_view_statistics, "manager or admin role required")
admin_role_required = _role_required(roles.can_administer, "admin role required")
