"""Encoder and decoder networks: dense (multilayer perceptron) or convolutional.

The models in :mod:`aelib.models` and their variants build their networks here,
so an architecture is written once. Every network is a functional
``keras.Model`` made of standard layers, which serializes without custom code.

- ``"dense"``: flatten, then ``Dense`` hidden layers (``hidden_units``); the
  decoder mirrors them and ends in one logit per pixel.
- ``"conv"``: for images whose sides divide by ``2 ** len(conv_filters)`` (28x28
  with two stride-2 layers). The encoder has ``Conv2D`` layers with stride 2 and
  ReLU, then the ``Dense`` hidden layers (``hidden_units``), then its heads. The
  decoder goes from the code through one ``Dense`` layer straight to the
  smallest feature map, then ``Conv2DTranspose`` layers with stride 2 back to
  full size: no narrow dense layer stands between the code and the feature
  map, as in the convolutional VAE of the Keras examples.

``decoder_hidden_units`` overrides the decoder's dense hidden layers (listed
from the code outward) for either architecture: ``None``, the default, mirrors
``hidden_units`` for ``"dense"`` and gives none for ``"conv"``.

A conditional network (``num_classes > 0``) takes a one-hot label as a second
input, concatenated to the flattened features in the encoder and to the code
in the decoder.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

__all__ = [
    "ARCHITECTURES",
    "build_encoder",
    "build_decoder",
    "check_architecture",
    "decoder_units",
]

ARCHITECTURES = ("dense", "conv")


def check_architecture(
    architecture: str, input_shape: tuple[int, ...], conv_filters: Sequence[int]
) -> tuple[int, ...]:
    """Checks that ``architecture`` fits ``input_shape``; returns the filters.

    Raises:
        ValueError: for an unknown architecture, or a convolutional one on
            images that are not 2-D with sides divisible by ``2 ** len(filters)``.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {ARCHITECTURES}, got {architecture!r}."
        )
    filters = tuple(int(f) for f in conv_filters)
    if architecture == "conv":
        if not filters or min(filters) <= 0:
            raise ValueError(f"conv_filters must be positive, got {conv_filters!r}.")
        factor = 2 ** len(filters)
        if len(input_shape) != 2 or any(side % factor for side in input_shape):
            raise ValueError(
                f"a convolutional network needs 2-D images whose sides divide by "
                f"{factor}; got input_shape={input_shape}."
            )
    return filters


