"""Training under tf.distribute.MirroredStrategy matches single-device training.

The check runs in a subprocess because TensorFlow's logical devices must be
configured before TensorFlow initializes, and the test session has already
initialized it with one CPU device.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow_only(reason="tf.distribute.MirroredStrategy")

SCRIPT = textwrap.dedent(
    """
    import json
    import os

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )

    import keras

    import aelib

    x = aelib.load_mnist(verbose=False).x_train[:1024]


    def train(strategy):
        aelib.set_seed(0)
        with strategy.scope():
            model = aelib.VAE(latent_dim=2, hidden_units=(64,))
            # Plain SGD: unlike Adam, it is not invariant to the gradient's
            # scale, so a loss that is not divided among replicas shows.
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=2e-3))
        history = model.fit(x, epochs=3, batch_size=128, shuffle=False, verbose=0)
        return history.history


    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    print(json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "single": train(tf.distribute.get_strategy()),
        "mirrored": train(mirrored),
    }))
    """
)


def test_mirrored_strategy_matches_single_device(tmp_path):
    environment = dict(os.environ, AELIB_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    single, mirrored = report["single"], report["mirrored"]
    # Same data, same initial weights and the same global batch: the loss
    # history agrees to within the noise of the reparameterization draws,
    # which the two runs split differently across devices (0.5% tolerance).
    for name in ("loss", "reconstruction_loss"):
        np.testing.assert_allclose(mirrored[name], single[name], rtol=5e-3)
    # Training really happened, and at the same speed: with the loss counted
    # twice (once per replica) SGD would take steps twice as long.
    single_drop = single["loss"][0] - single["loss"][-1]
    mirrored_drop = mirrored["loss"][0] - mirrored["loss"][-1]
    assert single_drop > 5.0, single
    assert abs(mirrored_drop - single_drop) < 0.1 * single_drop, (single, mirrored)
