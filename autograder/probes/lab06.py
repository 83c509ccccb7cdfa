"""Lab 06 probe: builds the student's Keras model and reports what its Normalization layers do.

``normalized_model`` calls ``build_normalized_model(x_train, y_train)`` as the grader's fresh
process would (Keras in float32), then reports the first and last layers' kinds, their
``mean`` and ``variance``, the first layer's output on ``x``, and the whole model's output
on ``x`` once the probe has set the Dense layer between them to ``kernel`` and ``bias``.
It judges nothing and holds no formula of the answer.
"""

from __future__ import annotations

import numpy as np


def _numbers(value) -> np.ndarray:
    if value is None:
        return np.zeros(0)
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    return np.asarray(value)


def _kind(layer, Normalization) -> str:
    name = type(layer).__name__
    if isinstance(layer, Normalization):
        return "Normalization(invert=True)" if getattr(layer, "invert", False) else "Normalization"
    return name


def _dtype(*arrays) -> str:
    kinds = {np.dtype(a.dtype).name for a in arrays if a.size and a.dtype.kind == "f"}
    return "float64" if kinds == {"float64"} else "float32" if "float32" in kinds else "/".join(sorted(kinds))


def normalized_model(build_normalized_model, x_train, y_train, x, kernel, bias):
    """The model's report on ``x``: layer kinds, statistics, normalized inputs and outputs (see the module)."""
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():  # a set_floatx("float64") inside the student's function takes effect
        model = build_normalized_model(x_train, y_train)
        return _report(model, x, kernel, bias, keras.layers.Normalization)


def _report(model, x, kernel, bias, Normalization) -> dict:
    # A functional keras.Model lists its InputLayer first; a Sequential does not.
    layers = [layer for layer in list(getattr(model, "layers", None) or []) if type(layer).__name__ != "InputLayer"]
    if not layers:
        return {"problem": f"build_normalized_model returned {type(model).__name__}, not a Keras model with layers"}
    first, last = layers[0], layers[-1]
    report = {"first": _kind(first, Normalization), "last": _kind(last, Normalization)}
    for key, layer in (("x", first), ("y", last)):
        is_normalization = isinstance(layer, Normalization)
        report[f"{key}_mean"] = _numbers(getattr(layer, "mean", None) if is_normalization else None).reshape(-1)
        report[f"{key}_variance"] = _numbers(getattr(layer, "variance", None) if is_normalization else None).reshape(-1)
    if report["x_mean"].size != np.shape(x)[1] or report["y_mean"].size != 1:
        return report  # statistics of the wrong shape: the model cannot be called on x
    inner = [layer for layer in layers[1:-1] if layer.weights]
    dense = inner[0] if len(inner) == 1 else None
    if dense is None or [tuple(w.shape) for w in dense.weights] != [tuple(np.shape(kernel)), (1,)]:
        shapes = [[tuple(w.shape) for w in layer.weights] for layer in inner]
        report["problem_dense"] = (f"between the first and the last layer the check expected one Dense(1) with "
                                   f"a kernel of shape {tuple(np.shape(kernel))} and a bias of shape (1,); found "
                                   f"the weights {shapes}")
        return report
    dense.set_weights([np.asarray(kernel), np.array([bias])])
    normalized = _numbers(first(np.asarray(x)))
    output = _numbers(model(np.asarray(x)))
    report["normalized"] = normalized
    report["output"] = output.reshape(-1) if output.ndim == 2 and output.shape[1] == 1 else output
    report["dtype"] = _dtype(report["x_mean"], normalized, output)
    return report
