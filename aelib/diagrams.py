"""Diagrams drawn by code: architectures, graphical models, the reparameterization
trick and the two terms of the ELBO.

Every picture is drawn with Matplotlib from data, never from an image file, so
it cannot drift from the code: :func:`draw_architecture` reads the layers of a
model's encoder and decoder and prints each layer's output shape. Labels are
in notation (:math:`x`, :math:`z`, :math:`\\mu`, :math:`q_\\phi(z \\mid x)`,
shapes such as ``(14, 14, 32)``) and Keras identifiers (``Dense``,
``conv_0``), so one executed figure serves every edition of the book; words
belong in the caption.

The colours are the same in every diagram (:data:`COLORS`): data in grey,
the encoder in blue, codes and posterior parameters in green, the decoder in
orange, random nodes in purple and gradients in red.

Every function returns the :class:`matplotlib.figure.Figure` it drew on (the
figure of ``ax`` when an axis is given) and never calls ``plt.show()``.
Artists that tests look for carry a ``gid``: ``"node:<key>"`` for nodes,
``"arrow:<from>-><to>"`` for forward arrows, ``"gradient:<from>-><to>"`` for
gradient arrows, ``"blocked:<key>"`` for the cross that marks where no
gradient flows, and ``"bar:reconstruction"`` / ``"bar:kl"`` for the bars of
:func:`draw_elbo_terms`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import (
    Circle,
    FancyArrowPatch,
    FancyBboxPatch,
    Patch,
    Rectangle,
)
from matplotlib.path import Path
from matplotlib.textpath import TextPath

__all__ = [
    "COLORS",
    "draw_architecture",
    "draw_graphical_model",
    "draw_reparameterization",
    "draw_elbo_terms",
]

COLORS: dict[str, tuple[str, str]] = {
    "data": ("#eeeeee", "#555555"),
    "encoder": ("#dbe8f6", "#2f6aa8"),
    "code": ("#dcefd6", "#3a7a2a"),
    "decoder": ("#fbe3d0", "#c0602a"),
    "random": ("#ece0f5", "#7440a0"),
    "trivial": ("#f6f6f6", "#9a9a9a"),
}
"""``(fill, edge)`` colour of each kind of node."""

GRADIENT_COLOR = "#d62728"
ARROW_COLOR = "#3a3a3a"

_SCALE = 0.7
"""Inches per data unit of the architecture diagram (text sizes are in points)."""


def _units(points: float) -> float:
    """Data units of the architecture diagram that ``points`` points span."""
    return points / 72.0 / _SCALE


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Any, bool]:
    """The figure and axis to draw on, and whether they were created here."""
    if ax is None:
        figure, ax = plt.subplots(figsize=figsize)
        return figure, ax, True
    return ax.figure, ax, False


def _hide_axes(ax: Any) -> None:
    ax.set_aspect("equal")
    ax.set_axis_off()


def _arrow(
    ax: Any,
    start: Any,
    end: Any,
    *,
    gid: str,
    color: str = ARROW_COLOR,
    linestyle: str = "-",
    linewidth: float = 1.1,
    connectionstyle: str = "arc3",
    path: Path | None = None,
    shrink: float = 2.0,
    zorder: float = 1.0,
) -> FancyArrowPatch:
    """An arrow between two points or patches (patches clip it at their edges)."""
    kwargs: dict[str, Any] = {
        "arrowstyle": "-|>",
        "mutation_scale": 11,
        "color": color,
        "linewidth": linewidth,
        "linestyle": linestyle,
        "zorder": zorder,
    }
    if path is not None:
        arrow = FancyArrowPatch(path=path, **kwargs)
    else:
        patch_a = start if not isinstance(start, tuple) else None
        patch_b = end if not isinstance(end, tuple) else None
        arrow = FancyArrowPatch(
            posA=_center(start),
            posB=_center(end),
            patchA=patch_a,
            patchB=patch_b,
            shrinkA=shrink,
            shrinkB=shrink,
            connectionstyle=connectionstyle,
            **kwargs,
        )
    arrow.set_gid(gid)
    ax.add_patch(arrow)
    return arrow


def _center(item: Any) -> tuple[float, float]:
    if isinstance(item, tuple):
        return item
    if isinstance(item, Circle):
        return tuple(item.center)
    box = item.get_bbox() if isinstance(item, FancyBboxPatch) else None
    if box is not None:
        return (box.x0 + box.width / 2, box.y0 + box.height / 2)
    x, y = item.get_xy()
    return (x + item.get_width() / 2, y + item.get_height() / 2)


# --------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------


@dataclasses.dataclass
class _Line:
    text: str
    size: float = 8.0
    color: str = "#1a1a1a"
    family: str | None = None


@dataclasses.dataclass
class _Node:
    """One box of the architecture diagram."""

    key: str
    kind: str
    lines: list[_Line]
    width: float
    height: float
    x: float = 0.0
    y: float = 0.0
    patch: Any = None

    @property
    def top(self) -> float:
        return self.y + self.height / 2

    @property
    def bottom(self) -> float:
        return self.y - self.height / 2

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2


def _shape_text(shape: Sequence[Any]) -> str:
    return str(tuple(int(d) if d is not None else None for d in shape))


def _output_shape(layer: Any) -> tuple[int, ...]:
    output = layer.output
    if isinstance(output, list | tuple):
        output = output[0]
    return tuple(output.shape[1:])


def _text_width(lines: Sequence[_Line]) -> float:
    """The width of the widest line, in data units, measured from its glyphs."""
    widths = []
    for line in lines:
        font = FontProperties(family=line.family or "sans-serif", size=line.size)
        path = TextPath((0, 0), line.text, size=line.size, prop=font)
        extents = path.get_extents()
        widths.append(_units(extents.width if np.isfinite(extents.width) else 0.0))
    return max(widths)


def _box_height(lines: Sequence[_Line], size: int | None, kind: str) -> float:
    text = _units(sum(line.size * 1.32 for line in lines)) + 0.14
    if kind == "trivial" or size is None:
        return text
    grown = 0.62 + 0.2 * math.log10(max(size, 1))
    return max(text, min(grown, 1.6))


def _node(
    key: str,
    kind: str,
    lines: list[_Line],
    size: int | None = None,
    min_width: float = 0.9,
) -> _Node:
    width = float(max(min_width, _text_width(lines) + 0.3))
    return _Node(key, kind, lines, width, _box_height(lines, size, kind))


def _name_line(text: str) -> _Line:
    return _Line(text, 6.3, "#555555", "monospace")


def _shape_line(shape: Sequence[int]) -> _Line:
    return _Line(_shape_text(shape), 7.6, "#333333")


def _activation(layer: Any) -> str:
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or ""
    return "" if name in ("linear", "") else name


def _layer_node(layer: Any, kind: str, prefix: str) -> _Node:
    """The box of one Keras layer: what it is, its output shape, its name."""
    shape = _output_shape(layer)
    size = int(np.prod(shape))
    kind_name = type(layer).__name__
    activation = _activation(layer)
    name = layer.name + (f" · {activation}" if activation else "")
    key = f"{prefix}:{layer.name}"
    if kind_name == "Dense":
        lines = [_Line(f"Dense {layer.units}", 8.2), _shape_line(shape)]
        return _node(key, kind, [*lines, _name_line(name)], size)
    if kind_name in ("Conv2D", "Conv2DTranspose"):
        kernel = "×".join(str(k) for k in layer.kernel_size)
        strides = tuple(layer.strides)
        stride = strides[0] if len(set(strides)) == 1 else "×".join(map(str, strides))
        step = (
            ""
            if stride == 1
            else (f", /{stride}" if kind_name == "Conv2D" else f", ×{stride}")
        )
        lines = [
            _Line(kind_name, 7.6),
            _Line(f"{layer.filters}, {kernel}{step}", 7.6),
            _shape_line(shape),
            _name_line(name),
        ]
        return _node(key, kind, lines, size, min_width=1.1)
    if kind_name in ("Flatten", "Reshape", "Concatenate"):
        lines = [
            _Line(kind_name, 6.8, "#333333"),
            _Line(_shape_text(shape), 6.8, "#333333"),
            _name_line(layer.name),
        ]
        return _node(key, "trivial", lines, None, min_width=0.7)
    lines = [_Line(kind_name, 7.6), _shape_line(shape), _name_line(name)]
    return _node(key, kind, lines, size)


def _data_node(key: str, symbol: str, shape: Sequence[int], name: str) -> _Node:
    lines = [_Line(symbol, 11.0), _shape_line(shape), _name_line(name)]
    return _node(key, "data", lines, None, min_width=0.85)


def _model_kinds(model: Any) -> dict[str, bool]:
    from aelib.conditional import ConditionalVAE
    from aelib.denoising import DenoisingAutoencoder
    from aelib.models import VAE
    from aelib.sparse import SparseAutoencoder

    return {
        "vae": isinstance(model, VAE),
        "conditional": isinstance(model, ConditionalVAE),
        "denoising": isinstance(model, DenoisingAutoencoder),
        "sparse": isinstance(model, SparseAutoencoder),
    }


def _architecture_nodes(model: Any) -> dict[str, Any]:
    """The model's nodes, in order: encoder chain, decoder chain, side inputs."""
    for network in ("encoder", "decoder"):
        if not hasattr(getattr(model, network, None), "layers"):
            raise ValueError(
                f"draw_architecture needs a model with an {network} network "
                f"(an aelib Autoencoder, VAE or their variants); got "
                f"{type(model).__name__}."
            )
    kinds = _model_kinds(model)
    encoder, decoder = model.encoder, model.decoder
    images = encoder.inputs[0]
    encoder_chain: list[Any] = [
        _data_node("x", "$x$", tuple(images.shape[1:]), "images")
    ]
    if kinds["denoising"]:
        encoder_chain.append(
            _node(
                "x_tilde",
                "random",
                [
                    _Line(r"$\tilde{x}$", 11.0),
                    _shape_line(tuple(images.shape[1:])),
                    _name_line(f"{model.noise}, {model.noise_level:g}"),
                ],
                None,
                min_width=0.85,
            )
        )
    output_names = {tensor.name for tensor in encoder.outputs}
    heads: list[_Node] = []
    labels: _Node | None = None
    concat_keys: list[str] = []
    for layer in encoder.layers:
        kind_name = type(layer).__name__
        if kind_name == "InputLayer":
            if layer.output.name != images.name:
                labels = _data_node(
                    "y", "$y$", _output_shape(layer), f"{layer.name} · one-hot"
                )
            continue
        if layer.output.name in output_names:
            heads.append(_head_node(layer, kinds))
            continue
        node = _layer_node(layer, "encoder", "encoder")
        if kind_name == "Concatenate":
            concat_keys.append(node.key)
        encoder_chain.append(node)
    latent_dim = int(model.latent_dim)
    if kinds["vae"]:
        encoder_chain.append(heads)
        encoder_chain.append(
            _node(
                "z",
                "code",
                [
                    _Line(r"$z = \mu + \sigma \odot \epsilon$", 8.6),
                    _shape_line((latent_dim,)),
                    _name_line(model.sampling.name),
                ],
                None,
                min_width=1.5,
            )
        )
    else:
        encoder_chain.extend(heads)
    decoder_chain: list[_Node] = []
    for layer in decoder.layers:
        kind_name = type(layer).__name__
        if kind_name == "InputLayer":
            continue
        node = _layer_node(layer, "decoder", "decoder")
        if kind_name == "Concatenate":
            concat_keys.append(node.key)
        decoder_chain.append(node)
    output_shape = tuple(decoder.outputs[0].shape[1:])
    decoder_chain.append(_data_node("x_hat", r"$\hat{x}$", output_shape, "sigmoid"))
    return {
        "encoder": encoder_chain,
        "decoder": decoder_chain,
        "labels": labels,
        "concat": concat_keys,
        "kinds": kinds,
    }


