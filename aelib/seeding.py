"""One call to make a run reproducible."""

from __future__ import annotations

import keras

__all__ = ["set_seed"]


def set_seed(seed: int = 0) -> None:
    """Seeds Python, NumPy and the Keras backend, so a run repeats exactly on CPU.

    Calls :func:`keras.utils.set_random_seed`, which seeds Python's ``random``,
    NumPy's global generator and the backend's generator. Layers that own a
    :class:`keras.random.SeedGenerator` without an explicit seed take theirs
    from these, so models built after this call draw the same numbers on
    every run. On the TensorFlow backend it also turns on TensorFlow's op
    determinism, which pins the order of floating-point reductions.

    Args:
        seed: a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
