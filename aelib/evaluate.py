"""Held-out evaluation of trained models: ELBO, importance-weighted log-likelihood.

All numbers are per example, in nats (natural-log units); :func:`bits_per_dim`
converts. For a VAE with a Bernoulli decoder:

- :func:`elbo` estimates the evidence lower bound
  ``E_q[log p(x|z)] - KL(q(z|x) || p(z)) <= log p(x)``, with the KL in closed
  form and the expectation averaged over ``num_samples`` draws.
- :func:`iwae_log_likelihood` estimates ``log p(x)`` itself by importance
  sampling with the encoder as proposal (Burda et al., 2016):
  ``log (1/k) sum_i p(x, z_i) / q(z_i|x)``, ``z_i ~ q(z|x)``. It is a lower
  bound in expectation that tightens as ``k`` grows, and at ``k = 1`` it is a
  one-sample ELBO.

The Bernoulli likelihood is a true likelihood only for binary images: on
grey-level pixels it is a training loss, not a density, and its numbers do not
compare with the literature. Pass binarized images (``aelib.data.binarize`` or
``aelib.data.sample_binarize``) to get numbers that do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from keras import ops

from aelib import losses
from aelib.backends import float64_enabled
from aelib.models import VAE, Autoencoder
from aelib.validation import validate_images, validate_positive

__all__ = [
    "active_units",
    "kl_per_dimension",
    "elbo",
    "iwae_log_likelihood",
    "reconstruction_error",
    "bits_per_dim",
]

_MAX_DECODES_PER_CALL = 32768
"""The most decoder evaluations per call, whatever the decoder."""

_ACTIVATION_BUDGET_BYTES = 256 * 2**20
"""Memory allowed for the decoder's activations in one call (256 MiB)."""


