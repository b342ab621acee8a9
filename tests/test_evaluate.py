"""Tests of aelib.evaluate: ELBO, IWAE log-likelihood, reconstruction error."""

import math
import time

import numpy as np
import pytest
from keras import ops

import aelib
from aelib import evaluate


@pytest.fixture(scope="module")
def x(small_mnist):
    return small_mnist.x_test[:100]


@pytest.fixture(scope="module")
def iwae_by_k(trained_vae, x):
    """IWAE estimates for k = 1, 10, 100 with the same seed."""
    return {
        k: evaluate.iwae_log_likelihood(trained_vae.model, x, num_samples=k, seed=0)
        for k in (1, 10, 100)
    }


def test_elbo_shape_and_sign(trained_vae, x):
    values = evaluate.elbo(trained_vae.model, x, num_samples=4, seed=0)
    assert values.shape == (100,) and values.dtype == np.float64
    # -ELBO is at least the Bernoulli entropy of grey pixels, so ELBO < 0
    assert np.all(values < 0)
    np.testing.assert_array_equal(
        values, evaluate.elbo(trained_vae.model, x, num_samples=4, seed=0)
    )
    assert not np.array_equal(
        values, evaluate.elbo(trained_vae.model, x, num_samples=4, seed=1)
    )


def test_elbo_agrees_with_the_training_loss(trained_vae, x):
    """With beta = 1, -mean ELBO estimates the loss that evaluate reports."""
    model = trained_vae.model
    values = evaluate.elbo(model, x, num_samples=50, seed=0)
    result = model.evaluate(x, batch_size=100, return_dict=True, verbose=0)
    # evaluate draws z once per image: the spread of one-draw estimates around
    # the 50-draw ones sets the tolerance
    single = evaluate.elbo(model, x, num_samples=1, seed=1)
    standard_error = (single - values).std() / math.sqrt(len(x))
    assert abs(-values.mean() - result["loss"]) < 4 * standard_error


def test_elbo_is_below_iwae(trained_vae, x, iwae_by_k):
    elbo = evaluate.elbo(trained_vae.model, x, num_samples=100, seed=1)
    assert elbo.mean() <= iwae_by_k[100].mean()
    assert np.mean(elbo <= iwae_by_k[100]) > 0.9


def test_iwae_rises_with_k(iwae_by_k):
    means = {k: values.mean() for k, values in iwae_by_k.items()}
    assert means[100] > means[10] > means[1]
    for values in iwae_by_k.values():
        assert values.shape == (100,) and np.all(np.isfinite(values))


def test_iwae_with_one_sample_is_an_elbo_estimate(trained_vae, x):
    """At k = 1 the IWAE bound is a one-sample ELBO with a Monte-Carlo KL."""
    model = trained_vae.model
    differences = []
    for seed in range(5):
        iwae = evaluate.iwae_log_likelihood(model, x, num_samples=1, seed=seed)
        elbo = evaluate.elbo(model, x, num_samples=1, seed=100 + seed)
        differences.append(iwae - elbo)
    differences = np.concatenate(differences)
    standard_error = differences.std() / math.sqrt(len(differences))
    assert abs(differences.mean()) < 4 * standard_error


def test_iwae_chunks_give_the_same_answer(trained_vae, x, monkeypatch):
    model = trained_vae.model
    image = x[:1]
    whole = evaluate.iwae_log_likelihood(model, image, num_samples=250, seed=3)
    monkeypatch.setattr(evaluate, "_MAX_DECODES_PER_CALL", 100)
    chunked = evaluate.iwae_log_likelihood(model, image, num_samples=250, seed=3)
    np.testing.assert_allclose(chunked, whole, rtol=1e-9)
    several = evaluate.iwae_log_likelihood(model, x[:7], num_samples=30, seed=3)
    assert several.shape == (7,) and np.all(np.isfinite(several))


