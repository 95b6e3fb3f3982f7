"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditLogIsAppendOnly(Exception):
    """An audit event was about to be changed or deleted."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Queryset that rejects bulk changes, because audit events are never changed or deleted."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditLogIsAppendOnly("Audit events cannot be updated.")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise AuditLogIsAppendOnly("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One audited action: who did what to which object, when and from where.

    ``hash`` is the sha256 of a canonical JSON of the fields and ``previous_hash``,
    so a changed or deleted row breaks the chain. Write events only through
    ``screening.services.audit.record_event``, which computes the chain under a lock.
    """

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", _("Sign in")
        SIGN_OUT = "sign_out", _("Sign out")
        SIGN_IN_FAILED = "sign_in_failed", _("Failed sign-in")
        UPLOAD = "upload", _("Upload")
        STUDY_LIST_VIEW = "study_list_view", _("Study list viewed")
        REPORT_VIEW = "report_view", _("Report viewed")
        ORIGINAL_DOWNLOAD = "original_download", _("Original downloaded")
        OVERLAY_DOWNLOAD = "overlay_download", _("Overlay downloaded")
        CROP_DOWNLOAD = "crop_download", _("Crop downloaded")
        PDF_DOWNLOAD = "pdf_download", _("PDF downloaded")
        REVIEW = "review", _("Review")
        MRI_OUTCOME = "mri_outcome", _("MRI outcome recorded")
        EXPORT = "export", _("Export")
        USER_CHANGE = "user_change", _("User changed")
        ROLE_CHANGE = "role_change", _("Role changed")
        PASSWORD_CHANGE = "password_change", _("Password changed")
        BUNDLE_INSTALL = "bundle_install", _("Bundle installed")
        BUNDLE_ACTIVATE = "bundle_activate", _("Bundle activated")
        RERUN = "rerun", _("Re-run")
        SCREENING_DONE = "screening_done", _("Screening finished")
        SCREENING_FAILED = "screening_failed", _("Screening failed")
        STUDY_REQUEUED = "study_requeued", _("Study re-queued")
        API_ACCESS = "api_access", _("API access")
        STATISTICS_VIEW = "statistics_view", _("Statistics viewed")
        AUDIT_VIEW = "audit_view", _("Audit trail viewed")

    sequence = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept beside the foreign key so that the trail still names the actor after the user is deleted.
    actor_username = models.CharField(max_length=150, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        permissions = [("view_audit_trail", "Can read and verify the audit trail")]
        indexes = [
            models.Index(fields=["action", "created_at"], name="audit_action_created"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        raise AuditLogIsAppendOnly("Audit events cannot be deleted.")


class AuditChainHead(models.Model):
    """The single row that holds the last sequence and hash; locking it serialises audit writes."""

    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain head")
