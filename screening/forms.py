"""Forms of the pages: upload with patient details, and the study list filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from screening.date_checks import check_birth_before_study, check_birth_date, check_study_date
from screening.models import Radiograph, Study
from screening.services.studies import StudyFilters
from screening.units import format_bytes

# File signatures checked before upload so that a PNG or JPEG without a patient ID is rejected early.
# The file type itself is decided later by decoding the file, never by these bytes alone.
DICOM_MAGIC_OFFSET = 128
DICOM_MAGIC = b"DICM"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def sniff_file_kind(uploaded: UploadedFile) -> str:
    """Return "dicom", "png", "jpeg" or "other" from the first bytes of an upload, then rewind it."""
    uploaded.seek(0)
    head = uploaded.read(DICOM_MAGIC_OFFSET + len(DICOM_MAGIC))
    uploaded.seek(0)
    if head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + len(DICOM_MAGIC)] == DICOM_MAGIC:
        return "dicom"
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    return "other"


class DateInput(forms.DateInput):
    input_type = "date"


class PatientDetailsForm(forms.Form):
    """Patient and study details typed in for a file whose header carries none (PNG, JPEG)."""

    patient_id = forms.CharField(label=_("Patient ID"), max_length=64, required=False)
    patient_name = forms.CharField(label=_("Patient name"), max_length=200, required=False)
    patient_birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=DateInput, validators=[check_birth_date]
    )
    patient_sex = forms.ChoiceField(label=_("Sex"), choices=Study.Sex.choices, required=False)
    accession_number = forms.CharField(label=_("Accession number"), max_length=64, required=False)
    study_date = forms.DateField(
        label=_("Study date"), required=False, widget=DateInput, validators=[check_study_date]
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            check_birth_before_study(cleaned.get("patient_birth_date"), cleaned.get("study_date"))
        except forms.ValidationError as error:
            self.add_error("patient_birth_date", error)
        return cleaned


# Shared by the upload page and the API schema.
FACING_HELP_TEXT = _(
    "Which side of the image the patient's front (anterior) is on. The models were trained with the "
    "anterior side on the left, so a film of a patient facing right is mirrored for them. PNG and JPEG "
    "files do not record the side, and neither do many DICOM files: without a choice here they are read "
    "as facing left. Applies to every file of this upload."
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files and cleans each of them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = list(data) if isinstance(data, (list, tuple)) else [data]
        # An empty selection is cleaned as one missing file, so that "required" applies.
        return [super(MultipleFileField, self).clean(item, initial) for item in items or [None]]


class UploadForm(PatientDetailsForm):
    """One or more radiograph files with optional patient details that apply to each of them."""

    radiographs = MultipleFileField(
        label=_("Radiograph files"),
        help_text=_("DICOM, PNG or JPEG. Lateral lumbar radiographs only."),
        widget=MultipleFileInput(
            attrs={"accept": ".dcm,.dicom,.png,.jpg,.jpeg,application/dicom,image/png,image/jpeg"}
        ),
        allow_empty_file=True,
        max_length=255,
    )

    facing = forms.ChoiceField(
        label=_("Patient faces"),
        choices=Radiograph.Facing.choices,
        required=False,
        initial=Radiograph.Facing.FROM_FILE,
        widget=forms.RadioSelect,
        help_text=FACING_HELP_TEXT,
        error_messages={
            "invalid_choice": _(
                '"%(value)s" is not a valid side for "Patient faces". Choose from the file, left or right.'
            )
        },
    )

    def clean_radiographs(self) -> list[UploadedFile]:
        uploaded_files: list[UploadedFile] = self.cleaned_data["radiographs"]
        for uploaded in uploaded_files:
            check_upload_size(uploaded)
        return uploaded_files

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "radiographs" in cleaned:
            check_patient_id_given(cleaned["radiographs"], cleaned.get("patient_id", ""))
        return cleaned

    def patient_details(self) -> dict[str, Any]:
        """Return the entered patient details without the files and the stated facing."""
        return {
            name: value for name, value in self.cleaned_data.items() if name not in ("radiographs", "facing")
        }

    def stated_facing(self) -> str:
        """Return "left" or "right" as stated, or "" to take the side from the file."""
        return str(self.cleaned_data.get("facing") or "")


def check_patient_id_given(uploaded_files: Iterable[UploadedFile], patient_id: str | None) -> None:
    """Raise ValidationError (code "patient_id_required") for a PNG or JPEG upload without a patient ID.

    The upload page and the API share this rule, because such files carry no
    header from which ingest could read the patient.
    """
    if patient_id and patient_id.strip():
        return
    for uploaded in uploaded_files:
        if sniff_file_kind(uploaded) in ("png", "jpeg"):
            raise forms.ValidationError(
                _(
                    "%(name)s is a PNG or JPEG file, which carries no patient details: enter at least the patient ID."
                ),
                code="patient_id_required",
                params={"name": uploaded.name},
            )


def check_upload_size(uploaded: UploadedFile) -> None:
    """Raise ValidationError for an empty file or one over ``OLVF_MAX_UPLOAD_BYTES``."""
    if not uploaded.size:
        raise forms.ValidationError(
            _("%(name)s is empty (0 bytes). Choose the radiograph file again."),
            code="empty",
            params={"name": uploaded.name},
        )
    limit = settings.OLVF_MAX_UPLOAD_BYTES
    if uploaded.size > limit:
        raise forms.ValidationError(
            _(
                "%(name)s is %(size)s, more than the limit of %(limit)s. Export the radiograph without extra frames or at a lower bit depth."
            ),
            code="too_large",
            params={
                "name": uploaded.name,
                "size": format_bytes(uploaded.size),
                "limit": format_bytes(limit),
            },
        )


YES_NO_CHOICES = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


class StudyFilterForm(forms.Form):
    """Search and filters of the study list, read from the query string."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Patient ID, name or accession number")}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + list(Study.Status.choices)
    )
    mri_recommended = forms.ChoiceField(label=_("MRI recommended"), required=False, choices=YES_NO_CHOICES)
    not_assessable = forms.ChoiceField(label=_("Not assessable"), required=False, choices=YES_NO_CHOICES)
    # The study query service compares these with the study date, or the upload date when there is none.
    date_from = forms.DateField(label=_("Date from"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("Date until"), required=False, widget=DateInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise forms.ValidationError(_("The start date is after the end date."), code="date_order")
        return cleaned

    def filter_values(self) -> dict[str, Any]:
        """Return the valid filters with "yes"/"no" turned into booleans and empty values dropped."""
        if not self.is_valid():
            return {}
        values: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            if name in ("mri_recommended", "not_assessable"):
                value = value == "yes"
            values[name] = value
        return values

    def study_filters(self) -> StudyFilters:
        """Return the valid filters as the study query service takes them."""
        values = self.filter_values()
        if "q" in values:
            values["query"] = values.pop("q")
        return StudyFilters(**values)
