"""Scores for anomaly and out-of-distribution detection, and their ROC curves.

A detector gives every image a score, higher for "more anomalous" (for example
a reconstruction error, or a negative log-likelihood). How well the score
separates normal from anomalous images is summarized by the ROC curve and the
area under it (AUC): the probability that a random anomalous image scores
higher than a random normal one (ties count one half). AUC = 0.5 is chance;
AUC < 0.5 means the score points the wrong way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["roc_curve", "roc_auc"]


def _scores(normal: Any, anomalous: Any) -> tuple[np.ndarray, np.ndarray]:
    normal = np.asarray(normal, dtype=np.float64).reshape(-1)
    anomalous = np.asarray(anomalous, dtype=np.float64).reshape(-1)
    if normal.size == 0 or anomalous.size == 0:
        raise ValueError("both score arrays must be non-empty.")
    if not (np.isfinite(normal).all() and np.isfinite(anomalous).all()):
        raise ValueError("scores must be finite (got NaN or infinity).")
    return normal, anomalous


def roc_auc(normal_scores: Any, anomalous_scores: Any) -> float:
    """Area under the ROC curve, computed exactly from ranks (Mann-Whitney U).

    Args:
        normal_scores: scores of in-distribution images, shape (n,).
        anomalous_scores: scores of anomalous images, shape (m,).

    Returns:
        The AUC in [0, 1].
    """
    normal, anomalous = _scores(normal_scores, anomalous_scores)
    values = np.concatenate([normal, anomalous])
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    # Average ranks over ties, 1-based.
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(values)]])
    for first, last in zip(starts, ends, strict=True):
        ranks[order[first:last]] = 0.5 * (first + 1 + last)
    rank_sum = ranks[len(normal) :].sum()
    m = len(anomalous)
    return float((rank_sum - m * (m + 1) / 2) / (m * len(normal)))


def roc_curve(
    normal_scores: Any, anomalous_scores: Any
) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every threshold, from strict to lax.

    An image is flagged as anomalous when its score is at least the threshold.

    Returns:
        ``(false_positive_rate, true_positive_rate)``, each from 0 to 1.
    """
    normal, anomalous = _scores(normal_scores, anomalous_scores)
    thresholds = np.unique(np.concatenate([normal, anomalous]))[::-1]
    normal_sorted = np.sort(normal)
    anomalous_sorted = np.sort(anomalous)
    false_positives = len(normal) - np.searchsorted(normal_sorted, thresholds, "left")
    true_positives = len(anomalous) - np.searchsorted(
        anomalous_sorted, thresholds, "left"
    )
    fpr = np.concatenate([[0.0], false_positives / len(normal)])
    tpr = np.concatenate([[0.0], true_positives / len(anomalous)])
    return fpr, tpr
