"""Figures the book uses: image grids, latent spaces, manifolds, training curves.

Every function returns a :class:`matplotlib.figure.Figure` and leaves global
pyplot state alone apart from creating it, so a notebook can glue the figure or
save it. Pixel values are drawn in grey with 0 as black and 1 as white.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import animation

from aelib.validation import validate_images, validate_labels, validate_positive

__all__ = [
    "image_grid",
    "reconstruction_grid",
    "latent_scatter",
    "manifold_grid",
    "prior_samples",
    "training_curves",
    "animate_images",
    "animation_html",
]


def _draw_images(axes_row: Sequence[Any], images: np.ndarray) -> None:
    for axis, image in zip(axes_row, images, strict=False):
        axis.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
    for axis in axes_row:
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_visible(False)


def image_grid(
    images: Any,
    num_columns: int = 10,
    *,
    title: str | None = None,
    image_size: float = 0.9,
) -> plt.Figure:
    """Draws images in a grid, row by row.

    Args:
        images: (n, 28, 28) or (n, 784) values in [0, 1].
        num_columns: images per row.
        title: an optional title.
        image_size: inches per image.
    """
    images = validate_images(images, _image_shape(images), name="images")
    num_columns = validate_positive(num_columns, "num_columns", integer=True)
    num_columns = min(num_columns, len(images))
    num_rows = -(-len(images) // num_columns)
    figure, axes = plt.subplots(
        num_rows,
        num_columns,
        figsize=(image_size * num_columns, image_size * num_rows),
        squeeze=False,
    )
    for row in range(num_rows):
        chunk = images[row * num_columns : (row + 1) * num_columns]
        _draw_images(axes[row], chunk)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def reconstruction_grid(
    originals: Any,
    reconstructions: Any,
    num_images: int = 10,
    *,
    labels: tuple[str, str] = ("original", "reconstruction"),
) -> plt.Figure:
    """Draws originals in the top row and their reconstructions below.

    Args:
        originals: (n, 28, 28) images in [0, 1].
        reconstructions: the model's output for the same images.
        num_images: how many pairs to draw.
        labels: the row labels.
    """
    shape = _image_shape(originals)
    originals = validate_images(originals, shape, name="originals")
    reconstructions = validate_images(reconstructions, shape, name="reconstructions")
    if len(originals) != len(reconstructions):
        raise ValueError(
            f"originals has {len(originals)} images but reconstructions has "
            f"{len(reconstructions)}."
        )
    count = min(
        validate_positive(num_images, "num_images", integer=True), len(originals)
    )
    figure, axes = plt.subplots(2, count, figsize=(0.9 * count, 2.0), squeeze=False)
    _draw_images(axes[0], originals[:count])
    _draw_images(axes[1], reconstructions[:count])
    axes[0, 0].set_ylabel(labels[0], rotation=0, ha="right", va="center")
    axes[1, 0].set_ylabel(labels[1], rotation=0, ha="right", va="center")
    figure.tight_layout()
    return figure


def latent_scatter(
    codes: Any,
    labels: Any,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    max_points: int = 5000,
    ax: Any = None,
) -> plt.Figure:
    """Scatters 2-D latent codes coloured by label (seaborn).

    Codes with more than two dimensions are shown by their first two.

    Args:
        codes: (n, d) latent codes, d >= 2.
        labels: (n,) integer labels.
        class_names: a name per label value for the legend.
        title: an optional title.
        max_points: draw at most this many points (a fixed subset).
        ax: an existing axis to draw into.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"codes has shape {codes.shape}; expected (n, d) with d >= 2.")
    num_classes = len(class_names) if class_names is not None else 10
    labels = validate_labels(
        labels, num_classes, num_examples=codes.shape[0], name="labels"
    )
    if codes.shape[0] > max_points:
        keep = np.random.default_rng(0).choice(
            codes.shape[0], max_points, replace=False
        )
        codes, labels = codes[keep], labels[keep]
    names = np.asarray(class_names if class_names is not None else range(10))
    if ax is None:
        figure, ax = plt.subplots(figsize=(5.5, 4.5))
    else:
        figure = ax.figure
    order = [str(n) for n in names[np.unique(labels)]]
    sns.scatterplot(
        x=codes[:, 0],
        y=codes[:, 1],
        hue=[str(n) for n in names[labels]],
        hue_order=order,
        palette="tab10",
        s=8,
        linewidth=0,
        alpha=0.7,
        ax=ax,
    )
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.legend(title="label", bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


def _normal_quantiles(num_points: int, low: float, high: float) -> np.ndarray:
    """Evenly spaced probabilities mapped through the standard normal inverse CDF."""
    normal = NormalDist()
    return np.array([normal.inv_cdf(p) for p in np.linspace(low, high, num_points)])


def manifold_grid(
    model: Any,
    num_points: int = 15,
    *,
    quantile_range: tuple[float, float] = (0.05, 0.95),
    title: str | None = None,
) -> plt.Figure:
    """Decodes a grid over a 2-D latent space and tiles the images.

    The grid is evenly spaced in probability, mapped through the inverse CDF of
    the standard normal, so it covers the prior where its mass is (the
    manifold figure of Kingma and Welling, 2014).

    Args:
        model: a model with ``latent_dim == 2`` and a ``decode`` method.
        num_points: grid points per axis.
        quantile_range: the range of probabilities covered on each axis.
        title: an optional title.
    """
    if getattr(model, "latent_dim", None) != 2:
        raise ValueError("manifold_grid needs a model with latent_dim == 2.")
    low, high = quantile_range
    if not 0.0 < low < high < 1.0:
        raise ValueError(
            f"quantile_range must satisfy 0 < low < high < 1, got {quantile_range}."
        )
    num_points = validate_positive(num_points, "num_points", integer=True)
    values = _normal_quantiles(num_points, low, high)
    z1, z2 = np.meshgrid(values, values[::-1])
    codes = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)
    images = model.decode(codes)
    height, width = images.shape[1:3]
    canvas = (
        images.reshape(num_points, num_points, height, width)
        .transpose(0, 2, 1, 3)
        .reshape(num_points * height, num_points * width)
    )
    figure, ax = plt.subplots(figsize=(6, 6))
    extent = (values[0], values[-1], values[-1], values[0])
    ax.imshow(
        canvas,
        cmap="gray",
        vmin=0,
        vmax=1,
        extent=(extent[0], extent[1], extent[3], extent[2]),
    )
    ax.set_xlabel("$z_1$ (normal quantiles)")
    ax.set_ylabel("$z_2$ (normal quantiles)")
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


