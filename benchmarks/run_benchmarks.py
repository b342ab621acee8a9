"""Measures aelib's speed, accuracy and the book's cost in one run.

Run from the repository root::

    .venv/bin/python benchmarks/run_benchmarks.py            # the full run
    .venv/bin/python benchmarks/run_benchmarks.py --quick    # a smoke run

It measures, on the same data and in the same process:

1. the machine (CPU, cores, memory, library versions, load);
2. the float32 matrix-product roofline of ``keras.ops.matmul`` on the
   TensorFlow backend (and NumPy's, for reference), the rate at the
   network's own batch-128 shapes, and an upper bound on what one training
   step can reach;
3. aelib's MLP VAE (784-400-20) trained on full Fashion-MNIST for 10 epochs at
   batch 128: throughput, achieved GFLOP/s, fraction of the roofline, test
   loss; and the same step written by hand in TensorFlow
   (``benchmarks/tf_reference.py``), with and without the weight update;
4. aelib's convolutional VAE, when this aelib version has one;
5. the time of the importance-weighted bound with k = 1,000 on 1,000 images;
6. optionally, the same VAE in plain PyTorch (``benchmarks/torch_baseline.py``);
7. the wall time and peak memory of every notebook of the book, each in a
   fresh kernel.

It writes ``results.json`` and ``results.md`` (a markdown table) into
``--output-dir`` and judges each target of the performance issue as pass, fail
or not measured. See ``benchmarks/README.md``. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The same environment as the Makefile's recipes; notebook kernels inherit it.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

import aelib  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"

# The dense layers of VAE(latent_dim=20, hidden_units=(400,)) on 28x28 images:
# (inputs, outputs) of each matrix product. The two encoder heads are separate
# Dense layers of 400 -> 20.
MLP_LAYERS = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]
MLP_MACS_PER_SAMPLE = sum(n_in * n_out for n_in, n_out in MLP_LAYERS)
# Forward: 2 flops per multiply-add. Training: forward + backward ~ 3x forward
# (the backward pass needs two products per layer: one for the gradient of the
# weights and one for the gradient of the layer's input).
MLP_TRAIN_FLOPS_PER_SAMPLE = 3 * 2 * MLP_MACS_PER_SAMPLE

GB = 1e9  # the memory target's "3 GB" is read as 3 * 10^9 bytes
MB = 1e6

TARGETS = {
    "throughput_vs_torch": (
        "aelib MLP VAE training throughput / PyTorch baseline's >= 1.25"
    ),
    "roofline_fraction": "aelib MLP VAE achieved GFLOP/s / matmul roofline >= 0.60",
    "test_loss_vs_torch": "aelib test loss / PyTorch baseline's test loss <= 1.00",
    "iwae_seconds": "IWAE k=1,000 on 1,000 test images < 30 s",
    "book_seconds": "whole book (sum of notebooks) < 300 s",
    "notebook_seconds": "every notebook < 90 s",
    "notebook_memory": "every notebook's peak RSS < 3 GB",
}


# --------------------------------------------------------------------------
# Helpers


def log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class CpuAccount:
    """CPU time used by other processes than this benchmark, in cores.

    The load average cannot tell the benchmark's own threads from other work,
    so it flags every run. Here the CPU time of the whole machine (from
    ``/proc/stat`` through psutil) minus that of this process and its children
    (the notebook kernels, also sampled while they run, in case one is never
    reaped) is divided by the wall time: 0 on an idle machine, 1 when another
    process kept one core busy throughout.
    """

    def __init__(self) -> None:
        self.children: dict[int, float] = {}  # pid -> CPU seconds last seen

    def note_children(self, children: list[psutil.Process]) -> None:
        for child in children:
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            self.children[child.pid] = times.user + times.system

    def snapshot(self) -> tuple[float, float, float]:
        """(wall seconds, CPU seconds of the machine, CPU seconds of ours)."""
        system = psutil.cpu_times()
        busy = sum(
            getattr(system, field, 0.0)
            for field in ("user", "nice", "system", "irq", "softirq", "steal")
        )
        own = psutil.Process().cpu_times()
        reaped = own.children_user + own.children_system
        ours = own.user + own.system + max(reaped, sum(self.children.values()))
        return time.perf_counter(), busy, ours

    @staticmethod
    def other_cores(start: tuple[float, float, float], end: tuple) -> float:
        wall = end[0] - start[0]
        if wall <= 0:
            return 0.0
        return max(0.0, ((end[1] - start[1]) - (end[2] - start[2])) / wall)


CPU = CpuAccount()
# A run is flagged as busy when other processes took more than this share of
# the usable cores during any section.
BUSY_SHARE = 0.10


def guarded(results: dict[str, Any], key: str, function: Callable[[], Any]) -> Any:
    """Runs one section; on error records the traceback instead of stopping.

    Also records the 1-minute load average before the section and the cores
    other processes used during it (:class:`CpuAccount`).
    """
    results.setdefault("load_average_per_section", {})[key] = os.getloadavg()[0]
    start = CPU.snapshot()
    try:
        value = function()
    except Exception as error:  # a benchmark reports the error and goes on
        log(f"{key}: FAILED: {error!r}")
        value = {"error": repr(error), "traceback": traceback.format_exc()}
    other = CpuAccount.other_cores(start, CPU.snapshot())
    results.setdefault("other_processes_cores_per_section", {})[key] = other
    results[key] = value
    return value


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, default=_json_default)
    path.write_text(text + "\n", encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def median_steady(epoch_seconds: list[float]) -> tuple[float, int]:
    """Median epoch time over epochs 2..n (epoch 1 includes tracing)."""
    steady = epoch_seconds[1:] or epoch_seconds
    return float(np.median(steady)), len(steady)


# --------------------------------------------------------------------------
# 1. The machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_state() -> dict[str, Any]:
    def run(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {"commit": run("rev-parse", "HEAD"), "dirty": bool(run("status", "-s"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def machine_info() -> dict[str, Any]:
    import tensorflow as tf

    info = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "ram_gb": psutil.virtual_memory().total / GB,
        "load_average_at_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": np.__version__,
        "aelib": aelib.__version__,
        "git": git_state(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    return info


# --------------------------------------------------------------------------
# 2. Roofline


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


# --------------------------------------------------------------------------
# 3-4. aelib models


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
    roof_gflops: float | None,
) -> dict[str, Any]:
    """Trains with aelib's own compile defaults; returns timings and test loss."""
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
    elbo = aelib.evaluate.elbo(model, dataset.x_test, num_samples=1)
    result: dict[str, Any] = {
        "optimizer": type(model.optimizer).__name__,
        "learning_rate": _learning_rate(model.optimizer),
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
        "test_elbo_mean": float(elbo.mean()),
        "test_negative_elbo": float(-elbo.mean()),
        "trainable_parameters": int(
            sum(np.prod(w.shape) for w in model.trainable_weights)
        ),
        "flops_per_sample": flops_per_sample,
    }
    if flops_per_sample:
        achieved = flops_per_sample * samples_per_second / 1e9
        result["achieved_gflops"] = achieved
        if roof_gflops:
            result["roofline_fraction"] = achieved / roof_gflops
    return result


