"""Lab 09 probe: runs the student's Keras training of the 2-h-1 network and reports what it returned.

``keras_run`` calls ``keras_xor`` as the grader's fresh process would (Keras in float32 until the student's
code says otherwise) and hands back its loss history and the trained model's outputs as plain arrays, their
dtype kept so that float32 shows. It holds no formula: the values are judged against a NumPy reference run
in the grading process.
"""

from __future__ import annotations

import numpy as np


def _plain(value):
    """A tensor, array or list of numbers as a NumPy array (dtype kept); anything else as it came."""
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            value = value.numpy()
        except Exception:  # noqa: BLE001 - a value that cannot be read is judged as it came
            return value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return value
    return array if array.dtype.kind in "biuf" else value


def keras_run(keras_xor, X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    """``{"history": …, "outputs": …}`` from ``keras_xor(...) = (history, outputs)``, or what it returned."""
    from autograder.probes.keras_state import as_in_a_fresh_process  # imports Keras: TensorFlow exercises only

    with as_in_a_fresh_process():
        value = keras_xor(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return value
    return {"history": _plain(value[0]), "outputs": _plain(value[1])}
