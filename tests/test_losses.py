"""Tests of aelib.losses against independent NumPy and SciPy computations."""

import numpy as np
import pytest
from keras import ops
from scipy import special, stats

import aelib
from aelib import losses


def numpy_of(tensor):
    return ops.convert_to_numpy(tensor)


@pytest.fixture
def images(rng):
    return rng.random((6, 28, 28)).astype(np.float32)


def test_bernoulli_nll_matches_numpy(rng, images):
    logits = rng.normal(0.0, 3.0, size=images.shape).astype(np.float32)
    got = numpy_of(losses.bernoulli_nll(images, logits))
    x, p = images.astype(np.float64), special.expit(logits.astype(np.float64))
    expected = -np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=(1, 2))
    assert got.shape == (6,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_bernoulli_nll_on_binary_images_is_a_log_probability(rng):
    x = (rng.random((4, 10)) < 0.5).astype(np.float32)
    logits = rng.normal(size=(4, 10)).astype(np.float32)
    log_p = stats.bernoulli.logpmf(x, special.expit(logits.astype(np.float64)))
    np.testing.assert_allclose(
        numpy_of(losses.bernoulli_nll(x, logits)), -log_p.sum(axis=1), rtol=1e-5
    )


@pytest.mark.parametrize("logit", [1e4, -1e4])
@pytest.mark.parametrize("pixel", [0.0, 1.0, 0.5])
def test_bernoulli_nll_is_finite_for_extreme_logits(logit, pixel):
    x = np.full((2, 28, 28), pixel, np.float32)
    logits = np.full((2, 28, 28), logit, np.float32)
    got = numpy_of(losses.bernoulli_nll(x, logits))
    assert np.all(np.isfinite(got))
    # softplus(l) - x * l per pixel, computed exactly for |l| = 1e4
    per_pixel = max(logit, 0.0) - pixel * logit
    np.testing.assert_allclose(got, 784 * per_pixel, rtol=1e-6)


def test_bernoulli_nll_is_zero_for_confident_correct_predictions():
    black = np.zeros((1, 28, 28), np.float32)
    white = np.ones((1, 28, 28), np.float32)
    got_black = numpy_of(losses.bernoulli_nll(black, np.full_like(black, -100.0)))
    got_white = numpy_of(losses.bernoulli_nll(white, np.full_like(white, 100.0)))
    assert 0.0 <= got_black[0] < 1e-30 and 0.0 <= got_white[0] < 1e-30


def test_squared_error(rng, images):
    reconstruction = rng.random(images.shape).astype(np.float32)
    got = numpy_of(losses.squared_error(images, reconstruction))
    expected = ((images.astype(np.float64) - reconstruction) ** 2).sum(axis=(1, 2))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_array_equal(numpy_of(losses.squared_error(images, images)), 0.0)


@pytest.mark.parametrize("variance", [1.0, 0.01, 2.5])
def test_gaussian_nll_matches_scipy(rng, images, variance):
    mean = rng.random(images.shape).astype(np.float32)
    got = numpy_of(losses.gaussian_nll(images, mean, variance))
    expected = -stats.norm.logpdf(images, mean, np.sqrt(variance)).sum(axis=(1, 2))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_gaussian_nll_with_per_pixel_variance(rng, images):
    mean = rng.random(images.shape).astype(np.float32)
    variance = rng.uniform(0.05, 2.0, size=(28, 28)).astype(np.float32)
    got = numpy_of(losses.gaussian_nll(images, mean, variance))
    expected = -stats.norm.logpdf(images, mean, np.sqrt(variance)).sum(axis=(1, 2))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_gaussian_nll_is_scaled_squared_error_plus_constant(rng, images):
    mean = rng.random(images.shape).astype(np.float32)
    variance = 0.3
    nll = numpy_of(losses.gaussian_nll(images, mean, variance))
    squared = numpy_of(losses.squared_error(images, mean))
    constant = 0.5 * 784 * np.log(2 * np.pi * variance)
    np.testing.assert_allclose(nll, squared / (2 * variance) + constant, rtol=1e-5)


def test_gaussian_kl_closed_form_against_monte_carlo(rng):
    means = np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]], np.float32)
    log_vars = np.array([[-1.0, 0.5, -0.3], [0.2, -2.0, 0.0]], np.float32)
    closed = numpy_of(losses.gaussian_kl(means, log_vars))
    num_draws = 200_000
    std = np.exp(0.5 * log_vars)
    z = means + std * rng.standard_normal((num_draws, *means.shape))
    # KL(q || p) = E_q[log q(z) - log p(z)]
    log_q = stats.norm.logpdf(z, means, std).sum(axis=-1)
    log_p = stats.norm.logpdf(z).sum(axis=-1)
    samples = log_q - log_p
    estimate = samples.mean(axis=0)
    standard_error = samples.std(axis=0) / np.sqrt(num_draws)
    assert np.all(np.abs(estimate - closed) < 4 * standard_error)


