"""Tests of aelib.plotting: each function returns a Figure with what it promises."""

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from aelib import plotting


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def images(mnist):
    return mnist.x_test[:25]


def drawn_images(figure):
    return [image for axis in figure.axes for image in axis.get_images()]


def test_image_grid(images):
    figure = plotting.image_grid(images, num_columns=10, title="digits")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 30  # 3 rows of 10
    shown = drawn_images(figure)
    assert len(shown) == 25
    np.testing.assert_array_equal(shown[7].get_array(), images[7])
    assert shown[0].get_clim() == (0.0, 1.0)
    assert figure._suptitle.get_text() == "digits"


def test_image_grid_accepts_flat_images_and_few_columns(images):
    figure = plotting.image_grid(images[:3].reshape(3, 784), num_columns=10)
    assert len(figure.axes) == 3  # never more columns than images
    assert drawn_images(figure)[2].get_array().shape == (28, 28)


def test_reconstruction_grid(images):
    figure = plotting.reconstruction_grid(images[:12], 1.0 - images[:12], num_images=8)
    assert len(figure.axes) == 16
    shown = drawn_images(figure)
    assert len(shown) == 16
    np.testing.assert_array_equal(shown[8].get_array(), 1.0 - images[0])
    assert figure.axes[0].get_ylabel() == "original"
    assert figure.axes[8].get_ylabel() == "reconstruction"


def test_latent_scatter(mnist):
    codes = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    labels = mnist.y_test[:300]
    figure = plotting.latent_scatter(
        codes, labels, class_names=mnist.class_names, title="latent"
    )
    assert len(figure.axes) == 1
    axis = figure.axes[0]
    assert axis.get_title() == "latent"
    points = np.concatenate([c.get_offsets() for c in axis.collections])
    assert points.shape == (300, 2)
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert sorted(legend) == sorted(mnist.class_names[d] for d in np.unique(labels))


def test_latent_scatter_into_existing_axis_and_subsampling(mnist):
    figure, axes = plt.subplots(1, 2)
    codes = np.random.default_rng(1).normal(size=(500, 2))
    returned = plotting.latent_scatter(
        codes, mnist.y_test[:500], ax=axes[1], max_points=100
    )
    assert returned is figure
    points = np.concatenate([c.get_offsets() for c in axes[1].collections])
    assert points.shape == (100, 2)
    assert not axes[0].collections


def test_manifold_grid(trained_vae):
    figure = plotting.manifold_grid(trained_vae.model, num_points=6, title="manifold")
    assert len(figure.axes) == 1
    (canvas,) = drawn_images(figure)
    array = np.asarray(canvas.get_array())
    assert array.shape == (6 * 28, 6 * 28)
    assert array.min() >= 0.0 and array.max() <= 1.0
    # the top-left tile decodes the smallest z1 and the largest z2
    corner = np.array([[-1.6448536, 1.6448536]], np.float32)
    np.testing.assert_allclose(
        array[:28, :28], trained_vae.model.decode(corner)[0], atol=1e-5
    )


def test_prior_samples(trained_vae):
    figure = plotting.prior_samples(trained_vae.model, num_samples=12, num_columns=4)
    assert len(figure.axes) == 12
    shown = drawn_images(figure)
    np.testing.assert_allclose(
        shown[5].get_array(), trained_vae.model.sample(12, seed=0)[5], atol=1e-6
    )


