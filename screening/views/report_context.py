"""Turn a stored study, its current run and findings into what the report template shows.

Nothing here recomputes a result: every value comes from the rows that the
screening task stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from screening.models import AnalysisRun, Study, VertebraFinding
from screening.services.studies import current_run_of
from screening.templatetags.olvf_ui import REGION_LABELS, model_label, provenance_text, spacing_source_label

CLASS_NAMES: tuple[str, ...] = ("normal", "old", "fresh")
ENSEMBLE = "ensemble"
# Display order of the classifiers. An architecture not listed here follows in the order stored.
MODEL_ORDER: tuple[str, ...] = ("resnet50", "densenet161", "resnext50_32x4d")


@dataclass(frozen=True)
class BoxGeometry:
    """A level box in image pixels, with where its label goes."""

    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float


@dataclass(frozen=True)
class FindingRow:
    """One vertebra as the report table and the level boxes show it."""

    level: str
    predicted_class: str
    detection_confidence: float
    box: BoxGeometry
    probability_rows: list[dict[str, Any]]
    overlays: list[dict[str, str]]
    crop_url: str
    region_models: list[str]
    region_rows: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # True when the ensemble fresh probability reaches the run's threshold, which is what triggers
    # the MRI recommendation even when another class has the highest probability.
    reaches_fresh_threshold: bool = False


def build_report_context(study: Study) -> dict[str, Any]:
    """Return the template context of the report page of ``study``."""
    radiograph = getattr(study, "radiograph", None)
    run = current_run_of(study)
    findings = list(run.findings.all()) if run is not None else []
    models = _model_names(findings)
    threshold = _fresh_threshold(run)
    width = (radiograph.columns if radiograph else None) or 1
    height = (radiograph.rows if radiograph else None) or 1

    context: dict[str, Any] = {
        "study": study,
        "radiograph": radiograph,
        "run": run,
        "class_names": CLASS_NAMES,
        "models": models,
        "findings": [
            _finding_row(study, finding, models, width, threshold) for finding in _level_order(findings)
        ],
        "image_layers": _image_layers(study, run),
        "image_width": width,
        "image_height": height,
        "label_font_size": max(12, round(width / 40)),
        "warnings": _warnings(radiograph, run, exclude_codes=_reason_codes(run)),
        "failure_message": study.failure_message(get_language() or "ja")
        if study.status == Study.Status.FAILED
        else "",
        # A QUEUED study keeps a reason only while it waits for a model bundle.
        "waiting_message": study.failure_message(get_language() or "ja")
        if study.status == Study.Status.QUEUED
        else "",
        "provenance_rows": _provenance_rows(radiograph) if radiograph else [],
        "header_rows": _header_rows(radiograph) if radiograph else [],
        "orientation_note": _orientation_note(run),
    }
    context.update(_run_summary(run, findings))
    return context


def run_file_url(study: Study, name: str) -> str:
    """Return the URL of an overlay or crop that a run stored under ``name`` (relative to MEDIA_ROOT)."""
    return reverse("screening:run_file", args=[study.pk, name])


def _run_summary(run: AnalysisRun | None, findings: list[VertebraFinding]) -> dict[str, Any]:
    if run is None:
        return {
            "not_assessable_reasons": [],
            "fresh_threshold": None,
            "threshold_source": "",
            "fresh_levels": [],
            "fresh_level_rows": [],
        }
    bundle = (run.result or {}).get("bundle", {})
    threshold = _fresh_threshold(run)
    total_ms = sum(
        float(value) for value in (run.timings_ms or {}).values() if isinstance(value, (int, float))
    )
    fresh_level_rows = [
        {"level": finding.level, "fresh_probability": finding.fresh_probability}
        for finding in _level_order(findings)
        if threshold is not None and finding.fresh_probability >= threshold
    ]
    return {
        "not_assessable_reasons": list(run.not_assessable_reasons or []),
        "fresh_threshold": threshold,
        "threshold_source": run.thresholds.get("source", bundle.get("threshold_source", "")),
        "fresh_levels": [row["level"] for row in fresh_level_rows],
        "fresh_level_rows": fresh_level_rows,
        "total_ms": total_ms,
        "total_seconds": f"{total_ms / 1000:.1f}",
    }


def _fresh_threshold(run: AnalysisRun | None) -> float | None:
    """Return the fresh-fracture threshold the run used, from its thresholds or its stored result."""
    if run is None:
        return None
    bundle = (run.result or {}).get("bundle", {})
    threshold = (run.thresholds or {}).get("fresh", bundle.get("fresh_threshold"))
    return float(threshold) if threshold is not None else None


def _model_names(findings: list[VertebraFinding]) -> list[str]:
    stored: list[str] = []
    for finding in findings:
        for name in finding.model_probabilities:
            if name not in stored:
                stored.append(name)
    ordered = [name for name in MODEL_ORDER if name in stored]
    return ordered + [name for name in stored if name not in ordered]


def _level_order(findings: list[VertebraFinding]) -> list[VertebraFinding]:
    # "L1" < "L2" ... sorts correctly as text because lumbar levels have one digit.
    return sorted(findings, key=lambda finding: finding.level)


def _finding_row(
    study: Study, finding: VertebraFinding, models: list[str], image_width: int, threshold: float | None
) -> FindingRow:
    probability_rows = [
        {"model": name, "is_ensemble": False, "cells": _cells(finding.model_probabilities.get(name, {}))}
        for name in models
    ]
    probability_rows.append(
        {"model": ENSEMBLE, "is_ensemble": True, "cells": _cells(finding.ensemble_probabilities)}
    )

    overlay_keys = [key for key in (ENSEMBLE, *models) if key in (finding.overlays or {})]
    overlays = [{"model": key, "url": run_file_url(study, finding.overlays[key])} for key in overlay_keys]
    region_models = [key for key in (ENSEMBLE, *models) if key in (finding.cam_regions or {})]
    regions = _region_names(finding.cam_regions or {}, region_models)
    region_rows = [
        {"region": region, "values": [finding.cam_regions[key].get(region) for key in region_models]}
        for region in regions
    ]
    return FindingRow(
        level=finding.level,
        predicted_class=finding.predicted_class,
        detection_confidence=finding.detection_confidence,
        box=_box(finding, image_width),
        probability_rows=probability_rows,
        overlays=overlays,
        crop_url=run_file_url(study, finding.crop_file) if finding.crop_file else "",
        region_models=region_models,
        region_rows=region_rows,
        warnings=list(finding.warnings or []),
        reaches_fresh_threshold=threshold is not None and finding.fresh_probability >= threshold,
    )


def _cells(probabilities: dict[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "value": probabilities.get(name)} for name in CLASS_NAMES]


def _region_names(cam_regions: dict[str, dict[str, float]], models: list[str]) -> list[str]:
    names = list(REGION_LABELS)
    for key in models:
        names.extend(name for name in cam_regions[key] if name not in names)
    return [name for name in names if any(name in cam_regions[key] for key in models)]


def _box(finding: VertebraFinding, image_width: int) -> BoxGeometry:
    # The label sits left of the box so that it never covers the vertebral body it names.
    label_offset = max(6.0, image_width / 100)
    return BoxGeometry(
        x=finding.box_x1,
        y=finding.box_y1,
        width=max(finding.box_x2 - finding.box_x1, 0.0),
        height=max(finding.box_y2 - finding.box_y1, 0.0),
        label_x=max(finding.box_x1 - label_offset * 5, 0.0),
        label_y=(finding.box_y1 + finding.box_y2) / 2,
    )


def _image_layers(study: Study, run: AnalysisRun | None) -> list[dict[str, str]]:
    """Return the full-image views: the radiograph with boxes, then Grad-CAM for the ensemble and each model."""
    if run is None:
        return []
    layers: list[dict[str, str]] = []
    if run.overview_overlay:
        layers.append(
            {"key": "overview", "label": _("Radiograph"), "url": run_file_url(study, run.overview_overlay)}
        )
    cams = run.full_image_cam_overlays or {}
    for key in (ENSEMBLE, *MODEL_ORDER, *sorted(cams)):
        if key in cams and all(layer["key"] != key for layer in layers):
            layers.append(
                {
                    "key": key,
                    "label": _("Grad-CAM: %(model)s") % {"model": model_label(key)},
                    "url": run_file_url(study, cams[key]),
                }
            )
    return layers


def _reason_codes(run: AnalysisRun | None) -> set[str]:
    return {str(reason.get("code")) for reason in (run.not_assessable_reasons if run else [])}


def _warnings(radiograph: Any, run: AnalysisRun | None, *, exclude_codes: set[str]) -> list[dict[str, Any]]:
    """Return the imaging and run warnings once each, leaving out those the banner already gives as reasons.

    The run repeats the imaging warnings it saw, so duplicates are dropped by code and text.
    """
    seen: set[str] = set()
    warnings: list[dict[str, Any]] = []
    for warning in [*(radiograph.warnings if radiograph else []), *(run.warnings if run else [])]:
        key = f"{warning.get('code')}|{warning.get('message_en')}"
        if key not in seen and warning.get("code") not in exclude_codes:
            seen.add(key)
            warnings.append(warning)
    return warnings


def _provenance_rows(radiograph: Any) -> list[dict[str, Any]]:
    provenance = radiograph.provenance or {}
    spacing = radiograph.spacing or {}
    if not provenance:
        # The file was rejected before it was decoded, so nothing but its detected type was measured.
        return _unread_provenance_rows(radiograph)
    rows = [
        (_("File type"), radiograph.get_file_type_display()),
        (_("Decoder"), provenance.get("decoder")),
        (
            _("Transfer syntax"),
            provenance.get("transfer_syntax_name") or provenance.get("transfer_syntax_uid"),
        ),
        (_("Photometric interpretation"), _provenance_or_none(provenance.get("photometric_interpretation"))),
        (
            _("Bits stored / allocated"),
            _pair(provenance.get("bits_stored"), provenance.get("bits_allocated")),
        ),
        (_("Matrix (rows × columns)"), _pair(radiograph.rows, radiograph.columns, " × ")),
        (_("Frame"), _frame(provenance)),
        (_("Modality LUT"), _provenance_or_none(provenance.get("modality_lut"))),
        (_("VOI LUT / window"), _provenance_or_none(provenance.get("voi_lut"))),
        (_("Polarity inverted"), _("yes") if provenance.get("inverted") else _("no")),
        (_("Converted from colour"), _("yes") if provenance.get("derived_from_colour") else _("no")),
        (_("Pixel spacing"), _spacing(spacing)),
    ]
    notes = provenance.get("notes") or []
    if notes:
        rows.append((_("Notes"), "; ".join(provenance_text(note) for note in notes)))
    return [{"label": label, "value": value if value not in (None, "") else "–"} for label, value in rows]


def _unread_provenance_rows(radiograph: Any) -> list[dict[str, Any]]:
    study = radiograph.study
    reason = study.failure_message(get_language() or "ja") if study.status == Study.Status.FAILED else ""
    rows = [
        {"label": _("File type"), "value": radiograph.get_file_type_display()},
        {
            "label": _("Decoding"),
            "value": _("The file was not decoded, so no other imaging values were measured."),
        },
    ]
    if reason:
        rows.append({"label": _("Reason"), "value": reason})
    return rows


def _header_rows(radiograph: Any) -> list[dict[str, Any]]:
    header = radiograph.header or {}
    if not header:
        # The file was rejected before its header was read, so there is nothing to list.
        return []
    rows = [
        (_("Modality"), header.get("modality")),
        (_("Body part examined"), header.get("body_part_examined")),
        (_("View position"), header.get("view_position")),
        (_("Patient orientation"), header.get("patient_orientation")),
        (_("Laterality"), header.get("laterality")),
        (_("Manufacturer"), header.get("manufacturer")),
        (_("Study Instance UID"), header.get("study_instance_uid")),
        (_("SOP Instance UID"), header.get("sop_instance_uid")),
    ]
    return [{"label": label, "value": value} for label, value in rows]


def _orientation_note(run: AnalysisRun | None) -> str:
    """Return the note on which way the patient faces for the CAM regions, and where that side came from."""
    if run is None or not run.result:
        return ""
    geometry = run.result.get("cam_region_geometry") or {}
    side = geometry.get("anterior_side", "left")
    # Results stored before the source was recorded always assumed a patient facing left.
    source = geometry.get("anterior_side_source", "assumed")
    if source == "assumed":
        return str(
            _(
                "The file does not state which way the patient faces, so the patient is assumed to face left "
                "(anterior wall on the left of the image). If the patient faces right, the models saw a mirrored "
                "view and the anterior and posterior wall shares are swapped."
            )
        )
    if source == "stated":
        if side == "right":
            return str(
                _(
                    "The patient faces right (stated at upload): crops were mirrored for the models, and the "
                    "anterior wall is on the right of the image."
                )
            )
        return str(_("The patient faces left (stated at upload): the anterior wall is on the left of the image."))
    if side == "right":
        return str(
            _(
                "The patient faces right (DICOM Patient Orientation): crops were mirrored for the models, and "
                "the anterior wall is on the right of the image."
            )
        )
    return str(_("The patient faces left (DICOM Patient Orientation): the anterior wall is on the left of the image."))


def _pair(first: Any, second: Any, separator: str = " / ") -> str:
    if first in (None, "") and second in (None, ""):
        return ""
    return f"{first if first is not None else '–'}{separator}{second if second is not None else '–'}"


def _provenance_or_none(value: Any) -> str | None:
    return provenance_text(value) if value not in (None, "") else None


def _frame(provenance: dict[str, Any]) -> str:
    frames = provenance.get("number_of_frames") or 1
    index = provenance.get("frame_index") or 0
    return _("%(index)s of %(count)s (%(policy)s)") % {
        "index": index + 1,
        "count": frames,
        "policy": provenance_text(provenance.get("frame_policy", "")),
    }


def _spacing(spacing: dict[str, Any]) -> str:
    source = spacing.get("source", "unknown")
    if spacing.get("row_mm") is None or spacing.get("column_mm") is None:
        return str(spacing_source_label("unknown"))
    return _("%(row).3f × %(column).3f mm, from %(source)s") % {
        "row": float(spacing["row_mm"]),
        "column": float(spacing["column_mm"]),
        "source": spacing_source_label(source),
    }
