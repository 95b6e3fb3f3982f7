"""Oversight pages as each persona: review forms, statistics, audit, trace, bundles, re-run, PDF, API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from screening.models import (
    AnalysisRun,
    AuditEvent,
    ModelBundle,
    MRIOutcome,
    Study,
    VertebraFinding,
    VertebraReview,
)
from tests.screening.helpers import write_hashed_bundle
from tests.screening.oversight.factories import make_bundle, make_study, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(clinician: Any) -> Study:
    return make_study(uploaded_by=clinician, patient_name="Sato Hanako")


def fresh_finding(study: Study) -> VertebraFinding:
    return study.current_run.findings.get(level="L3")


# ---------------------------------------------------------------------------
# Review and MRI outcome on the report


def test_report_shows_review_form_and_pdf_link(study, oversight_clients):
    response = oversight_clients["clinician"].get(reverse("screening:report", args=[study.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="review-table"' in content
    assert reverse("oversight:review_create", args=[fresh_finding(study).pk]) in content
    assert reverse("oversight:outcome_create", args=[study.pk]) in content
    assert reverse("oversight:report_pdf", args=[study.pk]) in content
    assert reverse("oversight:trace", args=[study.pk]) not in content


def test_report_shows_trace_link_to_admin(study, oversight_clients):
    response = oversight_clients["admin"].get(reverse("screening:report", args=[study.pk]))

    assert reverse("oversight:trace", args=[study.pk]) in response.content.decode()


def test_review_post_stores_review_beside_model_class(study, oversight_clients):
    finding = fresh_finding(study)
    url = reverse("oversight:review_create", args=[finding.pk])

    response = oversight_clients["clinician"].post(
        url, {"verdict": "disagree", "corrected_class": "old", "comment": "smooth endplate"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("screening:report", args=[study.pk]) + f"#review-{finding.pk}"
    review = VertebraReview.objects.get()
    assert (review.agrees, review.corrected_class) == (False, "old")
    finding.refresh_from_db()
    assert finding.predicted_class == "fresh"
    report = oversight_clients["clinician"].get(response["Location"]).content.decode()
    assert "smooth endplate" in report


def test_review_post_with_invalid_correction_shows_error(study, oversight_clients):
    url = reverse("oversight:review_create", args=[fresh_finding(study).pk])

    response = oversight_clients["clinician"].post(
        url, {"verdict": "disagree", "corrected_class": ""}, follow=True
    )

    assert not VertebraReview.objects.exists()
    assert "Choose the correct class" in response.content.decode()


def test_review_error_shown_at_form_with_input(study, oversight_clients):
    finding = fresh_finding(study)
    url = reverse("oversight:review_create", args=[finding.pk])
    client = oversight_clients["clinician"]

    response = client.post(url, {"verdict": "disagree", "corrected_class": "", "comment": "kept text"})
    content = client.get(response["Location"]).content.decode()

    feedback_at = content.index('data-testid="review-feedback"')
    assert "flash--error" in content[feedback_at - 200 : feedback_at]
    assert "Choose the correct class" in content[feedback_at:]
    assert content.index(f'id="review-{finding.pk}"') > feedback_at
    assert 'value="disagree" checked' in content
    assert ">kept text</textarea>" in content


def test_review_feedback_shown_once(study, oversight_clients):
    finding = fresh_finding(study)
    client = oversight_clients["clinician"]
    client.post(reverse("oversight:review_create", args=[finding.pk]), {"verdict": "agree"})
    report_url = reverse("screening:report", args=[study.pk])

    first = client.get(report_url).content.decode()
    second = client.get(report_url).content.decode()

    assert 'data-testid="review-feedback"' in first
    assert "flash--success" in first
    assert 'data-testid="review-feedback"' not in second


def test_outcome_error_shown_at_form_with_input(study, oversight_clients):
    client = oversight_clients["clinician"]
    url = reverse("oversight:outcome_create", args=[study.pk])

    response = client.post(
        url, {"mri_done": "yes", "mri_date": "not-a-date", "fresh_levels": ["L2"], "notes": "n1"}
    )
    content = client.get(response["Location"]).content.decode()

    assert response["Location"].endswith("#mri-outcome")
    assert not MRIOutcome.objects.filter(study=study).exists()
    assert 'data-testid="mri-outcome-feedback"' in content
    assert 'value="L2" checked' in content
    assert 'value="yes" required checked' in content
    assert ">n1</textarea>" in content


def test_review_post_is_forbidden_for_manager(study, oversight_clients):
    url = reverse("oversight:review_create", args=[fresh_finding(study).pk])

    response = oversight_clients["manager"].post(url, {"verdict": "agree"})

    assert response.status_code == 403
    assert not VertebraReview.objects.exists()


def test_review_post_for_missing_finding_is_404(oversight_clients):
    response = oversight_clients["clinician"].post(
        reverse("oversight:review_create", args=[999999]), {"verdict": "agree"}
    )

    assert response.status_code == 404


def test_outcome_post_keeps_history(study, oversight_clients):
    url = reverse("oversight:outcome_create", args=[study.pk])
    client = oversight_clients["clinician"]

    client.post(url, {"mri_done": "no"})
    # A past date relative to the clock, because a date after today is rejected.
    mri_date = timezone.localdate() - dt.timedelta(days=14)
    client.post(url, {"mri_done": "yes", "mri_date": mri_date.isoformat(), "fresh_levels": ["L3"]})

    assert MRIOutcome.objects.filter(study=study).count() == 2
    report = client.get(reverse("screening:report", args=[study.pk])).content.decode()
    assert 'data-testid="mri-outcome"' in report
    assert "L3" in report


# ---------------------------------------------------------------------------
# Statistics


def test_statistics_page_shows_aggregates_without_names(study, oversight_clients):
    response = oversight_clients["manager"].get(reverse("oversight:statistics"))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="chart-volume"' in content
    assert '<script id="statistics-labels" type="application/json">{"studies"' in content
    assert "statistics.js" in content
    assert "Sato Hanako" not in content
    # The study's own identifiers, not a prefix: a random CSRF token can contain "P0".
    assert study.patient_id not in content
    assert study.accession_number not in content
    assert AuditEvent.objects.filter(action="statistics_view").count() == 1


def test_statistics_page_loads_chart_font_from_application(oversight_clients):
    page = oversight_clients["manager"].get(reverse("oversight:statistics")).content.decode()
    font = oversight_clients["manager"].get(reverse("oversight:chart_font"))

    assert reverse("oversight:chart_font") in page
    assert font.status_code == 200
    assert font["Content-Type"] == "font/ttf"
    assert b"".join(font.streaming_content)[:4] == b"\x00\x01\x00\x00"  # TrueType outlines


def test_statistics_page_rejects_reversed_range(oversight_clients):
    response = oversight_clients["manager"].get(
        reverse("oversight:statistics"), {"date_from": "2026-12-05", "date_to": "2026-12-01"}
    )

    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()


def test_statistics_csv_download(study, oversight_clients):
    response = oversight_clients["admin"].get(reverse("oversight:statistics_csv"))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert rows[0] == ["group", "metric", "key", "value"]
    assert ["all", "studies", "", "1"] in rows
    assert AuditEvent.objects.get(action="export").details["export"] == "statistics_csv"


def test_statistics_page_is_forbidden_for_clinician(oversight_clients):
    assert oversight_clients["clinician"].get(reverse("oversight:statistics")).status_code == 403


def test_statistics_api_for_manager(study, manager, clinician, api_client_for):
    response = api_client_for(manager).get("/api/statistics/", {"date_from": "2000-01-01"})

    assert response.status_code == 200
    assert response.json()["overall"]["studies"] == 1
    assert response.json()["date_from"] == "2000-01-01"
    assert api_client_for(clinician).get("/api/statistics/").status_code == 403
    assert api_client_for(None).get("/api/statistics/").status_code == 401


def test_statistics_api_rejects_reversed_range(manager, api_client_for):
    response = api_client_for(manager).get(
        "/api/statistics/", {"date_from": "2026-12-05", "date_to": "2026-12-01"}
    )

    assert response.status_code == 400


def test_statistics_api_csv(study, manager, api_client_for):
    response = api_client_for(manager).get("/api/statistics.csv")

    assert response.status_code == 200
    assert response.content.decode().startswith("group,metric,key,value")


# ---------------------------------------------------------------------------
# Audit trail and decision trace


def test_audit_page_filters_by_action(study, oversight_clients):
    oversight_clients["clinician"].get(reverse("screening:report", args=[study.pk]))

    response = oversight_clients["admin"].get(reverse("oversight:audit"), {"action": "report_view"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "Report viewed" in content
    assert "Sign in</td>" not in content


def test_audit_page_names_time_zone_and_offset(study, oversight_clients):
    oversight_clients["clinician"].get(reverse("screening:report", args=[study.pk]))

    response = oversight_clients["admin"].get(reverse("oversight:audit"), {"action": "report_view"})

    content = response.content.decode()
    assert "Times are in the time zone Asia/Tokyo." in content
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0900</td>", content)


def test_audit_csv_export_is_audited(study, oversight_clients):
    oversight_clients["clinician"].get(reverse("screening:report", args=[study.pk]))

    response = oversight_clients["admin"].get(reverse("oversight:audit_csv"), {"action": "report_view"})

    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "sequence"
    assert [row[4] for row in rows[1:]] == ["report_view"]
    assert AuditEvent.objects.filter(action="export", details__export="audit_csv").exists()


def test_audit_verify_page_reports_intact_chain(oversight_clients):
    response = oversight_clients["admin"].get(reverse("oversight:audit_verify"))

    assert response.status_code == 200
    assert "The audit trail is intact" in response.content.decode()


def test_trace_page_shows_models_and_hashes(study, oversight_clients):
    response = oversight_clients["admin"].get(reverse("oversight:trace", args=[study.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "DenseNet-161" in content
    assert "a" * 64 in content  # the resnet50.pt hash stored with the run
    assert "test-host:4242" in content
    assert "Sato Hanako" not in content


def test_trace_json_download(study, oversight_clients):
    response = oversight_clients["admin"].get(reverse("oversight:trace_json", args=[study.pk]))

    data = json.loads(response.content)
    assert data["runs"][0]["bundle"]["name"] == "olvf-demo"
    assert data["runs"][0]["findings"][2]["model_probabilities"]["resnet50"]["fresh"] == 0.8


def test_trace_page_for_missing_study_is_404(oversight_clients):
    assert oversight_clients["admin"].get(reverse("oversight:trace", args=[999999])).status_code == 404


# ---------------------------------------------------------------------------
# Bundles and re-run


def test_bundle_install_verifies_and_activates(tmp_path, oversight_clients):
    folder = write_hashed_bundle(tmp_path / "bundle", name="clinic-bundle", version="7")

    response = oversight_clients["admin"].post(
        reverse("oversight:bundle_install"), {"path": str(folder), "activate": "on"}
    )

    bundle = ModelBundle.objects.get(name="clinic-bundle")
    assert response.status_code == 302
    assert response["Location"] == reverse("oversight:bundle_detail", args=[bundle.pk])
    assert bundle.is_active
    assert AuditEvent.objects.filter(action="bundle_install").exists()
    assert AuditEvent.objects.filter(action="bundle_activate", actor_username="admin").exists()


def test_bundle_install_rejects_changed_file(tmp_path, oversight_clients):
    folder = write_hashed_bundle(tmp_path / "bundle", name="tampered", version="1")
    (folder / "resnet50.pt").write_bytes(b"changed weights")

    response = oversight_clients["admin"].post(
        reverse("oversight:bundle_install"), {"path": str(folder)}, follow=True
    )

    assert not ModelBundle.objects.filter(name="tampered").exists()
    assert "resnet50.pt" in response.content.decode()


def test_bundle_detail_shows_model_card_and_metrics(tmp_path, oversight_clients):
    bundle = make_bundle(version="card-1")
    folder = tmp_path / "card-bundle"
    folder.mkdir()
    (folder / "MODEL_CARD.md").write_text("# Demo model card\nTrained on phantoms only.", encoding="utf-8")
    ModelBundle.objects.filter(pk=bundle.pk).update(path=str(folder))

    response = oversight_clients["admin"].get(reverse("oversight:bundle_detail", args=[bundle.pk]))

    content = response.content.decode()
    assert "Trained on phantoms only." in content
    assert "<h3>Demo model card</h3>" in content
    assert "metrics.accuracy" not in content  # keys are shown relative to the metrics block
    assert "<th>accuracy</th>" not in content
    assert "<th>Accuracy</th>" in content
    assert "0.900" in content
    assert 'data-testid="demo-label"' in content


def test_bundle_activate_switches_active_bundle(oversight_clients):
    first = make_bundle(version="a", active=True)
    second = make_bundle(version="b")

    oversight_clients["admin"].post(reverse("oversight:bundle_activate", args=[second.pk]))

    assert ModelBundle.objects.get(pk=second.pk).is_active
    assert not ModelBundle.objects.get(pk=first.pk).is_active


def test_bundle_pages_forbidden_for_manager(oversight_clients):
    assert oversight_clients["manager"].get(reverse("oversight:bundle_list")).status_code == 403


def test_rerun_keeps_old_run_and_queues_study(
    study, oversight_clients, monkeypatch, django_capture_on_commit_callbacks
):
    dispatched: list[tuple[int, int | None]] = []
    monkeypatch.setattr(
        "screening.tasks.dispatch_screening", lambda sid, bid=None: dispatched.append((sid, bid))
    )
    other = make_bundle(version="2026.12.10")
    old_run = study.current_run

    with django_capture_on_commit_callbacks(execute=True):
        response = oversight_clients["admin"].post(
            reverse("oversight:study_rerun", args=[study.pk]), {"bundle_id": other.pk}
        )

    assert response.status_code == 302
    assert dispatched == [(study.pk, other.pk)]
    assert Study.objects.get(pk=study.pk).status == "queued"
    assert AnalysisRun.objects.filter(pk=old_run.pk, findings__isnull=False).exists()
    assert AuditEvent.objects.get(action="rerun").details == {"bundle_id": other.pk}


def test_rerun_with_current_bundle_is_refused(study, oversight_clients, monkeypatch):
    monkeypatch.setattr("screening.tasks.dispatch_screening", lambda *args: pytest.fail("must not dispatch"))

    response = oversight_clients["admin"].post(
        reverse("oversight:study_rerun", args=[study.pk]),
        {"bundle_id": study.current_run.bundle_id},
        follow=True,
    )

    assert "already comes from" in response.content.decode()
    assert Study.objects.get(pk=study.pk).status == "done"


def test_report_lists_each_run_with_its_bundle(study, oversight_clients):
    from tests.screening.oversight.factories import make_run

    make_run(
        study, make_bundle(version="2026.12.11"), classes=("normal",), result_status="no_fresh_fracture_found"
    )

    content = (
        oversight_clients["clinician"].get(reverse("screening:report", args=[study.pk])).content.decode()
    )

    assert 'data-testid="runs"' in content
    assert "olvf-demo 2026.12.04" in content
    assert "olvf-demo 2026.12.11" in content


# ---------------------------------------------------------------------------
# PDF


def test_pdf_download_for_clinician_in_japanese(study, clinician):
    client: Client = signed_in(clinician, "ja")

    response = client.get(reverse("oversight:report_pdf", args=[study.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.get(action="pdf_download").details["language"] == "ja"


def test_pdf_download_for_missing_study_is_404(oversight_clients):
    assert (
        oversight_clients["clinician"].get(reverse("oversight:report_pdf", args=[999999])).status_code == 404
    )
