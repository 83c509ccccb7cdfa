"""Lab 10 probes: run the student's optimizers, their descent loop and their Keras optimizer; report moves.

``optimizer_run`` builds the student's optimizer from a case's keyword arguments, hands it the
same list of float64 parameter arrays at every step with a fresh list of gradients, and sets
``optimizer.learning_rate`` before the steps where the case changes it (as a schedule would).
It reads the parameters through its own references to those arrays, so only an update made in
place counts, and reports every parameter's displacement from its start after each step.

``descend_run`` hands the student's ``descend`` an optimizer of the probe's own (a plain step
whose rate changes at every call) and a bowl's gradient. ``keras_run`` asks ``keras_optimizer``
for the Keras twin of one of the student's optimizers and applies it to float64 variables.

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


def keras_run(keras_optimizer, name, kwargs, start, grads, rates):
    """``keras_optimizer(mine)`` applied to float64 variables, stepped like :func:`optimizer_run`.

    ``mine`` is the student's own ``name(**kwargs)`` (a stand-in with the same attributes where
    their class is unfinished). The Keras optimizer is built with floatx float64, so that its
    learning rate is stored exactly; the grader's settings come back afterwards.

    Returns:
        ``{"optimizer": the class's name, "moves": (steps, total size)}``.
    """
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    mine = _mine(getattr(keras_optimizer, "__globals__", {}), name, kwargs)
    with as_in_a_fresh_process():
        keras.config.set_floatx("float64")
        optimizer = keras_optimizer(mine)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            return f"keras_optimizer returned {type(optimizer).__name__}, expected a keras.optimizers object"
        variables = [keras.Variable(np.array(p, dtype=np.float64), dtype="float64") for p in start]
        origin = _flat([keras.ops.convert_to_numpy(v) for v in variables])
        moves = []
        for rate, step_grads in zip(rates, grads):
            if rate is not None:
                optimizer.learning_rate = float(rate)
            optimizer.apply_gradients(zip([np.array(g, dtype=np.float64) for g in step_grads], variables))
            moves.append(_flat([keras.ops.convert_to_numpy(v) for v in variables]) - origin)
    return {"optimizer": type(optimizer).__name__, "moves": np.array(moves)}
