"""Writers of an evaluation: the JSON document, a Markdown table and ROC and confusion-matrix plots.

Plots use matplotlib's Agg backend, so no display is needed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from inference.evaluation.metrics import FRACTURE_CLASSES, FRESH, ClassificationCases  # noqa: E402
from inference.result import CLASSES  # noqa: E402


def write_json(report: Mapping[str, Any], path: Path) -> Path:
    """Write ``report`` as indented UTF-8 JSON and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def format_estimate(estimate: Mapping[str, Any] | None, *, digits: int = 3) -> str:
    """Return "0.912 (0.871-0.948)" for an estimate dict, or "n/a" when undefined."""
    if not estimate or estimate.get("value") is None or _is_nan(estimate["value"]):
        return "n/a"
    value = f"{estimate['value']:.{digits}f}"
    if estimate.get("lower") is None or estimate.get("upper") is None:
        return value
    return f"{value} ({estimate['lower']:.{digits}f}-{estimate['upper']:.{digits}f})"


def markdown_summary(report: Mapping[str, Any], *, title: str = "Evaluation") -> str:
    """Return the evaluation as Markdown tables with 95 % bootstrap intervals in brackets."""
    lines = [f"## {title}", ""]
    detection = report.get("detection")
    if detection:
        lines += [
            f"Detection on {detection['images']} images, mAP at IoU {detection['iou_threshold']}:",
            "",
            "| level | AP (95 % CI) |",
            "|---|---|",
        ]
        for level, estimate in detection["per_level"].items():
            lines.append(f"| {level} | {format_estimate(estimate)} |")
        lines += [f"| **overall** | {format_estimate(detection['map'])} |", ""]

    classification = report.get("classification")
    if classification:
        lines += _classification_lines(classification)
    return "\n".join(lines) + "\n"


def _classification_lines(report: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Classification of {report['cases']} vertebrae on {report['images']} images of "
        f"{report['patients']} patients (intervals resample patients):",
        "",
        "| measure | value (95 % CI) |",
        "|---|---|",
        f"| accuracy | {format_estimate(report['accuracy'])} |",
    ]
    for metric in ("sensitivity", "specificity", "auc"):
        lines.append(f"| macro {metric} | {format_estimate(report['macro'][metric])} |")
    for question in ("fracture_vs_normal", "fresh_vs_not_fresh"):
        block = report[question]
        name = question.replace("_", " ")
        for metric in ("sensitivity", "specificity", "auc"):
            lines.append(f"| {name}: {metric} | {format_estimate(block[metric])} |")
    at_threshold = report["fresh_at_threshold"]
    lines.append(
        f"| fresh at threshold {at_threshold['threshold']:.3f}: sensitivity | {format_estimate(at_threshold['sensitivity'])} |"
    )
    lines.append(
        f"| fresh at threshold {at_threshold['threshold']:.3f}: specificity | {format_estimate(at_threshold['specificity'])} |"
    )
    mri = report["mri_rule"]
    lines.append(
        f"| MRI rule per image ({mri['images']} images): sensitivity | {format_estimate(mri['sensitivity'])} |"
    )
    lines.append(f"| MRI rule per image: specificity | {format_estimate(mri['specificity'])} |")
    lines.append(
        f"| Cohen's kappa, model vs reference | {format_estimate(report['kappa_model_vs_reference'])} |"
    )
    if "kappa_between_readers" in report:
        lines.append(
            f"| Cohen's kappa, reader 1 vs reader 2 | {format_estimate(report['kappa_between_readers'])} |"
        )
        lines.append(
            f"| Cohen's kappa, model vs reader 2 | {format_estimate(report['kappa_model_vs_second_reader'])} |"
        )

    lines += ["", "| class | support | sensitivity | specificity | AUC |", "|---|---|---|---|---|"]
    for name in CLASSES:
        block = report["per_class"][name]
        lines.append(
            f"| {name} | {block['support']} | {format_estimate(block['sensitivity'])} | "
            f"{format_estimate(block['specificity'])} | {format_estimate(block['auc'])} |"
        )

    matrix = report["confusion_matrix"]["rows_reference_columns_prediction"]
    lines += ["", "Confusion matrix (rows: reference, columns: prediction):", ""]
    lines.append("| reference \\ prediction | " + " | ".join(CLASSES) + " |")
    lines.append("|---" * (len(CLASSES) + 1) + "|")
    for name, row in zip(CLASSES, matrix, strict=True):
        lines.append(f"| {name} | " + " | ".join(str(count) for count in row) + " |")
    lines.append("")
    return lines


