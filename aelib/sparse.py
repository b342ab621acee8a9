"""The sparse autoencoder: an L1 penalty keeps most code units near zero."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from aelib.models import Autoencoder
from aelib.validation import validate_positive

__all__ = ["SparseAutoencoder"]


@keras.saving.register_keras_serializable(package="aelib")
class SparseAutoencoder(Autoencoder):
    """An autoencoder whose loss adds ``sparsity_weight * sum_j |z_j|`` per image.

    The L1 penalty drives most code units to (nearly) zero for any one image, so
    each image is described by a few active units; the code can then be wider
    than a plain autoencoder's without the model learning a trivial copy.
    ``fit`` and ``evaluate`` report ``sparsity_loss`` (the penalty, already
    weighted) besides ``loss`` and ``reconstruction_loss``.

    Args:
        sparsity_weight: the weight of the L1 penalty, positive.
        **kwargs: the arguments of :class:`aelib.Autoencoder`.
    """

    def __init__(self, sparsity_weight: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sparsity_weight = validate_positive(sparsity_weight, "sparsity_weight")
        self.sparsity_loss_tracker = keras.metrics.Mean(name="sparsity_loss")

    def loss_terms(self, x, y_pred):
        """The reconstruction error plus the weighted L1 norm of the codes."""
        loss, terms = super().loss_terms(x, y_pred)
        sparsity = self.sparsity_weight * ops.mean(
            ops.sum(ops.abs(y_pred["z"]), axis=-1)
        )
        return loss + sparsity, {**terms, "sparsity_loss": sparsity}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["sparsity_weight"] = self.sparsity_weight
        return config
