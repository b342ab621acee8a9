"""The MLP VAE's training step hand-written in TensorFlow: what the framework allows.

aelib trains through ``keras.Model.fit``: a data pipeline, loss trackers, the
optimizer's bookkeeping. This module writes the same step with nothing around
it, to separate what aelib costs from what TensorFlow itself reaches on this
machine at batch 128:

- the whole epoch runs in one ``tf.function`` call, the training images are a
  constant inside the graph, and each step gathers its batch from a
  permutation drawn in NumPy before the epoch;
- the network, loss and update are those of ``aelib.VAE(latent_dim=20,
  hidden_units=(400,))`` compiled with aelib's defaults: 784-400-(20, 20) and
  20-400-784 with ReLU (the two 400-20 heads as one 400-40 product, the same
  flops), a Bernoulli likelihood from logits summed over pixels,
  the KL to N(0, I), and Adam (1e-3) applied by TensorFlow's fused
  ``ResourceApplyAdam`` kernel, as :class:`aelib.optimizers.FusedAdam` does.

``mode="gradients"`` computes the loss and its gradients but updates nothing:
the cost of the forward and backward passes alone. Only
:mod:`benchmarks.run_benchmarks` uses this module.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = ["run_reference"]

MODES = ("step", "gradients")


def _glorot(rng: np.random.Generator, n_in: int, n_out: int) -> tf.Variable:
    limit = np.sqrt(6.0 / (n_in + n_out))
    return tf.Variable(rng.uniform(-limit, limit, (n_in, n_out)).astype("float32"))


def run_reference(
    x_train: np.ndarray,
    *,
    mode: str = "step",
    epochs: int = 4,
    batch_size: int = 128,
    latent_dim: int = 20,
    hidden: int = 400,
    seed: int = 0,
) -> dict[str, Any]:
    """Trains (or only differentiates) the hand-written VAE; returns its speed.

    Args:
        x_train: training images in [0, 1], shape (n, 28, 28) or (n, 784).
        mode: ``"step"`` (loss, gradients and Adam update) or ``"gradients"``
            (loss and gradients, no update).
        epochs: passes over the full batches of ``x_train``; the first one
            includes tracing and is left out of the median.
        batch_size: images per step.
        latent_dim: size of the code.
        hidden: units of the hidden layers.
        seed: seeds the weights, the permutations and the noise.

    Returns:
        Per-epoch seconds, the median over epochs 2.., images per second and
        the mean loss of the last epoch (nats per image).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    rng = np.random.default_rng(seed)
    tf.random.set_seed(seed)
    images = np.ascontiguousarray(x_train.reshape(len(x_train), -1), np.float32)
    pixels = images.shape[1]
    data = tf.constant(images)
    params = [
        _glorot(rng, pixels, hidden),
        tf.Variable(tf.zeros(hidden)),
        _glorot(rng, hidden, 2 * latent_dim),  # the mean and log-variance heads
        tf.Variable(tf.zeros(2 * latent_dim)),
        _glorot(rng, latent_dim, hidden),
        tf.Variable(tf.zeros(hidden)),
        _glorot(rng, hidden, pixels),
        tf.Variable(tf.zeros(pixels)),
    ]
    moments = [
        (tf.Variable(tf.zeros_like(p)), tf.Variable(tf.zeros_like(p))) for p in params
    ]
    iterations = tf.Variable(0.0)

    def loss_of(batch):
        w1, b1, w2, b2, w3, b3, w4, b4 = params
        heads = tf.nn.relu(batch @ w1 + b1) @ w2 + b2
        mean, log_var = heads[:, :latent_dim], heads[:, latent_dim:]
        log_var = tf.clip_by_value(log_var, -15.0, 15.0)
        z = mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))
        logits = tf.nn.relu(z @ w3 + b3) @ w4 + b4
        reconstruction = tf.reduce_sum(tf.nn.softplus(logits) - batch * logits, 1)
        kl = 0.5 * tf.reduce_sum(mean**2 + tf.exp(log_var) - 1.0 - log_var, 1)
        return tf.reduce_mean(reconstruction + kl)

    def train_step(batch):
        with tf.GradientTape() as tape:
            loss = loss_of(batch)
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
        steps = tf.shape(order)[0] // batch_size
        total = tf.constant(0.0)
        for i in tf.range(steps):
            # One step after the other, as in training: without this, steps
            # that update nothing would overlap in the loop.
            with tf.control_dependencies([total]):
                batch = tf.gather(data, order[i * batch_size : (i + 1) * batch_size])
            total += train_step(batch)
        return total / tf.cast(steps, tf.float32)

    seconds, loss = [], float("nan")
    for _ in range(epochs):
        order = tf.constant(rng.permutation(len(images)).astype("int32"))
        start = time.perf_counter()
        loss = float(epoch(order))
        seconds.append(time.perf_counter() - start)
    median = float(np.median(seconds[1:] or seconds))
    trained = (len(images) // batch_size) * batch_size
    return {
        "mode": mode,
        "epochs": epochs,
        "epoch_seconds": seconds,
        "median_epoch_seconds": median,
        "samples_per_second": trained / median,
        "last_epoch_mean_loss": loss,
    }
