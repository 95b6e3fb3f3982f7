"""Report page: banners, bundle and demo label, vertebra table, overlays, provenance and audit events."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from pages.factories import CAM_KEYS, make_study
from screening.models import AuditEvent

pytestmark = pytest.mark.django_db


def report_html(client: Client, study: Any) -> str:
    response = client.get(reverse("screening:report", args=[study.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_report_shows_mri_banner_with_fresh_level(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study())
    assert 'data-result="mri_recommended"' in html
    assert "MRI recommended" in html
    assert "fresh-fracture probability: L3 (80.0 %)." in html


def test_report_shows_demo_label_and_bundle(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study(demo=True))
    assert 'data-testid="demo-label"' in html
    assert "Demo bundle, not for clinical use" in html
    assert "olvf-demo 2026.12.04" in html


def test_report_without_demo_bundle_has_no_demo_label(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study(demo=False))
    assert 'data-testid="demo-label"' not in html
    assert "clinic-model 1.0" in html


def test_report_states_screening_aid(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study())
    assert 'data-testid="screening-aid-statement"' in html
    assert "screening aid" in html


def test_report_colours_level_boxes_by_class(clinician_page_client: Client) -> None:
    html = report_html(
        clinician_page_client, make_study(classes=("normal", "old", "fresh", "normal", "normal"))
    )
    levels_by_class = {
        level: cls
        for cls, level in re.findall(r'class="level-box level-box--(\w+)" data-level="(L\d)"', html)
    }
    assert levels_by_class == {"L1": "normal", "L2": "old", "L3": "fresh", "L4": "normal", "L5": "normal"}


def test_report_table_lists_each_model_and_ensemble(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study())
    assert len(re.findall(r'<tr data-level="L\d" class="class-', html)) == 5
    for label in ["ResNet-50", "DenseNet-161", "ResNeXt-50 (32x4d)", "Ensemble"]:
        assert label in html
    assert "80.0 %" in html
    assert "Anterior wall" in html
    assert "Grad-CAM mass mostly outside the body." in html


def test_report_offers_every_cam_layer(clinician_page_client: Client) -> None:
    study = make_study()
    html = report_html(clinician_page_client, study)
    layers = re.findall(r'name="layer" value="([\w]+)"', html)
    assert layers == ["overview", *CAM_KEYS]


def test_report_overlays_load_through_audited_view(clinician_page_client: Client) -> None:
    study = make_study()
    html = report_html(clinician_page_client, study)
    urls = set(re.findall(r'src="(/studies/\d+/files/[^"]+)"', html))
    assert len(urls) >= 1 + 5 * (1 + len(CAM_KEYS))
    before = AuditEvent.objects.filter(action=AuditEvent.Action.OVERLAY_DOWNLOAD).count()
    overlay_url = next(url for url in sorted(urls) if url.endswith("L1-ensemble.png"))
    response = clinician_page_client.get(overlay_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OVERLAY_DOWNLOAD).count() == before + 1


def test_report_view_writes_audit_event(clinician_page_client: Client) -> None:
    study = make_study()
    report_html(clinician_page_client, study)
    event = AuditEvent.objects.filter(action=AuditEvent.Action.REPORT_VIEW).first()
    assert event is not None
    assert event.object_id == str(study.pk)


def test_original_download_is_attachment_and_audited(clinician_page_client: Client) -> None:
    study = make_study()
    response = clinician_page_client.get(reverse("screening:original", args=[study.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"original bytes")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ORIGINAL_DOWNLOAD).count() == 1


def test_not_assessable_banner_lists_reasons(clinician_page_client: Client) -> None:
    reason = {
        "code": "body_part_not_lumbar",
        "message_en": "The header names CHEST, not the lumbar spine.",
        "message_ja": "ヘッダーの部位は CHEST です。",
    }
    study = make_study(result_status="not_assessable", classes=(), not_assessable_reasons=[reason])
    html = report_html(clinician_page_client, study)
    assert 'data-result="not_assessable"' in html
    assert 'data-code="body_part_not_lumbar"' in html
    assert "The header names CHEST, not the lumbar spine." in html
    assert "No fresh fracture found" not in html


def test_not_assessable_reason_in_japanese(clinician_page_client_ja: Client) -> None:
    reason = {
        "code": "body_part_not_lumbar",
        "message_en": "The header names CHEST.",
        "message_ja": "ヘッダーの部位は CHEST です。",
    }
    study = make_study(result_status="not_assessable", classes=(), not_assessable_reasons=[reason])
    html = report_html(clinician_page_client_ja, study)
    assert "ヘッダーの部位は CHEST です。" in html
    assert "The header names CHEST." not in html


def test_no_fresh_fracture_banner(clinician_page_client: Client) -> None:
    study = make_study(result_status="no_fresh_fracture_found", classes=("normal",) * 5)
    html = report_html(clinician_page_client, study)
    assert 'data-result="no_fresh_fracture_found"' in html


def test_failed_study_shows_reason_in_each_language(
    clinician_page_client: Client, clinician_page_client_ja: Client
) -> None:
    study = make_study(status="failed")
    english = report_html(clinician_page_client, study)
    assert 'data-result="failed"' in english
    assert "The DICOM file is truncated." in english
    japanese = report_html(clinician_page_client_ja, study)
    assert "DICOM ファイルが途中で切れています。" in japanese


def test_queued_study_shows_pending_banner(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study(status="queued"))
    assert 'data-result="pending"' in html
    assert "level-box" not in html


def test_report_shows_provenance_and_header_warnings(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study())
    assert "pydicom-native" in html
    assert "window center=2048 width=4096" in html
    assert "0.150 × 0.150 mm" in html
    assert "LSPINE" in html
    assert "Lossy JPEG compression." in html


def test_report_has_print_layout(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study())
    assert "data-print" in html
    stylesheet = Path(finders.find("css/olvf.css")).read_text(encoding="utf-8")
    assert "@media print" in stylesheet


def test_report_marks_levels_reaching_fresh_threshold(clinician_page_client: Client) -> None:
    html = report_html(
        clinician_page_client, make_study(classes=("normal", "old", "fresh", "normal", "normal"))
    )
    marked = re.findall(
        r'<tr data-level="(L\d)" class="class-\w+">(?:(?!</tr>).)*?data-testid="fresh-threshold"', html, re.S
    )
    assert marked == ["L3"]


def _with_region_geometry(study: Any, **geometry: str) -> Any:
    run = study.current_run
    run.result = {"cam_region_geometry": {"body": "detected box", **geometry}}
    run.save(update_fields=["result"])
    return study


def test_report_states_patient_facing_right_from_header(clinician_page_client: Client) -> None:
    study = _with_region_geometry(make_study(), anterior_side="right", anterior_side_source="header")

    html = report_html(clinician_page_client, study)

    assert 'data-testid="orientation-note"' in html
    assert "The patient faces right (DICOM Patient Orientation)" in html


def test_report_warns_when_facing_was_assumed(clinician_page_client_ja: Client) -> None:
    study = _with_region_geometry(make_study(), anterior_side="left", anterior_side_source="assumed")

    html = report_html(clinician_page_client_ja, study)

    assert "患者は左向き（画像の左側が前壁）と仮定しています" in html


def test_report_reads_old_results_without_source_as_assumed(clinician_page_client: Client) -> None:
    study = _with_region_geometry(make_study(), anterior_side="left")

    html = report_html(clinician_page_client, study)

    assert "the patient is assumed to face left" in html
