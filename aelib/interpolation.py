"""Paths between latent codes: linear and spherical interpolation."""

from __future__ import annotations

from typing import Any

import numpy as np

from aelib.validation import validate_positive

__all__ = ["lerp", "slerp"]


def _endpoints(start: Any, end: Any) -> tuple[np.ndarray, np.ndarray]:
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    if start.ndim != 1 or start.shape != end.shape:
        raise ValueError(
            f"start and end must be 1-D codes of the same size, got shapes "
            f"{start.shape} and {end.shape}."
        )
    if not (np.isfinite(start).all() and np.isfinite(end).all()):
        raise ValueError("start and end must be finite.")
    return start, end


def _fractions(num_steps: int) -> np.ndarray:
    num_steps = validate_positive(num_steps, "num_steps", integer=True)
    if num_steps < 2:
        raise ValueError(f"num_steps must be at least 2, got {num_steps}.")
    return np.linspace(0.0, 1.0, num_steps)


def lerp(start: Any, end: Any, num_steps: int = 10) -> np.ndarray:
    """Evenly spaced points on the straight line from ``start`` to ``end``.

    Returns:
        float32 array of shape (num_steps, d), from ``start`` to ``end``.
    """
    start, end = _endpoints(start, end)
    t = _fractions(num_steps)[:, None]
    return ((1.0 - t) * start + t * end).astype(np.float32)


def slerp(start: Any, end: Any, num_steps: int = 10) -> np.ndarray:
    """Spherical interpolation: along the great circle, with the norm interpolated.

    In a high-dimensional Gaussian prior almost all mass lies near the sphere of
    radius sqrt(d); the midpoint of a straight line between two typical codes
    has a norm about sqrt(2) times smaller, where the prior puts little mass.
    White's spherical interpolation (White, 2016, "Sampling Generative
    Networks") follows the great circle between the codes; this variant also
    interpolates their norms linearly, so that the path keeps the norms of
    typical codes even when the two ends differ in length. Codes pointing in
    exactly opposite
    directions have no unique great circle; they are joined by a straight line.

    Returns:
        float32 array of shape (num_steps, d), from ``start`` to ``end``.
    """
    start, end = _endpoints(start, end)
    t = _fractions(num_steps)[:, None]
    start_norm, end_norm = np.linalg.norm(start), np.linalg.norm(end)
    if start_norm == 0.0 or end_norm == 0.0:
        return lerp(start, end, num_steps)
    cosine = np.clip(start @ end / (start_norm * end_norm), -1.0, 1.0)
    angle = np.arccos(cosine)
    if angle < 1e-6 or np.pi - angle < 1e-6:
        # Parallel codes need no rotation; for opposite codes every great
        # circle through both is equally short, so none is singled out.
        return lerp(start, end, num_steps)
    direction = (
        np.sin((1.0 - t) * angle) * (start / start_norm)
        + np.sin(t * angle) * (end / end_norm)
    ) / np.sin(angle)
    norm = (1.0 - t) * start_norm + t * end_norm
    return (direction * norm).astype(np.float32)