def test_iwae_with_more_samples_than_a_chunk(trained_vae, x):
    model = trained_vae.model
    k = 40000
    assert k > evaluate._MAX_DECODES_PER_CALL
    value = evaluate.iwae_log_likelihood(model, x[:1], num_samples=k, seed=0)
    assert value.shape == (1,) and np.isfinite(value[0])
    one_sample = evaluate.iwae_log_likelihood(model, x[:1], num_samples=1, seed=0)
    assert value[0] > one_sample[0] - 1.0


def test_iwae_timing_at_k_1000(mnist, capsys):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(512,))
    # 250 images are enough to time the rate; the bound is 0.12 s per image,
    # 120 s for the 1,000 test images of the book's chapters.
    images = mnist.x_test[:250]
    start = time.perf_counter()
    values = evaluate.iwae_log_likelihood(model, images, num_samples=1000, seed=0)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nIWAE, k=1000 on 250 images, latent 2, hidden (512,): {elapsed:.1f} s")
    assert values.shape == (250,) and np.all(np.isfinite(values))
    assert elapsed < 30.0


def test_estimators_need_a_vae(trained_autoencoder, x):
    with pytest.raises(ValueError, match="needs an aelib.VAE.*Autoencoder"):
        evaluate.elbo(trained_autoencoder.model, x)
    with pytest.raises(ValueError, match="needs an aelib.VAE"):
        evaluate.iwae_log_likelihood(trained_autoencoder.model, x)
    with pytest.raises(ValueError, match="needs an aelib model"):
        evaluate.reconstruction_error(object(), x)


@pytest.mark.parametrize("num_samples", [0, -1, 2.5])
def test_num_samples_must_be_a_positive_count(trained_vae, x, num_samples):
    with pytest.raises(ValueError, match="num_samples"):
        evaluate.elbo(trained_vae.model, x, num_samples=num_samples)
    with pytest.raises(ValueError, match="num_samples"):
        evaluate.iwae_log_likelihood(trained_vae.model, x, num_samples=num_samples)


@pytest.mark.parametrize("fixture", ["trained_vae", "trained_autoencoder"])
def test_reconstruction_error(request, fixture, x):
    model = request.getfixturevalue(fixture).model
    reconstruction = model.reconstruct(x).astype(np.float64)
    squared = evaluate.reconstruction_error(model, x)
    assert squared.shape == (100,) and np.all(squared >= 0)
    np.testing.assert_allclose(
        squared, ((x - reconstruction) ** 2).sum(axis=(1, 2)), rtol=1e-6
    )
    bernoulli = evaluate.reconstruction_error(model, x, metric="bernoulli")
    assert bernoulli.shape == (100,) and np.all(bernoulli >= 0)
    z = model.encode(x)
    logits = model.decoder(z[0] if isinstance(z, tuple) else z)
    nll = ops.convert_to_numpy(aelib.losses.bernoulli_nll(x, logits))
    np.testing.assert_allclose(bernoulli, nll, rtol=1e-3)
    with pytest.raises(ValueError, match="metric must be"):
        evaluate.reconstruction_error(model, x, metric="l1")


def test_reconstruction_error_is_zero_for_perfect_copies():
    class Identity(aelib.Autoencoder):
        def reconstruct(self, images, batch_size=1024):
            return np.asarray(images, np.float32)

    images = (np.random.default_rng(0).random((3, 28, 28)) < 0.5).astype(np.float32)
    model = Identity(latent_dim=2, hidden_units=(4,))
    np.testing.assert_array_equal(evaluate.reconstruction_error(model, images), 0.0)
    bernoulli = evaluate.reconstruction_error(model, images, metric="bernoulli")
    assert np.all(bernoulli < 784 * 2e-7)


def test_bits_per_dim():
    assert evaluate.bits_per_dim(784 * math.log(2.0)) == pytest.approx(1.0)
    np.testing.assert_allclose(
        evaluate.bits_per_dim([0.0, 100.0], num_dims=10),
        [0.0, 100 / (10 * math.log(2))],
    )
    with pytest.raises(ValueError, match="num_dims must be positive"):
        evaluate.bits_per_dim(1.0, num_dims=0)


# ------------------------------------------- KL per dimension, active units


