"""Tests of aelib.validation and of the checks the public entry points run."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import aelib
from aelib import evaluate, plotting, quality
from aelib.validation import (
    validate_images,
    validate_labels,
    validate_latent,
    validate_positive,
)


@pytest.fixture(scope="module")
def images(mnist):
    return mnist.x_test[:4]


# ------------------------------------------------------------- rejected


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.zeros((3, 28, 27), np.float32),
            r"shape \(3, 28, 27\); expected \(n, 28, 28\)",
        ),
        (np.zeros((3, 783), np.float32), r"shape \(3, 783\)"),
        (np.zeros((3, 28, 28, 3), np.float32), r"shape \(3, 28, 28, 3\)"),
        (np.zeros((28, 28), np.float32), r"single image: add a batch axis"),
        (np.zeros((0, 28, 28), np.float32), "is empty"),
        (np.zeros((0,), np.float32), "is empty"),
        (np.float32(0.5), "scalar"),
        (np.full((2, 28, 28), "a"), "not numeric"),
        (np.zeros((2, 28, 28), object), "not numeric"),
        (np.zeros((2, 28, 28), np.complex64), "complex"),
        (np.zeros((2, 28, 28), "datetime64[s]"), "not numeric"),
        (None, "is None"),
        ([[0.0] * 784, [0.0] * 10], "could not be turned into an array"),
    ],
)
def test_rejected_input(array, message):
    with pytest.raises(ValueError, match=message):
        validate_images(array)


def test_uint8_pixels_mention_255():
    pixels = np.full((2, 28, 28), 255, np.uint8)
    with pytest.raises(ValueError, match=r"integer dtype uint8.*largest value is 255"):
        validate_images(pixels)
    with pytest.raises(ValueError, match="integer dtype int64"):
        validate_images(np.ones((2, 28, 28), np.int64))


def test_float_pixels_in_0_255_mention_255():
    pixels = np.full((2, 28, 28), 200.0, np.float32)
    with pytest.raises(ValueError, match=r"\[200, 200\].*divide by 255"):
        validate_images(pixels)
    negative = np.full((2, 28, 28), -0.5, np.float32)
    with pytest.raises(ValueError, match=r"values in \[-0.5, -0.5\]") as raised:
        validate_images(negative)
    assert "255" not in str(raised.value)


def test_nan_and_inf_are_counted():
    array = np.zeros((2, 28, 28), np.float32)
    array[0, 0, 0] = np.nan
    array[1, 3, 3] = np.inf
    array[1, 4, 4] = -np.inf
    with pytest.raises(ValueError, match="1 NaN and 2 infinite values"):
        validate_images(array)


def test_name_appears_in_the_message():
    with pytest.raises(ValueError, match="x_val has shape"):
        validate_images(np.zeros((2, 5)), name="x_val")


def test_labels():
    np.testing.assert_array_equal(validate_labels([0, 9, 3.0], 10), [0, 9, 3])
    assert validate_labels(np.array([1, 2], np.uint8), 10).dtype == np.int64
    with pytest.raises(ValueError, match=r"labels in \[0, 10\]; expected 0 to 9"):
        validate_labels([0, 10], 10)
    with pytest.raises(ValueError, match=r"labels in \[-1, 2\]"):
        validate_labels([-1, 2], 10)
    with pytest.raises(ValueError, match="whole numbers"):
        validate_labels([0.5], 10)
    with pytest.raises(ValueError, match=r"expected \(n,\) labels"):
        validate_labels([[1, 2]], 10)
    with pytest.raises(ValueError, match="3 labels for 4 examples"):
        validate_labels([1, 2, 3], 10, num_examples=4)
    with pytest.raises(ValueError, match="empty"):
        validate_labels([], 10)


def test_latent():
    z = validate_latent(np.zeros((3, 2), np.float64), 2)
    assert z.dtype == np.float32 and z.shape == (3, 2)
    with pytest.raises(ValueError, match=r"expected \(n, 2\) for a model with latent"):
        validate_latent(np.zeros((3, 5)), 2)
    with pytest.raises(ValueError, match="single code"):
        validate_latent(np.zeros(2), 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        validate_latent(np.full((1, 2), np.nan), 2)
    with pytest.raises(ValueError, match="empty"):
        validate_latent(np.zeros((0, 2)), 2)


@pytest.mark.parametrize("value", [0, -1, -0.5, float("nan"), float("inf")])
def test_positive_rejects(value):
    with pytest.raises(ValueError, match="must be positive"):
        validate_positive(value, "beta")


def test_positive_types():
    assert validate_positive(3, "k", integer=True) == 3
    assert validate_positive(np.int64(3), "k", integer=True) == 3
    assert validate_positive(2.0, "k", integer=True) == 2
    assert validate_positive(0.25, "beta") == 0.25
    with pytest.raises(ValueError, match="whole number"):
        validate_positive(2.5, "num_samples", integer=True)
    with pytest.raises(ValueError, match="must be a number"):
        validate_positive(True, "num_samples")
    with pytest.raises(ValueError, match="must be a number"):
        validate_positive("3", "num_samples")


# -------------------------------------------------------------- accepted


def test_float64_is_converted(images):
    out = validate_images(images.astype(np.float64))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, images)


def test_bool_flat_and_channel_axis(images):
    binary = images > 0.5
    out = validate_images(binary)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, binary.astype(np.float32))
    np.testing.assert_array_equal(validate_images(images.reshape(4, 784)), images)
    np.testing.assert_array_equal(validate_images(images[..., None]), images)
    np.testing.assert_array_equal(validate_images(images.tolist()), images)


def test_other_image_shapes():
    out = validate_images(np.zeros((2, 6), np.float16), image_shape=(2, 3))
    assert out.shape == (2, 2, 3) and out.dtype == np.float32


# ------------------------------------------- checks at the public entry points


def test_models_check_their_input(trained_vae, trained_autoencoder, images):
    vae, autoencoder = trained_vae.model, trained_autoencoder.model
    pixels = np.rint(images * 255).astype(np.uint8)
    with pytest.raises(ValueError, match="255"):
        vae.encode(pixels)
    with pytest.raises(ValueError, match="255"):
        autoencoder.fit(pixels, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="add a batch axis"):
        autoencoder.reconstruct(images[0])
    with pytest.raises(ValueError, match="NaN"):
        vae.evaluate(np.full((2, 28, 28), np.nan, np.float32), verbose=0)
    with pytest.raises(ValueError, match="latent_dim=2"):
        vae.decode(np.zeros((3, 8), np.float32))
    with pytest.raises(ValueError, match="latent_dim=8"):
        autoencoder.decode(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="num_samples must be positive"):
        vae.sample(0)
    with pytest.raises(ValueError, match="validation_data must be images only"):
        vae.fit(images, validation_data=(images, images), verbose=0)


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("latent_dim", 0, "latent_dim must be positive"),
        ("latent_dim", 2.5, "latent_dim must be a whole number"),
        ("beta", 0.0, "beta must be positive"),
        ("beta", -1.0, "beta must be positive"),
        ("hidden_units", (64, 0), "hidden_units entries must be positive"),
    ],
)
def test_vae_hyperparameters(keyword, value, message):
    with pytest.raises(ValueError, match=message):
        aelib.VAE(**{keyword: value})


def test_estimators_check_num_samples(trained_vae, images):
    with pytest.raises(ValueError, match="num_samples must be positive"):
        evaluate.elbo(trained_vae.model, images, num_samples=0)
    with pytest.raises(ValueError, match="num_samples must be positive"):
        evaluate.iwae_log_likelihood(trained_vae.model, images, num_samples=-5)


def test_labels_checked_by_plotting_and_quality(images):
    codes = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="expected 0 to 9"):
        plotting.latent_scatter(codes, [0, 1, 2, 12])
    with pytest.raises(ValueError, match="3 labels for 4 examples"):
        plotting.latent_scatter(codes, [0, 1, 2])
    with pytest.raises(ValueError, match="expected 0 to 9"):
        quality.train_classifier(images, [0, 1, 2, 10], epochs=1)


# --------------------------------------------------- property-based test

shapes = st.one_of(
    st.sampled_from([(1, 28, 28), (3, 28, 28), (2, 784), (1, 28, 28, 1), (28, 28)]),
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
)
dtypes = st.one_of(
    hnp.floating_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.boolean_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.datetime64_dtypes(),
    hnp.timedelta64_dtypes(),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
)
any_arrays = hnp.arrays(dtype=dtypes, shape=shapes)
unit_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    shape=st.sampled_from([(1, 28, 28), (2, 784), (1, 28, 28, 1)]),
    elements=st.floats(0.0, 1.0, width=16),
)
other_objects = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.lists(st.floats(allow_nan=True), max_size=5),
    st.lists(st.lists(st.integers(0, 1), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.one_of(any_arrays, unit_arrays, other_objects))
def test_validate_images_only_raises_value_error(x):
    try:
        out = validate_images(x)
    except ValueError:
        return
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float32
    assert out.ndim == 3 and out.shape[1:] == (28, 28) and out.shape[0] >= 1
    assert np.all(np.isfinite(out))
    assert out.min() >= 0.0 and out.max() <= 1.0
