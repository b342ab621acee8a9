"""The conditional VAE: a VAE whose encoder and decoder also see the label."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from aelib.layers import LOG_VAR_LIMIT
from aelib.models import VAE, _batched, _sigmoid
from aelib.validation import (
    validate_images,
    validate_labels,
    validate_latent,
    validate_positive,
)

__all__ = ["ConditionalVAE"]


@keras.saving.register_keras_serializable(package="aelib")
class ConditionalVAE(VAE):
    """A VAE of p(x | y): both networks receive the label y as a one-hot vector.

    Because the decoder is told which class to draw, the latent code no longer
    needs to carry the class and is free to describe the rest (for digits:
    slant, thickness, style). ``sample(n, labels=...)`` then draws the classes
    asked for. The loss is the VAE's, with every distribution conditioned on y.

    Train with labels: ``fit(x, y)`` (and ``validation_data=(x_val, y_val)``).
    The model's input is the dictionary ``{"images": x, "labels": one_hot(y)}``.

    Args:
        num_classes: the number of classes; labels lie in ``0 .. num_classes-1``.
        **kwargs: the arguments of :class:`aelib.VAE`.
    """

    def __init__(self, num_classes: int = 10, **kwargs: Any) -> None:
        # The networks are built by VAE.__init__ and need the number of classes.
        object.__setattr__(
            self,
            "_condition_classes",
            validate_positive(num_classes, "num_classes", integer=True),
        )
        super().__init__(**kwargs)
        self.num_classes = self._condition_classes

    def _num_conditions(self) -> int:
        return self._condition_classes

    def _images(self, x):
        return x["images"]

    def _inputs(self, x: Any, labels: Any) -> dict[str, np.ndarray]:
        if labels is None:
            raise ValueError(
                "a ConditionalVAE needs the labels: call fit(x, y) / encode(x, y)."
            )
        images = validate_images(x, self.image_shape)
        labels = validate_labels(
            labels, self.num_classes, num_examples=images.shape[0], name="labels"
        )
        return {"images": images, "labels": self._one_hot(labels)}

    def _one_hot(self, labels: np.ndarray) -> np.ndarray:
        return np.eye(self.num_classes, dtype=np.float32)[labels]

    def _labels_for(self, labels: Any, count: int) -> np.ndarray:
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full(count, labels)
        return validate_labels(
            labels, self.num_classes, num_examples=count, name="labels"
        )

    def posterior(self, inputs, training: bool = False):
        z_mean, z_log_var = self.encoder(
            [inputs["images"], inputs["labels"]], training=training
        )
        return z_mean, ops.clip(z_log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT)

    def call(self, inputs, training: bool = False):
        z_mean, z_log_var = self.posterior(inputs, training=training)
        z = self.sampling([z_mean, z_log_var])
        logits = self.decoder([z, inputs["labels"]], training=training)
        return {"logits": logits, "z_mean": z_mean, "z_log_var": z_log_var, "z": z}

    def fit(self, x: Any = None, y: Any = None, **kwargs: Any):
        """Trains on images ``x`` with their labels ``y``.

        ``validation_data`` takes ``(x_val, y_val)``; other arguments are those
        of :meth:`keras.Model.fit`.
        """
        inputs = self._inputs(x, y)
        validation = kwargs.get("validation_data")
        if validation is not None:
            if not isinstance(validation, tuple | list) or len(validation) != 2:
                raise ValueError("validation_data must be (x_val, y_val).")
            kwargs["validation_data"] = (self._inputs(*validation),)
        self._compile_if_needed()
        return keras.Model.fit(self, inputs, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, **kwargs: Any):
        """Evaluates the loss terms on images ``x`` with labels ``y``."""
        # Keras's own validation during fit passes the prepared dictionary.
        inputs = x if isinstance(x, dict) and y is None else self._inputs(x, y)
        self._compile_if_needed()
        return keras.Model.evaluate(self, inputs, **kwargs)

    def predict(self, x: Any, y: Any = None, **kwargs: Any):
        """Runs the model on images ``x`` with labels ``y``."""
        return keras.Model.predict(self, self._inputs(x, y), **kwargs)

    def encode(
        self, x: Any, labels: Any = None, batch_size: int = 1024
    ) -> tuple[np.ndarray, np.ndarray]:
        """The posterior parameters ``(z_mean, z_log_var)`` of images given labels."""
        inputs = self._inputs(x, labels)
        batch_size = validate_positive(batch_size, "batch_size", integer=True)
        means, log_vars = [], []
        for start in range(0, inputs["images"].shape[0], batch_size):
            chunk = {k: v[start : start + batch_size] for k, v in inputs.items()}
            mean, log_var = self.posterior(chunk)
            means.append(ops.convert_to_numpy(mean))
            log_vars.append(ops.convert_to_numpy(log_var))
        return np.concatenate(means), np.concatenate(log_vars)

    def decode(self, z: Any, labels: Any = None, batch_size: int = 1024) -> np.ndarray:
        """Decodes codes given labels (one per code, or one for all) to pixels."""
        z = validate_latent(z, self.latent_dim)
        if labels is None:
            raise ValueError(
                "a ConditionalVAE decodes a code for a label: pass labels."
            )
        one_hot = self._one_hot(self._labels_for(labels, z.shape[0]))
        joined = np.concatenate([z, one_hot], axis=1)

        def decode_joined(chunk):
            return self.decoder(
                [chunk[:, : self.latent_dim], chunk[:, self.latent_dim :]]
            )

        return _sigmoid(_batched(decode_joined, joined, batch_size))

    def reconstruct(
        self, x: Any, labels: Any = None, batch_size: int = 1024
    ) -> np.ndarray:
        """Decodes the posterior mean of each image with its own label."""
        z_mean, _ = self.encode(x, labels, batch_size)
        return self.decode(z_mean, labels, batch_size)

    def sample(
        self, num_samples: int, labels: Any = None, seed: int | None = None
    ) -> np.ndarray:
        """Draws z from the prior and decodes it as the classes asked for.

        Args:
            num_samples: how many images.
            labels: one label for all, or one per image (``None``: classes
                ``0, 1, 2, ...`` in turn).
            seed: seed of the draws.
        """
        num_samples = validate_positive(num_samples, "num_samples", integer=True)
        if labels is None:
            labels = np.arange(num_samples) % self.num_classes
        labels = self._labels_for(labels, num_samples)
        rng = np.random.default_rng(seed) if seed is not None else np.random
        z = rng.standard_normal((num_samples, self.latent_dim)).astype(np.float32)
        return self.decode(z, labels)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
