"""Admin site registrations."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from screening import roles
from screening.models import AnalysisRun, AuditEvent, ModelBundle, Study


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only view of the audit trail: no add, change or delete, and no bulk actions.

    The model itself also rejects updates and deletes, so this only keeps the
    admin from offering them.
    """

    list_display = (
        "sequence",
        "created_at",
        "actor_username",
        "address",
        "action",
        "object_type",
        "object_id",
    )
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and shows rows to admins but never adds, changes or deletes them: changes go through the services."""

    actions = None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_administer(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Study)
class StudyAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "patient_id",
        "accession_number",
        "status",
        "mri_recommended",
        "not_assessable",
        "created_at",
    )
    list_filter = ("status", "mri_recommended", "not_assessable")
    search_fields = ("patient_id", "accession_number")


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "study_id",
        "bundle_name",
        "bundle_version",
        "status",
        "result_status",
        "worker",
        "finished_at",
    )
    list_filter = ("status", "result_status", "is_demo")


@admin.register(ModelBundle)
class ModelBundleAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "version", "is_demo", "is_active", "installed_at")
