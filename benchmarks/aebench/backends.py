"""Which backend is fastest: aelib on TensorFlow, JAX and PyTorch against plain code.

For each backend, one worker process (:mod:`aebench.worker`, with
``KERAS_BACKEND`` set, since Keras fixes its backend per process) trains two
models, each first written plainly in the backend's own framework and then
with aelib:

- the 784-400-20 MLP VAE, ``aelib.VAE(latent_dim=20, hidden_units=(400,))``;
- the convolutional VAE, the same with ``architecture="conv"`` and
  ``conv_filters=(32, 64)``.

The plain versions are a PyTorch ``nn.Module`` with an eager loop
(:mod:`aebench.plain_torch`), a ``jax.jit`` step with optax
(:mod:`aebench.plain_jax`) and TensorFlow by hand, one ``tf.function`` per
epoch with the fused Adam kernel (:mod:`aebench.plain_tf`). Same maths
(Bernoulli decoder from logits, closed-form KL, sum over pixels, mean over
the batch, Adam 1e-3), same Fashion-MNIST images, same epochs, batch 128.

Reported per model and backend: images per second (training images over the
median epoch after the first), the test loss after the same epochs (mean
one-sample negative ELBO per test image, binary cross-entropy per image plus
KL), and the ratio aelib / plain; per model, the fastest backend and the ratio
of aelib's fastest to the fastest plain implementation.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from aebench.core import BENCHMARKS, Context, Measurement, fmt, log, usable

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = ("mlp", "conv")
LABELS = {
    "mlp": "MLP VAE 784-400-20",
    "conv": "conv VAE (32, 64; 400; 20)",
}
PLAIN = {
    "tensorflow": "TensorFlow by hand",
    "jax": "jax.jit + optax",
    "torch": "PyTorch nn.Module loop",
}
_NEEDS = {"tensorflow": ("tensorflow",), "jax": ("jax", "optax"), "torch": ("torch",)}


def add_arguments(parser) -> None:
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated Keras backends of the per-backend comparison "
        "(default: tensorflow,jax,torch)",
    )
    parser.add_argument(
        "--torch-compile",
        action="store_true",
        help="per-backend comparison: also train aelib on PyTorch with "
        "jit_compile=True (torch.compile; minutes of compilation per model)",
    )
    parser.add_argument(
        "--conv-images",
        type=int,
        default=None,
        help="training images of the conv VAE in the per-backend comparison "
        "(default: 5,000; 256 with --quick)",
    )


def settings(quick: bool) -> dict[str, Any]:
    return {
        "backend_runs": {
            "mlp": {
                "epochs": 2 if quick else 10,
                "num_train": 2000 if quick else None,
                "num_test": 500 if quick else None,
            },
            "conv": {
                "epochs": 2 if quick else 3,
                "num_train": 256 if quick else 5_000,
                "num_test": 256 if quick else 1_000,
            },
        }
    }


def missing_packages(backend: str) -> list[str]:
    return [name for name in _NEEDS[backend] if importlib.util.find_spec(name) is None]


def run_worker(
    backend: str, runs: list[dict[str, Any]], jit_compile: bool = False
) -> dict[str, Any]:
    """Runs :mod:`aebench.worker` for ``backend`` in a fresh process."""
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(BENCHMARKS), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    spec = json.dumps({"backend": backend, "runs": runs, "jit_compile": jit_compile})
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "worker.json"
        command = [sys.executable, "-m", "aebench.worker", "--spec", spec]
        process = subprocess.run(
            [*command, "--output", str(output)], env=env, check=False
        )
        result = json.loads(output.read_text()) if output.exists() else {}
    result["returncode"] = process.returncode
    if process.returncode != 0:
        result.setdefault("error", f"worker exited with code {process.returncode}")
    return result


def compare(workers: dict[str, Any]) -> dict[str, Any]:
    """The table: per model and backend, aelib and plain throughput and loss."""
    comparison: dict[str, Any] = {}
    for model in MODELS:
        rows = []
        for backend, worker in workers.items():
            entry = (worker.get("runs") or {}).get(model)
            if not entry:
                continue
            aelib_run, plain_run = (
                usable(entry.get("aelib")),
                usable(entry.get("plain")),
            )
            row: dict[str, Any] = {
                "backend": backend,
                "aelib_samples_per_second": None,
                "plain_samples_per_second": None,
                "aelib_test_loss": None,
                "plain_test_loss": None,
                "ratio": None,
            }
            if aelib_run:
                row["aelib_samples_per_second"] = aelib_run["samples_per_second"]
                row["aelib_test_loss"] = aelib_run.get("test_loss")
                row["aelib_first_epoch_seconds"] = aelib_run["epoch_seconds"][0]
            if plain_run:
                row["plain_samples_per_second"] = plain_run["samples_per_second"]
                row["plain_test_loss"] = plain_run.get("test_loss")
                row["plain_first_epoch_seconds"] = plain_run["epoch_seconds"][0]
            if aelib_run and plain_run:
                row["ratio"] = (
                    aelib_run["samples_per_second"] / plain_run["samples_per_second"]
                )
            jit_run = usable(entry.get("aelib_jit"))
            if jit_run:
                row["aelib_jit_samples_per_second"] = jit_run["samples_per_second"]
                row["aelib_jit_test_loss"] = jit_run.get("test_loss")
                row["aelib_jit_first_epoch_seconds"] = jit_run["epoch_seconds"][0]
                if plain_run:
                    row["aelib_jit_ratio"] = (
                        jit_run["samples_per_second"] / plain_run["samples_per_second"]
                    )
            row["other_processes_cores"] = max(
                (entry.get(k) or {}).get("other_processes_cores", 0.0)
                for k in ("aelib", "plain", "aelib_jit")
            )
            rows.append(row)
        summary: dict[str, Any] = {"rows": rows}
        for side in ("aelib", "plain"):
            measured = [r for r in rows if r[f"{side}_samples_per_second"]]
            if measured:
                best = max(measured, key=lambda r: r[f"{side}_samples_per_second"])
                summary[f"fastest_{side}"] = {
                    "backend": best["backend"],
                    "samples_per_second": best[f"{side}_samples_per_second"],
                }
        if "fastest_aelib" in summary and "fastest_plain" in summary:
            best_plain = summary["fastest_plain"]["samples_per_second"]
            summary["best_aelib_vs_best_plain"] = (
                summary["fastest_aelib"]["samples_per_second"] / best_plain
            )
            for row in rows:
                if row["aelib_samples_per_second"]:
                    row["aelib_vs_best_plain"] = (
                        row["aelib_samples_per_second"] / best_plain
                    )
        comparison[model] = summary
    return comparison


def run(context: Context) -> dict[str, Any]:
    wanted = [b.strip() for b in context.args.backends.split(",") if b.strip()]
    unknown = sorted(set(wanted) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backends {unknown}; choose from {BACKENDS}")
    runs_settings = context.settings["backend_runs"]
    if context.args.conv_images:
        runs_settings["conv"]["num_train"] = context.args.conv_images
    runs = [{"model": model, **runs_settings[model]} for model in MODELS]
    workers: dict[str, Any] = {}
    for backend in wanted:
        missing = missing_packages(backend)
        if missing:
            workers[backend] = {"skipped": f"not installed: {', '.join(missing)}"}
            log(f"backend {backend}: skipped ({workers[backend]['skipped']})")
            continue
        log(f"backend {backend}: worker process, load {os.getloadavg()[0]:.2f}")
        jit = backend == "torch" and context.args.torch_compile
        workers[backend] = run_worker(backend, runs, jit_compile=jit)
    return {
        "runs": runs,
        "workers": workers,
        "comparison": compare(workers),
        "definition": (
            "images/s: training images / median epoch time over epochs 2..n; "
            "test loss: mean one-sample negative ELBO per test image after the "
            "same epochs; ratio: aelib images/s / plain images/s on the same "
            "backend, in the same worker process"
        ),
    }


def markdown(results: dict[str, Any]) -> list[str]:
    section = results.get("backends")
    if not section:
        return []
    lines = ["## Per backend: aelib against the same model written plainly", ""]
    if "error" in section or "skipped" in section:
        return [
            *lines,
            f"Not measured: {section.get('error', section.get('skipped'))}",
            "",
        ]
    runs = {run["model"]: run for run in section["runs"]}
    lines += [
        "| model | backend | aelib images/s | plain images/s | aelib / plain | "
        "aelib / best plain | test loss aelib | test loss plain |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model, summary in section["comparison"].items():
        for row in summary["rows"]:
            backend = row["backend"]
            lines.append(
                f"| {LABELS[model]} | {backend} (plain: {PLAIN[backend]}) | "
                f"{fmt(row['aelib_samples_per_second'], 0)} | "
                f"{fmt(row['plain_samples_per_second'], 0)} | "
                f"**{fmt(row['ratio'], 2)}** | "
                f"{fmt(row.get('aelib_vs_best_plain'), 2)} | "
                f"{fmt(row['aelib_test_loss'], 2)} | "
                f"{fmt(row['plain_test_loss'], 2)} |"
            )
    lines.append("")
    for model, summary in section["comparison"].items():
        run = runs[model]
        images = run["num_train"] or "all"
        if isinstance(images, int):
            images = f"{images:,}"
        text = f"{LABELS[model]} ({run['epochs']} epochs on {images} images): "
        if "fastest_aelib" in summary:
            best = summary["fastest_aelib"]
            text += (
                f"aelib is fastest on **{best['backend']}** "
                f"({fmt(best['samples_per_second'], 0)} images/s)"
            )
        if "fastest_plain" in summary:
            best = summary["fastest_plain"]
            text += (
                f"; the fastest plain implementation is {PLAIN[best['backend']]} "
                f"({fmt(best['samples_per_second'], 0)} images/s)"
            )
        if "best_aelib_vs_best_plain" in summary:
            text += f"; ratio {summary['best_aelib_vs_best_plain']:.2f}"
        lines += [f"- {text}."]
    for model, summary in section["comparison"].items():
        for row in summary["rows"]:
            if "aelib_jit_samples_per_second" not in row:
                continue
            lines += [
                f"- {LABELS[model]} on {row['backend']}, aelib compiled with "
                "`jit_compile=True` (not the default): "
                f"{fmt(row['aelib_jit_samples_per_second'], 0)} images/s, "
                f"{fmt(row.get('aelib_jit_ratio'), 2)} times the plain version; "
                f"first epoch {fmt(row['aelib_jit_first_epoch_seconds'], 0)} s "
                f"(compilation) against {fmt(row.get('aelib_first_epoch_seconds'), 0)}"
                " s without; test loss "
                f"{fmt(row.get('aelib_jit_test_loss'), 2)}."
            ]
    skipped = [
        f"{backend}: {worker.get('skipped') or worker.get('error')}"
        for backend, worker in section["workers"].items()
        if "skipped" in worker or "error" in worker
    ]
    if skipped:
        lines += [f"- Not measured or failed: {'; '.join(skipped)}."]
    lines += [
        "",
        "Images/s: training images over the median epoch after the first (the "
        "first also compiles). Test loss: binary cross-entropy per image plus "
        "KL, one sample of z per test image, after the same epochs. Each "
        "backend runs in its own process, plain version first; the ratios "
        "compare runs of the same process a few seconds apart.",
        "",
    ]
    return lines


MEASUREMENT = Measurement(
    key="backends",
    run=run,
    settings=settings,
    markdown=markdown,
    add_arguments=add_arguments,
)
