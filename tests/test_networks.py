"""Tests of aelib.networks: dense and convolutional encoders and decoders."""

import json
import zipfile

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
    # the code goes through one dense layer straight to the first feature map
    assert decoder.layers[1].name == "to_feature_map"
    assert decoder.layers[1].input.shape == (None, 3)
    assert output_shape(decoder, "feature_map") == (None, 7, 7, 8)
    assert output_shape(decoder, "deconv_0") == (None, 14, 14, 8)
    assert output_shape(decoder, "deconv_1") == (None, 28, 28, 4)
    assert tuple(decoder.output.shape) == (None, 28, 28)
    assert layers.Conv2D in layer_types(encoder)
    assert layers.Conv2DTranspose in layer_types(decoder)
    strides = [encoder.get_layer(f"conv_{i}").strides for i in range(2)]
    assert strides == [(2, 2), (2, 2)]


def layer_summary(model):
    return [(layer.name, layer.count_params()) for layer in model.layers]


def test_conv_vae_has_the_shape_of_the_keras_example():
    # The convolutional VAE of the Keras examples: Conv2D 32 and 64 with stride 2,
    # Dense 16, heads of 2; decoder Dense 7*7*64, Conv2DTranspose 64 and 32 with
    # stride 2, and a 3x3 layer to one channel. Counted by hand, layer by layer.
    model = aelib.VAE(latent_dim=2, hidden_units=(16,), architecture="conv")
    assert layer_summary(model.encoder) == [
        ("images", 0),
        ("add_channel", 0),
        ("conv_0", 3 * 3 * 1 * 32 + 32),
        ("conv_1", 3 * 3 * 32 * 64 + 64),
        ("flatten", 0),
        ("hidden_0", 7 * 7 * 64 * 16 + 16),
        ("z_mean", 16 * 2 + 2),
        ("z_log_var", 16 * 2 + 2),
    ]
    assert layer_summary(model.decoder) == [
        ("codes", 0),
        ("to_feature_map", 2 * 7 * 7 * 64 + 7 * 7 * 64),
        ("feature_map", 0),
        ("deconv_0", 3 * 3 * 64 * 64 + 64),
        ("deconv_1", 3 * 3 * 64 * 32 + 32),
        ("logits", 3 * 3 * 32 * 1 + 1),
        ("image_logits", 0),
    ]
    assert model.encoder.count_params() == 69_076
    assert model.decoder.count_params() == 65_089
    assert model.get_config()["decoder_hidden_units"] is None


@pytest.mark.parametrize(
    ("architecture", "hidden_units", "decoder_hidden_units", "expected"),
    [
        ("dense", (32, 16), None, (16, 32)),  # the mirror
        ("dense", (32, 16), (8,), (8,)),
        ("dense", (32,), (), ()),
        ("conv", (16,), None, ()),  # straight to the feature map
        ("conv", (16,), (16,), (16,)),  # asked for: the old layout
        ("conv", (), (8, 12), (8, 12)),
    ],
)
def test_decoder_hidden_units(
    architecture, hidden_units, decoder_hidden_units, expected
):
    assert (
        networks.decoder_units(architecture, hidden_units, decoder_hidden_units)
        == expected
    )
    model = aelib.VAE(
        latent_dim=2,
        hidden_units=hidden_units,
        architecture=architecture,
        conv_filters=(2, 4),
        decoder_hidden_units=decoder_hidden_units,
    )
    dense = [layer for layer in model.decoder.layers if layer.name.startswith("hidden")]
    assert tuple(layer.units for layer in dense) == expected
    encoder_dense = [
        layer for layer in model.encoder.layers if layer.name.startswith("hidden")
    ]
    assert tuple(layer.units for layer in encoder_dense) == tuple(hidden_units)
    if architecture == "conv":
        first = model.decoder.get_layer("to_feature_map")
        assert first.input.shape[-1] == (expected[-1] if expected else 2)


@pytest.mark.parametrize("value", [(0,), (4, -1), (2.5,), (True,)])
def test_decoder_hidden_units_must_be_positive_integers(value):
    with pytest.raises(ValueError, match="decoder_hidden_units entries"):
        aelib.Autoencoder(hidden_units=(4,), decoder_hidden_units=value)


@pytest.mark.parametrize("model_class", [aelib.Autoencoder, aelib.VAE])
def test_explicit_decoder_layers_save_and_load(model_class, round_trip, x):
    model = model_class(
        latent_dim=3,
        hidden_units=(8,),
        architecture="conv",
        conv_filters=FILTERS,
        decoder_hidden_units=(6,),
    )
    assert model.decoder.get_layer("hidden_0").units == 6
    model(x[:2])  # build it, so that every weight is saved
    loaded = round_trip(model)
    assert loaded.get_config()["decoder_hidden_units"] == [6]
    z = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.decode(z), model.decode(z))


def test_old_conv_configs_load_with_their_layout(tmp_path, x):
    # A conv model saved before decoder_hidden_units existed mirrored the encoder's
    # dense layers in its decoder; its config has no such key. Simulate one by
    # deleting the key from a saved file: it must load, weights and all.
    model = aelib.VAE(
        latent_dim=3,
        hidden_units=(8,),
        architecture="conv",
        conv_filters=FILTERS,
        decoder_hidden_units=(8,),
        seed=0,
    )
    new_path, old_path = tmp_path / "new.keras", tmp_path / "old.keras"
    model(x[:2])
    model.save(new_path)
    with zipfile.ZipFile(new_path) as source, zipfile.ZipFile(old_path, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "config.json":
                saved = json.loads(content)
                del saved["config"]["decoder_hidden_units"]
                content = json.dumps(saved).encode()
            target.writestr(item, content)
    loaded = keras.saving.load_model(old_path, safe_mode=True)
    assert loaded.decoder.get_layer("hidden_0").units == 8
    assert loaded.get_config()["decoder_hidden_units"] == [8]
    z = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.decode(z), model.decode(z))
    for got, expected in zip(loaded.encode(x), model.encode(x), strict=True):
        np.testing.assert_array_equal(got, expected)
    # a dense config without the key keeps its mirrored decoder
    dense_config = aelib.Autoencoder(latent_dim=2, hidden_units=(8, 4)).get_config()
    del dense_config["decoder_hidden_units"]
    rebuilt = aelib.Autoencoder.from_config(dense_config)
    assert rebuilt.decoder.get_layer("hidden_0").units == 4


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
    assert loaded.get_config()["decoder_hidden_units"] is None
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
