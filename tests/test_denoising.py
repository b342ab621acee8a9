"""Tests of aelib.denoising: corruption in training only, and its statistics."""

import math

import numpy as np
import pytest
from keras import ops

import aelib
from aelib import losses


@pytest.fixture(scope="module")
def x(small_mnist):
    return small_mnist.x_test[:32]


@pytest.fixture(scope="module")
def denoisers(small_mnist):
    """One denoising autoencoder per noise, each trained for one short epoch."""
    models = {}
    for noise in ("gaussian", "masking"):
        aelib.set_seed(0)
        model = aelib.DenoisingAutoencoder(
            noise=noise,
            noise_level=0.4,
            seed=1,
            latent_dim=4,
            hidden_units=(16,),
            name=f"denoiser_{noise}",
        )
        history = model.fit(
            small_mnist.x_train[:256], epochs=1, batch_size=64, verbose=0
        )
        models[noise] = (model, history.history)
    return models


@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_inference_is_deterministic_and_uncorrupted(denoisers, x, noise):
    model, history = denoisers[noise]
    assert model.steps_per_execution == aelib.models.default_steps_per_execution()
    assert set(history) == {"loss", "reconstruction_loss"}
    plain = ops.convert_to_numpy(model(x)["logits"])
    np.testing.assert_array_equal(ops.convert_to_numpy(model(x)["logits"]), plain)
    predicted = model.predict(x, batch_size=32, verbose=0)["logits"]
    np.testing.assert_allclose(predicted, plain, rtol=1e-5, atol=1e-5)
    # reconstruct() = sigmoid of the logits of the clean input
    np.testing.assert_allclose(
        model.reconstruct(x), 1 / (1 + np.exp(-plain.astype(np.float64))), atol=1e-6
    )
    np.testing.assert_array_equal(model.reconstruct(x), model.reconstruct(x))
    # evaluate() scores the clean input too: its loss is the plain call's
    result = model.evaluate(x, batch_size=32, return_dict=True, verbose=0)
    expected = ops.convert_to_numpy(losses.bernoulli_nll(x, plain)).mean()
    assert result["reconstruction_loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_training_calls_corrupt_the_input(denoisers, x, noise):
    model, _ = denoisers[noise]
    plain = ops.convert_to_numpy(model(x)["logits"])
    first = ops.convert_to_numpy(model(x, training=True)["logits"])
    second = ops.convert_to_numpy(model(x, training=True)["logits"])
    assert not np.allclose(first, plain, atol=1e-3)
    assert not np.allclose(first, second, atol=1e-3)  # new noise at every call


@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_in_graph_corruption_statistics(noise):
    """What the training step feeds the encoder (the same law as corrupt())."""
    level = 0.3 if noise == "masking" else 0.1
    model = aelib.DenoisingAutoencoder(
        noise=noise, noise_level=level, seed=0, latent_dim=2, hidden_units=(4,)
    )
    clean = np.full((64, 28, 28), 0.5, np.float32)
    noisy = ops.convert_to_numpy(model._corrupt_tensor(ops.convert_to_tensor(clean)))
    n = clean.size
    if noise == "masking":
        masked = np.mean(noisy == 0.0)
        assert abs(masked - level) < 4 * math.sqrt(level * (1 - level) / n)
        assert set(np.unique(noisy)) == {0.0, 0.5}
    else:
        # grey pixels with noise of std 0.1 are almost never clipped (5 sigma)
        assert np.std(noisy - clean) == pytest.approx(level, rel=4 / math.sqrt(2 * n))
        ones = ops.convert_to_tensor(np.ones((8, 28, 28), np.float32))
        clipped = ops.convert_to_numpy(model._corrupt_tensor(ones))
        assert clipped.max() == 1.0 and 0.4 < np.mean(clipped == 1.0) < 0.6


def test_corrupt_masking_fraction(x):
    level = 0.25
    model = aelib.DenoisingAutoencoder(
        noise="masking", noise_level=level, latent_dim=2, hidden_units=(4,)
    )
    original = x.copy()
    noisy = model.corrupt(x, seed=0)
    np.testing.assert_array_equal(x, original)  # the input is not modified
    assert noisy.shape == x.shape and noisy.dtype == np.float32
    ink = x > 0
    masked = np.mean(noisy[ink] == 0.0)
    n = int(ink.sum())
    assert abs(masked - level) < 4 * math.sqrt(level * (1 - level) / n)
    kept = noisy[ink] != 0.0
    np.testing.assert_array_equal(noisy[ink][kept], x[ink][kept])
    np.testing.assert_array_equal(noisy[~ink], 0.0)
    np.testing.assert_array_equal(model.corrupt(x, seed=0), noisy)
    assert not np.array_equal(model.corrupt(x, seed=1), noisy)


def test_corrupt_gaussian_statistics(x):
    model = aelib.DenoisingAutoencoder(
        noise="gaussian", noise_level=0.1, latent_dim=2, hidden_units=(4,)
    )
    # On grey images, noise of std 0.1 is almost never clipped (5 sigma)
    grey = np.full((100, 28, 28), 0.5, np.float32)
    difference = model.corrupt(grey, seed=0).astype(np.float64) - grey
    n = difference.size
    assert difference.std() == pytest.approx(0.1, rel=4 / math.sqrt(2 * n))
    assert abs(difference.mean()) < 4 * 0.1 / math.sqrt(n)
    # On digits a large noise is clipped to [0, 1]
    strong = aelib.DenoisingAutoencoder(
        noise="gaussian", noise_level=0.8, latent_dim=2, hidden_units=(4,)
    )
    noisy = strong.corrupt(x, seed=0)
    assert noisy.dtype == np.float32
    assert noisy.min() == 0.0 and noisy.max() == 1.0
    assert 0.2 < np.mean(noisy == 0.0) < 0.6  # many pixels clipped at 0
    np.testing.assert_array_equal(strong.corrupt(x, seed=3), strong.corrupt(x, seed=3))


@pytest.mark.parametrize(
    ("noise", "level", "message"),
    [
        ("salt", 0.3, "noise must be one of"),
        ("gaussian", 0.0, "noise_level must be positive"),
        ("gaussian", -0.1, "noise_level must be positive"),
        ("gaussian", float("nan"), "noise_level must be positive"),
        ("gaussian", float("inf"), "noise_level must be positive"),
        ("masking", 1.0, "below 1 for masking"),
        ("masking", 1.5, "below 1 for masking"),
    ],
)
def test_invalid_noise_raises(noise, level, message):
    with pytest.raises(ValueError, match=message):
        aelib.DenoisingAutoencoder(noise=noise, noise_level=level, hidden_units=(4,))


def test_gaussian_noise_may_exceed_one():
    model = aelib.DenoisingAutoencoder(noise_level=1.5, hidden_units=(4,))
    assert model.noise_level == 1.5


@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_save_and_load(denoisers, round_trip, x, noise):
    model, _ = denoisers[noise]
    loaded = round_trip(model)
    config = loaded.get_config()
    assert (config["noise"], config["noise_level"], config["seed"]) == (noise, 0.4, 1)
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))
    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))
    np.testing.assert_array_equal(loaded.corrupt(x, seed=2), model.corrupt(x, seed=2))