def prior_samples(
    model: Any, num_samples: int = 40, num_columns: int = 10, *, seed: int = 0
) -> plt.Figure:
    """Draws ``num_samples`` images from a VAE's prior and shows them in a grid."""
    images = model.sample(num_samples, seed=seed)
    return image_grid(images, num_columns)


def training_curves(
    history: Any,
    metrics: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> plt.Figure:
    """Plots training (and validation) curves from a Keras ``History`` or a dict.

    Args:
        history: a ``keras.callbacks.History`` or its ``.history`` dictionary.
        metrics: which metrics to plot (default: every one without ``val_``).
        title: an optional title.
    """
    logs: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError("history must be a keras History or a non-empty dict.")
    if metrics is None:
        metrics = [name for name in logs if not name.startswith("val_")]
    missing = [name for name in metrics if name not in logs]
    if missing:
        raise ValueError(f"history has no metrics {missing}; it has {sorted(logs)}.")
    figure, axes = plt.subplots(
        1, len(metrics), figsize=(3.6 * len(metrics), 3.0), squeeze=False
    )
    for ax, name in zip(axes[0], metrics, strict=True):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker="o", markersize=3, label="train")
        if f"val_{name}" in logs:
            ax.plot(
                epochs,
                logs[f"val_{name}"],
                marker="o",
                markersize=3,
                label="validation",
            )
            ax.legend(fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_title(name.replace("_", " "))
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def animate_images(
    frames: Sequence[Any],
    titles: Sequence[str] | None = None,
    interval: int = 400,
    columns: int | None = None,
    *,
    image_size: float = 0.75,
    dpi: int = 90,
) -> animation.FuncAnimation:
    """Animates a sequence of image grids, one grid per frame.

    Typically the frames are the snapshots of
    :class:`aelib.callbacks.SampleSnapshots`: the same codes decoded after
    each epoch. Show the animation in a notebook or a built page with
    :func:`animation_html`. The figure is closed before
    returning, so a notebook does not also show a static copy; it is still
    drawn when the animation is saved. The default size and resolution keep
    the HTML small (16 images over 11 frames are a few hundred kilobytes).

    Args:
        frames: a non-empty list of arrays of shape ``(n, height, width)`` (or
            ``(n, 784)``), all of the same shape, values in [0, 1].
        titles: one title per frame (``None``: ``"1/11"``, ``"2/11"``, ...).
        interval: milliseconds between frames.
        columns: images per row (``None``: about the square root of n).
        image_size: inches per image.
        dpi: resolution of the figure and of its saved frames.

    Returns:
        The :class:`matplotlib.animation.FuncAnimation`.

    Raises:
        ValueError: for no frames, frames of different shapes, values outside
            [0, 1], or a wrong number of titles.
    """
    if isinstance(frames, np.ndarray) and frames.ndim >= 3:
        frames = list(frames)
    if not isinstance(frames, Sequence) or len(frames) == 0:
        raise ValueError("frames must be a non-empty list of image arrays.")
    shape = _image_shape(frames[0])
    checked = []
    for index, frame in enumerate(frames):
        if np.shape(frame) != np.shape(frames[0]):
            raise ValueError(
                f"frame {index} has shape {np.shape(frame)} but frame 0 has "
                f"{np.shape(frames[0])}; every frame must have the same shape."
            )
        checked.append(validate_images(frame, shape, name=f"frames[{index}]"))
    if titles is None:
        titles = [f"{i + 1}/{len(checked)}" for i in range(len(checked))]
    titles = [str(title) for title in titles]
    if len(titles) != len(checked):
        raise ValueError(
            f"titles has {len(titles)} entries but there are {len(checked)} frames."
        )
    interval = validate_positive(interval, "interval", integer=True)
    count = checked[0].shape[0]
    if columns is None:
        columns = int(np.ceil(np.sqrt(count)))
    columns = min(validate_positive(columns, "columns", integer=True), count)
    rows = -(-count // columns)
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(image_size * columns, image_size * rows + 0.3),
        squeeze=False,
        dpi=dpi,
    )
    shown = []
    for index, axis in enumerate(axes.ravel()):
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_visible(False)
        if index < count:
            shown.append(
                axis.imshow(checked[0][index], cmap="gray", vmin=0.0, vmax=1.0)
            )
    title = figure.suptitle(titles[0], fontsize=10)
    figure.subplots_adjust(
        left=0.02,
        right=0.98,
        bottom=0.02,
        top=1 - 0.3 / (image_size * rows + 0.3),
        wspace=0.05,
        hspace=0.05,
    )

    def update(frame_index: int) -> list[Any]:
        for image, pixels in zip(shown, checked[frame_index], strict=True):
            image.set_data(pixels)
        title.set_text(titles[frame_index])
        return [*shown, title]

    movie = animation.FuncAnimation(
        figure, update, frames=len(checked), interval=interval, blit=False
    )
    plt.close(figure)
    return movie


def _image_shape(images: Any) -> tuple[int, ...]:
    shape = np.shape(images)
    if len(shape) == 2 and shape[1] == 784:
        return (28, 28)
    return tuple(shape[1:]) if len(shape) >= 3 else (28, 28)


# The stylesheet that matplotlib's HTML player loads for its button icons.
_EXTERNAL_STYLESHEET = re.compile(
    r"<link[^>]*href=[\"']https?://[^>]*>\s*", re.IGNORECASE
)


def animation_html(movie: animation.Animation) -> Any:
    """The animation as a self-contained HTML player, for a notebook or a page.

    This is ``movie.to_jshtml()`` (every frame embedded as a PNG, buttons to
    play, pause and step) without the ``<link>`` by which matplotlib's player
    loads Font Awesome 4 from a CDN for its button icons: offline, or in a page
    that allows no request to another host, that link fails. The icons then
    come from the page itself: the book's theme ships Font Awesome (which knows
    the player's icon names), and so does JupyterLab.

    Args:
        movie: a matplotlib animation, such as :func:`animate_images` returns.

    Returns:
        An :class:`IPython.display.HTML` object; its ``data`` is the HTML.

    Raises:
        ValueError: if ``movie`` is not a matplotlib animation.
    """
    from IPython.display import HTML

    if not isinstance(movie, animation.Animation):
        raise ValueError(
            f"movie must be a matplotlib animation (as animate_images returns), "
            f"got {type(movie).__name__}."
        )
    return HTML(_EXTERNAL_STYLESHEET.sub("", movie.to_jshtml()))
