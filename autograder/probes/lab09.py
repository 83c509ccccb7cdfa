"""Lab 09 probe: asks the student's ``choose_loss`` for a loss and reports what that loss computes.

``loss_report`` calls ``choose_loss(last_activation, labels)``, applies the object it returns to a
model's output and the labels, and reports the value, or the error it raised. When it raised, the
probe also tries the same loss on the labels written the other way (integers as one-hot rows, one-hot
rows as integers), so that the grading process can tell a sparse/one-hot mix-up from any other error.
It holds no formula of any loss: the values are judged against the NumPy reference's.
"""

from __future__ import annotations

import numpy as np


def _value(loss, y_true, y_pred):
    import keras

    return float(keras.ops.convert_to_numpy(loss(y_true, y_pred)))


def _other_format(labels: str, y_true, y_pred):
    """The labels written the other way, or None where they have one format (binary)."""
    if labels == "integers":
        return np.eye(np.shape(y_pred)[-1])[np.asarray(y_true, dtype=int)]
    if labels == "one_hot":
        return np.argmax(np.asarray(y_true), axis=-1)
    return None


def loss_report(choose_loss, last_activation, labels, y_true, y_pred):
    """``{"loss": float or None, "error": "" or the exception's type, "other_labels": float or None}``.

    ``loss`` is what ``choose_loss(last_activation, labels)(y_true, y_pred)`` returns; where that raised,
    ``other_labels`` is the same loss on the labels written the other way (None if that raised too).
    """
    loss = choose_loss(last_activation, labels)
    try:
        return {"loss": _value(loss, y_true, y_pred), "error": "", "other_labels": None}
    except Exception as exc:  # noqa: BLE001 - a loss that refuses these labels is part of the report
        error = type(exc).__name__
    other = _other_format(labels, y_true, y_pred)
    try:
        other_value = None if other is None else _value(loss, other, y_pred)
    except Exception:  # noqa: BLE001 - the other format may fail as well
        other_value = None
    return {"loss": None, "error": error, "other_labels": other_value}
