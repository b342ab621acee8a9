"""Tests of aelib.quality: classifier confidence and nearest-neighbour distance."""

import keras
import numpy as np
import pytest

from aelib import quality


@pytest.fixture(scope="module")
def classifier(mnist):
    return quality.train_classifier(
        mnist.x_train[:1000], mnist.y_train[:1000], hidden_units=64, epochs=5, seed=0
    )


def test_classifier_outputs_probabilities(classifier, mnist):
    assert isinstance(classifier, keras.Model)
    probabilities = classifier.predict(mnist.x_test[:50], verbose=0)
    assert probabilities.shape == (50, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    confidence = quality.classifier_confidence(classifier, mnist.x_test[:50])
    # classifier_confidence predicts in larger batches, which changes the order
    # of float32 sums in the matmuls: equal to within rounding, not bitwise.
    np.testing.assert_allclose(confidence, probabilities.max(axis=1), rtol=1e-5)


def test_confidence_is_between_one_tenth_and_one(classifier, mnist):
    confidence = quality.classifier_confidence(classifier, mnist.x_test[:300])
    assert confidence.shape == (300,)
    assert np.all(confidence >= 0.1 - 1e-6) and np.all(confidence <= 1.0 + 1e-6)


def test_real_digits_beat_noise(classifier, mnist):
    real = quality.classifier_confidence(classifier, mnist.x_test[:300])
    noise = np.random.default_rng(0).random((300, 28, 28)).astype(np.float32)
    fake = quality.classifier_confidence(classifier, noise)
    assert real.mean() > fake.mean() + 0.1
    accuracy = np.mean(
        classifier.predict(mnist.x_test[:300], verbose=0).argmax(axis=1)
        == mnist.y_test[:300]
    )
    assert accuracy > 0.7  # the judge has learnt digits


def test_train_classifier_checks_input(mnist):
    with pytest.raises(ValueError, match="255"):
        quality.train_classifier(np.full((4, 28, 28), 255, np.uint8), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="epochs must be positive"):
        quality.train_classifier(mnist.x_train[:4], mnist.y_train[:4], epochs=0)


def test_nearest_neighbor_distance_is_zero_for_copies(mnist):
    reference = mnist.x_train[:500]
    distances = quality.nearest_neighbor_distance(reference[[3, 99, 400]], reference)
    assert distances.shape == (3,)
    np.testing.assert_allclose(distances, 0.0, atol=1e-5)


def test_nearest_neighbor_distance_matches_brute_force(mnist):
    reference = mnist.x_train[:300]
    images = np.concatenate([mnist.x_test[:20], reference[:2] + 0.0])
    noise = np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)
    images = np.concatenate([images, noise])
    got = quality.nearest_neighbor_distance(images, reference, batch_size=7)
    flat_images = images.reshape(len(images), -1).astype(np.float64)
    flat_reference = reference.reshape(len(reference), -1).astype(np.float64)
    differences = flat_images[:, None, :] - flat_reference[None, :, :]
    expected = np.sqrt((differences**2).sum(axis=-1)).min(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6)
    # blobs of noise lie much farther from every real digit than real digits do
    assert got[-5:].min() > got[:20].max()


def test_nearest_neighbor_distance_checks_input(mnist):
    with pytest.raises(ValueError, match="reference"):
        quality.nearest_neighbor_distance(mnist.x_test[:2], np.zeros((3, 27, 27)))
