"""Admin site registrations."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from screening import roles
from screening.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only view of the audit trail: no add, change or delete, and no bulk actions.

    The model itself also rejects updates and deletes, so this only keeps the
    admin from offering them.
    """

    list_display = ("sequence", "created_at", "actor_username", "address", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_id", "address")
    ordering = ("-sequence",)
    actions = None
    list_select_related = ("actor",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_administer(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