def bench_mlp_vae(dataset, epochs, batch_size, roof) -> tuple[dict[str, Any], Any]:
    aelib.set_seed(0)
    model = aelib.VAE(input_shape=(28, 28), latent_dim=20, hidden_units=(400,))
    counted = counted_training_flops(model)
    log(f"aelib MLP VAE: {epochs} epochs on {dataset.num_train} images")
    result = train_aelib(
        model, dataset, epochs, batch_size, MLP_TRAIN_FLOPS_PER_SAMPLE, roof
    )
    result["architecture"] = (
        "VAE(input_shape=(28, 28), latent_dim=20, hidden_units=(400,))"
    )
    result["flops_per_sample_definition"] = (
        "3 x 2 x multiply-adds of the dense layers "
        f"({' + '.join(f'{a}*{b}' for a, b in MLP_LAYERS)} = {MLP_MACS_PER_SAMPLE})"
    )
    result["flops_per_sample_counted_from_layers"] = counted
    return result, model


def bench_conv_vae(dataset, epochs, batch_size, roof) -> dict[str, Any]:
    if "conv" not in getattr(aelib.networks, "ARCHITECTURES", ()):
        return {"available": False, "note": "not available in this aelib version"}
    aelib.set_seed(0)
    model = aelib.VAE(
        input_shape=(28, 28), latent_dim=20, hidden_units=(400,), architecture="conv"
    )
    flops = counted_training_flops(model)
    log(f"aelib ConvVAE: {epochs} epochs on {dataset.num_train} images")
    result = train_aelib(model, dataset, epochs, batch_size, flops, roof)
    result["available"] = True
    result["architecture"] = (
        'VAE(latent_dim=20, hidden_units=(400,), architecture="conv")'
    )
    result["flops_per_sample_definition"] = (
        "3 x 2 x multiply-adds counted from the Dense/Conv2D/Conv2DTranspose layers"
    )
    return result


