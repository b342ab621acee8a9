"""The MLP VAE's training step written by hand in TensorFlow, in this process.

:func:`aebench.plain_tf.run_plain` in both modes: ``step`` trains (loss,
gradients, fused Adam update); ``gradients`` computes the loss and all
gradients but updates nothing, the cost of the forward and backward passes
alone. This separates what aelib and Keras cost from what TensorFlow itself
reaches at batch 128, on the benchmark's main data and its roofline.
"""

from __future__ import annotations

from typing import Any

from aebench.core import (
    BATCH_SIZE,
    MLP_TRAIN_FLOPS_PER_SAMPLE,
    Context,
    Measurement,
    log,
)


def settings(quick: bool) -> dict[str, Any]:
    return {"reference_epochs": 2 if quick else 4}


def run(context: Context) -> dict[str, Any]:
    from aebench import plain_tf

    epochs = context.settings["reference_epochs"]
    roof = context.shared.get("roofline_gflops")
    result: dict[str, Any] = {}
    for mode in plain_tf.MODES:
        log(f"TensorFlow by hand ({mode}): {epochs} epochs")
        value = plain_tf.run_plain(
            "mlp",
            context.dataset.x_train,
            mode=mode,
            epochs=epochs,
            batch_size=BATCH_SIZE,
        )
        achieved = MLP_TRAIN_FLOPS_PER_SAMPLE * value["samples_per_second"] / 1e9
        value["flops_per_sample"] = MLP_TRAIN_FLOPS_PER_SAMPLE
        value["achieved_gflops"] = achieved
        if roof:
            value["roofline_fraction"] = achieved / roof
        result[mode] = value
    return result


def training_rows(results: dict[str, Any]) -> list[tuple[str, Any]]:
    reference = results.get("tf_reference") or {}
    if "error" in reference:
        return [("TensorFlow by hand 784-400-20", reference)]
    return [
        ("TensorFlow by hand 784-400-20, full step", reference.get("step")),
        (
            "TensorFlow by hand 784-400-20, gradients only (no update)",
            reference.get("gradients"),
        ),
    ]


MEASUREMENT = Measurement(
    key="tf_reference", run=run, settings=settings, training_rows=training_rows
)
