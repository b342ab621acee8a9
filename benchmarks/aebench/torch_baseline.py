"""The plain PyTorch MLP VAE in this process: the reference of two old targets.

:func:`aebench.plain_torch.run_plain` for the 784-400-20 VAE on the
benchmark's main data and epochs, with as many intra-op threads as usable
cores; and PyTorch's own matmul rate for the roofline sizes and for the
network's two largest products at batch 128 (``torch_matmul_gflops*``).
Runs only when ``import torch`` works and ``--skip-torch`` is not given.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from aebench.core import (
    BATCH_SIZE,
    MLP_TRAIN_FLOPS_PER_SAMPLE,
    Context,
    Measurement,
    log,
)


def skip(context: Context) -> str | None:
    if context.args.skip_torch:
        return "PyTorch baseline skipped (--skip-torch)"
    if importlib.util.find_spec("torch") is None:
        return "PyTorch not installed (pip install torch)"
    return None


def run(context: Context) -> dict[str, Any]:
    from aebench import plain_torch

    dataset, epochs = context.dataset, context.settings["epochs"]
    sizes = context.settings.get("matmul_sizes", [2048, 4096])
    repeats = context.settings.get("matmul_repeats", 5)
    log(f"PyTorch baseline: {epochs} epochs on {dataset.num_train} images")
    result = plain_torch.run_plain(
        "mlp", dataset.x_train, dataset.x_test, epochs=epochs, batch_size=BATCH_SIZE
    )
    achieved = MLP_TRAIN_FLOPS_PER_SAMPLE * result["samples_per_second"] / 1e9
    result["flops_per_sample"] = MLP_TRAIN_FLOPS_PER_SAMPLE
    result["achieved_gflops"] = achieved
    roof = context.shared.get("roofline_gflops")
    if roof:
        result["roofline_fraction"] = achieved / roof
    result["torch_matmul_gflops"] = {
        str(size): plain_torch.matmul_gflops(size, repeats) for size in sizes
    }
    # The network's own products, the shapes the roofline was read at.
    result["torch_matmul_gflops_network_shapes"] = {
        f"{m}x{k} @ {k}x{n}": plain_torch.product_gflops(m, k, n, repeats, calls=100)
        for m, k, n in [(BATCH_SIZE, 784, 400), (BATCH_SIZE, 400, 784)]
    }
    result["torch_matmul_best_gflops"] = max(
        list(result["torch_matmul_gflops"].values())
        + list(result["torch_matmul_gflops_network_shapes"].values())
    )
    return result


MEASUREMENT = Measurement(
    key="torch_baseline",
    run=run,
    skip=skip,
    training_rows=lambda results: [
        ("PyTorch baseline 784-400-20", results.get("torch_baseline"))
    ],
    cli_name="torch",
)
