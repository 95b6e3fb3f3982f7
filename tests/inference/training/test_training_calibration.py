"""Calibration of the fresh threshold on small tables."""

from __future__ import annotations

import numpy as np
import pytest

from inference.training.calibration import calibrate_fresh_threshold

NORMAL, OLD, FRESH = 0, 1, 2


def test_calibration_reaches_target_with_highest_threshold() -> None:
    # Fresh scores 0.9, 0.8, 0.6, 0.4, 0.2: 80 % sensitivity needs the 4th highest, 0.4.
    labels = np.array([FRESH] * 5 + [NORMAL] * 4 + [OLD])
    scores = np.array([0.9, 0.8, 0.6, 0.4, 0.2, 0.5, 0.3, 0.1, 0.05, 0.45])

    calibration = calibrate_fresh_threshold(labels, scores, 0.8)

    assert calibration.threshold == pytest.approx(0.4)
    assert calibration.sensitivity == pytest.approx(0.8)
    # Negatives at or above 0.4: 0.5 and 0.45, so 3 of 5 stay below.
    assert calibration.specificity == pytest.approx(3 / 5)
    assert calibration.positives == 5
    assert "target fresh sensitivity 0.80" in calibration.source


def test_calibration_meets_target_on_random_table() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=400)
    scores = np.clip(rng.normal(0.3 + 0.3 * (labels == FRESH), 0.2), 0.001, 1)

    for target in (0.5, 0.85, 0.9, 0.95, 1.0):
        calibration = calibrate_fresh_threshold(labels, scores, target)
        flagged = scores >= calibration.threshold

        assert flagged[labels == FRESH].mean() >= target
        # One step higher (the next fresh score) would miss the target.
        higher = scores[(labels == FRESH) & (scores > calibration.threshold)]
        if len(higher):
            assert (scores[labels == FRESH] >= higher.min()).mean() < target


def test_calibration_rejects_split_without_fresh() -> None:
    with pytest.raises(ValueError, match="no fresh vertebra"):
        calibrate_fresh_threshold(np.array([NORMAL, OLD]), np.array([0.1, 0.2]), 0.9)


def test_calibration_rejects_target_outside_range() -> None:
    with pytest.raises(ValueError, match="target sensitivity"):
        calibrate_fresh_threshold(np.array([FRESH]), np.array([0.5]), 0.0)
