"""Lab 13 probes: drive the student's reducer, searches and Keras schedule, and report what they did.

``plateau_trace`` feeds a validation-loss sequence to two reducers built alike, one epoch at a
time, alternately (state kept on the class rather than the object shows as two different rows).
``grid_trace`` and ``random_trace`` hand the search an objective that records every call;
``random_trace`` reports properties of the draws (how many, inside the ranges, spread
log-uniformly or uniformly, distinct, repeatable with the same generator) rather than the draws,
which depend on how the sampling is written. ``schedule_values`` evaluates the Keras schedule the
student builds; ``fit_report`` calls the student's Keras training and hands back its numbers. None
of them computes an expected value: the grading process compares the reports with the reference's.
"""

from __future__ import annotations

import math

import numpy as np

FEW = 100  # fewer draws than this say nothing about their distribution


def plateau_trace(PlateauReducer, learning_rate, val_losses, **config):
    """What ``step`` returned, epoch by epoch, for two reducers: shape (2, epochs), nan where not a number."""
    reducers = [PlateauReducer(learning_rate, **config), PlateauReducer(learning_rate, **config)]
    rows = [[], []]
    for loss in val_losses:
        for reducer, row in zip(reducers, rows):
            row.append(_number(reducer.step(float(loss))))
    return np.array(rows, dtype=float)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def objective(ranges, target, weights):
    """Σ w·(u(x) − u(target))² with u = log10 on log ranges: the hyperparameters as keyword arguments."""
    names = list(ranges)
    scales = [ranges[name][2] for name in names]

    def u(value, scale):
        return math.log10(value) if scale == "log" else value

    def f(**params):
        return float(sum(w * (u(float(params[n]), s) - u(t, s)) ** 2
                         for n, s, t, w in zip(names, scales, target, weights)))

    return f


def _recorder(ranges, target, weights):
    f, calls = objective(ranges, target, weights), []

    def recorded(**params):
        result = f(**params)
        calls.append([float(params[name]) for name in ranges])
        return result

    return f, recorded, calls


def _best(f, result, values):
    """"min", "max" or "other": how the returned (params, value) relate to the calls made."""
    try:
        params, value = result
        value, again = float(value), f(**params)
    except Exception:  # noqa: BLE001 - an unreadable result relates to nothing
        return "other"
    if not values or not math.isclose(value, again, rel_tol=1e-9, abs_tol=1e-12):
        return "other"
    if math.isclose(value, min(values), rel_tol=1e-9, abs_tol=1e-12):
        return "min"
    if math.isclose(value, max(values), rel_tol=1e-9, abs_tol=1e-12):
        return "max"
    return "other"


def grid_trace(grid_search, ranges, budget, target, weights):
    """``{"points": (n, d) array of the calls in order, "best": "min" | "max" | "other"}``."""
    f, recorded, calls = _recorder(ranges, target, weights)
    result = grid_search(recorded, ranges, budget)
    values = [f(**dict(zip(ranges, point))) for point in calls]
    return {"points": np.array(calls, dtype=float).reshape(len(calls), len(ranges)), "best": _best(f, result, values)}


def _spread(column, low, high, scale):
    """"log-uniform", "uniform" or "other" by the share of draws below each midpoint; "few" under FEW draws."""
    if len(column) < FEW:
        return "few"
    column = np.asarray(column)
    below_linear = float(np.mean(column < (low + high) / 2))
    log_scale = scale == "log"  # then half the draws fall below the geometric midpoint
    if log_scale:
        below_log = float(np.mean(column < math.sqrt(low * high)))
        if 0.3 <= below_log <= 0.7 and not 0.3 <= below_linear <= 0.7:
            return "log-uniform"
    if 0.3 <= below_linear <= 0.7:
        return "uniform"
    return "other"


def random_trace(random_search, ranges, budget, target, weights, seed):
    """Properties of ``random_search(f, ranges, budget, rng=np.random.default_rng(seed))``, run three times."""
    f, recorded, calls = _recorder(ranges, target, weights)
    result = random_search(recorded, ranges, budget, np.random.default_rng(seed))
    first = np.array(calls, dtype=float).reshape(len(calls), len(ranges))
    values = [f(**dict(zip(ranges, point))) for point in calls]
    runs = []
    for again in (seed, seed + 1):
        f_again, recorded_again, calls_again = _recorder(ranges, target, weights)
        random_search(recorded_again, ranges, budget, np.random.default_rng(again))
        runs.append(np.array(calls_again, dtype=float).reshape(len(calls_again), len(ranges)))
    lows = np.array([low for low, _, _ in ranges.values()])
    highs = np.array([high for _, high, _ in ranges.values()])
    return {
        "calls": len(calls),
        "inside": bool(np.all((first >= lows) & (first <= highs))),
        "spread": tuple(_spread(first[:, i], low, high, scale) for i, (low, high, scale) in enumerate(ranges.values())),
        "distinct": all(len(np.unique(first[:, i])) == len(first) for i in range(len(ranges))),
        "repeatable": runs[0].shape == first.shape and bool(np.array_equal(runs[0], first)),
        "seed_matters": runs[1].shape != first.shape or not bool(np.array_equal(runs[1], first)),
        "independent": _independent(first, ranges),
        "best": _best(f, result, values),
    }


def _independent(points, ranges):
    """Whether every pair of hyperparameters was drawn independently: their rank correlation below 0.5 in
    absolute value (independent draws of 20 or more tries stay far below it; one number per try mapped onto
    every range gives 1). None for one hyperparameter or fewer than 20 tries."""
    if points.ndim != 2 or points.shape[1] < 2 or len(points) < 20:
        return None
    ranks = np.argsort(np.argsort(points, axis=0), axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlations = np.corrcoef(ranks, rowvar=False)
    off = correlations[~np.eye(len(correlations), dtype=bool)]
    return bool(np.all(np.abs(np.nan_to_num(off, nan=1.0)) < 0.5))


def schedule_values(warmup_cosine, args, steps):
    """The schedule ``warmup_cosine(*args)`` returns, evaluated at each step, as float64."""
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():
        schedule = warmup_cosine(*args)
        values = [float(keras.ops.convert_to_numpy(schedule(int(step)))) for step in steps]
    return np.array(values, dtype=float)


def fit_report(fit_with_warmup_cosine, *args):
    """Calls the student's Keras training as the grader's fresh process would: (w, b, losses) as plain data."""
    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():
        result = fit_with_warmup_cosine(*args)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        return result
    w, b, losses = result
    try:
        return float(np.asarray(w).reshape(())), float(np.asarray(b).reshape(())), np.asarray(losses, dtype=float)
    except (TypeError, ValueError):
        return result
