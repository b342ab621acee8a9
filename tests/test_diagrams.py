"""Tests of aelib.diagrams: each picture shows what the model or the maths has."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

import aelib
from aelib import diagrams


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(figure):
    """Every string drawn on the figure: texts and annotations."""
    return [t.get_text() for ax in figure.axes for t in ax.texts]


def joined(figure):
    return "\n".join(texts(figure))


def artists_with_gid(figure, prefix):
    found = []
    for ax in figure.axes:
        for artist in [*ax.patches, *ax.lines, *ax.texts, *ax.collections]:
            gid = artist.get_gid()
            if gid and gid.startswith(prefix):
                found.append(artist)
    return found


def gids(figure, prefix):
    return {artist.get_gid() for artist in artists_with_gid(figure, prefix)}


def test_dense_vae_shows_its_shapes_heads_and_sampling():
    model = aelib.VAE(latent_dim=3, hidden_units=(48,))
    figure = diagrams.draw_architecture(model)
    assert isinstance(figure, Figure)
    drawn = texts(figure)
    assert drawn.count("(3,)") >= 3  # mu, log sigma^2 and z
    assert r"$\mu$" in drawn and r"$\log\sigma^2$" in drawn
    assert "Dense 48" in drawn and "(48,)" in drawn
    assert "(28, 28)" in drawn and "(784,)" in drawn  # x, flatten, output
    assert any(r"\mu + \sigma \odot \epsilon" in t for t in drawn)
    assert any(r"\epsilon \sim \mathcal{N}(0, I)" in t for t in drawn)
    assert {"node:epsilon", "node:z", "node:mu", "node:log_var"} <= gids(
        figure, "node:"
    )
    assert {"arrow:epsilon->z", "arrow:mu->z", "arrow:log_var->z"} <= gids(
        figure, "arrow:"
    )
    # every layer of both networks has its box
    layers = [
        layer.name
        for network in (model.encoder, model.decoder)
        for layer in network.layers
        if type(layer).__name__ != "InputLayer"
    ]
    names = "\n".join(drawn)
    for name in layers:
        assert name in names


def test_the_text_follows_the_model():
    small = joined(diagrams.draw_architecture(aelib.VAE(hidden_units=(48,))))
    large = joined(diagrams.draw_architecture(aelib.VAE(hidden_units=(96, 24))))
    assert "Dense 48" in small and "Dense 96" not in small
    assert "Dense 96" in large and "Dense 24" in large and "Dense 48" not in large


def test_autoencoder_has_a_code_and_no_sampling():
    figure = diagrams.draw_architecture(aelib.Autoencoder(latent_dim=32))
    drawn = texts(figure)
    assert "$z$" in drawn and "(32,)" in drawn
    assert not any(r"\epsilon" in t for t in drawn)
    assert not any(r"\mu" in t for t in drawn)
    assert "node:epsilon" not in gids(figure, "node:")
    assert "node:z" in gids(figure, "node:")


def test_convolutional_vae_shows_feature_maps_filters_and_strides():
    model = aelib.VAE(
        architecture="conv", conv_filters=(8, 16), latent_dim=2, hidden_units=(16,)
    )
    figure = diagrams.draw_architecture(model)
    drawn = texts(figure)
    assert "(14, 14, 8)" in drawn and "(7, 7, 16)" in drawn
    assert "Conv2D" in drawn and "Conv2DTranspose" in drawn
    assert "8, 3×3, /2" in drawn and "16, 3×3, ×2" in drawn
    assert "(28, 28, 1)" in drawn
    # too long for one row: the decoder row lies below the encoder row
    nodes = {a.get_gid(): a for a in artists_with_gid(figure, "node:")}
    encoder_y = nodes["node:encoder:conv_0"].get_y()
    decoder_y = nodes["node:decoder:deconv_0"].get_y()
    assert decoder_y < encoder_y


def test_conditional_vae_shows_the_label_entering_both_networks():
    model = aelib.ConditionalVAE(num_classes=10, latent_dim=2, hidden_units=(16,))
    figure = diagrams.draw_architecture(model)
    drawn = texts(figure)
    assert "$y$" in drawn and "(10,)" in drawn
    assert "(794,)" in drawn  # 784 pixels and 10 label entries, concatenated
    assert "(12,)" in drawn  # 2 code entries and 10 label entries
    arrows = gids(figure, "arrow:y->")
    assert arrows == {
        "arrow:y->encoder:with_labels",
        "arrow:y->decoder:with_labels",
    }
    assert any(r"z \mid x, y" in t for t in drawn)


def test_plain_models_have_no_label():
    figure = diagrams.draw_architecture(aelib.VAE(hidden_units=(16,)))
    assert "$y$" not in texts(figure)
    assert not gids(figure, "arrow:y->")


def test_denoising_autoencoder_shows_the_corruption():
    model = aelib.DenoisingAutoencoder(noise="masking", noise_level=0.25, latent_dim=4)
    figure = diagrams.draw_architecture(model)
    drawn = texts(figure)
    assert r"$\tilde{x}$" in drawn
    assert "masking, 0.25" in drawn
    assert "arrow:x->x_tilde" in gids(figure, "arrow:")
    plain = texts(diagrams.draw_architecture(aelib.Autoencoder(latent_dim=4)))
    assert r"$\tilde{x}$" not in plain


def test_trained_model_draws_the_same(trained_vae):
    model = trained_vae.model
    drawn = texts(diagrams.draw_architecture(model))
    assert drawn == texts(
        diagrams.draw_architecture(aelib.VAE(latent_dim=2, hidden_units=(64,)))
    )


def test_draws_into_a_given_axis_and_checks_its_arguments():
    figure, ax = plt.subplots()
    assert diagrams.draw_architecture(aelib.Autoencoder(latent_dim=2), ax=ax) is figure
    with pytest.raises(ValueError, match="layout"):
        diagrams.draw_architecture(aelib.Autoencoder(latent_dim=2), layout="tree")
    with pytest.raises(ValueError, match="encoder"):
        diagrams.draw_architecture(object())


@pytest.mark.parametrize("layout", ["row", "u"])
def test_both_layouts_draw_every_arrow(layout):
    model = aelib.VAE(latent_dim=2, hidden_units=(16,))
    figure = diagrams.draw_architecture(model, layout=layout)
    arrows = gids(figure, "arrow:")
    assert "arrow:z->decoder:hidden_0" in arrows
    assert "arrow:decoder:image_logits->x_hat" in arrows


def test_graphical_model():
    figure = diagrams.draw_graphical_model()
    assert isinstance(figure, Figure)
    drawn = texts(figure)
    assert {"$z$", "$x$", "$N$"} <= set(drawn)
    assert r"$p_\theta(x \mid z)$" in drawn and r"$q_\phi(z \mid x)$" in drawn
    assert any(r"p(z) = \mathcal{N}(0, I)" in t for t in drawn)
    nodes = {a.get_gid(): a for a in artists_with_gid(figure, "node:")}
    assert nodes["node:x"].get_facecolor() != nodes["node:z"].get_facecolor()
    arrows = {a.get_gid(): a for a in artists_with_gid(figure, "arrow:")}
    assert arrows["arrow:z->x"].get_linestyle() == "-"
    assert arrows["arrow:x->z"].get_linestyle() == "--"
    assert "node:y" not in nodes
    assert gids(figure, "plate")


def test_conditional_graphical_model_adds_the_label():
    figure = diagrams.draw_graphical_model(conditional=True)
    drawn = texts(figure)
    assert "$y$" in drawn
    assert r"$p_\theta(x \mid z, y)$" in drawn
    assert {"arrow:y->x", "arrow:y->z"} <= gids(figure, "arrow:")


def _end(arrow):
    """Where an arrow ends, in data coordinates."""
    path = arrow.get_path()  # in display coordinates
    end = path.vertices[-1]
    ax = arrow.axes
    return ax.transData.inverted().transform(end)


def test_reparameterization_gradients_reach_phi_and_never_epsilon():
    figure = diagrams.draw_reparameterization()
    assert isinstance(figure, Figure)
    figure.canvas.draw()
    gradients = artists_with_gid(figure, "gradient:")
    targets = {a.get_gid().split("->")[1] for a in gradients}
    assert {"z", "mu", "sigma", "phi"} <= targets
    assert "epsilon" not in targets
    sources = {a.get_gid().split(":", 1)[1].split("->")[0] for a in gradients}
    assert "epsilon" not in sources
    (epsilon,) = artists_with_gid(figure, "node:epsilon")
    assert isinstance(epsilon, Circle)  # a random node
    center, radius = np.array(epsilon.center), epsilon.radius
    for arrow in gradients:
        assert isinstance(arrow, FancyArrowPatch)
        assert arrow.get_edgecolor()[0] > 0.7  # red
        assert np.linalg.norm(_end(arrow) - center) > 2 * radius
    # the noise enters z from outside: one forward arrow, none into epsilon
    forward = gids(figure, "arrow:")
    assert "arrow:epsilon->z" in forward
    assert not [g for g in forward if g.endswith("->epsilon")]


def test_reparameterization_blocks_the_gradient_at_the_random_node():
    figure = diagrams.draw_reparameterization()
    assert gids(figure, "blocked:") == {"blocked:left:z"}
    (z,) = artists_with_gid(figure, "node:left:z")
    assert isinstance(z, Circle)
    left_gradients = gids(figure, "gradient:left:")
    assert left_gradients == {"gradient:left:f->left:z"}  # nothing reaches phi
    drawn = texts(figure)
    assert r"$z \sim q_\phi(z \mid x)$" in drawn
    assert any(r"\epsilon \sim \mathcal{N}(0, I)" in t for t in drawn)


def bars(figure, gid):
    return [p for p in artists_with_gid(figure, gid) if hasattr(p, "get_height")]


@pytest.mark.parametrize("orientation", ["vertical", "horizontal"])
def test_elbo_bars_stack_the_two_terms(orientation):
    reconstruction, kl = [120.5, 99.0, 140.0], [4.0, 25.5, 0.25]
    figure = diagrams.draw_elbo_terms(
        reconstruction,
        kl,
        labels=["a", "b", "c"],
        orientation=orientation,
    )
    bottom, top = bars(figure, "bar:reconstruction"), bars(figure, "bar:kl")
    assert len(bottom) == len(top) == 3
    if orientation == "vertical":
        np.testing.assert_allclose([p.get_height() for p in bottom], reconstruction)
        np.testing.assert_allclose([p.get_height() for p in top], kl)
        np.testing.assert_allclose([p.get_y() for p in top], reconstruction)
    else:
        np.testing.assert_allclose([p.get_width() for p in bottom], reconstruction)
        np.testing.assert_allclose([p.get_width() for p in top], kl)
        np.testing.assert_allclose([p.get_x() for p in top], reconstruction)
    drawn = texts(figure)
    for value in ["120.5", "4.0", "99.0", "25.5", "0.2"]:
        assert value in drawn
    assert r"$-\mathrm{ELBO}$ = 124.5" in drawn
    assert r"$-\mathrm{ELBO}$ = 124.5" in drawn
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert r"$-\mathbb{E}_q[\log p_\theta(x \mid z)]$" in legend
    assert any("KL" in t for t in legend)


def test_elbo_terms_of_one_model():
    figure = diagrams.draw_elbo_terms(100.0, 5.0, fmt="{:.2f}")
    assert [p.get_height() for p in bars(figure, "bar:reconstruction")] == [100.0]
    assert "105.00" in joined(figure)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (([1.0, 2.0], [1.0]), "same|2 values but kl has 1"),
        (([1.0], [-0.5]), "kl must be non-negative"),
        (([np.nan], [1.0]), "reconstruction must be finite"),
        (([1.0], [np.inf]), "kl must be finite"),
        (([], []), "non-empty"),
        (([[1.0]], [[1.0]]), "1-D"),
        (([1.0, 2.0], [1.0, 2.0], ["only one"]), "labels has 1"),
    ],
)
def test_elbo_terms_reject_bad_input(arguments, message):
    with pytest.raises(ValueError, match=message):
        diagrams.draw_elbo_terms(*arguments)


def test_elbo_terms_reject_a_bad_orientation():
    with pytest.raises(ValueError, match="orientation"):
        diagrams.draw_elbo_terms(1.0, 1.0, orientation="diagonal")


def test_exported():
    assert aelib.diagrams is diagrams
    assert set(diagrams.__all__) >= {
        "draw_architecture",
        "draw_graphical_model",
        "draw_reparameterization",
        "draw_elbo_terms",
    }
