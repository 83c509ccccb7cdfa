"""Lab 10 probes: run the student's optimizers, their descent loop and their Keras optimizer; report moves.

``optimizer_run`` builds two of the student's optimizers from a case's keyword arguments, hands
each its own list of float64 parameter arrays at every step with a fresh list of gradients (the
two stepped in turn), and sets ``learning_rate`` before the steps where the case changes it (as a
schedule would). It reads the parameters through its own references to those arrays, so only an
update made in place counts, and reports every parameter's displacement from its start after each
step, for both optimizers (state kept on the class shows as two runs that differ), and the first
one's ``iterations`` after each step.

``descend_run`` hands the student's ``descend`` an optimizer of the probe's own (a plain step
whose rate changes at every call) and a bowl's gradient. ``keras_training`` hands ``keras_train``
one of the student's own optimizer objects and a small regression problem, and reads back the
Keras run (the losses, the final weights); it also runs the student's NumPy optimizer on the same
problem, for the feedback (within ``YOURS_SECONDS`` a case: a NumPy optimizer that hangs is left out
of the feedback, and costs only its own exercise).

The probes hold no update rule of the lab: the grading process compares their reports with the
NumPy references' (``autograder.checks.lab10``).
"""

from __future__ import annotations

import pickle
import signal
import threading
import time

import numpy as np


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def _count(value):
    """A step count as a plain int (or float); anything else as its type's name, which no count equals."""
    if isinstance(value, (bool, np.bool_)):
        return type(value).__name__
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return "missing" if value is None else type(value).__name__


def optimizer_run(Optimizer, kwargs, start, grads, rates):
    """Two ``Optimizer(**kwargs)`` stepped in turn, once per entry of ``grads``, each on its own parameters.

    Returns:
        ``{"moves": (steps, total size), "second": the same for the second optimizer, "iterations": …}``.
        Row t of "moves" holds every parameter's displacement from its start (flattened, in order,
        concatenated) after step t + 1 of the first optimizer. The second one gets copies of the same
        start and gradients, each of its steps right after the first one's: its moves are the first's
        unless the two share state. "iterations" lists the first optimizer's ``iterations`` attribute
        after each step ("missing" where it has none); "class_changed" names the values kept on the class
        (or a base class) that the steps changed: state every instance shares. Before step t, where
        ``rates[t]`` is not None, both optimizers' ``learning_rate`` is set to it.
    """
    optimizers = [Optimizer(**kwargs), Optimizer(**kwargs)]
    before = _kept_on_the_class(type(optimizers[0]))
    params = [[np.array(p, dtype=np.float64) for p in start] for _ in optimizers]
    held = [list(p) for p in params]  # the arrays themselves: a new array put into the list is not an update in place
    origin = _flat(held[0])
    moves, second, iterations = [], [], []
    for rate, step_grads in zip(rates, grads):
        for optimizer, own in zip(optimizers, params):
            if rate is not None:
                optimizer.learning_rate = float(rate)
            optimizer.step(own, [np.array(g, dtype=np.float64) for g in step_grads])
        moves.append(_flat(held[0]) - origin)
        second.append(_flat(held[1]) - origin)
        iterations.append(_count(getattr(optimizers[0], "iterations", None)))
    after = _kept_on_the_class(type(optimizers[0]))
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    return {"moves": np.array(moves), "second": np.array(second), "iterations": iterations, "class_changed": changed}


def _kept_on_the_class(cls) -> dict:
    """A fingerprint of each value the class and its bases hold (not methods): what every instance shares."""
    state = {}
    for klass in getattr(cls, "__mro__", (cls,))[:-1]:
        for name, value in vars(klass).items():
            if name.startswith("__") or callable(value) or isinstance(value, (staticmethod, classmethod, property)):
                continue
            try:
                state[f"{klass.__name__}.{name}"] = pickle.dumps(value)
            except Exception:  # noqa: BLE001 - a value pickle cannot write is fingerprinted by its repr
                state[f"{klass.__name__}.{name}"] = repr(value)
    return state


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


YOURS_SECONDS = 1.0
"""How long the feedback-only run of the student's NumPy optimizer may take in one case (a few tiny steps)."""

_TOO_SLOW = []  # the optimizer classes whose NumPy run ran out of time once: not run again in this process


class _OutOfTime(BaseException):
    """Raised by the alarm inside the student's step: a BaseException, so that `except Exception` lets it through."""


def _within(seconds, call):
    """``call()``, or None where it takes longer than ``seconds`` (an alarm, on the main thread only).

    A timer already running (the grader's limit for the whole exercise) is put back with what is left of it; if it
    was due first, it rings as it would have.
    """
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        return None
    started = time.monotonic()
    outer, _ = signal.getitimer(signal.ITIMER_REAL)

    def ring(signum, frame):
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer else seconds)
    try:
        return call()
    except _OutOfTime:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


def _yours_bounded(namespace, name, *args):
    """:func:`_your_numpy_run` within ``YOURS_SECONDS``: a hanging NumPy optimizer costs its own exercise only."""
    cls = namespace.get(name)
    if any(cls is slow for slow in _TOO_SLOW):
        return None
    done = []
    run = _within(YOURS_SECONDS, lambda: done.append(_your_numpy_run(namespace, name, *args)) or done[0])
    if not done:
        _TOO_SLOW.append(cls)
    return run


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
            "yours": _yours_bounded(namespace, name, kwargs, X, y, kernel, bias, steps)}
