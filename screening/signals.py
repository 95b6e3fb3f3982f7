"""Audit events for sign-in, sign-out, failed sign-in, and changes to users and their roles.

Model signals carry no request. ``AuditRequestMiddleware`` therefore keeps the
current request in a context variable, and the user and group handlers read the
actor and address from it. Outside a request (a shell, a management command), or
when the middleware is not installed, those events have no actor, and their
details state this.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from screening.models import AuditEvent
from screening.roles import ADMIN, ROLES, clear_role_cache
from screening.services.audit import record_event

logger = logging.getLogger(__name__)

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "olvf_audit_request", default=None
)

# User fields whose change is audited. A password change is audited as an event, never by value.
_TRACKED_USER_FIELDS = (
    "username",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
)


class AuditRequestMiddleware:
    """Keep the current request available to the audit signal handlers for the length of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def current_request() -> HttpRequest | None:
    """Return the request being handled by this thread or task, or None outside a request."""
    return _current_request.get()


# ---------------------------------------------------------------------------
# Sign-in and sign-out


@receiver(user_logged_in, dispatch_uid="olvf_audit_sign_in")
def audit_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record_event(AuditEvent.Action.SIGN_IN, actor=user, request=request, obj=user)


@receiver(user_logged_out, dispatch_uid="olvf_audit_sign_out")
def audit_sign_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # ``user`` is None when the session had already expired; the event then has no actor.
    record_event(
        AuditEvent.Action.SIGN_OUT, actor=user, request=request, obj=user if user is not None else None
    )


@receiver(user_login_failed, dispatch_uid="olvf_audit_sign_in_failed")
def audit_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the attempted user name is kept: Django masks the password, and the trail must not hold it anyway.
    username = str(credentials.get(get_user_model().USERNAME_FIELD, ""))[:150]
    record_event(AuditEvent.Action.SIGN_IN_FAILED, request=request, details={"username": username})


# ---------------------------------------------------------------------------
# Users


@receiver(pre_save, sender=get_user_model(), dispatch_uid="olvf_audit_user_before")
def remember_user_before_change(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    if raw or instance.pk is None or _only_last_login(update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values(*_TRACKED_USER_FIELDS, "password").first()
    instance._olvf_audit_before = stored


@receiver(post_save, sender=get_user_model(), dispatch_uid="olvf_audit_user_after")
def audit_user_change(
    sender: Any, instance: Any, created: bool, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    if raw:
        return
    if _only_last_login(update_fields):
        return
    request = current_request()
    if created:
        details = {field: getattr(instance, field) for field in _TRACKED_USER_FIELDS}
        _record_user_event(AuditEvent.Action.USER_CHANGE, instance, request, {"created": True, **details})
        return

    before = getattr(instance, "_olvf_audit_before", None) or {}
    changes = {
        field: {"from": before.get(field), "to": getattr(instance, field)}
        for field in _TRACKED_USER_FIELDS
        if field in before and before.get(field) != getattr(instance, field)
    }
    password_changed = "password" in before and before["password"] != instance.password
    instance._olvf_audit_before = None
    if changes:
        _record_user_event(AuditEvent.Action.USER_CHANGE, instance, request, {"changes": changes})
    if password_changed:
        _record_user_event(AuditEvent.Action.PASSWORD_CHANGE, instance, request, {})


def _only_last_login(update_fields: Any) -> bool:
    # Django saves only last_login on every sign-in, which has its own event.
    return update_fields is not None and set(update_fields) <= {"last_login"}


def _record_user_event(action: str, user: Any, request: HttpRequest | None, details: dict[str, Any]) -> None:
    if request is None:
        details = {**details, "actor": "none: changed outside a web request"}
    record_event(action, request=request, obj=user, details={"username": user.get_username(), **details})


# ---------------------------------------------------------------------------
# Roles (group membership)


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="olvf_audit_roles")
def audit_role_change(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    request = current_request()
    if reverse:
        # ``instance`` is a group; ``pk_set`` contains user ids, except for a clear, which has none.
        groups = [instance]
        if action == "pre_clear":
            users = list(instance.user_set.all())
        else:
            users = list(get_user_model().objects.filter(pk__in=pk_set or ()))
    else:
        users = [instance]
        if action == "pre_clear":
            groups = list(instance.groups.all())
        else:
            groups = list(Group.objects.filter(pk__in=pk_set or ()))
    operation = {"post_add": "added", "post_remove": "removed", "pre_clear": "removed"}[action]
    for user in users:
        clear_role_cache(user)
        names = sorted(group.name for group in groups)
        if not names:
            continue
        details = {"operation": operation, "groups": names, "roles": [n for n in names if n in ROLES]}
        _record_user_event(AuditEvent.Action.ROLE_CHANGE, user, request, details)
        if ADMIN in names:
            _sync_staff_status(user, admin=operation == "added")


def _sync_staff_status(user: Any, *, admin: bool) -> None:
    """Grant ``is_staff`` to a new admin and take it from a former one, so /admin/ follows the role.

    Django lets only staff users sign in to /admin/, where admins manage users. A
    superuser keeps its staff status, because it is an admin without the group.
    """
    staff = admin or user.is_superuser
    if user.is_staff == staff:
        return
    user.is_staff = staff
    # save() rather than update(), so that the user change handler audits the new staff status.
    user.save(update_fields=["is_staff"])
