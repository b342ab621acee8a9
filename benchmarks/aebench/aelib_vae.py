"""aelib's MLP VAE (784-400-20) and convolutional VAE, trained as a user would.

``aelib.set_seed(0)``, then ``aelib.VAE(...)`` trained with
``fit(x_train, epochs, batch_size=128)`` and no ``compile`` call: ``fit``
compiles with aelib's defaults, so this measures what a user gets (optimizer,
learning rate, steps per execution and ``jit_compile`` are recorded). A
callback records each epoch's wall time; throughput is the number of training
images divided by the median epoch over epochs 2.. (epoch 1 also traces and
compiles).

The two measurements here run in the benchmark's own process, on its Keras
backend (TensorFlow unless ``KERAS_BACKEND`` says otherwise). The per-backend
workers (:mod:`aebench.worker`) train the same models with
:func:`train_aelib` on each backend.
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

import aelib
from aebench.core import (
    BATCH_SIZE,
    MLP_LAYERS,
    MLP_MACS_PER_SAMPLE,
    MLP_TRAIN_FLOPS_PER_SAMPLE,
    Context,
    Measurement,
    log,
    median_steady,
)

MLP_ARGS = {"input_shape": (28, 28), "latent_dim": 20, "hidden_units": (400,)}
CONV_ARGS = {**MLP_ARGS, "architecture": "conv", "conv_filters": (32, 64)}
MODEL_ARGS = {"mlp": MLP_ARGS, "conv": CONV_ARGS}
"""The keyword arguments of ``aelib.VAE`` for each benchmarked model."""


def describe(model_name: str) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in MODEL_ARGS[model_name].items())
    return f"VAE({args})"


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def counted_training_flops(model: keras.Model) -> float | None:
    """Training flops per image, 3 x 2 x the multiply-adds of Dense/Conv layers.

    Walks the layers of the model's ``encoder`` and ``decoder`` (functional
    models with known shapes). Returns ``None`` if a shape is unknown.
    """
    macs = 0
    try:
        for part in (model.encoder, model.decoder):
            for layer in part.layers:
                if isinstance(layer, keras.layers.Dense):
                    n_in = int(layer.input.shape[-1])
                    positions = int(np.prod(layer.output.shape[1:-1] or [1]))
                    macs += positions * n_in * layer.units
                elif isinstance(layer, keras.layers.Conv2DTranspose):
                    _, h, w, c_in = layer.input.shape
                    kh, kw = layer.kernel_size
                    macs += int(h) * int(w) * kh * kw * int(c_in) * layer.filters
                elif isinstance(layer, keras.layers.Conv2D):
                    c_in = int(layer.input.shape[-1])
                    _, h, w, c_out = layer.output.shape
                    kh, kw = layer.kernel_size
                    groups = getattr(layer, "groups", 1) or 1
                    macs += int(h) * int(w) * kh * kw * c_in * int(c_out) // groups
    except (AttributeError, TypeError, ValueError):
        return None
    return 3.0 * 2.0 * macs


def _learning_rate(optimizer: Any) -> Any:
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError):  # a schedule
        return repr(optimizer.learning_rate)


def train_aelib(
    model: keras.Model,
    dataset: aelib.Dataset,
    epochs: int,
    batch_size: int,
    flops_per_sample: float | None,
    roof_gflops: float | None = None,
    elbo: bool = True,
) -> dict[str, Any]:
    """Trains with aelib's own compile defaults; returns timings and test loss.

    ``elbo=False`` leaves out the second estimate of the test loss
    (``aelib.evaluate.elbo``).
    """
    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(
        dataset.x_train,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[timer],
        verbose=0,
    )
    fit_seconds = time.perf_counter() - start
    median, steady = median_steady(timer.seconds)
    samples_per_second = dataset.num_train / median
    evaluated = model.evaluate(dataset.x_test, return_dict=True, verbose=0)
    result: dict[str, Any] = {
        "keras_backend": keras.backend.backend(),
        "optimizer": type(model.optimizer).__name__,
        "learning_rate": _learning_rate(model.optimizer),
        "steps_per_execution": getattr(model, "steps_per_execution", None),
        "jit_compile": getattr(model, "jit_compile", None),
        "epochs": epochs,
        "batch_size": batch_size,
        "num_train": dataset.num_train,
        "num_test": dataset.num_test,
        "fit_seconds": fit_seconds,
        "epoch_seconds": timer.seconds,
        "median_epoch_seconds": median,
        "epochs_in_median": steady,
        "samples_per_second": samples_per_second,
        "train_loss_per_epoch": [float(v) for v in history.history["loss"]],
        "test_loss": float(evaluated["loss"]),
        "test_metrics": {k: float(v) for k, v in evaluated.items()},
        "trainable_parameters": int(
            sum(np.prod(w.shape) for w in model.trainable_weights)
        ),
        "flops_per_sample": flops_per_sample,
    }
    if elbo:
        values = aelib.evaluate.elbo(model, dataset.x_test, num_samples=1)
        result["test_elbo_mean"] = float(values.mean())
        result["test_negative_elbo"] = float(-values.mean())
    if flops_per_sample:
        achieved = flops_per_sample * samples_per_second / 1e9
        result["achieved_gflops"] = achieved
        if roof_gflops:
            result["roofline_fraction"] = achieved / roof_gflops
    return result


def build(model_name: str) -> aelib.VAE:
    """``aelib.set_seed(0)``, then the benchmarked VAE (``"mlp"`` or ``"conv"``)."""
    aelib.set_seed(0)
    return aelib.VAE(**MODEL_ARGS[model_name])


def run_mlp(context: Context) -> dict[str, Any]:
    dataset, epochs = context.dataset, context.settings["epochs"]
    model = build("mlp")
    counted = counted_training_flops(model)
    log(f"aelib MLP VAE: {epochs} epochs on {dataset.num_train} images")
    result = train_aelib(
        model,
        dataset,
        epochs,
        BATCH_SIZE,
        MLP_TRAIN_FLOPS_PER_SAMPLE,
        context.shared.get("roofline_gflops"),
    )
    result["architecture"] = describe("mlp")
    result["flops_per_sample_definition"] = (
        "3 x 2 x multiply-adds of the dense layers "
        f"({' + '.join(f'{a}*{b}' for a, b in MLP_LAYERS)} = {MLP_MACS_PER_SAMPLE})"
    )
    result["flops_per_sample_counted_from_layers"] = counted
    context.shared["mlp_model"] = model  # for the IWAE measurement
    return result


def run_conv(context: Context) -> dict[str, Any]:
    if "conv" not in getattr(aelib.networks, "ARCHITECTURES", ()):
        return {"available": False, "note": "not available in this aelib version"}
    dataset, epochs = context.dataset, context.settings["epochs"]
    model = build("conv")
    flops = counted_training_flops(model)
    log(f"aelib conv VAE: {epochs} epochs on {dataset.num_train} images")
    result = train_aelib(
        model, dataset, epochs, BATCH_SIZE, flops, context.shared.get("roofline_gflops")
    )
    result["available"] = True
    result["architecture"] = describe("conv")
    result["flops_per_sample_definition"] = (
        "3 x 2 x multiply-adds counted from the Dense/Conv2D/Conv2DTranspose layers"
    )
    return result


MLP = Measurement(
    key="aelib_mlp_vae",
    run=run_mlp,
    training_rows=lambda results: [
        ("aelib VAE 784-400-20", results.get("aelib_mlp_vae"))
    ],
    cli_name="aelib_mlp",
)
CONV = Measurement(
    key="aelib_conv_vae",
    run=run_conv,
    training_rows=lambda results: [("aelib conv VAE", results.get("aelib_conv_vae"))],
    cli_name="aelib_conv",
)
