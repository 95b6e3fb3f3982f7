"""DRF permission classes built on the role checks in ``screening.roles``."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from screening import roles


class IsClinicianOrAdmin(BasePermission):
    """Allow clinicians and admins: upload, studies, reports, originals and overlays."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_screen(request.user)


class IsManagerOrAdmin(BasePermission):
    """Allow managers and admins: aggregate statistics only."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_view_statistics(request.user)


class IsAdmin(BasePermission):
    """Allow admins and superusers: audit trail, bundles and users."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_administer(request.user)