def decoder_units(
    architecture: str,
    hidden_units: Sequence[int],
    decoder_hidden_units: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """The decoder's dense hidden layers, from the code outward.

    Args:
        architecture: ``"dense"`` or ``"conv"``.
        hidden_units: units of the encoder's dense hidden layers.
        decoder_hidden_units: the decoder's own, or ``None``: the mirror of
            ``hidden_units`` for ``"dense"``, none for ``"conv"`` (the code
            goes straight to the first feature map).

    Raises:
        ValueError: if an entry of ``decoder_hidden_units`` is not a positive
            integer.
    """
    if decoder_hidden_units is None:
        return () if architecture == "conv" else tuple(reversed(hidden_units))
    units = tuple(decoder_hidden_units)
    for value in units:
        if isinstance(value, bool) or int(value) != value or value <= 0:
            raise ValueError(
                "decoder_hidden_units entries must be positive integers, got "
                f"{decoder_hidden_units!r}."
            )
    return tuple(int(value) for value in units)


def _image_input(input_shape: tuple[int, ...]) -> keras.KerasTensor:
    return keras.Input(shape=input_shape, name="images")


def build_encoder(
    architecture: str,
    input_shape: tuple[int, ...],
    hidden_units: tuple[int, ...],
    activation: str,
    heads: Sequence[tuple[str, int]],
    *,
    conv_filters: tuple[int, ...] = (32, 64),
    num_classes: int = 0,
    name: str = "encoder",
) -> keras.Model:
    """An encoder from images (and labels) to one or more linear heads.

    Args:
        architecture: ``"dense"`` or ``"conv"``.
        input_shape: the shape of one image.
        hidden_units: units of the dense hidden layers (after the
            convolutions for ``"conv"``).
        activation: activation of the hidden layers.
        heads: ``(name, units)`` of each linear output, e.g. the code, or the
            posterior mean and log-variance.
        conv_filters: filters of the stride-2 convolutions (``"conv"`` only).
        num_classes: when positive, a one-hot label is a second input.
        name: the model's name.
    """
    images = _image_input(input_shape)
    inputs = [images]
    if architecture == "conv":
        hidden = layers.Reshape((*input_shape, 1), name="add_channel")(images)
        for index, filters in enumerate(conv_filters):
            convolution = layers.Conv2D(
                filters,
                3,
                strides=2,
                padding="same",
                activation=activation,
                name=f"conv_{index}",
            )
            hidden = convolution(hidden)
        hidden = layers.Flatten(name="flatten")(hidden)
    else:
        hidden = layers.Flatten(name="flatten")(images)
    if num_classes:
        labels = keras.Input(shape=(num_classes,), name="labels")
        inputs.append(labels)
        hidden = layers.Concatenate(name="with_labels")([hidden, labels])
    for index, units in enumerate(hidden_units):
        dense = layers.Dense(units, activation=activation, name=f"hidden_{index}")
        hidden = dense(hidden)
    outputs = [layers.Dense(units, name=head)(hidden) for head, units in heads]
    return keras.Model(
        inputs if len(inputs) > 1 else images,
        outputs if len(outputs) > 1 else outputs[0],
        name=name,
    )


def build_decoder(
    architecture: str,
    input_shape: tuple[int, ...],
    latent_dim: int,
    hidden_units: tuple[int, ...],
    activation: str,
    *,
    decoder_hidden_units: Sequence[int] | None = None,
    conv_filters: tuple[int, ...] = (32, 64),
    num_classes: int = 0,
    name: str = "decoder",
) -> keras.Model:
    """A decoder from codes (and labels) to one logit per pixel.

    Dense: the hidden layers of :func:`decoder_units` (the encoder's in
    reverse order), then one logit per pixel. Convolutional: by default one
    dense layer from the code to the smallest feature map, then stride-2
    transposed convolutions back to full size and a 3x3 convolution to one
    logit per pixel.

    Args:
        architecture: ``"dense"`` or ``"conv"``.
        input_shape: the shape of one image.
        latent_dim: the size of the code.
        hidden_units: units of the encoder's dense hidden layers.
        activation: activation of the hidden layers.
        decoder_hidden_units: the decoder's dense hidden layers, from the code
            outward; ``None`` for the default of :func:`decoder_units`.
        conv_filters: filters of the encoder's convolutions, used in reverse
            order (``"conv"`` only).
        num_classes: when positive, a one-hot label is a second input.
        name: the model's name.
    """
    codes = keras.Input(shape=(latent_dim,), name="codes")
    inputs = [codes]
    hidden = codes
    if num_classes:
        labels = keras.Input(shape=(num_classes,), name="labels")
        inputs.append(labels)
        hidden = layers.Concatenate(name="with_labels")([codes, labels])
    units_per_layer = decoder_units(architecture, hidden_units, decoder_hidden_units)
    for index, units in enumerate(units_per_layer):
        dense = layers.Dense(units, activation=activation, name=f"hidden_{index}")
        hidden = dense(hidden)
    if architecture == "conv":
        factor = 2 ** len(conv_filters)
        small = (input_shape[0] // factor, input_shape[1] // factor, conv_filters[-1])
        to_feature_map = layers.Dense(
            int(np.prod(small)), activation=activation, name="to_feature_map"
        )
        hidden = layers.Reshape(small, name="feature_map")(to_feature_map(hidden))
        for index, filters in enumerate(reversed(conv_filters)):
            transposed = layers.Conv2DTranspose(
                filters,
                3,
                strides=2,
                padding="same",
                activation=activation,
                name=f"deconv_{index}",
            )
            hidden = transposed(hidden)
        logits = layers.Conv2D(1, 3, padding="same", name="logits")(hidden)
    else:
        logits = layers.Dense(int(np.prod(input_shape)), name="logits")(hidden)
    logits = layers.Reshape(input_shape, name="image_logits")(logits)
    return keras.Model(inputs if len(inputs) > 1 else codes, logits, name=name)
