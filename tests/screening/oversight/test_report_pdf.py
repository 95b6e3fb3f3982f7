"""The PDF report: a real PDF, in the reader's language, every glyph from the embedded IPAexGothic font."""

from __future__ import annotations

import logging
import re
import zlib
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image, ImageFile

from screening.models import AnalysisRun, AuditEvent
from screening.services.reports import (
    _fetcher_class,
    japanese_font_path,
    render_report_pdf,
    report_pdf_for_download,
)
from tests.screening.oversight.factories import make_bundle, make_run, make_study, make_user

pytestmark = pytest.mark.django_db

STATEMENT = (
    "OLVF screen is a screening aid. It does not make a diagnosis: every result must be confirmed by a "
    "qualified clinician, and a fresh fracture is confirmed by MRI."
)


def pdf_streams(pdf: bytes) -> list[bytes]:
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(raw))
        except zlib.error:
            streams.append(raw)
    return streams


def font_names(pdf: bytes) -> set[str]:
    names = set()
    for data in [pdf, *pdf_streams(pdf)]:
        names.update(name.decode() for name in re.findall(rb"/FontName\s*/([^\s/>]+)", data))
    return names


def mapped_characters(pdf: bytes) -> set[str]:
    """Return every character that the fonts' ToUnicode maps can produce, i.e. the text set in the PDF."""
    characters: set[str] = set()
    for data in pdf_streams(pdf):
        if b"beginbfchar" not in data and b"beginbfrange" not in data:
            continue
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
            for target in re.findall(rb"<[0-9a-fA-F]+>\s*<([0-9a-fA-F]+)>", block):
                characters.add(bytes.fromhex(target.decode()).decode("utf-16-be"))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
            for first, last, start in re.findall(
                rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
            ):
                base = ord(bytes.fromhex(start.decode()).decode("utf-16-be"))
                for offset in range(int(last, 16) - int(first, 16) + 1):
                    characters.add(chr(base + offset))
    return characters


def write_png(root: Path, relative: str) -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 60), (200, 30, 30)).save(path)
    return relative


@pytest.fixture
def media_root(tmp_path, settings) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def study_with_images(media_root):
    study = make_study()
    run = study.current_run
    run.overview_overlay = write_png(media_root, f"runs/{run.pk}/overview.png")
    run.full_image_cam_overlays = {"ensemble": write_png(media_root, f"runs/{run.pk}/cam_ensemble.png")}
    run.save()
    finding = run.findings.get(level="L3")
    finding.overlays = {"ensemble": write_png(media_root, f"runs/{run.pk}/L3_ensemble.png")}
    finding.save()
    return study


def test_pdf_starts_with_header_and_embeds_images(study_with_images):
    pdf = render_report_pdf(study_with_images.pk, language="en")

    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Subtype /Image") >= 3


def test_pdf_rendering_keeps_truncated_images_rejected(study_with_images):
    # WeasyPrint switches this Pillow flag on when imported; the upload reader needs it off.
    render_report_pdf(study_with_images.pk, language="en")

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_pdf_uses_only_ipaexgothic(study_with_images):
    pdf = render_report_pdf(study_with_images.pk, language="ja")

    names = font_names(pdf)
    assert names
    assert all("IPAexGothic" in name for name in names), names


def test_pdf_in_japanese_contains_screening_aid_statement(study_with_images):
    with translation.override("ja"):
        statement_ja = gettext(STATEMENT)
        mri_ja = gettext("MRI recommended")
    assert statement_ja != STATEMENT, "the statement has no Japanese translation in locale/ja"

    pdf = render_report_pdf(study_with_images.pk, language="ja")

    characters = mapped_characters(pdf)
    missing = {char for char in statement_ja + mri_ja if not char.isspace()} - characters
    assert not missing, f"characters not set in the PDF: {sorted(missing)}"


def test_pdf_in_english_has_no_japanese_statement(study_with_images):
    pdf = render_report_pdf(study_with_images.pk, language="en")

    characters = mapped_characters(pdf)
    assert set("screening aid") <= characters
    assert "診" not in characters


def test_pdf_lists_runs_by_bundle_after_rerun(media_root):
    study = make_study()
    other = make_bundle(version="2026.12.09", demo=False)
    make_run(study, other, classes=("normal",), result_status="no_fresh_fracture_found")

    pdf = render_report_pdf(study.pk, language="en")

    characters = mapped_characters(pdf)
    assert set("Analysis runs") <= characters


def test_pdf_download_is_audited(study_with_images):
    user = make_user("dr-pdf", "clinician")

    document = report_pdf_for_download(study_with_images.pk, user=user, language="ja")

    event = AuditEvent.objects.get(action="pdf_download")
    assert event.actor_username == "dr-pdf"
    assert event.details["language"] == "ja"
    assert document.filename.startswith(f"olvf-study-{study_with_images.pk}-")
    assert document.content.startswith(b"%PDF")


def test_pdf_ignores_stored_path_outside_media(media_root):
    study = make_study()
    AnalysisRun.objects.filter(pk=study.current_run_id).update(overview_overlay="../../etc/hostname")

    pdf = render_report_pdf(study.pk, language="en")

    assert b"/Subtype /Image" not in pdf


def test_pdf_fetcher_rejects_network_and_outside_files(media_root):
    fetcher = _fetcher_class()([media_root, japanese_font_path().parent])

    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("http://example.invalid/x.png")
    with pytest.raises(ValueError, match="outside MEDIA_ROOT"):
        fetcher.fetch("file:///etc/hostname")


def test_pdf_for_emoji_name_logs_no_patient_text(media_root, caplog):
    # No font of the report has this emoji, so WeasyPrint warns with the string it could not render.
    name = "Suzuki \U0001f9b4 Hanako"
    study = make_study(patient_name=name)
    caplog.set_level(logging.DEBUG)

    pdf = render_report_pdf(study.pk, language="en")

    assert pdf.startswith(b"%PDF-")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "\U0001f9b4" not in logged
    assert "Hanako" not in logged


def test_pdf_file_name_uses_local_date(study_with_images, monkeypatch, settings):
    import datetime as dt

    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Tokyo"
    # 20:00 UTC on 4 December is already 5 December in Tokyo (UTC+9).
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC))
    monkeypatch.setattr("screening.services.reports.render_report_pdf", lambda study_id, language: b"%PDF-1.7")
    user = make_user("dr-pdf-date", "clinician")

    document = report_pdf_for_download(study_with_images.pk, user=user, language="en")

    assert document.filename == f"olvf-study-{study_with_images.pk}-20261205.pdf"
