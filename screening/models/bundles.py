"""Installed model bundles and which one is active."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelBundle(models.Model):
    """A verified model bundle on disk; new studies are screened with the one active bundle."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    path = models.CharField(max_length=500)
    manifest = models.JSONField(default=dict)
    manifest_sha256 = models.CharField(max_length=64)
    is_demo = models.BooleanField(default=False)
    is_active = models.BooleanField(default=False)
    installed_at = models.DateTimeField(auto_now_add=True)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-installed_at", "-id"]
        verbose_name = _("model bundle")
        verbose_name_plural = _("model bundles")
        permissions = [("manage_bundles", "Can install and activate model bundles")]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="bundle_only_one_active"
            ),
            models.UniqueConstraint(
                fields=["name", "version", "manifest_sha256"], name="bundle_unique_identity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"
