"""Re-run a study with another installed bundle: a new analysis run beside the old one.

The old run and its findings and reviews stay. ``AnalysisRun`` is unique per
(study, bundle), and each run records its bundle's name, version and hashes,
so the report can show which bundle made each result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from screening.errors import BundleNotFound, StudyNotFound, StudyNotRerunnable
from screening.models import AnalysisRun, ModelBundle, Study
from screening.services.screening import requeue_study


@dataclass(frozen=True)
class RunSummary:
    """One run of a study as the report lists it: which bundle produced which result."""

    run_id: int
    bundle_id: int
    bundle_label: str
    is_demo: bool
    status: str
    result_status: str | None
    finished_at: Any
    is_current: bool


def rerun_with_bundle(
    study_id: int, bundle_id: int, *, actor: Any, request: HttpRequest | None = None
) -> Study:
    """Queue ``study_id`` again to be screened with ``bundle_id``; the current run stays stored.

    Raises StudyNotFound, BundleNotFound, or StudyNotRerunnable when the study is
    queued or running, or its current result already comes from that bundle.
    """
    study = Study.objects.select_related("current_run").filter(pk=study_id).first()
    if study is None:
        raise StudyNotFound(f"Study {study_id} does not exist.", f"検査 {study_id} は存在しません。")
    bundle = ModelBundle.objects.filter(pk=bundle_id).first()
    if bundle is None:
        raise BundleNotFound(
            f"Model bundle {bundle_id} is not installed.",
            f"モデルバンドル {bundle_id} はインストールされていません。",
        )
    if study.current_run is not None and study.current_run.bundle_id == bundle.pk:
        raise StudyNotRerunnable(
            f"The current result of study {study_id} already comes from {bundle.name} {bundle.version}. "
            "Choose another bundle.",
            f"検査 {study_id} の現在の結果はすでに {bundle.name} {bundle.version} によるものです。"
            "別のバンドルを選んでください。",
        )
    return requeue_study(study_id, actor=actor, request=request, bundle_id=bundle.pk)


def rerun_choices(study: Study) -> list[ModelBundle]:
    """Return the installed bundles a study can be re-run with: all but its current run's bundle."""
    bundles = ModelBundle.objects.order_by("-is_active", "-installed_at", "-id")
    current = study.current_run.bundle_id if study.current_run_id and study.current_run else None
    return [bundle for bundle in bundles if bundle.pk != current]


def runs_of_study(study: Study) -> list[RunSummary]:
    """Return every run of a study, newest first, each with the bundle that produced it."""
    runs = AnalysisRun.objects.filter(study=study).order_by("-created_at", "-id")
    return [
        RunSummary(
            run_id=run.pk,
            bundle_id=run.bundle_id,
            bundle_label=f"{run.bundle_name} {run.bundle_version}",
            is_demo=run.is_demo,
            status=run.status,
            result_status=run.result_status,
            finished_at=run.finished_at,
            is_current=run.pk == study.current_run_id,
        )
        for run in runs
    ]
