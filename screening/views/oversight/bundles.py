"""Model bundles for admins: list, install, activate, model card and metrics, and re-running a study."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from screening.errors import ScreeningError
from screening.models import ModelBundle
from screening.services.bundles import activate_bundle, install_bundle
from screening.services.reruns import rerun_with_bundle
from screening.views.oversight.access import admin_role_required
from screening.views.oversight.forms import BundleInstallForm, RerunForm

logger = logging.getLogger(__name__)

# A model card is a short Markdown document; anything larger is cut so that a page stays responsive.
MODEL_CARD_MAX_BYTES = 256 * 1024


@admin_role_required
def bundle_list(request: HttpRequest) -> HttpResponse:
    """List the installed bundles, the active one first, with the install form."""
    bundles = ModelBundle.objects.select_related("installed_by").order_by(
        "-is_active", "-installed_at", "-id"
    )
    return render(request, "oversight/bundles.html", {"bundles": bundles, "form": BundleInstallForm()})


@admin_role_required
def bundle_detail(request: HttpRequest, bundle_id: int) -> HttpResponse:
    """Show one bundle: identity, thresholds, classifiers, training metrics and the model card."""
    bundle = get_object_or_404(ModelBundle, pk=bundle_id)
    manifest = bundle.manifest or {}
    training = manifest.get("training") or {}
    context = {
        "bundle": bundle,
        "manifest": manifest,
        "thresholds": manifest.get("thresholds") or {},
        "classifiers": manifest.get("classifiers") or [],
        "detector": manifest.get("detector") or {},
        "metrics": flatten(training.get("metrics") or {}, float_format=".3f"),
        "training_data": flatten(training.get("data") or {}),
        "model_card": read_model_card(bundle),
        "run_count": bundle.runs.count(),
    }
    return render(request, "oversight/bundle_detail.html", context)


@admin_role_required
@require_POST
def bundle_install(request: HttpRequest) -> HttpResponse:
    """Verify and install the bundle in a server folder, and activate it when asked."""
    form = BundleInstallForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("oversight:bundle_list")
    try:
        bundle = install_bundle(form.cleaned_data["path"].strip(), actor=request.user, request=request)
        if form.cleaned_data["activate"]:
            bundle = activate_bundle(bundle.pk, actor=request.user, request=request)
    except ScreeningError as error:
        messages.error(request, error.message(get_language() or "ja"))
        return redirect("oversight:bundle_list")
    messages.success(
        request,
        _("Bundle %(name)s %(version)s is installed.") % {"name": bundle.name, "version": bundle.version},
    )
    return redirect("oversight:bundle_detail", bundle_id=bundle.pk)


@admin_role_required
@require_POST
def bundle_activate(request: HttpRequest, bundle_id: int) -> HttpResponse:
    """Make a bundle the one that screens new studies."""
    try:
        bundle = activate_bundle(bundle_id, actor=request.user, request=request)
    except ScreeningError as error:
        if error.http_status == 404:
            raise Http404(error.message_en) from error
        messages.error(request, error.message(get_language() or "ja"))
        return redirect("oversight:bundle_list")
    messages.success(
        request,
        _("Bundle %(name)s %(version)s is now active.") % {"name": bundle.name, "version": bundle.version},
    )
    return redirect("oversight:bundle_list")


@admin_role_required
@require_POST
def study_rerun(request: HttpRequest, study_id: int) -> HttpResponse:
    """Queue a study again with another bundle; its current run stays stored."""
    form = RerunForm(request.POST)
    report_url = reverse("screening:report", args=[study_id])
    if not form.is_valid():
        messages.error(request, _("Choose a model bundle."))
        return redirect(report_url)
    try:
        rerun_with_bundle(study_id, form.cleaned_data["bundle_id"], actor=request.user, request=request)
    except ScreeningError as error:
        if error.code == "study_not_found":
            raise Http404(error.message_en) from error
        messages.error(request, error.message(get_language() or "ja"))
        return redirect(report_url)
    messages.success(request, _("The study is queued again with the chosen bundle."))
    return redirect(report_url)


def read_model_card(bundle: ModelBundle) -> str | None:
    """Return the text of the bundle's model card, or None when the manifest names none or it is missing."""
    name = (bundle.manifest or {}).get("model_card")
    if not name:
        return None
    folder = Path(bundle.path).resolve()
    path = (folder / str(name)).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        logger.warning(
            "model card %s of bundle %s not found", name, bundle.pk, extra={"bundle_id": bundle.pk}
        )
        return None
    with path.open("rb") as handle:
        data = handle.read(MODEL_CARD_MAX_BYTES + 1)
    text = data[:MODEL_CARD_MAX_BYTES].decode("utf-8", errors="replace")
    if len(data) > MODEL_CARD_MAX_BYTES:
        text += "\n\n[…]"
    return text


def flatten(data: Any, prefix: str = "", float_format: str = ".4g") -> list[tuple[str, str]]:
    """Return nested manifest values as (dotted key, display text) rows; a list stays one row."""
    if isinstance(data, dict):
        rows: list[tuple[str, str]] = []
        for key, value in data.items():
            rows.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key), float_format))
        return rows
    return [(prefix, _display(data, float_format))]


def _display(value: Any, float_format: str = ".4g") -> str:
    if isinstance(value, float):
        return format(value, float_format)
    if isinstance(value, list):
        return ", ".join(_display(item, float_format) for item in value)
    return str(value)
