"""Training callbacks for VAEs: KL annealing and snapshots of the samples."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from aelib.validation import validate_positive

__all__ = ["KLAnnealing", "SampleSnapshots"]


class KLAnnealing(keras.callbacks.Callback):
    """Warms the KL weight up linearly from ``start`` to the model's ``beta``.

    A VAE whose decoder is strong can reach a good reconstruction without using
    its latent code, and the KL term then pushes the posterior onto the prior
    before the code becomes useful: posterior collapse. Starting with a small
    KL weight and raising it over the first epochs (Bowman et al., 2016) lets
    the encoder learn a useful code first. The weight is set before every
    training call, through the model's non-trainable variable ``kl_weight``,
    so the compiled training step needs no retracing. The schedule follows the
    optimizer's step counter; with ``steps_per_execution`` > 1 the weight
    changes once per call, in steps of that many updates.

    Args:
        warmup_steps: training steps over which the weight rises (after them it
            stays at ``beta``).
        start: the weight at step 0, in ``[0, beta]``.

    Example:
        >>> vae.fit(x, epochs=10, callbacks=[KLAnnealing(warmup_steps=1000)])
    """

    def __init__(self, warmup_steps: int, start: float = 0.0) -> None:
        super().__init__()
        self.warmup_steps = validate_positive(
            warmup_steps, "warmup_steps", integer=True
        )
        if not 0.0 <= float(start):
            raise ValueError(f"start must be >= 0, got {start!r}.")
        self.start = float(start)
        self.history: list[float] = []

    def weight(self, step: int) -> float:
        """The KL weight at training step ``step``."""
        beta = float(self.model.beta)
        progress = min(1.0, step / self.warmup_steps)
        return self.start + (beta - self.start) * progress

    def on_train_begin(self, logs=None) -> None:
        if not hasattr(self.model, "kl_weight"):
            raise ValueError(
                "KLAnnealing needs a model with a kl_weight (an aelib.VAE)."
            )
        if self.start > float(self.model.beta):
            raise ValueError(
                f"start={self.start} exceeds the model's beta={self.model.beta}."
            )

    def on_train_batch_begin(self, batch, logs=None) -> None:
        value = self.weight(int(self.model.optimizer.iterations))
        self.model.kl_weight.assign(value)
        self.history.append(value)

    def on_train_end(self, logs=None) -> None:
        self.model.kl_weight.assign(self.weight(int(self.model.optimizer.iterations)))


class SampleSnapshots(keras.callbacks.Callback):
    """Decodes the same codes as training goes on, to watch a model learn.

    At the start of training (epoch 0, the untrained model) and after every
    ``every`` epochs, the callback decodes ``codes`` with the model's
    ``decode`` and keeps the images in :attr:`frames` and the number of
    epochs trained so far in :attr:`epochs`. Fixed codes (for example draws
    from the prior) show the same points of the latent space at every epoch,
    so the frames make an animation of the decoder learning
    (:func:`aelib.plotting.animate_images`). Epochs are counted across calls
    to ``fit`` that share the callback.

    Args:
        codes: a 2-D float array of shape ``(n, latent_dim)``.
        every: take a snapshot every this many epochs.
        labels: for a :class:`aelib.ConditionalVAE`, the label of each code
            (or one for all), passed to ``decode``.

    Example:
        >>> codes = np.random.default_rng(0).standard_normal((16, 2))
        >>> snapshots = SampleSnapshots(codes)
        >>> vae.fit(x, epochs=10, callbacks=[snapshots], verbose=0)
        >>> anim = aelib.plotting.animate_images(snapshots.frames)
    """

    def __init__(self, codes: Any, every: int = 1, labels: Any = None) -> None:
        super().__init__()
        try:
            array = np.asarray(codes, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"codes must be a 2-D float array of shape (n, latent_dim): {error}"
            ) from error
        if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
            raise ValueError(
                f"codes must be a 2-D float array of shape (n, latent_dim), got "
                f"shape {array.shape}."
            )
        if not np.isfinite(array).all():
            raise ValueError("codes contains NaN or infinite values.")
        self.codes = array
        self.every = validate_positive(every, "every", integer=True)
        self.labels = None if labels is None else np.asarray(labels)
        self.frames: list[np.ndarray] = []
        self.epochs: list[int] = []
        self._epochs_trained = 0

    def _snapshot(self) -> None:
        if self.labels is None:
            images = self.model.decode(self.codes)
        else:
            images = self.model.decode(self.codes, labels=self.labels)
        self.frames.append(np.asarray(images, dtype=np.float32))
        self.epochs.append(self._epochs_trained)

    def on_train_begin(self, logs=None) -> None:
        latent_dim = getattr(self.model, "latent_dim", None)
        if latent_dim is not None and self.codes.shape[1] != latent_dim:
            raise ValueError(
                f"codes has shape {self.codes.shape}; the model has "
                f"latent_dim={latent_dim}."
            )
        if not self.frames:
            self._snapshot()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._epochs_trained += 1
        if self._epochs_trained % self.every == 0:
            self._snapshot()
