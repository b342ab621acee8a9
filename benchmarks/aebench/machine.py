"""The machine: what it is, how loaded it was, and the busy flag.

The load average cannot tell the benchmark's own threads from other work, so
it flags every run. :class:`CpuAccount` measures instead the CPU time of the
whole machine minus that of the benchmark and its child processes (notebook
kernels, per-backend workers); a run is **busy** when that exceeded
:data:`BUSY_SHARE` of the usable cores during any section.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from aebench.core import GB, REPO

BUSY_SHARE = 0.10
"""A run is busy when other processes took more than this share of the cores."""


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class CpuAccount:
    """CPU time used by other processes than this benchmark, in cores.

    The CPU time of the whole machine (from ``/proc/stat`` through psutil)
    minus that of this process and its children (the notebook kernels and the
    per-backend workers, also sampled while they run, in case one is never
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


def _version(module: str) -> str | None:
    """The version of an installed package, without importing it."""
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    import keras
    import numpy as np
    import tensorflow as tf

    import aelib

    return {
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
        "torch": _version("torch"),
        "jax": _version("jax"),
        "optax": _version("optax"),
        "aelib": aelib.__version__,
        "git": git_state(),
    }


def judge_busy(results: dict[str, Any]) -> None:
    """Sets ``machine.busy`` from the cores other processes used per section."""
    machine = results["machine"]
    machine["load_average_at_end"] = list(os.getloadavg())
    other = results.get("other_processes_cores_per_section", {})
    busiest = max(other.values(), default=0.0)
    cores = machine["usable_cores"]
    machine["busy"] = busiest > BUSY_SHARE * cores
    machine["busiest_section_other_cores"] = busiest
    machine["busy_definition"] = (
        f"other processes used more than {BUSY_SHARE:.0%} of the {cores} usable "
        "cores during a section (other_processes_cores_per_section)"
    )
