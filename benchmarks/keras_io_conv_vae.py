"""aelib's convolutional VAE against the Keras example's, trained the same way.

The Keras code examples' convolutional VAE ("Variational AutoEncoder",
keras.io/examples/generative/vae/) trains with its own ``train_step`` and a
``tf.GradientTape``. Its networks: an encoder of ``Conv2D`` 32 and 64 with
stride 2, ``Dense`` 16 and two heads of size 2 (``z_mean``, ``z_log_var``); a
decoder of ``Dense`` 7*7*64, ``Conv2DTranspose`` 64 and 32 with stride 2 and
a last ``Conv2DTranspose`` to one channel with a sigmoid. It is written again
below in the example's style (not copied), next to::

    aelib.VAE(latent_dim=2, hidden_units=(16,), architecture="conv")

which has the same layers and the same parameter count. Both train on the same
MNIST images (``aelib.load_mnist``) for the same epochs, batch 128, Adam with a
learning rate of 1e-3. Both are then scored on the test images with one loss
definition, the example's: binary cross-entropy of the decoder's pixel
probabilities (clipped to [1e-7, 1 - 1e-7], as Keras's
``binary_crossentropy`` does), summed over pixels, plus the analytic KL term,
per image, with the same noise draws for both models. Grey-level MNIST is not
binary, so this is a binary cross-entropy per image, not a likelihood.

Run from the repository root::

    .venv/bin/python benchmarks/keras_io_conv_vae.py              # 30 epochs
    .venv/bin/python benchmarks/keras_io_conv_vae.py --epochs 5   # shorter

It writes ``benchmarks/results/keras_io_conv_vae.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

# The example needs TensorFlow (tf.GradientTape): set the backend before Keras.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

import aelib  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "keras_io_conv_vae.json"
LATENT_DIM = 2
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
PROBABILITY_CLIP = 1e-7  # what keras.losses.binary_crossentropy clips to


# ------------------------------------------------------- the Keras example


class ExampleSampling(layers.Layer):
    """z = z_mean + exp(z_log_var / 2) * epsilon, as in the example."""

    def __init__(self, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def example_encoder() -> keras.Model:
    images = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(images)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(LATENT_DIM, name="z_mean")(x)
    z_log_var = layers.Dense(LATENT_DIM, name="z_log_var")(x)
    z = ExampleSampling()([z_mean, z_log_var])
    return keras.Model(images, [z_mean, z_log_var, z], name="encoder")


def example_decoder() -> keras.Model:
    codes = keras.Input(shape=(LATENT_DIM,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(codes)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    probabilities = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(
        x
    )
    return keras.Model(codes, probabilities, name="decoder")


class ExampleVAE(keras.Model):
    """The example's model: its own train_step with a GradientTape."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs: Any):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(
                ops.sum(
                    keras.losses.binary_crossentropy(data, reconstruction),
                    axis=(1, 2),
                )
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }


# ------------------------------------------------ the same starting point


def layers_with_weights(model: keras.Model) -> list[layers.Layer]:
    return [layer for layer in model.layers if layer.weights]


def copy_initial_weights(source: aelib.VAE, target: ExampleVAE) -> float:
    """Gives the example's networks aelib's initial weights; returns the check.

    The layers correspond one to one. aelib's last layer is a 3x3 ``Conv2D``,
    the example's a stride-1 ``Conv2DTranspose``: the same function once the
    kernel is flipped in space and its channel axes swapped. Returns the largest
    difference between the two decoders' pixel probabilities on random codes.
    """
    pairs = [
        *zip(
            layers_with_weights(source.encoder),
            layers_with_weights(target.encoder),
            strict=True,
        ),
        *zip(
            layers_with_weights(source.decoder),
            layers_with_weights(target.decoder),
            strict=True,
        ),
    ]
    for ours, theirs in pairs:
        weights = ours.get_weights()
        if isinstance(theirs, layers.Conv2DTranspose) and not isinstance(
            ours, layers.Conv2DTranspose
        ):
            kernel, bias = weights
            weights = [np.transpose(kernel[::-1, ::-1], (0, 1, 3, 2)), bias]
        theirs.set_weights(weights)
    codes = np.random.default_rng(0).standard_normal((64, LATENT_DIM))
    codes = codes.astype(np.float32)
    theirs = ops.convert_to_numpy(target.decoder(codes))[..., 0]
    return float(np.max(np.abs(source.decode(codes) - theirs)))


