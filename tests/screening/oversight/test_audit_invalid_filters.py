"""An invalid audit filter is left out alone on the page and stops the CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.test import Client
from django.urls import reverse

from screening.models import AuditEvent
from screening.services.audit import record_event


def _record_exports(clinician: Any, manager: Any) -> None:
    record_event(AuditEvent.Action.EXPORT, actor=clinician, details={"export": "statistics_csv"})
    record_event(AuditEvent.Action.EXPORT, actor=manager, details={"export": "statistics_csv"})


def test_audit_page_keeps_valid_filters(
    oversight_clients: dict[str, Client], clinician: Any, manager: Any
) -> None:
    _record_exports(clinician, manager)

    response = oversight_clients["admin"].get(
        reverse("oversight:audit"), {"action": "bogus", "actor": manager.username}
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "Some filters are invalid and were ignored" in content
    assert f"<td>{manager.username}</td>" in content
    assert f"<td>{clinician.username}</td>" not in content


def test_audit_page_drops_reversed_date_range(oversight_clients: dict[str, Client], manager: Any) -> None:
    record_event(AuditEvent.Action.EXPORT, actor=manager, details={"export": "statistics_csv"})

    response = oversight_clients["admin"].get(
        reverse("oversight:audit"),
        {"date_from": "2026-12-05", "date_to": "2026-12-01", "actor": manager.username},
    )

    content = response.content.decode()
    assert "The start date is after the end date." in content
    assert f"<td>{manager.username}</td>" in content


def test_audit_csv_rejects_invalid_filter(oversight_clients: dict[str, Client], manager: Any) -> None:
    record_event(AuditEvent.Action.EXPORT, actor=manager, details={"export": "statistics_csv"})
    exports_before = AuditEvent.objects.filter(details__export="audit_csv").count()

    response = oversight_clients["admin"].get(
        reverse("oversight:audit_csv"), {"action": "bogus", "actor": manager.username}
    )

    assert response.status_code == 400
    assert "The CSV was not exported because some filters are invalid" in response.content.decode()
    assert AuditEvent.objects.filter(details__export="audit_csv").count() == exports_before


def test_audit_csv_applies_valid_filters(
    oversight_clients: dict[str, Client], clinician: Any, manager: Any
) -> None:
    _record_exports(clinician, manager)

    response = oversight_clients["admin"].get(
        reverse("oversight:audit_csv"), {"action": "export", "actor": manager.username}
    )

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    actors = {row[rows[0].index("actor_username")] for row in rows[1:]}
    assert response.status_code == 200
    assert actors == {manager.username}
