"""Provenance texts that inference stores in English, shown in Japanese; the stored data stays unchanged."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from pages.factories import make_study
from screening.models import Radiograph, Study
from screening.templatetags.olvf_ui import provenance_text, provenance_value

pytestmark = pytest.mark.django_db

PNG_PROVENANCE = {
    "file_type": "png",
    "decoder": "pillow",
    "photometric_interpretation": "Pillow mode L",
    "voi_lut": "none (8-bit values used as stored, 0..255 maps to 0..1)",
    "frame_policy": "single frame",
    "notes": ["opaque alpha channel ignored"],
}


@pytest.mark.parametrize(
    ("stored", "japanese"),
    [
        ("Pillow mode L", "Pillow のモード L"),
        (
            "none (8-bit values used as stored, 0..255 maps to 0..1)",
            "なし（8 ビットの値を保存値のまま使用し、0..255 を 0..1 に対応）",
        ),
        ("none (colour, full stored range 0..255)", "なし（カラー、保存値の全範囲 0..255）"),
        ("inverted once after windowing (MONOCHROME1)", "ウィンドウ処理の後に 1 回反転（MONOCHROME1）"),
        (
            "inverted once after windowing (MONOCHROME1 and Presentation LUT Shape INVERSE)",
            "ウィンドウ処理の後に 1 回反転（MONOCHROME1, Presentation LUT Shape INVERSE）",
        ),
        ("single frame", "単一フレーム"),
        ("MONOCHROME2", "MONOCHROME2"),
    ],
)
def test_provenance_text_in_japanese(stored: str, japanese: str) -> None:
    with translation.override("ja"):
        assert provenance_text(stored) == japanese


def test_provenance_value_joins_notes() -> None:
    with translation.override("ja"):
        assert provenance_value(["opaque alpha channel ignored", "palette expanded to RGB"]) == (
            "不透明なアルファチャンネルを無視; パレットを RGB に展開"
        )
        assert provenance_value(None) == "なし"


def test_report_provenance_in_japanese(clinician_page_client_ja: Client) -> None:
    study = make_study()
    Radiograph.objects.filter(study=study).update(provenance=PNG_PROVENANCE)

    response = clinician_page_client_ja.get(reverse("screening:report", args=[study.pk]))
    html = response.content.decode()

    assert "Pillow のモード L" in html
    assert "0..255 を 0..1 に対応" in html
    assert "不透明なアルファチャンネルを無視" in html
    assert "Pillow mode L" not in html
    assert Study.objects.get(pk=study.pk).radiograph.provenance == PNG_PROVENANCE
