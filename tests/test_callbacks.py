"""Tests of aelib.callbacks: the KL warm-up schedule and how it follows training."""

import keras
import numpy as np
import pytest
from keras import ops

import aelib


class IterationRecorder(keras.callbacks.Callback):
    """Records the optimizer's step counter and kl_weight at each training call."""

    def __init__(self):
        super().__init__()
        self.iterations = []
        self.weights = []

    def on_train_batch_begin(self, batch, logs=None):
        self.iterations.append(int(self.model.optimizer.iterations))
        self.weights.append(float(ops.convert_to_numpy(self.model.kl_weight)))


def kl_weight_of(model):
    return float(ops.convert_to_numpy(model.kl_weight))


def test_schedule_values():
    model = aelib.VAE(latent_dim=2, hidden_units=(4,), beta=2.0)
    annealing = aelib.KLAnnealing(warmup_steps=100, start=0.5)
    annealing.set_model(model)
    assert annealing.weight(0) == 0.5
    assert annealing.weight(50) == pytest.approx(1.25)
    assert annealing.weight(25) == pytest.approx(0.875)
    steps = np.arange(0, 101, 10)
    values = np.array([annealing.weight(int(step)) for step in steps])
    np.testing.assert_allclose(np.diff(values), 0.15, rtol=1e-12)  # linear
    assert annealing.weight(100) == 2.0
    assert annealing.weight(101) == annealing.weight(10_000) == 2.0


@pytest.mark.parametrize(
    "steps_per_execution",
    [1, pytest.param(16, marks=pytest.mark.several_steps_per_execution)],
)
def test_weights_follow_the_optimizer_steps(small_mnist, steps_per_execution):
    # 320 images in batches of 16: 20 steps per epoch, 40 in all
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(8,), beta=1.5)
    model.compile(steps_per_execution=steps_per_execution)
    annealing = aelib.KLAnnealing(warmup_steps=30, start=0.0)
    recorder = IterationRecorder()
    model.fit(
        small_mnist.x_train[:320],
        epochs=2,
        batch_size=16,
        callbacks=[annealing, recorder],
        verbose=0,
    )
    assert int(model.optimizer.iterations) == 40
    expected = [annealing.weight(step) for step in recorder.iterations]
    np.testing.assert_allclose(annealing.history, expected, rtol=1e-12)
    np.testing.assert_allclose(recorder.weights, expected, rtol=1e-6)  # assigned
    assert annealing.history[0] == 0.0
    assert np.all(np.diff(annealing.history) >= 0)
    if steps_per_execution == 1:
        assert recorder.iterations == list(range(40))
        assert annealing.history[15] == pytest.approx(0.75)
        assert annealing.history[30:] == [1.5] * 10
    else:
        # one call per 16 steps; each epoch's last call runs the remaining 4
        assert recorder.iterations == [0, 16, 20, 36]
        assert len(annealing.history) == 4
    assert kl_weight_of(model) == pytest.approx(1.5)  # beta after the warm-up


def test_the_compiled_step_reads_the_weight(small_mnist):
    """With a warm-up longer than training, the loss is nearly all reconstruction."""
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(8,))
    history = model.fit(
        small_mnist.x_train[:128],
        epochs=1,
        batch_size=32,
        callbacks=[aelib.KLAnnealing(warmup_steps=10**7)],
        verbose=0,
    ).history
    assert history["kl_loss"][0] > 0.1
    assert history["loss"][0] == pytest.approx(
        history["reconstruction_loss"][0], rel=1e-5
    )
    assert history["loss"][0] < (
        history["reconstruction_loss"][0] + 0.5 * history["kl_loss"][0]
    )
    assert 0.0 <= kl_weight_of(model) < 1e-5  # the warm-up had not finished


def test_rejects_a_model_without_kl_weight(small_mnist):
    model = aelib.Autoencoder(latent_dim=2, hidden_units=(4,))
    with pytest.raises(ValueError, match="needs a model with a kl_weight"):
        model.fit(
            small_mnist.x_train[:32],
            epochs=1,
            callbacks=[aelib.KLAnnealing(warmup_steps=10)],
            verbose=0,
        )


