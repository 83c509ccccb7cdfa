"""Lab 11 probes: run a batch iterator for a few epochs and report the rows; run the Keras training, report it.

``batch_rows`` hands the student's iterator a data set whose rows can be told apart (every row of X,
and every label of y, occurs once) and records, for every epoch, which row of X and which row of y
each batch held, the batches' sizes, and whether each epoch drew from the generator it was given.
``keras_training`` calls ``keras_train`` with Keras's settings of a fresh process and hands back its
weights and losses as arrays. They judge nothing and hold no answer: the grading process compares
the record (``autograder.checks.lab11``) or the trained weights with the reference's.
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


def keras_training(keras_train, X, y, weights, orders, batch_size, learning_rate):
    """Calls the student's ``keras_train`` as the grader's fresh process would (Keras in float32 until the
    function sets float64) and returns what it returned, tensors as NumPy arrays with their dtypes kept.

    Returns:
        ``(weights, losses)``: a tuple of arrays and an array, when the function returned a pair of that
        kind; anything else as it came.
    """
    from autograder.probes.keras_state import as_in_a_fresh_process  # imports Keras: TensorFlow exercises only

    with as_in_a_fresh_process():
        value = keras_train(X, y, [np.array(w) for w in weights], [np.array(o) for o in orders], batch_size,
                            learning_rate)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not isinstance(value[0], (tuple, list)):
        return value
    return tuple(_numpy(w) for w in value[0]), _numpy(value[1])


def _numpy(value):
    """A tensor or a list of numbers as a NumPy array (its dtype kept); anything else as it came."""
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            return value.numpy()
        except Exception:  # noqa: BLE001 - what cannot be read is judged as it came
            return value
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            return value
        return array if array.dtype.kind in "biuf" else value
    return value
