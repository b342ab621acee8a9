"""A model saved under one Keras backend loads under every other one.

For each backend, a fresh process trains a small VAE and a small
convolutional autoencoder, saves them to ``.keras`` and decodes fixed codes;
then a fresh process per backend loads every saved file with
``safe_mode=True`` and decodes the same codes. Each of the six pairs of
different backends must give the same images within float32 tolerance (the
same backend's pairs are checked too). The processes run every backend
themselves, so the module runs once, in the default (TensorFlow) run of the
suite.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = ("vae", "conv_autoencoder")
REPOSITORY = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="spawns one process per backend itself; runs in the TensorFlow run",
)

SAVE = """
import sys

import numpy as np

import aelib

folder, backend = sys.argv[1], sys.argv[2]
aelib.set_seed(0)
data = aelib.load_mnist(verbose=False).subset(num_train=256, num_test=16, seed=0)
models = {
    "vae": aelib.VAE(latent_dim=2, hidden_units=(32,), seed=0),
    "conv_autoencoder": aelib.Autoencoder(
        latent_dim=3, hidden_units=(16,), architecture="conv", conv_filters=(4, 8)
    ),
}
for name, model in models.items():
    model.fit(data.x_train, epochs=1, batch_size=64, verbose=0)
    z = np.random.default_rng(1).normal(size=(5, model.latent_dim)).astype("float32")
    np.save(f"{folder}/{name}_z.npy", z, allow_pickle=False)
    np.save(f"{folder}/{name}_{backend}.npy", model.decode(z), allow_pickle=False)
    model.save(f"{folder}/{name}_{backend}.keras")
"""

LOAD = f"""
import sys

import keras
import numpy as np

import aelib  # registers aelib's classes with Keras

folder, backend, saved_by = sys.argv[1], sys.argv[2], sys.argv[3:]
for name in {MODELS}:
    z = np.load(f"{{folder}}/{{name}}_z.npy", allow_pickle=False)
    for source in saved_by:
        path = f"{{folder}}/{{name}}_{{source}}.keras"
        model = keras.saving.load_model(path, safe_mode=True)
        assert type(model).__module__.startswith("aelib"), type(model)
        images = model.decode(z)
        np.save(f"{{folder}}/{{name}}_{{source}}_in_{{backend}}.npy", images)
"""


def _run_each_backend(script: str, folder: Path, *arguments: str) -> None:
    """Runs ``script`` once per backend, the three processes at the same time.

    Most of each process is importing its framework, which is single-threaded,
    so running them side by side takes about the time of the slowest one.
    """
    processes = {}
    for backend in BACKENDS:
        environment = dict(os.environ, KERAS_BACKEND=backend, OMP_NUM_THREADS="1")
        processes[backend] = subprocess.Popen(
            [sys.executable, "-c", script, str(folder), backend, *arguments],
            cwd=REPOSITORY,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    failures = []
    for backend, process in processes.items():
        try:
            _, stderr = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        if process.returncode != 0:
            failures.append(f"{backend} failed:\n{stderr[-3000:]}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    """Saves under each backend, loads under each backend; returns the folder."""
    folder = tmp_path_factory.mktemp("cross_backend")
    _run_each_backend(SAVE, folder)
    _run_each_backend(LOAD, folder, *BACKENDS)
    return folder


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "saved_by, loaded_by",
    [pair for pair in itertools.product(BACKENDS, BACKENDS) if pair[0] != pair[1]],
)
def test_a_model_saved_on_one_backend_decodes_the_same_on_another(
    decoded, model, saved_by, loaded_by
):
    expected = np.load(decoded / f"{model}_{saved_by}.npy")
    got = np.load(decoded / f"{model}_{saved_by}_in_{loaded_by}.npy")
    assert got.shape == expected.shape == (5, 28, 28)
    # the trained model decodes different codes to different images
    assert np.abs(expected[0] - expected[1]).max() > 1e-3
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_each_backend_trains_its_own_model(decoded, model):
    # Same seed, different backends: the random streams differ, so the three
    # saved models differ; the pairs above compare each one with itself.
    images = [np.load(decoded / f"{model}_{backend}.npy") for backend in BACKENDS]
    for backend, image in zip(BACKENDS, images, strict=True):
        reloaded = np.load(decoded / f"{model}_{backend}_in_{backend}.npy")
        np.testing.assert_allclose(reloaded, image, rtol=1e-5, atol=1e-6)
        assert np.all((image >= 0) & (image <= 1))
