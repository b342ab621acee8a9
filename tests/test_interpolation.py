"""Tests of aelib.interpolation: linear and spherical paths between codes."""

import numpy as np
import pytest

import aelib


def angle(u, v):
    cosine = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def test_lerp_endpoints_and_even_spacing(rng):
    start, end = rng.normal(size=5), rng.normal(size=5)
    path = aelib.lerp(start, end, num_steps=7)
    assert path.shape == (7, 5) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], start, rtol=1e-6)
    np.testing.assert_allclose(path[-1], end, rtol=1e-6)
    steps = np.diff(path.astype(np.float64), axis=0)
    np.testing.assert_allclose(steps, np.tile((end - start) / 6, (6, 1)), atol=1e-6)
    np.testing.assert_allclose(path[3], (start + end) / 2, rtol=1e-5)


def test_slerp_endpoints_and_norms(rng):
    start, end = rng.normal(size=8) * 2.0, rng.normal(size=8)
    path = aelib.slerp(start, end, num_steps=9).astype(np.float64)
    assert path.shape == (9, 8)
    np.testing.assert_allclose(path[0], start, rtol=1e-5)
    np.testing.assert_allclose(path[-1], end, rtol=1e-5, atol=1e-6)
    # norms go linearly from |start| to |end|
    norms = np.linalg.norm(path, axis=1)
    expected = np.linspace(np.linalg.norm(start), np.linalg.norm(end), 9)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)
    # unlike the straight line, whose midpoint is shorter than both ends
    middle = np.linalg.norm(aelib.lerp(start, end, 9)[4])
    assert middle < norms[4]


def test_slerp_of_unit_vectors_walks_the_great_circle(rng):
    start, end = rng.normal(size=6), rng.normal(size=6)
    start, end = start / np.linalg.norm(start), end / np.linalg.norm(end)
    path = aelib.slerp(start, end, num_steps=11).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, rtol=1e-6)
    # equal angle steps, adding up to the angle between the ends
    steps = [angle(path[i], path[i + 1]) for i in range(10)]
    np.testing.assert_allclose(steps, angle(start, end) / 10, rtol=1e-4)
    from_start = [angle(start, point) for point in path]
    np.testing.assert_allclose(
        from_start, np.linspace(0, angle(start, end), 11), atol=1e-4
    )
    # every point lies in the plane of the two ends
    basis, _ = np.linalg.qr(np.stack([start, end], axis=1))
    residual = path - (path @ basis) @ basis.T
    np.testing.assert_allclose(residual, 0.0, atol=1e-6)


def test_slerp_falls_back_to_lerp(rng):
    start = rng.normal(size=4)
    for end in (-start, -3.0 * start, 2.0 * start, np.zeros(4)):
        np.testing.assert_array_equal(
            aelib.slerp(start, end, 5), aelib.lerp(start, end, 5)
        )


@pytest.mark.parametrize("function", [aelib.lerp, aelib.slerp])
def test_bad_inputs_raise(function):
    with pytest.raises(ValueError, match="1-D codes of the same size"):
        function(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="1-D codes of the same size"):
        function(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="1-D codes of the same size"):
        function(1.0, 2.0)
    with pytest.raises(ValueError, match="finite"):
        function(np.array([0.0, np.nan]), np.ones(2))
    with pytest.raises(ValueError, match="num_steps must be at least 2"):
        function(np.zeros(2), np.ones(2), 1)
    with pytest.raises(ValueError, match="num_steps"):
        function(np.zeros(2), np.ones(2), 2.5)
