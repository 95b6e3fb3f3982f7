"""Calibration of the MRI threshold on the ensemble fresh probability.

The threshold is the highest value at which the share of fresh vertebrae of
the validation split whose fresh probability reaches it is at least the target
sensitivity. Taking the highest such value keeps specificity as high as the
target allows. The figures are measured per vertebra.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from inference.result import CLASSES

FRESH = CLASSES.index("fresh")


@dataclass(frozen=True)
class Calibration:
    """A calibrated fresh threshold with what it achieved on the data it was chosen on."""

    threshold: float
    target_sensitivity: float
    sensitivity: float
    specificity: float
    positives: int
    negatives: int
    split: str

    @property
    def source(self) -> str:
        """Return the sentence recorded in the bundle manifest as the threshold's source."""
        return (
            f"{self.split} split ({self.positives} fresh of {self.positives + self.negatives} vertebrae), "
            f"target fresh sensitivity {self.target_sensitivity:.2f}, achieved {self.sensitivity:.3f} "
            f"at specificity {self.specificity:.3f}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the calibration and its source as JSON-compatible data."""
        return {**asdict(self), "source": self.source}


def calibrate_fresh_threshold(
    labels: np.ndarray,
    fresh_probabilities: np.ndarray,
    target_sensitivity: float,
    *,
    split: str = "validation",
) -> Calibration:
    """Choose the highest threshold whose fresh sensitivity on these vertebrae is at least the target.

    ``labels`` are class indices into ``CLASSES``; a vertebra is flagged when
    its fresh probability is at or above the threshold. Raises ValueError when
    the target is outside (0, 1] or there is no fresh vertebra.
    """
    if not 0.0 < target_sensitivity <= 1.0:
        raise ValueError(f"target sensitivity must be in (0, 1], got {target_sensitivity}")
    labels = np.asarray(labels)
    scores = np.asarray(fresh_probabilities, dtype=np.float64)
    if labels.shape != scores.shape:
        raise ValueError(f"labels {labels.shape} and probabilities {scores.shape} differ in shape")
    positive = labels == FRESH
    n_positive = int(positive.sum())
    if n_positive == 0:
        raise ValueError(f"cannot calibrate: the {split} split has no fresh vertebra")

    # With the fresh scores in falling order, the k-th score flags exactly the k highest positives
    # (ties flag more), so k = ceil(target * positives) is the smallest count that meets the target.
    needed = math.ceil(target_sensitivity * n_positive - 1e-9)
    threshold = float(np.sort(scores[positive])[::-1][needed - 1])
    # The threshold must be in (0, 1] for the manifest; a score of exactly 0 would flag every vertebra.
    threshold = max(threshold, 1e-6)
    flagged = scores >= threshold
    negatives = ~positive
    n_negative = int(negatives.sum())
    achieved = float(flagged[positive].mean())
    specificity = float((~flagged[negatives]).mean()) if n_negative else math.nan
    return Calibration(
        threshold=threshold,
        target_sensitivity=target_sensitivity,
        sensitivity=achieved,
        specificity=specificity,
        positives=n_positive,
        negatives=n_negative,
        split=split,
    )
