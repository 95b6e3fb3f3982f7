"""Middleware of OLVF screen."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from screening.roles import PASSWORD_CHANGE_REQUIRED

# Session key of the password hash seen when the user was first required to change it.
_INITIAL_HASH_KEY = "olvf_initial_password_hash"


class PasswordChangeRequiredMiddleware:
    """Send a user in the group password_change_required to the password change page until they change it.

    ``create_first_admin`` puts the first admin in that group, because its
    one-time password was printed to a terminal. The group membership ends when
    the password change form succeeds (``screening.views.account``), or when the
    user reaches the "password changed" page with a password hash that differs
    from the one this session started with.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        if not user.groups.filter(name=PASSWORD_CHANGE_REQUIRED).exists():
            return self.get_response(request)

        request.session.setdefault(_INITIAL_HASH_KEY, user.password)
        change_url = reverse("password_change")
        done_url = reverse("password_change_done")
        if request.path == done_url and user.password != request.session[_INITIAL_HASH_KEY]:
            user.groups.remove(*user.groups.filter(name=PASSWORD_CHANGE_REQUIRED))
            del request.session[_INITIAL_HASH_KEY]
            return self.get_response(request)
        if request.path in (change_url, done_url) or _is_exempt(request.path):
            return self.get_response(request)
        return HttpResponseRedirect(change_url)


def _is_exempt(path: str) -> bool:
    """Return True for paths that must work before the change: sign-out, language switch, static files, icon."""
    exempt_prefixes = (
        "/static/",
        "/favicon.ico",
        "/i18n/",
        "/accounts/logout/",
        "/admin/logout/",
        "/admin/jsi18n/",
    )
    return path.startswith(exempt_prefixes)
