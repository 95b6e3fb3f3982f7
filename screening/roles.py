"""Roles of OLVF screen, which are Django groups, and the checks that pages and the API share.

A superuser counts as an admin. An admin may do everything a clinician or a
manager may do.
"""

from __future__ import annotations

from typing import Any

CLINICIAN = "clinician"
MANAGER = "manager"
ADMIN = "admin"
ROLES: tuple[str, ...] = (CLINICIAN, MANAGER, ADMIN)
# Not a role: members are sent to the password change page until they change their password.
PASSWORD_CHANGE_REQUIRED = "password_change_required"

# Cache attribute on the user object, so that one request queries the groups once.
_CACHE_ATTRIBUTE = "_olvf_role_names"


def role_names(user: Any) -> frozenset[str]:
    """Return the role names of ``user`` (empty for an anonymous or inactive user)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        names.add(ADMIN)
    result = frozenset(names)
    setattr(user, _CACHE_ATTRIBUTE, result)
    return result


def clear_role_cache(user: Any) -> None:
    """Forget the cached role names of ``user`` after its groups changed."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def is_clinician(user: Any) -> bool:
    """Return True when ``user`` is in the clinician group."""
    return CLINICIAN in role_names(user)


def is_manager(user: Any) -> bool:
    """Return True when ``user`` is in the manager group."""
    return MANAGER in role_names(user)


def is_admin(user: Any) -> bool:
    """Return True when ``user`` is in the admin group or is a superuser."""
    return ADMIN in role_names(user)


def can_screen(user: Any) -> bool:
    """Return True when ``user`` may upload, list studies, read reports and download originals."""
    roles = role_names(user)
    return CLINICIAN in roles or ADMIN in roles


def can_view_statistics(user: Any) -> bool:
    """Return True when ``user`` may read aggregate statistics."""
    roles = role_names(user)
    return MANAGER in roles or ADMIN in roles


def can_administer(user: Any) -> bool:
    """Return True when ``user`` may read the audit trail and manage bundles and users."""
    return is_admin(user)
