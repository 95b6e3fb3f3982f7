"""Writing the append-only, hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from screening.models import AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)

# previous_hash of the first event in the chain.
GENESIS_HASH = "0" * 64

# Keys that would put patient identity into the trail; record_event rejects them.
FORBIDDEN_DETAIL_KEYS = frozenset({"patient_name", "patient_birth_date", "birth_date"})


def canonical_event_payload(
    *,
    sequence: int,
    created_at: datetime,
    actor_id: int | None,
    actor_username: str,
    address: str | None,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
    previous_hash: str,
) -> bytes:
    """Return the canonical JSON (sorted keys, no spaces, UTF-8) that an event's hash covers."""
    payload = {
        "sequence": sequence,
        "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_username": actor_username,
        "address": address,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
        "previous_hash": previous_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_event_hash(event: AuditEvent) -> str:
    """Return the sha256 that ``event`` should carry, recomputed from its stored fields."""
    payload = canonical_event_payload(
        sequence=event.sequence,
        created_at=event.created_at,
        actor_id=event.actor_id,
        actor_username=event.actor_username,
        address=event.address,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=event.details,
        previous_hash=event.previous_hash,
    )
    return hashlib.sha256(payload).hexdigest()


def client_address(request: HttpRequest | None) -> str | None:
    """Return the client IP address of ``request`` (REMOTE_ADDR; proxies must set it correctly)."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or None
    return address


def record_event(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    obj: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit trail and return it.

    ``actor`` defaults to the signed-in user of ``request``. ``details`` must be
    JSON-serialisable and must not contain patient names or birth dates. The
    chain head row is locked for the length of the transaction, so concurrent
    writers get consecutive sequence numbers and each event hashes its predecessor.
    """
    if action not in AuditEvent.Action.values:
        raise ValueError(f"Unknown audit action {action!r}: add it to AuditEvent.Action first.")
    clean_details = _normalise_details(details or {})

    if actor is None and request is not None and getattr(request.user, "is_authenticated", False):
        actor = request.user
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    actor_username = actor.get_username() if actor_id is not None else ""
    object_type = (obj._meta.model_name or "") if obj is not None else ""
    object_id = str(obj.pk) if obj is not None and obj.pk is not None else ""
    address = client_address(request)

    with transaction.atomic():
        head = _lock_chain_head()
        sequence = head.last_sequence + 1
        created_at = timezone.now()
        previous_hash = head.last_hash
        event_hash = hashlib.sha256(
            canonical_event_payload(
                sequence=sequence,
                created_at=created_at,
                actor_id=actor_id,
                actor_username=actor_username,
                address=address,
                action=action,
                object_type=object_type,
                object_id=object_id,
                details=clean_details,
                previous_hash=previous_hash,
            )
        ).hexdigest()
        event = AuditEvent.objects.create(
            sequence=sequence,
            created_at=created_at,
            actor_id=actor_id,
            actor_username=actor_username,
            address=address,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=clean_details,
            previous_hash=previous_hash,
            hash=event_hash,
        )
        AuditChainHead.objects.filter(pk=head.pk).update(last_sequence=sequence, last_hash=event_hash)

    logger.debug(
        "audit event %s recorded",
        action,
        extra={"audit_sequence": sequence, "object_type": object_type, "object_id": object_id},
    )
    return event


def _lock_chain_head() -> AuditChainHead:
    # The head row is created by a data migration; the fallback covers a database emptied by a test flush.
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_sequence": 0, "last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _normalise_details(details: dict[str, Any]) -> dict[str, Any]:
    forbidden = FORBIDDEN_DETAIL_KEYS.intersection(details)
    if forbidden:
        raise ValueError(f"Audit details must not contain patient identity: remove {sorted(forbidden)}.")
    # A JSON round trip makes the hashed form equal to what the JSONField returns after reading.
    return json.loads(json.dumps(details, default=str))