def plot_roc(
    cases: ClassificationCases, path: Path, *, fresh_threshold: float | None = None, title: str = ""
) -> Path:
    """Draw one-vs-rest ROC curves per class and for fracture vs normal into a PNG; returns the path."""
    figure, axis = plt.subplots(figsize=(5.5, 5.0), dpi=120)
    curves: list[tuple[str, np.ndarray, np.ndarray]] = [
        (name, cases.y_true == index, cases.probabilities[:, index]) for index, name in enumerate(CLASSES)
    ]
    curves.append(
        (
            "fracture vs normal",
            np.isin(cases.y_true, FRACTURE_CLASSES),
            cases.probabilities[:, list(FRACTURE_CLASSES)].sum(axis=1),
        )
    )
    for name, positive, scores in curves:
        if positive.all() or not positive.any():
            continue
        false_positive_rate, true_positive_rate, _ = roc_curve(positive, scores)
        axis.plot(false_positive_rate, true_positive_rate, label=name)
    if fresh_threshold is not None:
        positive = cases.y_true == FRESH
        flagged = cases.probabilities[:, FRESH] >= fresh_threshold
        if positive.any() and (~positive).any():
            axis.plot(
                [float(flagged[~positive].mean())],
                [float(flagged[positive].mean())],
                marker="o",
                color="black",
                linestyle="none",
                label=f"fresh threshold {fresh_threshold:.3f}",
            )
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axis.set_xlabel("1 - specificity")
    axis.set_ylabel("sensitivity")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.01)
    axis.set_title(title or "ROC, one class vs rest")
    axis.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def plot_confusion_matrix(matrix: np.ndarray | list[list[int]], path: Path, *, title: str = "") -> Path:
    """Draw the confusion matrix (rows reference, columns prediction) with counts into a PNG; returns the path."""
    counts = np.asarray(matrix)
    figure, axis = plt.subplots(figsize=(4.5, 4.0), dpi=120)
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros(counts.shape, dtype=float), where=row_totals > 0)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(counts.shape[0]):
        for column in range(counts.shape[1]):
            colour = "white" if shares[row, column] > 0.6 else "black"
            axis.text(column, row, str(counts[row, column]), ha="center", va="center", color=colour)
    axis.set_xticks(range(len(CLASSES)), CLASSES)
    axis.set_yticks(range(len(CLASSES)), CLASSES)
    axis.set_xlabel("prediction")
    axis.set_ylabel("reference")
    axis.set_title(title or "Confusion matrix")
    return _save(figure, path)


def write_report(
    report: Mapping[str, Any],
    out_dir: Path,
    *,
    cases: ClassificationCases | None = None,
    prefix: str = "evaluation",
    title: str = "Evaluation",
) -> dict[str, Path]:
    """Write ``<prefix>.json``, ``<prefix>.md`` and, with ``cases``, the ROC and confusion plots; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "json": write_json(report, out_dir / f"{prefix}.json"),
        "markdown": out_dir / f"{prefix}.md",
    }
    written["markdown"].write_text(markdown_summary(report, title=title), encoding="utf-8")
    classification = report.get("classification")
    if cases is not None and classification:
        threshold = classification["fresh_at_threshold"]["threshold"]
        written["roc"] = plot_roc(
            cases, out_dir / f"{prefix}-roc.png", fresh_threshold=threshold, title=f"{title}: ROC"
        )
        written["confusion_matrix"] = plot_confusion_matrix(
            classification["confusion_matrix"]["rows_reference_columns_prediction"],
            out_dir / f"{prefix}-confusion.png",
            title=f"{title}: confusion matrix",
        )
    return written


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
