"""Clinician reviews of vertebra findings and recorded MRI outcomes, kept beside the model output."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

CLASS_CHOICES = [("normal", _("Normal")), ("old", _("Old fracture")), ("fresh", _("Fresh fracture"))]


class VertebraReview(models.Model):
    """A clinician's verdict on one finding: agrees with the model or gives the correct class.

    Reviews are only added, never edited, so the history stays; the newest
    review of a finding is the current one. The finding itself is never
    changed by a review.
    """

    finding = models.ForeignKey("screening.VertebraFinding", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    agrees = models.BooleanField(_("agrees with the model"))
    # Set exactly when ``agrees`` is false; the check constraint below enforces it.
    corrected_class = models.CharField(
        _("correct class"), max_length=16, choices=CLASS_CHOICES, null=True, blank=True
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("vertebra review")
        verbose_name_plural = _("vertebra reviews")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(agrees=True, corrected_class__isnull=True)
                    | models.Q(agrees=False, corrected_class__in=["normal", "old", "fresh"])
                ),
                name="review_correction_iff_disagrees",
            )
        ]

    def __str__(self) -> str:
        return f"Review {self.pk} of finding {self.finding_id}"

    @property
    def reviewed_class(self) -> str:
        """Return the class the reviewer judged correct: the model's when agreeing, else the correction."""
        if self.agrees:
            return self.finding.predicted_class
        return self.corrected_class or ""


class MRIOutcome(models.Model):
    """The MRI result of a study, recorded after the fact; the newest record is the current one."""

    study = models.ForeignKey("screening.Study", on_delete=models.CASCADE, related_name="mri_outcomes")
    mri_done = models.BooleanField(_("MRI done"))
    mri_date = models.DateField(_("MRI date"), null=True, blank=True)
    # Lumbar levels ("L1" ... "L5") with a fresh fracture on MRI; empty when MRI found none or was not done.
    fresh_levels = models.JSONField(_("levels with a fresh fracture"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("MRI outcome")
        verbose_name_plural = _("MRI outcomes")

    def __str__(self) -> str:
        return f"MRI outcome {self.pk} of study {self.study_id}"

    @property
    def fresh_fracture_found(self) -> bool | None:
        """Return whether MRI found a fresh fracture, or None when MRI was not done."""
        if not self.mri_done:
            return None
        return bool(self.fresh_levels)
