"""The two benchmarked VAEs' training written by hand in TensorFlow.

aelib trains through ``keras.Model.fit``: a data pipeline, loss trackers, the
optimizer's bookkeeping. This module writes the same training with nothing
around it, to separate what aelib costs from what TensorFlow itself reaches:

- the whole epoch runs in one ``tf.function`` call, the training images are a
  constant inside the graph, and each step gathers its batch from a
  permutation drawn in NumPy before the epoch (the last partial batch
  included); each step waits for the previous one, as in training;
- the networks and the loss are those of ``aelib.VAE(latent_dim=20,
  hidden_units=(400,))``, dense or ``architecture="conv"``: 784-400-(20, 20)
  and 20-400-784 with ReLU; or ``Conv2D`` 32 and 64 (3x3, stride 2,
  ``"SAME"``), dense 400, the heads, and back through a dense layer to 7x7x64,
  two stride-2 transposed convolutions (64, 32) and a 3x3 convolution to the
  logits. The two 400 -> 20 heads are one 400 -> 40 product (the same flops).
  A Bernoulli likelihood from logits summed over pixels, the KL to N(0, I),
  the log-variance clipped to [-15, 15], the batch mean;
- Glorot-uniform weights and zero biases; Adam (1e-3, epsilon 1e-7) applied
  by TensorFlow's fused ``ResourceApplyAdam`` kernel, as
  :class:`aelib.optimizers.FusedAdam` does.

``mode="gradients"`` computes the loss and its gradients but updates nothing:
the cost of the forward and backward passes alone.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = ["MODES", "run_plain"]

MODES = ("step", "gradients")
LOG_VAR_LIMIT = 15.0


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fans: tuple[int, int]):
    limit = np.sqrt(6.0 / sum(fans))
    return tf.Variable(rng.uniform(-limit, limit, shape).astype("float32"))


def _dense(rng, n_in: int, n_out: int) -> list[tf.Variable]:
    return [_glorot(rng, (n_in, n_out), (n_in, n_out)), tf.Variable(tf.zeros(n_out))]


def _conv(rng, c_in: int, c_out: int, transposed: bool = False) -> list[tf.Variable]:
    # conv2d kernels are (h, w, in, out); conv2d_transpose kernels (h, w, out, in).
    shape = (3, 3, c_out, c_in) if transposed else (3, 3, c_in, c_out)
    return [_glorot(rng, shape, (9 * c_in, 9 * c_out)), tf.Variable(tf.zeros(c_out))]


def mlp_network(rng, latent_dim: int = 20, hidden: int = 400, pixels: int = 784):
    """(parameters, encode, decode) of the MLP VAE on flat (n, 784) images."""
    params = [
        *_dense(rng, pixels, hidden),
        *_dense(rng, hidden, 2 * latent_dim),  # the mean and log-variance heads
        *_dense(rng, latent_dim, hidden),
        *_dense(rng, hidden, pixels),
    ]

    def encode(x):
        w1, b1, w2, b2 = params[:4]
        return tf.nn.relu(x @ w1 + b1) @ w2 + b2

    def decode(z):
        w3, b3, w4, b4 = params[4:]
        return tf.nn.relu(z @ w3 + b3) @ w4 + b4

    return params, encode, decode


def conv_network(rng, latent_dim: int = 20, hidden: int = 400, filters=(32, 64)):
    """(parameters, encode, decode) of the conv VAE on (n, 28, 28, 1) images."""
    first, second = filters
    flat = 7 * 7 * second
    params = [
        *_conv(rng, 1, first),
        *_conv(rng, first, second),
        *_dense(rng, flat, hidden),
        *_dense(rng, hidden, 2 * latent_dim),
        *_dense(rng, latent_dim, flat),
        *_conv(rng, second, second, transposed=True),
        *_conv(rng, second, first, transposed=True),
        *_conv(rng, first, 1),
    ]
    k0, c0, k1, c1, w1, b1, w2, b2, w3, b3, t0, d0, t1, d1, k2, c2 = params

    def encode(x):
        h = tf.nn.relu(tf.nn.conv2d(x, k0, 2, "SAME") + c0)
        h = tf.nn.relu(tf.nn.conv2d(h, k1, 2, "SAME") + c1)
        h = tf.nn.relu(tf.reshape(h, [-1, flat]) @ w1 + b1)
        return h @ w2 + b2

    def decode(z):
        n = tf.shape(z)[0]
        h = tf.reshape(tf.nn.relu(z @ w3 + b3), [-1, 7, 7, second])
        h = tf.nn.conv2d_transpose(h, t0, [n, 14, 14, second], 2, "SAME")
        h = tf.nn.relu(h + d0)
        h = tf.nn.conv2d_transpose(h, t1, [n, 28, 28, first], 2, "SAME")
        h = tf.nn.relu(h + d1)
        return tf.nn.conv2d(h, k2, 1, "SAME") + c2

    return params, encode, decode


NETWORKS = {"mlp": mlp_network, "conv": conv_network}


def run_plain(
    model_name: str,
    x_train: np.ndarray,
    x_test: np.ndarray | None = None,
    *,
    mode: str = "step",
    epochs: int = 4,
    batch_size: int = 128,
    latent_dim: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """Trains (or only differentiates) the hand-written VAE; returns its speed.

    Args:
        model_name: ``"mlp"`` or ``"conv"``.
        x_train: training images in [0, 1], shape (n, 28, 28).
        x_test: test images for the test loss (``None``: no test loss).
        mode: ``"step"`` (loss, gradients and Adam update) or ``"gradients"``
            (loss and gradients, no update).
        epochs: passes over ``x_train``; the first one includes tracing and
            is left out of the median.
        batch_size: images per step.
        latent_dim: size of the code.
        seed: seeds the weights, the permutations and the noise.

    Returns:
        Per-epoch seconds, the median over epochs 2.., images per second, the
        mean loss of each epoch and, with ``x_test``, the test loss (mean
        one-sample negative ELBO per test image).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    rng = np.random.default_rng(seed)
    tf.random.set_seed(seed)
    shape = (-1, 784) if model_name == "mlp" else (-1, 28, 28, 1)

    def as_images(x):
        return np.ascontiguousarray(x.reshape(shape), np.float32)

    images = as_images(x_train)
    data = tf.constant(images)
    params, encode, decode = NETWORKS[model_name](rng, latent_dim)
    moments = [
        (tf.Variable(tf.zeros_like(p)), tf.Variable(tf.zeros_like(p))) for p in params
    ]
    iterations = tf.Variable(0.0)
    pixel_axes = list(range(1, len(images.shape)))

    def negative_elbo(batch):
        heads = encode(batch)
        mean, log_var = heads[:, :latent_dim], heads[:, latent_dim:]
        log_var = tf.clip_by_value(log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT)
        z = mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))
        logits = decode(z)
        reconstruction = tf.reduce_sum(
            tf.nn.softplus(logits) - batch * logits, pixel_axes
        )
        kl = 0.5 * tf.reduce_sum(mean**2 + tf.exp(log_var) - 1.0 - log_var, 1)
        return reconstruction + kl

    def train_step(batch):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(negative_elbo(batch))
        grads = tape.gradient(loss, params)
        if mode == "gradients":
            # Keep every gradient alive without updating anything.
            first = [tf.reshape(g, [-1])[0] for g in grads]
            return loss + 0.0 * tf.add_n(first)
        iterations.assign_add(1.0)
        for param, (m, v), grad in zip(params, moments, grads, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=param.handle,
                m=m.handle,
                v=v.handle,
                beta1_power=tf.pow(0.9, iterations),
                beta2_power=tf.pow(0.999, iterations),
                lr=1e-3,
                beta1=0.9,
                beta2=0.999,
                epsilon=1e-7,
                grad=grad,
            )
        return loss

    @tf.function
    def epoch(order):
        count = tf.shape(order)[0]
        steps = (count + batch_size - 1) // batch_size
        total = tf.constant(0.0)
        for i in tf.range(steps):
            # One step after the other, as in training: without this, steps
            # that update nothing would overlap in the loop.
            with tf.control_dependencies([total]):
                batch = tf.gather(data, order[i * batch_size : (i + 1) * batch_size])
            total += train_step(batch) * tf.cast(tf.shape(batch)[0], tf.float32)
        return total / tf.cast(count, tf.float32)

    seconds, losses = [], []
    for _ in range(epochs):
        order = tf.constant(rng.permutation(len(images)).astype("int32"))
        start = time.perf_counter()
        losses.append(float(epoch(order)))
        seconds.append(time.perf_counter() - start)
    median = float(np.median(seconds[1:] or seconds))
    result = {
        "implementation": (
            f"TensorFlow {tf.__version__} by hand: one tf.function per epoch, "
            "fused Adam kernel"
        ),
        "mode": mode,
        "epochs": epochs,
        "batch_size": batch_size,
        "num_train": len(images),
        "epoch_seconds": seconds,
        "median_epoch_seconds": median,
        "epochs_in_median": len(seconds[1:] or seconds),
        "samples_per_second": len(images) / median,
        "train_loss_per_epoch": losses,
        "last_epoch_mean_loss": losses[-1] if losses else float("nan"),
        "trainable_parameters": int(sum(np.prod(p.shape) for p in params)),
    }
    if x_test is not None:
        evaluate = tf.function(lambda batch: tf.reduce_sum(negative_elbo(batch)))
        test = as_images(x_test)
        total = sum(
            float(evaluate(tf.constant(test[i : i + 1000])))
            for i in range(0, len(test), 1000)
        )
        result["num_test"] = len(test)
        result["test_loss"] = total / len(test)
    return result
