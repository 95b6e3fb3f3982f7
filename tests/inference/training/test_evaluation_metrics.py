"""Metrics against values computed by hand on small tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.evaluation.metrics import (
    Bootstrap,
    ClassificationCases,
    PredictedBox,
    TrueBox,
    accuracy,
    average_precision,
    bootstrap_estimate,
    box_iou,
    classification_report,
    cohen_kappa,
    confusion_matrix,
    detection_report,
    mean_average_precision,
    roc_auc,
    sensitivity,
    specificity,
)
from inference.result import Box


def test_sensitivity_and_specificity_match_counts() -> None:
    # TP=3, FN=1, TN=4, FP=2
    positive = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    flagged = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1], dtype=bool)

    assert sensitivity(positive, flagged) == pytest.approx(3 / 4)
    assert specificity(positive, flagged) == pytest.approx(4 / 6)


def test_sensitivity_is_nan_without_positive_cases() -> None:
    assert math.isnan(sensitivity(np.zeros(3, dtype=bool), np.ones(3, dtype=bool)))


def test_accuracy_and_confusion_matrix() -> None:
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])

    assert accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert confusion_matrix(y_true, y_pred).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_roc_auc_counts_pairs_and_ties() -> None:
    # Positives 0.9, 0.5; negatives 0.5, 0.1. Pairs: (0.9>0.5) 1, (0.9>0.1) 1, (0.5=0.5) 0.5, (0.5>0.1) 1.
    positive = np.array([True, True, False, False])
    scores = np.array([0.9, 0.5, 0.5, 0.1])

    assert roc_auc(positive, scores) == pytest.approx(3.5 / 4)


def test_roc_auc_is_nan_with_one_outcome() -> None:
    assert math.isnan(roc_auc(np.ones(4, dtype=bool), np.arange(4.0)))


def test_cohen_kappa_matches_hand_value() -> None:
    # 2x2 table [[20, 5], [10, 15]]: po = 35/50 = 0.7, pe = (25*30 + 25*20) / 2500 = 0.5, kappa = 0.4.
    first = np.array([0] * 25 + [1] * 25)
    second = np.array([0] * 20 + [1] * 5 + [0] * 10 + [1] * 15)

    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_cohen_kappa_is_one_for_identical_ratings() -> None:
    ratings = np.array([0, 1, 2, 2, 1, 0])

    assert cohen_kappa(ratings, ratings) == pytest.approx(1.0)


def test_box_iou_of_half_overlapping_boxes() -> None:
    # Two 2x2 boxes sharing a 1x2 strip: 2 / (4 + 4 - 2) = 1/3.
    assert box_iou(Box(0, 0, 2, 2), Box(1, 0, 3, 2)) == pytest.approx(1 / 3)
    assert box_iou(Box(0, 0, 1, 1), Box(2, 2, 3, 3)) == 0.0


def test_average_precision_on_hand_ranked_boxes() -> None:
    # Two images, one L1 box each. Ranked predictions: hit (0.9), miss (0.8), hit (0.7).
    # Precision at recall 0.5 is 1, at recall 1.0 it is 2/3, so AP = 0.5 * 1 + 0.5 * 2/3.
    truths = [TrueBox("a", "L1", Box(0, 0, 10, 10)), TrueBox("b", "L1", Box(0, 0, 10, 10))]
    predictions = [
        PredictedBox("a", "L1", Box(0, 0, 10, 10), 0.9),
        PredictedBox("a", "L1", Box(50, 50, 60, 60), 0.8),
        PredictedBox("b", "L1", Box(1, 1, 10, 10), 0.7),
    ]

    assert average_precision(predictions, truths, "L1") == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_counts_duplicate_box_as_false_positive() -> None:
    # Ranked: hit on a (0.9), duplicate on a (0.8), hit on b (0.7), so AP = 0.5 * 1 + 0.5 * 2/3.
    truths = [TrueBox("a", "L2", Box(0, 0, 10, 10)), TrueBox("b", "L2", Box(0, 0, 10, 10))]
    predictions = [
        PredictedBox("a", "L2", Box(0, 0, 10, 10), 0.9),
        PredictedBox("a", "L2", Box(0, 0, 10, 9), 0.8),
        PredictedBox("b", "L2", Box(0, 0, 10, 10), 0.7),
    ]

    assert average_precision(predictions, truths, "L2") == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_applies_iou_threshold() -> None:
    # The top box has IoU 0.9: a hit at 0.5, a false positive at 0.95, where AP drops to 1 * 1/2.
    truths = [TrueBox("a", "L2", Box(0, 0, 10, 10))]
    predictions = [
        PredictedBox("a", "L2", Box(0, 0, 10, 9), 0.95),
        PredictedBox("a", "L2", Box(0, 0, 10, 10), 0.9),
    ]

    assert average_precision(predictions, truths, "L2") == pytest.approx(1.0)
    assert average_precision(predictions, truths, "L2", iou_threshold=0.95) == pytest.approx(0.5)


def test_average_precision_rejects_box_of_wrong_level() -> None:
    truths = [TrueBox("a", "L3", Box(0, 0, 10, 10))]
    predictions = [PredictedBox("a", "L4", Box(0, 0, 10, 10), 0.9)]

    assert average_precision(predictions, truths, "L3") == 0.0


def test_mean_average_precision_skips_levels_without_reference() -> None:
    truths = [TrueBox("a", "L1", Box(0, 0, 10, 10)), TrueBox("a", "L2", Box(0, 20, 10, 30))]
    predictions = [PredictedBox("a", "L1", Box(0, 0, 10, 10), 0.9)]

    overall, per_level = mean_average_precision(predictions, truths)

    assert per_level["L1"] == pytest.approx(1.0)
    assert per_level["L2"] == 0.0
    assert math.isnan(per_level["L5"])
    assert overall == pytest.approx(0.5)


def test_detection_report_point_value_equals_map() -> None:
    truths = [TrueBox(f"i{k}", "L1", Box(0, 0, 10, 10)) for k in range(6)]
    predictions = [
        PredictedBox(f"i{k}", "L1", Box(0, 0, 10, 10 if k % 2 else 4), 0.5 + k / 20) for k in range(6)
    ]
    patients = {f"i{k}": f"p{k // 2}" for k in range(6)}

    report = detection_report(
        predictions, truths, patient_of_image=patients, levels=("L1",), settings=Bootstrap(200)
    )

    assert report["map"]["value"] == pytest.approx(mean_average_precision(predictions, truths, ("L1",))[0])
    assert report["map"]["lower"] <= report["map"]["value"] <= report["map"]["upper"]


def test_bootstrap_interval_contains_estimate_and_repeats_for_seed() -> None:
    values = np.random.default_rng(1).normal(size=80)

    def mean(indices: np.ndarray) -> float:
        return float(values[indices].mean())

    first = bootstrap_estimate(mean, len(values), settings=Bootstrap(resamples=300, seed=7))
    second = bootstrap_estimate(mean, len(values), settings=Bootstrap(resamples=300, seed=7))
    other_seed = bootstrap_estimate(mean, len(values), settings=Bootstrap(resamples=300, seed=8))

    assert first.lower <= first.value <= first.upper
    assert first == second
    assert first != other_seed
    assert first.resamples == 300


def test_bootstrap_by_group_draws_whole_groups() -> None:
    # Every group contains one 0 and one 1, so any resample of whole groups has mean 0.5 exactly.
    values = np.array([0, 1, 0, 1, 0, 1], dtype=float)
    groups = ["a", "a", "b", "b", "c", "c"]

    estimate = bootstrap_estimate(
        lambda i: float(values[i].mean()), 6, groups=groups, settings=Bootstrap(100)
    )

    assert estimate.lower == pytest.approx(0.5)
    assert estimate.upper == pytest.approx(0.5)


def _cases() -> ClassificationCases:
    # Two images of two patients, five vertebrae each.
    y_true = np.array([0, 0, 1, 2, 0, 0, 0, 0, 2, 1])
    probabilities = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.6, 0.3, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.2, 0.7],
            [0.7, 0.1, 0.2],
            [0.9, 0.05, 0.05],
            [0.3, 0.3, 0.4],
            [0.8, 0.1, 0.1],
            [0.2, 0.2, 0.6],
            [0.1, 0.5, 0.4],
        ]
    )
    return ClassificationCases(
        y_true=y_true,
        probabilities=probabilities,
        patient_ids=("p1",) * 5 + ("p2",) * 5,
        image_ids=("a",) * 5 + ("b",) * 5,
        second_reader=y_true.copy(),
    )


def test_classification_report_matches_hand_values() -> None:
    report = classification_report(_cases(), fresh_threshold=0.35, settings=Bootstrap(100))

    # Prediction: [0,0,1,2,0,0,2,0,2,1]; only case 6 is wrong (normal called fresh).
    assert report["accuracy"]["value"] == pytest.approx(0.9)
    assert report["per_class"]["normal"]["sensitivity"]["value"] == pytest.approx(5 / 6)
    assert report["per_class"]["fresh"]["specificity"]["value"] == pytest.approx(7 / 8)
    assert report["per_class"]["fresh"]["sensitivity"]["value"] == pytest.approx(1.0)
    assert report["confusion_matrix"]["rows_reference_columns_prediction"] == [
        [5, 0, 1],
        [0, 2, 0],
        [0, 0, 2],
    ]
    # Fresh probability >= 0.35 in cases 3, 6, 8 and 9: both fresh cases caught, 2 of 8 others flagged.
    assert report["fresh_at_threshold"]["sensitivity"]["value"] == pytest.approx(1.0)
    assert report["fresh_at_threshold"]["specificity"]["value"] == pytest.approx(6 / 8)
    assert report["kappa_between_readers"]["value"] == pytest.approx(1.0)


def test_mri_rule_counts_images_not_vertebrae() -> None:
    report = classification_report(_cases(), fresh_threshold=0.35, settings=Bootstrap(50))["mri_rule"]

    assert report["images"] == 2
    assert report["positive_images"] == 2
    assert report["sensitivity"]["value"] == pytest.approx(1.0)
    assert report["specificity"]["value"] is None


def test_kappa_between_readers_skips_vertebrae_read_once() -> None:
    cases = _cases()
    second = cases.y_true.copy()
    second[0] = -1  # not read by the second reader
    second[1] = 1  # disagrees: reference normal, second reader old
    partial = ClassificationCases(
        cases.y_true, cases.probabilities, cases.patient_ids, cases.image_ids, second
    )

    report = classification_report(partial, fresh_threshold=0.35, settings=Bootstrap(20))

    assert report["second_reader_cases"] == 9
    # Nine pairs, eight agree. Reference counts (normal, old, fresh) 5, 2, 2; second reader 4, 3, 2.
    # po = 8/9, pe = (5*4 + 2*3 + 2*2) / 81 = 30/81, kappa = (8/9 - 30/81) / (1 - 30/81) = 42/51.
    assert report["kappa_between_readers"]["value"] == pytest.approx(42 / 51)
