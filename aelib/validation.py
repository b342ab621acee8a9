"""Validation of user input, shared by every public entry point of aelib.

Models, losses and estimators fail deep inside TensorFlow when they are given
the wrong thing: a uint8 image with pixels 0-255 trains quietly to nonsense, a
NaN turns every weight into NaN, an image of the wrong size raises a shape
error from a matrix product. The functions here catch those cases first and
raise a :class:`ValueError` whose message names the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "validate_images",
    "validate_latent",
    "validate_labels",
    "validate_positive",
]


def _as_array(x: Any, name: str) -> np.ndarray:
    """Converts ``x`` to a NumPy array, refusing non-numeric content."""
    if x is None:
        raise ValueError(f"{name} is None; expected an array of images.")
    try:
        array = np.asarray(x)
    except Exception as error:  # ragged lists, exotic objects
        raise ValueError(
            f"{name} could not be turned into an array ({error}); pass a NumPy "
            "array of a single shape."
        ) from error
    if array.dtype == object or array.dtype.kind in "USVMm":  # M, m: date, time
        raise ValueError(
            f"{name} has dtype {array.dtype}, which is not numeric; pass a float "
            "array (for example float32)."
        )
    if array.dtype.kind == "c":
        raise ValueError(f"{name} has complex dtype {array.dtype}; pass real numbers.")
    return array


def validate_images(
    x: Any,
    image_shape: Sequence[int] = (28, 28),
    *,
    name: str = "x",
) -> np.ndarray:
    """Checks a batch of images and returns it as float32 of shape (n, *image_shape).

    The checks, in order, each with its own message: the input is numeric and
    not empty; it is not an integer array (raw uint8 pixels in 0-255 must be
    scaled to [0, 1] first); its shape is ``(n, *image_shape)`` or the flattened
    ``(n, prod(image_shape))`` (a trailing channel axis of size 1 is also
    accepted for 28x28 images); every value is finite; every value lies in
    [0, 1].

    Boolean arrays (binarized images) and float16/float64 arrays are accepted
    and converted to float32.

    Args:
        x: array-like of images.
        image_shape: the shape of one image, for example ``(28, 28)``.
        name: the argument's name, used in error messages.

    Returns:
        A float32 NumPy array of shape ``(n, *image_shape)``.

    Raises:
        ValueError: naming the first problem found.
    """
    image_shape = tuple(int(d) for d in image_shape)
    array = _as_array(x, name)
    if array.dtype.kind in "iu":
        maximum = int(array.max()) if array.size else 0
        hint = (
            f" Its largest value is {maximum}: these look like raw pixels in "
            "0-255; use x.astype('float32') / 255."
            if maximum > 1
            else " Convert it with x.astype('float32')."
        )
        raise ValueError(
            f"{name} has integer dtype {array.dtype}; aelib expects float pixel "
            f"values in [0, 1].{hint}"
        )
    if array.ndim == 0:
        raise ValueError(f"{name} is a scalar; expected a batch of images.")
    if array.shape[0] == 0 or array.size == 0:
        raise ValueError(
            f"{name} is empty (shape {array.shape}); expected at least one image."
        )
    num_pixels = int(np.prod(image_shape))
    expected = (array.shape[0], *image_shape)
    if array.shape[1:] == image_shape:
        pass
    elif array.shape[1:] == (num_pixels,):
        array = array.reshape(expected)
    elif array.shape[1:] == (*image_shape, 1) and len(image_shape) == 2:
        array = array.reshape(expected)
    else:
        if array.ndim == len(image_shape):
            hint = (
                f" It looks like a single image: add a batch axis with {name}[None]."
                if array.shape == image_shape
                else ""
            )
        else:
            hint = ""
        raise ValueError(
            f"{name} has shape {array.shape}; expected (n, "
            f"{', '.join(map(str, image_shape))}) or (n, {num_pixels}).{hint}"
        )
    array = array.astype(np.float32, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        num_nan = int(np.isnan(array).sum())
        num_inf = int(np.isinf(array).sum())
        raise ValueError(
            f"{name} contains {num_nan} NaN and {num_inf} infinite values; "
            "every pixel must be a finite number in [0, 1]."
        )
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        hint = (
            " These look like raw pixels in 0-255: divide by 255."
            if high > 1.0 and high <= 255.0 and low >= 0.0
            else ""
        )
        raise ValueError(
            f"{name} has values in [{low:g}, {high:g}]; pixel values must lie in "
            f"[0, 1].{hint}"
        )
    return array


def validate_latent(z: Any, latent_dim: int, *, name: str = "z") -> np.ndarray:
    """Checks latent codes and returns them as float32 of shape (n, latent_dim).

    Args:
        z: array-like of latent vectors.
        latent_dim: the model's latent dimension.
        name: the argument's name, used in error messages.

    Returns:
        A float32 NumPy array of shape ``(n, latent_dim)``.

    Raises:
        ValueError: for non-numeric, empty, wrongly shaped or non-finite input.
    """
    array = _as_array(z, name)
    if array.ndim == 1 and array.shape[0] == latent_dim:
        raise ValueError(
            f"{name} has shape {array.shape}, a single code; expected (n, "
            f"{latent_dim}): add a batch axis with {name}[None]."
        )
    if array.ndim != 2 or array.shape[1] != latent_dim:
        raise ValueError(
            f"{name} has shape {array.shape}; expected (n, {latent_dim}) for a "
            f"model with latent_dim={latent_dim}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty; expected at least one latent vector.")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def validate_labels(
    y: Any, num_classes: int, *, num_examples: int | None = None, name: str = "y"
) -> np.ndarray:
    """Checks integer class labels and returns them as int64 of shape (n,).

    Args:
        y: array-like of labels.
        num_classes: labels must lie in ``0 .. num_classes - 1``.
        num_examples: when given, the number of labels required.
        name: the argument's name, used in error messages.

    Returns:
        An int64 NumPy array of shape ``(n,)``.

    Raises:
        ValueError: for non-integer, wrongly shaped or out-of-range labels.
    """
    array = _as_array(y, name)
    if array.ndim != 1:
        raise ValueError(f"{name} has shape {array.shape}; expected (n,) labels.")
    if array.size == 0:
        raise ValueError(f"{name} is empty; expected at least one label.")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or not np.all(array == np.round(array)):
            raise ValueError(f"{name} must hold whole numbers (class indices).")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"{name} has dtype {array.dtype}; expected integers.")
    array = array.astype(np.int64)
    if array.min() < 0 or array.max() >= num_classes:
        raise ValueError(
            f"{name} has labels in [{array.min()}, {array.max()}]; expected 0 to "
            f"{num_classes - 1}."
        )
    if num_examples is not None and array.shape[0] != num_examples:
        raise ValueError(
            f"{name} has {array.shape[0]} labels for {num_examples} examples."
        )
    return array


def validate_positive(value: Any, name: str, *, integer: bool = False) -> Any:
    """Checks that a hyperparameter is a finite positive number.

    Args:
        value: the value to check.
        name: its name, used in the error message.
        integer: require a whole number (a count such as ``num_samples``).

    Returns:
        ``value`` as ``int`` or ``float``.

    Raises:
        ValueError: if the value is not a positive (whole) number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}.")
    if integer:
        if int(value) != value:
            raise ValueError(f"{name} must be a whole number, got {value!r}.")
        return int(value)
    return float(value)
