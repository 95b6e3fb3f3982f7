"""Header facts of a DICOM dataset and the warnings they raise.

Values are read defensively: a malformed text or number in an attribute that
only informs the user never stops a radiograph from being read.
"""

from __future__ import annotations

import logging
import math

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from inference.imaging import messages
from inference.imaging.types import HeaderFacts, ImagingWarning

logger = logging.getLogger(__name__)

# Body Part Examined values that cover the lumbar spine. They are compared
# without spaces, hyphens or underscores, so "L-SPINE" matches LSPINE.
LUMBAR_BODY_PARTS = frozenset(
    {
        "LSPINE",
        "LSSPINE",
        "TLSPINE",
        "SPINE",
        "WHOLESPINE",
        "LUMBAR",
        "LUMBARSPINE",
        "LUMBOSACRAL",
        "LUMBOSACRALSPINE",
        "THORACOLUMBAR",
        "THORACOLUMBARSPINE",
    }
)

# Projection radiography modalities: computed and digital radiography, and the
# older RG (radiographic imaging) and retired DR codes.
PROJECTION_MODALITIES = frozenset({"CR", "DX", "RG", "DR"})

# Modalities that do not name how the image was made, such as the OT that
# Secondary Capture objects often carry. They pass without a blocking warning.
UNSPECIFIED_MODALITIES = frozenset({"OT", "SC"})

# View Position values of frontal projections; the screening models expect a lateral view.
FRONTAL_VIEW_POSITIONS = frozenset({"AP", "PA"})

# Secondary Capture Image Storage and the four multi-frame Secondary Capture classes.
SECONDARY_CAPTURE_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",
        "1.2.840.10008.5.1.4.1.1.7.1",
        "1.2.840.10008.5.1.4.1.1.7.2",
        "1.2.840.10008.5.1.4.1.1.7.3",
        "1.2.840.10008.5.1.4.1.1.7.4",
    }
)

# Errors pydicom raises when it converts a malformed raw element value.
_VALUE_ERRORS = (ValueError, TypeError, KeyError, LookupError, OverflowError, NotImplementedError)


def text_value(ds: Dataset, keyword: str) -> str | None:
    """Return an attribute as stripped text (several values joined by a backslash), or None."""
    try:
        value = ds.get(keyword)
    except _VALUE_ERRORS as error:
        logger.warning("Ignoring unreadable DICOM attribute %s: %s", keyword, error)
        return None
    if value is None:
        return None
    if isinstance(value, MultiValue | list | tuple):
        text = "\\".join(str(item) for item in value)
    elif isinstance(value, bytes):
        text = value.decode("latin-1")
    else:
        text = str(value)
    text = text.strip().strip("\x00").strip()
    return text or None


def raw_text(ds: Dataset, keyword: str) -> str | None:
    """Return the unconverted text of a DS or IS attribute, or None when absent.

    pydicom's own conversion raises or warns on malformed numbers, so numeric
    strings that decide the geometry or the window are parsed here instead.
    """
    tag = tag_for_keyword(keyword)
    if tag is None or tag not in ds:
        return None
    value = ds.get_item(tag).value
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \x00")
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(_original_string(item) for item in value)
    return _original_string(value)


def _original_string(value: object) -> str:
    # pydicom's DSfloat and IS keep the text they were parsed from.
    original = getattr(value, "original_string", None)
    return str(original if original is not None else value).strip()


def parse_decimals(text: str) -> tuple[float, ...] | None:
    """Parse a backslash-separated list of decimal numbers, or return None when any value is invalid or non-finite."""
    parts = [part.strip() for part in text.split("\\")]
    values: list[float] = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        values.append(number)
    return tuple(values)


def decimal_values(ds: Dataset, keyword: str) -> tuple[float, ...] | None:
    """Return the numbers of a DS or IS attribute, or None when it is absent, empty or malformed."""
    text = raw_text(ds, keyword)
    if not text:
        return None
    return parse_decimals(text)


def read_header(ds: Dataset) -> HeaderFacts:
    """Collect the header facts a clinician or auditor needs."""
    return HeaderFacts(
        modality=text_value(ds, "Modality"),
        sop_class_uid=text_value(ds, "SOPClassUID"),
        body_part_examined=text_value(ds, "BodyPartExamined"),
        view_position=text_value(ds, "ViewPosition"),
        patient_orientation=text_value(ds, "PatientOrientation"),
        laterality=text_value(ds, "ImageLaterality") or text_value(ds, "Laterality"),
        patient_id=text_value(ds, "PatientID"),
        patient_name=text_value(ds, "PatientName"),
        patient_birth_date=text_value(ds, "PatientBirthDate"),
        patient_sex=text_value(ds, "PatientSex"),
        accession_number=text_value(ds, "AccessionNumber"),
        study_date=text_value(ds, "StudyDate"),
        study_instance_uid=text_value(ds, "StudyInstanceUID"),
        series_instance_uid=text_value(ds, "SeriesInstanceUID"),
        sop_instance_uid=text_value(ds, "SOPInstanceUID"),
        manufacturer=text_value(ds, "Manufacturer"),
    )


def sop_class_name(sop_class_uid: str | None) -> str:
    """Return the DICOM name of a SOP class, or the UID itself when it is unknown."""
    if not sop_class_uid:
        return "DICOM (no SOP Class UID)"
    name = UID(sop_class_uid).name
    return name if name and name != sop_class_uid else sop_class_uid


def is_image_storage_class(sop_class_uid: str) -> bool:
    """Return True for a storage SOP class of an image, such as "Digital X-Ray Image Storage - For Presentation"."""
    # pydicom's UID dictionary gives every image storage class a name containing "Image Storage".
    return "Image Storage" in UID(sop_class_uid).name


def is_lumbar_body_part(body_part: str) -> bool:
    normalised = body_part.upper().replace(" ", "").replace("-", "").replace("_", "")
    return normalised in LUMBAR_BODY_PARTS or "LSPINE" in normalised or "LUMB" in normalised


def header_warnings(header: HeaderFacts) -> list[ImagingWarning]:
    """Return the warnings that the body part, modality, view position and SOP class raise."""
    warnings: list[ImagingWarning] = []
    if header.body_part_examined and not is_lumbar_body_part(header.body_part_examined):
        warnings.append(messages.body_part_not_lumbar(header.body_part_examined))
    modality = (header.modality or "").upper()
    if modality and modality not in PROJECTION_MODALITIES | UNSPECIFIED_MODALITIES:
        warnings.append(messages.modality_not_projection(header.modality or ""))
    view_position = (header.view_position or "").upper()
    if view_position in FRONTAL_VIEW_POSITIONS:
        warnings.append(messages.view_not_lateral(view_position))
    if header.sop_class_uid in SECONDARY_CAPTURE_SOP_CLASSES:
        warnings.append(messages.secondary_capture())
    return warnings
