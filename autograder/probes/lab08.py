"""Lab 08 probe: the student's Keras training run, as plain arrays.

``keras_steps`` calls the student's ``keras_train_steps`` with Keras's settings of a fresh process
(float32, as in the grader, whatever the notebook set) and converts the tensors it returns to NumPy
arrays, keeping their dtypes. It holds no formula and judges nothing: the grading process compares
the arrays with the hidden NumPy reference run.
"""

from __future__ import annotations

import numpy as np


def _plain(value, depth=0):
    """Tensors and variables as NumPy arrays (their dtype kept), inside tuples and lists too."""
    if isinstance(value, (tuple, list)) and depth < 2:
        return type(value)(_plain(item, depth + 1) for item in value)
    if isinstance(value, (np.ndarray, np.generic, float, int)):
        return value
    try:
        import keras

        return keras.ops.convert_to_numpy(value)
    except Exception:  # noqa: BLE001 - what cannot be converted is reported as it is
        return value


def keras_steps(fn, activation, weights, X, y, learning_rate, steps):
    """``fn(activation, weights, X, y, learning_rate, steps)`` in a fresh process's Keras settings, as arrays."""
    from autograder.probes.keras_state import as_in_a_fresh_process  # imports Keras: TensorFlow exercises only

    with as_in_a_fresh_process():  # the case's own arrays: the grader sees a change made to them in place
        value = fn(activation, weights, X, y, learning_rate, steps)
    return _plain(value)
