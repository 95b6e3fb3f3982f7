"""The HTML that the PDF report is rendered from: patient rows and the page-break rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from pages.factories import make_study
from screening.models import Study
from screening.services.reports import _report_context

pytestmark = pytest.mark.django_db


def pdf_html(study: Study, language: str = "en") -> str:
    with translation.override(language):
        return render_to_string("oversight/report_pdf.html", _report_context(study, language))


def test_pdf_shows_birth_date_and_sex() -> None:
    study = make_study()
    Study.objects.filter(pk=study.pk).update(patient_birth_date=dt.date(1941, 3, 9), patient_sex="F")
    html = pdf_html(Study.objects.get(pk=study.pk))
    assert "<th>Birth date</th><td>1941-03-09</td>" in html
    assert "<th>Sex</th><td>Female</td>" in html


def test_pdf_without_birth_date_shows_dash() -> None:
    html = pdf_html(make_study())
    assert "<th>Birth date</th><td>–</td>" in html


def test_pdf_keeps_statement_with_previous_block() -> None:
    html = pdf_html(make_study())
    style = html[html.index("<style>") : html.index("</style>")]
    statement_rule = next(line for line in style.splitlines() if line.strip().startswith(".statement"))
    assert "break-before: avoid" in statement_rule
