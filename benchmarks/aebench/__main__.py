"""Measures aelib's speed, accuracy and the book's cost in one run.

Run from the repository root::

    .venv/bin/python benchmarks/run_benchmarks.py            # the full run
    .venv/bin/python benchmarks/run_benchmarks.py --quick    # a smoke run

It measures, on the same data, the sections of :data:`MEASUREMENTS` in order:

1. per backend, aelib's MLP and conv VAEs on TensorFlow, JAX and PyTorch
   against the same models written plainly in each framework, each backend
   in its own process (:mod:`aebench.backends`);
2. the float32 matrix-product roofline of this machine and an upper bound on
   one training step (:mod:`aebench.roofline`);
3. aelib's MLP VAE (784-400-20) trained on full Fashion-MNIST for 10 epochs at
   batch 128 (:mod:`aebench.aelib_vae`), and the same step written by hand in
   TensorFlow, with and without the weight update (:mod:`aebench.tf_reference`);
4. aelib's convolutional VAE;
5. the time of the importance-weighted bound with k = 1,000 on 1,000 images
   (:mod:`aebench.iwae`);
6. the same MLP VAE in plain PyTorch (:mod:`aebench.torch_baseline`);
7. the wall time and peak memory of every notebook of the book, each in a
   fresh kernel (:mod:`aebench.notebooks`).

It writes ``results.json`` and ``results.md`` (markdown tables) into
``--output-dir`` and judges each target as pass, fail or not measured
(:mod:`aebench.report`). See ``benchmarks/README.md``. Not part of
``make test``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path
from typing import Any

import aebench  # noqa: F401  (sets the environment before Keras is imported)
from aebench import (
    aelib_vae,
    backends,
    iwae,
    notebooks,
    roofline,
    tf_reference,
    torch_baseline,
)
from aebench.core import (
    BATCH_SIZE,
    MB,
    REPO,
    Context,
    Measurement,
    fmt,
    guarded,
    log,
    write_json,
)
from aebench.machine import judge_busy, machine_info
from aebench.report import judge, markdown

MEASUREMENTS: list[Measurement] = [
    backends.MEASUREMENT,
    roofline.MEASUREMENT,
    aelib_vae.MLP,
    tf_reference.MEASUREMENT,
    aelib_vae.CONV,
    iwae.MEASUREMENT,
    torch_baseline.MEASUREMENT,
    notebooks.MEASUREMENT,
]
"""Every measurement, in the order it runs and appears in ``results.md``."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run_benchmarks.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run with tiny sizes (2 epochs on 5,000 images, IWAE k=10 on "
        "100 images, small matmuls, small per-backend runs, only the first "
        "notebook)",
    )
    parser.add_argument(
        "--skip-notebooks", action="store_true", help="do not execute the book"
    )
    parser.add_argument(
        "--skip-torch",
        action="store_true",
        help="do not run the in-process PyTorch baseline even if torch is installed",
    )
    names = [m.name for m in MEASUREMENTS]
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated measurements to run, of: {','.join(names)} "
        "(default: all)",
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
    for measurement in MEASUREMENTS:
        if measurement.add_arguments:
            measurement.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.only:
        args.only = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown measurements {unknown}; choose from {names}")
    return args


def settings_for(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    settings: dict[str, Any] = {
        "quick": quick,
        "epochs": 2 if quick else 10,
        "batch_size": BATCH_SIZE,
        "num_train": 5000 if quick else None,  # None: the full training set
        "num_test": 1000 if quick else None,
    }
    for measurement in MEASUREMENTS:
        settings.update(measurement.settings(quick))
    settings.update(
        {
            "only": args.only,
            "skip_notebooks": args.skip_notebooks,
            "skip_torch": args.skip_torch,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        }
    )
    return settings


def load_data(context: Context) -> None:
    import aelib

    log("data: aelib.load_fashion_mnist(verbose=False)")
    dataset = aelib.load_fashion_mnist(verbose=False)
    full = {"num_train": dataset.num_train, "num_test": dataset.num_test}
    if context.quick:
        dataset = dataset.subset(
            num_train=context.settings["num_train"],
            num_test=context.settings["num_test"],
            seed=0,
        )
    context.dataset = dataset
    context.results["data"] = {
        "name": dataset.name,
        "source": dataset.source,
        "full_size": full,
        "num_train": dataset.num_train,
        "num_test": dataset.num_test,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    context = Context(args=args, settings=settings_for(args), results={})
    context.results["settings"] = context.settings
    json_path = args.output_dir / "results.json"
    md_path = args.output_dir / "results.md"

    def save() -> None:
        context.results["targets"] = judge(context.results, context.skipped)
        write_json(context.results, json_path)

    log("machine")
    context.results["machine"] = machine_info()
    log(f"  {context.results['machine']['cpu_model']}, load {os.getloadavg()[0]:.2f}")
    load_data(context)
    save()

    for measurement in MEASUREMENTS:
        reason = measurement.skip(context)
        if args.only is not None and measurement.name not in args.only:
            reason = "not selected (--only)"
        if reason:
            context.skipped[measurement.key] = reason
            context.results[measurement.key] = {"skipped": reason}
        else:
            guarded(context, measurement.key, lambda m=measurement: m.run(context))
        save()

    judge_busy(context.results)
    machine = context.results["machine"]
    if machine["busy"]:
        busiest = machine["busiest_section_other_cores"]
        log(
            f"WARNING: other processes used {busiest:.2f} cores during a section, "
            f"on {machine['usable_cores']} cores: the "
            "timings are not representative."
        )
    context.results["benchmark_process_peak_rss_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    )
    save()
    md_path.write_text(markdown(context.results, MEASUREMENTS) + "\n", encoding="utf-8")
    log(f"wrote {json_path} and {md_path}")
    for key, value in context.results["targets"].items():
        log(f"  {key}: {value['status']} ({fmt(value['measured'], 3)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
