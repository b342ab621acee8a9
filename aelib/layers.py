"""Layers used by aelib's models."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

__all__ = ["Sampling", "LOG_VAR_LIMIT"]

LOG_VAR_LIMIT = 15.0
"""Posterior log-variances are clipped to [-15, 15] (variances e^-15 to e^15).

A linear head can output any log-variance, and ``exp`` of a large one
overflows float32 to ``inf``, which turns the KL term and every weight into
NaN. The bound is far outside what a trained model uses (typical values lie
in [-10, 1]), so it changes nothing in normal training and keeps a diverging
run finite.
"""


@keras.saving.register_keras_serializable(package="aelib")
class Sampling(layers.Layer):
    """Draws z ~ N(z_mean, exp(z_log_var)) with the reparameterization trick.

    ``z = z_mean + exp(z_log_var / 2) * epsilon`` with ``epsilon ~ N(0, I)``:
    the randomness is an input to a deterministic, differentiable function, so
    gradients flow to both ``z_mean`` and ``z_log_var``. The noise comes from a
    :class:`keras.random.SeedGenerator` owned by the layer, so a seeded layer
    draws the same sequence on every run.

    Args:
        seed: seed of the layer's generator; ``None`` takes one from the global
            seed set by :func:`aelib.set_seed`.
        **kwargs: standard layer arguments such as ``name``.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(
            ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
        )
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"seed": self.seed})
        return config
