"""Classification and detection metrics with 95 % bootstrap intervals.

Class labels are integer indices into ``inference.result.CLASSES`` (0 normal,
1 old, 2 fresh) and probabilities are (N, 3) arrays in the same order. Every
interval is a percentile bootstrap: resample the cases (or, when ``groups`` is
given, whole patients, because vertebrae of one patient are not independent),
recompute the statistic, and take the 2.5 and 97.5 percentiles. Resamples in
which a statistic is undefined (for example an AUC without any positive case)
are left out, and the number used is reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from inference.result import CLASSES, LUMBAR_LEVELS, Box

FRACTURE_CLASSES = (CLASSES.index("old"), CLASSES.index("fresh"))
FRESH = CLASSES.index("fresh")
NORMAL = CLASSES.index("normal")

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap interval; NaN where undefined."""

    value: float
    lower: float
    upper: float
    resamples: int  # bootstrap resamples in which the statistic was defined

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-compatible data (NaN becomes None)."""
        return {key: _json_number(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class Bootstrap:
    """Settings of the percentile bootstrap: number of resamples, seed and confidence level."""

    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    confidence: float = 0.95


DEFAULT_BOOTSTRAP = Bootstrap()


# --- point statistics ----------------------------------------------------------------------------


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = len(CLASSES)) -> np.ndarray:
    """Return the (n_classes, n_classes) count matrix: rows are the reference, columns the prediction."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return the share of cases whose prediction equals the reference; NaN for no cases."""
    y_true = np.asarray(y_true)
    if y_true.size == 0:
        return math.nan
    return float(np.mean(y_true == np.asarray(y_pred)))


def sensitivity(positive: np.ndarray, predicted_positive: np.ndarray) -> float:
    """Return TP / (TP + FN) for boolean arrays; NaN when there is no positive case."""
    positive = np.asarray(positive, dtype=bool)
    predicted_positive = np.asarray(predicted_positive, dtype=bool)
    count = int(positive.sum())
    if count == 0:
        return math.nan
    return float((positive & predicted_positive).sum() / count)


def specificity(positive: np.ndarray, predicted_positive: np.ndarray) -> float:
    """Return TN / (TN + FP) for boolean arrays; NaN when there is no negative case."""
    return sensitivity(~np.asarray(positive, dtype=bool), ~np.asarray(predicted_positive, dtype=bool))


def roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Return the area under the ROC curve (ties count one half); NaN unless both outcomes occur."""
    positive = np.asarray(positive, dtype=bool)
    if positive.all() or not positive.any():
        return math.nan
    return float(roc_auc_score(positive, np.asarray(scores, dtype=np.float64)))


def cohen_kappa(first: np.ndarray, second: np.ndarray, n_classes: int = len(CLASSES)) -> float:
    """Return Cohen's unweighted kappa between two ratings; NaN when chance agreement is 1."""
    matrix = confusion_matrix(first, second, n_classes).astype(np.float64)
    total = matrix.sum()
    if total == 0:
        return math.nan
    observed = np.trace(matrix) / total
    expected = float(np.sum(matrix.sum(axis=0) * matrix.sum(axis=1))) / total**2
    if math.isclose(expected, 1.0):
        return math.nan
    return float((observed - expected) / (1.0 - expected))


def box_iou(first: Box, second: Box) -> float:
    """Return the intersection over union of two boxes; 0 when either has no area."""
    width = min(first.x2, second.x2) - max(first.x1, second.x1)
    height = min(first.y2, second.y2) - max(first.y1, second.y1)
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    union = first.width * first.height + second.width * second.height - intersection
    return float(intersection / union) if union > 0 else 0.0


# --- detection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictedBox:
    """One detector output: the image it came from, its level, box and confidence."""

    image_id: str
    level: str
    box: Box
    confidence: float


@dataclass(frozen=True)
class TrueBox:
    """One reference box: the image it belongs to and its level."""

    image_id: str
    level: str
    box: Box


