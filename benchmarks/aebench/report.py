"""The targets, judged from one run's results, and ``results.md``.

Every target is a ratio or a limit measured in the same run, and gets
``pass``, ``fail`` or ``not measured`` (with the reason). The old target of 60%
of the matmul roofline is retired: TensorFlow's own forward and backward
passes reach only about 0.57 of it at batch 128. What counts instead is the
ratio to the plain implementations measured in the same run
(:mod:`aebench.backends`): on each backend aelib should be at least as fast
as the same model written plainly in that framework.
"""

from __future__ import annotations

from typing import Any

from aebench.core import GB, MB, Measurement, fmt, usable
from aebench.machine import BUSY_SHARE

DESCRIPTIONS = {
    "throughput_vs_torch": (
        "aelib MLP VAE training throughput / PyTorch baseline's >= 1.25"
    ),
    "test_loss_vs_torch": "aelib test loss / PyTorch baseline's test loss <= 1.00",
    "iwae_seconds": "IWAE k=1,000 on 1,000 test images < 30 s",
    "book_seconds": "whole book (sum of notebooks) < 300 s",
    "notebook_seconds": "every notebook < 90 s",
    "notebook_memory": "every notebook's peak RSS < 3 GB",
}


def _target(status: str, measured: Any, threshold: str, note: str = "") -> dict:
    return {
        "status": status,
        "measured": measured,
        "threshold": threshold,
        "note": note,
    }


def _status(passed: bool) -> str:
    return "pass" if passed else "fail"


def _backend_targets(results: dict[str, Any], why: str) -> dict[str, Any]:
    """aelib / plain on each backend >= 1, and aelib's best / the best plain."""
    from aebench.backends import LABELS, PLAIN

    targets: dict[str, Any] = {}
    section = usable(results.get("backends"))
    if not section:
        for model in LABELS:
            targets[f"{model}_aelib_vs_best_plain"] = _target(
                "not measured", None, ">= 1.00", why
            ) | {
                "description": f"{LABELS[model]}: aelib's fastest backend / the "
                "fastest plain implementation >= 1.00"
            }
        return targets
    for model, summary in section["comparison"].items():
        for row in summary["rows"]:
            backend = row["backend"]
            key = f"{model}_aelib_vs_plain_{backend}"
            description = (
                f"{LABELS[model]} on {backend}: aelib images/s / "
                f"{PLAIN[backend]} >= 1.00"
            )
            if row["ratio"] is None:
                value = _target("not measured", None, ">= 1.00", "a training failed")
            else:
                note = (
                    f"{fmt(row['aelib_samples_per_second'], 0)} vs "
                    f"{fmt(row['plain_samples_per_second'], 0)} images/s"
                )
                value = _target(
                    _status(row["ratio"] >= 1.0), row["ratio"], ">= 1.00", note
                )
            targets[key] = value | {"description": description}
        key = f"{model}_aelib_vs_best_plain"
        description = (
            f"{LABELS[model]}: aelib's fastest backend / the fastest plain "
            "implementation >= 1.00"
        )
        if "best_aelib_vs_best_plain" in summary:
            ratio = summary["best_aelib_vs_best_plain"]
            note = (
                f"aelib on {summary['fastest_aelib']['backend']} vs "
                f"{PLAIN[summary['fastest_plain']['backend']]}"
            )
            value = _target(_status(ratio >= 1.0), ratio, ">= 1.00", note)
        else:
            value = _target("not measured", None, ">= 1.00", "no complete pair")
        targets[key] = value | {"description": description}
    return targets


