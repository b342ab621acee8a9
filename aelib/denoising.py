"""The denoising autoencoder: reconstruct clean images from corrupted ones."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from aelib.models import Autoencoder
from aelib.validation import validate_images

__all__ = ["DenoisingAutoencoder", "NOISE_TYPES"]

NOISE_TYPES = ("gaussian", "masking")


@keras.saving.register_keras_serializable(package="aelib")
class DenoisingAutoencoder(Autoencoder):
    """An autoencoder trained to undo a corruption (Vincent et al., 2008).

    In training only, each input image is corrupted before it is encoded, and
    the loss compares the reconstruction with the *clean* image, so the model
    must learn the structure of the data rather than copy pixels. At inference
    (``encode``, ``reconstruct``, ``predict``, ``evaluate``) nothing is
    corrupted: pass noisy images yourself, for example from :meth:`corrupt`.

    Args:
        noise: ``"gaussian"`` (add N(0, noise_level^2) to each pixel, then clip
            to [0, 1]) or ``"masking"`` (set each pixel to 0 with probability
            ``noise_level``).
        noise_level: the standard deviation, or the masking probability.
        seed: seed of the corruption's generator.
        **kwargs: the arguments of :class:`aelib.Autoencoder`.
    """

    def __init__(
        self,
        noise: str = "gaussian",
        noise_level: float = 0.3,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if noise not in NOISE_TYPES:
            raise ValueError(f"noise must be one of {NOISE_TYPES}, got {noise!r}.")
        level = float(noise_level)
        if not np.isfinite(level) or level <= 0 or (noise == "masking" and level >= 1):
            raise ValueError(
                f"noise_level must be positive (and below 1 for masking), got "
                f"{noise_level!r}."
            )
        self.noise = noise
        self.noise_level = level
        self.seed = seed
        self.noise_generator = keras.random.SeedGenerator(seed)

    def _corrupt_tensor(self, images):
        if self.noise == "gaussian":
            noise = keras.random.normal(
                ops.shape(images),
                stddev=self.noise_level,
                dtype=images.dtype,
                seed=self.noise_generator,
            )
            return ops.clip(images + noise, 0.0, 1.0)
        keep = keras.random.uniform(
            ops.shape(images), dtype=images.dtype, seed=self.noise_generator
        )
        return ops.where(keep >= self.noise_level, images, ops.zeros_like(images))

    def call(self, inputs, training: bool = False):
        if training:
            inputs = self._corrupt_tensor(inputs)
        return super().call(inputs, training=training)

    def corrupt(self, x: Any, seed: int | None = 0) -> np.ndarray:
        """Applies the model's corruption to images, with NumPy (for evaluation).

        Args:
            x: clean images in [0, 1].
            seed: seed of the draws.

        Returns:
            Corrupted float32 images of the same shape.
        """
        x = validate_images(x, self.image_shape)
        rng = np.random.default_rng(seed)
        if self.noise == "gaussian":
            noisy = x + rng.normal(0.0, self.noise_level, x.shape)
            return np.clip(noisy, 0.0, 1.0).astype(np.float32)
        return np.where(rng.random(x.shape) >= self.noise_level, x, 0.0).astype(
            np.float32
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {"noise": self.noise, "noise_level": self.noise_level, "seed": self.seed}
        )
        return config
