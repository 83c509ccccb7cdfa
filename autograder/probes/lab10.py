"""Lab 10 probes: run the student's optimizers, their descent loop and their Keras optimizer; report moves.

``optimizer_run`` builds the student's optimizer from a case's keyword arguments, hands it the
same list of float64 parameter arrays at every step with a fresh list of gradients, and sets
``optimizer.learning_rate`` before the steps where the case changes it (as a schedule would).
It reads the parameters through its own references to those arrays, so only an update made in
place counts, and reports every parameter's displacement from its start after each step.

``descend_run`` hands the student's ``descend`` an optimizer of the probe's own (a plain step
whose rate changes at every call) and a bowl's gradient. ``keras_training`` hands ``keras_train``
one of the student's own optimizer objects and a small regression problem, and reads back the
Keras run (the losses, the final weights); it also runs the student's NumPy optimizer on the same
problem, for the feedback.

The probes hold no update rule of the lab: the grading process compares their reports with the
NumPy references' (``autograder.checks.lab10``).
"""

from __future__ import annotations

import numpy as np


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def optimizer_run(Optimizer, kwargs, start, grads, rates):
    """``Optimizer(**kwargs)`` stepped once per entry of ``grads``: the moves, shape (steps, total size).

    Row t holds every parameter's displacement from its start (flattened, in order, concatenated)
    after step t + 1. Before step t, where ``rates[t]`` is not None, ``optimizer.learning_rate`` is
    set to it.
    """
    optimizer = Optimizer(**kwargs)
    params = [np.array(p, dtype=np.float64) for p in start]
    held = list(params)  # the arrays themselves: a new array put into the list is not an update in place
    origin = _flat(held)
    moves = []
    for rate, step_grads in zip(rates, grads):
        if rate is not None:
            optimizer.learning_rate = float(rate)
        optimizer.step(params, [np.array(g, dtype=np.float64) for g in step_grads])
        moves.append(_flat(held) - origin)
    return np.array(moves)


class _ProbeOptimizer:
    """A plain step p −= rate·g whose rate is the next of ``rates`` at each call; it checks its arguments."""

    def __init__(self, rates):
        self.rates, self.calls = [float(r) for r in rates], 0

    def step(self, params, grads):
        if not isinstance(params, (list, tuple)) or not isinstance(grads, (list, tuple)):
            raise TypeError("optimizer.step takes two lists, step([x], [g]): "
                            f"received {type(params).__name__} and {type(grads).__name__}")
        rate = self.rates[min(self.calls, len(self.rates) - 1)]
        self.calls += 1
        for p, g in zip(params, grads):
            p -= rate * np.asarray(g, dtype=np.float64)

    def __repr__(self):
        return f"ProbeOptimizer(step {self.calls})"


def descend_run(descend, rates, matrix, center, start, steps):
    """``descend(optimizer, gradient, start, steps)`` with the probe's optimizer and ∇f = A (x − c).

    Returns:
        What descend returned, as a float array, or a string saying why it could not be read.
    """
    A, c = np.array(matrix, dtype=np.float64), np.array(center, dtype=np.float64)

    def gradient(x):
        return A @ (np.asarray(x, dtype=np.float64) - c)

    path = descend(_ProbeOptimizer(rates), gradient, start, steps)
    try:
        array = np.array(path, dtype=np.float64)
    except (TypeError, ValueError):
        return f"descend returned {type(path).__name__}, expected an array of shape (steps + 1, d)"
    return array


class _Standing:
    """Stands for a student's optimizer when their class cannot be built: its name and its attributes."""

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def _mine(namespace, name, kwargs):
    """The student's own ``name(**kwargs)``, or a stand-in of that class name carrying the attributes."""
    cls = namespace.get(name)
    if isinstance(cls, type):
        try:
            return cls(**kwargs)
        except Exception:  # noqa: BLE001 - an unfinished class: the stand-in below carries the same settings
            pass
    standing = type(name, (_Standing,), {})()
    for key, value in kwargs.items():
        setattr(standing, key, value)
    return standing


def _numbers(value):
    """A returned tensor, variable or array as NumPy, its dtype kept (float32 must stay visible)."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, (list, tuple)):
        return np.array([_numbers(v) for v in value])
    return np.asarray(value)


def _your_numpy_run(namespace, name, kwargs, X, y, kernel, bias, steps):
    """The student's own NumPy ``name(**kwargs)`` on the same model, full batch, mean squared error; None if unfinished.

    The gradients of the mean squared error of ŷ = X·kernel + bias are Lab 05's: 2/n·Xᵀ(ŷ − y) and 2·mean(ŷ − y).
    """
    cls = namespace.get(name)
    if not isinstance(cls, type):
        return None
    try:
        optimizer = cls(**kwargs)
        params, losses = [np.array(kernel, dtype=np.float64), np.array([float(bias)])], []
        for _ in range(steps):
            error = X @ params[0] + params[1][0] - y
            losses.append(float(np.mean(error ** 2)))
            optimizer.step(params, [2 * X.T @ error / len(y), np.array([2 * np.mean(error)])])
        return {"losses": np.array(losses), "kernel": params[0].copy(), "bias": float(params[1][0])}
    except Exception:  # noqa: BLE001 - an unfinished or broken optimizer: its own check reports it
        return None


def keras_training(keras_train, name, kwargs, X, y, kernel, bias, steps):
    """``keras_train(mine, X, y, kernel, bias, steps)`` as the grader's fresh process runs it, and its run read back.

    ``mine`` is the student's own ``name(**kwargs)`` (a stand-in with the same attributes where their class is
    unfinished). Beside the Keras run, the report holds what the student's own NumPy optimizer does on the
    same model ("yours", or None): feedback only, the grade compares the Keras run with the reference.

    Returns:
        ``{"losses": (steps,), "kernel": (d,), "bias": float, "yours": ...}``, or a string saying why the
        returned value could not be read.
    """
    from autograder.probes.keras_state import as_in_a_fresh_process  # imports Keras: TensorFlow exercises only

    namespace = getattr(keras_train, "__globals__", {})
    X, y, kernel = (np.array(a, dtype=np.float64) for a in (X, y, kernel))
    mine = _mine(namespace, name, kwargs)
    with as_in_a_fresh_process():
        value = keras_train(mine, X.copy(), y.copy(), kernel.copy(), float(bias), steps)
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return (f"keras_train returned {type(value).__name__}, expected a tuple (losses, kernel, bias): the "
                "losses before each step, the final kernel and the final bias")
    try:
        losses, new_kernel, new_bias = (_numbers(v) for v in value)
    except Exception:  # noqa: BLE001 - a symbolic tensor, a ragged list: whatever cannot be read is reported
        return "keras_train's (losses, kernel, bias) could not be read as numbers"
    if new_bias.size != 1 or any(a.dtype.kind not in "biuf" for a in (losses, new_kernel, new_bias)):
        return (f"keras_train returned a bias of shape {new_bias.shape} (expected one number), or values that are "
                "not numbers")
    return {"losses": losses, "kernel": new_kernel, "bias": new_bias.reshape(-1)[0],
            "yours": _your_numpy_run(namespace, name, kwargs, X, y, kernel, bias, steps)}
