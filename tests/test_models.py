"""Tests of aelib.models: Autoencoder and VAE."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops
from scipy import special

import aelib

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def x(small_mnist):
    return small_mnist.x_test[:32]


# ---------------------------------------------------------------- shapes


def test_autoencoder_shapes_and_ranges(trained_autoencoder, x):
    model = trained_autoencoder.model
    codes = model.encode(x)
    assert codes.shape == (32, 8) and codes.dtype == np.float32
    images = model.decode(codes)
    assert images.shape == (32, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(model.reconstruct(x), images)
    assert model.encode(x.reshape(32, 784)).shape == (32, 8)
    # the decoder outputs logits; decode applies the sigmoid
    logits = ops.convert_to_numpy(model.decoder(codes))
    np.testing.assert_allclose(images, special.expit(logits), rtol=1e-5, atol=1e-6)
    outputs = model.predict(x, verbose=0)
    assert set(outputs) == {"logits", "z"}
    assert outputs["logits"].shape == (32, 28, 28)


def test_vae_shapes_and_ranges(trained_vae, x):
    model = trained_vae.model
    z_mean, z_log_var = model.encode(x)
    assert z_mean.shape == z_log_var.shape == (32, 2)
    images = model.decode(z_mean)
    assert images.shape == (32, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(model.reconstruct(x), images)  # posterior mean
    samples = model.sample(5, seed=0)
    assert samples.shape == (5, 28, 28)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.sample(5, seed=0))
    assert not np.array_equal(samples, model.sample(5, seed=1))
    mean_tensor, log_var_tensor = model.posterior(x)
    np.testing.assert_allclose(ops.convert_to_numpy(mean_tensor), z_mean, rtol=1e-6)
    outputs = model.predict(x, verbose=0)
    assert set(outputs) == {"logits", "z_mean", "z_log_var", "z"}
    assert isinstance(model.encoder, keras.Model)
    assert isinstance(model.decoder, keras.Model)
    assert float(ops.convert_to_numpy(model.kl_weight)) == model.beta == 1.0


def test_decode_does_not_overflow_for_far_codes(trained_vae):
    images = trained_vae.model.decode(np.array([[1e4, -1e4]], np.float32))
    assert np.all(np.isfinite(images)) and images.min() >= 0 and images.max() <= 1


# --------------------------------------------------------------- training


def test_autoencoder_fit_reports_a_decreasing_loss(trained_autoencoder):
    history = trained_autoencoder.history
    assert set(history) == {"loss", "reconstruction_loss"}
    assert len(history["loss"]) == 2
    assert history["loss"][1] < history["loss"][0]
    np.testing.assert_allclose(history["loss"], history["reconstruction_loss"])


def test_vae_fit_reports_every_term(trained_vae):
    history = trained_vae.history
    terms = {"loss", "reconstruction_loss", "kl_loss"}
    assert set(history) == terms | {f"val_{name}" for name in terms}
    assert history["loss"][1] < history["loss"][0]
    assert history["reconstruction_loss"][1] < history["reconstruction_loss"][0]
    assert all(value > 0 for value in history["kl_loss"])
    for epoch in range(2):
        total = history["reconstruction_loss"][epoch] + history["kl_loss"][epoch]
        assert history["loss"][epoch] == pytest.approx(total, rel=1e-5)


@pytest.mark.parametrize("model_class", [aelib.Autoencoder, aelib.VAE])
def test_fit_with_targets_raises(model_class, x):
    model = model_class(hidden_units=(8,))
    with pytest.raises(ValueError, match=r"call fit\(x\) without y"):
        model.fit(x, x, verbose=0)
    with pytest.raises(ValueError, match=r"call evaluate\(x\) without y"):
        model.evaluate(x, x, verbose=0)


def test_vae_evaluate_loss_is_reconstruction_plus_beta_kl(x):
    aelib.set_seed(0)
    beta = 2.5
    model = aelib.VAE(latent_dim=3, hidden_units=(32,), beta=beta)
    result = model.evaluate(x, batch_size=16, return_dict=True, verbose=0)
    assert set(result) == {"loss", "reconstruction_loss", "kl_loss"}
    expected = result["reconstruction_loss"] + beta * result["kl_loss"]
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
    # The KL term is deterministic: compare it with the closed form in NumPy.
    z_mean, z_log_var = model.encode(x)
    kl = 0.5 * np.sum(np.exp(z_log_var) + z_mean**2 - 1.0 - z_log_var, axis=1)
    assert result["kl_loss"] == pytest.approx(kl.mean(), rel=1e-4)


@pytest.mark.parametrize("reconstruction_loss", ["bernoulli", "squared_error"])
def test_autoencoder_evaluate_matches_numpy(reconstruction_loss, x):
    aelib.set_seed(0)
    model = aelib.Autoencoder(
        latent_dim=4, hidden_units=(16,), reconstruction_loss=reconstruction_loss
    )
    result = model.evaluate(x, batch_size=16, return_dict=True, verbose=0)
    logits = ops.convert_to_numpy(model.decoder(model.encode(x))).astype(np.float64)
    target = x.astype(np.float64)
    if reconstruction_loss == "bernoulli":
        per_pixel = np.logaddexp(0.0, logits) - target * logits
    else:
        per_pixel = (target - special.expit(logits)) ** 2
    expected = per_pixel.sum(axis=(1, 2)).mean()
    assert result["reconstruction_loss"] == pytest.approx(expected, rel=1e-4)
    assert result["loss"] == pytest.approx(expected, rel=1e-4)


def test_user_compile_is_kept(x):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(8,))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, epochs=1, batch_size=16, verbose=0)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_extreme_log_variance_is_clipped(x):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(16,))
    head = model.encoder.get_layer("z_log_var")
    for bias, limit in ((1e4, 15.0), (-1e4, -15.0)):
        head.bias.assign(np.full(2, bias, np.float32))
        _, z_log_var = model.encode(x)
        np.testing.assert_array_equal(z_log_var, limit)
        result = model.evaluate(x, return_dict=True, verbose=0)
        assert all(np.isfinite(value) for value in result.values()), result
        z_mean, _ = model.encode(x)
        kl = 0.5 * np.sum(np.exp(limit) + z_mean**2 - 1.0 - limit, axis=1)
        assert result["kl_loss"] == pytest.approx(kl.mean(), rel=1e-4)


# ------------------------------------------------------ reproducibility


def test_same_seed_same_history(trained_vae, small_mnist, vae_trainer):
    again = vae_trainer(small_mnist, seed=0)
    assert again.history == trained_vae.history
    other = vae_trainer(small_mnist, seed=1)
    assert other.history["loss"] != trained_vae.history["loss"]


# ------------------------------------------------------ arguments, config


@pytest.mark.parametrize(
    ("model_class", "keyword", "value", "message"),
    [
        (aelib.Autoencoder, "latent_dim", 0, "latent_dim must be positive"),
        (aelib.VAE, "latent_dim", 0, "latent_dim must be positive"),
        (aelib.VAE, "beta", 0, "beta must be positive"),
        (aelib.VAE, "beta", -1, "beta must be positive"),
        (aelib.Autoencoder, "reconstruction_loss", "mse", "must be one of"),
        (aelib.Autoencoder, "input_shape", (28, -28), "input_shape entries"),
    ],
)
def test_invalid_arguments(model_class, keyword, value, message):
    with pytest.raises(ValueError, match=message):
        model_class(**{keyword: value})


@pytest.mark.parametrize(
    "model",
    [
        lambda: aelib.Autoencoder(
            latent_dim=5,
            hidden_units=(32, 16),
            activation="tanh",
            reconstruction_loss="squared_error",
            name="my_autoencoder",
        ),
        lambda: aelib.VAE(
            latent_dim=3, hidden_units=(16,), beta=0.5, seed=4, activation="elu"
        ),
    ],
    ids=["autoencoder", "vae"],
)
def test_config_round_trip(model):
    original = model()
    config = original.get_config()
    json.dumps(config)  # plain data only
    rebuilt = type(original).from_config(config)
    assert rebuilt.get_config() == config
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in original.weights]
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(original)
    )
    assert type(restored) is type(original)
    assert restored.get_config() == config


# ------------------------------------------------------------ save, load

CHILD = """
import sys