def match_detections(
    predictions: Sequence[PredictedBox], truths: Sequence[TrueBox], *, iou_threshold: float = 0.5
) -> list[tuple[str, str, float, bool]]:
    """Mark each prediction as a true or false positive; return (image_id, level, confidence, hit) rows.

    Within one image and level, predictions are taken in order of falling
    confidence. Each is a hit when its best IoU with a reference box of the same
    level and image is at least the threshold and that box is still unmatched.
    A second box on one vertebra is a false positive. Matching never crosses
    images, so the rows of an image stay valid when images are resampled.
    """
    references: dict[tuple[str, str], list[Box]] = {}
    for truth in truths:
        references.setdefault((truth.image_id, truth.level), []).append(truth.box)
    rows: list[tuple[str, str, float, bool]] = []
    matched: dict[tuple[str, str], list[bool]] = {
        key: [False] * len(boxes) for key, boxes in references.items()
    }
    for prediction in sorted(predictions, key=lambda p: -p.confidence):
        key = (prediction.image_id, prediction.level)
        candidates = references.get(key, [])
        best_iou, best_index = 0.0, -1
        for index, box in enumerate(candidates):
            overlap = box_iou(prediction.box, box)
            if overlap > best_iou:
                best_iou, best_index = overlap, index
        hit = best_index >= 0 and best_iou >= iou_threshold and not matched[key][best_index]
        if hit:
            matched[key][best_index] = True
        rows.append((prediction.image_id, prediction.level, prediction.confidence, hit))
    return rows


def precision_recall_area(confidences: np.ndarray, hits: np.ndarray, n_references: int) -> float:
    """Return the all-point interpolated average precision (PASCAL VOC 2010 and later); NaN without references."""
    if n_references == 0:
        return math.nan
    order = np.argsort(-np.asarray(confidences, dtype=np.float64), kind="stable")
    true_positives = np.cumsum(np.asarray(hits, dtype=bool)[order])
    recall = true_positives / n_references
    precision = true_positives / np.arange(1, len(order) + 1)
    # Make precision non-increasing from the right, then sum it over the steps in recall.
    recall = np.concatenate(([0.0], recall, [1.0]))
    precision = np.concatenate(([1.0], precision, [0.0]))
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.nonzero(recall[1:] != recall[:-1])[0]
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def average_precision(
    predictions: Sequence[PredictedBox],
    truths: Sequence[TrueBox],
    level: str,
    *,
    iou_threshold: float = 0.5,
) -> float:
    """Return the average precision of one level at ``iou_threshold``; NaN when the level has no reference box."""
    rows = [
        row for row in match_detections(predictions, truths, iou_threshold=iou_threshold) if row[1] == level
    ]
    n_references = sum(1 for truth in truths if truth.level == level)
    confidences = np.array([row[2] for row in rows], dtype=np.float64)
    hits = np.array([row[3] for row in rows], dtype=bool)
    return precision_recall_area(confidences, hits, n_references)


def mean_average_precision(
    predictions: Sequence[PredictedBox],
    truths: Sequence[TrueBox],
    levels: Sequence[str] = LUMBAR_LEVELS,
    *,
    iou_threshold: float = 0.5,
) -> tuple[float, dict[str, float]]:
    """Return mAP over ``levels`` (levels without reference boxes left out) and the AP of each level."""
    per_level = {
        level: average_precision(predictions, truths, level, iou_threshold=iou_threshold) for level in levels
    }
    return _mean_defined(per_level.values()), per_level


def _mean_defined(values: Any) -> float:
    defined = [value for value in values if not math.isnan(value)]
    return float(np.mean(defined)) if defined else math.nan


# --- bootstrap -----------------------------------------------------------------------------------


