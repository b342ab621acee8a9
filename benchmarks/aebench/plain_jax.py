"""The two benchmarked VAEs in plain JAX: pure functions, ``jax.jit`` and optax.

The same maths as ``aelib.VAE`` (and as :mod:`aebench.plain_tf` and
:mod:`aebench.plain_torch`): the networks of :mod:`aebench.plain_tf` (NHWC,
``"SAME"`` padding, the two heads as one 400 -> 40 product), the log-variance
clipped to [-15, 15], binary cross-entropy from the logits summed over
pixels plus the closed-form KL, the batch mean; Glorot-uniform weights and
zero biases; ``optax.adam(1e-3, eps=1e-7)``.

One training step (loss, gradients, Adam update and the next random key) is
one ``jax.jit`` function whose parameters and optimizer state are donated, as
Keras's JAX trainer does. The training images are put on the device once;
each step receives the indices of its batch and gathers them inside the
compiled step. The steps of an epoch are dispatched from a Python loop
(JAX runs them asynchronously); the clock stops when the last one is done.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["run_plain"]

LOG_VAR_LIMIT = 15.0


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fans: tuple[int, int]):
    limit = np.sqrt(6.0 / sum(fans))
    return jnp.asarray(rng.uniform(-limit, limit, shape).astype("float32"))


def _dense(rng, n_in: int, n_out: int) -> dict[str, jax.Array]:
    return {
        "w": _glorot(rng, (n_in, n_out), (n_in, n_out)),
        "b": jnp.zeros(n_out, "float32"),
    }


def _conv(rng, c_in: int, c_out: int) -> dict[str, jax.Array]:
    # HWIO kernels for both convolutions and transposed convolutions.
    return {
        "w": _glorot(rng, (3, 3, c_in, c_out), (9 * c_in, 9 * c_out)),
        "b": jnp.zeros(c_out, "float32"),
    }


def _linear(p, x):
    return x @ p["w"] + p["b"]


_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _convolve(p, x, stride: int):
    y = jax.lax.conv_general_dilated(
        x, p["w"], (stride, stride), "SAME", dimension_numbers=_DIMENSIONS
    )
    return y + p["b"]


def _transpose(p, x):
    y = jax.lax.conv_transpose(x, p["w"], (2, 2), "SAME", dimension_numbers=_DIMENSIONS)
    return y + p["b"]


def mlp_network(rng, latent_dim: int = 20, hidden: int = 400, pixels: int = 784):
    """(parameters, encode, decode) of the MLP VAE on flat (n, 784) images."""
    params = {
        "hidden": _dense(rng, pixels, hidden),
        "heads": _dense(rng, hidden, 2 * latent_dim),
        "decoder_hidden": _dense(rng, latent_dim, hidden),
        "logits": _dense(rng, hidden, pixels),
    }

    def encode(p, x):
        return _linear(p["heads"], jax.nn.relu(_linear(p["hidden"], x)))

    def decode(p, z):
        return _linear(p["logits"], jax.nn.relu(_linear(p["decoder_hidden"], z)))

    return params, encode, decode


def conv_network(rng, latent_dim: int = 20, hidden: int = 400, filters=(32, 64)):
    """(parameters, encode, decode) of the conv VAE on (n, 28, 28, 1) images."""
    first, second = filters
    flat = 7 * 7 * second
    params = {
        "conv_0": _conv(rng, 1, first),
        "conv_1": _conv(rng, first, second),
        "hidden": _dense(rng, flat, hidden),
        "heads": _dense(rng, hidden, 2 * latent_dim),
        "to_feature_map": _dense(rng, latent_dim, flat),
        "deconv_0": _conv(rng, second, second),
        "deconv_1": _conv(rng, second, first),
        "logits": _conv(rng, first, 1),
    }

    def encode(p, x):
        h = jax.nn.relu(_convolve(p["conv_0"], x, 2))
        h = jax.nn.relu(_convolve(p["conv_1"], h, 2))
        h = jax.nn.relu(_linear(p["hidden"], h.reshape(h.shape[0], -1)))
        return _linear(p["heads"], h)

    def decode(p, z):
        h = jax.nn.relu(_linear(p["to_feature_map"], z)).reshape(-1, 7, 7, second)
        h = jax.nn.relu(_transpose(p["deconv_0"], h))
        h = jax.nn.relu(_transpose(p["deconv_1"], h))
        return _convolve(p["logits"], h, 1)

    return params, encode, decode


NETWORKS = {"mlp": mlp_network, "conv": conv_network}


def run_plain(
    model_name: str,
    x_train: np.ndarray,
    x_test: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    latent_dim: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """Trains the plain JAX model; returns its timings and test loss.

    Args and returns as :func:`aebench.plain_torch.run_plain`.
    """
    rng = np.random.default_rng(seed)
    shape = (-1, 784) if model_name == "mlp" else (-1, 28, 28, 1)
    train = jnp.asarray(np.ascontiguousarray(x_train.reshape(shape), np.float32))
    test = np.ascontiguousarray(x_test.reshape(shape), np.float32)
    params, encode, decode = NETWORKS[model_name](rng, latent_dim)
    optimizer = optax.adam(learning_rate, b1=0.9, b2=0.999, eps=1e-7)
    opt_state = optimizer.init(params)
    key = jax.random.key(seed)

    def negative_elbo(p, batch, key):
        heads = encode(p, batch)
        mean, log_var = heads[:, :latent_dim], heads[:, latent_dim:]
        log_var = jnp.clip(log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT)
        z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
        logits = decode(p, z)
        per_pixel = jax.nn.softplus(logits) - batch * logits
        reconstruction = per_pixel.reshape(per_pixel.shape[0], -1).sum(axis=1)
        kl = 0.5 * jnp.sum(mean**2 + jnp.exp(log_var) - 1.0 - log_var, axis=1)
        return reconstruction + kl

    def batch_loss(p, batch, key):
        return jnp.mean(negative_elbo(p, batch, key))

    def step(p, state, key, data, indices):
        key, noise = jax.random.split(key)
        batch = data[indices]
        loss, grads = jax.value_and_grad(batch_loss)(p, batch, noise)
        updates, state = optimizer.update(grads, state, p)
        # The batch's summed loss, for the epoch's mean.
        return optax.apply_updates(p, updates), state, key, loss * batch.shape[0]

    train_step = jax.jit(step, donate_argnums=(0, 1))
    evaluate = jax.jit(lambda p, batch, key: jnp.sum(negative_elbo(p, batch, key)))

    count = int(train.shape[0])
    epoch_seconds: list[float] = []
    train_loss: list[float] = []
    for _ in range(epochs):
        order = rng.permutation(count).astype("int32")
        start = time.perf_counter()
        losses = []
        for first in range(0, count, batch_size):
            indices = order[first : first + batch_size]
            params, opt_state, key, loss = train_step(
                params, opt_state, key, train, indices
            )
            losses.append(loss)
        total = float(jnp.sum(jnp.stack(losses)))  # waits for the last step
        jax.block_until_ready(params)
        epoch_seconds.append(time.perf_counter() - start)
        train_loss.append(total / count)

    test_total = 0.0
    for first in range(0, len(test), 1000):
        key, noise = jax.random.split(key)
        test_total += float(
            evaluate(params, jnp.asarray(test[first : first + 1000]), noise)
        )
    test_loss = test_total / len(test)

    steady = epoch_seconds[1:] or epoch_seconds
    median_epoch = float(np.median(steady))
    return {
        "implementation": (
            f"plain JAX {jax.__version__}, optax {optax.__version__}: "
            "jax.jit step, Python loop"
        ),
        "jax_version": jax.__version__,
        "optax_version": optax.__version__,
        "epochs": epochs,
        "batch_size": batch_size,
        "num_train": count,
        "num_test": len(test),
        "epoch_seconds": epoch_seconds,
        "median_epoch_seconds": median_epoch,
        "epochs_in_median": len(steady),
        "samples_per_second": count / median_epoch,
        "train_loss_per_epoch": train_loss,
        "test_loss": test_loss,
        "trainable_parameters": int(
            sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(params))
        ),
    }
