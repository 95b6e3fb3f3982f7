"""The report of a study as a PDF (WeasyPrint), in the reader's language, with an embedded Japanese font.

Every text in the PDF is set in IPAexGothic, the font that the pinned
``japanize-matplotlib`` package ships, so Japanese renders the same on every
machine and no fallback boxes appear. WeasyPrint may read only that font file,
data URIs and files under MEDIA_ROOT, so a stored value can never make the
renderer reach the network.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from screening.errors import StudyNotFound
from screening.models import AnalysisRun, AuditEvent, Study, VertebraFinding
from screening.services.audit import record_event
from screening.services.review import current_outcome, current_reviews

logger = logging.getLogger(__name__)

CLASS_NAMES: tuple[str, ...] = ("normal", "old", "fresh")
MODEL_ORDER: tuple[str, ...] = ("resnet50", "densenet161", "resnext50_32x4d")
ENSEMBLE = "ensemble"
FONT_FAMILY = "IPAexGothic"


class ReportFontMissing(RuntimeError):
    """The IPAexGothic font file of the japanize-matplotlib package is not installed."""


def japanese_font_path() -> Path:
    """Return the path of IPAexGothic (ipaexg.ttf) inside the installed japanize_matplotlib package."""
    # find_spec locates the package without importing it, because importing it reconfigures matplotlib.
    spec = importlib.util.find_spec("japanize_matplotlib")
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = (
        Path(locations[0]) / "fonts" / "ipaexg.ttf"
        if locations
        else Path("japanize_matplotlib/fonts/ipaexg.ttf")
    )
    if not path.is_file():
        raise ReportFontMissing(
            f"The Japanese font {path} is missing: reinstall japanize-matplotlib (see requirements.txt)."
        )
    return path


def _import_weasyprint() -> None:
    """Import WeasyPrint and switch back off the Pillow flag that its import turns on."""
    # WeasyPrint 70 sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES = True for the whole process, which
    # would let the image reader in the same process accept truncated uploads as half-grey images.
    from PIL import ImageFile

    truncated_before = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint  # noqa: F401

    ImageFile.LOAD_TRUNCATED_IMAGES = truncated_before


def _fetcher_class() -> Any:
    _import_weasyprint()
    from weasyprint.urls import URLFetcher

    class LocalFilesFetcher(URLFetcher):  # type: ignore[misc]
        """Fetch only data URIs and files under the allowed folders; reject everything else."""

        def __init__(self, allowed_roots: list[Path]) -> None:
            super().__init__(allowed_protocols={"file", "data"})
            self.allowed_roots = [root.resolve() for root in allowed_roots]

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:"):
                path = Path(unquote(urlparse(url).path)).resolve()
                if not any(path.is_relative_to(root) for root in self.allowed_roots):
                    raise ValueError(f"The PDF may not read {path}: it is outside MEDIA_ROOT.")
            return super().fetch(url, headers)

    return LocalFilesFetcher


# ---------------------------------------------------------------------------
# Content


@dataclass(frozen=True)
class PdfFinding:
    """One row of the vertebra table of the PDF."""

    level: str
    predicted_class: str
    ensemble: list[float | None]  # in CLASS_NAMES order
    models: list[tuple[str, list[float | None]]]  # (architecture, probabilities in CLASS_NAMES order)
    overlay_urls: list[tuple[str, str]]  # (model or "ensemble", file URL)
    reviewed_class: str | None
    review_agrees: bool | None
    # True when the ensemble fresh probability reaches the run's threshold, which triggers the MRI
    # recommendation even when another class is the most likely one.
    reaches_fresh_threshold: bool = False


def _media_url(relative: str) -> str:
    """Return the file URL of a path stored relative to MEDIA_ROOT, or "" when the file is missing."""
    if not relative:
        return ""
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return ""
    return path.as_uri()


def _probabilities(values: dict[str, float]) -> list[float | None]:
    return [values.get(name) for name in CLASS_NAMES]


def _pdf_findings(run: AnalysisRun, threshold: float | None) -> list[PdfFinding]:
    findings: list[VertebraFinding] = sorted(run.findings.all(), key=lambda finding: finding.level)
    reviews = current_reviews(finding.pk for finding in findings)
    rows = []
    for finding in findings:
        names = [name for name in MODEL_ORDER if name in finding.model_probabilities]
        names += [name for name in finding.model_probabilities if name not in names]
        overlays = [
            (key, _media_url(finding.overlays[key]))
            for key in (ENSEMBLE, *names)
            if key in (finding.overlays or {}) and _media_url(finding.overlays[key])
        ]
        review = reviews.get(finding.pk)
        rows.append(
            PdfFinding(
                level=finding.level,
                predicted_class=finding.predicted_class,
                ensemble=_probabilities(finding.ensemble_probabilities),
                models=[(name, _probabilities(finding.model_probabilities[name])) for name in names],
                overlay_urls=overlays,
                reviewed_class=(finding.predicted_class if review.agrees else review.corrected_class)
                if review
                else None,
                review_agrees=review.agrees if review else None,
                reaches_fresh_threshold=threshold is not None and finding.fresh_probability >= threshold,
            )
        )
    return rows


def _report_context(study: Study, language: str) -> dict[str, Any]:
    run = study.current_run if study.current_run_id else None
    runs = list(study.runs.order_by("-created_at", "-id"))
    threshold = run.thresholds.get("fresh") if run else None
    findings = (
        _pdf_findings(run, float(threshold) if threshold is not None else None)
        if run is not None and run.status == AnalysisRun.Status.DONE
        else []
    )
    fresh_level_rows = [
        {"level": row.level, "fresh_probability": row.ensemble[2] or 0.0}
        for row in findings
        if row.reaches_fresh_threshold
    ]
    full_image_cams = (
        [
            (key, _media_url(path))
            for key, path in (run.full_image_cam_overlays or {}).items()
            if _media_url(path)
        ]
        if run
        else []
    )
    return {
        "language": language,
        "font_url": japanese_font_path().as_uri(),
        "font_family": FONT_FAMILY,
        "study": study,
        "run": run,
        "runs": runs,
        "findings": findings,
        "class_names": CLASS_NAMES,
        "fresh_threshold": threshold,
        "threshold_source": run.thresholds.get("source", "") if run else "",
        "fresh_levels": [row["level"] for row in fresh_level_rows],
        "fresh_level_rows": fresh_level_rows,
        "overview_url": _media_url(run.overview_overlay) if run else "",
        "full_image_cams": sorted(full_image_cams, key=lambda item: item[0] != ENSEMBLE),
        "outcome": current_outcome(study.pk),
        "failure_message": study.failure_message(language) if study.status == Study.Status.FAILED else "",
        "generated_at": timezone.localtime(),
    }


# ---------------------------------------------------------------------------
# Rendering


def render_report_pdf(study_id: int, *, language: str) -> bytes:
    """Render the report of ``study_id`` as PDF bytes in ``language`` ("ja" or "en")."""
    _import_weasyprint()
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    study = Study.objects.select_related("current_run", "radiograph").filter(pk=study_id).first()
    if study is None:
        raise StudyNotFound(f"Study {study_id} does not exist.", f"検査 {study_id} は存在しません。")
    language = "ja" if language.lower().startswith("ja") else "en"

    started = time.monotonic()
    with translation.override(language):
        html = render_to_string("oversight/report_pdf.html", _report_context(study, language))
    font_config = FontConfiguration()
    fetcher = _fetcher_class()([Path(settings.MEDIA_ROOT), japanese_font_path().parent])
    document = HTML(string=html, base_url=Path(settings.MEDIA_ROOT).as_uri() + "/", url_fetcher=fetcher)
    pdf = document.write_pdf(font_config=font_config)
    logger.info(
        "PDF report of study %s rendered in %.0f ms",
        study_id,
        (time.monotonic() - started) * 1000,
        extra={"study_id": study_id, "language": language},
    )
    return bytes(pdf)


@dataclass(frozen=True)
class ReportDocument:
    """A rendered PDF with the file name offered for download."""

    filename: str
    content: bytes


def report_pdf_for_download(
    study_id: int, *, user: Any, language: str, request: HttpRequest | None = None
) -> ReportDocument:
    """Render the PDF report of a study for ``user`` and record the download in the audit trail."""
    content = render_report_pdf(study_id, language=language)
    study = Study(pk=study_id)
    record_event(
        AuditEvent.Action.PDF_DOWNLOAD,
        actor=user,
        request=request,
        obj=study,
        details={"language": language, "bytes": len(content)},
    )
    # The local date (TIME_ZONE), because the pages show local times and the UTC date differs for part of each day.
    stamp = timezone.localdate().strftime("%Y%m%d")
    return ReportDocument(filename=f"olvf-study-{study_id}-{stamp}.pdf", content=content)
