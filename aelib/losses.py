"""The terms of autoencoder and VAE objectives, as plain functions of tensors.

Every function works on a batch and returns one value per example (shape
``(n,)``), summed over pixels or latent dimensions, in nats. Averaging over the
batch is left to the caller, so the same functions serve training (mean over a
batch) and evaluation (a number per test image). They use only ``keras.ops``
and run on any Keras backend.

A note on likelihoods. :func:`bernoulli_nll` is the negative log-likelihood of
a Bernoulli distribution per pixel. On binary images it is a true likelihood.
On grey-level images (MNIST scaled to [0, 1]) it is still a good training loss
(binary cross-entropy), but it is *not* the log-density of any distribution
over grey-level images, so numbers computed from it are not comparable with
published likelihoods. Binarize the data first (:func:`aelib.data.binarize` or
:func:`aelib.data.sample_binarize`) to compare with the literature.
"""

from __future__ import annotations

import math

from keras import ops

__all__ = [
    "bernoulli_nll",
    "squared_error",
    "gaussian_nll",
    "gaussian_kl",
    "gaussian_kl_per_dimension",
    "diagonal_gaussian_log_prob",
    "standard_normal_log_prob",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _sum_per_example(values):
    """Sums a tensor over every axis but the first."""
    values = ops.reshape(values, (ops.shape(values)[0], -1))
    return ops.sum(values, axis=-1)


def bernoulli_nll(x, logits):
    """Negative log-likelihood of ``x`` under Bernoulli(sigmoid(logits)), per example.

    Computed from logits as ``softplus(l) - x * l`` summed over pixels, which is
    exact and stable for any logit; never ``log(sigmoid(l))``, which gives
    ``log(0) = -inf`` once the sigmoid saturates in float32.

    Args:
        x: targets in [0, 1], shape (n, ...).
        logits: decoder outputs before the sigmoid, same shape as ``x``.

    Returns:
        Shape (n,): nats per example.
    """
    x = ops.cast(x, logits.dtype)
    return _sum_per_example(ops.softplus(logits) - x * logits)


def squared_error(x, reconstruction):
    """Sum of squared pixel errors per example.

    Up to a constant and a factor ``1 / (2 sigma^2)``, this is the negative
    log-likelihood of a Gaussian decoder with fixed variance ``sigma^2``; see
    :func:`gaussian_nll`.

    Args:
        x: targets, shape (n, ...).
        reconstruction: predictions, same shape.

    Returns:
        Shape (n,).
    """
    reconstruction = ops.convert_to_tensor(reconstruction)
    x = ops.cast(x, reconstruction.dtype)
    return _sum_per_example(ops.square(x - reconstruction))


def gaussian_nll(x, mean, variance=1.0):
    """Negative log-likelihood of ``x`` under N(mean, variance * I), per example.

    ``0.5 * sum((x - mean)^2 / variance + log(2 pi variance))``. With a fixed
    variance this is a scaled squared error plus a constant: a per-pixel mean
    squared error corresponds to a particular (and usually badly chosen)
    variance, which is why it silently re-weights the KL term of a VAE.

    Args:
        x: targets, shape (n, ...).
        mean: decoder means, same shape.
        variance: a positive scalar or a tensor broadcastable to ``x``.

    Returns:
        Shape (n,): nats per example.
    """
    mean = ops.convert_to_tensor(mean)
    x = ops.cast(x, mean.dtype)
    variance = ops.convert_to_tensor(variance, dtype=mean.dtype)
    variance = ops.broadcast_to(variance, ops.shape(x))
    terms = ops.square(x - mean) / variance + ops.log(variance) + _LOG_2PI
    return 0.5 * _sum_per_example(terms)


def gaussian_kl_per_dimension(z_mean, z_log_var):
    """KL( N(z_mean, diag(exp(z_log_var))) || N(0, I) ) of each latent dimension.

    Args:
        z_mean: shape (n, d).
        z_log_var: shape (n, d).

    Returns:
        Shape (n, d): ``0.5 * (exp(log_var) + mean^2 - 1 - log_var)``, nats.
    """
    z_mean = ops.convert_to_tensor(z_mean)
    z_log_var = ops.cast(z_log_var, z_mean.dtype)
    return 0.5 * (ops.exp(z_log_var) + ops.square(z_mean) - 1.0 - z_log_var)


def gaussian_kl(z_mean, z_log_var):
    """KL( N(z_mean, diag(exp(z_log_var))) || N(0, I) ), per example, in closed form.

    ``0.5 * sum(exp(log_var) + mean^2 - 1 - log_var)`` over latent dimensions.
    The book checks this against a Monte-Carlo estimate.

    Args:
        z_mean: shape (n, d).
        z_log_var: shape (n, d), the log of the posterior variances.

    Returns:
        Shape (n,): nats per example, never negative.
    """
    return ops.sum(gaussian_kl_per_dimension(z_mean, z_log_var), axis=-1)


def diagonal_gaussian_log_prob(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))), summed over the last axis.

    Args:
        z: points, shape (..., d).
        mean: means, broadcastable to ``z``.
        log_var: log-variances, broadcastable to ``z``.

    Returns:
        Shape ``z.shape[:-1]``.
    """
    z = ops.convert_to_tensor(z)
    mean = ops.cast(mean, z.dtype)
    log_var = ops.cast(log_var, z.dtype)
    terms = _LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var)
    return -0.5 * ops.sum(terms, axis=-1)


def standard_normal_log_prob(z):
    """log N(z; 0, I), summed over the last axis.

    Args:
        z: points, shape (..., d).

    Returns:
        Shape ``z.shape[:-1]``.
    """
    z = ops.convert_to_tensor(z)
    return -0.5 * ops.sum(_LOG_2PI + ops.square(z), axis=-1)