def test_gaussian_kl_zero_at_prior_and_non_negative(rng):
    zero = numpy_of(losses.gaussian_kl(np.zeros((3, 4)), np.zeros((3, 4))))
    np.testing.assert_array_equal(zero, 0.0)
    means = rng.normal(0.0, 2.0, size=(1000, 4)).astype(np.float32)
    log_vars = rng.normal(0.0, 2.0, size=(1000, 4)).astype(np.float32)
    kl = numpy_of(losses.gaussian_kl(means, log_vars))
    assert kl.shape == (1000,)
    assert np.all(kl >= 0.0)
    # KL grows as the mean moves away from zero with unit variance: mu^2 / 2
    shifted = numpy_of(losses.gaussian_kl(np.full((1, 4), 2.0), np.zeros((1, 4))))
    np.testing.assert_allclose(shifted, [4 * 2.0**2 / 2])


def test_gaussian_kl_finite_at_the_clip_limits():
    for log_var in (-15.0, 15.0):
        kl = numpy_of(losses.gaussian_kl(np.zeros((1, 2)), np.full((1, 2), log_var)))
        expected = 0.5 * 2 * (np.exp(log_var) - 1.0 - log_var)
        np.testing.assert_allclose(kl, [expected], rtol=1e-5)


def test_diagonal_gaussian_log_prob_matches_scipy(rng):
    z = rng.normal(size=(5, 7, 3)).astype(np.float32)
    mean = rng.normal(size=(7, 3)).astype(np.float32)
    log_var = rng.normal(size=(7, 3)).astype(np.float32)
    got = numpy_of(losses.diagonal_gaussian_log_prob(z, mean, log_var))
    expected = stats.norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(axis=-1)
    assert got.shape == (5, 7)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_standard_normal_log_prob_matches_scipy(rng):
    z = rng.normal(0.0, 3.0, size=(10, 4)).astype(np.float32)
    got = numpy_of(losses.standard_normal_log_prob(z))
    expected = stats.multivariate_normal(np.zeros(4), np.eye(4)).logpdf(z)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    same = numpy_of(losses.diagonal_gaussian_log_prob(z, 0.0, 0.0))
    np.testing.assert_allclose(got, same, rtol=1e-6)


def test_gaussian_nll_keeps_float64_precision():
    # A Python-float variance must not be rounded to float32 on its way in.
    rng = np.random.default_rng(3)
    x, mean = rng.random((3, 5)), rng.random((3, 5))
    with aelib.backends.float64_enabled():  # JAX computes in float32 otherwise
        value = ops.convert_to_numpy(losses.gaussian_nll(x, mean, 0.3))
    expected = 0.5 * np.sum((x - mean) ** 2 / 0.3 + np.log(2 * np.pi * 0.3), axis=1)
    assert value.dtype == np.float64
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_gaussian_kl_per_dimension_sums_to_gaussian_kl(rng):
    means = rng.normal(0.0, 2.0, size=(50, 6)).astype(np.float32)
    log_vars = rng.normal(0.0, 2.0, size=(50, 6)).astype(np.float32)
    per_dimension = numpy_of(losses.gaussian_kl_per_dimension(means, log_vars))
    assert per_dimension.shape == (50, 6)
    assert np.all(per_dimension >= 0.0)
    m, v = means.astype(np.float64), log_vars.astype(np.float64)
    expected = 0.5 * (np.exp(v) + m**2 - 1.0 - v)
    np.testing.assert_allclose(per_dimension, expected, rtol=1e-5, atol=1e-6)
    total = numpy_of(losses.gaussian_kl(means, log_vars))
    np.testing.assert_allclose(per_dimension.sum(axis=1), total, rtol=1e-5)
    zero = numpy_of(
        losses.gaussian_kl_per_dimension(np.zeros((2, 3)), np.zeros((2, 3)))
    )
    np.testing.assert_array_equal(zero, 0.0)
    # float64 inputs stay float64
    with aelib.backends.float64_enabled():  # JAX computes in float32 otherwise
        precise = numpy_of(losses.gaussian_kl_per_dimension(m, v))
    assert precise.dtype == np.float64
    np.testing.assert_allclose(precise, expected, rtol=1e-12)
