"""A plain PyTorch VAE: the reference point of the performance targets.

The network has the shape of the classic PyTorch VAE example, written here from
its description:

- encoder: 784 -> 400 (ReLU), then two linear heads 400 -> 20 for the mean and
  the log-variance of q(z|x);
- decoder: 20 -> 400 (ReLU) -> 784 logits of a Bernoulli likelihood;
- loss per image: binary cross-entropy from the logits summed over the 784
  pixels, plus the closed-form KL divergence to N(0, I) summed over the 20
  latent dimensions; each step minimises the mean over its batch;
- Adam with learning rate 1e-3, batch 128, data reshuffled every epoch.

It trains on the NumPy arrays that aelib's loader returns, so both sides see
exactly the same images. Only :mod:`benchmarks.run_benchmarks` imports this
module, and only when PyTorch is installed: it is not a dependency of aelib and
not part of ``make test``.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MlpVae", "matmul_gflops", "product_gflops", "run_baseline"]


class MlpVae(nn.Module):
    """784-400-20 VAE with a Gaussian posterior and a Bernoulli decoder."""

    def __init__(self, pixels: int = 784, hidden: int = 400, latent: int = 20):
        super().__init__()
        self.encoder_hidden = nn.Linear(pixels, hidden)
        self.head_mean = nn.Linear(hidden, latent)
        self.head_log_var = nn.Linear(hidden, latent)
        self.decoder_hidden = nn.Linear(latent, hidden)
        self.decoder_logits = nn.Linear(hidden, pixels)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = F.relu(self.encoder_hidden(x))
        return self.head_mean(hidden), self.head_log_var(hidden)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder_logits(F.relu(self.decoder_hidden(z)))

    def negative_elbo(self, x: torch.Tensor) -> torch.Tensor:
        """One-sample negative ELBO of each image in nats, shape (batch,)."""
        mean, log_var = self.posterior(x)
        noise = torch.randn_like(mean)
        z = mean + torch.exp(0.5 * log_var) * noise
        logits = self.decode_logits(z)
        reconstruction = F.binary_cross_entropy_with_logits(
            logits, x, reduction="none"
        ).sum(dim=1)
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)
        return reconstruction + kl


def _as_rows(images: np.ndarray) -> torch.Tensor:
    """(n, 28, 28) float images -> contiguous float32 tensor of shape (n, 784)."""
    flat = np.ascontiguousarray(images.reshape(images.shape[0], -1), np.float32)
    return torch.from_numpy(flat)


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_baseline(
    x_train: np.ndarray,
    x_test: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    num_threads: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Trains the baseline and returns its timings and test loss.

    Args:
        x_train: training images in [0, 1], shape (n, 28, 28) or (n, 784).
        x_test: test images in [0, 1].
        epochs: passes over ``x_train``.
        batch_size: images per optimiser step.
        learning_rate: Adam's step size.
        num_threads: PyTorch intra-op threads (default: the cores this
            process may run on).
        seed: seeds the initial weights, the shuffling and the noise.

    Returns:
        A dictionary with the per-epoch wall times, the throughput (training
        images per second from the median epoch after the first), the mean
        training loss of each epoch and the test loss (mean one-sample
        negative ELBO per test image, in nats).
    """
    threads = num_threads or _default_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    shuffler = torch.Generator().manual_seed(seed)

    train = _as_rows(x_train)
    test = _as_rows(x_test)
    model = MlpVae(pixels=train.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    epoch_seconds: list[float] = []
    train_loss: list[float] = []
    count = train.shape[0]
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(count, generator=shuffler)
        total = 0.0
        for first in range(0, count, batch_size):
            batch = train[order[first : first + batch_size]]
            loss = model.negative_elbo(batch).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * batch.shape[0]
        epoch_seconds.append(time.perf_counter() - start)
        train_loss.append(total / count)

    model.eval()
    with torch.no_grad():
        test_total = 0.0
        for first in range(0, test.shape[0], 1000):
            batch = test[first : first + 1000]
            test_total += model.negative_elbo(batch).sum().item()
    test_loss = test_total / test.shape[0]

    steady = epoch_seconds[1:] or epoch_seconds
    median_epoch = float(np.median(steady))
    return {
        "torch_version": torch.__version__,
        "num_threads": threads,
        "epochs": epochs,
        "batch_size": batch_size,
        "num_train": int(count),
        "num_test": int(test.shape[0]),
        "epoch_seconds": epoch_seconds,
        "median_epoch_seconds": median_epoch,
        "epochs_in_median": len(steady),
        "samples_per_second": count / median_epoch,
        "train_loss_per_epoch": train_loss,
        "test_loss": test_loss,
        "test_loss_finite": math.isfinite(test_loss),
    }


def matmul_gflops(size: int, repeats: int = 5, num_threads: int | None = None) -> float:
    """Best float32 ``size x size`` matrix-product rate of PyTorch, in GFLOP/s."""
    return product_gflops(size, size, size, repeats, num_threads=num_threads)


def product_gflops(
    m: int,
    k: int,
    n: int,
    repeats: int = 5,
    calls: int = 1,
    num_threads: int | None = None,
) -> float:
    """Best float32 rate of PyTorch's ``(m, k) @ (k, n)`` product, in GFLOP/s.

    Each of ``repeats`` tries times ``calls`` products in a row (use many for
    small shapes, whose single product is too short to time).
    """
    torch.set_num_threads(num_threads or _default_threads())
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(m, k, generator=generator)
    b = torch.rand(k, n, generator=generator)
    torch.matmul(a, b)  # warm-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            torch.matmul(a, b)
        best = min(best, (time.perf_counter() - start) / calls)
    return 2.0 * m * k * n / best / 1e9