# --------------------------------------------------------------------------
# 5. IWAE


def bench_iwae(model, x: np.ndarray, num_samples: int) -> dict[str, Any]:
    log(f"IWAE: k={num_samples} on {x.shape[0]} images")
    start = time.perf_counter()
    values = aelib.evaluate.iwae_log_likelihood(model, x, num_samples=num_samples)
    seconds = time.perf_counter() - start
    return {
        "num_images": int(x.shape[0]),
        "num_samples": num_samples,
        "seconds": seconds,
        "mean_log_likelihood": float(values.mean()),
        "negative_log_likelihood": float(-values.mean()),
    }


def bench_tf_reference(dataset, batch_size, roof, epochs) -> dict[str, Any]:
    """The hand-written TensorFlow step (``tf_reference.py``), in both modes."""
    try:
        from benchmarks import tf_reference
    except ImportError:  # run as a script: benchmarks/ is on sys.path
        import tf_reference
    result: dict[str, Any] = {}
    for mode in tf_reference.MODES:
        log(f"TensorFlow by hand ({mode}): {epochs} epochs")
        value = tf_reference.run_reference(
            dataset.x_train, mode=mode, epochs=epochs, batch_size=batch_size
        )
        achieved = MLP_TRAIN_FLOPS_PER_SAMPLE * value["samples_per_second"] / 1e9
        value["flops_per_sample"] = MLP_TRAIN_FLOPS_PER_SAMPLE
        value["achieved_gflops"] = achieved
        if roof:
            value["roofline_fraction"] = achieved / roof
        result[mode] = value
    return result


# --------------------------------------------------------------------------
# 6. PyTorch baseline


def load_torch_baseline():
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    try:
        from benchmarks import torch_baseline
    except ImportError:  # run as a script: benchmarks/ is on sys.path
        import torch_baseline
    return torch_baseline


def bench_torch(module, dataset, epochs, batch_size, roof, sizes, repeats) -> dict:
    log(f"PyTorch baseline: {epochs} epochs on {dataset.num_train} images")
    result = module.run_baseline(
        dataset.x_train, dataset.x_test, epochs=epochs, batch_size=batch_size
    )
    achieved = MLP_TRAIN_FLOPS_PER_SAMPLE * result["samples_per_second"] / 1e9
    result["flops_per_sample"] = MLP_TRAIN_FLOPS_PER_SAMPLE
    result["achieved_gflops"] = achieved
    if roof:
        result["roofline_fraction"] = achieved / roof
    result["torch_matmul_gflops"] = {
        str(size): module.matmul_gflops(size, repeats) for size in sizes
    }
    # The network's own products, the shapes the roofline was read at.
    result["torch_matmul_gflops_network_shapes"] = {
        f"{m}x{k} @ {k}x{n}": module.product_gflops(m, k, n, repeats, calls=100)
        for m, k, n in [(batch_size, 784, 400), (batch_size, 400, 784)]
    }
    best = max(
        list(result["torch_matmul_gflops"].values())
        + list(result["torch_matmul_gflops_network_shapes"].values())
    )
    result["torch_matmul_best_gflops"] = best
    return result


