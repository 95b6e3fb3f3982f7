"""Trace and bundle pages in Japanese: stored English provenance, class names and metric keys translated."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from screening.models import ModelBundle, Radiograph
from tests.screening.oversight.factories import make_bundle, make_study, signed_in

pytestmark = pytest.mark.django_db


def test_trace_provenance_in_japanese(admin_user: Any) -> None:
    study = make_study()
    provenance = {
        "frame_policy": "single frame",
        "modality_lut": "none",
        "photometric_interpretation": "Pillow mode L",
    }
    Radiograph.objects.update_or_create(
        study=study,
        defaults={
            "provenance": provenance,
            "sha256": "b" * 64,
            "size_bytes": 1,
            "original_filename": "x.png",
        },
    )

    html = signed_in(admin_user, "ja").get(reverse("oversight:trace", args=[study.pk])).content.decode()

    assert "単一フレーム" in html
    assert "Pillow のモード L" in html
    assert ">single frame<" not in html
    assert ">none<" not in html


def test_bundle_page_classes_and_metrics_in_japanese(admin_user: Any) -> None:
    bundle = make_bundle(version="ja-1")
    manifest = dict(
        bundle.manifest, training={"data": {"train": {"patients": 12}}, "metrics": {"accuracy": 0.9}}
    )
    ModelBundle.objects.filter(pk=bundle.pk).update(manifest=manifest)

    html = (
        signed_in(admin_user, "ja").get(reverse("oversight:bundle_detail", args=[bundle.pk])).content.decode()
    )

    assert "normal, old, fresh" not in html
    assert "/ patients" not in html
    assert "学習データ / 患者数" in html
