"""Tests of aelib.layers.Sampling, the reparameterization trick."""

import keras
import numpy as np
import pytest
from keras import ops

import aelib
from aelib.layers import Sampling


def draw(layer, z_mean, z_log_var):
    return ops.convert_to_numpy(layer([z_mean, z_log_var]))


def test_moments_match_the_posterior():
    num_draws = 20000
    means = np.array([-2.0, 0.0, 0.5, 3.0], np.float32)
    log_vars = np.array([-4.0, 0.0, 1.0, 2.5], np.float32)
    z = draw(
        Sampling(seed=1),
        np.tile(means, (num_draws, 1)),
        np.tile(log_vars, (num_draws, 1)),
    )
    assert z.shape == (num_draws, 4) and z.dtype == np.float32
    std = np.exp(0.5 * log_vars)
    # standard errors of the sample mean and of the sample standard deviation
    mean_error = std / np.sqrt(num_draws)
    std_error = std / np.sqrt(2 * num_draws)
    assert np.all(np.abs(z.mean(axis=0) - means) < 4 * mean_error)
    assert np.all(np.abs(z.std(axis=0) - std) < 4 * std_error)
    # the coordinates are independent draws
    correlation = np.corrcoef(z, rowvar=False)[np.triu_indices(4, 1)]
    assert np.all(np.abs(correlation) < 4 / np.sqrt(num_draws))


def test_gradients_flow_to_both_inputs(value_and_grad):
    z_mean = np.array([[0.3, -1.0], [2.0, 0.1]], np.float32)
    z_log_var = np.array([[0.0, -1.0], [0.5, 1.0]], np.float32)
    layer = Sampling(seed=2)

    def total(mean, log_var):
        z = layer([mean, log_var])
        return ops.sum(z), z

    _, z, (grad_mean, grad_log_var) = value_and_grad(total, z_mean, z_log_var)
    # z = mean + exp(log_var / 2) * eps, so dz/dmean = 1 and
    # dz/dlog_var = exp(log_var / 2) * eps / 2 = (z - mean) / 2.
    np.testing.assert_allclose(grad_mean, np.ones((2, 2)))
    expected = 0.5 * (z - z_mean)
    np.testing.assert_allclose(grad_log_var, expected, rtol=1e-5, atol=1e-7)
    assert np.all(grad_log_var != 0.0)


def test_seeded_layers_repeat():
    z_mean = np.zeros((5, 3), np.float32)
    z_log_var = np.zeros((5, 3), np.float32)
    first, second = Sampling(seed=7), Sampling(seed=7)
    a1, a2 = draw(first, z_mean, z_log_var), draw(first, z_mean, z_log_var)
    b1, b2 = draw(second, z_mean, z_log_var), draw(second, z_mean, z_log_var)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)  # the generator advances between calls
    assert not np.array_equal(a1, draw(Sampling(seed=8), z_mean, z_log_var))


def test_global_seed_makes_unseeded_layers_repeat():
    z = np.zeros((4, 2), np.float32)
    aelib.set_seed(3)
    first = draw(Sampling(), z, z)
    aelib.set_seed(3)
    second = draw(Sampling(), z, z)
    np.testing.assert_array_equal(first, second)


def test_zero_variance_returns_the_mean():
    z_mean = np.array([[1.5, -2.0]], np.float32)
    z = draw(Sampling(seed=0), z_mean, np.full((1, 2), -200.0, np.float32))
    np.testing.assert_allclose(z, z_mean)


def test_config_round_trip():
    layer = Sampling(seed=11, name="my_sampling")
    config = layer.get_config()
    assert config["seed"] == 11 and config["name"] == "my_sampling"
    rebuilt = Sampling.from_config(config)
    assert rebuilt.get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert isinstance(restored, Sampling)
    assert restored.get_config() == config
    z = np.zeros((3, 2), np.float32)
    np.testing.assert_array_equal(draw(rebuilt, z, z), draw(Sampling(seed=11), z, z))


def test_output_shape():
    layer = Sampling()
    assert layer.compute_output_shape([(None, 5), (None, 5)]) == (None, 5)
    inputs = [keras.Input((5,)), keras.Input((5,))]
    assert tuple(layer(inputs).shape) == (None, 5)


@pytest.mark.parametrize("log_var", [-15.0, 15.0])
def test_extreme_log_variance_stays_finite(log_var):
    z = draw(
        Sampling(seed=0), np.zeros((100, 2), np.float32), np.full((100, 2), log_var)
    )
    assert np.all(np.isfinite(z))