def _decodes_per_call(model: VAE) -> int:
    """How many codes to decode at once so the activations fit the budget.

    A dense decoder's activations take a few kilobytes per code, a convolutional
    one's about 200 kB (its full-size feature maps), so a fixed chunk that is
    right for one exhausts memory with the other.
    """
    floats_per_code = 0
    for layer in model.decoder.layers:
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None:
            floats_per_code += int(np.prod([d for d in shape[1:] if d is not None]))
    per_code = max(1, floats_per_code) * 4
    return int(max(1, min(_MAX_DECODES_PER_CALL, _ACTIVATION_BUDGET_BYTES // per_code)))


def _check_vae(model: Any, function: str) -> VAE:
    if not isinstance(model, VAE):
        raise ValueError(
            f"{function} needs an aelib.VAE (a model with a posterior q(z|x)), got "
            f"{type(model).__name__}."
        )
    if model._num_conditions():
        raise ValueError(
            f"{function} does not support conditional models: their posterior "
            "and likelihood also need the labels."
        )
    return model


def _log_terms(
    model: VAE, x: np.ndarray, num_samples: int, seed: int | None
) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Yields, per batch of images, log p(x|z_i) and log p(z_i) - log q(z_i|x).

    Each yielded array has shape (num_samples, batch) in float64.
    """
    rng = np.random.default_rng(seed)
    decodes_per_call = _decodes_per_call(model)
    images_per_call = max(1, decodes_per_call // num_samples)
    samples_per_call = min(num_samples, decodes_per_call)
    for start in range(0, x.shape[0], images_per_call):
        rows = slice(start, min(start + images_per_call, x.shape[0]))
        batch = x[rows]
        z_mean, z_log_var = (ops.convert_to_numpy(t) for t in model.posterior(batch))
        std = np.exp(0.5 * z_log_var)
        log_likelihood, log_ratio = [], []
        for first in range(0, num_samples, samples_per_call):
            count = min(samples_per_call, num_samples - first)
            epsilon = rng.standard_normal((count, *z_mean.shape)).astype(np.float32)
            z = z_mean[None] + std[None] * epsilon  # (count, batch, d)
            flat_z = z.reshape(-1, model.latent_dim)
            logits = model.decoder(flat_z)
            targets = np.broadcast_to(batch[None], (count, *batch.shape)).reshape(
                -1, *batch.shape[1:]
            )
            nll = ops.convert_to_numpy(losses.bernoulli_nll(targets, logits))
            log_likelihood.append(-nll.reshape(count, -1).astype(np.float64))
            log_prior = ops.convert_to_numpy(losses.standard_normal_log_prob(z))
            log_posterior = ops.convert_to_numpy(
                losses.diagonal_gaussian_log_prob(z, z_mean[None], z_log_var[None])
            )
            log_ratio.append(
                log_prior.astype(np.float64) - log_posterior.astype(np.float64)
            )
        yield rows, np.concatenate(log_likelihood), np.concatenate(log_ratio)


def elbo(
    model: VAE, x: Any, *, num_samples: int = 1, seed: int | None = 0
) -> np.ndarray:
    """Estimates the ELBO of each image, in nats.

    ``ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))``: the expectation is
    averaged over ``num_samples`` draws from q(z|x), the KL is exact. The KL
    weight ``beta`` of training plays no part: this is the true bound.

    Args:
        model: a trained :class:`~aelib.VAE`.
        x: images in [0, 1] (binarize them for comparable numbers).
        num_samples: draws of z per image.
        seed: seed of the draws.

    Returns:
        float64 array of shape (n,); the mean is the test ELBO per image.
    """
    model = _check_vae(model, "elbo")
    x = validate_images(x, model.image_shape)
    num_samples = validate_positive(num_samples, "num_samples", integer=True)
    result = np.empty(x.shape[0], dtype=np.float64)
    for rows, log_likelihood, _ in _log_terms(model, x, num_samples, seed):
        z_mean, z_log_var = model.posterior(x[rows])
        kl = ops.convert_to_numpy(losses.gaussian_kl(z_mean, z_log_var))
        result[rows] = log_likelihood.mean(axis=0) - kl.astype(np.float64)
    return result


def iwae_log_likelihood(
    model: VAE, x: Any, num_samples: int = 1000, *, seed: int | None = 0
) -> np.ndarray:
    """Estimates log p(x) of each image by importance sampling, in nats.

    ``log p(x) ~ logsumexp_i [log p(x|z_i) + log p(z_i) - log q(z_i|x)] - log k``
    with ``z_1..z_k ~ q(z|x)``: the importance-weighted bound of Burda et al.
    (2016), computed in float64 with a log-sum-exp. Its expectation rises with
    ``k`` towards log p(x); ``k = 1000`` or more is usual in the literature.
    Work is done in chunks sized so that the decoder's activations stay within
    256 MiB (at most 32,768 decoder evaluations), so memory stays small for any
    ``k`` and any decoder.

    Args:
        model: a trained :class:`~aelib.VAE`.
        x: images in [0, 1] (binarize them for comparable numbers).
        num_samples: importance samples per image, ``k``.
        seed: seed of the draws.

    Returns:
        float64 array of shape (n,). Its negated mean is the test NLL.
    """
    model = _check_vae(model, "iwae_log_likelihood")
    x = validate_images(x, model.image_shape)
    num_samples = validate_positive(num_samples, "num_samples", integer=True)
    result = np.empty(x.shape[0], dtype=np.float64)
    for rows, log_likelihood, log_ratio in _log_terms(model, x, num_samples, seed):
        log_weights = log_likelihood + log_ratio
        peak = log_weights.max(axis=0)
        result[rows] = (
            peak
            + np.log(np.exp(log_weights - peak).sum(axis=0))
            - math.log(num_samples)
        )
    return result


def reconstruction_error(
    model: Autoencoder | VAE,
    x: Any,
    *,
    metric: str = "squared_error",
) -> np.ndarray:
    """Per-image error between ``x`` and its deterministic reconstruction.

    The VAE reconstructs from the posterior mean, the autoencoder from its code.

    Args:
        model: an :class:`~aelib.Autoencoder` or :class:`~aelib.VAE`.
        x: images in [0, 1].
        metric: ``"squared_error"`` (sum over pixels) or ``"bernoulli"``
            (binary cross-entropy of the reconstruction probabilities, nats).

    Returns:
        float64 array of shape (n,).
    """
    if not isinstance(model, Autoencoder | VAE):
        raise ValueError(
            f"reconstruction_error needs an aelib model, got {type(model).__name__}."
        )
    x = validate_images(x, model.image_shape)
    reconstruction = model.reconstruct(x)
    flat_x = x.reshape(x.shape[0], -1).astype(np.float64)
    flat_r = reconstruction.reshape(x.shape[0], -1).astype(np.float64)
    if metric == "squared_error":
        return np.sum((flat_x - flat_r) ** 2, axis=1)
    if metric == "bernoulli":
        p = np.clip(flat_r, 1e-7, 1 - 1e-7)
        return -np.sum(flat_x * np.log(p) + (1 - flat_x) * np.log1p(-p), axis=1)
    raise ValueError(f"metric must be 'squared_error' or 'bernoulli', got {metric!r}.")


def bits_per_dim(nll_nats: Any, num_dims: int = 784) -> np.ndarray | float:
    """Converts a negative log-likelihood in nats to bits per dimension.

    ``nll / (num_dims * ln 2)``: 784 dimensions for a 28x28 image.
    """
    num_dims = validate_positive(num_dims, "num_dims", integer=True)
    return np.asarray(nll_nats, dtype=np.float64) / (num_dims * math.log(2.0))


def kl_per_dimension(model: VAE, x: Any) -> np.ndarray:
    """The KL of each latent dimension, averaged over the images, in nats.

    A dimension whose KL is near zero has a posterior equal to the prior for
    every image: it carries no information about x (a collapsed dimension).

    Returns:
        float64 array of shape (latent_dim,); its sum is the mean KL term.
    """
    model = _check_vae(model, "kl_per_dimension")
    z_mean, z_log_var = model.encode(x)
    with float64_enabled():
        per_dimension = losses.gaussian_kl_per_dimension(
            z_mean.astype(np.float64), z_log_var.astype(np.float64)
        )
        return ops.convert_to_numpy(per_dimension).mean(axis=0)


def active_units(model: VAE, x: Any, threshold: float = 0.01) -> tuple[int, np.ndarray]:
    """Counts the latent dimensions the model uses (Burda et al., 2016).

    A dimension u is active when the variance over images of its posterior mean,
    ``Cov_x(E_q[z_u | x])``, exceeds ``threshold``: the code then changes with
    the image. Inactive dimensions are ignored by the decoder.

    Returns:
        ``(count, variances)``: the number of active units and the variance of
        each dimension's posterior mean, shape (latent_dim,).
    """
    model = _check_vae(model, "active_units")
    threshold = validate_positive(threshold, "threshold")
    z_mean, _ = model.encode(x)
    variances = z_mean.astype(np.float64).var(axis=0)
    return int((variances > threshold).sum()), variances