def _head_node(layer: Any, kinds: dict[str, bool]) -> _Node:
    shape = _output_shape(layer)
    symbol = {"z_mean": r"$\mu$", "z_log_var": r"$\log\sigma^2$"}.get(layer.name, "$z$")
    key = {"z_mean": "mu", "z_log_var": "log_var"}.get(layer.name, "z")
    lines = [
        _Line(symbol, 10.5 if key != "log_var" else 9.5),
        _shape_line(shape),
        _name_line(layer.name),
    ]
    if kinds["sparse"] and key == "z":
        lines.insert(2, _Line(r"$+\lambda\,\|z\|_1$", 7.6, "#3a7a2a"))
    node = _node(key, "code", lines, None if key != "z" else int(np.prod(shape)))
    return node


def _width(item: Any) -> float:
    return max(n.width for n in item) if isinstance(item, list) else item.width


def _height(item: Any) -> float:
    if isinstance(item, list):
        return sum(n.height for n in item) + 0.12 * (len(item) - 1)
    return item.height


def _place(item: Any, x: float, y: float) -> None:
    if not isinstance(item, list):
        item.x, item.y = x, y
        return
    total = _height(item)
    top = y + total / 2
    for node in item:
        node.x, node.y = x, top - node.height / 2
        top -= node.height + 0.12


