"""Training callbacks for VAEs."""

from __future__ import annotations

import keras

from aelib.validation import validate_positive

__all__ = ["KLAnnealing"]


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
