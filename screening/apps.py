"""App configuration of the screening app."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    """Configuration of the ``screening`` app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "screening"
    verbose_name = _("Screening")