def bootstrap_estimate(
    statistic: Callable[[np.ndarray], float],
    n_cases: int,
    *,
    groups: Sequence[Any] | None = None,
    settings: Bootstrap = DEFAULT_BOOTSTRAP,
) -> Estimate:
    """Return ``statistic`` on all cases with its percentile bootstrap interval.

    ``statistic`` takes an index array into the cases (indices may repeat). With
    ``groups`` (one label per case, such as the patient id), whole groups are
    drawn with replacement. The same seed gives the same interval.
    """
    value = statistic(np.arange(n_cases))
    if n_cases == 0 or settings.resamples <= 0:
        return Estimate(value, math.nan, math.nan, 0)
    rng = np.random.default_rng(settings.seed)
    if groups is None:
        members = [np.array([index]) for index in range(n_cases)]
    else:
        labels = np.asarray(list(groups))
        if len(labels) != n_cases:
            raise ValueError(f"groups has {len(labels)} labels for {n_cases} cases")
        _, inverse = np.unique(labels, return_inverse=True)
        members = [np.nonzero(inverse == group)[0] for group in range(inverse.max() + 1)]

    samples = []
    for _ in range(settings.resamples):
        drawn = rng.integers(0, len(members), size=len(members))
        indices = np.concatenate([members[group] for group in drawn])
        sample = statistic(indices)
        if not math.isnan(sample):
            samples.append(sample)
    if not samples:
        return Estimate(value, math.nan, math.nan, 0)
    tail = (1.0 - settings.confidence) / 2.0 * 100.0
    lower, upper = np.percentile(samples, [tail, 100.0 - tail])
    return Estimate(value, float(lower), float(upper), len(samples))


# --- classification summary ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClassificationCases:
    """Vertebra-level cases of a labelled set.

    ``y_true`` contains the reference class indices (N,), and ``probabilities``
    the ensemble probabilities (N, 3) in ``CLASSES`` order. ``patient_ids`` and
    ``image_ids`` contain one label per vertebra. ``second_reader`` is an optional
    second reference (N,) for inter-reader agreement, with -1 where a vertebra has
    no second reading.
    """

    y_true: np.ndarray
    probabilities: np.ndarray
    patient_ids: tuple[str, ...]
    image_ids: tuple[str, ...]
    second_reader: np.ndarray | None = None

    def __post_init__(self) -> None:
        count = len(self.y_true)
        if self.probabilities.shape != (count, len(CLASSES)):
            raise ValueError(
                f"probabilities must have shape ({count}, {len(CLASSES)}), got {self.probabilities.shape}"
            )
        if len(self.patient_ids) != count or len(self.image_ids) != count:
            raise ValueError("patient_ids and image_ids need one entry per case")
        if self.second_reader is not None and len(self.second_reader) != count:
            raise ValueError("second_reader needs one entry per case")

    @property
    def y_pred(self) -> np.ndarray:
        """Return the predicted class of each case: the argmax of the ensemble probability."""
        return np.argmax(self.probabilities, axis=1)