# ---------------------------------------------------------- measurement


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def loss_per_image(
    x: np.ndarray,
    posterior: tuple[np.ndarray, np.ndarray],
    decode_probabilities: Any,
    epsilon: np.ndarray,
) -> dict[str, float]:
    """The example's loss on held-out images, averaged over images and draws.

    Args:
        x: images, (n, 28, 28), in [0, 1].
        posterior: ``(z_mean, z_log_var)`` of the images, each (n, 2).
        decode_probabilities: codes (m, 2) -> pixel probabilities (m, 28, 28).
        epsilon: standard normal draws, (draws, n, 2), the same for every model.
    """
    z_mean, z_log_var = (np.asarray(t, np.float64) for t in posterior)
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    reconstruction = []
    for draw in epsilon:
        z = (z_mean + np.exp(0.5 * z_log_var) * draw).astype(np.float32)
        p = np.asarray(decode_probabilities(z), np.float64).reshape(len(x), -1)
        p = np.clip(p, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
        bce = -(x * np.log(p) + (1.0 - x) * np.log(1.0 - p))
        reconstruction.append(bce.sum(axis=1).mean())
    kl = -0.5 * (1 + z_log_var - z_mean**2 - np.exp(z_log_var))
    kl = float(kl.sum(axis=1).mean())
    reconstruction = float(np.mean(reconstruction))
    return {
        "reconstruction": reconstruction,
        "kl": kl,
        "total": reconstruction + kl,
    }


def batched(function: Any, array: np.ndarray, batch_size: int = 1000) -> Any:
    parts = [
        function(array[i : i + batch_size]) for i in range(0, len(array), batch_size)
    ]
    if isinstance(parts[0], tuple | list):
        return tuple(
            np.concatenate([ops.convert_to_numpy(p[k]) for p in parts])
            for k in range(len(parts[0]))
        )
    return np.concatenate([ops.convert_to_numpy(p) for p in parts])


def train_example(
    x_train: np.ndarray, epochs: int, seed: int, start: aelib.VAE
) -> dict[str, Any]:
    keras.utils.set_random_seed(seed)
    model = ExampleVAE(example_encoder(), example_decoder())
    start_difference = copy_initial_weights(start, model)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE))
    timer = EpochTimer()
    history = model.fit(
        x_train[..., None],
        epochs=epochs,
        batch_size=BATCH_SIZE,
        callbacks=[timer],
        verbose=0,
    )

    def posterior(x):
        z_mean, z_log_var, _ = batched(model.encoder, x[..., None])
        return z_mean, z_log_var

    def decode(z):
        return batched(model.decoder, z)[..., 0]

    return {
        "model": model,
        "timer": timer,
        "train_loss": float(history.history["loss"][-1]),
        "posterior": posterior,
        "decode": decode,
        "parameters": int(model.encoder.count_params() + model.decoder.count_params()),
        "steps_per_execution": 1,
        "optimizer": "keras.optimizers.Adam",
        "start_difference": start_difference,
    }


def build_aelib(seed: int) -> aelib.VAE:
    keras.utils.set_random_seed(seed)
    return aelib.VAE(latent_dim=LATENT_DIM, hidden_units=(16,), architecture="conv")


def train_aelib(
    x_train: np.ndarray, epochs: int, seed: int, start: aelib.VAE
) -> dict[str, Any]:
    keras.utils.set_random_seed(seed)
    model = start
    model.compile(optimizer=aelib.default_optimizer(learning_rate=LEARNING_RATE))
    timer = EpochTimer()
    history = model.fit(
        x_train, epochs=epochs, batch_size=BATCH_SIZE, callbacks=[timer], verbose=0
    )

    def decode(z):
        return model.decode(z)  # sigmoid of the logits

    return {
        "model": model,
        "timer": timer,
        "train_loss": float(history.history["loss"][-1]),
        "posterior": model.encode,
        "decode": decode,
        "parameters": int(model.encoder.count_params() + model.decoder.count_params()),
        "steps_per_execution": int(model.steps_per_execution or 1),
        "optimizer": type(model.optimizer).__name__,
        "start_difference": 0.0,
    }