# --------------------------------------------------------------------------
# 7. Notebooks


def toc_notebooks(toc_path: Path) -> list[Path]:
    """The notebooks named in the book's _toc.yml, in reading order."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    names.append(node[key])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    paths = []
    for name in names:
        path = REPO / name
        if path.suffix == "":
            path = path.with_suffix(".ipynb")
        if path.suffix == ".ipynb" and path.exists():
            paths.append(path)
    return paths


class RssSampler(threading.Thread):
    """Samples the summed RSS of this process's child processes (the kernel)."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self._stop_event.is_set():
            total = 0
            try:
                children = me.children(recursive=True)
            except psutil.Error:
                children = []
            for child in children:
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            CPU.note_children(children)
            self.peak_bytes = max(self.peak_bytes, total)
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_notebook(path: Path, cell_timeout: int) -> dict[str, Any]:
    """Executes a notebook in a fresh kernel (cwd book/), in memory only."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    kernel = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name=kernel,
        allow_errors=False,  # cells tagged raises-exception may still raise
        resources={"metadata": {"path": str(path.parent)}},
    )
    sampler = RssSampler()
    sampler.start()
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).splitlines()[-1] if str(exc) else repr(exc)
    except Exception as exc:  # timeouts, dead kernels...
        error = repr(exc)
    seconds = time.perf_counter() - start
    sampler.stop()
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    return {
        "notebook": str(path.relative_to(REPO)),
        "seconds": seconds,
        "peak_rss_mb": sampler.peak_bytes / MB,
        "rss_samples": sampler.samples,
        "code_cells": len(code_cells),
        "ok": error is None,
        "error": error,
    }


def bench_notebooks(paths: list[Path], cell_timeout: int) -> dict[str, Any]:
    rows = []
    start = time.perf_counter()
    for path in paths:
        log(f"notebook: {path.relative_to(REPO)}")
        row = run_notebook(path, cell_timeout)
        log(
            f"  {row['seconds']:.1f} s, peak {row['peak_rss_mb']:.0f} MB, "
            f"ok={row['ok']}"
        )
        rows.append(row)
    wall = time.perf_counter() - start
    in_toc = {p.resolve() for p in paths}
    others = sorted(
        str(p.relative_to(REPO))
        for p in BOOK.glob("*.ipynb")
        if p.resolve() not in in_toc
    )
    return {
        "notebooks": rows,
        "total_seconds": sum(r["seconds"] for r in rows),
        "wall_seconds": wall,
        "max_seconds": max((r["seconds"] for r in rows), default=None),
        "max_peak_rss_mb": max((r["peak_rss_mb"] for r in rows), default=None),
        "all_ok": all(r["ok"] for r in rows),
        "cell_timeout_seconds": cell_timeout,
        "rss_sampling_interval_seconds": 0.2,
        "notebooks_in_book_not_in_toc": others,
    }


# --------------------------------------------------------------------------
# 8. Targets and reports


def _target(status: str, measured: Any, threshold: str, note: str = "") -> dict:
    return {
        "status": status,
        "measured": measured,
        "threshold": threshold,
        "note": note,
    }


def _roofline_context(mlp, roof, reference, torch_result) -> str:
    """What the roofline fraction compares with, for the note of its target."""
    notes = []
    if reference and "step" in reference and "gradients" in reference:
        notes.append(
            "TensorFlow by hand reaches "
            f"{reference['step']['roofline_fraction']:.2f} (full step) and "
            f"{reference['gradients']['roofline_fraction']:.2f} (gradients, no update)"
        )
    if roof and "step_bound" in roof:
        notes.append(f"upper bound {roof['step_bound']['bound_fraction']:.2f}")
    if torch_result and "torch_matmul_best_gflops" in torch_result:
        best = torch_result["torch_matmul_best_gflops"]
        notes.append(
            f"against PyTorch's best matmul ({best:.0f} GFLOP/s) instead: "
            f"{mlp['achieved_gflops'] / best:.2f}"
        )
    return "; ".join(notes)


def judge(results: dict[str, Any], skipped: dict[str, str]) -> dict[str, Any]:
    """Judges every target of the issue: pass, fail, or not measured."""

    def ok(section: str) -> dict | None:
        value = results.get(section)
        if isinstance(value, dict) and not {"error", "skipped"} & value.keys():
            return value
        return None

    def missing(section: str) -> str:
        if section in skipped:
            return skipped[section]
        value = results.get(section)
        if isinstance(value, dict) and "error" in value:
            return f"{section} failed: {value['error']}"
        return f"{section} not run"

    def status(passed: bool) -> str:
        return "pass" if passed else "fail"

    targets: dict[str, Any] = {}
    mlp, torch_result = ok("aelib_mlp_vae"), ok("torch_baseline")
    iwae, books = ok("iwae"), ok("notebooks")

    key = "throughput_vs_torch"
    if mlp and torch_result:
        ratio = mlp["samples_per_second"] / torch_result["samples_per_second"]
        targets[key] = _target(status(ratio >= 1.25), ratio, ">= 1.25")
    else:
        why = missing("aelib_mlp_vae") if not mlp else missing("torch_baseline")
        targets[key] = _target("not measured", None, ">= 1.25", why)

    key = "roofline_fraction"
    if mlp and "roofline_fraction" in mlp:
        fraction = mlp["roofline_fraction"]
        targets[key] = _target(
            status(fraction >= 0.60),
            fraction,
            ">= 0.60",
            _roofline_context(mlp, ok("roofline"), ok("tf_reference"), torch_result),
        )
    else:
        why = missing("aelib_mlp_vae") if not mlp else missing("roofline")
        targets[key] = _target("not measured", None, ">= 0.60", why)

    key = "test_loss_vs_torch"
    if mlp and torch_result:
        ratio = mlp["test_loss"] / torch_result["test_loss"]
        note = (
            f"aelib {mlp['test_loss']:.2f} vs PyTorch "
            f"{torch_result['test_loss']:.2f} nats per image"
        )
        targets[key] = _target(status(ratio <= 1.0), ratio, "<= 1.00", note)
    else:
        why = missing("aelib_mlp_vae") if not mlp else missing("torch_baseline")
        targets[key] = _target("not measured", None, "<= 1.00", why)

    key = "iwae_seconds"
    if iwae:
        targets[key] = _target(status(iwae["seconds"] < 30), iwae["seconds"], "< 30")
    else:
        targets[key] = _target("not measured", None, "< 30", missing("iwae"))

    if books and books["notebooks"]:
        total = books["total_seconds"]
        worst = books["max_seconds"]
        memory = books["max_peak_rss_mb"]
        failed = [r["notebook"] for r in books["notebooks"] if not r["ok"]]
        note = f"notebooks that raised: {failed}" if failed else ""
        targets["book_seconds"] = _target(
            status(total < 300 and not failed), total, "< 300", note
        )
        targets["notebook_seconds"] = _target(
            status(worst < 90 and not failed), worst, "< 90 (each)", note
        )
        targets["notebook_memory"] = _target(
            status(memory < 3 * GB / MB), memory, "< 3000 MB (each)"
        )
    else:
        why = missing("notebooks")
        if books is not None and not books["notebooks"]:
            why = "no notebook in _toc.yml"
        for key, threshold in [
            ("book_seconds", "< 300"),
            ("notebook_seconds", "< 90 (each)"),
            ("notebook_memory", "< 3000 MB (each)"),
        ]:
            targets[key] = _target("not measured", None, threshold, why)
    for key, value in targets.items():
        value["description"] = TARGETS[key]
    return targets


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = ["# aelib benchmark results", ""]
    if results["settings"]["quick"]:
        lines += [
            "**QUICK SMOKE RUN: tiny sizes, these numbers are not measurements of "
            "the targets.**",
            "",
        ]
    machine = results.get("machine", {})
    if machine.get("busy"):
        lines += [
            "**WARNING: the machine was busy during this run (other processes "
            f"used more than {BUSY_SHARE:.0%} of the cores during a section, see "
            "other_processes_cores_per_section in results.json): the timings are "
            "not representative.**",
            "",
        ]
    lines += [
        "## Machine",
        "",
        "| item | value |",
        "| --- | --- |",
    ]
    for key in [
        "date",
        "cpu_model",
        "logical_cores",
        "usable_cores",
        "ram_gb",
        "load_average_at_start",
        "load_average_at_end",
        "python",
        "tensorflow",
        "keras",
        "numpy",
        "torch",
        "aelib",
    ]:
        value = machine.get(key)
        if isinstance(value, list):
            value = ", ".join(f"{v:.2f}" for v in value)
        lines.append(f"| {key} | {_fmt(value)} |")
    git = machine.get("git") or {}
    lines.append(f"| git commit | {git.get('commit')} (dirty: {git.get('dirty')}) |")
    data = results.get("data", {})
    lines += [f"| data | {data.get('source', '-')} |", ""]

    lines += ["## Targets", "", "| target | measured | threshold | status | note |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for value in results.get("targets", {}).values():
        lines.append(
            f"| {value['description']} | {_fmt(value['measured'], 3)} | "
            f"{value['threshold']} | **{value['status']}** | {value['note']} |"
        )
    lines.append("")

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
                f"| {size}x{size} @ {size}x{size} | {_fmt(rate)} | "
                f"{_fmt(torch_sizes.get(size))} | "
                f"{_fmt(roof['numpy_gflops'].get(size))} |"
            )
        for shape, rate in torch_shapes.items():
            lines.append(
                f"| {shape} | {_fmt(tf_shapes.get(shape))} | {_fmt(rate)} | - |"
            )
        lines.append(
            "| all products of one training step at this batch, one eager call "
            f"each | {_fmt(roof['attainable_gflops_at_batch'])} | - | - |"
        )
        lines += [
            "",
            "Roofline used for the fractions: "
            f"**{_fmt(roof['roofline_gflops'])} GFLOP/s** "
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
                f"{_fmt(bound['step_matmul_gflops'])} | "
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
                f"{_fmt(bound['bound_gflops'])} | "
                f"**{bound['bound_fraction']:.3f}** |",
                "",
                "The bound leaves out everything else a step does (activations, "
                "loss, sampling, reading the batch) and lets the products of a step "
                "run in parallel, so no implementation can pass it; the "
                "hand-written TensorFlow rows of the training table show what the "
                "framework reaches in practice.",
                "",
            ]

    lines += [
        "## Training (batch 128)",
        "",
        "| model | images/s | median epoch (s) | first epoch (s) | "
        "MFLOP/image | GFLOP/s | fraction of roofline | test loss (nats) | "
        "test -ELBO, aelib.evaluate (nats) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    reference = results.get("tf_reference") or {}
    rows = [
        ("aelib VAE 784-400-20", results.get("aelib_mlp_vae")),
        ("aelib conv VAE", results.get("aelib_conv_vae")),
        ("PyTorch baseline 784-400-20", results.get("torch_baseline")),
    ]
    if "error" in reference:
        rows.append(("TensorFlow by hand 784-400-20", reference))
    else:
        rows += [
            ("TensorFlow by hand 784-400-20, full step", reference.get("step")),
            (
                "TensorFlow by hand 784-400-20, gradients only (no update)",
                reference.get("gradients"),
            ),
        ]
    for label, value in rows:
        if value is None:
            continue
        if "error" in value:
            lines.append(f"| {label} | failed: {value['error']} | | | | | | | |")
            continue
        if "samples_per_second" not in value:
            note = value.get("note") or value.get("skipped") or "-"
            lines.append(f"| {label} | {note} | | | | | | | |")
            continue
        flops = value.get("flops_per_sample")
        lines.append(
            f"| {label} | {_fmt(value['samples_per_second'], 0)} | "
            f"{_fmt(value['median_epoch_seconds'], 2)} | "
            f"{_fmt(value['epoch_seconds'][0], 2)} | "
            f"{_fmt(flops / 1e6 if flops else None, 2)} | "
            f"{_fmt(value.get('achieved_gflops'))} | "
            f"{_fmt(value.get('roofline_fraction'), 3)} | "
            f"{_fmt(value.get('test_loss'), 2)} | "
            f"{_fmt(value.get('test_negative_elbo'), 2)} |"
        )
    lines.append("")

    iwae = results.get("iwae")
    if iwae and "error" not in iwae:
        lines += [
            "## IWAE",
            "",
            f"k = {iwae['num_samples']:,} on {iwae['num_images']:,} test images: "
            f"**{iwae['seconds']:.2f} s**, mean log p(x) estimate "
            f"{iwae['mean_log_likelihood']:.2f} nats.",
            "",
        ]

    books = results.get("notebooks")
    if books and "error" not in books and "skipped" not in books:
        lines += [
            "## Notebooks (fresh kernel each, cwd book/)",
            "",
            "| notebook | seconds | peak RSS (MB) | ok |",
            "| --- | --- | --- | --- |",
        ]
        for row in books["notebooks"]:
            ok = "yes" if row["ok"] else f"no: {row['error']}"
            lines.append(
                f"| {row['notebook']} | {_fmt(row['seconds'])} | "
                f"{_fmt(row['peak_rss_mb'], 0)} | {ok} |"
            )
        lines.append(
            f"| **total** | **{_fmt(books['total_seconds'])}** | "
            f"max {_fmt(books['max_peak_rss_mb'], 0)} | |"
        )
        if books["notebooks_in_book_not_in_toc"]:
            lines += [
                "",
                "Not in _toc.yml, not run: "
                + ", ".join(books["notebooks_in_book_not_in_toc"]),
            ]
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run with tiny sizes (2 epochs on 5,000 images, IWAE k=10 on "
        "100 images, small matmuls, only the first notebook)",
    )
    parser.add_argument(
        "--skip-notebooks", action="store_true", help="do not execute the book"
    )
    parser.add_argument(
        "--skip-torch",
        action="store_true",
        help="do not run the PyTorch baseline even if torch is installed",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=REPO / "benchmarks" / "results",
        help="where results.json and results.md go (default: benchmarks/results)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=600,
        help="seconds allowed per notebook cell (default: 600)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quick = args.quick
    settings = {
        "quick": quick,
        "epochs": 2 if quick else 10,
        "batch_size": 128,
        "num_train": 5000 if quick else None,  # None: the full training set
        "num_test": 1000 if quick else None,
        "matmul_sizes": [256, 512] if quick else [2048, 4096],
        "matmul_repeats": 2 if quick else 5,
        "small_matmul_calls": 10 if quick else 100,
        "reference_epochs": 2 if quick else 4,
        "iwae_images": 100 if quick else 1000,
        "iwae_samples": 10 if quick else 1000,
        "notebooks": "first only" if quick else "all in _toc.yml",
        "skip_notebooks": args.skip_notebooks,
        "skip_torch": args.skip_torch,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    json_path = args.output_dir / "results.json"
    md_path = args.output_dir / "results.md"
    results: dict[str, Any] = {"settings": settings}
    skipped: dict[str, str] = {}

    def save() -> None:
        results["targets"] = judge(results, skipped)
        write_json(results, json_path)

    log("machine")
    results["machine"] = machine_info()
    log(f"  {results['machine']['cpu_model']}, load {os.getloadavg()[0]:.2f}")

    log("data: aelib.load_fashion_mnist(verbose=False)")
    dataset = aelib.load_fashion_mnist(verbose=False)
    full = {"num_train": dataset.num_train, "num_test": dataset.num_test}
    if quick:
        dataset = dataset.subset(
            num_train=settings["num_train"], num_test=settings["num_test"], seed=0
        )
    results["data"] = {
        "name": dataset.name,
        "source": dataset.source,
        "full_size": full,
        "num_train": dataset.num_train,
        "num_test": dataset.num_test,
    }
    save()

    roof = guarded(
        results,
        "roofline",
        lambda: roofline(
            settings["matmul_sizes"],
            settings["matmul_repeats"],
            settings["batch_size"],
            settings["small_matmul_calls"],
        ),
    )
    roof_gflops = roof.get("roofline_gflops")
    save()

    epochs, batch = settings["epochs"], settings["batch_size"]
    model_box: dict[str, Any] = {}

    def mlp() -> dict[str, Any]:
        result, model_box["model"] = bench_mlp_vae(dataset, epochs, batch, roof_gflops)
        return result

    guarded(results, "aelib_mlp_vae", mlp)
    save()
    guarded(
        results,
        "tf_reference",
        lambda: bench_tf_reference(
            dataset, batch, roof_gflops, settings["reference_epochs"]
        ),
    )
    save()
    guarded(
        results,
        "aelib_conv_vae",
        lambda: bench_conv_vae(dataset, epochs, batch, roof_gflops),
    )
    save()

    if "model" in model_box:
        x_iwae = dataset.x_test[: settings["iwae_images"]]
        guarded(
            results,
            "iwae",
            lambda: bench_iwae(model_box["model"], x_iwae, settings["iwae_samples"]),
        )
    else:
        skipped["iwae"] = "no trained MLP VAE (its training failed)"
    save()

    if args.skip_torch:
        skipped["torch_baseline"] = "PyTorch baseline skipped (--skip-torch)"
    else:
        module = load_torch_baseline()
        if module is None:
            skipped["torch_baseline"] = "PyTorch not installed (pip install torch)"
        else:
            guarded(
                results,
                "torch_baseline",
                lambda: bench_torch(
                    module,
                    dataset,
                    epochs,
                    batch,
                    roof_gflops,
                    settings["matmul_sizes"],
                    settings["matmul_repeats"],
                ),
            )
    if "torch_baseline" in skipped:
        results["torch_baseline"] = {"skipped": skipped["torch_baseline"]}
    save()

    if args.skip_notebooks:
        skipped["notebooks"] = "notebooks skipped (--skip-notebooks)"
        results["notebooks"] = {"skipped": skipped["notebooks"]}
    else:

        def notebooks() -> dict[str, Any]:
            paths = toc_notebooks(REPO / "_toc.yml")
            if quick:
                paths = paths[:1]
            return bench_notebooks(paths, args.cell_timeout)

        guarded(results, "notebooks", notebooks)

    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    other = results.get("other_processes_cores_per_section", {})
    busiest = max(other.values(), default=0.0)
    cores = results["machine"]["usable_cores"]
    results["machine"]["busy"] = busiest > BUSY_SHARE * cores
    results["machine"]["busy_definition"] = (
        f"other processes used more than {BUSY_SHARE:.0%} of the {cores} usable "
        "cores during a section (other_processes_cores_per_section)"
    )
    if results["machine"]["busy"]:
        log(
            f"WARNING: other processes used {busiest:.2f} cores during a section, "
            f"on {cores} cores: the timings are not representative."
        )
    results["benchmark_process_peak_rss_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    )
    save()
    md_path.write_text(markdown(results) + "\n", encoding="utf-8")
    log(f"wrote {json_path} and {md_path}")
    for key, value in results["targets"].items():
        log(f"  {key}: {value['status']} ({_fmt(value['measured'], 3)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
