"""Tests of aelib.detection: ROC curves and AUC against brute force."""

import numpy as np
import pytest

import aelib


def brute_force_auc(normal, anomalous):
    """P(anomalous > normal) + P(tie) / 2 over all pairs."""
    normal, anomalous = np.asarray(normal)[:, None], np.asarray(anomalous)[None, :]
    return float(np.mean((anomalous > normal) + 0.5 * (anomalous == normal)))


def trapezoid_area(fpr, tpr):
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


@pytest.mark.parametrize("ties", [False, True])
def test_auc_equals_brute_force(rng, ties):
    normal = rng.normal(0.0, 1.0, size=150)
    anomalous = rng.normal(0.7, 1.3, size=90)
    if ties:  # many equal scores within and across the two sets
        normal, anomalous = np.round(normal * 2), np.round(anomalous * 2)
    auc = aelib.roc_auc(normal, anomalous)
    assert auc == pytest.approx(brute_force_auc(normal, anomalous), abs=1e-12)
    assert 0.6 < auc < 0.8


def test_auc_extremes():
    normal, anomalous = np.arange(10.0), np.arange(10.0) + 100
    assert aelib.roc_auc(normal, anomalous) == 1.0
    assert aelib.roc_auc(anomalous, normal) == 0.0
    assert aelib.roc_auc([1.0, 1.0], [1.0, 1.0, 1.0]) == 0.5  # all tied


def test_auc_of_identical_distributions_is_chance(rng):
    normal, anomalous = rng.normal(size=2000), rng.normal(size=3000)
    # standard error of the AUC under the null: sqrt((n + m + 1) / (12 n m))
    standard_error = np.sqrt((2000 + 3000 + 1) / (12 * 2000 * 3000))
    assert abs(aelib.roc_auc(normal, anomalous) - 0.5) < 4 * standard_error


@pytest.mark.parametrize("ties", [False, True])
def test_roc_curve_shape_and_area(rng, ties):
    normal = rng.exponential(1.0, size=60)
    anomalous = rng.exponential(2.0, size=40)
    if ties:
        normal, anomalous = np.floor(normal * 3), np.floor(anomalous * 3)
    fpr, tpr = aelib.roc_curve(normal, anomalous)
    assert fpr.shape == tpr.shape
    assert (fpr[0], tpr[0]) == (0.0, 0.0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    # one point per distinct score, plus the origin
    assert len(fpr) == len(np.unique(np.concatenate([normal, anomalous]))) + 1
    area = trapezoid_area(fpr, tpr)
    assert area == pytest.approx(aelib.roc_auc(normal, anomalous), abs=1e-12)
    assert area == pytest.approx(brute_force_auc(normal, anomalous), abs=1e-12)


def test_roc_curve_points():
    # scores: normal 1, 2, 3; anomalous 2, 4. Thresholds 4, 3, 2, 1.
    fpr, tpr = aelib.roc_curve([1.0, 2.0, 3.0], [2.0, 4.0])
    np.testing.assert_allclose(fpr, [0, 0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    # perfect separation passes through the corner (0, 1)
    fpr, tpr = aelib.roc_curve([0.0, 1.0], [5.0, 6.0])
    assert trapezoid_area(fpr, tpr) == 1.0
    assert any(f == 0.0 and t == 1.0 for f, t in zip(fpr, tpr, strict=True))


@pytest.mark.parametrize("function", [aelib.roc_auc, aelib.roc_curve])
def test_bad_scores_raise(function):
    with pytest.raises(ValueError, match="non-empty"):
        function([], [1.0])
    with pytest.raises(ValueError, match="non-empty"):
        function([1.0], np.array([]))
    with pytest.raises(ValueError, match="finite"):
        function([1.0, np.nan], [2.0])
    with pytest.raises(ValueError, match="finite"):
        function([1.0], [np.inf])
