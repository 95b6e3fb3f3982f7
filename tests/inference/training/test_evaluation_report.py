"""Report writers: JSON, Markdown and plots from one classification report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inference.evaluation.metrics import Bootstrap, ClassificationCases, classification_report
from inference.evaluation.report import format_estimate, write_report


def _cases() -> ClassificationCases:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, size=60)
    logits = rng.normal(size=(60, 3)) + np.eye(3)[y_true] * 2.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return ClassificationCases(
        y_true=y_true,
        probabilities=probabilities,
        patient_ids=tuple(f"p{i // 5}" for i in range(60)),
        image_ids=tuple(f"i{i // 5}" for i in range(60)),
    )


def test_write_report_creates_every_file(tmp_path: Path) -> None:
    cases = _cases()
    report = {"classification": classification_report(cases, fresh_threshold=0.3, settings=Bootstrap(50))}

    written = write_report(report, tmp_path, cases=cases, prefix="test")

    assert json.loads(written["json"].read_text())["classification"]["cases"] == 60
    assert "| accuracy |" in written["markdown"].read_text()
    assert written["roc"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written["confusion_matrix"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_format_estimate_shows_interval_and_undefined() -> None:
    assert format_estimate({"value": 0.9, "lower": 0.85, "upper": 0.95}) == "0.900 (0.850-0.950)"
    assert format_estimate({"value": None, "lower": None, "upper": None}) == "n/a"
