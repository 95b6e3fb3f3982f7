"""Forms of the oversight pages; the services validate again, so a form only parses input."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from inference.result import LUMBAR_LEVELS
from screening.models import AuditEvent
from screening.models.review import CLASS_CHOICES


class ReviewForm(forms.Form):
    """A clinician's verdict on one vertebra."""

    verdict = forms.ChoiceField(
        label=_("Verdict"),
        choices=[("agree", _("Agree with the model")), ("disagree", _("Disagree"))],
        widget=forms.RadioSelect,
    )
    corrected_class = forms.ChoiceField(
        label=_("Correct class"), choices=[("", "–"), *CLASS_CHOICES], required=False
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class MRIOutcomeForm(forms.Form):
    """The MRI outcome of a study."""

    mri_done = forms.TypedChoiceField(
        label=_("MRI"),
        choices=[("yes", _("MRI done")), ("no", _("MRI not done"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    mri_date = forms.DateField(
        label=_("MRI date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fresh_levels = forms.MultipleChoiceField(
        label=_("Levels with a fresh fracture on MRI"),
        choices=[(level, level) for level in LUMBAR_LEVELS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DateRangeForm(forms.Form):
    """An optional date range in local dates, both ends inclusive."""

    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


class AuditFilterForm(DateRangeForm):
    """Filters of the audit page."""

    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("All")), *AuditEvent.Action.choices], required=False
    )
    actor = forms.CharField(label=_("User"), required=False, max_length=150)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=64)
    object_id = forms.CharField(label=_("Object ID"), required=False, max_length=64)
    address = forms.GenericIPAddressField(label=_("Address"), required=False)


class BundleInstallForm(forms.Form):
    """A bundle folder on the server to verify and install."""

    path = forms.CharField(
        label=_("Bundle folder on the server"),
        max_length=500,
        help_text=_("Absolute path of a folder that contains manifest.json and the weight files."),
    )
    activate = forms.BooleanField(label=_("Activate after installing"), required=False)


class RerunForm(forms.Form):
    """The bundle to re-run a study with."""

    bundle_id = forms.IntegerField(label=_("Model bundle"), min_value=1)
