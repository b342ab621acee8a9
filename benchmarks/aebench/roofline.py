"""The float32 matrix-product rate of this machine, and what one step could reach.

- ``keras.ops.matmul`` on the TensorFlow backend for large square matrices,
  best of several timed calls after a warm-up (2 n^3 flops per product); the
  best rate is ``roofline_gflops``. NumPy's rate is recorded for reference.
- The rate at the MLP VAE's own batch-128 shapes, each product timed as a loop
  of eager calls (dispatch included: a lower bound).
- ``step_bound``: the step's products and the fused Adam update, each timed in
  a compiled loop: an upper bound on what any implementation of one training
  step can reach.

The roofline is context, not a target: the target of 60% of it is retired
(TensorFlow's own forward and backward passes reach about 0.57 of it at batch
128); what counts is the ratio to the best plain implementation in the same
run (:mod:`aebench.backends`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

import aelib
from aebench.core import (
    BATCH_SIZE,
    MLP_LAYERS,
    MLP_TRAIN_FLOPS_PER_SAMPLE,
    Context,
    Measurement,
    fmt,
    log,
)


def _best_seconds(step: Callable[[], Any], repeats: int, calls: int = 1) -> float:
    """Best wall time of ``calls`` calls of ``step`` over ``repeats`` tries."""
    step()  # warm-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            result = step()
        # TensorFlow on CPU runs eagerly and synchronously; converting the last
        # result to NumPy makes sure the work is done before the clock stops.
        keras.ops.convert_to_numpy(result)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def keras_matmul_gflops(m: int, k: int, n: int, repeats: int, calls: int) -> float:
    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.random((m, k), dtype=np.float32))
    b = keras.ops.convert_to_tensor(rng.random((k, n), dtype=np.float32))
    seconds = _best_seconds(lambda: keras.ops.matmul(a, b), repeats, calls)
    return 2.0 * m * k * n / seconds / 1e9


def numpy_matmul_gflops(size: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    seconds = _best_seconds(lambda: a @ b, repeats)
    return 2.0 * size**3 / seconds / 1e9


def mlp_training_products(batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product of one training step of the MLP VAE."""
    products = []
    for index, (n_in, n_out) in enumerate(MLP_LAYERS):
        products.append((batch, n_in, n_out))  # forward
        products.append((n_in, batch, n_out))  # gradient of the weights
        if index > 0:  # no gradient is needed for the input images
            products.append((batch, n_out, n_in))  # gradient of the input
    return products


def _graph_seconds(body: Callable[[], Any], iterations: int, repeats: int) -> float:
    """Best time of one iteration of ``body`` run in a compiled TensorFlow loop.

    ``body(total)`` returns a scalar, summed over the iterations so that
    nothing can be pruned. Each iteration starts after the previous one ends
    (a control dependency on the running total), so no work can be hoisted
    out of the loop; the operations inside one iteration may run in parallel.
    The loop runs in one ``tf.function`` call, so Python and dispatch costs
    are paid once per ``iterations``, not once per operation.
    """
    import tensorflow as tf

    @tf.function
    def loop():
        total = tf.constant(0.0)
        for _ in tf.range(iterations):
            with tf.control_dependencies([total]):
                total += body(total)
        return total

    return _best_seconds(loop, repeats) / iterations


