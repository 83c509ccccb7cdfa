"""A corpus of wrong implementations, written the way students write them, each with the cause a
teacher would name. The checks should name that cause, and only it, for at least 80 % of them.

Run ``python tests/test_wrong_implementations.py`` to print which are named.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from autograder import checks
from autograder.calls import first_failure, run_case

SEEDS = (0, 1, 2)
TARGET = 0.8


# lab 01 ---------------------------------------------------------------------------------

def central_precedence(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / 2 * h


def central_fixed_step(f, x, h=1e-5):
    step = 1e-5
    return (f(x + step) - f(x - step)) / (2 * step)


def central_forward_loop(f, x, h=1e-5):
    here, ahead = f(x), f(x + h)
    return (ahead - here) / h


def descent_uphill(df, x0, learning_rate, num_steps):
    xs = [x0]
    for _ in range(num_steps):
        xs.append(xs[-1] + learning_rate * df(xs[-1]))
    return np.array(xs)


def descent_without_start(df, x0, learning_rate, num_steps):
    x, xs = x0, []
    for _ in range(num_steps):
        x = x - learning_rate * df(x)
        xs.append(x)
    return np.array(xs)


def descent_one_short(df, x0, learning_rate, num_steps):
    xs = [x0]
    for _ in range(num_steps - 1):
        xs.append(xs[-1] - learning_rate * df(xs[-1]))
    return np.array(xs)


def descent_gradient_at_start(df, x0, learning_rate, num_steps):
    xs, slope = [x0], df(x0)
    for _ in range(num_steps):
        xs.append(xs[-1] - learning_rate * slope)
    return np.array(xs)


def classify_around_zero(trajectory, minimum=0.0, tol=1e-3):
    t = np.asarray(trajectory, dtype=float)
    if abs(t[-1]) > abs(t[0]):
        return "diverging"
    if np.any(np.sign(t[:-1]) * np.sign(t[1:]) < 0):
        return "oscillating"
    return "good" if abs(t[-1]) <= tol else "too_small"


def grid_worst(loss, low, high, num_points):
    grid = np.linspace(low, high, num_points)
    values = [loss(w) for w in grid]
    i = int(np.argmax(values))
    return grid[i], values[i]


def grid_index(loss, low, high, num_points):
    values = [loss(w) for w in np.linspace(low, high, num_points)]
    i = int(np.argmin(values))
    return i, values[i]


def count_neuron_exponent(layer_sizes, values_per_weight, include_biases=False):
    return values_per_weight ** sum(layer_sizes)


def count_product(layer_sizes, values_per_weight, include_biases=False):
    n = sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:])) + (sum(layer_sizes[1:]) if include_biases else 0)
    return n * values_per_weight


def count_power_swapped(layer_sizes, values_per_weight, include_biases=False):
    n = sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:])) + (sum(layer_sizes[1:]) if include_biases else 0)
    return n ** values_per_weight


# lab 02 ---------------------------------------------------------------------------------

def relative_plain_difference(a, b, eps=1e-12):
    return np.abs(np.subtract(a, b))


def relative_over_b(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(b), eps)


def numerical_forward(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    out = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        out[i] = (f(x + step) - f(x)) / h
    return out


# lab 04 ---------------------------------------------------------------------------------

def error_mean(w, X, y):
    from autograder.hidden.lab04 import _predictions

    return float(np.mean((_predictions(w, X) - np.asarray(y, dtype=float)) ** 2))


def error_half(w, X, y):
    from autograder.hidden.lab04 import squared_error

    return squared_error(w, X, y) / 2


# lab 05 ---------------------------------------------------------------------------------

def predict_no_bias(X, w, b):
    return np.array([w * x for x in X])


def mse_total(y_pred, y):
    return float(sum((p - t) ** 2 for p, t in zip(y_pred, y)))


def mse_root(y_pred, y):
    return float(np.sqrt(np.mean((np.asarray(y_pred) - np.asarray(y)) ** 2)))


def mse_absolute(y_pred, y):
    return float(np.mean(np.abs(np.asarray(y_pred) - np.asarray(y))))


def gradients_without_two(X, y, w, b):
    error = w * np.asarray(X) + b - np.asarray(y)
    return float(np.mean(error * X)), float(np.mean(error))


def gradients_in_bias_order(X, y, w, b):
    error = w * np.asarray(X) + b - np.asarray(y)
    return float(2 * np.mean(error)), float(2 * np.mean(error * X))


def step_uphill(w, b, dw, db, learning_rate):
    return w + learning_rate * dw, b + learning_rate * db


CORPUS = [
    ("01_gradient_descent", "central_difference", central_precedence, "precedence"),
    ("01_gradient_descent", "central_difference", central_fixed_step, "ignores_h"),
    ("01_gradient_descent", "central_difference", central_forward_loop, "forward"),
    ("01_gradient_descent", "gradient_descent_1d", descent_uphill, "ascent"),
    ("01_gradient_descent", "gradient_descent_1d", descent_without_start, "missing_start"),
    ("01_gradient_descent", "gradient_descent_1d", descent_one_short, "one_step_short"),
    ("01_gradient_descent", "gradient_descent_1d", descent_gradient_at_start, "fixed_gradient"),
    ("01_gradient_descent", "classify_trajectory", classify_around_zero, "ignores_minimum"),
    ("01_gradient_descent", "grid_search", grid_worst, "argmax"),
    ("01_gradient_descent", "grid_search", grid_index, "index"),
    ("01_gradient_descent", "count_combinations", count_neuron_exponent, "neurons"),
    ("01_gradient_descent", "count_combinations", count_product, "sum"),
    ("01_gradient_descent", "count_combinations", count_power_swapped, "swapped_power"),
    ("02_gradient_checking", "relative_error", relative_plain_difference, "absolute"),
    ("02_gradient_checking", "relative_error", relative_over_b, "one_sided"),
    ("02_gradient_checking", "numerical_gradient", numerical_forward, "forward"),
    ("04_backpropagation", "squared_error", error_mean, "mean"),
    ("04_backpropagation", "squared_error", error_half, "half"),
    ("05_training_loop", "predict", predict_no_bias, "no_bias"),
    ("05_training_loop", "mse", mse_total, "sum"),
    ("05_training_loop", "mse", mse_root, "root"),
    ("05_training_loop", "mse", mse_absolute, "absolute"),
    ("05_training_loop", "mse_gradients", gradients_without_two, "no_two"),
    ("05_training_loop", "mse_gradients", gradients_in_bias_order, "swapped"),
    ("05_training_loop", "sgd_step", step_uphill, "ascent"),
]


def _plain(text: str) -> str:
    return re.sub(r"[*`]", "", text)


def named_cause(lab_id: str, exercise_name: str, fn) -> tuple[str | None, str | None]:
    """(the misconception key the feedback names, or None; the feedback, None when all cases pass)."""
    lab = checks.load_lab(lab_id)
    exercise = lab.exercise(exercise_name)
    cases = list(lab.public_cases()[exercise_name])
    for seed in SEEDS:
        cases += lab.hidden_cases(seed)[exercise_name]
    feedback = first_failure(lab, exercise, cases, (run_case(fn, c, exercise.probe) for c in cases))
    if feedback is None:
        return None, None
    named = [key for key, message in exercise.messages.items() if _plain(message) in _plain(feedback)]
    return (named[0] if len(named) == 1 else None), feedback


@pytest.mark.parametrize(("lab_id", "exercise", "fn", "cause"), CORPUS, ids=[r[2].__name__ for r in CORPUS])
def test_every_wrong_implementation_fails(lab_id, exercise, fn, cause):
    assert named_cause(lab_id, exercise, fn)[1] is not None, "a wrong implementation passed"


def test_most_wrong_implementations_get_their_own_cause_named():
    right = [fn.__name__ for lab_id, exercise, fn, cause in CORPUS if named_cause(lab_id, exercise, fn)[0] == cause]
    assert len(right) >= TARGET * len(CORPUS), f"named correctly: {len(right)} of {len(CORPUS)}"


def test_no_wrong_implementation_gets_someone_elses_cause():
    wrong = [(fn.__name__, named) for lab_id, exercise, fn, cause in CORPUS
             if (named := named_cause(lab_id, exercise, fn)[0]) not in (None, cause)]
    assert wrong == []


if __name__ == "__main__":
    hits = 0
    for lab_id, exercise, fn, cause in CORPUS:
        named, feedback = named_cause(lab_id, exercise, fn)
        hits += named == cause
        print(f"{'✓' if named == cause else '✗'} {fn.__name__}: expected {cause}, named {named}"
              + ("" if named == cause else f"\n    {(feedback or 'PASSED').splitlines()[0][:160]}"))
    print(f"named correctly: {hits} of {len(CORPUS)} ({100 * hits / len(CORPUS):.0f} %)")
    sys.exit(0)