import keras
import numpy as np

import aelib  # registers aelib's classes with Keras

folder = sys.argv[1]
x = np.load(f"{folder}/x.npy", allow_pickle=False)
for name in ("autoencoder", "vae"):
    model = keras.saving.load_model(f"{folder}/{name}.keras", safe_mode=True)
    assert isinstance(model, (aelib.Autoencoder, aelib.VAE)), type(model)
    codes = model.encode(x)
    if isinstance(codes, tuple):
        codes = np.concatenate(codes, axis=1)
    z = np.load(f"{folder}/{name}_z.npy", allow_pickle=False)
    np.save(f"{folder}/{name}_codes_child.npy", codes, allow_pickle=False)
    np.save(f"{folder}/{name}_images_child.npy", model.decode(z), allow_pickle=False)
"""


def outputs_of(model, x, z):
    codes = model.encode(x)
    if isinstance(codes, tuple):
        codes = np.concatenate(codes, axis=1)
    return codes, model.decode(z)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory, trained_autoencoder, trained_vae, x):
    """Both trained models saved to .keras files, with inputs and expected outputs."""
    folder = tmp_path_factory.mktemp("saved")
    np.save(folder / "x.npy", x, allow_pickle=False)
    saved = {}
    for name, trained in (("autoencoder", trained_autoencoder), ("vae", trained_vae)):
        model = trained.model
        z = np.random.default_rng(0).normal(size=(6, model.latent_dim))
        z = z.astype(np.float32)
        np.save(folder / f"{name}_z.npy", z, allow_pickle=False)
        model.save(folder / f"{name}.keras")
        saved[name] = (model, z)
    return folder, saved


@pytest.mark.parametrize("name", ["autoencoder", "vae"])
def test_save_and_load_in_the_same_process(saved_models, x, name):
    folder, saved = saved_models
    model, z = saved[name]
    loaded = keras.saving.load_model(folder / f"{name}.keras", safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    for expected, got in zip(
        outputs_of(model, x, z), outputs_of(loaded, x, z), strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    if name == "vae":
        assert float(ops.convert_to_numpy(loaded.kl_weight)) == model.beta
        np.testing.assert_array_equal(loaded.sample(4, seed=3), model.sample(4, seed=3))


def test_save_and_load_in_a_fresh_process(saved_models, x):
    folder, saved = saved_models
    environment = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    for name, (model, z) in saved.items():
        codes, images = outputs_of(model, x, z)
        child_codes = np.load(folder / f"{name}_codes_child.npy", allow_pickle=False)
        child_images = np.load(folder / f"{name}_images_child.npy", allow_pickle=False)
        np.testing.assert_allclose(child_codes, codes, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(child_images, images, rtol=1e-5, atol=1e-6)


def test_saved_models_hold_no_lambda(saved_models):
    folder, saved = saved_models
    for name, (model, _) in saved.items():
        with zipfile.ZipFile(folder / f"{name}.keras") as archive:
            config = json.loads(archive.read("config.json"))
        assert "Lambda" not in json.dumps(config)
        assert config["registered_name"] == f"aelib>{type(model).__name__}"


def test_lambda_layer_is_refused_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2)])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        keras.saving.load_model(path, safe_mode=True)


def test_compile_defaults_and_refusal_of_a_foreign_loss():
    model = aelib.VAE(latent_dim=2, hidden_units=(8,))
    model.compile()
    # several steps per compiled call where Keras allows it (not on PyTorch)
    expected = 1 if keras.backend.backend() == "torch" else 16
    assert model.steps_per_execution == expected
    assert aelib.models.default_steps_per_execution() == expected
    assert aelib.models.default_steps_per_execution(num_replicas=2) == 1
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    model.compile(optimizer="sgd", steps_per_execution=1)
    assert model.steps_per_execution == 1
    with pytest.raises(ValueError, match="defines its own loss"):
        model.compile(loss="mse")


@pytest.mark.several_steps_per_execution
def test_steps_per_execution_does_not_change_the_result(small_mnist):
    x = small_mnist.x_train[:300]
    histories = []
    for steps in (1, aelib.models.STEPS_PER_EXECUTION):
        aelib.set_seed(0)
        model = aelib.Autoencoder(latent_dim=4, hidden_units=(16,))
        model.compile(steps_per_execution=steps)
        histories.append(model.fit(x, epochs=2, batch_size=32, verbose=0).history)
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=1e-5)


def test_a_loaded_model_is_compiled_with_its_optimizer_state(small_mnist, tmp_path):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(8,))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3))
    model.fit(small_mnist.x_train[:256], epochs=1, batch_size=64, verbose=0)
    model.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras", safe_mode=True)
    assert loaded.compiled
    assert loaded.steps_per_execution == model.steps_per_execution
    assert float(loaded.optimizer.learning_rate) == pytest.approx(2e-3)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 4
    # Training goes on from where it stopped.
    loaded.fit(small_mnist.x_train[:256], epochs=1, batch_size=64, verbose=0)
    assert int(loaded.optimizer.iterations) == 8


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_loss_is_float32_under_mixed_precision(mixed_float16, x):
    aelib.set_seed(0)
    vae = aelib.VAE(latent_dim=4, hidden_units=(16,), seed=0)
    outputs = vae(x[:8])
    assert keras.backend.standardize_dtype(outputs["z_log_var"].dtype) == "float16"
    # A log-variance of 12 is inside the clipping range but exp(12) > 65,504,
    # the largest float16: in float16 the KL would be inf.
    outputs = dict(outputs, z_log_var=ops.full((8, 4), 12.0, dtype="float16"))
    loss = vae.compute_loss(x[:8], None, outputs)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    kl = float(vae.kl_loss_tracker.result())
    expected_kl = 4 * 0.5 * (np.exp(12.0) - 1.0 - 12.0)  # z_mean ~ 0 here
    assert np.isfinite(float(loss)) and kl == pytest.approx(expected_kl, rel=1e-2)

    autoencoder = aelib.Autoencoder(latent_dim=4, hidden_units=(16,))
    loss = autoencoder.compute_loss(x[:8], None, autoencoder(x[:8]))
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"


def test_mixed_precision_training_with_loss_scaling(mixed_float16, x):
    aelib.set_seed(0)
    vae = aelib.VAE(latent_dim=4, hidden_units=(32,), seed=0)
    optimizer = aelib.default_optimizer()  # FusedAdam on TensorFlow
    vae.compile(optimizer=keras.mixed_precision.LossScaleOptimizer(optimizer))
    history = vae.fit(x[:512], epochs=3, batch_size=64, verbose=0).history
    assert all(np.isfinite(history["loss"])), history
    assert history["loss"][-1] < history["loss"][0], history