def _flat(items: Sequence[Any]) -> list[_Node]:
    nodes: list[_Node] = []
    for item in items:
        nodes.extend(item if isinstance(item, list) else [item])
    return nodes


_GAP = 0.38


def _row_width(items: Sequence[Any]) -> float:
    return sum(_width(item) for item in items) + _GAP * (len(items) - 1)


def _draw_node(ax: Any, node: _Node) -> None:
    fill, edge = COLORS[node.kind]
    patch = FancyBboxPatch(
        (node.left, node.bottom),
        node.width,
        node.height,
        boxstyle="round,pad=0,rounding_size=0.12",
        facecolor=fill,
        edgecolor=edge,
        linewidth=1.2 if node.kind != "trivial" else 0.9,
        zorder=2,
    )
    patch.set_gid(f"node:{node.key}")
    ax.add_patch(patch)
    node.patch = patch
    heights = [line.size * 1.32 for line in node.lines]
    offset = sum(heights) / 2
    for line, height in zip(node.lines, heights, strict=True):
        offset -= height / 2
        ax.annotate(
            line.text,
            (node.x, node.y),
            xytext=(0, offset),
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=line.size,
            color=line.color,
            family=line.family,
            zorder=3,
        )
        offset -= height / 2


def _region_label(
    ax: Any, nodes: Sequence[_Node], text: str, color: str, y: float, above: bool
) -> None:
    left = min(n.left for n in nodes)
    right = max(n.right for n in nodes)
    tick = 0.1 if above else -0.1
    ax.plot(
        [left, left, right, right],
        [y - tick, y, y, y - tick],
        color=color,
        linewidth=1.0,
        solid_capstyle="butt",
    )
    ax.text(
        (left + right) / 2,
        y + (0.08 if above else -0.08),
        text,
        ha="center",
        va="bottom" if above else "top",
        fontsize=10,
        color=color,
    )


