"""Template tags and filters for the pages: roles, translated labels and stored en/ja messages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext_lazy as _

from screening import roles
from screening.models import AnalysisRun, AuditEvent, Radiograph, Study
from screening.templatetags.field_labels import (
    DETAIL_VALUE_LABELS,
    FIELD_LABELS,
    METRIC_PART_LABELS,
    OBJECT_TYPE_LABELS,
    STAGE_LABELS,
    THRESHOLD_LABELS,
)
from screening.templatetags.markdown_subset import render_markdown_subset
from screening.units import format_bytes

register = template.Library()

_MAP_SOURCE = re.compile(r" ?\((ensemble|resnet50|densenet161|resnext50_32x4d)\)")

CLASS_LABELS = {
    "normal": _("Normal"),
    "old": _("Old fracture"),
    "fresh": _("Fresh fracture"),
}

REGION_LABELS = {
    "anterior_wall": _("Anterior wall"),
    "posterior_wall": _("Posterior wall"),
    "superior_endplate": _("Superior endplate"),
    "inferior_endplate": _("Inferior endplate"),
    "centre": _("Centre"),
    "outside": _("Outside the body"),
}

MODEL_LABELS = {
    "ensemble": _("Ensemble"),
    "resnet50": "ResNet-50",
    "densenet161": "DenseNet-161",
    "resnext50_32x4d": "ResNeXt-50 (32x4d)",
}

SPACING_SOURCE_LABELS = {
    "pixel_spacing": _("Pixel Spacing (patient plane)"),
    "imager_pixel_spacing": _("Imager Pixel Spacing (detector plane, not corrected for magnification)"),
    "imager_pixel_spacing_corrected": _("Imager Pixel Spacing corrected for magnification"),
    "unknown": _("Unknown"),
}


@register.filter
def binary_size(num_bytes: Any) -> str:
    """Format a byte count in KiB, MiB or GiB, the unit the API messages use too."""
    try:
        return format_bytes(int(num_bytes))
    except (TypeError, ValueError):
        return ""


@register.simple_tag
def user_roles(user: Any) -> dict[str, bool]:
    """Return which roles ``user`` holds, for showing only the links that user may follow."""
    return {
        "clinician": roles.is_clinician(user),
        "manager": roles.is_manager(user),
        "admin": roles.is_admin(user),
    }


@register.filter
def localized_message(message: Any) -> str:
    """Return the text of a stored message (``message_en``/``message_ja``) in the active language."""
    if not isinstance(message, dict):
        return str(message)
    japanese = (get_language() or "ja").startswith("ja")
    text = message.get("message_ja") if japanese else message.get("message_en")
    if japanese and text and str(message.get("code", "")).startswith("cam_"):
        # NOTE: results stored before the pipeline named the map in Japanese read "L1 (ensemble)" in
        # both languages; this rewrite keeps those readable.
        text = _MAP_SOURCE.sub(lambda match: f"（{model_label(match.group(1))}）", str(text))
    return str(text or message.get("message_en") or message.get("code") or "")


@register.filter
def class_label(name: str) -> str:
    """Return the translated name of a class ("normal", "old", "fresh")."""
    return str(CLASS_LABELS.get(name, name))


@register.filter
def region_label(name: str) -> str:
    """Return the translated name of a Grad-CAM region of the vertebral body."""
    return str(REGION_LABELS.get(name, name))


@register.filter
def model_label(name: str) -> str:
    """Return the display name of a classifier architecture or of the ensemble."""
    return str(MODEL_LABELS.get(name, name))


@register.filter
def spacing_source_label(name: str) -> str:
    """Return the translated description of where a pixel spacing came from."""
    return str(SPACING_SOURCE_LABELS.get(name, name))


@register.filter
def percent(value: Any, digits: int = 1) -> str:
    """Format a probability or share in 0..1 as a percentage; an empty value gives a dash."""
    if value is None or value == "":
        return "–"
    try:
        return f"{float(value) * 100:.{int(digits)}f} %"
    except (TypeError, ValueError):
        return "–"


@register.filter
def percent_width(value: Any) -> str:
    """Return a probability in 0..1 as a CSS width clamped to 0..100 %."""
    try:
        share = min(max(float(value), 0.0), 1.0)
    except (TypeError, ValueError):
        share = 0.0
    return f"{share * 100:.1f}%"


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """Return ``mapping[key]``, or None when the mapping or the key is missing."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.filter
def field_label(key: Any) -> str:
    """Return the translated label of a stored provenance, header or audit key, or the key itself when unknown."""
    return str(FIELD_LABELS.get(str(key), key))


