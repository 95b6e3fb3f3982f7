"""Serializers of the REST API: upload input, list filters, and the study list and detail output."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from screening.date_checks import check_birth_before_study, check_birth_date, check_study_date
from screening.forms import check_patient_id_given
from screening.models import AnalysisRun, Radiograph, Study, VertebraFinding
from screening.services.studies import StudyFilters, current_run_of


def _language() -> str:
    return translation.get_language() or "ja"


def _localised(item: dict[str, Any]) -> dict[str, Any]:
    """Return a stored en/ja message as code + message in the request's language, keeping both texts."""
    language = _language()
    text = item.get("message_ja") if language.startswith("ja") else item.get("message_en")
    return {**item, "message": text or item.get("message_en", "")}


def _file_url(study_id: int, name: str) -> str | None:
    if not name:
        return None
    return reverse("api-study-file", kwargs={"pk": study_id, "name": name})


# Also the message for a well-formed day that does not exist, such as 2023-02-29.
_INVALID_DATE = _("Enter a date that exists, written as YYYY-MM-DD.")


def _patient_date_field(check: Callable[[date | None], None]) -> serializers.DateField:
    """Return an optional date field that takes only YYYY-MM-DD and then applies ``check``."""
    # DRF's default ISO parsing also takes 20200505 and week dates such as 2020-W01-1.
    return serializers.DateField(
        required=False,
        allow_null=True,
        input_formats=["%Y-%m-%d"],
        validators=[check],
        error_messages={"invalid": _INVALID_DATE},
    )


class StudyUploadSerializer(serializers.Serializer):
    """Multipart upload of one radiograph; patient fields are used only where a DICOM header has none."""

    file = serializers.FileField(allow_empty_file=True, use_url=False)
    patient_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    patient_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    patient_birth_date = _patient_date_field(check_birth_date)
    patient_sex = serializers.ChoiceField(choices=Study.Sex.choices, required=False, allow_blank=True)
    accession_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    study_date = _patient_date_field(check_study_date)
    facing = serializers.ChoiceField(
        choices=[Radiograph.Facing.LEFT, Radiograph.Facing.RIGHT],
        required=False,
        allow_blank=True,
        help_text=(
            'Which way the patient faces: "left" (anterior side on the left of the image) or "right". '
            "Overrides DICOM Patient Orientation (0020,0020). Leave it out or blank to take the side from "
            "the DICOM header, else to assume left. The models were trained with the anterior side on the "
            "left, so a film of a patient facing right is mirrored for them."
        ),
        error_messages={
            "invalid_choice": _(
                '"{input}" is not a valid facing. Use "left" or "right", or leave the field out to take '
                "the side from the file."
            )
        },
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A multipart field sent twice would otherwise take its last value unchecked, so reject it.
        if hasattr(data, "getlist"):
            repeated = {
                name: [
                    ErrorDetail(
                        _("This field was sent %(count)d times. Send it once.") % {"count": count},
                        code="repeated",
                    )
                ]
                for name in self.fields
                if (count := len(data.getlist(name))) > 1
            }
            if repeated:
                raise serializers.ValidationError(repeated)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            check_patient_id_given([attrs["file"]], attrs.get("patient_id", ""))
        except DjangoValidationError as error:
            message = error.messages[0]
            raise serializers.ValidationError(
                {"patient_id": [ErrorDetail(message, code="patient_id_required")]}
            ) from error
        try:
            check_birth_before_study(attrs.get("patient_birth_date"), attrs.get("study_date"))
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                {"patient_birth_date": [ErrorDetail(error.messages[0], code=error.code)]}
            ) from error
        return attrs


class StudyFilterSerializer(serializers.Serializer):
    """Query parameters of the study list."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    status = serializers.ChoiceField(choices=Study.Status.choices, required=False, allow_blank=True)
    mri_recommended = serializers.BooleanField(required=False, allow_null=True, default=None)
    not_assessable = serializers.BooleanField(required=False, allow_null=True, default=None)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError({"date_to": _("date_to must not be before date_from.")})
        return attrs

    def to_filters(self) -> StudyFilters:
        """Return the validated parameters as StudyFilters."""
        data = self.validated_data
        return StudyFilters(
            query=data.get("q", ""),
            status=data.get("status", ""),
            mri_recommended=data.get("mri_recommended"),
            not_assessable=data.get("not_assessable"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


_REASON_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "message_en": {"type": "string"},
        "message_ja": {"type": "string"},
    },
}


class FailureSerializerMixin(serializers.Serializer):
    """Adds ``failure`` (a FAILED study) and ``waiting`` (a QUEUED study held back, for example
    until a model bundle is active): the code and the reason in the request's language, or null."""

    failure = serializers.SerializerMethodField()
    waiting = serializers.SerializerMethodField()

    @extend_schema_field(_REASON_SCHEMA)
    def get_failure(self, study: Study) -> dict[str, str] | None:
        if study.status != Study.Status.FAILED:
            return None
        return _study_reason(study)

    @extend_schema_field(_REASON_SCHEMA)
    def get_waiting(self, study: Study) -> dict[str, str] | None:
        if study.status != Study.Status.QUEUED or not study.failure_code:
            return None
        return _study_reason(study)


def _study_reason(study: Study) -> dict[str, str]:
    return _localised(
        {
            "code": study.failure_code,
            "message_en": study.failure_message_en,
            "message_ja": study.failure_message_ja,
        }
    )