def step_bound(batch: int, roof_gflops: float, repeats: int, iterations: int) -> dict:
    """An upper bound on the fraction of the roofline one training step can reach.

    One step of the MLP VAE must compute its matrix products and update its
    weights with Adam. Both are timed alone in a compiled loop at batch
    ``batch``: the products at the network's shapes (forward, weight and input
    gradients) and the fused Adam update of the network's weights. Their sum
    is a lower bound on the time of a step (everything else is left out:
    activations, the loss, sampling, reading the batch), so step flops / that
    time is an upper bound on what training can reach.
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    products = mlp_training_products(batch)
    operands = [
        (
            tf.Variable(rng.random((m, k), dtype=np.float32)),
            tf.Variable(rng.random((k, n), dtype=np.float32)),
        )
        for m, k, n in products
    ]

    matmul_seconds = _graph_seconds(
        lambda total: tf.add_n([tf.matmul(a, b)[0, 0] for a, b in operands]),
        iterations,
        repeats,
    )

    shapes = [
        shape for n_in, n_out in MLP_LAYERS for shape in ((n_in, n_out), (n_out,))
    ]
    optimizer_seconds = {}
    for name, make in [
        ("aelib FusedAdam", aelib.optimizers.FusedAdam),
        ("keras Adam", keras.optimizers.Adam),
    ]:
        weights = [keras.Variable(rng.normal(size=s).astype("float32")) for s in shapes]
        grads = [tf.constant(rng.normal(size=s).astype("float32")) for s in shapes]
        optimizer = make(learning_rate=1e-3)
        optimizer.build(weights)

        def update(total, optimizer=optimizer, weights=weights, grads=grads):
            optimizer.apply(grads, weights)
            return tf.constant(0.0)

        optimizer_seconds[name] = _graph_seconds(update, iterations, repeats)

    step_flops = MLP_TRAIN_FLOPS_PER_SAMPLE * batch
    adam = optimizer_seconds["aelib FusedAdam"]
    matmul_gflops = step_flops / matmul_seconds / 1e9
    bound_gflops = step_flops / (matmul_seconds + adam) / 1e9
    return {
        "batch_size": batch,
        "iterations_per_call": iterations,
        "step_matmul_seconds": matmul_seconds,
        "step_matmul_gflops": matmul_gflops,
        "optimizer_update_seconds": optimizer_seconds,
        "bound_gflops": bound_gflops,
        "bound_samples_per_second": batch / (matmul_seconds + adam),
        "matmul_only_fraction": matmul_gflops / roof_gflops,
        "bound_fraction": bound_gflops / roof_gflops,
        "definition": (
            "step flops / (time of the step's matrix products + time of the "
            "fused Adam update), each timed alone in a compiled loop: an upper "
            "bound on the fraction of the roofline that training at this batch "
            "size can reach"
        ),
    }


def roofline(sizes: list[int], repeats: int, batch: int, small_calls: int) -> dict:
    result: dict[str, Any] = {"repeats": repeats, "flops_per_product": "2*m*k*n"}
    keras_rates = {}
    for size in sizes:
        log(f"roofline: keras.ops.matmul {size}x{size}")
        keras_rates[str(size)] = keras_matmul_gflops(size, size, size, repeats, 1)
    result["keras_tf_gflops"] = keras_rates
    result["roofline_gflops"] = max(keras_rates.values())
    result["roofline_definition"] = (
        f"best keras.ops.matmul rate over sizes {sizes}, best of {repeats} after "
        "a warm-up"
    )
    # The rate at the network's own shapes: the attainable roof at this batch.
    log(f"roofline: network shapes at batch {batch}")
    first = keras_matmul_gflops(batch, 784, 400, repeats, small_calls)
    result["keras_tf_gflops_first_layer"] = {
        "shape": f"{batch}x784 @ 784x400",
        "gflops": first,
    }
    total_flops = 0.0
    total_seconds = 0.0
    per_shape = []
    for m, k, n in mlp_training_products(batch):
        rate = keras_matmul_gflops(m, k, n, repeats, small_calls)
        flops = 2.0 * m * k * n
        total_flops += flops
        total_seconds += flops / (rate * 1e9)
        per_shape.append({"shape": f"{m}x{k} @ {k}x{n}", "gflops": rate})
    result["keras_tf_gflops_training_step_shapes"] = per_shape
    result["attainable_gflops_at_batch"] = total_flops / total_seconds / 1e9
    result["attainable_definition"] = (
        "total flops of the products of one training step (forward, weight and "
        "input gradients) divided by their summed isolated matmul times; each "
        "call is timed eagerly, so dispatch overhead makes it a lower bound"
    )

    log(f"roofline: upper bound of one training step at batch {batch}")
    result["step_bound"] = step_bound(
        batch, result["roofline_gflops"], repeats, iterations=max(small_calls, 10)
    )

    # NumPy last: its BLAS threads may spin for a moment after their work.
    numpy_rates = {}
    for size in sizes:
        log(f"roofline: numpy {size}x{size}")
        numpy_rates[str(size)] = numpy_matmul_gflops(size, repeats)
    result["numpy_gflops"] = numpy_rates
    return result


def settings(quick: bool) -> dict[str, Any]:
    return {
        "matmul_sizes": [256, 512] if quick else [2048, 4096],
        "matmul_repeats": 2 if quick else 5,
        "small_matmul_calls": 10 if quick else 100,
    }


def run(context: Context) -> dict[str, Any]:
    s = context.settings
    result = roofline(
        s["matmul_sizes"], s["matmul_repeats"], BATCH_SIZE, s["small_matmul_calls"]
    )
    context.shared["roofline_gflops"] = result["roofline_gflops"]
    return result


def markdown(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    roof = results.get("roofline", {})
    if "error" in roof:
        lines += ["## Roofline", "", f"Failed: {roof['error']}", ""]
    elif roof:
        lines += ["## Roofline (float32 matmul, GFLOP/s)", ""]
        torch_result = results.get("torch_baseline") or {}
        torch_sizes = torch_result.get("torch_matmul_gflops", {})
        torch_shapes = torch_result.get("torch_matmul_gflops_network_shapes", {})
        tf_shapes = {
            row["shape"]: row["gflops"]
            for row in roof.get("keras_tf_gflops_training_step_shapes", [])
        }
        lines += [
            "| product | keras.ops.matmul (TF) | PyTorch | NumPy |",
            "| --- | --- | --- | --- |",
        ]
        for size, rate in roof["keras_tf_gflops"].items():
            lines.append(
                f"| {size}x{size} @ {size}x{size} | {fmt(rate)} | "
                f"{fmt(torch_sizes.get(size))} | "
                f"{fmt(roof['numpy_gflops'].get(size))} |"
            )
        for shape, rate in torch_shapes.items():
            lines.append(f"| {shape} | {fmt(tf_shapes.get(shape))} | {fmt(rate)} | - |")
        lines.append(
            "| all products of one training step at this batch, one eager call "
            f"each | {fmt(roof['attainable_gflops_at_batch'])} | - | - |"
        )
        lines += [
            "",
            "Roofline used for the fractions: "
            f"**{fmt(roof['roofline_gflops'])} GFLOP/s** "
            f"({roof['roofline_definition']}).",
            "",
        ]
        bound = roof.get("step_bound")
        if bound:
            updates = bound["optimizer_update_seconds"]
            lines += [
                f"### What one training step at batch {bound['batch_size']} "
                "could reach",
                "",
                "| part of a step, timed alone in a compiled loop | time (ms) | "
                "GFLOP/s | fraction of roofline |",
                "| --- | --- | --- | --- |",
                f"| the step's matrix products | "
                f"{bound['step_matmul_seconds'] * 1e3:.3f} | "
                f"{fmt(bound['step_matmul_gflops'])} | "
                f"{bound['matmul_only_fraction']:.3f} |",
            ]
            for name, seconds in updates.items():
                lines.append(
                    f"| Adam update of the weights, {name} | "
                    f"{seconds * 1e3:.3f} | - | - |"
                )
            step_ms = (bound["step_matmul_seconds"] + updates["aelib FusedAdam"]) * 1e3
            lines += [
                f"| **upper bound**: products + aelib FusedAdam update | "
                f"{step_ms:.3f} | "
                f"{fmt(bound['bound_gflops'])} | "
                f"**{bound['bound_fraction']:.3f}** |",
                "",
                "The bound leaves out everything else a step does (activations, "
                "loss, sampling, reading the batch) and lets the products of a step "
                "run in parallel, so no implementation can pass it; the "
                "hand-written TensorFlow rows of the training table show what the "
                "framework reaches in practice.",
                "",
            ]

    return lines


MEASUREMENT = Measurement(key="roofline", run=run, settings=settings, markdown=markdown)
