"""Lab 05 probe: watches a training loop through the gradients it asks for.

``train_trace`` swaps the student's own ``mse_gradients`` (looked up in the namespace of
their ``train``) for a recorder, runs ``train`` once and reports what the loop did: for
every call, which rows of X and of y it received, the parameters it was called with and
the gradients it got back. It judges nothing and computes no answer: the grading
process compares the record with the reference's (``autograder.checks.lab05``).
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np

UNKNOWN_ROW = -2  # a value that matches no row of X (or of y)
NO_ROW = -1  # padding: the call had fewer rows than the data set
_ROW_RTOL = 1e-5  # float32 copies of the rows still match their originals


HEADER = ("n", "batch_size", "epochs", "learning_rate", "shuffle", "w0", "b0",
          "found_mse_gradients", "rng_used", "low_precision")
_INTS = ("n", "batch_size", "epochs")
_FLAGS = ("shuffle", "found_mse_gradients", "rng_used", "low_precision")


def row_width(n: int) -> int:
    """Numbers per recorded call: n x-row indices, n y-row indices, the row count, w, b, dW, dB."""
    return 2 * n + 5


def _rows(values, data: np.ndarray, n: int) -> tuple[list[int], int]:
    """The index in ``data`` of each received value (UNKNOWN_ROW where none is close), padded to n."""
    try:
        flat = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return [UNKNOWN_ROW] + [NO_ROW] * (n - 1), 1
    indices = []
    for value in flat[:n]:
        j = int(np.argmin(np.abs(data - value)))
        indices.append(j if abs(data[j] - value) <= _ROW_RTOL * max(1.0, abs(value)) else UNKNOWN_ROW)
    return indices + [NO_ROW] * (n - len(indices)), int(flat.size)


def _number(value) -> float:
    try:
        array = np.asarray(value, dtype=float)
        return float(array.reshape(-1)[0]) if array.size == 1 else math.nan
    except (TypeError, ValueError, IndexError):
        return math.nan


def _is_low_precision(*values) -> bool:
    return any(getattr(v, "dtype", None) is not None and np.dtype(v.dtype).kind == "f"
               and np.dtype(v.dtype).itemsize < 8 for v in values)


def _result(value):
    """The student's (w, b, history), with array scalars unwrapped; anything else as it came."""
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return value
    w, b, history = value
    try:
        history = np.asarray(history)
        if history.dtype.kind not in "biuf":
            history = value[2]
    except (TypeError, ValueError):
        history = value[2]
    return (_scalar(w), _scalar(b), history)


def _scalar(value):
    array = np.asarray(value) if isinstance(value, (np.ndarray, np.generic)) else None
    if array is not None and array.size == 1 and array.dtype.kind in "biuf":
        return array.reshape(-1)[0]
    return value


def train_trace(train, X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, seed=0):
    """Runs ``train`` once while recording every call of its ``mse_gradients``.

    ``train`` gets ``rng=np.random.default_rng(seed)`` for its shuffling.

    Returns:
        ``(result, record)``: ``result`` is what ``train`` returned (``(w, b, history)``);
        ``record`` one flat float array: the run's settings and what the probe saw
        (``HEADER``: whether ``rng`` was used, whether float32 appeared, ...), then
        ``row_width(n)`` numbers per call of ``mse_gradients``. :func:`read_record` splits it.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    x_rows, y_rows = X.astype(float).ravel(), y.astype(float).ravel()
    n = len(x_rows)
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    namespace = getattr(train, "__globals__", None)
    original = namespace.get("mse_gradients") if isinstance(namespace, dict) else None
    calls, low_precision = [], []

    if callable(original):
        try:
            signature = inspect.signature(original)
        except (TypeError, ValueError):
            signature = None

        @functools.wraps(original)
        def recorder(*args, **kwargs):
            try:
                received = list(signature.bind(*args, **kwargs).arguments.values()) if signature else list(args)
            except TypeError:
                received = list(args)
            received += [None] * (4 - len(received))
            x_batch, y_batch, w_now, b_now = received[:4]
            xi, count = _rows(x_batch, x_rows, n)
            yi, _ = _rows(y_batch, y_rows, n)
            params = [_number(w_now), _number(b_now)]
            gradients = original(*args, **kwargs)
            # Any pair (dW, dB) that train can unpack counts: a tuple, a list, or an array of two.
            if isinstance(gradients, (tuple, list)) and len(gradients) == 2:
                pair = list(gradients)
            elif isinstance(gradients, np.ndarray) and gradients.shape == (2,):
                pair = [gradients[0], gradients[1]]
            else:
                pair = [None, None]
            calls.append(xi + yi + [count] + params + [_number(g) for g in pair])
            low_precision.append(_is_low_precision(x_batch, w_now, b_now, *pair))
            return gradients

        namespace["mse_gradients"] = recorder
    try:
        value = train(X, y, w, b, learning_rate, epochs, batch_size=batch_size, shuffle=shuffle, rng=rng)
    finally:
        if callable(original):
            namespace["mse_gradients"] = original
    result = _result(value)
    if isinstance(result, tuple):
        low_precision.append(_is_low_precision(*result))
    settings = {
        "n": n,
        "batch_size": n if batch_size is None else max(1, min(int(batch_size), n)),
        "epochs": int(epochs),
        "learning_rate": float(learning_rate),
        "shuffle": bool(shuffle),
        "w0": float(w),
        "b0": float(b),
        "found_mse_gradients": callable(original),
        "rng_used": rng.bit_generator.state != state,
        "low_precision": any(low_precision),
    }
    record = [float(settings[name]) for name in HEADER] + [v for call in calls for v in call]
    return result, np.array(record, dtype=float)


def read_record(record) -> tuple[dict, np.ndarray]:
    """Splits a record into its settings (a dict) and its calls (one row per call); raises ValueError."""
    record = np.asarray(record, dtype=float)
    if record.ndim != 1 or record.size < len(HEADER):
        raise ValueError("not a record of train_trace")
    values = dict(zip(HEADER, record[:len(HEADER)].tolist()))
    settings = {name: (int(v) if name in _INTS else bool(v) if name in _FLAGS else v) for name, v in values.items()}
    if settings["n"] < 1:
        raise ValueError("not a record of train_trace")
    return settings, record[len(HEADER):].reshape(-1, row_width(settings["n"]))


def _plain(value):
    """A tensor or array scalar as NumPy (its dtype kept, so float32 stays visible); anything else as it came."""
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            value = value.numpy()
        except Exception:  # noqa: BLE001 - a value that cannot be read is judged as it came
            return value
    if isinstance(value, (np.ndarray, np.generic)) and value.size == 1 and value.dtype.kind in "biuf":
        return value.reshape(-1)[0]
    return value


def keras_fit(keras_train, X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0):
    """Calls the student's ``keras_train`` as the grader's fresh process would, and returns (w, b, history).

    The grader runs the notebook's definitions only, never a demo cell's ``keras.config.set_floatx``:
    Keras starts in float32 there. The check cell sees the same, and gets the notebook's setting back after.
    """
    from autograder.probes.keras_state import as_in_a_fresh_process  # imports Keras: TensorFlow exercises only

    with as_in_a_fresh_process():
        value = keras_train(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=shuffle, seed=seed)
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return value
    history = _plain(value[2])
    try:
        history = np.asarray(history) if np.asarray(history).dtype.kind in "biuf" else history
    except (TypeError, ValueError):
        pass
    return (_plain(value[0]), _plain(value[1]), history)
