"""Tests of the VAE's free-bits objective (``aelib.VAE(free_bits=...)``)."""

import numpy as np
import pytest
from keras import ops

import aelib

BETA = 2.0
LAMBDA = 0.5


@pytest.fixture(scope="module")
def x(small_mnist):
    return small_mnist.x_test[:32]


def numpy_terms(x, y_pred):
    """Reconstruction and per-example, per-dimension KL from the model's outputs."""
    outputs = {k: ops.convert_to_numpy(v).astype(np.float64) for k, v in y_pred.items()}
    logits, mean, log_var = outputs["logits"], outputs["z_mean"], outputs["z_log_var"]
    per_pixel = np.logaddexp(0.0, logits) - x.astype(np.float64) * logits
    reconstruction = per_pixel.sum(axis=(1, 2)).mean()
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var)  # (n, d)
    return reconstruction, kl


@pytest.fixture(scope="module")
def model(x):
    """A VAE whose 4 latent dimensions have KLs below and above lambda."""
    aelib.set_seed(0)
    vae = aelib.VAE(latent_dim=4, hidden_units=(16,), beta=BETA, free_bits=LAMBDA)
    vae.compile()
    head = vae.encoder.get_layer("z_mean")
    kernel = ops.convert_to_numpy(head.kernel)
    # dimension 0 collapsed; 1 and 2 vary around lambda; 3 far above it
    kernel *= np.array([0.0, 1.0, 3.0, 3.0], np.float32)
    head.kernel.assign(kernel)
    head.bias.assign(np.array([0.0, 0.2, 0.6, 2.5], np.float32))
    return vae


def test_objective_uses_free_bits_per_dimension(model, x):
    y_pred = model(x)
    reconstruction, kl = numpy_terms(x, y_pred)
    kl_per_dimension = kl.mean(axis=0)
    # the case covers dimensions on both sides of lambda
    assert kl_per_dimension.min() < LAMBDA < kl_per_dimension.max()
    model.reset_metrics()
    loss = float(ops.convert_to_numpy(model.compute_loss(x=x, y_pred=y_pred)))
    expected = reconstruction + BETA * np.maximum(kl_per_dimension, LAMBDA).sum()
    assert loss == pytest.approx(expected, abs=0.01)
    # the clamp acts on the batch mean of each dimension, not on each example
    # (clamping each example would give a larger loss: by 0.48 on TensorFlow's
    # initial weights, 0.16 on PyTorch's)
    per_example = reconstruction + BETA * np.maximum(kl, LAMBDA).sum(axis=1).mean()
    assert per_example - expected > 0.1
    # kl_loss reports the true KL
    true_kl = float(ops.convert_to_numpy(model.kl_loss_tracker.result()))
    assert true_kl == pytest.approx(kl.sum(axis=1).mean(), rel=1e-5)
    assert true_kl < np.maximum(kl_per_dimension, LAMBDA).sum()


def test_evaluate_reports_the_true_kl(model, x):
    result = model.evaluate(x, batch_size=32, return_dict=True, verbose=0)
    z_mean, z_log_var = model.encode(x)
    kl = 0.5 * (np.exp(z_log_var) + z_mean**2 - 1.0 - z_log_var).astype(np.float64)
    assert result["kl_loss"] == pytest.approx(kl.sum(axis=1).mean(), rel=1e-4)
    clamped = np.maximum(kl.mean(axis=0), LAMBDA).sum()
    penalty = result["loss"] - result["reconstruction_loss"]
    assert penalty == pytest.approx(BETA * clamped, rel=1e-4)


def test_zero_free_bits_is_the_beta_vae_objective(x):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=3, hidden_units=(8,), beta=BETA)
    assert model.free_bits == 0.0
    y_pred = model(x)
    reconstruction, kl = numpy_terms(x, y_pred)
    loss = float(ops.convert_to_numpy(model.compute_loss(x=x, y_pred=y_pred)))
    assert loss == pytest.approx(
        reconstruction + BETA * kl.sum(axis=1).mean(), rel=1e-5
    )


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), True])
def test_invalid_free_bits_raise(value):
    with pytest.raises(ValueError, match="free_bits must be a number >= 0"):
        aelib.VAE(hidden_units=(4,), free_bits=value)


def test_free_bits_round_trip(round_trip, x):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(8,), free_bits=0.25, name="fb")
    model(x)  # build
    loaded = round_trip(model)
    assert loaded.free_bits == 0.25
    for got, expected in zip(loaded.encode(x), model.encode(x), strict=True):
        np.testing.assert_array_equal(got, expected)
