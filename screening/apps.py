"""App configuration of the screening app."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    """Configuration of the ``screening`` app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "screening"
    verbose_name = _("Screening")

    def ready(self) -> None:
        # Connects the audit handlers for sign-in, sign-out and user and role changes.
        from screening import signals  # noqa: F401
