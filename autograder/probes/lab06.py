"""Lab 06 probe: runs the student's Keras training and reports what the trained model holds and does.

``normalized_fit`` calls ``fit_normalized_model(x_train, y_train, kernel, bias, learning_rate, epochs)``
as the grader's fresh process would (Keras in float32). The student's function returns what ``fit``
returns, a ``keras.callbacks.History``; the probe reports its loss history and, from ``history.model``,
the first and last layers' kinds, their ``mean`` and ``variance``, the trained Dense layer's kernel and
bias, the first layer's output on ``x`` and the whole model's output on ``x``. It judges nothing and
holds no formula of the answer.
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


def normalized_fit(fit_normalized_model, x_train, y_train, kernel, bias, learning_rate, epochs, x):
    """The trained model's report on ``x``: loss history, layer kinds, statistics, weights, outputs."""
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():  # a set_floatx("float64") inside the student's function takes effect
        history = fit_normalized_model(x_train, y_train, kernel, bias, learning_rate, epochs)
        if not isinstance(history, keras.callbacks.History) or history.model is None:
            return {"problem": f"fit_normalized_model returned {type(history).__name__}: return what "
                               "model.fit(...) returns, a keras.callbacks.History (it holds the model too)"}
        report = _report(history.model, x, keras.layers.Normalization)
        report["loss"] = _numbers(list(history.history.get("loss", [])))
        return report


def _report(model, x, Normalization) -> dict:
    # A functional keras.Model lists its InputLayer first; a Sequential does not.
    layers = [layer for layer in list(getattr(model, "layers", None) or []) if type(layer).__name__ != "InputLayer"]
    if not layers:
        return {"problem": f"the History's model is a {type(model).__name__} without layers"}
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
    if dense is None or [tuple(w.shape) for w in dense.weights] != [(np.shape(x)[1], 1), (1,)]:
        shapes = [[tuple(w.shape) for w in layer.weights] for layer in inner]
        report["problem_dense"] = (f"between the first and the last layer the check expected one Dense(1) with "
                                   f"a kernel of shape ({np.shape(x)[1]}, 1) and a bias of shape (1,); found "
                                   f"the weights {shapes}")
        return report
    kernel, bias = (_numbers(w) for w in dense.get_weights())
    normalized = _numbers(first(np.asarray(x)))
    output = _numbers(model(np.asarray(x)))
    report.update(kernel=kernel.reshape(-1), bias=bias.reshape(-1), normalized=normalized,
                  output=output.reshape(-1) if output.ndim == 2 and output.shape[1] == 1 else output)
    report["dtype"] = _dtype(report["x_mean"], kernel, normalized, output)
    return report