def draw_architecture(
    model: Any, ax: Any = None, *, layout: str = "auto", max_width: float = 10.0
) -> Figure:
    """Draws a model's encoder and decoder, layer by layer, with output shapes.

    The diagram is read from the model: every layer of ``model.encoder`` and
    ``model.decoder`` becomes a box with its type (``Dense`` with its units,
    ``Conv2D`` with filters, kernel and stride), its output shape and its name.
    An autoencoder's code is :math:`z`; a VAE's encoder ends in the two heads
    :math:`\\mu` and :math:`\\log\\sigma^2`, followed by the sampling node
    :math:`z = \\mu + \\sigma \\odot \\epsilon` with the noise
    :math:`\\epsilon \\sim \\mathcal{N}(0, I)` entering from outside. A
    conditional VAE's label :math:`y` enters both networks; a denoising
    autoencoder corrupts :math:`x` to :math:`\\tilde{x}` before encoding. The
    networks are functional Keras models, so the shapes are known before the
    model has seen any data, on every backend.

    Args:
        model: an :class:`aelib.Autoencoder`, :class:`aelib.VAE` or one of
            their variants, trained or not.
        ax: an axis to draw into; ``None`` creates a figure sized to the
            diagram.
        layout: ``"row"`` (one row, left to right), ``"u"`` (the encoder left
            to right on top, the decoder right to left below) or ``"auto"``
            (one row when it fits in ``max_width`` inches).
        max_width: the widest figure, in inches, that ``"auto"`` allows for
            one row.

    Returns:
        The figure drawn on.

    Raises:
        ValueError: for a model without encoder and decoder networks, or an
            unknown layout.
    """
    if layout not in ("auto", "row", "u"):
        raise ValueError(f"layout must be 'auto', 'row' or 'u', got {layout!r}.")
    parts = _architecture_nodes(model)
    encoder_chain, decoder_chain = parts["encoder"], parts["decoder"]
    kinds = parts["kinds"]
    chain = encoder_chain + decoder_chain
    if layout == "auto":
        layout = "row" if _row_width(chain) * _SCALE <= max_width else "u"

    tallest = max(_height(item) for item in chain)
    if layout == "row":
        cursor = 0.0
        for item in chain:
            _place(item, cursor + _width(item) / 2, 0.0)
            cursor += _width(item) + _GAP
        rows = [0.0]
    else:
        top_tallest = max(_height(item) for item in encoder_chain)
        bottom_tallest = max(_height(item) for item in decoder_chain)
        lane = 1.0 if parts["labels"] is not None else 0.55
        drop = top_tallest / 2 + bottom_tallest / 2 + lane
        cursor = 0.0
        for item in encoder_chain:
            _place(item, cursor + _width(item) / 2, 0.0)
            cursor += _width(item) + _GAP
        turn = _flat([encoder_chain[-1]])[-1].x
        x = turn + _width(decoder_chain[0]) / 2
        for item in decoder_chain:
            x -= _width(item) / 2
            _place(item, x, -drop)
            x -= _width(item) / 2 + _GAP
        rows = [0.0, -drop]

    figure, ax, created = _new_axes(ax, (1.0, 1.0))
    nodes = _flat(chain)
    for node in nodes:
        _draw_node(ax, node)
    by_key = {node.key: node for node in nodes}

    def link(a: Any, b: Any) -> None:
        for start in a if isinstance(a, list) else [a]:
            for end in b if isinstance(b, list) else [b]:
                _arrow(ax, start.patch, end.patch, gid=f"arrow:{start.key}->{end.key}")

    for a, b in zip(chain[:-1], chain[1:], strict=True):
        link(a, b)

    extra_top = 0.0
    extra_bottom = 0.0
    if kinds["vae"]:
        z = by_key["z"]
        radius = 0.24
        epsilon = Circle(
            (z.x, z.top + 0.55 + radius),
            radius,
            facecolor=COLORS["random"][0],
            edgecolor=COLORS["random"][1],
            linewidth=1.2,
            zorder=2,
        )
        epsilon.set_gid("node:epsilon")
        ax.add_patch(epsilon)
        ax.text(
            z.x,
            epsilon.center[1],
            r"$\epsilon$",
            ha="center",
            va="center",
            fontsize=11,
            zorder=3,
        )
        ax.text(
            z.x,
            epsilon.center[1] + radius + 0.08,
            r"$\epsilon \sim \mathcal{N}(0, I)$"
            + f"\n{_shape_text((model.latent_dim,))}",
            ha="center",
            va="bottom",
            fontsize=8.4,
            color=COLORS["random"][1],
            linespacing=1.25,
        )
        _arrow(ax, epsilon, z.patch, gid="arrow:epsilon->z")
        extra_top = z.top + 0.55 + 2 * radius + _units(2 * 8.4 * 1.3) + 0.2

    labels = parts["labels"]
    if labels is not None:
        targets = [by_key[key] for key in parts["concat"]]
        if layout == "row":
            y = -tallest / 2 - 0.45 - labels.height / 2
            x = (targets[0].x + targets[-1].x) / 2
        else:
            y = (
                rows[1] / 2
                + (
                    max(_height(i) for i in encoder_chain)
                    - max(_height(i) for i in decoder_chain)
                )
                / 4
            )
            x = targets[0].x
        _place(labels, x, y)
        _draw_node(ax, labels)
        nodes.append(labels)
        for target in targets:
            _label_arrow(ax, labels, target, layout)
        extra_bottom = labels.bottom - 0.1

    encoder_nodes = [
        n for n in nodes if n.kind == "encoder" or n.key.startswith("encoder:")
    ]
    encoder_nodes += [n for n in nodes if n.key in ("mu", "log_var")]
    if not kinds["vae"]:
        encoder_nodes += [n for n in nodes if n.key == "z"]
    decoder_nodes = [n for n in nodes if n.key.startswith("decoder:")]
    if kinds["vae"]:
        enc_text, dec_text = r"$q_\phi(z \mid x)$", r"$p_\theta(x \mid z)$"
        if kinds["conditional"]:
            enc_text, dec_text = r"$q_\phi(z \mid x, y)$", r"$p_\theta(x \mid z, y)$"
    else:
        enc_text, dec_text = r"$z = f_\phi(x)$", r"$\hat{x} = g_\theta(z)$"
    top_of = max(n.top for n in nodes if abs(n.y - rows[0]) < 1.0)
    _region_label(
        ax, encoder_nodes, enc_text, COLORS["encoder"][1], top_of + 0.25, True
    )
    if layout == "row":
        _region_label(
            ax, decoder_nodes, dec_text, COLORS["decoder"][1], top_of + 0.25, True
        )
        label_bottom = min(n.bottom for n in nodes)
    else:
        bottom_of = min(n.bottom for n in decoder_nodes)
        _region_label(
            ax, decoder_nodes, dec_text, COLORS["decoder"][1], bottom_of - 0.25, False
        )
        label_bottom = bottom_of - 0.25 - _units(10 * 1.4)

    xs = [n.left for n in nodes] + [n.right for n in nodes]
    left, right = min(xs) - 0.15, max(xs) + 0.15
    top = max(top_of + 0.33 + _units(10 * 1.9), extra_top)
    bottom = min(label_bottom, extra_bottom, min(n.bottom for n in nodes)) - 0.15
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    _hide_axes(ax)
    if created:
        figure.set_size_inches((right - left) * _SCALE, (top - bottom) * _SCALE)
        figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
    return figure


