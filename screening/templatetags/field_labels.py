"""Translated labels for the stored keys that the trace, audit and bundle pages show."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Keys of the stored imaging provenance, header facts and pixel spacing, and of audit details.
FIELD_LABELS = {
    "file_type": _("File type"),
    "decoder": _("Decoder"),
    "transfer_syntax_uid": _("Transfer syntax UID"),
    "transfer_syntax_name": _("Transfer syntax"),
    "photometric_interpretation": _("Photometric interpretation"),
    "bits_allocated": _("Bits allocated"),
    "bits_stored": _("Bits stored"),
    "pixel_representation": _("Pixel representation"),
    "rows": _("Rows"),
    "columns": _("Columns"),
    "number_of_frames": _("Number of frames"),
    "frame_index": _("Frame index"),
    "frame_policy": _("Frame selection"),
    "modality_lut": _("Modality LUT"),
    "voi_lut": _("VOI LUT"),
    "window_center": _("Window center"),
    "window_width": _("Window width"),
    "inverted": _("Inverted"),
    "derived_from_colour": _("Converted from colour"),
    "notes": _("Notes"),
    "modality": _("Modality"),
    "sop_class_uid": _("SOP class UID"),
    "body_part_examined": _("Body part examined"),
    "view_position": _("View position"),
    "patient_orientation": _("Patient orientation"),
    "laterality": _("Laterality"),
    "patient_id": _("Patient ID"),
    "patient_sex": _("Sex"),
    "accession_number": _("Accession number"),
    "study_date": _("Study date"),
    "study_instance_uid": _("Study instance UID"),
    "series_instance_uid": _("Series instance UID"),
    "sop_instance_uid": _("SOP instance UID"),
    "manufacturer": _("Manufacturer"),
    "row_mm": _("Row spacing (mm)"),
    "column_mm": _("Column spacing (mm)"),
    "source": _("Spacing source"),
    "username": _("User name"),
    "date_from": _("From date"),
    "date_to": _("To date"),
    "language": _("Language"),
    "bytes": _("Size (bytes)"),
    "file": _("File"),
    "sha256": "SHA-256",
    "code": _("Code"),
    "run_id": _("Run ID"),
    "bundle_id": _("Bundle ID"),
    "endpoint": _("Endpoint"),
    "export": _("Export"),
    "api": _("Through the API"),
    "demo": _("Demo"),
    "path": _("Folder"),
    "name": _("Name"),
    "version": _("Version"),
}

# Stage names of the screening pipeline's timings; classify_<architecture> is handled separately.
STAGE_LABELS = {
    "detection": _("Detection"),
    "crops": _("Cropping"),
    "classification": _("Classification (all models)"),
    "gradcam": _("Grad-CAM"),
    "regions": _("Grad-CAM regions"),
    "overlays": _("Overlay images"),
    "total": _("Total"),
}

# Object types of audit events, which are Django model names.
OBJECT_TYPE_LABELS = {
    "study": _("study"),
    "user": _("user"),
    "modelbundle": _("model bundle"),
    "review": _("review"),
    "finding": _("finding"),
    "screeningrun": _("screening run"),
}

# Training and evaluation metric names from the bundle manifest, flattened with dots.
METRIC_PART_LABELS = {
    "train": _("Training"),
    "val": _("Validation"),
    "validation": _("Validation"),
    "test": _("Test"),
    "images": _("images"),
    "vertebrae": _("vertebrae"),
    "normal": _("normal"),
    "old": _("old fracture"),
    "fresh": _("fresh fracture"),
    "test_images": _("Test images"),
    "detection_map50": _("Detection mAP@0.5"),
    "test_vertebrae": _("Test vertebrae"),
    "accuracy": _("Accuracy"),
    "macro_sensitivity": _("Macro-averaged sensitivity"),
    "macro_specificity": _("Macro-averaged specificity"),
    "macro_auc": _("Macro-averaged AUC"),
    "fresh_sensitivity_at_threshold": _("Fresh-fracture sensitivity at the threshold"),
    "fresh_specificity_at_threshold": _("Fresh-fracture specificity at the threshold"),
    "mri_rule_sensitivity": _("MRI recommendation sensitivity"),
    "mri_rule_specificity": _("MRI recommendation specificity"),
}

# Keys of a bundle's thresholds block and of the thresholds a run stored.
THRESHOLD_LABELS = {
    "fresh": _("Fresh-fracture threshold"),
    "source": _("Source, as written in the bundle manifest"),
    "target_sensitivity": _("Target fresh-fracture sensitivity"),
}
