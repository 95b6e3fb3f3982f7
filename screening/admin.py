"""Admin site registrations."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

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


def require_password_change(user: Any) -> None:
    """Put ``user`` in the password_change_required group, so the next sign-in requires a new password.

    PasswordChangeRequiredMiddleware enforces the group and removes the user from
    it once they have chosen a new password. Adding the group is audited as a
    role change.
    """
    must_change, _ = Group.objects.get_or_create(name=roles.PASSWORD_CHANGE_REQUIRED)
    user.groups.add(must_change)


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class OlvfUserAdmin(UserAdmin):
    """Django's user admin, except that a password an admin chose must be replaced at the next sign-in.

    The admin who types a password for someone else has seen it, so a new user
    and a user whose password an admin reset must choose their own. An admin who
    resets their own password through this page is not asked again.
    """

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user = form.instance
        if not change and user.has_usable_password():
            require_password_change(user)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # get_object() returns None for an unknown or malformed id, and the parent view then raises Http404.
        password_before = getattr(self.get_object(request, unquote(id)), "password", None)
        response = super().user_change_password(request, id, form_url)
        if request.method != "POST":
            return response
        user = self.get_object(request, unquote(id))
        reset_by_admin = (
            user is not None
            and user.password != password_before
            and user.has_usable_password()
            and user.pk != request.user.pk
        )
        if reset_by_admin:
            require_password_change(user)
        return response
