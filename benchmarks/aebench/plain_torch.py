"""The two benchmarked VAEs in plain PyTorch: an ``nn.Module`` and a training loop.

The same maths as ``aelib.VAE`` (and as :mod:`aebench.plain_tf` and
:mod:`aebench.plain_jax`):

- MLP: 784 -> 400 (ReLU) -> two linear heads 400 -> 20 for the mean and the
  log-variance of q(z|x); decoder 20 -> 400 (ReLU) -> 784 logits. This is the
  shape of the classic PyTorch VAE example, written from its description.
- conv: ``Conv2d`` 32 and 64, 3x3, stride 2, ReLU; ``Linear`` 3136 -> 400
  (ReLU) -> the two heads; decoder ``Linear`` 20 -> 7*7*64 (ReLU),
  ``ConvTranspose2d`` 64 and 32, 3x3, stride 2, ReLU, and a 3x3 ``Conv2d`` to
  one logit per pixel. PyTorch pads a stride-2 convolution by one pixel on
  each side where Keras's ``"same"`` pads the bottom-right only: the same
  shapes and flops, the kernel's window shifted by one pixel.
- the log-variance clipped to [-15, 15] as aelib does; loss per image: binary
  cross-entropy from the logits summed over pixels, plus the closed-form KL
  to N(0, I); each step minimises its batch mean. Glorot-uniform weights and
  zero biases (Keras's defaults), Adam with learning rate 1e-3 and epsilon
  1e-7 (Keras's), batch 128, data reshuffled every epoch, the last partial
  batch included.

It trains on the NumPy arrays aelib's loader returns, so every implementation
sees exactly the same images. Not a dependency of aelib.
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

__all__ = ["ConvVae", "MlpVae", "matmul_gflops", "product_gflops", "run_plain"]

LOG_VAR_LIMIT = 15.0


class _Vae(nn.Module):
    """What both networks share: sampling and the negative ELBO."""

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def negative_elbo(self, x: torch.Tensor) -> torch.Tensor:
        """One-sample negative ELBO of each image in nats, shape (batch,)."""
        mean, log_var = self.posterior(x)
        log_var = log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        logits = self.decode_logits(z)
        reconstruction = F.binary_cross_entropy_with_logits(
            logits, x, reduction="none"
        ).flatten(1)
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var)
        return reconstruction.sum(dim=1) + kl.sum(dim=1)

    def reset_like_keras(self) -> None:
        """Glorot-uniform weights and zero biases, Keras's defaults."""
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)


class MlpVae(_Vae):
    """784-400-20 VAE with a Gaussian posterior and a Bernoulli decoder."""

    def __init__(self, pixels: int = 784, hidden: int = 400, latent: int = 20):
        super().__init__()
        self.encoder_hidden = nn.Linear(pixels, hidden)
        self.head_mean = nn.Linear(hidden, latent)
        self.head_log_var = nn.Linear(hidden, latent)
        self.decoder_hidden = nn.Linear(latent, hidden)
        self.decoder_logits = nn.Linear(hidden, pixels)
        self.reset_like_keras()

    def posterior(self, x):
        hidden = F.relu(self.encoder_hidden(x))
        return self.head_mean(hidden), self.head_log_var(hidden)

    def decode_logits(self, z):
        return self.decoder_logits(F.relu(self.decoder_hidden(z)))


class ConvVae(_Vae):
    """Convolutional VAE on (n, 1, 28, 28) images: filters 32, 64; dense 400; 20."""

    def __init__(self, filters=(32, 64), hidden: int = 400, latent: int = 20):
        super().__init__()
        first, second = filters
        self.conv_0 = nn.Conv2d(1, first, 3, stride=2, padding=1)
        self.conv_1 = nn.Conv2d(first, second, 3, stride=2, padding=1)
        self.encoder_hidden = nn.Linear(7 * 7 * second, hidden)
        self.head_mean = nn.Linear(hidden, latent)
        self.head_log_var = nn.Linear(hidden, latent)
        self.to_feature_map = nn.Linear(latent, 7 * 7 * second)
        self.deconv_0 = nn.ConvTranspose2d(
            second, second, 3, stride=2, padding=1, output_padding=1
        )
        self.deconv_1 = nn.ConvTranspose2d(
            second, first, 3, stride=2, padding=1, output_padding=1
        )
        self.logits = nn.Conv2d(first, 1, 3, padding=1)
        self.second = second
        self.reset_like_keras()

    def posterior(self, x):
        hidden = F.relu(self.conv_1(F.relu(self.conv_0(x))))
        hidden = F.relu(self.encoder_hidden(hidden.flatten(1)))
        return self.head_mean(hidden), self.head_log_var(hidden)

    def decode_logits(self, z):
        hidden = F.relu(self.to_feature_map(z)).view(-1, self.second, 7, 7)
        hidden = F.relu(self.deconv_1(F.relu(self.deconv_0(hidden))))
        return self.logits(hidden)


MODELS = {"mlp": MlpVae, "conv": ConvVae}


def _as_tensor(images: np.ndarray, model_name: str) -> torch.Tensor:
    """Float images -> contiguous float32 (n, 784), or (n, 1, 28, 28) for conv."""
    n = images.shape[0]
    shape = (n, -1) if model_name == "mlp" else (n, 1, 28, 28)
    return torch.from_numpy(np.ascontiguousarray(images.reshape(shape), np.float32))


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_plain(
    model_name: str,
    x_train: np.ndarray,
    x_test: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    num_threads: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Trains the plain model and returns its timings and test loss.

    Args:
        model_name: ``"mlp"`` or ``"conv"``.
        x_train: training images in [0, 1], shape (n, 28, 28).
        x_test: test images in [0, 1].
        epochs: passes over ``x_train``.
        batch_size: images per optimiser step.
        learning_rate: Adam's step size.
        num_threads: PyTorch intra-op threads (default: the cores this
            process may run on).
        seed: seeds the initial weights, the shuffling and the noise.

    Returns:
        The per-epoch wall times, the throughput (training images per second
        from the median epoch after the first), the mean training loss of each
        epoch and the test loss (mean one-sample negative ELBO per test image).
    """
    threads = num_threads or _default_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    shuffler = torch.Generator().manual_seed(seed)

    train = _as_tensor(x_train, model_name)
    test = _as_tensor(x_test, model_name)
    model = MODELS[model_name]()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, eps=1e-7)

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
            test_total += model.negative_elbo(test[first : first + 1000]).sum().item()
    test_loss = test_total / test.shape[0]

    steady = epoch_seconds[1:] or epoch_seconds
    median_epoch = float(np.median(steady))
    return {
        "implementation": f"plain PyTorch {torch.__version__}: nn.Module, eager loop",
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
        "trainable_parameters": sum(p.numel() for p in model.parameters()),
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
