"""Audit filters, CSV export and the decision trace of a study."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from screening.models import AuditEvent
from screening.services.audit import record_event
from screening.services.audit_queries import (
    AUDIT_CSV_HEADER,
    AuditFilters,
    decision_trace,
    events_to_csv,
    filter_events,
    spreadsheet_safe,
)
from screening.services.review import record_mri_outcome, record_review
from tests.screening.oversight.factories import make_bundle, make_run, make_study, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor():
    return make_user("auditor", "admin")


def test_filter_events_by_action_actor_and_object(auditor):
    study = make_study()
    record_event(AuditEvent.Action.REPORT_VIEW, actor=auditor, obj=study)
    record_event(AuditEvent.Action.EXPORT, actor=auditor)
    record_event(AuditEvent.Action.REPORT_VIEW)

    by_action = filter_events(AuditFilters(action="report_view"))
    by_actor = filter_events(AuditFilters(actor="AUDITOR"))
    by_object = filter_events(AuditFilters(object_type="study", object_id=str(study.pk)))

    assert by_action.count() == 2
    assert by_actor.count() == 2
    assert [e.action for e in by_object] == ["report_view"]


def test_filter_events_by_local_date_range():
    record_event(AuditEvent.Action.EXPORT)
    today = timezone.localdate()

    assert filter_events(AuditFilters(date_from=today - dt.timedelta(days=1))).count() == 1
    assert filter_events(AuditFilters(date_to=today - dt.timedelta(days=2))).count() == 0


def test_filter_events_date_boundary_is_local(monkeypatch, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    # 15:30 UTC on 1 December is 00:30 on 2 December in Tokyo.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC))
    record_event(AuditEvent.Action.EXPORT)

    assert filter_events(AuditFilters(date_from=dt.date(2026, 12, 2))).count() == 1
    assert filter_events(AuditFilters(date_to=dt.date(2026, 12, 2))).count() == 1
    assert filter_events(AuditFilters(date_to=dt.date(2026, 12, 1))).count() == 0
    assert filter_events(AuditFilters(date_from=dt.date(2026, 12, 3))).count() == 0


def test_events_csv_has_header_and_one_row_per_event(auditor):
    record_event(AuditEvent.Action.EXPORT, actor=auditor, details={"format": "=HYPERLINK()"})
    record_event(AuditEvent.Action.SIGN_IN, actor=auditor)

    text = "".join(events_to_csv(filter_events(AuditFilters(actor="auditor"))))
    rows = list(csv.reader(io.StringIO(text)))

    assert tuple(rows[0]) == AUDIT_CSV_HEADER
    assert [row[4] for row in rows[1:]] == ["sign_in", "export"]
    assert rows[2][7] == '{"format": "=HYPERLINK()"}'


def test_spreadsheet_safe_quotes_formula_cells():
    assert spreadsheet_safe("=SUM(A1)") == "'=SUM(A1)"
    assert spreadsheet_safe("@cmd") == "'@cmd"
    assert spreadsheet_safe("plain") == "plain"
    assert spreadsheet_safe(-3) == -3


def test_decision_trace_lists_every_run_and_model_output(auditor):
    study = make_study()
    second = make_bundle(version="2026.12.05", demo=False)
    make_run(study, second, classes=("normal",), result_status="no_fresh_fracture_found")
    finding = study.runs.get(bundle_version="2026.12.04").findings.get(level="L3")
    record_review(finding.pk, reviewer=auditor, agrees=False, corrected_class="old")
    record_mri_outcome(study.pk, recorded_by=auditor, mri_done=True, fresh_levels=["L3"])

    trace = decision_trace(study.pk)
    data = trace.to_dict()

    assert [run["bundle"]["version"] for run in data["runs"]] == ["2026.12.05", "2026.12.04"]
    assert [run["is_current"] for run in data["runs"]] == [True, False]
    old_run = data["runs"][1]
    assert old_run["bundle"]["file_sha256"]["resnet50.pt"] == "a" * 64
    assert old_run["bundle"]["demo"] is True
    assert data["runs"][0]["bundle"]["manifest_sha256"] == second.manifest_sha256
    assert old_run["thresholds"]["fresh"] == 0.3
    assert old_run["worker"] == "test-host:4242"
    assert old_run["timings_ms"]["classify"] == 340.0
    l3 = old_run["findings"][2]
    assert set(l3["model_probabilities"]) == {"resnet50", "densenet161", "resnext50_32x4d"}
    assert l3["reviews"][0]["corrected_class"] == "old"
    assert data["radiograph"]["provenance"]["decoder"] == "pydicom-native"
    assert data["mri_outcomes"][0]["fresh_levels"] == ["L3"]
    assert [event["action"] for event in data["audit_events"]] == ["review", "mri_outcome"]


def test_decision_trace_omits_patient_identity():
    study = make_study(patient_name="Tanaka Ichiro")

    data = decision_trace(study.pk).to_dict()

    assert "Tanaka" not in str(data)
    assert data["radiograph"]["header"]["modality"] == "DX"


def test_events_csv_time_is_local_with_offset(auditor, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    record_event(AuditEvent.Action.SIGN_IN, actor=auditor)
    event = AuditEvent.objects.get(action="sign_in")

    text = "".join(events_to_csv(filter_events(AuditFilters(actor="auditor"))))
    written = dt.datetime.fromisoformat(list(csv.reader(io.StringIO(text)))[1][1])

    assert written.utcoffset() == dt.timedelta(hours=9)
    assert written == event.created_at