def _label_arrow(ax: Any, labels: _Node, target: _Node, layout: str) -> None:
    """An orthogonal arrow from the label node to a concatenation."""
    gid = f"arrow:y->{target.key}"
    if layout == "row" or target.y > labels.y:
        # The target is above the label lane: enter it from below.
        if abs(target.x - labels.x) < 0.05:
            vertices = [(labels.x, labels.top), (target.x, target.bottom)]
        else:
            side = labels.right if target.x > labels.x else labels.left
            vertices = [
                (side, labels.y),
                (target.x, labels.y),
                (target.x, target.bottom),
            ]
    else:
        x = target.x - 0.3 * target.width
        side = labels.right if x > labels.x else labels.left
        vertices = [(side, labels.y), (x, labels.y), (x, target.top)]
    codes = [Path.MOVETO] + [Path.LINETO] * (len(vertices) - 1)
    _arrow(ax, None, None, gid=gid, path=Path(vertices, codes))


# --------------------------------------------------------------------------
# Graphical model
# --------------------------------------------------------------------------


def _random_variable(
    ax: Any,
    key: str,
    center: tuple[float, float],
    symbol: str,
    observed: bool,
    radius: float = 0.36,
) -> Circle:
    fill = "#bdbdbd" if observed else "white"
    circle = Circle(
        center, radius, facecolor=fill, edgecolor="#222222", linewidth=1.4, zorder=2
    )
    circle.set_gid(f"node:{key}")
    ax.add_patch(circle)
    ax.text(*center, symbol, ha="center", va="center", fontsize=15, zorder=3)
    return circle


def _parameter(ax: Any, key: str, center: tuple[float, float], symbol: str) -> Circle:
    dot = Circle(center, 0.06, facecolor="#222222", edgecolor="#222222", zorder=2)
    dot.set_gid(f"node:{key}")
    ax.add_patch(dot)
    ax.text(center[0], center[1] + 0.14, symbol, ha="center", va="bottom", fontsize=13)
    return dot


