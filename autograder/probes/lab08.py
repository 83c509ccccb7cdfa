"""Lab 08 probes: an activation's value and whether computing it overflowed; Keras activations as arrays.

``quiet`` calls the student's function with NumPy's floating-point warnings switched on
(``np.errstate(over="warn", invalid="warn", divide="warn")``) and records them: the naive
sigmoid ``1 / (1 + np.exp(-x))`` returns the right number at x = −1000, but only after
``np.exp(1000)`` overflowed to inf, which a value alone cannot show. The report is the
plain value when nothing warned, and ``{"warning": text, "value": value}`` when a
RuntimeWarning was raised (or an OverflowError, whose value is None).

``keras_values`` calls the student's Keras function with Keras' default float type
(float32, as in the grader, whatever the notebook set) and converts a tensor it returns
to a NumPy array, keeping its dtype. Neither holds a formula: the grading process
compares the reports with the hidden reference's.
"""

from __future__ import annotations

import warnings

import numpy as np


def quiet(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or ``{"warning": ..., "value": ...}`` when computing it warned or overflowed."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", divide="warn"):
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except (OverflowError, FloatingPointError) as exc:
            return {"warning": f"{type(exc).__name__}: {exc}", "value": None}
    for warning in caught:
        if issubclass(warning.category, RuntimeWarning):
            return {"warning": f"RuntimeWarning: {warning.message}", "value": value}
    return value


def keras_values(fn, name, x):
    """``fn(name, x)`` computed with Keras' settings of a fresh process (float32), as a NumPy array of its dtype."""
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():
        value = fn(name, x)
    if isinstance(value, np.ndarray):
        return value
    try:
        return keras.ops.convert_to_numpy(value)
    except Exception:  # noqa: BLE001 - what cannot be converted is reported as it is
        return value
