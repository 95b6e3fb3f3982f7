"""Reviews and MRI outcomes are stored beside the model output, with history and audit events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from screening.models import AuditEvent, MRIOutcome, VertebraFinding, VertebraReview
from screening.services.review import (
    current_outcome,
    current_reviews,
    outcome_history,
    record_mri_outcome,
    record_review,
    review_history,
)
from tests.screening.oversight.factories import make_study, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return make_user("dr-review", "clinician")


@pytest.fixture
def study(reviewer):
    return make_study(uploaded_by=reviewer)


def fresh_finding(study) -> VertebraFinding:
    return study.current_run.findings.get(level="L3")


def test_review_never_changes_model_output(study, reviewer):
    finding = fresh_finding(study)
    before = VertebraFinding.objects.filter(pk=finding.pk).values().get()

    record_review(
        finding.pk, reviewer=reviewer, agrees=False, corrected_class="old", comment="Smooth margins"
    )

    after = VertebraFinding.objects.filter(pk=finding.pk).values().get()
    assert after == before
    assert after["predicted_class"] == "fresh"


def test_review_history_keeps_every_review(study, reviewer):
    finding = fresh_finding(study)

    first = record_review(finding.pk, reviewer=reviewer, agrees=True)
    second = record_review(finding.pk, reviewer=reviewer, agrees=False, corrected_class="normal")

    history = review_history(finding.pk)
    assert [review.pk for review in history] == [second.pk, first.pk]
    assert current_reviews([finding.pk])[finding.pk].pk == second.pk
    assert second.reviewed_class == "normal"
    assert first.reviewed_class == "fresh"


def test_review_writes_audit_event_without_comment(study, reviewer):
    finding = fresh_finding(study)

    review = record_review(
        finding.pk, reviewer=reviewer, agrees=False, corrected_class="old", comment="Yamada Taro"
    )

    event = AuditEvent.objects.get(action="review")
    assert event.actor_username == "dr-review"
    assert (event.object_type, event.object_id) == ("study", str(study.pk))
    assert event.details["review_id"] == review.pk
    assert event.details["model_class"] == "fresh"
    assert event.details["corrected_class"] == "old"
    assert "Yamada" not in str(event.details)


@pytest.mark.parametrize(
    ("agrees", "corrected_class", "code"),
    [
        (True, "old", "correction_with_agreement"),
        (False, None, "correction_missing"),
        (False, "broken", "correction_missing"),
        (False, "fresh", "correction_equals_model"),
    ],
)
def test_review_rejects_inconsistent_correction(study, reviewer, agrees, corrected_class, code):
    finding = fresh_finding(study)

    with pytest.raises(ValidationError) as excinfo:
        record_review(finding.pk, reviewer=reviewer, agrees=agrees, corrected_class=corrected_class)

    assert excinfo.value.code == code
    assert not VertebraReview.objects.exists()
    assert not AuditEvent.objects.filter(action="review").exists()


def test_outcome_history_keeps_every_outcome(study, reviewer):
    first = record_mri_outcome(study.pk, recorded_by=reviewer, mri_done=False)
    second = record_mri_outcome(
        study.pk,
        recorded_by=reviewer,
        mri_done=True,
        # A past date relative to the clock, because a date after today is rejected.
        mri_date=timezone.localdate() - dt.timedelta(days=30),
        fresh_levels=["l3", "L1", "L3"],
    )

    assert [outcome.pk for outcome in outcome_history(study.pk)] == [second.pk, first.pk]
    assert current_outcome(study.pk).pk == second.pk
    assert second.fresh_levels == ["L1", "L3"]
    assert second.fresh_fracture_found is True
    assert first.fresh_fracture_found is None


def test_outcome_writes_audit_event(study, reviewer):
    outcome = record_mri_outcome(study.pk, recorded_by=reviewer, mri_done=True, fresh_levels=[], notes="Taro")

    event = AuditEvent.objects.get(action="mri_outcome")
    assert event.details["outcome_id"] == outcome.pk
    assert event.details["fresh_levels"] == []
    assert event.details["notes_length"] == 4


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"mri_done": True, "fresh_levels": ["L6"]}, "unknown_level"),
        ({"mri_done": False, "fresh_levels": ["L2"]}, "outcome_without_mri"),
        ({"mri_done": False, "mri_date": dt.date(2026, 1, 1)}, "outcome_without_mri"),
        ({"mri_done": True, "mri_date": dt.date(2999, 1, 1)}, "mri_date_in_future"),
    ],
)
def test_outcome_rejects_invalid_values(study, reviewer, fields, code):
    with pytest.raises(ValidationError) as excinfo:
        record_mri_outcome(study.pk, recorded_by=reviewer, **fields)

    assert excinfo.value.code == code
    assert not MRIOutcome.objects.exists()