class StudyListSerializer(FailureSerializerMixin, serializers.ModelSerializer):
    """One row of the study list."""

    file_type = serializers.CharField(source="radiograph.file_type", default=None, read_only=True)
    bundle = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = [
            "id",
            "url",
            "patient_id",
            "patient_name",
            "patient_birth_date",
            "patient_sex",
            "accession_number",
            "study_date",
            "status",
            "mri_recommended",
            "not_assessable",
            "failure",
            "waiting",
            "file_type",
            "bundle",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "demo": {"type": "boolean"},
            },
        }
    )
    def get_bundle(self, study: Study) -> dict[str, Any] | None:
        run = study.current_run
        if run is None:
            return None
        return {"name": run.bundle_name, "version": run.bundle_version, "demo": run.is_demo}

    def get_url(self, study: Study) -> str:
        return reverse("api-study-detail", kwargs={"pk": study.pk})


class RadiographSerializer(serializers.ModelSerializer):
    """The stored original and what reading it found."""

    original_url = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    stated_facing = serializers.SerializerMethodField()

    class Meta:
        model = Radiograph
        fields = [
            "original_filename",
            "original_url",
            "sha256",
            "size_bytes",
            "file_type",
            "rows",
            "columns",
            "spacing",
            "provenance",
            "header",
            "warnings",
            "stated_facing",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["left", "right"], "nullable": True})
    def get_stated_facing(self, radiograph: Radiograph) -> str | None:
        """Return the side stated at upload, or None when the side comes from the file."""
        return radiograph.stated_facing or None

    def get_original_url(self, radiograph: Radiograph) -> str:
        return reverse("api-study-original", kwargs={"pk": radiograph.study_id})

    def get_warnings(self, radiograph: Radiograph) -> list[dict[str, Any]]:
        return [_localised(item) for item in radiograph.warnings]


class FindingSerializer(serializers.ModelSerializer):
    """One vertebra of a run."""

    box = serializers.SerializerMethodField()
    overlay_urls = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = VertebraFinding
        fields = [
            "level",
            "box",
            "detection_confidence",
            "predicted_class",
            "ensemble_probabilities",
            "model_probabilities",
            "model_predicted_classes",
            "cam_regions",
            "overlay_urls",
            "crop_url",
            "warnings",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4})
    def get_box(self, finding: VertebraFinding) -> list[float]:
        return [finding.box_x1, finding.box_y1, finding.box_x2, finding.box_y2]

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_overlay_urls(self, finding: VertebraFinding) -> dict[str, str | None]:
        study_id = self.context["study_id"]
        return {name: _file_url(study_id, path) for name, path in finding.overlays.items()}

    def get_crop_url(self, finding: VertebraFinding) -> str | None:
        return _file_url(self.context["study_id"], finding.crop_file)

    def get_warnings(self, finding: VertebraFinding) -> list[dict[str, Any]]:
        return [_localised(item) for item in finding.warnings]


class RunSerializer(serializers.ModelSerializer):
    """One analysis run: the bundle, the outcome, and how it was computed."""

    not_assessable_reasons = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    overview_overlay_url = serializers.SerializerMethodField()
    full_image_cam_overlay_urls = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisRun
        fields = [
            "id",
            "status",
            "result_status",
            "bundle_name",
            "bundle_version",
            "bundle_manifest_sha256",
            "is_demo",
            "not_assessable_reasons",
            "warnings",
            "thresholds",
            "timings_ms",
            "worker",
            "device",
            "overview_overlay_url",
            "full_image_cam_overlay_urls",
            "findings",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_not_assessable_reasons(self, run: AnalysisRun) -> list[dict[str, Any]]:
        return [_localised(item) for item in run.not_assessable_reasons]

    def get_warnings(self, run: AnalysisRun) -> list[dict[str, Any]]:
        return [_localised(item) for item in run.warnings]

    def get_overview_overlay_url(self, run: AnalysisRun) -> str | None:
        return _file_url(run.study_id, run.overview_overlay)

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_full_image_cam_overlay_urls(self, run: AnalysisRun) -> dict[str, str | None]:
        return {name: _file_url(run.study_id, path) for name, path in run.full_image_cam_overlays.items()}

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, run: AnalysisRun) -> list[dict[str, Any]]:
        return FindingSerializer(run.findings.all(), many=True, context={"study_id": run.study_id}).data


class StudyDetailSerializer(StudyListSerializer):
    """A study with its radiograph, its current run and that run's findings."""

    radiograph = RadiographSerializer(read_only=True, default=None)
    current_run = serializers.SerializerMethodField()

    class Meta(StudyListSerializer.Meta):
        fields = [*StudyListSerializer.Meta.fields, "radiograph", "current_run", "queued_at", "started_at"]
        read_only_fields = fields

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_current_run(self, study: Study) -> dict[str, Any] | None:
        run = current_run_of(study)
        return None if run is None else RunSerializer(run).data

    def get_bundle(self, study: Study) -> dict[str, Any] | None:
        run = current_run_of(study)
        if run is None:
            return None
        return {"name": run.bundle_name, "version": run.bundle_version, "demo": run.is_demo}


class FacingConflictSerializer(serializers.Serializer):
    """The side an existing study uses and the different side a repeated upload of its file gives."""

    study_side = serializers.ChoiceField(choices=["left", "right"])
    study_side_source = serializers.ChoiceField(choices=["stated", "header", "assumed"])
    requested_side = serializers.ChoiceField(choices=["left", "right"])
    requested_side_source = serializers.ChoiceField(choices=["stated", "header", "assumed"])
    message = serializers.CharField(help_text="The explanation in the request's language.")


class UploadResultSerializer(serializers.Serializer):
    """Response of an upload: the study, and whether it already existed."""

    duplicate = serializers.BooleanField()
    study = StudyDetailSerializer()
    facing_conflict = FacingConflictSerializer(
        allow_null=True,
        help_text=(
            "Only for a duplicate: null when the existing study uses the side this upload gives; "
            "otherwise both sides. The existing study keeps its side and its result."
        ),
    )
