"""The wall time and peak memory of every notebook of the book, each in a fresh kernel.

Every notebook listed in ``_toc.yml``, in its order, executed with nbclient
in a fresh kernel with ``book/`` as working directory (only cells tagged
``raises-exception`` may raise). A thread adds up the resident memory of the
kernel and its child processes every 0.2 s. The executed notebooks stay in
memory: nothing is written into the repository.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psutil

from aebench.core import BOOK, MB, REPO, Context, Measurement, fmt, log
from aebench.machine import CPU


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


def bench_notebooks(
    paths: list[Path], cell_timeout: int, toc: list[Path] | None = None
) -> dict[str, Any]:
    """Runs ``paths``; names the notebooks of ``book/`` not in ``toc``."""
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
    in_toc = {p.resolve() for p in (paths if toc is None else toc)}
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


def skip(context: Context) -> str | None:
    if context.args.skip_notebooks:
        return "notebooks skipped (--skip-notebooks)"
    return None


def run(context: Context) -> dict[str, Any]:
    toc = toc_notebooks(REPO / "_toc.yml")
    paths = toc[:1] if context.quick else toc
    return bench_notebooks(paths, context.args.cell_timeout, toc)


def markdown(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
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
                f"| {row['notebook']} | {fmt(row['seconds'])} | "
                f"{fmt(row['peak_rss_mb'], 0)} | {ok} |"
            )
        lines.append(
            f"| **total** | **{fmt(books['total_seconds'])}** | "
            f"max {fmt(books['max_peak_rss_mb'], 0)} | |"
        )
        if books["notebooks_in_book_not_in_toc"]:
            lines += [
                "",
                "Not in _toc.yml, not run: "
                + ", ".join(books["notebooks_in_book_not_in_toc"]),
            ]
        lines.append("")
    return lines


MEASUREMENT = Measurement(
    key="notebooks",
    run=run,
    settings=lambda quick: {"notebooks": "first only" if quick else "all in _toc.yml"},
    skip=skip,
    markdown=markdown,
)