def draw_graphical_model(ax: Any = None, conditional: bool = False) -> Figure:
    """Draws the VAE as a directed graphical model, with a plate over N images.

    The latent :math:`z` (open circle) generates the observed :math:`x`
    (shaded) through :math:`p_\\theta(x \\mid z)` (solid arrow), with the prior
    :math:`p(z) = \\mathcal{N}(0, I)`; the inference model
    :math:`q_\\phi(z \\mid x)` is the dashed arrow back, as in Figure 1 of
    Kingma and Welling (2014). The parameters :math:`\\theta` and
    :math:`\\phi` are shared by all N images, so they stand outside the plate.
    With ``conditional=True`` an observed label :math:`y` points into both
    :math:`x` and the inference of :math:`z`.

    Args:
        ax: an axis to draw into; ``None`` creates a figure.
        conditional: draw the conditional VAE, with the label :math:`y`.

    Returns:
        The figure drawn on.
    """
    figure, ax, created = _new_axes(ax, (5.6 if conditional else 4.8, 3.4))
    z_center, x_center = (0.0, 1.6), (0.0, 0.0)
    z = _random_variable(ax, "z", z_center, "$z$", observed=False)
    x = _random_variable(ax, "x", x_center, "$x$", observed=True)
    given = ", y" if conditional else ""
    _arrow(ax, z, x, gid="arrow:z->x", linewidth=1.4, shrink=0)
    ax.text(
        0.1,
        0.8,
        rf"$p_\theta(x \mid z{given})$",
        ha="left",
        va="center",
        fontsize=10.5,
    )
    _arrow(
        ax,
        x,
        z,
        gid="arrow:x->z",
        linestyle="--",
        linewidth=1.2,
        connectionstyle="arc3,rad=-0.55",
        shrink=0,
    )
    ax.text(
        -0.62,
        0.8,
        rf"$q_\phi(z \mid x{given})$",
        ha="right",
        va="center",
        fontsize=10.5,
    )
    ax.text(
        0.46,
        1.72,
        r"$p(z) = \mathcal{N}(0, I)$",
        ha="left",
        va="center",
        fontsize=10,
    )
    left, right = -1.95, 1.85
    if conditional:
        y = _random_variable(ax, "y", (-2.25, 0.0), "$y$", observed=True)
        _arrow(ax, y, x, gid="arrow:y->x", linewidth=1.4, shrink=0)
        _arrow(
            ax,
            y,
            z,
            gid="arrow:y->z",
            linestyle="--",
            linewidth=1.2,
            connectionstyle="arc3,rad=-0.25",
            shrink=0,
        )
        left = -2.85
    plate = Rectangle(
        (left, -0.65),
        right - left,
        2.95,
        fill=False,
        edgecolor="#444444",
        linewidth=1.0,
    )
    plate.set_gid("plate")
    ax.add_patch(plate)
    ax.text(right - 0.1, -0.55, "$N$", ha="right", va="bottom", fontsize=11)
    theta = _parameter(ax, "theta", (right + 0.55, 0.8), r"$\theta$")
    phi = _parameter(ax, "phi", (left - 0.5, 1.6), r"$\phi$")
    _arrow(ax, theta, x, gid="arrow:theta->x", shrink=0)
    _arrow(
        ax,
        phi,
        z,
        gid="arrow:phi->z",
        linestyle="--",
        shrink=0,
        connectionstyle="arc3,rad=-0.12",
    )
    xlim, ylim = (left - 0.8, right + 0.9), (-0.8, 2.45)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    _hide_axes(ax)
    if created:
        scale = 1.05
        figure.set_size_inches(scale * (xlim[1] - xlim[0]), scale * (ylim[1] - ylim[0]))
        figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
    return figure


# --------------------------------------------------------------------------
# Reparameterization
# --------------------------------------------------------------------------


def _graph_node(
    ax: Any,
    key: str,
    center: tuple[float, float],
    text: str,
    kind: str,
    width: float = 1.0,
    height: float = 0.55,
    fontsize: float = 11.0,
) -> Any:
    """A node of the computation graph: random (circle) or deterministic (box)."""
    fill, edge = COLORS[kind]
    if kind == "random":
        patch = Circle(
            center,
            height / 2 + 0.05,
            facecolor=fill,
            edgecolor=edge,
            linewidth=1.4,
            zorder=2,
        )
    else:
        patch = FancyBboxPatch(
            (center[0] - width / 2, center[1] - height / 2),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.12",
            facecolor=fill,
            edgecolor=edge,
            linewidth=1.3,
            zorder=2,
        )
    patch.set_gid(f"node:{key}")
    ax.add_patch(patch)
    ax.text(*center, text, ha="center", va="center", fontsize=fontsize, zorder=3)
    return patch


def _gradient(ax: Any, start: Any, end: Any, key: str, rad: float = 0.0) -> None:
    _arrow(
        ax,
        start,
        end,
        gid=f"gradient:{key}",
        color=GRADIENT_COLOR,
        linestyle=(0, (4, 2.5)),
        linewidth=1.4,
        connectionstyle=f"arc3,rad={rad}",
        shrink=3,
        zorder=1.5,
    )


