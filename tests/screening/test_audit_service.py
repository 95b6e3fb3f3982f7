"""The audit trail is append-only and every event hashes its predecessor."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from screening.models import AuditEvent, AuditLogIsAppendOnly
from screening.services.audit import GENESIS_HASH, compute_event_hash, record_event


def test_events_form_a_hash_chain(db: Any, clinician: Any) -> None:
    first = record_event(AuditEvent.Action.UPLOAD, actor=clinician, details={"duplicate": False})
    second = record_event(AuditEvent.Action.REPORT_VIEW, actor=clinician)

    oldest = AuditEvent.objects.order_by("sequence").first()
    assert oldest is not None
    assert oldest.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.hash
    assert second.sequence == first.sequence + 1


def test_stored_hash_matches_recomputed_hash(db: Any, clinician: Any) -> None:
    record_event(AuditEvent.Action.UPLOAD, actor=clinician, details={"size": 12, "ratio": 0.5, "tags": ["a"]})

    stored = AuditEvent.objects.order_by("-sequence").first()

    assert compute_event_hash(stored) == stored.hash


def test_request_supplies_actor_and_address(db: Any, clinician: Any) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    request.user = clinician

    event = record_event(AuditEvent.Action.STUDY_LIST_VIEW, request=request)

    assert event.actor_id == clinician.pk
    assert event.actor_username == "clinician"
    assert event.address == "192.0.2.7"


def test_event_cannot_be_updated(db: Any) -> None:
    event = record_event(AuditEvent.Action.UPLOAD)
    event.action = AuditEvent.Action.EXPORT

    with pytest.raises(AuditLogIsAppendOnly):
        event.save()


def test_event_cannot_be_deleted(db: Any) -> None:
    event = record_event(AuditEvent.Action.UPLOAD)

    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()


def test_queryset_update_and_delete_raise(db: Any) -> None:
    record_event(AuditEvent.Action.UPLOAD)
    count = AuditEvent.objects.count()

    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().update(action=AuditEvent.Action.EXPORT)
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == count


def test_patient_identity_in_details_is_rejected(db: Any) -> None:
    with pytest.raises(ValueError, match="patient identity"):
        record_event(AuditEvent.Action.UPLOAD, details={"patient_name": "Yamada Taro"})
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPLOAD).exists()


def test_unknown_action_is_rejected(db: Any) -> None:
    with pytest.raises(ValueError, match="Unknown audit action"):
        record_event("teleport")
