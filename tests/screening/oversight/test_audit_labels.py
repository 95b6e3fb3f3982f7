"""The Details column of the audit trail shows translated labels and values, not stored keys."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from screening.models import AuditEvent
from screening.services.audit import record_event
from tests.screening.oversight.factories import make_study, make_user, signed_in

_DETAIL_TERM = re.compile(r"<dt>(.*?)</dt>")
_DETAIL_VALUE = re.compile(r"<dd>(.*?)</dd>")

RAW_KEYS = [
    "duplicate",
    "status",
    "filters",
    "page",
    "count",
    "created",
    "email",
    "first_name",
    "is_active",
    "is_staff",
    "operation",
    "groups",
    "roles",
    "actor",
    "failure_code",
    "view",
]
RAW_VALUES = [
    "queued",
    "added",
    "decision_trace",
    "statistics_csv_api",
    "none: changed outside a web request",
]


def _record_typical_events(admin_user: Any, api_client_for: Any) -> None:
    """Record events with the detail keys the product writes: the upload directly, the rest through its code."""
    study = make_study(uploaded_by=admin_user)
    record_event(
        AuditEvent.Action.UPLOAD,
        actor=admin_user,
        obj=study,
        details={"duplicate": False, "status": "queued", "failure_code": "not_lateral"},
    )
    # Created and put in a group outside a request, so the events name no acting user.
    user = make_user("new-clinician", email="new@example.org", first_name="Hanako")
    user.groups.add(Group.objects.get_or_create(name="clinician")[0])

    english = signed_in(admin_user)
    english.get(reverse("screening:study_list"), {"status": "queued"})
    english.get(reverse("oversight:trace", args=[study.pk]))
    api_client_for(admin_user).get("/api/statistics.csv")


def test_japanese_audit_details_have_no_raw_keys(admin_user: Any, api_client_for: Any) -> None:
    _record_typical_events(admin_user, api_client_for)

    response = signed_in(admin_user, language="ja").get(reverse("oversight:audit"))

    content = response.content.decode()
    terms = set(_DETAIL_TERM.findall(content))
    values = " | ".join(_DETAIL_VALUE.findall(content))
    for key in RAW_KEYS:
        assert key not in terms, f"raw key {key!r} in the Details column"
        assert f"{key}:" not in values, f"raw nested key {key!r} in the Details column"
    for value in RAW_VALUES:
        assert value not in values, f"raw value {value!r} in the Details column"
    assert "いいえ" in values
    assert "はい" in values


def test_english_audit_details_read_yes_and_no(admin_user: Any, api_client_for: Any) -> None:
    _record_typical_events(admin_user, api_client_for)

    content = signed_in(admin_user).get(reverse("oversight:audit")).content.decode()

    assert "<dt>Already uploaded</dt><dd>no</dd>" in content
    assert "<dt>Operation</dt><dd>added</dd>" in content
    assert "<dt>Export</dt><dd>statistics CSV through the API</dd>" in content


def test_role_names_are_translated(admin_user: Any, api_client_for: Any) -> None:
    _record_typical_events(admin_user, api_client_for)

    japanese = signed_in(admin_user, language="ja").get(reverse("oversight:audit")).content.decode()
    english = signed_in(admin_user).get(reverse("oversight:audit")).content.decode()

    assert "医師 (clinician)" in " | ".join(_DETAIL_VALUE.findall(japanese))
    assert "clinician (doctor)" in " | ".join(_DETAIL_VALUE.findall(english))


def test_stated_facing_is_translated(admin_user: Any) -> None:
    study = make_study(uploaded_by=admin_user)
    record_event(AuditEvent.Action.UPLOAD, actor=admin_user, obj=study, details={"stated_facing": "right"})

    content = signed_in(admin_user).get(reverse("oversight:audit")).content.decode()

    assert "<dd>Right</dd>" in content


def test_date_range_error_is_translated(admin_user: Any, api_client_for: Any) -> None:
    client: APIClient = api_client_for(admin_user)
    query = {"date_from": "2026-02-01", "date_to": "2026-01-01"}

    for url in ("/api/statistics/", "/api/studies/"):
        english = client.get(url, query, HTTP_ACCEPT_LANGUAGE="en")
        japanese = client.get(url, query, HTTP_ACCEPT_LANGUAGE="ja")

        assert english.status_code == 400, url
        assert english.json()["date_to"] == ["date_to must not be before date_from."]
        assert japanese.status_code == 400, url
        assert japanese.json()["date_to"] == ["date_to は date_from 以降の日付にしてください。"]