@register.filter
def field_value(value: Any) -> str:
    """Format a stored value for reading: yes/no for booleans, "none" for empty values, lists joined by commas."""
    if isinstance(value, bool):
        return str(pgettext("boolean value", "yes") if value else pgettext("boolean value", "no"))
    if value is None or value == "" or value == [] or value == () or value == {}:
        return str(_("none"))
    if isinstance(value, (list, tuple)):
        return ", ".join(field_value(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_label(key)}: {detail_value(key, item)}" for key, item in value.items())
    return str(value)


def _choice_labels(key: str) -> dict[str, Any]:
    """Return the translated labels of the fixed values stored under an audit detail ``key``."""
    if key == "status":
        return dict(Study.Status.choices)
    if key == "result_status":
        return dict(AnalysisRun.ResultStatus.choices)
    if key == "action":
        return dict(AuditEvent.Action.choices)
    if key in ("model_class", "corrected_class"):
        return dict(CLASS_LABELS)
    if key == "object_type":
        return dict(OBJECT_TYPE_LABELS)
    if key == "stated_facing":
        return {value: label for value, label in Radiograph.Facing.choices if value}
    if key in ("mri_recommended", "not_assessable"):
        # The study list stores these filters as the strings "True" and "False".
        return {"True": pgettext("boolean value", "yes"), "False": pgettext("boolean value", "no")}
    return DETAIL_VALUE_LABELS.get(key, {})


def detail_value(key: Any, value: Any) -> str:
    """Format the value of an audit detail ``key``, translating the fixed values that the key stores."""
    labels = _choice_labels(str(key))
    if isinstance(value, str) and value in labels:
        return str(labels[value])
    if isinstance(value, list) and labels:
        return ", ".join(
            str(labels.get(item, item)) if isinstance(item, str) else field_value(item) for item in value
        )
    return field_value(value)


@register.filter
def stage_label(stage: Any) -> str:
    """Return the translated name of a pipeline timing stage, such as "classify_resnet50"."""
    name = str(stage)
    if name.startswith("classify_"):
        return str(_("Classification: %(model)s") % {"model": model_label(name.removeprefix("classify_"))})
    return str(STAGE_LABELS.get(name, name))


@register.filter
def object_type_label(object_type: Any) -> str:
    """Return the translated name of an audit event's object type (a Django model name)."""
    return str(OBJECT_TYPE_LABELS.get(str(object_type), object_type))


@register.filter
def metric_label(key: Any) -> str:
    """Return the translated name of a dotted manifest metric key such as "train.vertebrae.old"."""
    name = str(key)
    if name in METRIC_PART_LABELS:
        return str(METRIC_PART_LABELS[name])
    return " / ".join(str(METRIC_PART_LABELS.get(part, part)) for part in name.split("."))


@register.filter
def detail_items(details: Any) -> list[tuple[str, str]]:
    """Return audit details as (translated label, readable value) rows instead of a Python dict repr."""
    if not isinstance(details, dict):
        return [("", field_value(details))] if details not in (None, "", {}) else []
    return [(field_label(key), detail_value(key, value)) for key, value in details.items()]


_WINDOW = re.compile(r"window center=(\S+) width=(\S+) function=(\S+)$")
_RESCALE = re.compile(r"rescale slope=(\S+) intercept=(\S+)(.*)$")
_PERCENTILE = re.compile(r"percentile window p(\S+)\.\.p(\S+) \((.*)\)$")
_CHOSEN_FRAME = re.compile(r"frame (\d+) of (\d+), chosen by the caller$")
_PILLOW_MODE = re.compile(r"Pillow mode (\S+)$")
_EIGHT_BIT_AS_STORED = re.compile(r"none \(8-bit values used as stored, 0\.\.(\S+) maps to 0\.\.1\)$")
_COLOUR_FULL_RANGE = re.compile(r"none \(colour, full stored range 0\.\.(\S+)\)$")
_INVERTED = re.compile(r"inverted once after windowing \((.*)\)$")
_EXIF_ORIENTATION = re.compile(r"EXIF orientation (\S+) applied$")
# Texts that inference.imaging stores in the provenance and its notes, in English, keyed by that text.
_FIXED_PROVENANCE_TEXT = {
    "none": _("none"),
    "none (colour)": _("none (colour image)"),
    "single frame": _("single frame"),
    "modality LUT sequence": _("Modality LUT Sequence"),
    "voi lut sequence": _("VOI LUT Sequence"),
    "palette colour expanded with the Palette Color Lookup Table": _(
        "palette colour expanded with the Palette Color Lookup Table"
    ),
    "colour pixels with equal channels read as grayscale": _(
        "colour pixels with equal channels read as grayscale"
    ),
    "Modality LUT Sequence is malformed and was ignored": _(
        "Modality LUT Sequence is malformed and was ignored"
    ),
    "VOI LUT Sequence is malformed and was ignored": _("VOI LUT Sequence is malformed and was ignored"),
    "1-bit image expanded to 8 bits": _("1-bit image expanded to 8 bits"),
    "palette expanded to RGB": _("palette expanded to RGB"),
    "opaque alpha channel ignored": _("opaque alpha channel ignored"),
    "16-bit colour PNG reduced to 8 bits per channel by Pillow": _(
        "16-bit colour PNG reduced to 8 bits per channel by Pillow"
    ),
}


@register.filter
def provenance_text(value: Any) -> str:
    """Translate a provenance description recorded by the image reader, such as "window center=… width=…".

    Descriptions of an unknown form are returned unchanged, in the reader's English.
    """
    text = str(value)
    if text in _FIXED_PROVENANCE_TEXT:
        return str(_FIXED_PROVENANCE_TEXT[text])
    if match := _WINDOW.match(text):
        return str(
            _("window center %(center)s, width %(width)s (%(function)s)")
            % {"center": match.group(1), "width": match.group(2), "function": match.group(3)}
        )
    if match := _RESCALE.match(text):
        translated = _("rescale slope %(slope)s, intercept %(intercept)s") % {
            "slope": match.group(1),
            "intercept": match.group(2),
        }
        return str(translated) + match.group(3)
    if match := _PERCENTILE.match(text):
        return str(
            _("percentile window p%(low)s–p%(high)s (%(window)s)")
            % {"low": match.group(1), "high": match.group(2), "window": provenance_text(match.group(3))}
        )
    if match := _CHOSEN_FRAME.match(text):
        return str(_("frame chosen at upload"))
    return _measured_provenance_text(text)


def _measured_provenance_text(text: str) -> str:
    """Translate the provenance descriptions that carry a measured value, or return ``text`` unchanged."""
    if match := _PILLOW_MODE.match(text):
        return str(_("Pillow mode %(mode)s") % {"mode": match.group(1)})
    if match := _EIGHT_BIT_AS_STORED.match(text):
        return str(
            _("none (8-bit values used as stored, 0..%(maximum)s maps to 0..1)") % {"maximum": match.group(1)}
        )
    if match := _COLOUR_FULL_RANGE.match(text):
        return str(_("none (colour, full stored range 0..%(maximum)s)") % {"maximum": match.group(1)})
    if match := _INVERTED.match(text):
        # The reasons are DICOM attribute values (MONOCHROME1, Presentation LUT Shape INVERSE).
        reasons = match.group(1).replace(" and ", ", ")
        return str(_("inverted once after windowing (%(reasons)s)") % {"reasons": reasons})
    if match := _EXIF_ORIENTATION.match(text):
        return str(_("EXIF orientation %(orientation)s applied") % {"orientation": match.group(1)})
    return text


@register.filter
def provenance_value(value: Any) -> str:
    """Format a stored provenance value for reading, translating the reader's English descriptions."""
    if isinstance(value, str) and value:
        return provenance_text(value)
    if isinstance(value, (list, tuple)) and value:
        return "; ".join(provenance_value(item) for item in value)
    return field_value(value)


@register.filter
def markdown_subset(text: Any) -> SafeString:
    """Render a model card's Markdown headings, lists, tables and paragraphs, with all text escaped."""
    return mark_safe(render_markdown_subset(str(text or "")))  # noqa: S308 - every text piece is escaped


@register.filter
def threshold_label(key: Any) -> str:
    """Return the translated label of a threshold key ("fresh", "source", "target_sensitivity")."""
    return str(THRESHOLD_LABELS.get(str(key), key))


@register.filter
def iso_timestamp(value: Any) -> str:
    """Format an ISO 8601 timestamp string, such as a manifest's "2026-12-04T23:53:38Z", as local time.

    A naive timestamp is read as UTC. Text that is not an ISO 8601 timestamp is returned unchanged.
    """
    if value in (None, ""):
        return "–"
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


@register.filter
def threshold_value(value: Any) -> str:
    """Format a bundle threshold: a probability as a percentage with one decimal, other values as text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return percent(value)
