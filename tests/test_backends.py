"""Tests of aelib.backends: what differs between TensorFlow, JAX and PyTorch."""

import keras
import numpy as np
from keras import ops

import aelib
from aelib import backends, losses


def test_name_is_the_keras_backend():
    assert backends.name() == keras.backend.backend()
    assert backends.name() in ("tensorflow", "jax", "torch")


def test_float64_enabled_computes_in_float64_on_every_backend():
    m = np.array([[0.1, -0.2]], np.float64)
    v = np.array([[1e-9, 0.0]], np.float64)
    with backends.float64_enabled():
        kl = ops.convert_to_numpy(losses.gaussian_kl_per_dimension(m, v))
    assert kl.dtype == np.float64
    # 0.5 * (e^v - 1 - v) for v = 1e-9 is 5e-19: lost entirely in float32
    expected = 0.5 * (np.exp(v) + m**2 - 1.0 - v)
    np.testing.assert_allclose(kl, expected, rtol=1e-9)


def test_kl_per_dimension_is_float64_on_every_backend(trained_vae, small_mnist):
    per_dimension = aelib.kl_per_dimension(trained_vae.model, small_mnist.x_test[:50])
    assert per_dimension.dtype == np.float64
