"""FusedAdam computes Keras's Adam update, in one kernel per variable.

The fused kernel is TensorFlow's; on JAX and PyTorch FusedAdam says so with a
warning and runs Keras's update, which the tests that are not marked
``tensorflow_only`` check on every backend.
"""

import warnings

import keras
import numpy as np
import pytest

import aelib
from aelib.optimizers import FusedAdam, default_optimizer, fused_update_available

ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
if ON_TENSORFLOW:
    import tensorflow as tf

# FusedAdam's warning on JAX and PyTorch is tested once, below.
pytestmark = pytest.mark.filterwarnings("ignore:FusedAdam's fused kernel")

SHAPES = [(7, 5), (5,), (3, 4, 2)]


def _run(optimizer, steps=6, seed=0, sparse=False):
    """Applies ``steps`` random gradients; returns the final weights."""
    rng = np.random.default_rng(seed)
    variables = [
        keras.Variable(rng.normal(size=shape).astype("float32"), name=f"w{i}")
        for i, shape in enumerate(SHAPES)
    ]
    optimizer.build(variables)
    for _ in range(steps):
        grads = [rng.normal(size=shape).astype("float32") for shape in SHAPES]
        if sparse:
            grads[0] = tf.IndexedSlices(
                tf.constant(grads[0][:2]), tf.constant([1, 4]), tf.constant(SHAPES[0])
            )
        grads = [
            keras.ops.convert_to_tensor(g) if isinstance(g, np.ndarray) else g
            for g in grads
        ]
        optimizer.apply(grads, variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


def _graph_ops(make_optimizer, strategy=None):
    """The op types of a traced ``apply`` of one gradient per variable."""
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        optimizer = make_optimizer()
        variables = [keras.Variable(np.ones(shape, "float32")) for shape in SHAPES]
        optimizer.build(variables)
    grads = [tf.ones(shape) for shape in SHAPES]

    @tf.function
    def apply():
        strategy.run(lambda: optimizer.apply(grads, variables))

    graph = apply.get_concrete_function().graph
    types = [op.type for op in graph.get_operations()]
    for function in graph._functions.values():  # bodies of nested functions
        types += [node.op for node in function.definition.node_def]
    return types


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"learning_rate": 3e-2, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3},
        {"weight_decay": 0.1},
        {"clipnorm": 0.5},
        {"learning_rate": keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)},
    ],
    ids=["defaults", "hyperparameters", "weight_decay", "clipnorm", "schedule"],
)
def test_same_weights_as_keras_adam(kwargs):
    fused = _run(FusedAdam(**kwargs))
    reference = _run(keras.optimizers.Adam(**kwargs))
    initial = _run(keras.optimizers.Adam(**kwargs), steps=0)
    for got, want, start in zip(fused, reference, initial, strict=True):
        assert np.abs(want - start).max() > 1e-3  # the weights did move
        # Equal up to float32 rounding (the kernel may fuse multiply-adds); a
        # wrong formula (no bias correction, epsilon inside the square root)
        # moves the weights by a good fraction of the learning rate.
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_fallbacks_match_keras_adam():
    # amsgrad and sparse (IndexedSlices) gradients take Keras's own update.
    cases = [({"amsgrad": True}, False)] + ([({}, True)] if ON_TENSORFLOW else [])
    for kwargs, sparse in cases:
        fused = _run(FusedAdam(**kwargs), sparse=sparse)
        reference = _run(keras.optimizers.Adam(**kwargs), sparse=sparse)
        for got, want in zip(fused, reference, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.tensorflow_only(reason="the fused kernel and tf.distribute")
def test_uses_one_fused_kernel_per_variable():
    assert fused_update_available()
    fused_ops = _graph_ops(FusedAdam)
    assert fused_ops.count("ResourceApplyAdam") == len(SHAPES)
    keras_ops = _graph_ops(keras.optimizers.Adam)
    assert "ResourceApplyAdam" not in keras_ops
    # The point of fusing: far fewer operations per step.
    assert len(fused_ops) < 0.6 * len(keras_ops)


@pytest.mark.tensorflow_only(reason="the fused kernel and tf.distribute")
def test_amsgrad_is_not_fused():
    assert "ResourceApplyAdam" not in _graph_ops(lambda: FusedAdam(amsgrad=True))


@pytest.mark.tensorflow_only(reason="the fused kernel and tf.distribute")
def test_not_fused_under_a_distribution_strategy():
    # Distributed variables' handles depend on the replica: Keras's own
    # update handles them.
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert "ResourceApplyAdam" not in _graph_ops(FusedAdam, strategy)


def test_models_compile_with_it_by_default():
    model = aelib.VAE(latent_dim=2, hidden_units=(16,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FusedAdam warning on any backend
        model.compile()
    # FusedAdam where its kernel exists, Keras's Adam elsewhere.
    assert isinstance(model.optimizer, FusedAdam) == ON_TENSORFLOW
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert type(default_optimizer(learning_rate=0.1)) is type(model.optimizer)


@pytest.mark.filterwarnings("default")
def test_fused_adam_says_when_it_cannot_fuse():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FusedAdam()
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    if fused_update_available():
        assert messages == []
    else:
        assert len(messages) == 1
        assert keras.backend.backend() in messages[0]
        assert "TensorFlow backend only" in messages[0]


def test_config_round_trip_and_safe_mode_reload(tmp_path, mnist):
    optimizer = FusedAdam(learning_rate=2e-3, beta_1=0.8, clipnorm=1.0)
    config = keras.optimizers.serialize(optimizer)
    assert config["registered_name"] == "aelib>FusedAdam"
    clone = keras.optimizers.deserialize(config)
    assert isinstance(clone, FusedAdam)
    assert clone.get_config() == optimizer.get_config()

    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(16,))
    model.compile(optimizer=optimizer)
    model.fit(mnist.x_train[:256], epochs=1, batch_size=64, verbose=0)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.optimizer, FusedAdam)
    assert loaded.optimizer.beta_1 == pytest.approx(0.8)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 4
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