def draw_reparameterization(ax: Any = None) -> Figure:
    """Draws the reparameterization trick as two computation graphs.

    Left: the encoder (parameters :math:`\\phi`) gives the distribution
    :math:`q_\\phi(z \\mid x)` and :math:`z` is drawn from it, a random node:
    the forward pass goes through it, but the gradient of :math:`f(z)` stops
    there (red cross) and never reaches :math:`\\phi`. Right: the encoder
    computes :math:`\\mu` and :math:`\\sigma`, the noise
    :math:`\\epsilon \\sim \\mathcal{N}(0, I)` enters from outside, and
    :math:`z = \\mu + \\sigma \\odot \\epsilon` is deterministic, so the
    gradient (red, dashed, backwards) flows from :math:`f` through :math:`z`
    to :math:`\\mu`, :math:`\\sigma` and :math:`\\phi`, and none flows into
    :math:`\\epsilon`. This is the picture of Kingma and Welling (2019,
    Figure 2.3), drawn in the book's colours: circles are random nodes, boxes
    deterministic ones.

    Args:
        ax: an axis to draw both panels into; ``None`` creates a figure.

    Returns:
        The figure drawn on.
    """
    figure, ax, created = _new_axes(ax, (10.0, 3.5))
    _hide_axes(ax)
    middle = 1.3

    # Left: direct sampling, z ~ q_phi(z | x).
    x = _graph_node(ax, "left:x", (0.0, middle), "$x$", "data", width=0.65)
    phi = _graph_node(ax, "left:phi", (1.35, middle), r"$\phi$", "encoder", width=0.75)
    z = _graph_node(ax, "left:z", (3.0, middle), "$z$", "random", height=0.62)
    f = _graph_node(ax, "left:f", (4.55, middle), "$f(z)$", "decoder", width=1.0)
    _arrow(ax, x, phi, gid="arrow:left:x->left:phi")
    _arrow(ax, phi, z, gid="arrow:left:phi->left:z")
    _arrow(ax, z, f, gid="arrow:left:z->left:f")
    _gradient(ax, f, z, "left:f->left:z", rad=0.55)
    # Where the gradient would go on to phi, it is blocked at the random node.
    blocked = FancyArrowPatch(
        posA=(2.62, middle + 0.34),
        posB=(1.85, middle + 0.34),
        arrowstyle="-",
        color=GRADIENT_COLOR,
        linestyle=(0, (4, 2.5)),
        linewidth=1.4,
        connectionstyle="arc3,rad=0.55",
        zorder=1.5,
    )
    blocked.set_gid("blocked-path:left:z->left:phi")
    ax.add_patch(blocked)
    ax.plot(
        2.235,
        middle + 0.55,
        marker="X",
        markersize=13,
        color=GRADIENT_COLOR,
        markeredgecolor="white",
        zorder=4,
        gid="blocked:left:z",
    )
    ax.text(
        2.3,
        -0.15,
        r"$z \sim q_\phi(z \mid x)$",
        ha="center",
        va="center",
        fontsize=12,
    )
    ax.text(
        3.78,
        middle + 0.62,
        r"$\nabla_z f$",
        ha="center",
        va="bottom",
        fontsize=10,
        color=GRADIENT_COLOR,
    )

    # Right: reparameterized sampling, z = mu + sigma * epsilon.
    offset = 6.0

    def at(px: float, py: float) -> tuple[float, float]:
        return (offset + px, py)

    x2 = _graph_node(ax, "x", at(0.0, middle), "$x$", "data", width=0.65)
    phi2 = _graph_node(ax, "phi", at(1.35, middle), r"$\phi$", "encoder", width=0.75)
    mu = _graph_node(ax, "mu", at(2.75, middle + 0.75), r"$\mu$", "code", width=0.75)
    sigma = _graph_node(
        ax, "sigma", at(2.75, middle - 0.75), r"$\sigma$", "code", width=0.75
    )
    z2 = _graph_node(
        ax,
        "z",
        at(4.55, middle),
        r"$z = \mu + \sigma \odot \epsilon$",
        "code",
        width=1.95,
        fontsize=10.5,
    )
    epsilon = _graph_node(
        ax, "epsilon", at(4.55, middle + 1.45), r"$\epsilon$", "random"
    )
    f2 = _graph_node(ax, "f", at(6.55, middle), "$f(z)$", "decoder", width=1.0)
    for a, b, key in [
        (x2, phi2, "x->phi"),
        (phi2, mu, "phi->mu"),
        (phi2, sigma, "phi->sigma"),
        (mu, z2, "mu->z"),
        (sigma, z2, "sigma->z"),
        (epsilon, z2, "epsilon->z"),
        (z2, f2, "z->f"),
    ]:
        _arrow(ax, a, b, gid=f"arrow:{key}")
    ax.text(
        offset + 4.55 + 0.42,
        middle + 1.45,
        r"$\epsilon \sim \mathcal{N}(0, I)$",
        ha="left",
        va="center",
        fontsize=10.5,
        color=COLORS["random"][1],
    )
    _gradient(ax, f2, z2, "f->z", rad=0.55)
    _gradient(ax, z2, mu, "z->mu", rad=0.35)
    _gradient(ax, z2, sigma, "z->sigma", rad=-0.35)
    _gradient(ax, mu, phi2, "mu->phi", rad=0.45)
    _gradient(ax, sigma, phi2, "sigma->phi", rad=-0.45)
    ax.text(
        offset + 3.3,
        -0.15,
        r"$z = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon$",
        ha="center",
        va="center",
        fontsize=12,
    )
    ax.text(
        offset + 1.55,
        middle + 0.95,
        r"$\nabla_\phi f$",
        ha="right",
        va="bottom",
        fontsize=10,
        color=GRADIENT_COLOR,
    )
    ax.plot([5.45, 5.45], [-0.35, 3.05], color="#cccccc", linewidth=1.0)
    ax.set_xlim(-0.45, offset + 7.2)
    ax.set_ylim(-0.45, 3.2)
    if created:
        width = 10.0
        figure.set_size_inches(width, width * 3.65 / (offset + 7.65))
        figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
    return figure


# --------------------------------------------------------------------------
# The two terms of the ELBO
# --------------------------------------------------------------------------


def _as_values(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{name} must be a number or a non-empty 1-D sequence, got shape "
            f"{array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array.tolist()}.")
    if np.any(array < 0):
        raise ValueError(
            f"{name} must be non-negative (a KL divergence and a Bernoulli "
            f"negative log-likelihood are), got {array.tolist()}."
        )
    return array