def classification_report(
    cases: ClassificationCases, *, fresh_threshold: float, settings: Bootstrap = DEFAULT_BOOTSTRAP
) -> dict[str, Any]:
    """Compute every classification metric with a patient-level bootstrap interval.

    Returns JSON-compatible data with the following parts:

    - accuracy;
    - per class one-vs-rest sensitivity, specificity and AUC, and their macro means;
    - fracture vs normal and fresh vs not fresh;
    - the fresh rule at ``fresh_threshold`` per vertebra and per image. Per image
      it is the MRI rule, so an image is positive when any of its vertebrae
      reaches the threshold;
    - the confusion matrix;
    - Cohen's kappa against the reference, and between the two readers when a
      second reader is given.
    """
    y_true, y_pred, probabilities = cases.y_true, cases.y_pred, cases.probabilities
    n_cases = len(y_true)
    groups = cases.patient_ids

    def estimate(function: Callable[[np.ndarray], float]) -> dict[str, Any]:
        return bootstrap_estimate(function, n_cases, groups=groups, settings=settings).to_dict()

    def one_vs_rest(metric: str, index: int) -> Callable[[np.ndarray], float]:
        return lambda i: _one_vs_rest(metric, y_true[i], y_pred[i], probabilities[i], index)

    per_class: dict[str, Any] = {}
    for index, name in enumerate(CLASSES):
        per_class[name] = {
            "sensitivity": estimate(one_vs_rest("sensitivity", index)),
            "specificity": estimate(one_vs_rest("specificity", index)),
            "auc": estimate(one_vs_rest("auc", index)),
            "support": int(np.sum(y_true == index)),
        }

    def macro(metric: str) -> Callable[[np.ndarray], float]:
        def mean_over_classes(i: np.ndarray) -> float:
            values = [
                _one_vs_rest(metric, y_true[i], y_pred[i], probabilities[i], c) for c in range(len(CLASSES))
            ]
            defined = [v for v in values if not math.isnan(v)]
            return float(np.mean(defined)) if len(defined) == len(CLASSES) else math.nan

        return mean_over_classes

    fracture_true = np.isin(y_true, FRACTURE_CLASSES)
    fracture_pred = np.isin(y_pred, FRACTURE_CLASSES)
    fracture_score = probabilities[:, list(FRACTURE_CLASSES)].sum(axis=1)
    fresh_true = y_true == FRESH
    fresh_pred = y_pred == FRESH
    fresh_score = probabilities[:, FRESH]
    fresh_flag = fresh_score >= fresh_threshold

    report: dict[str, Any] = {
        "cases": n_cases,
        "patients": len(set(groups)),
        "images": len(set(cases.image_ids)),
        "accuracy": estimate(lambda i: accuracy(y_true[i], y_pred[i])),
        "per_class": per_class,
        "macro": {metric: estimate(macro(metric)) for metric in ("sensitivity", "specificity", "auc")},
        "fracture_vs_normal": _binary_block(fracture_true, fracture_pred, fracture_score, estimate),
        "fresh_vs_not_fresh": _binary_block(fresh_true, fresh_pred, fresh_score, estimate),
        "fresh_at_threshold": {
            "threshold": fresh_threshold,
            "sensitivity": estimate(lambda i: sensitivity(fresh_true[i], fresh_flag[i])),
            "specificity": estimate(lambda i: specificity(fresh_true[i], fresh_flag[i])),
        },
        "mri_rule": mri_rule_report(cases, fresh_threshold=fresh_threshold, settings=settings),
        "confusion_matrix": {
            "classes": list(CLASSES),
            "rows_reference_columns_prediction": confusion_matrix(y_true, y_pred).tolist(),
        },
        "kappa_model_vs_reference": estimate(lambda i: cohen_kappa(y_true[i], y_pred[i])),
    }
    if cases.second_reader is not None:
        second = cases.second_reader
        read_twice = second >= 0

        def kappa_readers(i: np.ndarray) -> float:
            i = i[read_twice[i]]
            return cohen_kappa(y_true[i], second[i]) if len(i) else math.nan

        def kappa_model_second(i: np.ndarray) -> float:
            i = i[read_twice[i]]
            return cohen_kappa(second[i], y_pred[i]) if len(i) else math.nan

        report["second_reader_cases"] = int(read_twice.sum())
        report["kappa_between_readers"] = estimate(kappa_readers)
        report["kappa_model_vs_second_reader"] = estimate(kappa_model_second)
    return report


def mri_rule_report(
    cases: ClassificationCases, *, fresh_threshold: float, settings: Bootstrap = DEFAULT_BOOTSTRAP
) -> dict[str, Any]:
    """Return sensitivity and specificity of the per-image MRI rule at ``fresh_threshold``.

    An image is truly positive when any of its vertebrae is fresh by reference,
    and flagged when any vertebra's ensemble fresh probability is at or above
    the threshold. Images are resampled by patient.
    """
    image_ids = sorted(set(cases.image_ids))
    index_of = {image_id: position for position, image_id in enumerate(image_ids)}
    image_positions = np.array([index_of[image_id] for image_id in cases.image_ids], dtype=np.int64)
    truly_positive = np.zeros(len(image_ids), dtype=bool)
    flagged = np.zeros(len(image_ids), dtype=bool)
    np.logical_or.at(truly_positive, image_positions, cases.y_true == FRESH)
    np.logical_or.at(flagged, image_positions, cases.probabilities[:, FRESH] >= fresh_threshold)
    patient_of_image = {
        image_id: patient for image_id, patient in zip(cases.image_ids, cases.patient_ids, strict=True)
    }
    groups = [patient_of_image[image_id] for image_id in image_ids]

    def estimate(function: Callable[[np.ndarray], float]) -> dict[str, Any]:
        return bootstrap_estimate(function, len(image_ids), groups=groups, settings=settings).to_dict()

    return {
        "threshold": fresh_threshold,
        "images": len(image_ids),
        "positive_images": int(truly_positive.sum()),
        "sensitivity": estimate(lambda i: sensitivity(truly_positive[i], flagged[i])),
        "specificity": estimate(lambda i: specificity(truly_positive[i], flagged[i])),
    }