def test_kl_per_dimension_sums_to_the_mean_kl(trained_vae, x):
    model = trained_vae.model
    per_dimension = evaluate.kl_per_dimension(model, x)
    assert per_dimension.shape == (2,) and per_dimension.dtype == np.float64
    assert np.all(per_dimension >= 0)
    z_mean, z_log_var = (v.astype(np.float64) for v in model.encode(x))
    kl = 0.5 * (np.exp(z_log_var) + z_mean**2 - 1.0 - z_log_var)
    np.testing.assert_allclose(per_dimension, kl.mean(axis=0), rtol=1e-12)
    assert per_dimension.sum() == pytest.approx(kl.sum(axis=1).mean(), rel=1e-12)
    result = model.evaluate(x, batch_size=100, return_dict=True, verbose=0)
    assert per_dimension.sum() == pytest.approx(result["kl_loss"], rel=1e-4)


@pytest.fixture(scope="module")
def vae_with_dead_units():
    """A 5-D VAE whose posterior means 0 and 3 do not depend on the image."""
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=5, hidden_units=(16,))
    head = model.encoder.get_layer("z_mean")
    kernel = ops.convert_to_numpy(head.kernel)
    kernel *= np.array([0.0, 5.0, 5.0, 0.0, 0.02], np.float32)
    head.kernel.assign(kernel)
    head.bias.assign(np.array([1.5, 0.0, 0.0, -2.0, 0.0], np.float32))
    return model


def test_active_units_against_numpy(vae_with_dead_units, x):
    model = vae_with_dead_units
    variances_expected = model.encode(x)[0].astype(np.float64).var(axis=0)
    count, variances = evaluate.active_units(model, x)
    np.testing.assert_allclose(variances, variances_expected, rtol=1e-10)
    assert variances[0] == variances[3] == 0.0  # constant means: inactive
    assert count == int((variances_expected > 0.01).sum())
    assert count == 2  # units 1 and 2; unit 4 varies, but by less than 0.01
    assert 0 < variances[4] < 0.01 < min(variances[1], variances[2])
    # the threshold decides
    assert evaluate.active_units(model, x, threshold=variances[4] / 2)[0] == 3
    assert evaluate.active_units(model, x, threshold=1e6)[0] == 0


def test_active_unit_checks(vae_with_dead_units, trained_autoencoder, x):
    for threshold in (0, -0.1):
        with pytest.raises(ValueError, match="threshold must be positive"):
            evaluate.active_units(vae_with_dead_units, x, threshold=threshold)
    with pytest.raises(ValueError, match="needs an aelib.VAE"):
        evaluate.active_units(trained_autoencoder.model, x)
    with pytest.raises(ValueError, match="needs an aelib.VAE"):
        evaluate.kl_per_dimension(trained_autoencoder.model, x)


def test_decoder_chunks_fit_the_activation_budget():
    # A convolutional decoder's full-size feature maps take about 50 times the
    # memory of a dense decoder's outputs per code: the chunk must shrink with
    # them, or k=1,000 on a batch of images takes gigabytes.
    dense = aelib.VAE(latent_dim=4, hidden_units=(32,))
    conv = aelib.VAE(latent_dim=4, hidden_units=(32,), architecture="conv")
    assert evaluate._decodes_per_call(dense) == evaluate._MAX_DECODES_PER_CALL
    conv_chunk = evaluate._decodes_per_call(conv)
    # Per code, layer by layer: the code (4), the 7x7x64 feature map (dense, then
    # reshaped), the 14x14x64 and 28x28x32 transposed convolutions, and the 28x28
    # logits (convolved, then reshaped).
    floats = 4 + 2 * 7 * 7 * 64 + 14 * 14 * 64 + 28 * 28 * 32 + 2 * 28 * 28
    assert conv_chunk * floats * 4 <= evaluate._ACTIVATION_BUDGET_BYTES
    assert 500 < conv_chunk < 5000
    images = np.full((3, 28, 28), 0.5, dtype=np.float32)
    value = evaluate.iwae_log_likelihood(conv, images, 2 * conv_chunk)
    assert value.shape == (3,) and np.all(np.isfinite(value))
