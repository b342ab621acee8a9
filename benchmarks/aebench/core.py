"""What every measurement shares: the run's context, the registry entry, helpers.

A measurement is a :class:`Measurement`: a key (its section of
``results.json``), the settings it adds for a quick and for a full run, the
function that measures (it gets the :class:`Context` and returns a JSON-ready
dictionary) and, optionally, its section of ``results.md`` and its rows of the
shared training table. :func:`guarded` runs one measurement, so that an error
is recorded and the run goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "book"
BENCHMARKS = REPO / "benchmarks"

GB = 1e9  # the memory target's "3 GB" is read as 3 * 10^9 bytes
MB = 1e6
BATCH_SIZE = 128

# The dense layers of VAE(latent_dim=20, hidden_units=(400,)) on 28x28 images:
# (inputs, outputs) of each matrix product. The two encoder heads are separate
# Dense layers of 400 -> 20.
MLP_LAYERS = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]
MLP_MACS_PER_SAMPLE = sum(n_in * n_out for n_in, n_out in MLP_LAYERS)
# Forward: 2 flops per multiply-add. Training: forward + backward ~ 3x forward
# (the backward pass needs two products per layer: one for the gradient of the
# weights and one for the gradient of the layer's input).
MLP_TRAIN_FLOPS_PER_SAMPLE = 3 * 2 * MLP_MACS_PER_SAMPLE


def log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


def median_steady(epoch_seconds: list[float]) -> tuple[float, int]:
    """Median epoch time over epochs 2..n (epoch 1 includes tracing)."""
    steady = epoch_seconds[1:] or epoch_seconds
    return float(np.median(steady)), len(steady)


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a markdown table: thousands separators, ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def usable(value: Any) -> dict | None:
    """``value`` if it is a measured section (no error, not skipped), else None."""
    if isinstance(value, dict) and not {"error", "skipped"} & value.keys():
        return value
    return None


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


@dataclasses.dataclass
class Context:
    """What a measurement may read and leave for the ones after it.

    Attributes:
        args: the parsed command line.
        settings: the run's settings (``results["settings"]``), including
            every measurement's own.
        results: everything measured so far, keyed by measurement.
        dataset: the Fashion-MNIST :class:`aelib.Dataset` (a subset with
            ``--quick``).
        shared: objects passed between measurements, such as the trained MLP
            VAE that the IWAE measurement evaluates.
        skipped: measurement key -> why it did not run (for the targets).
    """

    args: Any
    settings: dict[str, Any]
    results: dict[str, Any]
    dataset: Any = None
    shared: dict[str, Any] = dataclasses.field(default_factory=dict)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def quick(self) -> bool:
        return bool(self.settings["quick"])


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One entry of the registry (:data:`aebench.__main__.MEASUREMENTS`).

    Attributes:
        key: the measurement's section in ``results.json``.
        run: measures; returns a JSON-ready dictionary.
        settings: ``settings(quick)``, the measurement's settings, merged
            into ``results["settings"]`` before anything runs.
        skip: ``skip(context)``, a reason not to run (``None``: run).
        markdown: ``markdown(results)``, its section of ``results.md``.
        training_rows: ``training_rows(results)``, ``(label, result)`` rows
            for the training table of ``results.md``.
        add_arguments: ``add_arguments(parser)``, its command-line options.
        cli_name: the name ``--only`` knows it by (default: ``key``).
    """

    key: str
    run: Callable[[Context], dict[str, Any]]
    settings: Callable[[bool], dict[str, Any]] = lambda quick: {}
    skip: Callable[[Context], str | None] = lambda context: None
    markdown: Callable[[dict[str, Any]], list[str]] | None = None
    training_rows: Callable[[dict[str, Any]], list[tuple[str, Any]]] | None = None
    add_arguments: Callable[[Any], None] | None = None
    cli_name: str | None = None

    @property
    def name(self) -> str:
        return self.cli_name or self.key


def guarded(context: Context, key: str, function: Callable[[], Any]) -> Any:
    """Runs one section; on error records the traceback instead of stopping.

    Also records the 1-minute load average before the section and the cores
    other processes used during it (:class:`aebench.machine.CpuAccount`).
    """
    from aebench.machine import CPU, CpuAccount

    results = context.results
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
