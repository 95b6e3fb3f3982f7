"""Filters that turn stored keys and values into translated labels on the trace, audit and bundle pages."""

from __future__ import annotations

from django.utils import translation

from screening.templatetags import olvf_ui


def test_field_label_translates_known_key() -> None:
    with translation.override("en"):
        assert olvf_ui.field_label("file_type") == "File type"
    with translation.override("ja"):
        assert olvf_ui.field_label("file_type") != "file_type"


def test_field_label_keeps_unknown_key() -> None:
    assert olvf_ui.field_label("something_new") == "something_new"


def test_field_value_reads_booleans_and_empties() -> None:
    with translation.override("en"):
        assert olvf_ui.field_value(False) == "no"
        assert olvf_ui.field_value(True) == "yes"
        assert olvf_ui.field_value([]) == "none"
        assert olvf_ui.field_value(None) == "none"
        assert olvf_ui.field_value(["a", "b"]) == "a, b"
        assert olvf_ui.field_value(0) == "0"


def test_stage_label_names_classifier() -> None:
    with translation.override("en"):
        assert olvf_ui.stage_label("classify_resnet50") == "Classification: ResNet-50"
        assert olvf_ui.stage_label("detection") == "Detection"


def test_object_type_label_translates_user() -> None:
    with translation.override("ja"):
        assert olvf_ui.object_type_label("user") != "user"


def test_metric_label_splits_dotted_key() -> None:
    with translation.override("en"):
        assert olvf_ui.metric_label("test_images") == "Test images"
        assert olvf_ui.metric_label("train.vertebrae.old") == "Training / vertebrae / old fracture"


def test_detail_items_avoid_python_repr() -> None:
    with translation.override("en"):
        rows = olvf_ui.detail_items({"date_from": None, "api": True})
    assert rows == [("From date", "none"), ("Through the API", "yes")]
    assert "{" not in str(rows)


def test_provenance_text_translates_window() -> None:
    with translation.override("ja"):
        text = olvf_ui.provenance_text("window center=4514 width=3360 function=LINEAR")
    assert "center=" not in text
    assert "4514" in text
    assert "3360" in text


def test_provenance_text_translates_fixed_values() -> None:
    with translation.override("ja"):
        assert olvf_ui.provenance_text("none") == "なし"
        assert olvf_ui.provenance_text("single frame") != "single frame"


def test_provenance_text_keeps_unknown_text() -> None:
    assert olvf_ui.provenance_text("something else") == "something else"


def test_localized_message_names_cam_model_in_japanese() -> None:
    message = {
        "code": "cam_mostly_outside",
        "message_en": "60% of the Grad-CAM map of L1 (ensemble) lies outside the vertebral body.",
        "message_ja": "L1 (ensemble) の Grad-CAM マップの 60% が椎体の外にあります。",
    }
    with translation.override("ja"):
        text = olvf_ui.localized_message(message)
    assert "(ensemble)" not in text
    assert text.startswith("L1（")


def test_threshold_label_translates_keys() -> None:
    with translation.override("en"):
        assert olvf_ui.threshold_label("fresh") == "Fresh-fracture threshold"
        assert olvf_ui.threshold_label("target_sensitivity") == "Target fresh-fracture sensitivity"
        assert olvf_ui.threshold_label("other") == "other"


def test_field_value_reads_booleans_in_japanese() -> None:
    with translation.override("ja"):
        assert olvf_ui.field_value(True) == "はい"
        assert olvf_ui.field_value(False) == "いいえ"
        assert olvf_ui.field_value(None) == "なし"
