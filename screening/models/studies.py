"""Studies, their radiograph, analysis runs and per-vertebra findings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def original_upload_path(instance: Radiograph, filename: str) -> str:
    """Return the storage path of an original: derived from its sha256, never from the uploaded name."""
    digest = instance.sha256
    return f"originals/{digest[:2]}/{digest[2:4]}/{digest}"


class Study(models.Model):
    """One uploaded radiograph of one patient and the state of its screening."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")
        UNKNOWN = "", _("Unknown")

    patient_id = models.CharField(_("patient ID"), max_length=64, blank=True, db_index=True)
    patient_name = models.CharField(_("patient name"), max_length=200, blank=True)
    patient_birth_date = models.DateField(_("birth date"), null=True, blank=True)
    patient_sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    accession_number = models.CharField(_("accession number"), max_length=64, blank=True, db_index=True)
    study_date = models.DateField(_("study date"), null=True, blank=True)

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message_en = models.TextField(blank=True)
    failure_message_ja = models.TextField(blank=True)
    # How many times the sweep has re-queued this study after it was stuck in RUNNING.
    requeue_count = models.PositiveSmallIntegerField(default=0)

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="uploaded_studies", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    current_run = models.ForeignKey(
        "screening.AnalysisRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Copied from the current run so that the list page can filter without a join.
    mri_recommended = models.BooleanField(null=True, blank=True)
    not_assessable = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        permissions = [
            ("upload_study", "Can upload radiographs"),
            ("view_report", "Can read reports, originals, crops and overlays"),
            ("review_study", "Can review findings and record MRI outcomes"),
            ("view_statistics", "Can read aggregate statistics"),
        ]
        indexes = [models.Index(fields=["status", "started_at"], name="study_status_started")]

    def __str__(self) -> str:
        return f"Study {self.pk}"

    def failure_message(self, language: str = "en") -> str:
        """Return the failure reason in ``language`` ("ja" or "en")."""
        return self.failure_message_ja if language.lower().startswith("ja") else self.failure_message_en


class Radiograph(models.Model):
    """The original file of a study, stored unchanged, and what reading it found."""

    class FileType(models.TextChoices):
        DICOM = "dicom", "DICOM"
        PNG = "png", "PNG"
        JPEG = "jpeg", "JPEG"
        UNKNOWN = "unknown", _("Unknown")

    class Facing(models.TextChoices):
        """The side a person stated at upload; blank means the side comes from the file."""

        FROM_FILE = "", _("From the file (DICOM header, else left)")
        LEFT = "left", pgettext_lazy("patient faces", "Left")
        RIGHT = "right", pgettext_lazy("patient faces", "Right")

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="radiograph")
    original = models.FileField(upload_to=original_upload_path, max_length=255)
    original_filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    size_bytes = models.BigIntegerField()
    file_type = models.CharField(max_length=16, choices=FileType.choices, default=FileType.UNKNOWN)
    header = models.JSONField(default=dict, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    spacing = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    # Which way the patient faces, as stated at upload. Screening passes it to inference.pipeline.screen,
    # where it wins over DICOM Patient Orientation (0020,0020).
    stated_facing = models.CharField(
        _("patient faces"), max_length=5, choices=Facing.choices, blank=True, default=Facing.FROM_FILE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("radiograph")
        verbose_name_plural = _("radiographs")

    def __str__(self) -> str:
        return f"Radiograph {self.sha256[:12]}"

    @property
    def facing_label(self) -> str:
        """The stated side as the report shows it, or that the side comes from the file."""
        if self.stated_facing == self.Facing.RIGHT:
            return str(_("Right (stated at upload)"))
        if self.stated_facing == self.Facing.LEFT:
            return str(_("Left (stated at upload)"))
        return str(_("From the file (DICOM header, else left)"))


class AnalysisRun(models.Model):
    """One screening of a study by one model bundle, with everything needed to trace its result."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class ResultStatus(models.TextChoices):
        MRI_RECOMMENDED = "mri_recommended", _("MRI recommended")
        NO_FRESH_FRACTURE_FOUND = "no_fresh_fracture_found", _("No fresh fracture found")
        NOT_ASSESSABLE = "not_assessable", _("Not assessable")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="runs")
    bundle = models.ForeignKey("screening.ModelBundle", on_delete=models.PROTECT, related_name="runs")
    bundle_name = models.CharField(max_length=100)
    bundle_version = models.CharField(max_length=100)
    bundle_manifest_sha256 = models.CharField(max_length=64)
    bundle_file_sha256 = models.JSONField(default=dict, blank=True)
    is_demo = models.BooleanField(default=False)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    result_status = models.CharField(max_length=32, choices=ResultStatus.choices, null=True, blank=True)
    not_assessable_reasons = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    timings_ms = models.JSONField(default=dict, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    device = models.CharField(max_length=32, blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    error = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    overview_overlay = models.CharField(max_length=255, blank=True)
    full_image_cam_overlays = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("analysis run")
        verbose_name_plural = _("analysis runs")
        constraints = [models.UniqueConstraint(fields=["study", "bundle"], name="run_unique_study_bundle")]

    def __str__(self) -> str:
        return f"Run {self.pk} of study {self.study_id}"

    @property
    def mri_recommended(self) -> bool:
        return self.result_status == self.ResultStatus.MRI_RECOMMENDED


class VertebraFinding(models.Model):
    """Classification, Grad-CAM region shares and overlays of one lumbar level in one run."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="findings")
    level = models.CharField(max_length=8)
    box_x1 = models.FloatField()
    box_y1 = models.FloatField()
    box_x2 = models.FloatField()
    box_y2 = models.FloatField()
    detection_confidence = models.FloatField()
    predicted_class = models.CharField(max_length=16)
    ensemble_probabilities = models.JSONField(default=dict)
    model_probabilities = models.JSONField(default=dict)
    model_predicted_classes = models.JSONField(default=dict)
    cam_regions = models.JSONField(default=dict, blank=True)
    overlays = models.JSONField(default=dict, blank=True)
    crop_file = models.CharField(max_length=255, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "level"]
        verbose_name = _("vertebra finding")
        verbose_name_plural = _("vertebra findings")
        constraints = [models.UniqueConstraint(fields=["run", "level"], name="finding_unique_run_level")]

    def __str__(self) -> str:
        return f"{self.level} of run {self.run_id}"

    @property
    def fresh_probability(self) -> float:
        return float(self.ensemble_probabilities.get("fresh", 0.0))
