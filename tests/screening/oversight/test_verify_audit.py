"""verify_audit finds changed, deleted and reordered events, and passes an intact chain.

Tampering goes through raw SQL, as it would for someone with database access,
because the ORM and the admin site reject changes to audit events.
"""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from screening.models import AuditEvent
from screening.services.audit import canonical_event_payload, record_event

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def five_events() -> list[AuditEvent]:
    return [record_event(AuditEvent.Action.EXPORT, details={"n": n}) for n in range(1, 6)]


def run_verify() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_audit", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_verify_expecting_failure() -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", stdout=io.StringIO(), stderr=err)
    assert excinfo.value.returncode == 1
    return err.getvalue()


def execute(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_verify_passes_intact_chain(five_events):
    out, err = run_verify()

    assert "intact: 5 event(s)" in out
    assert err == ""


def test_verify_passes_empty_trail():
    out, _ = run_verify()

    assert "intact: 0 event(s)" in out


def test_verify_names_changed_event(five_events):
    execute(f"UPDATE {TABLE} SET details = %s WHERE sequence = 3", [json.dumps({"n": 99})])

    err = run_verify_expecting_failure()

    assert "event 3: changed" in err
    assert "event 4" not in err


def test_verify_names_changed_actor(five_events):
    execute(f"UPDATE {TABLE} SET actor_username = %s WHERE sequence = 2", ["someone-else"])

    err = run_verify_expecting_failure()

    assert "event 2: changed" in err


def test_verify_names_deleted_event(five_events):
    execute(f"DELETE FROM {TABLE} WHERE sequence = 3", [])

    err = run_verify_expecting_failure()

    assert "event 4: deleted" in err
    assert "Events 3 before event 4 are missing" in err


def test_verify_names_deleted_last_event(five_events):
    execute(f"DELETE FROM {TABLE} WHERE sequence = 5", [])

    err = run_verify_expecting_failure()

    assert "event 5: deleted" in err
    assert "at the end of the trail" in err


def test_verify_names_reordered_events(five_events):
    # Swap the sequence numbers of events 2 and 3 through a free number, because sequence is unique.
    execute(f"UPDATE {TABLE} SET sequence = 1000 WHERE sequence = 2", [])
    execute(f"UPDATE {TABLE} SET sequence = 2 WHERE sequence = 3", [])
    execute(f"UPDATE {TABLE} SET sequence = 3 WHERE sequence = 1000", [])

    err = run_verify_expecting_failure()

    assert "event 2: reordered: Event 2 was recorded as event 3" in err
    assert "event 3: reordered: Event 3 was recorded as event 2" in err
    assert ": changed:" not in err


def test_verify_names_rehashed_replacement(five_events):
    # Someone changes event 3 and recomputes its own hash, but cannot fix the link from event 4.
    event = AuditEvent.objects.get(sequence=3)
    payload = canonical_event_payload(
        sequence=3,
        created_at=event.created_at,
        actor_id=event.actor_id,
        actor_username=event.actor_username,
        address=event.address,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details={"n": 99},
        previous_hash=event.previous_hash,
    )
    new_hash = hashlib.sha256(payload).hexdigest()
    execute(
        f"UPDATE {TABLE} SET details = %s, hash = %s WHERE sequence = 3", [json.dumps({"n": 99}), new_hash]
    )

    err = run_verify_expecting_failure()

    assert "event 4: deleted" in err
    assert "event 3 was replaced with a rehashed copy" in err


def test_verify_names_event_inserted_around_service(five_events):
    last = AuditEvent.objects.get(sequence=5)
    execute(
        f"INSERT INTO {TABLE} (sequence, created_at, actor_username, action, object_type, object_id, details,"
        " previous_hash, hash) VALUES (6, %s, '', 'export', '', '', '{}', %s, %s)",
        [last.created_at, last.hash, "f" * 64],
    )

    err = run_verify_expecting_failure()

    assert "event 6: changed" in err
