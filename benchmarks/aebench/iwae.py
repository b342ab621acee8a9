"""The importance-weighted bound with k = 1,000 on 1,000 test images: its time.

Wall time of ``aelib.evaluate.iwae_log_likelihood(model, x_test[:1000],
num_samples=1000)`` on the MLP VAE that :mod:`aebench.aelib_vae` trained, and
the mean estimate of log p(x).
"""

from __future__ import annotations

import time
from typing import Any

import aelib
from aebench.core import Context, Measurement, log


def settings(quick: bool) -> dict[str, Any]:
    return {
        "iwae_images": 100 if quick else 1000,
        "iwae_samples": 10 if quick else 1000,
    }


def skip(context: Context) -> str | None:
    if "mlp_model" not in context.shared:
        return "no trained MLP VAE (its training failed or did not run)"
    return None


def run(context: Context) -> dict[str, Any]:
    model = context.shared["mlp_model"]
    x = context.dataset.x_test[: context.settings["iwae_images"]]
    num_samples = context.settings["iwae_samples"]
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


def markdown(results: dict[str, Any]) -> list[str]:
    iwae = results.get("iwae")
    if not iwae or "error" in iwae or "skipped" in iwae:
        return []
    return [
        "## IWAE",
        "",
        f"k = {iwae['num_samples']:,} on {iwae['num_images']:,} test images: "
        f"**{iwae['seconds']:.2f} s**, mean log p(x) estimate "
        f"{iwae['mean_log_likelihood']:.2f} nats.",
        "",
    ]


MEASUREMENT = Measurement(
    key="iwae", run=run, settings=settings, skip=skip, markdown=markdown
)
