"""Record clinician reviews of findings and MRI outcomes of studies, each with an audit event.

Both are stored as new rows beside the model output: a review never changes
the ``VertebraFinding`` it judges, and a new review or outcome never replaces
an older one, so the history stays. The newest row is the current one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from inference.result import CLASSES, LUMBAR_LEVELS
from screening.date_checks import check_mri_date
from screening.models import AuditEvent, MRIOutcome, Study, VertebraFinding, VertebraReview
from screening.services.audit import record_event

logger = logging.getLogger(__name__)


def record_review(
    finding_id: int,
    *,
    reviewer: Any,
    agrees: bool,
    corrected_class: str | None = None,
    comment: str = "",
    request: HttpRequest | None = None,
) -> VertebraReview:
    """Store a clinician's review of one finding and audit it; raise ValidationError when invalid.

    ``corrected_class`` is required when the reviewer disagrees and must then
    differ from the model's class; it must be empty when the reviewer agrees.
    """
    with transaction.atomic():
        finding = VertebraFinding.objects.select_related("run").get(pk=finding_id)
        _validate_review(finding, agrees=agrees, corrected_class=corrected_class)
        review = VertebraReview.objects.create(
            finding=finding,
            reviewer=reviewer,
            agrees=agrees,
            corrected_class=None if agrees else corrected_class,
            comment=comment.strip(),
        )
        # The comment is free text that may name the patient, so the trail stores only its length.
        record_event(
            AuditEvent.Action.REVIEW,
            actor=reviewer,
            request=request,
            obj=finding.run.study,
            details={
                "review_id": review.pk,
                "finding_id": finding.pk,
                "run_id": finding.run_id,
                "level": finding.level,
                "model_class": finding.predicted_class,
                "agrees": agrees,
                "corrected_class": review.corrected_class,
                "comment_length": len(review.comment),
            },
        )
    logger.info(
        "Review %s stored for finding %s",
        review.pk,
        finding.pk,
        extra={"study_id": finding.run.study_id, "run_id": finding.run_id, "vertebra": finding.level},
    )
    return review


def _validate_review(finding: VertebraFinding, *, agrees: bool, corrected_class: str | None) -> None:
    if agrees and corrected_class:
        raise ValidationError(
            _("Leave the correct class empty when you agree with the model."),
            code="correction_with_agreement",
        )
    if agrees:
        return
    if corrected_class not in CLASSES:
        raise ValidationError(
            _("Choose the correct class (normal, old or fresh) when you disagree with the model."),
            code="correction_missing",
        )
    if corrected_class == finding.predicted_class:
        raise ValidationError(
            _("The correct class you chose is the model's class; choose 'agree' instead."),
            code="correction_equals_model",
        )


def record_mri_outcome(
    study_id: int,
    *,
    recorded_by: Any,
    mri_done: bool,
    mri_date: dt.date | None = None,
    fresh_levels: Iterable[str] = (),
    notes: str = "",
    request: HttpRequest | None = None,
) -> MRIOutcome:
    """Store the MRI outcome of a study and audit it; raise ValidationError when invalid."""
    levels = _normalise_levels(fresh_levels)
    study = Study.objects.get(pk=study_id)
    _validate_outcome(mri_done=mri_done, mri_date=mri_date, levels=levels, study_date=study.study_date)
    with transaction.atomic():
        outcome = MRIOutcome.objects.create(
            study=study,
            mri_done=mri_done,
            mri_date=mri_date,
            fresh_levels=levels,
            notes=notes.strip(),
            recorded_by=recorded_by,
        )
        record_event(
            AuditEvent.Action.MRI_OUTCOME,
            actor=recorded_by,
            request=request,
            obj=study,
            details={
                "outcome_id": outcome.pk,
                "mri_done": mri_done,
                "mri_date": mri_date.isoformat() if mri_date else None,
                "fresh_levels": levels,
                "notes_length": len(outcome.notes),
            },
        )
    logger.info("MRI outcome %s stored", outcome.pk, extra={"study_id": study.pk})
    return outcome


def _normalise_levels(levels: Iterable[str]) -> list[str]:
    chosen = {str(level).strip().upper() for level in levels if str(level).strip()}
    unknown = sorted(chosen - set(LUMBAR_LEVELS))
    if unknown:
        raise ValidationError(
            _("Unknown lumbar level: %(levels)s. Use L1 to L5.") % {"levels": ", ".join(unknown)},
            code="unknown_level",
        )
    return [level for level in LUMBAR_LEVELS if level in chosen]


def _validate_outcome(
    *, mri_done: bool, mri_date: dt.date | None, levels: Sequence[str], study_date: dt.date | None
) -> None:
    if not mri_done and (mri_date is not None or levels):
        raise ValidationError(
            _("An MRI that was not done has no date and no levels; clear them or mark the MRI as done."),
            code="outcome_without_mri",
        )
    check_mri_date(mri_date, study_date)


def current_reviews(finding_ids: Iterable[int]) -> dict[int, VertebraReview]:
    """Return the newest review of each given finding that has one, keyed by finding id."""
    newest: dict[int, VertebraReview] = {}
    reviews = (
        VertebraReview.objects.filter(finding_id__in=list(finding_ids))
        .select_related("reviewer", "finding")
        .order_by("finding_id", "-created_at", "-id")
    )
    for review in reviews:
        newest.setdefault(review.finding_id, review)
    return newest


def review_history(finding_id: int) -> list[VertebraReview]:
    """Return every review of a finding, newest first."""
    return list(VertebraReview.objects.filter(finding_id=finding_id).select_related("reviewer"))


def outcome_history(study_id: int) -> list[MRIOutcome]:
    """Return every recorded MRI outcome of a study, newest first."""
    return list(MRIOutcome.objects.filter(study_id=study_id).select_related("recorded_by"))


def current_outcome(study_id: int) -> MRIOutcome | None:
    """Return the newest MRI outcome of a study, or None when none is recorded."""
    return MRIOutcome.objects.filter(study_id=study_id).first()
