"""How real do generated images look? Two measurements, no human judgement.

A generative model's samples are only as good as the evidence for them. This
module gives two simple, checkable scores for 28x28 images:

- :func:`classifier_confidence`: a small classifier trained on real images
  (:func:`train_classifier`) is confident on real digits and unsure on
  scribbles, so its top-class probability measures how digit-like an image is;
- :func:`nearest_neighbor_distance`: the Euclidean distance from each image to
  the closest real training image, which is small for realistic images and
  large for blurs and blobs (and zero for copies: look at both).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers

from aelib.optimizers import default_optimizer
from aelib.validation import validate_images, validate_labels, validate_positive

__all__ = ["train_classifier", "classifier_confidence", "nearest_neighbor_distance"]


def train_classifier(
    x: Any,
    y: Any,
    *,
    num_classes: int = 10,
    hidden_units: int = 256,
    epochs: int = 5,
    batch_size: int = 128,
    seed: int = 0,
) -> keras.Model:
    """Trains a small dense classifier on labelled images (the judge of samples).

    Args:
        x: images in [0, 1], (n, 28, 28).
        y: integer labels, (n,).
        num_classes: number of classes.
        hidden_units: width of the single hidden layer.
        epochs: training epochs.
        batch_size: batch size.
        seed: seed of the weights' initialization and dropout.

    Returns:
        A compiled ``keras.Model`` mapping images to class probabilities.
    """
    x = validate_images(x, np.shape(x)[1:] if np.ndim(x) == 3 else (28, 28))
    y = validate_labels(y, num_classes, num_examples=x.shape[0])
    epochs = validate_positive(epochs, "epochs", integer=True)
    initializer = keras.initializers.GlorotUniform(seed=seed)
    model = keras.Sequential(
        [
            keras.Input(shape=x.shape[1:]),
            layers.Flatten(),
            layers.Dense(
                hidden_units, activation="relu", kernel_initializer=initializer
            ),
            layers.Dropout(0.2, seed=seed),
            layers.Dense(
                num_classes, activation="softmax", kernel_initializer=initializer
            ),
        ],
        name="classifier",
    )
    model.compile(
        optimizer=default_optimizer(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    return model


def classifier_confidence(classifier: keras.Model, images: Any) -> np.ndarray:
    """The classifier's top-class probability for each image, in [1/K, 1].

    Args:
        classifier: a model returning class probabilities, such as
            :func:`train_classifier` gives.
        images: images in [0, 1].

    Returns:
        float32 array of shape (n,).
    """
    images = validate_images(images, classifier.input_shape[1:], name="images")
    probabilities = classifier.predict(images, verbose=0, batch_size=1024)
    return probabilities.max(axis=1)


def nearest_neighbor_distance(
    images: Any, reference: Any, *, batch_size: int = 512
) -> np.ndarray:
    """Euclidean distance from each image to its nearest neighbour in ``reference``.

    Args:
        images: (n, 28, 28) images in [0, 1].
        reference: (m, 28, 28) real images, such as the training set.
        batch_size: images compared at a time (memory is batch_size x m).

    Returns:
        float64 array of shape (n,).
    """
    shape = np.shape(images)[1:] if np.ndim(images) == 3 else (28, 28)
    images = validate_images(images, shape, name="images").reshape(len(images), -1)
    reference = validate_images(reference, shape, name="reference")
    reference = reference.reshape(len(reference), -1).astype(np.float64)
    reference_norms = np.sum(reference**2, axis=1)
    distances = np.empty(len(images))
    for start in range(0, len(images), batch_size):
        block = images[start : start + batch_size].astype(np.float64)
        squared = (
            np.sum(block**2, axis=1)[:, None]
            - 2.0 * block @ reference.T
            + reference_norms[None, :]
        )
        distances[start : start + batch_size] = np.sqrt(
            np.maximum(squared.min(axis=1), 0.0)
        )
    return distances