def judge(results: dict[str, Any], skipped: dict[str, str]) -> dict[str, Any]:
    """Judges every target: pass, fail, or not measured."""

    def missing(section: str) -> str:
        if section in skipped:
            return skipped[section]
        value = results.get(section)
        if isinstance(value, dict) and "error" in value:
            return f"{section} failed: {value['error']}"
        return f"{section} not run"

    targets: dict[str, Any] = {}
    mlp, torch_result = (
        usable(results.get("aelib_mlp_vae")),
        usable(results.get("torch_baseline")),
    )
    iwae, books = usable(results.get("iwae")), usable(results.get("notebooks"))

    key = "throughput_vs_torch"
    if mlp and torch_result:
        ratio = mlp["samples_per_second"] / torch_result["samples_per_second"]
        targets[key] = _target(_status(ratio >= 1.25), ratio, ">= 1.25")
    else:
        why = missing("aelib_mlp_vae") if not mlp else missing("torch_baseline")
        targets[key] = _target("not measured", None, ">= 1.25", why)

    key = "test_loss_vs_torch"
    if mlp and torch_result:
        ratio = mlp["test_loss"] / torch_result["test_loss"]
        note = (
            f"aelib {mlp['test_loss']:.2f} vs PyTorch "
            f"{torch_result['test_loss']:.2f} per image"
        )
        targets[key] = _target(_status(ratio <= 1.0), ratio, "<= 1.00", note)
    else:
        why = missing("aelib_mlp_vae") if not mlp else missing("torch_baseline")
        targets[key] = _target("not measured", None, "<= 1.00", why)

    key = "iwae_seconds"
    if iwae:
        targets[key] = _target(_status(iwae["seconds"] < 30), iwae["seconds"], "< 30")
    else:
        targets[key] = _target("not measured", None, "< 30", missing("iwae"))

    if books and books["notebooks"]:
        total = books["total_seconds"]
        worst = books["max_seconds"]
        memory = books["max_peak_rss_mb"]
        failed = [r["notebook"] for r in books["notebooks"] if not r["ok"]]
        note = f"notebooks that raised: {failed}" if failed else ""
        targets["book_seconds"] = _target(
            _status(total < 300 and not failed), total, "< 300", note
        )
        targets["notebook_seconds"] = _target(
            _status(worst < 90 and not failed), worst, "< 90 (each)", note
        )
        targets["notebook_memory"] = _target(
            _status(memory < 3 * GB / MB), memory, "< 3000 MB (each)"
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
        value["description"] = DESCRIPTIONS[key]
    return {**_backend_targets(results, missing("backends")), **targets}


MACHINE_KEYS = [
    "date",
    "cpu_model",
    "logical_cores",
    "usable_cores",
    "ram_gb",
    "load_average_at_start",
    "load_average_at_end",
    "busiest_section_other_cores",
    "python",
    "tensorflow",
    "keras",
    "numpy",
    "jax",
    "optax",
    "torch",
    "aelib",
]


def _header(results: dict[str, Any]) -> list[str]:
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
            f"used more than {BUSY_SHARE:.0%} of the cores during a section: up "
            f"to {machine.get('busiest_section_other_cores', 0):.2f} of "
            f"{machine.get('usable_cores')} cores; see "
            "other_processes_cores_per_section in results.json): the timings are "
            "not representative.**",
            "",
        ]
    lines += ["## Machine", "", "| item | value |", "| --- | --- |"]
    for key in MACHINE_KEYS:
        value = machine.get(key)
        if isinstance(value, list):
            value = ", ".join(f"{v:.2f}" for v in value)
        elif isinstance(value, float):
            value = round(value, 2)
        lines.append(f"| {key} | {fmt(value)} |")
    git = machine.get("git") or {}
    lines.append(f"| git commit | {git.get('commit')} (dirty: {git.get('dirty')}) |")
    data = results.get("data", {})
    lines += [f"| data | {data.get('source', '-')} |", ""]
    lines += ["## Targets", "", "| target | measured | threshold | status | note |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for value in results.get("targets", {}).values():
        lines.append(
            f"| {value['description']} | {fmt(value['measured'], 3)} | "
            f"{value['threshold']} | **{value['status']}** | {value['note']} |"
        )
    return [*lines, ""]


def training_table(rows: list[tuple[str, Any]]) -> list[str]:
    """The training table: one row per (label, result) of the training rows."""
    lines = [
        "## Training in this process (batch 128)",
        "",
        "| model | images/s | median epoch (s) | first epoch (s) | "
        "MFLOP/image | GFLOP/s | fraction of roofline | test loss | "
        "test -ELBO, aelib.evaluate |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
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
            f"| {label} | {fmt(value['samples_per_second'], 0)} | "
            f"{fmt(value['median_epoch_seconds'], 2)} | "
            f"{fmt(value['epoch_seconds'][0], 2)} | "
            f"{fmt(flops / 1e6 if flops else None, 2)} | "
            f"{fmt(value.get('achieved_gflops'))} | "
            f"{fmt(value.get('roofline_fraction'), 3)} | "
            f"{fmt(value.get('test_loss'), 2)} | "
            f"{fmt(value.get('test_negative_elbo'), 2)} |"
        )
    return [*lines, ""]


def markdown(results: dict[str, Any], measurements: list[Measurement]) -> str:
    """``results.md``: machine, targets, then each measurement's section.

    The rows that measurements give for the training table go into one table,
    placed where the first of them would have its section.
    """
    lines = _header(results)
    rows = [
        row
        for measurement in measurements
        if measurement.training_rows
        for row in measurement.training_rows(results)
    ]
    placed = False
    for measurement in measurements:
        if measurement.training_rows and not placed and rows:
            lines += training_table(rows)
            placed = True
        # a run with --only has results for some measurements only
        section = results.get(measurement.key)
        if measurement.markdown and section and "skipped" not in section:
            lines += measurement.markdown(results)
    return "\n".join(lines)
