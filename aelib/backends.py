"""What differs between Keras's backends, in one place.

aelib's maths is written in ``keras.ops``, so its models, losses and
estimators run on TensorFlow, JAX and PyTorch alike. A few things still
differ, and this module names them:

- float64: TensorFlow and PyTorch compute in float64 when given float64
  arrays; JAX computes in float32 unless its x64 mode is on (the environment
  variable ``JAX_ENABLE_X64=1``, or :func:`float64_enabled` around the code).
  aelib's estimators that return float64 (:func:`aelib.evaluate.kl_per_dimension`)
  turn it on for their own computation.
- Steps per execution: Keras runs several training steps per compiled call
  on TensorFlow and JAX, one on PyTorch
  (:func:`aelib.models.default_steps_per_execution`).
- The fused Adam kernel and ``tf.distribute`` exist on TensorFlow only
  (:mod:`aelib.optimizers`; Chapter 11 of the book).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras

__all__ = ["float64_enabled", "name"]


def name() -> str:
    """The Keras backend in use: ``"tensorflow"``, ``"jax"`` or ``"torch"``."""
    return keras.backend.backend()


@contextlib.contextmanager
def float64_enabled() -> Iterator[None]:
    """Inside the block, float64 inputs are computed in float64 on every backend.

    On JAX this turns on x64 mode for the block (``jax.enable_x64``); on the
    other backends, which keep float64 anyway, it does nothing.

    Example::

        with aelib.backends.float64_enabled():
            kl = aelib.losses.gaussian_kl(z_mean.astype("float64"), ...)
    """
    if name() != "jax":
        yield
        return
    import jax

    with jax.enable_x64(True):
        yield
