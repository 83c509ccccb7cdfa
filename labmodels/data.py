"""The course's datasets as float32 arrays, and the ``tf.data`` pipeline that feeds them to ``fit``.

Normalisation happens here, in ``load``, exactly as the labs do it, so the models see what the labs'
NumPy models saw: the bike+car commutes standardized (population std, ddof=0, inputs and targets alike),
the 8×8 digits ÷16, MNIST ÷255 and flattened to 784 pixels; the four commutes and XOR are used raw.

| name | train / test | x | y |
|---|---|---|---|
| ``commutes`` | 4 / the same 4 | miles, (4, 1) | minutes, (4, 1) |
| ``bike_car_commutes`` | 39 / the same 39 | standardized miles, (39, 1) | standardized minutes, (39, 1) |
| ``xor`` | 4 / the same 4 | (4, 2) of 0 and 1 | (4, 1) of 0 and 1 |
| ``digits`` | 1,437 / 360 | (n, 64) in [0, 1] | the class 0–9, (n,) |
| ``mnist`` | 60,000 / 10,000 | (n, 784) in [0, 1] | the class 0–9, (n,) |
| ``synthetic_mnist`` | 2,048 / 512 | (n, 784) in [0, 1], MNIST's shape | the class 0–9, (n,) |

The three small tables have no held-out part: the labs fit them whole, so their test set is their
training set. ``synthetic_mnist`` is random pixels (fixed seed) labelled by a fixed random linear
"teacher", so that a model can learn it: data of MNIST's shape for tests and benchmarks on an offline
machine, not a stand-in for MNIST's accuracy.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np

NAMES = ("commutes", "bike_car_commutes", "xor", "digits", "mnist", "synthetic_mnist")
"""The datasets ``load`` knows."""

MNIST_HOST = ("storage.googleapis.com", 443)
"""Where ``keras.datasets.mnist`` downloads from; ``load("mnist")`` tries it first, briefly."""

SYNTHETIC_SIZES = (2048, 512)
SYNTHETIC_SEED = 14


class DataUnavailable(RuntimeError):
    """A dataset that cannot be had here (MNIST offline, a missing or malformed file); one-line message."""


def load(name: str, path=None, *, timeout: float = 3.0):
    """Loads a dataset as float32 NumPy arrays, normalised as its lab does it.

    Args:
        name: One of ``NAMES``.
        path: For ``"mnist"`` only: a local ``mnist.npz`` holding ``x_train``, ``y_train``, ``x_test``,
            ``y_test`` as Keras's own file does (uint8 images of 28×28, labels 0–9). Defaults to `None`
            (Keras's cached copy in ``~/.keras/datasets``, downloaded there when the network allows).
        timeout: Seconds to wait for MNIST's server before concluding the machine is offline.
            Defaults to `3.0`.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``, float32 arrays (see the module's table for shapes).

    Raises:
        ValueError: For an unknown name, or a path given for another dataset than ``"mnist"``.
        DataUnavailable: When MNIST is neither cached nor downloadable, or ``path`` is not a readable
            MNIST file; the message says what to do (``--data PATH``).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load("digits")
        >>> x_train.shape, x_test.shape
        ((1437, 64), (360, 64))
    """
    _check_arguments(name, path)
    if name == "mnist":
        return _mnist(path, timeout)
    if name == "synthetic_mnist":
        return synthetic_mnist()
    if name == "digits":
        from autograder import data as course_data

        digits = course_data.digits()
        return ((_f32(digits["X_train"]), _f32(digits["y_train"])), (_f32(digits["X_test"]), _f32(digits["y_test"])))
    return _table(name)


def _check_arguments(name: str, path) -> None:
    """Raises ValueError for an unknown dataset, or a path given for another dataset than ``"mnist"``."""
    if name not in NAMES:
        raise ValueError(f"Unknown dataset {name!r}: choose one of {', '.join(NAMES)}.")
    if path is not None and name != "mnist":
        raise ValueError(f"A data path is read for mnist only. Got path={str(path)!r} for {name!r}.")


def _f32(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float32)


def _table(name: str):
    from autograder import data as course_data

    table = course_data.load(name)
    if name == "xor":
        x, y = table.to_numpy("x1", "x2"), table.to_numpy("y")
    else:
        x, y = table.to_numpy("distance_miles"), table.to_numpy("time_minutes")
        if name == "bike_car_commutes":
            x, y = (x - x.mean()) / x.std(), (y - y.mean()) / y.std()  # lab 07's standardize, ddof=0
    x, y = _f32(x), _f32(y)
    return (x, y), (x.copy(), y.copy())


def _mnist_arrays(x_train, y_train, x_test, y_test):
    """Keras's uint8 images (n, 28, 28) and labels → float32 rows of 784 pixels in [0, 1] and float32 labels."""
    def rows(images):
        images = np.asarray(images)
        return (images.reshape(len(images), -1) / np.float32(255.0)).astype(np.float32)

    return (rows(x_train), _f32(y_train)), (rows(x_test), _f32(y_test))


def require(name: str, path=None, *, timeout: float = 3.0) -> None:
    """Checks, cheaply, that ``load(name, path)`` can find its data (before a command starts TensorFlow).

    For MNIST: the file at ``path`` exists, or Keras's cached copy does, or MNIST's server answers within
    ``timeout`` seconds. The other datasets are always there.

    Raises:
        ValueError: For an unknown name, or a path given for another dataset than ``"mnist"``.
        DataUnavailable: When MNIST cannot be had; the message says what to do.
    """
    _check_arguments(name, path)
    if name != "mnist":
        return
    if path is not None:
        if not Path(path).is_file():
            raise DataUnavailable(f"No MNIST file at {path}: --data needs a copy of mnist.npz.")
        return
    cached = _mnist_cache()
    if cached.is_file():
        return
    try:
        socket.create_connection(MNIST_HOST, timeout=timeout).close()
    except OSError as error:
        raise DataUnavailable(
            f"MNIST is not cached in {cached.parent} and cannot be downloaded here ({error.strerror or error}): "
            "pass --data PATH to a copy of mnist.npz (the file keras.datasets.mnist downloads), "
            "or train digits_mlp instead (the 8×8 digits: nothing to download).") from None


def _mnist_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"


def _mnist(path, timeout: float):
    require("mnist", path, timeout=timeout)
    if path is not None:
        return _mnist_file(Path(path))
    if _mnist_cache().is_file():
        return _mnist_file(_mnist_cache())
    import keras

    try:
        return _mnist_arrays(*(array for pair in keras.datasets.mnist.load_data() for array in pair))
    except Exception as error:  # noqa: BLE001 - a proxy, a broken download: one message for all
        raise DataUnavailable(f"MNIST could not be downloaded ({type(error).__name__}: {error}): "
                              "pass --data PATH to a copy of mnist.npz.") from None


def _mnist_file(path: Path):
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as file:
            missing = [key for key in keys if key not in file.files]
            if missing:
                raise DataUnavailable(f"{path} is not an MNIST file: it lacks {', '.join(missing)} "
                                      f"(it has {', '.join(file.files) or 'nothing'}).")
            arrays = [file[key] for key in keys]
    except (OSError, ValueError) as error:
        raise DataUnavailable(f"Cannot read MNIST from {path}: {error}.") from None
    for images in (arrays[0], arrays[2]):
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) == 0:
            raise DataUnavailable(f"{path}: MNIST images must have shape (n, 28, 28). Got {images.shape}.")
    for images, labels in ((arrays[0], arrays[1]), (arrays[2], arrays[3])):
        if labels.shape != (len(images),):
            raise DataUnavailable(f"{path}: one label per image is needed. Got {labels.shape} for {len(images)}.")
    return _mnist_arrays(*arrays)


def synthetic_mnist(sizes: tuple[int, int] = SYNTHETIC_SIZES, seed: int = SYNTHETIC_SEED):
    """Random uint8 images of 28×28 (MNIST's shape and dtype), labelled by a fixed linear teacher.

    The images pass through MNIST's own conversion (÷255, flattened), so the arrays have MNIST's shapes.

    Args:
        sizes: (training, test) examples. Defaults to `(2048, 512)`.
        seed: The generator's seed. Defaults to `14`.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``, float32.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(sum(sizes), 28, 28), dtype=np.uint8)
    teacher = rng.normal(size=(784, 10))
    centred = images.reshape(len(images), -1) / 255.0 - 0.5
    labels = np.argmax(centred @ teacher, axis=1).astype(np.uint8)
    train = sizes[0]
    return _mnist_arrays(images[:train], labels[:train], images[train:], labels[train:])


def pipeline(x, y, batch_size: int, *, training: bool, seed: int = 0, cache: bool = True,
             drop_remainder: bool = False):
    """A ``tf.data`` input pipeline over arrays held in memory: shuffled indices → batches → gathered rows.

    The arrays become two tensors once; the dataset shuffles and batches *indices* and gathers each batch's
    rows in one ``map`` (a gather per batch, not a slice per example). When ``training``, every pass over
    the dataset visits each example exactly once, in a new order (the index shuffle covers the whole
    dataset, ``reshuffle_each_iteration=True``, seeded: the sequence of orders is the same in every run),
    and since the shuffle comes before the batching, batches differ between epochs, not only their
    order. Without ``training`` the order is the arrays' own, and the batches are cached after the first
    pass. Batches are prefetched (``AUTOTUNE``) while the model trains on the one before.

    Args:
        x: The inputs, an array of shape (n, ...).
        y: The targets, an array of shape (n, ...).
        batch_size: Examples per batch (the global batch under a distribution strategy), an int ≥ 1.
        training: Shuffle every epoch (training) or keep the order (evaluation).
        seed: The shuffle's seed. Defaults to `0`.
        cache: Keep the evaluation batches in memory after the first pass. Defaults to `True`.
        drop_remainder: Leave out a last batch smaller than ``batch_size``. Defaults to `False`.

    Returns:
        A ``tf.data.Dataset`` of ``(x_batch, y_batch)``, ``ceil(n / batch_size)`` batches per pass
        (``floor`` with ``drop_remainder``).

    Raises:
        ValueError: For a batch size that is not a positive int, or x and y of different lengths.

    Example:
        >>> dataset = pipeline(np.zeros((10, 3)), np.arange(10), 4, training=True)
        >>> [len(batch_y) for _, batch_y in dataset]
        [4, 4, 2]
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"The 'batch_size' argument of pipeline must be a positive int. Got {batch_size!r} instead.")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of examples. Got {len(x)} and {len(y)}.")
    inputs, targets = tf.constant(x), tf.constant(y)
    indices = tf.data.Dataset.range(len(x))
    order = indices.shuffle(len(x), seed=seed, reshuffle_each_iteration=True) if training else indices
    batches = order.batch(int(batch_size), drop_remainder=drop_remainder).map(
        lambda rows: (tf.gather(inputs, rows), tf.gather(targets, rows)), num_parallel_calls=tf.data.AUTOTUNE)
    return (batches.cache() if cache and not training else batches).prefetch(tf.data.AUTOTUNE)
