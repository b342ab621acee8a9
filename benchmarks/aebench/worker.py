"""One backend's half of the per-backend comparison, in its own process.

A Keras backend is fixed per process, so :mod:`aebench.backends` starts this
module once per backend, with ``KERAS_BACKEND`` set::

    KERAS_BACKEND=jax python -m aebench.worker --spec '{...}' --output run.json

(with ``benchmarks/`` on ``PYTHONPATH``). The spec is a JSON object:
``{"backend": "jax", "runs": [{"model": "mlp", "epochs": 10, "num_train":
null, "num_test": null}, ...], "jit_compile": false}``; ``null`` sizes mean
the full split. For each run the worker trains the model written plainly in
the backend's framework (:mod:`aebench.plain_tf`, :mod:`aebench.plain_jax`,
:mod:`aebench.plain_torch`), then aelib's same model
(:func:`aebench.aelib_vae.train_aelib`), on the same images for the same
epochs at batch 128 (with ``"jit_compile": true``, aelib's model once more,
compiled with ``jit_compile=True``). It writes everything measured to
``--output`` after each training, so that a worker that dies late still
leaves its results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from aebench.core import BATCH_SIZE, log, write_json
from aebench.machine import usable_cores


def _other_cores(start, end) -> float:
    """Cores that processes other than this one used between two snapshots."""
    wall = end[0] - start[0]
    return max(0.0, ((end[1] - start[1]) - (end[2] - start[2])) / wall) if wall else 0.0


def _snapshot() -> tuple[float, float, float]:
    import psutil

    system = psutil.cpu_times()
    busy = sum(
        getattr(system, field, 0.0)
        for field in ("user", "nice", "system", "irq", "softirq", "steal")
    )
    own = psutil.Process().cpu_times()
    return time.perf_counter(), busy, own.user + own.system


def plain_runner(backend: str):
    """The function that trains the plain model on ``backend``."""
    if backend == "tensorflow":
        from aebench import plain_tf

        def run(model, x_train, x_test, epochs):
            return plain_tf.run_plain(
                model, x_train, x_test, mode="step", epochs=epochs
            )

        return run
    if backend == "jax":
        from aebench import plain_jax

        def run(model, x_train, x_test, epochs):
            return plain_jax.run_plain(model, x_train, x_test, epochs=epochs)

        return run
    from aebench import plain_torch

    def run(model, x_train, x_test, epochs):
        return plain_torch.run_plain(model, x_train, x_test, epochs=epochs)

    return run


def _measured(function) -> dict[str, Any]:
    """Runs ``function``; adds the load and the other processes' cores."""
    load = os.getloadavg()[0]
    start = _snapshot()
    try:
        value = function()
    except Exception as error:  # one failed training does not stop the rest
        log(f"  FAILED: {error!r}")
        value = {"error": repr(error), "traceback": traceback.format_exc()}
    value["load_average_before"] = load
    value["other_processes_cores"] = _other_cores(start, _snapshot())
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="the runs, as JSON")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    spec = json.loads(args.spec)
    backend = spec["backend"]
    started = time.perf_counter()

    import keras

    import aelib
    from aebench import aelib_vae

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"this worker is for {backend} but Keras runs on "
            f"{keras.backend.backend()}: set KERAS_BACKEND={backend}."
        )
    out: dict[str, Any] = {
        "backend": backend,
        "keras": keras.__version__,
        "usable_cores": usable_cores(),
        "pid": os.getpid(),
        "runs": {},
    }
    dataset = aelib.load_fashion_mnist(verbose=False)
    out["startup_seconds"] = time.perf_counter() - started
    plain = plain_runner(backend)
    for run in spec["runs"]:
        model, epochs = run["model"], run["epochs"]
        data = dataset.subset(num_train=run["num_train"], num_test=run["num_test"])
        entry: dict[str, Any] = {
            "model": model,
            "epochs": epochs,
            "batch_size": BATCH_SIZE,
            "num_train": data.num_train,
            "num_test": data.num_test,
        }
        out["runs"][model] = entry
        log(f"{backend}: plain {model}, {epochs} epochs on {data.num_train} images")
        entry["plain"] = _measured(
            lambda m=model, d=data, e=epochs: plain(m, d.x_train, d.x_test, e)
        )
        write_json(out, args.output)
        log(f"{backend}: aelib {model}, {epochs} epochs on {data.num_train} images")

        def train_aelib(model=model, data=data, epochs=epochs):
            vae = aelib_vae.build(model)
            flops = aelib_vae.counted_training_flops(vae)
            result = aelib_vae.train_aelib(
                vae, data, epochs, BATCH_SIZE, flops, elbo=False
            )
            result["architecture"] = aelib_vae.describe(model)
            return result

        entry["aelib"] = _measured(train_aelib)
        write_json(out, args.output)
        if spec.get("jit_compile"):
            # aelib compiled with jit_compile=True (torch.compile on PyTorch).
            log(f"{backend}: aelib {model} with jit_compile=True")

            def train_jit(model=model, data=data, epochs=epochs):
                vae = aelib_vae.build(model)
                vae.compile(jit_compile=True)
                result = aelib_vae.train_aelib(
                    vae, data, epochs, BATCH_SIZE, None, elbo=False
                )
                result["architecture"] = aelib_vae.describe(model)
                return result

            entry["aelib_jit"] = _measured(train_jit)
            write_json(out, args.output)
    out["wall_seconds"] = time.perf_counter() - started
    write_json(out, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
