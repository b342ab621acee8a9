"""Tests of aelib.conditional: the conditional VAE and its label handling."""

import numpy as np
import pytest

import aelib
from aelib import evaluate


@pytest.fixture(scope="module")
def data(small_mnist):
    return small_mnist.x_test[:40], small_mnist.y_test[:40]


@pytest.fixture(scope="module")
def cvae(small_mnist):
    """A conditional VAE trained for two epochs with validation data."""
    aelib.set_seed(0)
    model = aelib.ConditionalVAE(latent_dim=2, hidden_units=(32,), seed=0, name="cvae")
    history = model.fit(
        small_mnist.x_train,
        small_mnist.y_train,
        epochs=2,
        batch_size=64,
        validation_data=(small_mnist.x_test, small_mnist.y_test),
        verbose=0,
    )
    return model, history.history


def closed_form_kl(z_mean, z_log_var):
    z_mean, z_log_var = z_mean.astype(np.float64), z_log_var.astype(np.float64)
    return 0.5 * np.sum(np.exp(z_log_var) + z_mean**2 - 1.0 - z_log_var, axis=1)


def test_fit_reports_every_term_with_validation(cvae):
    model, history = cvae
    assert model.steps_per_execution == aelib.models.default_steps_per_execution()
    terms = {"loss", "reconstruction_loss", "kl_loss"}
    assert set(history) == terms | {f"val_{name}" for name in terms}
    assert history["loss"][1] < history["loss"][0]
    for epoch in range(2):
        total = history["reconstruction_loss"][epoch] + history["kl_loss"][epoch]
        assert history["loss"][epoch] == pytest.approx(total, rel=1e-5)
        assert 0 < history["val_kl_loss"][epoch] and history["val_loss"][epoch] > 0


def test_evaluate_with_labels(cvae, data):
    model, _ = cvae
    x, y = data
    result = model.evaluate(x, y, batch_size=40, return_dict=True, verbose=0)
    assert set(result) == {"loss", "reconstruction_loss", "kl_loss"}
    kl = closed_form_kl(*model.encode(x, y)).mean()
    assert result["kl_loss"] == pytest.approx(kl, rel=1e-4)
    total = result["reconstruction_loss"] + result["kl_loss"]
    assert result["loss"] == pytest.approx(total, rel=1e-5)
    with pytest.raises(ValueError, match="needs the labels"):
        model.evaluate(x, verbose=0)


def test_fit_needs_labels_in_range(data):
    x, y = data
    model = aelib.ConditionalVAE(num_classes=10, latent_dim=2, hidden_units=(4,))
    with pytest.raises(ValueError, match=r"needs the labels: call fit\(x, y\)"):
        model.fit(x, verbose=0)
    for bad in (np.full(40, 10), np.full(40, -1)):
        with pytest.raises(ValueError, match="expected 0 to 9"):
            model.fit(x, bad, verbose=0)
    with pytest.raises(ValueError, match="39 labels for 40 examples"):
        model.fit(x, y[:39], verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be \(x_val, y_val\)"):
        model.fit(x, y, validation_data=x, verbose=0)
    assert not model.compiled  # nothing ran


def test_encode_decode_reconstruct_shapes(cvae, data):
    model, _ = cvae
    x, y = data
    z_mean, z_log_var = model.encode(x, y)
    assert z_mean.shape == z_log_var.shape == (40, 2)
    images = model.reconstruct(x, y)
    assert images.shape == (40, 28, 28) and 0 <= images.min() <= images.max() <= 1
    np.testing.assert_array_equal(images, model.decode(z_mean, y))
    outputs = model.predict(x, y, batch_size=40, verbose=0)
    assert set(outputs) == {"logits", "z_mean", "z_log_var", "z"}
    with pytest.raises(ValueError, match="needs the labels"):
        model.encode(x)


def test_decode_requires_labels_and_uses_them(cvae):
    model, _ = cvae
    z = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    with pytest.raises(ValueError, match="pass labels"):
        model.decode(z)
    as_int = model.decode(z, 3)
    np.testing.assert_array_equal(as_int, model.decode(z, [3] * 5))
    assert not np.allclose(as_int, model.decode(z, 7), atol=1e-3)
    with pytest.raises(ValueError, match="expected 0 to 9"):
        model.decode(z, 10)
    with pytest.raises(ValueError, match="4 labels for 5 examples"):
        model.decode(z, [1, 2, 3, 4])


def test_sample_shapes_and_labels(cvae):
    model, _ = cvae
    cycling = model.sample(12, seed=0)
    assert cycling.shape == (12, 28, 28) and 0 <= cycling.min() <= cycling.max() <= 1
    # labels=None draws classes 0, 1, ..., 9, 0, 1 in turn
    labels = np.arange(12) % 10
    np.testing.assert_array_equal(cycling, model.sample(12, labels=labels, seed=0))
    assert model.sample(4, labels=3, seed=0).shape == (4, 28, 28)
    np.testing.assert_array_equal(
        model.sample(4, labels=3, seed=0), model.sample(4, labels=[3, 3, 3, 3], seed=0)
    )
    assert model.sample(3, labels=np.array([0, 5, 9]), seed=1).shape == (3, 28, 28)
    with pytest.raises(ValueError, match="expected 0 to 9"):
        model.sample(2, labels=10)
    with pytest.raises(ValueError, match="2 labels for 3 examples"):
        model.sample(3, labels=[1, 2])
    with pytest.raises(ValueError, match="num_samples"):
        model.sample(0)


@pytest.mark.parametrize(
    "estimator",
    [
        evaluate.elbo,
        evaluate.iwae_log_likelihood,
        evaluate.kl_per_dimension,
        evaluate.active_units,
    ],
)
def test_unconditional_estimators_refuse_it(cvae, data, estimator):
    with pytest.raises(ValueError, match="does not support conditional models"):
        estimator(cvae[0], data[0])


def test_convolutional_conditional_vae(data):
    x, y = data
    model = aelib.ConditionalVAE(
        num_classes=10,
        latent_dim=3,
        hidden_units=(8,),
        architecture="conv",
        conv_filters=(2, 4),
    )
    z_mean, z_log_var = model.encode(x, y)
    assert z_mean.shape == z_log_var.shape == (40, 3)
    assert model.reconstruct(x, y).shape == (40, 28, 28)
    assert model.sample(3, labels=[1, 2, 3], seed=0).shape == (3, 28, 28)
    assert model.encoder.get_layer("conv_1").output.shape == (None, 7, 7, 4)


def test_num_classes_must_be_positive():
    with pytest.raises(ValueError, match="num_classes"):
        aelib.ConditionalVAE(num_classes=0, hidden_units=(4,))


def test_save_and_load(cvae, round_trip, data):
    model, _ = cvae
    x, y = data
    loaded = round_trip(model)
    assert loaded.num_classes == loaded.get_config()["num_classes"] == 10
    for got, expected in zip(loaded.encode(x, y), model.encode(x, y), strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(loaded.reconstruct(x, y), model.reconstruct(x, y))
    np.testing.assert_array_equal(loaded.sample(6, seed=2), model.sample(6, seed=2))
    # the loaded model keeps training with labels
    loaded.fit(x, y, epochs=1, batch_size=20, verbose=0)