def summarize(run: dict[str, Any], x_test: np.ndarray, epsilon: np.ndarray):
    seconds = run["timer"].seconds
    test = loss_per_image(x_test, run["posterior"](x_test), run["decode"], epsilon)
    later = seconds[1:] if len(seconds) > 1 else seconds
    return {
        "parameters": run["parameters"],
        "optimizer": run["optimizer"],
        "steps_per_execution": run["steps_per_execution"],
        "largest_difference_at_start": run["start_difference"],
        "train_loss_last_epoch": run["train_loss"],
        "test_loss": test["total"],
        "test_reconstruction": test["reconstruction"],
        "test_kl": test["kl"],
        "seconds_first_epoch": seconds[0],
        "seconds_per_epoch": float(np.mean(later)),
        "seconds_total": float(np.sum(seconds)),
    }


MODELS = ("keras_io_example", "aelib")
COLUMNS = ("test_loss", "test_reconstruction", "test_kl", "seconds_per_epoch")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="one run per seed"
    )
    parser.add_argument("--draws", type=int, default=5, help="noise draws per image")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    data = aelib.load_mnist(verbose=False)
    x_train, x_test = data.x_train, data.x_test
    epsilon = np.random.default_rng(12345).standard_normal(
        (args.draws, len(x_test), LATENT_DIM)
    )
    runs = []
    for seed in args.seeds:
        # Both models start from the same weights (aelib's initialization).
        start = build_aelib(seed)
        example = train_example(x_train, args.epochs, seed, start)
        run = {"seed": seed, "keras_io_example": summarize(example, x_test, epsilon)}
        run["aelib"] = summarize(
            train_aelib(x_train, args.epochs, seed, start), x_test, epsilon
        )
        runs.append(run)
    mean = {
        name: {key: float(np.mean([r[name][key] for r in runs])) for key in COLUMNS}
        for name in MODELS
    }
    difference = mean["aelib"]["test_loss"] - mean["keras_io_example"]["test_loss"]
    report = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_at_end": list(os.getloadavg()),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "data": data.source,
        "num_train": int(len(x_train)),
        "num_test": int(len(x_test)),
        "epochs": args.epochs,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "noise_draws_per_test_image": args.draws,
        "start": "both models start from the same weights, aelib's initialization",
        "loss": (
            "binary cross-entropy of the pixel probabilities (clipped to "
            "[1e-7, 1 - 1e-7]) summed over pixels, plus the analytic KL, per "
            "test image (grey-level MNIST: not a likelihood)"
        ),
        "runs": runs,
        "mean_over_seeds": mean,
        "aelib_test_loss_minus_example": difference,
        "aelib_at_least_as_good": bool(difference <= 0.0),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"{args.epochs} epochs on {len(x_train):,} MNIST images, batch {BATCH_SIZE}, "
        f"Adam {LEARNING_RATE:g}, seeds {args.seeds}; loss per test image "
        f"({len(x_test):,} images)"
    )
    header = (
        f"{'model':<18}{'seed':>6}{'test loss':>11}{'recon.':>9}{'KL':>7}"
        f"{'s/epoch':>9}{'1st epoch':>11}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        for name in MODELS:
            row = run[name]
            print(
                f"{name:<18}{run['seed']:>6}{row['test_loss']:>11.2f}"
                f"{row['test_reconstruction']:>9.2f}{row['test_kl']:>7.2f}"
                f"{row['seconds_per_epoch']:>9.2f}{row['seconds_first_epoch']:>11.2f}"
            )
    if len(runs) > 1:
        for name in MODELS:
            row = mean[name]
            print(
                f"{name:<18}{'mean':>6}{row['test_loss']:>11.2f}"
                f"{row['test_reconstruction']:>9.2f}{row['test_kl']:>7.2f}"
                f"{row['seconds_per_epoch']:>9.2f}"
            )
    print(f"aelib minus example, test loss: {difference:+.2f}")
    print(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    main()
