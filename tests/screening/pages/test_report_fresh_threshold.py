"""The MRI rule against the most likely class: banner, vertebra badge, legend note, PDF and statistics."""

from __future__ import annotations

from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from pages.factories import make_study
from screening.models import Study, VertebraFinding
from screening.services.reports import _report_context
from screening.services.statistics import compute_statistics, report_to_csv

pytestmark = pytest.mark.django_db

# Most likely class "normal", but the fresh probability reaches the factory run's threshold of 0.3.
NORMAL_OVER_THRESHOLD = {"normal": 0.46, "old": 0.14, "fresh": 0.40}


def study_with_normal_level_over_threshold() -> Study:
    """Return a study whose L3 is fresh (0.8) and whose L1 is normal with a fresh probability of 0.40."""
    study = make_study(classes=("normal", "old", "fresh", "normal", "normal"))
    VertebraFinding.objects.filter(run=study.current_run, level="L1").update(
        ensemble_probabilities=NORMAL_OVER_THRESHOLD
    )
    return study


def report_html(client: Client, study: Any) -> str:
    response = client.get(reverse("screening:report", args=[study.pk]))
    assert response.status_code == 200
    return response.content.decode()


def pdf_html(study: Study, language: str = "en") -> str:
    with translation.override(language):
        return render_to_string("oversight/report_pdf.html", _report_context(study, language))


def test_banner_lists_levels_with_fresh_probability(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, study_with_normal_level_over_threshold())
    assert "threshold of 30.0 %" in html
    assert "fresh-fracture probability: L1 (40.0 %), L3 (80.0 %)." in html
    assert "A level is listed even when another class is its most likely class" in html


def test_badge_marks_normal_level_over_threshold(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, study_with_normal_level_over_threshold())
    rows = html.split('<tr data-level="')[1:]
    badged = [row[:2] for row in rows if 'data-testid="fresh-threshold"' in row.split("</tr>")[0]]
    assert badged == ["L1", "L3"]


def test_legend_says_box_colour_is_most_likely_class(clinician_page_client: Client) -> None:
    html = report_html(clinician_page_client, make_study())
    assert 'data-testid="legend-note"' in html
    assert "Box colour: the most likely class of the vertebra." in html


def test_banner_in_japanese(clinician_page_client_ja: Client) -> None:
    html = report_html(clinician_page_client_ja, study_with_normal_level_over_threshold())
    assert "しきい値以上の椎体と新鮮骨折の確率： L1 (40.0 %), L3 (80.0 %)" in html
    assert "枠の色：その椎体で最も確率の高い分類。" in html


def test_pdf_has_same_banner_and_badges() -> None:
    html = pdf_html(study_with_normal_level_over_threshold())
    assert "fresh-fracture probability: L1 (40.0 %), L3 (80.0 %)." in html
    assert "A level is listed even when another class is its most likely class" in html
    assert html.count('data-label="fresh-threshold"') == 2
    assert "Box colour: the most likely class of the vertebra." in html


def test_statistics_count_vertebrae_at_threshold() -> None:
    study_with_normal_level_over_threshold()
    make_study(classes=("normal",) * 5, result_status="no_fresh_fracture_found")

    report = compute_statistics()

    assert report.overall.vertebrae_at_fresh_threshold == 2
    assert report.overall.vertebrae_by_class["fresh"] == 1
    assert report.by_bundle["olvf-demo 2026.12.04"].vertebrae_at_fresh_threshold == 2
    assert "all,vertebrae_at_fresh_threshold,,2" in report_to_csv(report).splitlines()
