"""The autoencoder and the variational autoencoder.

Both are :class:`keras.Model` subclasses that train with ``fit(x)``: the input is
its own target, so no ``y`` is passed. Their losses come from overriding
``compute_loss``, which keeps them backend-agnostic (all maths in
``keras.ops``). Both save to ``.keras`` and load back with ``safe_mode=True``:
they contain no ``Lambda`` layer, and their configuration is plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from aelib import losses
from aelib.layers import LOG_VAR_LIMIT, Sampling
from aelib.networks import (
    build_decoder,
    build_encoder,
    check_architecture,
    decoder_units,
)
from aelib.optimizers import default_optimizer
from aelib.validation import validate_images, validate_latent, validate_positive

__all__ = ["Autoencoder", "VAE", "default_steps_per_execution"]

STEPS_PER_EXECUTION = 16
"""Training steps per call into the compiled graph, the default of ``compile``.

Measured on 2 CPU cores with the 784-400-20 VAE at batch 128 (see
``benchmarks/``): one step per call spends a large share of each step in
Python; 16 steps per call removes most of that overhead. Keras runs the
remaining steps of an epoch as a shorter call, so any data size works.
Keras accepts more than one step per call on TensorFlow and JAX only; see
:func:`default_steps_per_execution`.
"""


def default_steps_per_execution(num_replicas: int = 1) -> int:
    """The steps per execution ``compile`` uses when none is given.

    :data:`STEPS_PER_EXECUTION` on TensorFlow and JAX; 1 on PyTorch, where
    Keras refuses more, and under a multi-replica ``tf.distribute`` strategy,
    where Keras 3 fails with more.
    """
    if keras.backend.backend() == "torch" or num_replicas > 1:
        return 1
    return STEPS_PER_EXECUTION


_RECONSTRUCTION_LOSSES = {
    "bernoulli": "binary cross-entropy from logits, summed over pixels",
    "squared_error": "squared error of the sigmoid output, summed over pixels",
}


def _check_sizes(
    input_shape: Sequence[int], latent_dim: int, hidden_units: Sequence[int]
) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    input_shape = tuple(
        validate_positive(d, "input_shape entries", integer=True) for d in input_shape
    )
    latent_dim = validate_positive(latent_dim, "latent_dim", integer=True)
    hidden_units = tuple(
        validate_positive(u, "hidden_units entries", integer=True) for u in hidden_units
    )
    return input_shape, latent_dim, hidden_units


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """A sigmoid that does not overflow for large negative logits."""
    return np.exp(-np.logaddexp(0.0, -logits)).astype(np.float32)


def _batched(function: Callable[[Any], Any], array: np.ndarray, batch_size: int) -> Any:
    """Applies ``function`` to ``array`` in batches and concatenates the results."""
    batch_size = validate_positive(batch_size, "batch_size", integer=True)
    results = []
    for start in range(0, array.shape[0], batch_size):
        output = function(array[start : start + batch_size])
        if isinstance(output, tuple | list):
            results.append(tuple(ops.convert_to_numpy(o) for o in output))
        else:
            results.append(ops.convert_to_numpy(output))
    if isinstance(results[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*results, strict=True))
    return np.concatenate(results)


class _ReconstructionModel(keras.Model):
    """What the two models share: input checks, default compile, decoding."""

    image_shape: tuple[int, ...]
    latent_dim: int

    def _check_data(self, x: Any, y: Any, method: str) -> Any:
        if y is not None:
            raise ValueError(
                f"{type(self).__name__}.{method} got targets y, but an autoencoder "
                f"reconstructs its input: call {method}(x) without y."
            )
        if isinstance(x, np.ndarray | list) or hasattr(x, "__array__"):
            if not isinstance(x, keras.utils.PyDataset):
                return validate_images(x, self.image_shape)
        return x

    def _check_validation_data(self, kwargs: dict[str, Any]) -> None:
        data = kwargs.get("validation_data")
        if data is None:
            return
        if isinstance(data, tuple | list) and len(data) in (1, 2):
            if len(data) == 2 and data[1] is not None:
                raise ValueError(
                    "validation_data must be images only (validation_data=x_val), "
                    "not (x, y): an autoencoder's target is its input."
                )
            data = data[0]
        kwargs["validation_data"] = self._check_data(data, None, "fit")

    def _num_conditions(self) -> int:
        """Classes of the label a conditional subclass feeds the networks."""
        return 0

    def _build_encoder(self, heads: list[tuple[str, int]]) -> None:
        """Builds ``self.encoder``, with one linear output per ``(name, units)``.

        The encoder and the decoder use the model's checked sizes, activation,
        architecture and convolution filters, and the number of label classes
        of a conditional subclass. They are built by separate calls so that a
        model can create other layers in between: layers without a seed draw
        one from the global generator, in the order they are created.
        """
        self.encoder = build_encoder(
            self.architecture,
            self.image_shape,
            self.hidden_units,
            self.activation,
            heads,
            conv_filters=self.conv_filters,
            num_classes=self._num_conditions(),
        )

    def _build_decoder(self) -> None:
        """Builds ``self.decoder``, from a code to one logit per pixel."""
        self.decoder = build_decoder(
            self.architecture,
            self.image_shape,
            self.latent_dim,
            self.hidden_units,
            self.activation,
            decoder_hidden_units=self.decoder_hidden_units,
            conv_filters=self.conv_filters,
            num_classes=self._num_conditions(),
        )

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None):
        """Builds the model from ``get_config()``, also from older configs.

        A convolutional model saved before ``decoder_hidden_units`` existed had
        the encoder's dense hidden layers mirrored in its decoder; its config
        lacks the key, and gets that layout back so that its weights load.
        """
        config = dict(config)
        if (
            config.get("architecture") == "conv"
            and "decoder_hidden_units" not in config
        ):
            config["decoder_hidden_units"] = list(reversed(config["hidden_units"]))
        return cls(**config)

    @staticmethod
    def _outputs_in_float32(y_pred: dict[str, Any]) -> dict[str, Any]:
        """The model's outputs with half-precision tensors cast to float32.

        Under a mixed-precision policy (``mixed_float16``, ``mixed_bfloat16``)
        the networks compute in 16 bits, and so would a loss computed from
        their outputs: float16 overflows in ``exp`` above a log-variance of
        about 11 (so the KL term becomes ``inf`` well inside the clipping
        range) and keeps about 3 significant digits, too few for a loss summed
        over hundreds of pixels. The loss is a small part of the work, so it
        is always computed in float32; in float32 and float64 nothing changes.
        """
        return {
            name: (
                ops.cast(value, "float32")
                if keras.backend.standardize_dtype(value.dtype)
                in ("float16", "bfloat16")
                else value
            )
            for name, value in y_pred.items()
        }

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        """Keras's loss hook: the plumbing around :meth:`loss_terms`.

        It refuses ``sample_weight``, computes the loss in float32 under mixed
        precision, updates one ``Mean`` tracker per term (the attribute
        ``<name>_tracker``, weighted by the batch size), adds the losses of
        regularized layers (``self.losses``) and divides by the number of
        replicas under ``tf.distribute``. A model's maths lives in
        :meth:`loss_terms` alone.
        """
        if sample_weight is not None:
            raise ValueError("aelib models do not support sample_weight.")
        loss, terms = self.loss_terms(x, self._outputs_in_float32(y_pred))
        batch = ops.shape(self._images(x))[0]
        for name, value in terms.items():
            getattr(self, f"{name}_tracker").update_state(value, batch)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return self._scale_for_replicas(loss)

    def loss_terms(self, x, y_pred):
        """The loss of a batch and its named terms, each averaged over the batch.

        Args:
            x: the batch of inputs (images, or images with labels).
            y_pred: the model's dictionary of outputs, in float32 or float64.

        Returns:
            ``(loss, terms)``: the scalar the optimizer minimizes, and a
            dictionary of scalars that ``fit`` and ``evaluate`` report.
        """
        raise NotImplementedError

    def _images(self, x):
        """The images inside the model's input (the input itself here)."""
        return x

    def _scale_for_replicas(self, loss):
        """Divides the loss by the number of replicas under ``tf.distribute``.

        Keras sums the replicas' gradients, so each replica's loss must be its
        share of the global mean (what Keras's own losses do); with one device
        this is the identity.
        """
        replicas = self._num_replicas()
        return loss / replicas if replicas > 1 else loss

    def _num_replicas(self) -> int:
        """Replicas of the ``tf.distribute`` strategy the model was built under."""
        strategy = getattr(self, "distribute_strategy", None)
        return int(getattr(strategy, "num_replicas_in_sync", 1))

    def compile(
        self,
        optimizer: Any = None,
        *,
        steps_per_execution: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Configures training; the loss is the model's own.

        Args:
            optimizer: a Keras optimizer or its name; ``None`` gives
                :func:`aelib.optimizers.default_optimizer` with
                ``learning_rate=1e-3``: Adam, with one fused update per
                variable on TensorFlow.
            steps_per_execution: training steps run per call into the compiled
                graph. Small models spend much of each step in Python overhead;
                running several steps per call removes most of it without
                changing the maths. ``None`` gives
                :func:`default_steps_per_execution`.
            **kwargs: other arguments of :meth:`keras.Model.compile`
                (``jit_compile``, ``metrics``...). ``loss`` is not accepted:
                the model defines its loss in ``compute_loss``.
        """
        if kwargs.get("loss") is not None:
            raise ValueError(
                f"{type(self).__name__} defines its own loss (see its docstring); "
                "call compile() without loss=."
            )
        kwargs.pop("loss", None)
        if optimizer is None:
            optimizer = default_optimizer(learning_rate=1e-3)
        if steps_per_execution is None:
            steps_per_execution = default_steps_per_execution(self._num_replicas())
        super().compile(
            optimizer=optimizer, steps_per_execution=steps_per_execution, **kwargs
        )

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compiles a loaded model as it was compiled when saved."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _compile_if_needed(self) -> None:
        if not self.compiled:
            self.compile()

    def fit(self, x: Any = None, y: Any = None, **kwargs: Any):
        """Trains on ``x`` alone; compiles with Adam(1e-3) when not yet compiled.

        Args:
            x: images in [0, 1] of shape (n, *input_shape), a
                ``keras.utils.PyDataset`` or a ``tf.data.Dataset`` of images.
            y: must be ``None``: the target is ``x`` itself.
            **kwargs: passed on to :meth:`keras.Model.fit` (``epochs``,
                ``batch_size``, ``validation_data=x_val``, ``callbacks``...).

        Returns:
            The Keras ``History``.
        """
        x = self._check_data(x, y, "fit")
        self._check_validation_data(kwargs)
        self._compile_if_needed()
        return super().fit(x, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, **kwargs: Any):
        """Evaluates the loss terms on ``x``; see :meth:`keras.Model.evaluate`.

        Pass ``return_dict=True`` to get ``{"loss": ..., ...}``.
        """
        x = self._check_data(x, y, "evaluate")
        self._compile_if_needed()
        return super().evaluate(x, **kwargs)

    def predict(self, x: Any, **kwargs: Any):
        """Runs the model; returns its dictionary of outputs as NumPy arrays.

        Most readers want :meth:`encode`, :meth:`decode` or :meth:`reconstruct`.
        """
        return super().predict(self._check_data(x, None, "predict"), **kwargs)

    def decode(self, z: Any, batch_size: int = 1024) -> np.ndarray:
        """Decodes latent codes to pixel probabilities (the Bernoulli means).

        Args:
            z: codes of shape (n, latent_dim).
            batch_size: codes decoded at a time.

        Returns:
            float32 array of shape (n, *input_shape) with values in [0, 1].
        """
        z = validate_latent(z, self.latent_dim)
        logits = _batched(self.decoder, z, batch_size)
        return _sigmoid(logits)


@keras.saving.register_keras_serializable(package="aelib")
class Autoencoder(_ReconstructionModel):
    """An autoencoder: image -> code of ``latent_dim`` numbers -> image.

    The encoder (a multilayer perceptron, or convolutions followed by one with
    ``architecture="conv"``; see :mod:`aelib.networks`) ends in a linear layer of
    ``latent_dim`` units, the bottleneck; the decoder mirrors it and ends in one
    logit per pixel. ``decode`` and ``reconstruct`` apply the sigmoid.

    The training loss (``reconstruction_loss``) is, per image and averaged over
    the batch:

    - ``"bernoulli"`` (default): binary cross-entropy between the input and the
      sigmoid of the logits, summed over pixels and computed from the logits;
    - ``"squared_error"``: squared error between the input and the sigmoid of
      the logits, summed over pixels.

    Args:
        input_shape: the shape of one image.
        latent_dim: the size of the code, the bottleneck.
        hidden_units: units of the encoder's hidden layers; the decoder uses
            them in reverse order.
        activation: activation of the hidden layers.
        reconstruction_loss: ``"bernoulli"`` or ``"squared_error"``.
        architecture: ``"dense"`` or ``"conv"``.
        conv_filters: filters of the stride-2 convolutions (``"conv"`` only).
        decoder_hidden_units: the decoder's dense hidden layers, from the code
            outward; ``None`` mirrors ``hidden_units`` for ``"dense"`` and
            gives none for ``"conv"``, whose code goes through one dense layer
            straight to the first feature map (see :mod:`aelib.networks`).
        **kwargs: standard model arguments such as ``name``.

    Example:
        >>> model = Autoencoder(latent_dim=32)
        >>> model.fit(x_train, epochs=5, batch_size=128)
        >>> codes = model.encode(x_test)  # (n, 32)
        >>> images = model.reconstruct(x_test)  # (n, 28, 28)
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28),
        latent_dim: int = 32,
        hidden_units: Sequence[int] = (256,),
        activation: str = "relu",
        reconstruction_loss: str = "bernoulli",
        architecture: str = "dense",
        conv_filters: Sequence[int] = (32, 64),
        decoder_hidden_units: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_shape, self.latent_dim, self.hidden_units = _check_sizes(
            input_shape, latent_dim, hidden_units
        )
        if reconstruction_loss not in _RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"reconstruction_loss must be one of {sorted(_RECONSTRUCTION_LOSSES)}, "
                f"got {reconstruction_loss!r}."
            )
        self.activation = activation
        self.reconstruction_loss = reconstruction_loss
        self.architecture = architecture
        self.conv_filters = check_architecture(
            architecture, self.image_shape, conv_filters
        )
        self.decoder_hidden_units = (
            None
            if decoder_hidden_units is None
            else decoder_units(architecture, self.hidden_units, decoder_hidden_units)
        )
        self._build_encoder([("code", self.latent_dim)])
        self._build_decoder()
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )

    def call(self, inputs, training: bool = False):
        z = self.encoder(inputs, training=training)
        return {"logits": self.decoder(z, training=training), "z": z}

    def reconstruction_term(self, x, logits):
        """The per-example reconstruction loss named by ``reconstruction_loss``."""
        if self.reconstruction_loss == "bernoulli":
            return losses.bernoulli_nll(x, logits)
        return losses.squared_error(x, ops.sigmoid(logits))

    def loss_terms(self, x, y_pred):
        """The reconstruction error per image, averaged over the batch."""
        reconstruction = ops.mean(self.reconstruction_term(x, y_pred["logits"]))
        return reconstruction, {"reconstruction_loss": reconstruction}

    def encode(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """Encodes images to codes of shape (n, latent_dim)."""
        x = validate_images(x, self.image_shape)
        return _batched(self.encoder, x, batch_size)

    def reconstruct(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """Encodes then decodes images; returns pixel values in [0, 1]."""
        return self.decode(self.encode(x, batch_size), batch_size)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_shape": list(self.image_shape),
            "latent_dim": self.latent_dim,
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "reconstruction_loss": self.reconstruction_loss,
            "architecture": self.architecture,
            "conv_filters": list(self.conv_filters),
            "decoder_hidden_units": (
                None
                if self.decoder_hidden_units is None
                else list(self.decoder_hidden_units)
            ),
        }


@keras.saving.register_keras_serializable(package="aelib")
class VAE(_ReconstructionModel):
    """A variational autoencoder with a Gaussian posterior and a Bernoulli decoder.

    The encoder maps an image x to the mean and log-variance of
    q(z|x) = N(z_mean, diag(exp(z_log_var))), two linear heads. A
    :class:`~aelib.layers.Sampling` layer draws z with the reparameterization
    trick, and the decoder maps z to one logit per pixel of p(x|z), a product
    of Bernoulli distributions. The prior is p(z) = N(0, I).

    The loss, per image and averaged over the batch, is the negative ELBO with
    a weight ``beta`` on the KL term (``beta=1`` is the true negative ELBO)::

        loss = reconstruction_loss + beta * kl_loss
        reconstruction_loss = -log p(x|z), z ~ q(z|x): binary cross-entropy
            from the logits, summed over pixels
        kl_loss = KL(q(z|x) || N(0, I)), in closed form, summed over latent
            dimensions

    ``fit`` and ``evaluate`` report all three. The weight lives in the
    non-trainable variable ``kl_weight`` so that a callback can anneal it
    (:class:`aelib.callbacks.KLAnnealing`).

    Free bits (Kingma et al., 2016): with ``free_bits`` = lambda > 0, the KL
    term of the *objective* becomes ``sum_j max(lambda, KL_j)``, where ``KL_j``
    is dimension j's KL averaged over the batch, so no dimension is pushed
    below lambda nats and the encoder keeps using it. ``kl_loss`` still
    reports the true KL.

    Args:
        input_shape: the shape of one image.
        latent_dim: the dimension of z.
        hidden_units: units of the encoder's hidden layers; the decoder uses
            them in reverse order.
        beta: the weight of the KL term, positive.
        activation: activation of the hidden layers.
        seed: seed of the sampling layer (``None``: from the global seed).
        architecture: ``"dense"`` or ``"conv"`` (see :mod:`aelib.networks`).
        conv_filters: filters of the stride-2 convolutions (``"conv"`` only).
        decoder_hidden_units: the decoder's dense hidden layers, from the code
            outward; ``None`` mirrors ``hidden_units`` for ``"dense"`` and
            gives none for ``"conv"`` (see :mod:`aelib.networks`).
        free_bits: nats per latent dimension below which the KL is not
            penalized; 0 turns it off.
        **kwargs: standard model arguments such as ``name``.

    Example:
        >>> vae = VAE(latent_dim=2)
        >>> history = vae.fit(x_train, epochs=10, batch_size=128)
        >>> z_mean, z_log_var = vae.encode(x_test)
        >>> digits = vae.sample(16)
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28),
        latent_dim: int = 2,
        hidden_units: Sequence[int] = (512,),
        beta: float = 1.0,
        activation: str = "relu",
        seed: int | None = None,
        architecture: str = "dense",
        conv_filters: Sequence[int] = (32, 64),
        free_bits: float = 0.0,
        decoder_hidden_units: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_shape, self.latent_dim, self.hidden_units = _check_sizes(
            input_shape, latent_dim, hidden_units
        )
        self.beta = validate_positive(beta, "beta")
        self.activation = activation
        self.seed = seed
        self.architecture = architecture
        self.conv_filters = check_architecture(
            architecture, self.image_shape, conv_filters
        )
        self.decoder_hidden_units = (
            None
            if decoder_hidden_units is None
            else decoder_units(architecture, self.hidden_units, decoder_hidden_units)
        )
        if isinstance(free_bits, bool) or not np.isfinite(free_bits) or free_bits < 0:
            raise ValueError(f"free_bits must be a number >= 0, got {free_bits!r}.")
        self.free_bits = float(free_bits)
        self._build_encoder(
            [("z_mean", self.latent_dim), ("z_log_var", self.latent_dim)]
        )
        self.sampling = Sampling(seed=seed, name="sampling")
        self._build_decoder()
        self.kl_weight = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.beta),
            trainable=False,
            name="kl_weight",
        )
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    def posterior(self, inputs, training: bool = False):
        """The parameters of q(z|x) as tensors: ``(z_mean, z_log_var)``.

        ``z_log_var`` is clipped to ``[-LOG_VAR_LIMIT, LOG_VAR_LIMIT]`` so that
        ``exp`` never overflows (see :data:`aelib.layers.LOG_VAR_LIMIT`).
        """
        z_mean, z_log_var = self.encoder(inputs, training=training)
        return z_mean, ops.clip(z_log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT)

    def call(self, inputs, training: bool = False):
        z_mean, z_log_var = self.posterior(inputs, training=training)
        z = self.sampling([z_mean, z_log_var])
        logits = self.decoder(z, training=training)
        return {"logits": logits, "z_mean": z_mean, "z_log_var": z_log_var, "z": z}

    def loss_terms(self, x, y_pred):
        """The negative ELBO per image, averaged over the batch: reconstruction + KL.

        The KL term is weighted by ``kl_weight`` (beta) and, with free bits,
        bounded below per dimension (:meth:`kl_objective`); ``kl_loss``
        reports the true KL.
        """
        reconstruction = ops.mean(
            losses.bernoulli_nll(self._images(x), y_pred["logits"])
        )
        kl_per_dimension = ops.mean(
            losses.gaussian_kl_per_dimension(y_pred["z_mean"], y_pred["z_log_var"]),
            axis=0,
        )
        loss = reconstruction + self.kl_objective(kl_per_dimension)
        kl = ops.sum(kl_per_dimension)
        return loss, {"reconstruction_loss": reconstruction, "kl_loss": kl}

    def kl_objective(self, kl_per_dimension):
        """The KL term the optimizer sees: ``kl_weight * sum_j max(lambda, KL_j)``.

        ``KL_j`` is dimension j's KL averaged over the batch and lambda is
        ``free_bits``; with ``free_bits=0`` this is ``kl_weight`` times the KL.
        """
        if self.free_bits > 0:
            kl_per_dimension = ops.maximum(kl_per_dimension, self.free_bits)
        weight = ops.cast(self.kl_weight, kl_per_dimension.dtype)
        return weight * ops.sum(kl_per_dimension)

    def encode(self, x: Any, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Returns the posterior parameters ``(z_mean, z_log_var)``, each (n, d)."""
        x = validate_images(x, self.image_shape)
        return _batched(self.posterior, x, batch_size)

    def reconstruct(self, x: Any, batch_size: int = 1024) -> np.ndarray:
        """Decodes the posterior mean of each image; returns pixel probabilities."""
        z_mean, _ = self.encode(x, batch_size)
        return self.decode(z_mean, batch_size)

    def sample(self, num_samples: int, seed: int | None = None) -> np.ndarray:
        """Draws z from the prior N(0, I) and decodes it.

        Args:
            num_samples: how many images.
            seed: seed of the draws (``None``: NumPy's global generator).

        Returns:
            Pixel probabilities, shape (num_samples, *input_shape): the mean of
            p(x|z), which is what VAE samples are usually shown as.
        """
        num_samples = validate_positive(num_samples, "num_samples", integer=True)
        rng = np.random.default_rng(seed) if seed is not None else np.random
        z = rng.standard_normal((num_samples, self.latent_dim)).astype(np.float32)
        return self.decode(z)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_shape": list(self.image_shape),
            "latent_dim": self.latent_dim,
            "hidden_units": list(self.hidden_units),
            "beta": self.beta,
            "activation": self.activation,
            "seed": self.seed,
            "architecture": self.architecture,
            "conv_filters": list(self.conv_filters),
            "free_bits": self.free_bits,
            "decoder_hidden_units": (
                None
                if self.decoder_hidden_units is None
                else list(self.decoder_hidden_units)
            ),
        }