def test_training_curves(trained_vae):
    history = keras.callbacks.History()
    history.history = trained_vae.history
    figure = plotting.training_curves(history)
    assert len(figure.axes) == 3  # loss, reconstruction_loss, kl_loss
    for axis in figure.axes:
        assert len(axis.get_lines()) == 2  # train and validation
    titles = sorted(axis.get_title() for axis in figure.axes)
    assert titles == ["kl loss", "loss", "reconstruction loss"]
    only = plotting.training_curves(trained_vae.history, metrics=["kl_loss"])
    assert len(only.axes) == 1
    np.testing.assert_allclose(
        only.axes[0].get_lines()[0].get_ydata(), trained_vae.history["kl_loss"]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: plotting.image_grid(np.rint(x * 255).astype(np.uint8)), "255"),
        (lambda x: plotting.image_grid(x, num_columns=0), "num_columns"),
        (lambda x: plotting.reconstruction_grid(x[:5], x[:4]), "5 images but"),
        (lambda x: plotting.reconstruction_grid(x, x, num_images=0), "num_images"),
        (lambda x: plotting.latent_scatter(np.zeros(5), [0] * 5), "codes has shape"),
        (lambda x: plotting.training_curves({}), "non-empty"),
        (lambda x: plotting.training_curves({"loss": [1.0]}, ["kl"]), "no metrics"),
    ],
)
def test_bad_input_raises(images, call, message):
    with pytest.raises(ValueError, match=message):
        call(images)
    assert not plt.get_fignums()  # nothing half-drawn is left open


def test_manifold_grid_rejects_other_models(trained_autoencoder, trained_vae):
    with pytest.raises(ValueError, match="latent_dim == 2"):
        plotting.manifold_grid(trained_autoencoder.model)
    with pytest.raises(ValueError, match="quantile_range"):
        plotting.manifold_grid(trained_vae.model, quantile_range=(0.0, 0.9))


def test_animate_images_has_one_frame_per_grid(images):
    from matplotlib import animation

    frames = [np.clip(images[:16] * scale, 0, 1) for scale in np.linspace(0, 1, 11)]
    titles = [f"epoch {i}" for i in range(11)]
    anim = plotting.animate_images(frames, titles=titles, interval=200)
    assert isinstance(anim, animation.FuncAnimation)
    assert not plt.get_fignums()  # closed: no static copy in a notebook
    figure = anim._fig
    shown = drawn_images(figure)
    assert len(shown) == 16 and len(figure.axes) == 16  # a 4 x 4 grid
    html = anim.to_jshtml()
    assert "<script" in html and "animation" in html.lower()
    assert html.count("data:image/png;base64") == 11
    assert len(html) < 2_000_000  # far below matplotlib's embed_limit
    np.testing.assert_array_equal(shown[3].get_array(), frames[-1][3])
    assert figure._suptitle.get_text() == "epoch 10"


def test_animation_html_needs_no_other_host(images):
    frames = [images[:4], images[4:8], images[8:12]]
    anim = plotting.animate_images(frames)
    assert "maxcdn.bootstrapcdn.com" in anim.to_jshtml()  # what it removes
    html = plotting.animation_html(anim).data
    assert "<link" not in html and "://" not in html.replace("http://www.w3.org", "")
    assert html.count("data:image/png;base64") == 3
    # the player and its buttons are all still there
    for icon in ("fa-play", "fa-pause", "fa-step-forward", "fa-fast-backward"):
        assert icon in html
    with pytest.raises(ValueError, match="matplotlib animation"):
        plotting.animation_html(frames)


def test_animate_images_default_titles_and_columns(images):
    frames = [images[:5], images[5:10]]
    anim = plotting.animate_images(frames, columns=5)
    assert len(anim._fig.axes) == 5
    assert "<script" in anim.to_jshtml()  # draws every frame
    assert anim._fig._suptitle.get_text() == "2/2"


@pytest.mark.parametrize(
    ("frames", "titles", "message"),
    [
        ([], None, "non-empty"),
        ("frames", [np.zeros((4, 28, 28)), np.zeros((3, 28, 28))], None),
        ([np.full((2, 28, 28), 1.5)], None, r"\[0, 1\]|range"),
        ([np.zeros((2, 28, 28))], ["a", "b"], "titles has 2"),
    ],
)
def test_animate_images_rejects_bad_frames(frames, titles, message):
    if isinstance(frames, str):  # frames of different shapes
        frames, message = titles, "same shape"
        titles = None
    with pytest.raises(ValueError, match=message):
        plotting.animate_images(frames, titles=titles)
