"""Lab 11 probes: run a batch iterator (NumPy) or a ``tf.data.Dataset`` (Keras) for a few epochs, report the rows.

Both probes hand the student's code a data set whose rows can be told apart (every row of X, and
every label of y, occurs once) and record, for every epoch, which row of X and which row of y each
batch held, and the batches' sizes. ``batch_rows`` also records whether each epoch drew from the
generator it was given. They judge nothing and hold no answer: the grading process reads the
record (``autograder.checks.lab11``) and compares what it shows (every example once, X and y
paired, batch sizes, order within and across epochs) with the reference's record.
"""

from __future__ import annotations

import numpy as np

UNKNOWN = -1  # a row that matches no row of the data
MAX_BATCHES = 10_000  # an iterator that never ends is cut off here


def _lookup(rows: np.ndarray) -> dict:
    """Row index of every row (an image or a label row is read flat)."""
    return {tuple(row.tolist()): i for i, row in enumerate(rows.reshape(len(rows), -1))}


def _indices(batch, table: dict, width: int) -> list[int]:
    """The index in the data of every row of ``batch`` (UNKNOWN for a row that is no row of the data)."""
    try:
        array = np.asarray(batch, dtype=float)
    except (TypeError, ValueError):
        return [UNKNOWN]
    if array.ndim == 0:
        return [UNKNOWN]
    array = array.reshape(len(array), -1) if array.size else array.reshape(0, width)
    if array.shape[1] != width:
        return [UNKNOWN] * max(len(array), 1)
    return [table.get(tuple(row.tolist()), UNKNOWN) for row in array]


def _epoch(batches, X, y) -> dict:
    """One pass over ``batches``: the rows of X and y of each batch, flattened, and each batch's size."""
    x_table, y_table = _lookup(np.asarray(X, dtype=float)), _lookup(np.asarray(y, dtype=float))
    x_width = int(np.prod(np.shape(X)[1:], dtype=int)) if np.ndim(X) > 1 else 1
    y_width = int(np.prod(np.shape(y)[1:], dtype=int)) if np.ndim(y) > 1 else 1
    x_rows, y_rows, sizes, shape_error = [], [], [], ""
    for count, item in enumerate(batches):
        if count >= MAX_BATCHES:
            shape_error = f"more than {MAX_BATCHES} batches in one epoch: does your loop ever end?"
            break
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            return {"x": np.array([], dtype=np.int64), "y": np.array([], dtype=np.int64),
                    "sizes": np.array([], dtype=np.int64),
                    "error": f"a batch was a {type(item).__name__}, not a pair (X_batch, y_batch)"}
        xs, ys = _indices(item[0], x_table, x_width), _indices(item[1], y_table, y_width)
        x_rows += xs
        y_rows += ys if len(ys) == len(xs) else [UNKNOWN] * len(xs)
        sizes.append(len(xs))
    return {"x": np.array(x_rows, dtype=np.int64), "y": np.array(y_rows, dtype=np.int64),
            "sizes": np.array(sizes, dtype=np.int64), "error": shape_error}


def batch_rows(iterate_batches, X, y, batch_size, seed, shuffle=None, drop_remainder=None, epochs=3):
    """Calls ``iterate_batches(X, y, batch_size, rng, ...)`` once per epoch with one ``rng`` for all epochs.

    ``rng`` is ``np.random.default_rng(seed)``; ``shuffle`` and ``drop_remainder`` are passed only when
    the case sets them (None: the function's defaults).

    Returns:
        ``{"n", "batch_size", "epochs": [{"x", "y", "sizes", "error"}, ...], "rng_used": [bool per epoch]}``.
    """
    rng = np.random.default_rng(seed)
    options = {k: v for k, v in (("shuffle", shuffle), ("drop_remainder", drop_remainder)) if v is not None}
    report = {"n": len(X), "batch_size": int(batch_size), "epochs": [], "rng_used": []}
    for _round in range(epochs):
        state = rng.bit_generator.state
        report["epochs"].append(_epoch(iterate_batches(X, y, batch_size, rng, **options), X, y))
        report["rng_used"].append(rng.bit_generator.state != state)
    return report


def dataset_rows(make_dataset, X, y, batch_size, seed, drop_remainder=None, epochs=3):
    """Builds ``make_dataset(X, y, batch_size, seed, ...)`` once (with Keras' settings of a fresh process) and
    iterates it ``epochs`` times.

    Returns:
        ``{"n", "batch_size", "epochs": [{"x", "y", "sizes", "error"}, ...]}``: :func:`batch_rows`'s record
        without ``rng_used``.
    """
    from autograder.probes.keras_state import as_in_a_fresh_process  # imports Keras: TensorFlow exercises only

    options = {} if drop_remainder is None else {"drop_remainder": drop_remainder}
    with as_in_a_fresh_process():
        dataset = make_dataset(X, y, batch_size, seed, **options)
    return passes(dataset, X, y, batch_size, epochs)


def passes(dataset, X, y, batch_size, epochs=3):
    """``{"n", "batch_size", "epochs": [...]}``: ``epochs`` passes over an iterable of (X_batch, y_batch) pairs."""
    return {"n": len(X), "batch_size": int(batch_size),
            "epochs": [_epoch(_numpy_batches(dataset), X, y) for _ in range(epochs)]}


def _numpy_batches(dataset):
    """The pairs of one pass over ``dataset``, as NumPy arrays (a tf.data element is a pair of tensors)."""
    for item in dataset:
        if isinstance(item, (tuple, list)) and len(item) == 2:
            yield tuple(_numpy(part) for part in item)
        else:
            yield item


def _numpy(value):
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            return value.numpy()
        except Exception:  # noqa: BLE001 - what cannot be read is judged as it came
            return value
    return value
