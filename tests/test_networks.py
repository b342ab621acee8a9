"""Tests of aelib.networks: dense and convolutional encoders and decoders."""

import keras
import numpy as np
import pytest
from keras import layers, ops

import aelib
from aelib import networks

FILTERS = (4, 8)


def layer_types(model):
    return {type(layer) for layer in model.layers}


def output_shape(model, name):
    return tuple(model.get_layer(name).output.shape)


@pytest.fixture(scope="module")
def x(small_mnist):
    return small_mnist.x_test[:16]


@pytest.fixture(scope="module")
def conv_models(small_mnist):
    """A conv autoencoder and a conv VAE, each trained for one short epoch."""
    models = {}
    for name, model_class, extra in (
        ("conv_autoencoder", aelib.Autoencoder, {}),
        ("conv_vae", aelib.VAE, {"seed": 0}),
    ):
        aelib.set_seed(0)
        model = model_class(
            latent_dim=3,
            hidden_units=(16,),
            architecture="conv",
            conv_filters=FILTERS,
            name=name,
            **extra,
        )
        history = model.fit(
            small_mnist.x_train[:256], epochs=2, batch_size=64, verbose=0
        )
        models[name] = (model, history.history)
    return models


def test_conv_encoder_and_decoder_shapes(conv_models):
    model, _ = conv_models["conv_autoencoder"]
    encoder, decoder = model.encoder, model.decoder
    assert output_shape(encoder, "conv_0") == (None, 14, 14, 4)
    assert output_shape(encoder, "conv_1") == (None, 7, 7, 8)
    assert output_shape(encoder, "code") == (None, 3)
    assert output_shape(decoder, "feature_map") == (None, 7, 7, 8)
    assert output_shape(decoder, "deconv_0") == (None, 14, 14, 8)
    assert output_shape(decoder, "deconv_1") == (None, 28, 28, 4)
    assert tuple(decoder.output.shape) == (None, 28, 28)
    assert layers.Conv2D in layer_types(encoder)
    assert layers.Conv2DTranspose in layer_types(decoder)
    strides = [encoder.get_layer(f"conv_{i}").strides for i in range(2)]
    assert strides == [(2, 2), (2, 2)]


def test_dense_networks_have_no_convolutions():
    model = aelib.VAE(latent_dim=2, hidden_units=(8,))
    kinds = layer_types(model.encoder) | layer_types(model.decoder)
    assert not kinds & {layers.Conv2D, layers.Conv2DTranspose}


def test_conv_models_encode_decode_and_train(conv_models, x):
    autoencoder, ae_history = conv_models["conv_autoencoder"]
    codes = autoencoder.encode(x)
    assert codes.shape == (16, 3)
    # flat images are reshaped to 28x28 before the convolutions
    np.testing.assert_allclose(autoencoder.encode(x.reshape(16, 784)), codes, rtol=1e-6)
    images = autoencoder.reconstruct(x)
    assert images.shape == (16, 28, 28) and 0 <= images.min() <= images.max() <= 1
    assert ae_history["loss"][1] < ae_history["loss"][0]

    vae, vae_history = conv_models["conv_vae"]
    z_mean, z_log_var = vae.encode(x)
    assert z_mean.shape == z_log_var.shape == (16, 3)
    assert vae.sample(5, seed=0).shape == (5, 28, 28)
    assert set(vae_history) == {"loss", "reconstruction_loss", "kl_loss"}
    assert vae_history["loss"][1] < vae_history["loss"][0]
    assert layers.Conv2D in layer_types(vae.encoder)
    assert layers.Conv2DTranspose in layer_types(vae.decoder)


@pytest.mark.parametrize("name", ["conv_autoencoder", "conv_vae"])
def test_conv_models_save_and_load(conv_models, round_trip, x, name):
    model, _ = conv_models[name]
    loaded = round_trip(model)
    assert loaded.get_config()["architecture"] == "conv"
    assert loaded.get_config()["conv_filters"] == list(FILTERS)
    z = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.decode(z), model.decode(z))
    codes, loaded_codes = model.encode(x), loaded.encode(x)
    if name == "conv_vae":
        for expected, got in zip(codes, loaded_codes, strict=True):
            np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(loaded.sample(3, seed=1), model.sample(3, seed=1))
    else:
        np.testing.assert_array_equal(loaded_codes, codes)


def test_conv_on_other_sizes():
    # 32 divides by 2**3, so three stride-2 layers fit 32x32 images
    model = aelib.Autoencoder(
        input_shape=(32, 32),
        latent_dim=2,
        hidden_units=(8,),
        architecture="conv",
        conv_filters=(2, 2, 2),
    )
    assert output_shape(model.encoder, "conv_2") == (None, 4, 4, 2)
    images = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    assert model.reconstruct(images).shape == (3, 32, 32)
    # one stride-2 layer fits 28x28 (28 divides by 2)
    single = aelib.VAE(
        latent_dim=2, hidden_units=(8,), architecture="conv", conv_filters=(2,)
    )
    assert output_shape(single.encoder, "conv_0") == (None, 14, 14, 2)


@pytest.mark.parametrize("model_class", [aelib.Autoencoder, aelib.VAE])
@pytest.mark.parametrize(
    ("input_shape", "filters"),
    [((28, 28), (2, 2, 2)), ((30, 30), (2, 2)), ((28, 30), (2, 2)), ((784,), (2,))],
)
def test_conv_rejects_sides_that_do_not_divide(model_class, input_shape, filters):
    with pytest.raises(ValueError, match="sides divide by"):
        model_class(
            input_shape=input_shape,
            hidden_units=(4,),
            architecture="conv",
            conv_filters=filters,
        )


@pytest.mark.parametrize(
    "model_class",
    [aelib.Autoencoder, aelib.VAE, aelib.DenoisingAutoencoder, aelib.ConditionalVAE],
)
def test_unknown_architecture_raises(model_class):
    with pytest.raises(ValueError, match="architecture must be one of"):
        model_class(hidden_units=(4,), architecture="recurrent")


@pytest.mark.parametrize("filters", [(), (0, 4), (4, -1)])
def test_conv_filters_must_be_positive(filters):
    with pytest.raises(ValueError, match="conv_filters must be positive"):
        aelib.Autoencoder(hidden_units=(4,), architecture="conv", conv_filters=filters)


def test_conditional_networks_take_labels():
    encoder = networks.build_encoder(
        "conv",
        (28, 28),
        (8,),
        "relu",
        [("mean", 2), ("log_var", 2)],
        conv_filters=(2, 2),
        num_classes=3,
    )
    decoder = networks.build_decoder("dense", (28, 28), 2, (8,), "relu", num_classes=3)
    assert [tuple(t.shape) for t in encoder.inputs] == [(None, 28, 28), (None, 3)]
    assert [tuple(t.shape) for t in decoder.inputs] == [(None, 2), (None, 3)]
    images = np.zeros((5, 28, 28), np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]
    mean, log_var = encoder([images, labels])
    assert tuple(mean.shape) == tuple(log_var.shape) == (5, 2)
    logits = ops.convert_to_numpy(decoder([np.zeros((5, 2), np.float32), labels]))
    assert logits.shape == (5, 28, 28)
    # the label reaches the output: same code, different labels, different images
    assert not np.allclose(logits[0], logits[1])
    np.testing.assert_allclose(logits[0], logits[3], rtol=1e-6)
    assert isinstance(encoder, keras.Model) and isinstance(decoder, keras.Model)