def detection_report(
    predictions: Sequence[PredictedBox],
    truths: Sequence[TrueBox],
    *,
    patient_of_image: Mapping[str, str],
    levels: Sequence[str] = LUMBAR_LEVELS,
    iou_threshold: float = 0.5,
    settings: Bootstrap = DEFAULT_BOOTSTRAP,
) -> dict[str, Any]:
    """Return mAP at ``iou_threshold`` overall and per level, with intervals from resampling patients.

    The images are those with at least one reference box; predictions on other
    images are ignored.
    """
    image_ids = sorted({truth.image_id for truth in truths})
    position = {image_id: index for index, image_id in enumerate(image_ids)}
    rows = [
        row
        for row in match_detections(predictions, truths, iou_threshold=iou_threshold)
        if row[0] in position
    ]
    row_image = np.array([position[row[0]] for row in rows], dtype=np.int64)
    row_level = np.array([row[1] for row in rows], dtype=object)
    row_confidence = np.array([row[2] for row in rows], dtype=np.float64)
    row_hit = np.array([row[3] for row in rows], dtype=bool)
    # references[level][image] is the number of reference boxes of that level in that image.
    references = {level: np.zeros(len(image_ids), dtype=np.int64) for level in levels}
    for truth in truths:
        if truth.level in references:
            references[truth.level][position[truth.image_id]] += 1
    rows_of_image = [np.nonzero(row_image == index)[0] for index in range(len(image_ids))]

    def level_ap(level: str, images: np.ndarray) -> float:
        # Each drawn copy of an image contributes its rows and references again.
        chosen = (
            np.concatenate([rows_of_image[index] for index in images])
            if len(images)
            else np.array([], dtype=np.int64)
        )
        chosen = chosen[row_level[chosen] == level] if len(chosen) else chosen
        return precision_recall_area(
            row_confidence[chosen], row_hit[chosen], int(references[level][images].sum())
        )

    def overall(images: np.ndarray) -> float:
        return _mean_defined(level_ap(level, images) for level in levels)

    def one_level(level: str) -> Callable[[np.ndarray], float]:
        return lambda images: level_ap(level, images)

    groups = [patient_of_image[image_id] for image_id in image_ids]
    n_images = len(image_ids)
    return {
        "iou_threshold": iou_threshold,
        "images": n_images,
        "map": bootstrap_estimate(overall, n_images, groups=groups, settings=settings).to_dict(),
        "per_level": {
            level: bootstrap_estimate(one_level(level), n_images, groups=groups, settings=settings).to_dict()
            for level in levels
        },
    }


def _one_vs_rest(
    metric: str, y_true: np.ndarray, y_pred: np.ndarray, probabilities: np.ndarray, index: int
) -> float:
    if metric == "sensitivity":
        return sensitivity(y_true == index, y_pred == index)
    if metric == "specificity":
        return specificity(y_true == index, y_pred == index)
    return roc_auc(y_true == index, probabilities[:, index])


def _binary_block(
    positive: np.ndarray,
    predicted: np.ndarray,
    scores: np.ndarray,
    estimate: Callable[[Callable[[np.ndarray], float]], dict[str, Any]],
) -> dict[str, Any]:
    return {
        "positives": int(positive.sum()),
        "sensitivity": estimate(lambda i: sensitivity(positive[i], predicted[i])),
        "specificity": estimate(lambda i: specificity(positive[i], predicted[i])),
        "auc": estimate(lambda i: roc_auc(positive[i], scores[i])),
    }


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