def test_rejects_start_above_beta(small_mnist):
    model = aelib.VAE(latent_dim=2, hidden_units=(4,), beta=0.5)
    with pytest.raises(ValueError, match=r"start=1.0 exceeds the model's beta=0.5"):
        model.fit(
            small_mnist.x_train[:32],
            epochs=1,
            callbacks=[aelib.KLAnnealing(warmup_steps=10, start=1.0)],
            verbose=0,
        )
    assert kl_weight_of(model) == 0.5  # untouched


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"warmup_steps": 0}, "warmup_steps must be positive"),
        ({"warmup_steps": 2.5}, "warmup_steps must be a whole number"),
        ({"warmup_steps": 10, "start": -0.1}, "start must be >= 0"),
        ({"warmup_steps": 10, "start": float("nan")}, "start must be >= 0"),
    ],
)
def test_invalid_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        aelib.KLAnnealing(**arguments)


def test_sample_snapshots_record_the_untrained_model_and_every_epoch(small_mnist):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(32,), seed=0)
    codes = np.random.default_rng(0).standard_normal((6, 2))
    snapshots = aelib.SampleSnapshots(codes, every=1)
    model.fit(
        small_mnist.x_train[:256],
        epochs=2,
        batch_size=64,
        callbacks=[snapshots],
        verbose=0,
    )
    assert snapshots.epochs == [0, 1, 2]
    assert len(snapshots.frames) == 3
    for frame in snapshots.frames:
        assert frame.shape == (6, 28, 28) and frame.dtype == np.float32
        assert 0.0 <= frame.min() and frame.max() <= 1.0
    assert np.abs(snapshots.frames[2] - snapshots.frames[0]).max() > 1e-3
    np.testing.assert_allclose(snapshots.frames[-1], model.decode(codes), atol=1e-6)
    # a second fit call goes on counting
    model.fit(small_mnist.x_train[:64], epochs=1, callbacks=[snapshots], verbose=0)
    assert snapshots.epochs == [0, 1, 2, 3]


def test_sample_snapshots_every_other_epoch(small_mnist):
    model = aelib.Autoencoder(latent_dim=3, hidden_units=(16,))
    snapshots = aelib.SampleSnapshots(np.zeros((2, 3)), every=2)
    model.fit(small_mnist.x_train[:64], epochs=5, callbacks=[snapshots], verbose=0)
    assert snapshots.epochs == [0, 2, 4]


def test_sample_snapshots_of_a_conditional_vae(small_mnist):
    model = aelib.ConditionalVAE(num_classes=10, latent_dim=2, hidden_units=(16,))
    codes = np.zeros((10, 2), np.float32)
    snapshots = aelib.SampleSnapshots(codes, labels=np.arange(10))
    model.fit(
        small_mnist.x_train[:64],
        small_mnist.y_train[:64],
        epochs=1,
        callbacks=[snapshots],
        verbose=0,
    )
    assert snapshots.epochs == [0, 1]
    np.testing.assert_allclose(
        snapshots.frames[-1], model.decode(codes, labels=np.arange(10)), atol=1e-6
    )


@pytest.mark.parametrize(
    ("codes", "every", "message"),
    [
        (np.zeros(3), 1, "2-D float array"),
        (np.zeros((0, 2)), 1, "2-D float array"),
        ([["a", "b"]], 1, "2-D float array"),
        (np.full((2, 2), np.nan), 1, "NaN"),
        (np.zeros((2, 2)), 0, "every must be positive"),
    ],
)
def test_sample_snapshots_check_their_arguments(codes, every, message):
    with pytest.raises(ValueError, match=message):
        aelib.SampleSnapshots(codes, every=every)


def test_sample_snapshots_check_the_latent_dimension(small_mnist):
    model = aelib.VAE(latent_dim=2, hidden_units=(8,))
    snapshots = aelib.SampleSnapshots(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="latent_dim=2"):
        model.fit(small_mnist.x_train[:32], epochs=1, callbacks=[snapshots], verbose=0)
