"""Tests of aelib.sparse: the L1 penalty on the code and what it does."""

import numpy as np
import pytest
from keras import ops

import aelib
from aelib import losses


@pytest.fixture(scope="module")
def x(small_mnist):
    return small_mnist.x_test[:64]


def train(x_train, weight):
    aelib.set_seed(0)
    model = aelib.SparseAutoencoder(
        sparsity_weight=weight,
        latent_dim=16,
        hidden_units=(32,),
        name=f"sparse_{str(weight).replace('.', '_')}",
    )
    history = model.fit(x_train, epochs=2, batch_size=32, verbose=0)
    return model, history.history


@pytest.fixture(scope="module")
def sparse_models(small_mnist):
    """The same autoencoder trained with a weak and with a strong L1 penalty."""
    return {weight: train(small_mnist.x_train, weight) for weight in (0.001, 1.0)}


def mean_l1(codes):
    return np.abs(codes.astype(np.float64)).sum(axis=1).mean()


@pytest.mark.parametrize("weight", [0.001, 1.0])
def test_sparsity_loss_is_the_weighted_mean_l1_of_the_codes(sparse_models, x, weight):
    model, history = sparse_models[weight]
    assert model.steps_per_execution == aelib.models.default_steps_per_execution()
    assert set(history) == {"loss", "reconstruction_loss", "sparsity_loss"}
    for epoch in range(2):
        total = history["reconstruction_loss"][epoch] + history["sparsity_loss"][epoch]
        assert history["loss"][epoch] == pytest.approx(total, rel=1e-5)
    # evaluate over several batches of different sizes
    result = model.evaluate(x, batch_size=24, return_dict=True, verbose=0)
    codes = model.encode(x)
    assert result["sparsity_loss"] == pytest.approx(weight * mean_l1(codes), rel=1e-4)
    logits = model.decoder(codes)
    reconstruction = ops.convert_to_numpy(losses.bernoulli_nll(x, logits)).mean()
    assert result["reconstruction_loss"] == pytest.approx(reconstruction, rel=1e-4)
    expected = reconstruction + weight * mean_l1(codes)
    assert result["loss"] == pytest.approx(expected, rel=1e-4)


def test_a_larger_weight_gives_sparser_codes(sparse_models, x):
    weak, _ = sparse_models[0.001]
    strong, _ = sparse_models[1.0]
    weak_codes, strong_codes = weak.encode(x), strong.encode(x)
    # after 32 steps the strong penalty has about halved the codes' L1 norm
    # (ratio 0.52-0.61 over seeds 0-2)
    assert mean_l1(strong_codes) < 0.75 * mean_l1(weak_codes)
    # and a larger share of the code units sits near zero
    near_zero = [np.mean(np.abs(c) < 0.1) for c in (weak_codes, strong_codes)]
    assert near_zero[1] > near_zero[0]


def test_sparsity_term_is_the_weighted_l1_norm_of_the_codes(x):
    logits = ops.convert_to_tensor(np.zeros((3, 28, 28), np.float32))
    z = ops.convert_to_tensor(np.ones((3, 4), np.float32))
    images = ops.convert_to_tensor(x[:3])
    outputs = {"logits": logits, "z": z}
    model = aelib.Autoencoder(latent_dim=4, hidden_units=(8,))
    plain_loss, plain_terms = model.loss_terms(images, outputs)
    assert set(plain_terms) == {"reconstruction_loss"}
    sparse = aelib.SparseAutoencoder(
        sparsity_weight=0.5, latent_dim=4, hidden_units=(8,)
    )
    loss, terms = sparse.loss_terms(images, outputs)
    # 0.5 * |1| * 4 units = 2 per image
    assert float(ops.convert_to_numpy(terms["sparsity_loss"])) == pytest.approx(2.0)
    assert float(ops.convert_to_numpy(loss)) == pytest.approx(
        float(ops.convert_to_numpy(plain_loss)) + 2.0, rel=1e-6
    )


@pytest.mark.parametrize("weight", [0, -0.1, float("nan"), "big"])
def test_invalid_sparsity_weight_raises(weight):
    with pytest.raises(ValueError, match="sparsity_weight"):
        aelib.SparseAutoencoder(sparsity_weight=weight, hidden_units=(4,))


def test_save_and_load(sparse_models, round_trip, x):
    model, _ = sparse_models[1.0]
    loaded = round_trip(model)
    assert loaded.get_config()["sparsity_weight"] == 1.0
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))
    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))
    result = loaded.evaluate(x, return_dict=True, verbose=0)
    expected = model.evaluate(x, return_dict=True, verbose=0)
    for key in ("loss", "reconstruction_loss", "sparsity_loss"):
        assert result[key] == pytest.approx(expected[key], rel=1e-6)