def draw_elbo_terms(
    reconstruction: Any,
    kl: Any,
    labels: Sequence[str] | None = None,
    ax: Any = None,
    *,
    orientation: str = "vertical",
    fmt: str = "{:.1f}",
    reconstruction_label: str = r"$-\mathbb{E}_q[\log p_\theta(x \mid z)]$",
    kl_label: str = r"$\mathrm{KL}(q_\phi(z \mid x)\,\|\,p(z))$",
    total_label: str = r"$-\mathrm{ELBO}$",
) -> Figure:
    """Draws the negative ELBO of one or more models as stacked bars.

    Each bar is one model: the reconstruction term
    :math:`-\\mathbb{E}_q[\\log p_\\theta(x \\mid z)]` at the bottom, the KL
    term :math:`\\mathrm{KL}(q_\\phi(z \\mid x) \\| p(z))` on top, so the bar's
    length is the negative ELBO, per image. Each segment carries its value and
    each bar its total.

    Args:
        reconstruction: the reconstruction term per image, a number or one per
            model.
        kl: the KL term per image, the same length.
        labels: a name per model (``None``: no tick labels for one model,
            ``0, 1, ...`` for several).
        ax: an axis to draw into; ``None`` creates a figure.
        orientation: ``"vertical"`` or ``"horizontal"`` bars.
        fmt: the format of the value labels.
        reconstruction_label: the legend entry of the bottom segment (for
            grey-level images pass, e.g., the name of the binary
            cross-entropy).
        kl_label: the legend entry of the top segment.
        total_label: what the total is called, before its value.

    Returns:
        The figure drawn on.

    Raises:
        ValueError: if the terms are not finite and non-negative, their
            lengths differ, ``labels`` has the wrong length, or the
            orientation is unknown.
    """
    reconstruction = _as_values(reconstruction, "reconstruction")
    kl = _as_values(kl, "kl")
    if reconstruction.shape != kl.shape:
        raise ValueError(
            f"reconstruction has {reconstruction.size} values but kl has "
            f"{kl.size}; give one of each per model."
        )
    count = reconstruction.size
    if labels is None:
        names = [""] if count == 1 else [str(i) for i in range(count)]
    else:
        names = [str(label) for label in labels]
        if len(names) != count:
            raise ValueError(
                f"labels has {len(names)} entries but there are {count} models."
            )
    if orientation not in ("vertical", "horizontal"):
        raise ValueError(
            f"orientation must be 'vertical' or 'horizontal', got {orientation!r}."
        )
    vertical = orientation == "vertical"
    size = (1.6 + 1.1 * count, 4.2) if vertical else (7.0, 1.4 + 0.7 * count)
    figure, ax, created = _new_axes(ax, (max(size[0], 3.6), size[1]))
    positions = np.arange(count)
    draw = ax.bar if vertical else ax.barh
    thickness = 0.6
    base = draw(
        positions,
        reconstruction,
        thickness,
        color=COLORS["decoder"][0],
        edgecolor=COLORS["decoder"][1],
        linewidth=1.2,
        label=reconstruction_label,
        gid="bar:reconstruction",
    )
    stacked_key = "bottom" if vertical else "left"
    top = draw(
        positions,
        kl,
        thickness,
        color=COLORS["code"][0],
        edgecolor=COLORS["code"][1],
        linewidth=1.2,
        label=kl_label,
        gid="bar:kl",
        **{stacked_key: reconstruction},
    )
    for patch in base.patches:
        patch.set_gid("bar:reconstruction")
    for patch in top.patches:
        patch.set_gid("bar:kl")
    totals = reconstruction + kl
    largest = float(totals.max()) if totals.max() > 0 else 1.0
    for index in range(count):
        for start, value in (
            (0.0, reconstruction[index]),
            (reconstruction[index], kl[index]),
        ):
            if value <= 0:
                continue
            middle = start + value / 2
            inside = value >= 0.07 * largest
            where = (index, middle) if vertical else (middle, index)
            if not inside:
                where = (
                    (index + thickness / 2 + 0.04, middle)
                    if vertical
                    else (middle, index + thickness / 2 + 0.03)
                )
            ax.text(
                *where,
                fmt.format(value),
                ha="center" if (vertical and inside) or not vertical else "left",
                va="center" if vertical or inside else "top",
                fontsize=9,
                gid="value",
            )
        total_text = f"{total_label} = {fmt.format(totals[index])}"
        if vertical:
            ax.text(
                index,
                totals[index] + 0.02 * largest,
                total_text,
                ha="center",
                va="bottom",
                fontsize=9.5,
                gid="total",
            )
        else:
            ax.text(
                totals[index] + 0.02 * largest,
                index,
                total_text,
                ha="left",
                va="center",
                fontsize=9.5,
                gid="total",
            )
    if vertical:
        ax.set_xticks(positions, names)
        ax.set_ylim(0, largest * 1.12)
        if not any(names):
            ax.tick_params(axis="x", length=0)
        ax.set_xlim(-0.6, count - 0.4 + (0.3 if count == 1 else 0.0))
        ax.spines[["top", "right"]].set_visible(False)
    else:
        ax.set_yticks(positions, names)
        if not any(names):
            ax.tick_params(axis="y", length=0)
        ax.set_xlim(0, largest * 1.3)
        ax.set_ylim(count - 0.4, -0.6)
        ax.spines[["top", "right"]].set_visible(False)
    ax.legend(
        handles=[
            Patch(
                facecolor=COLORS["code"][0], edgecolor=COLORS["code"][1], label=kl_label
            ),
            Patch(
                facecolor=COLORS["decoder"][0],
                edgecolor=COLORS["decoder"][1],
                label=reconstruction_label,
            ),
        ],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        fontsize=9,
        frameon=False,
        ncols=1 if vertical and count < 3 else 2,
    )
    if created:
        figure.tight_layout()
    return figure
