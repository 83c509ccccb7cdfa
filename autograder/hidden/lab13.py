"""Lab 13 hidden checks: learning-rate schedules, reduce-on-plateau, the range test and search; the cases.

Conventions (Keras'): a schedule is a function of the optimizer's step, 0-based like
``optimizer.iterations``; ``keras.optimizers.schedules.PiecewiseConstantDecay`` puts a step equal
to a boundary in the interval on its left; ``CosineDecay`` warms up linearly from
``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps`` steps and only then decays
over ``decay_steps`` more (the warmup is not counted in ``decay_steps``), with ``alpha`` a fraction
of the rate it decays from. ``keras.callbacks.ReduceLROnPlateau`` in mode "min": an improvement is
``current + min_delta < best``; its cooldown is counted down at the start of each epoch.
Validation losses in the plateau cases are multiples of 1/64, so every sum is exact and a tie is
a tie whichever way a correct implementation writes the test.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from autograder.hidden import build_case
from autograder.probes.lab13 import grid_trace, plateau_trace, random_trace


def _out(value):
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value


def _text(values) -> str:
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        return f"{float(values):g}"
    return np.array2string(values, precision=6, separator=", ", max_line_width=10_000).replace("\n", "")


# piecewise_constant ------------------------------------------------------------------

def piecewise_constant(step, boundaries, values):
    index = np.searchsorted(np.asarray(boundaries), np.asarray(step), side="left")
    return _out(np.asarray(values, dtype=float)[index])


PIECEWISE_MISTAKES = {
    "boundary_right": lambda step, boundaries, values: _out(
        np.asarray(values, dtype=float)[np.searchsorted(np.asarray(boundaries), np.asarray(step), side="right")]),
}


def _piecewise_case(step, boundaries, values, label=None):
    label = label or f"step = {_text(step)}, boundaries = {list(boundaries)}, values = {list(values)}"
    return build_case(label, (step, list(boundaries), list(values)), piecewise_constant, PIECEWISE_MISTAKES)


# exponential_decay -------------------------------------------------------------------

def exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = np.asarray(step, dtype=float) / decay_steps
    if staircase:
        p = np.floor(p)
    return _out(initial_learning_rate * decay_rate ** p)


def _exponential_with(step, initial_learning_rate, decay_steps, decay_rate, staircase=False, *, mistake):
    step = np.asarray(step, dtype=float) + (1 if mistake == "one_based" else 0)
    if mistake == "rate_per_step":
        return _out(initial_learning_rate * decay_rate ** step)
    staircase = {"staircase_ignored": False, "staircase_always": True}.get(mistake, staircase)
    return exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase)


EXPONENTIAL_MISTAKES = {key: functools.partial(_exponential_with, mistake=key)
                        for key in ("staircase_ignored", "staircase_always", "rate_per_step", "one_based")}


def _exponential_case(step, initial_learning_rate, decay_steps, decay_rate, staircase=None, label=None):
    kwargs = {} if staircase is None else {"staircase": staircase}
    label = label or (f"step = {_text(step)}, initial_learning_rate = {initial_learning_rate:g}, decay_steps = "
                      f"{decay_steps}, decay_rate = {decay_rate:g}" + ("" if staircase is None else
                                                                       f", staircase = {staircase}"))
    return build_case(label, (step, initial_learning_rate, decay_steps, decay_rate), exponential_decay,
                      EXPONENTIAL_MISTAKES, kwargs)


# cosine_decay ------------------------------------------------------------------------

def cosine_decay(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    step = np.asarray(step, dtype=float)
    peak, warmup = (initial_learning_rate, 0) if warmup_target is None else (warmup_target, warmup_steps)
    step = np.minimum(step, decay_steps + warmup)
    cosine = 0.5 * (1 + np.cos(np.pi * (step - warmup) / decay_steps))
    decayed = peak * ((1 - alpha) * cosine + alpha)
    if warmup == 0:
        return _out(decayed)
    warm = initial_learning_rate + (peak - initial_learning_rate) * step / warmup
    return _out(np.where(step < warmup, warm, decayed))


def _cosine_with(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0, *,
                 mistake):
    step = np.asarray(step, dtype=float) + (1 if mistake == "one_based" else 0)
    peak, warmup = (initial_learning_rate, 0) if warmup_target is None else (warmup_target, warmup_steps)
    if mistake == "warmup_without_target":  # a flat "warmup" at the initial rate, then the cosine
        warmup = warmup_steps
    length = decay_steps - warmup if mistake == "warmup_inside_decay" else decay_steps
    if length <= 0:
        raise ValueError("no decay left after the warmup")
    if mistake != "no_clamp":
        step = np.minimum(step, length + warmup)
    cosine = 0.5 * (1 + np.cos(np.pi * (step - warmup) / length))
    start = initial_learning_rate if mistake == "decay_from_initial" else peak
    if mistake == "alpha_ignored":
        decayed = start * cosine
    elif mistake == "alpha_as_learning_rate":
        decayed = alpha + (start - alpha) * cosine
    else:
        decayed = start * ((1 - alpha) * cosine + alpha)
    if warmup == 0:
        return _out(decayed)
    low = 0.0 if mistake == "warmup_from_zero" else initial_learning_rate
    warm = low + (peak - low) * step / warmup
    return _out(np.where(step < warmup, warm, decayed))


COSINE_MISTAKES = {key: functools.partial(_cosine_with, mistake=key)
                   for key in ("alpha_ignored", "alpha_as_learning_rate", "no_clamp", "warmup_inside_decay",
                               "warmup_from_zero", "decay_from_initial", "one_based", "warmup_without_target")}


def _cosine_case(step, initial_learning_rate, decay_steps, label=None, **kwargs):
    label = label or (f"step = {_text(step)}, initial_learning_rate = {initial_learning_rate:g}, decay_steps = "
                      f"{decay_steps}" + "".join(f", {k} = {v:g}" for k, v in kwargs.items()))
    return build_case(label, (step, initial_learning_rate, decay_steps), cosine_decay, COSINE_MISTAKES, kwargs)


# PlateauReducer ----------------------------------------------------------------------

class PlateauReducer:
    """keras.callbacks.ReduceLROnPlateau(monitor="val_loss", mode="min") as a state machine."""

    def __init__(self, learning_rate, factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0):
        self.learning_rate = learning_rate
        self.factor, self.patience, self.min_delta = factor, patience, min_delta
        self.cooldown, self.min_lr = cooldown, min_lr
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def step(self, val_loss):
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or val_loss + self.min_delta < self.best:
            self.best = val_loss
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and self.learning_rate > self.min_lr:
                self.learning_rate = max(self.learning_rate * self.factor, self.min_lr)
                self.cooldown_counter = self.cooldown
                self.wait = 0
        return self.learning_rate


def _reducer_with(mistake):
    class Mistaken(PlateauReducer):
        def step(self, val_loss):
            in_cooldown = self.cooldown_counter > 0
            if in_cooldown:
                self.cooldown_counter -= 1
                self.wait = 0
            if mistake == "cooldown_one_epoch_longer":
                still = in_cooldown
            else:
                still = self.cooldown_counter > 0
            delta = 0.0 if mistake == "min_delta_ignored" else self.min_delta
            if self.best is None:
                improved = True
            elif mistake == "min_delta_sign":
                improved = val_loss - delta < self.best
            elif mistake == "not_strict":
                improved = val_loss + delta <= self.best
            else:
                improved = val_loss + delta < self.best
            if mistake == "compares_to_last" and self.best is not None and not improved:
                self.best = val_loss
            if improved:
                self.best = val_loss
                self.wait = 0
            elif not still:
                self.wait += 1
                due = self.wait > self.patience if mistake == "patience_late" else self.wait >= self.patience
                guard = True if mistake == "no_min_lr_guard" else self.learning_rate > self.min_lr
                if due and guard:
                    reduced = self.learning_rate * self.factor
                    self.learning_rate = reduced if mistake == "below_min_lr" else max(reduced, self.min_lr)
                    self.cooldown_counter = 0 if mistake == "cooldown_ignored" else self.cooldown
                    if mistake != "no_wait_reset":
                        self.wait = 0
            return self.learning_rate
    return Mistaken


PLATEAU_MISTAKE_KEYS = ("cooldown_ignored", "cooldown_one_epoch_longer", "no_wait_reset", "min_delta_ignored",
                        "min_delta_sign", "not_strict", "below_min_lr", "patience_late", "compares_to_last",
                        "no_min_lr_guard")
PLATEAU_MISTAKES = {key: functools.partial(plateau_trace, _reducer_with(key)) for key in PLATEAU_MISTAKE_KEYS}


def _plateau_case(learning_rate, val_losses, label=None, **config):
    losses = [float(v) for v in val_losses]
    label = label or (f"learning_rate = {learning_rate:g}, " + ", ".join(f"{k} = {v:g}" for k, v in config.items())
                      + f", val_loss = {_text(losses)}")
    return build_case(label, (float(learning_rate), losses), functools.partial(plateau_trace, PlateauReducer),
                      PLATEAU_MISTAKES, config)


# pick_learning_rate ------------------------------------------------------------------

def _smoothed(losses, beta, *, bias_correction=True, stop=True, swapped=False, skip=False):
    average, smoothed = 0.0, []
    for i, loss in enumerate(np.asarray(losses, dtype=float)):
        if skip and not math.isfinite(loss):
            if skip == "index":
                smoothed.append(math.inf)  # the loss's own index kept: never the minimum
            continue
        if stop and not math.isfinite(loss):
            break
        average = (1 - beta) * average + beta * loss if swapped else beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** (i + 1)) if bias_correction else average)
    return np.array(smoothed)


def pick_learning_rate(lrs, losses, beta=0.9):
    return float(np.asarray(lrs, dtype=float)[np.argmin(_smoothed(losses, beta))] / 10)


def _pick_with(lrs, losses, beta=0.9, *, mistake):
    lrs = np.asarray(lrs, dtype=float)
    if mistake == "raw_minimum":
        finite = np.asarray(losses, dtype=float)
        end = int(np.argmax(~np.isfinite(finite))) if not np.all(np.isfinite(finite)) else len(finite)
        return float(lrs[np.argmin(finite[:end])] / 10)
    smoothed = _smoothed(losses, beta, bias_correction=mistake != "no_bias_correction",
                         stop=mistake != "not_finite_kept", swapped=mistake == "beta_swapped",
                         skip={"skips_not_finite": "index", "skips_not_finite_shifted": "position"}.get(mistake))
    return float(lrs[np.argmin(smoothed)] / (1 if mistake == "no_tenth" else 10))


PICK_MISTAKES = {key: functools.partial(_pick_with, mistake=key)
                 for key in ("no_bias_correction", "no_tenth", "raw_minimum", "not_finite_kept", "beta_swapped",
                             "skips_not_finite", "skips_not_finite_shifted")}


def _pick_case(lrs, losses, beta=None, label=None):
    kwargs = {} if beta is None else {"beta": beta}
    label = label or (f"{len(lrs)} rates from {lrs[0]:g} to {lrs[-1]:g}, losses = {_text(losses)}"
                      + ("" if beta is None else f", beta = {beta:g}"))
    return build_case(label, (np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)), pick_learning_rate,
                      PICK_MISTAKES, kwargs)


def _sweep_losses(rng, n, diverge=True, nan=False):
    """A range test's losses: flat, falling, then blowing up (to inf and nan where asked)."""
    t = np.linspace(0, 1, n)
    falling = 2.0 - 1.5 / (1 + np.exp(-12 * (t - 0.45)))
    rise = np.where(t > 0.75, np.exp(25 * (t - 0.75)) - 1, 0.0) if diverge else 0.0
    losses = np.round(falling + rise + rng.normal(scale=0.04, size=n), 4)
    if nan:
        losses[-3:] = [np.inf, np.nan, np.nan]
    return losses


def _after_blow_up(rng, n):
    """A sweep that turns inf two thirds of the way, then reports finite losses far below the rest, then nan."""
    losses = _sweep_losses(rng, n, diverge=False)
    blow = 2 * n // 3
    losses[blow] = np.inf
    losses[blow + 1:-1] = 1e-3
    losses[-1] = np.nan
    return losses


# grid_search and random_search -------------------------------------------------------

def _axis(low, high, scale, k):
    return np.geomspace(low, high, k) if scale == "log" else np.linspace(low, high, k)


def _per_axis(budget, d):
    k = 1
    while (k + 1) ** d <= budget:
        k += 1
    return k


def grid_search(f, ranges, budget):
    k = _per_axis(budget, len(ranges))
    axes = [_axis(low, high, scale, k) for low, high, scale in ranges.values()]
    best_params, best_value = None, math.inf
    for point in itertools.product(*axes):
        params = dict(zip(ranges, (float(x) for x in point)))
        value = f(**params)
        if value < best_value:
            best_params, best_value = params, value
    return best_params, best_value


def _grid_with(f, ranges, budget, *, mistake):
    d = len(ranges)
    k = {"over_budget": math.ceil(budget ** (1 / d) - 1e-9), "float_root": int(budget ** (1 / d))}.get(
        mistake, _per_axis(budget, d))
    axes = [_axis(low, high, "linear" if mistake == "linear_on_log" else scale, k)
            for low, high, scale in ranges.values()]
    trials = [dict(zip(ranges, (float(x) for x in point))) for point in itertools.product(*axes)]
    values = [f(**params) for params in trials]
    best = int(np.argmax(values) if mistake == "maximizes" else np.argmin(values))
    return trials[best], values[best]


GRID_MISTAKES = {key: functools.partial(grid_trace, functools.partial(_grid_with, mistake=key))
                 for key in ("over_budget", "float_root", "linear_on_log", "maximizes")}


def random_search(f, ranges, budget, rng):
    best_params, best_value = None, math.inf
    for _ in range(budget):
        params = {}
        for name, (low, high, scale) in ranges.items():
            if scale == "log":
                params[name] = float(np.exp(rng.uniform(np.log(low), np.log(high))))
            else:
                params[name] = float(rng.uniform(low, high))
        value = f(**params)
        if value < best_value:
            best_params, best_value = params, value
    return best_params, best_value


def _random_with(f, ranges, budget, rng, *, mistake):
    if mistake == "ignores_rng":
        rng = np.random.default_rng()
    trials = []
    for _ in range(budget):
        if mistake == "one_draw":  # one number per try, mapped onto every range
            u = rng.uniform()
            trials.append({name: float(low * (high / low) ** u if scale == "log" else low + (high - low) * u)
                           for name, (low, high, scale) in ranges.items()})
            continue
        trials.append({name: float(rng.uniform(low, high)) if mistake == "uniform_on_log" or scale != "log" else
                       float(10 ** rng.uniform(np.log10(low), np.log10(high)))
                       for name, (low, high, scale) in ranges.items()})
    values = [f(**params) for params in trials]
    best = int(np.argmax(values) if mistake == "maximizes" else np.argmin(values))
    return trials[best], values[best]


RANDOM_MISTAKES = {key: functools.partial(random_trace, functools.partial(_random_with, mistake=key))
                   for key in ("uniform_on_log", "ignores_rng", "maximizes", "one_draw")}


def _ranges_text(ranges) -> str:
    return ", ".join(f"{name} in [{low:g}, {high:g}] ({scale})" for name, (low, high, scale) in ranges.items())


def _grid_case(ranges, budget, target, weights, label=None):
    label = label or f"budget {budget}, {_ranges_text(ranges)}"
    args = (ranges, budget, [float(t) for t in target], [float(w) for w in weights])
    return build_case(label, args, functools.partial(grid_trace, grid_search), GRID_MISTAKES)


def _random_case(ranges, budget, target, weights, seed, label=None):
    label = label or f"budget {budget}, {_ranges_text(ranges)}, rng = np.random.default_rng({seed})"
    args = (ranges, budget, [float(t) for t in target], [float(w) for w in weights], seed)
    return build_case(label, args, functools.partial(random_trace, random_search), RANDOM_MISTAKES)


# warmup_cosine (Keras) ---------------------------------------------------------------

def warmup_cosine_values(args, steps):
    """What ``probes.lab13.schedule_values`` reports for the right CosineDecay, in NumPy."""
    peak, warmup_steps, total_steps, final = args
    return np.asarray(cosine_decay(np.asarray(steps), 0.0, total_steps - warmup_steps, alpha=final / peak,
                                   warmup_target=peak, warmup_steps=warmup_steps), dtype=float)


def _warmup_cosine_with(args, steps, *, mistake):
    peak, warmup_steps, total_steps, final = args
    steps = np.asarray(steps)
    decay_steps = total_steps if mistake == "decay_steps_total" else total_steps - warmup_steps
    alpha = final if mistake == "alpha_absolute" else final / peak
    if mistake == "warmup_ignored":
        return np.asarray(cosine_decay(steps, peak, total_steps, alpha=alpha), dtype=float)
    start = peak if mistake == "warmup_from_peak" else 0.0
    return np.asarray(cosine_decay(steps, start, decay_steps, alpha=alpha, warmup_target=peak,
                                   warmup_steps=warmup_steps), dtype=float)


WARMUP_COSINE_MISTAKES = {key: functools.partial(_warmup_cosine_with, mistake=key)
                          for key in ("decay_steps_total", "alpha_absolute", "warmup_from_peak", "warmup_ignored")}


def _warmup_cosine_case(peak, warmup_steps, total_steps, final=0.0, steps=None):
    if steps is None:
        middle = warmup_steps + (total_steps - warmup_steps) // 2
        steps = sorted({0, 1, max(warmup_steps - 1, 0), warmup_steps, warmup_steps + 1, middle, total_steps - 1,
                        total_steps, total_steps + 5})
    steps = np.asarray(steps)
    label = (f"peak_learning_rate = {peak:g}, warmup_steps = {warmup_steps}, total_steps = {total_steps}, "
             f"final_learning_rate = {final:g}, steps {int(steps[0])} to {int(steps[-1])}")
    return build_case(label, ((peak, warmup_steps, total_steps, final), steps), warmup_cosine_values,
                      WARMUP_COSINE_MISTAKES)


# fit_with_warmup_cosine (Keras) ------------------------------------------------------

def _fit_run(X, y, w, b, epochs, batch_size, rates):
    """SGD on the line w·x + b with the mean squared error, rows in order, ``rates[t]`` at step t (0-based).

    Returns (w, b, losses): each epoch's loss is Keras' size-weighted mean of its batches' losses, each taken
    before that batch's update, as fit's history reports it.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n, step, losses = len(X), 0, []
    w, b = float(w), float(b)
    for _ in range(epochs):
        total = 0.0
        for start in range(0, n, batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            error = w * xb + b - yb
            total += float(np.mean(error ** 2)) * len(xb) / n
            w, b = w - rates[step] * 2 * float(np.mean(error * xb)), b - rates[step] * 2 * float(np.mean(error))
            step += 1
        losses.append(total)
    return w, b, np.array(losses)


def _plan_steps(n, epochs, batch_size, mistake=None):
    return epochs * (n // batch_size if mistake == "floor_steps" else -(-n // batch_size))


def _fit_with(X, y, w, b, peak, warmup_steps, epochs, batch_size, final=0.0, *, mistake=None):
    steps = _plan_steps(len(X), epochs, batch_size)
    total = epochs if mistake == "total_in_epochs" else _plan_steps(len(X), epochs, batch_size, mistake)
    if mistake == "constant_peak":
        rates = np.full(steps, float(peak))
    else:
        rates = warmup_cosine_values((peak, warmup_steps, total, final), np.arange(steps))
    return _fit_run(X, y, w, b, epochs, batch_size, rates)


def fit_with_warmup_cosine(X, y, w, b, peak, warmup_steps, epochs, batch_size, final=0.0):
    """What fit gives: the plan's total_steps is the whole run, epochs × ceil(n / batch_size) steps."""
    return _fit_with(X, y, w, b, peak, warmup_steps, epochs, batch_size, final)


FIT_MISTAKES = {key: functools.partial(_fit_with, mistake=key)
                for key in ("total_in_epochs", "floor_steps", "constant_peak")}


def _fit_case(X, y, w, b, peak, warmup_steps, epochs, batch_size, final=0.0, data=None):
    n = len(X)
    data = data or f"{n} points X = {_text(X)}, y = {_text(y)}"
    label = (f"{data}: from w = {w:g}, b = {b:g}, {epochs} epochs of batches of {batch_size} in order, warmup "
             f"{warmup_steps} steps to {peak:g}, cosine to {final:g} at the last step")
    args = (np.asarray(X, dtype=float), np.asarray(y, dtype=float), w, b, peak, warmup_steps, epochs, batch_size,
            final)
    return build_case(label, args, fit_with_warmup_cosine, FIT_MISTAKES)


COMMUTE_DISTANCES, COMMUTE_TIMES = [1.0, 2.0, 3.0, 4.0], [6.96, 12.11, 16.77, 22.21]
NOISY_X, NOISY_Y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [3.1, 4.9, 7.2, 8.8, 11.1, 13.0, 14.9]


# the cases ---------------------------------------------------------------------------

_SAME_ARGMIN = ("any positive weight of the new loss scales every smoothed value by the same factor, which "
                "leaves the argmin where it was")
_TIES = "on a tie the docstring accepts either call with the lowest value, and the check judges only the value"
EQUIVALENT_MUTANTS = {
    # The Keras exercises', found by `python -m autograder audit LAB --tensorflow` (not audited by default):
    "fit_with_warmup_cosine · drop_statement · import keras → pass": "the notebook's Keras section imports keras at "
    "the top level, and the grader defines that import before the exercise",
    "fit_with_warmup_cosine · constant · 1 → 2 · #3": "np.reshape(X, (-2, 1)): NumPy reads any negative size as "
    "the one to infer, as it reads -1",
    "fit_with_warmup_cosine · constant · 0 → 1": "verbose=1 prints fit's progress bar and trains the same",
    "fit_with_warmup_cosine · index · bias[0] → bias[0 - 1]": "a Dense(1) has one bias: bias[-1] is bias[0]",
    ('warmup_cosine · drop_statement · import keras → pass'):
        ("the notebook's Keras section imports keras at the top level, and the grader defines "
         "that import before the exercise: the function's own import is a convenience, not a "
         'dependency'),
    "cosine_decay · drop_statement · step = np.asarray(step, dtype=float) → pass": "np.minimum turns an int or "
    "an integer array into an array by itself, and the rest of the formula is float arithmetic",
    "cosine_decay · swap_arguments · np.minimum(step, warmup_steps + decay_steps) → "
    "np.minimum(warmup_steps + decay_steps, step)": "np.minimum is symmetric in its two arguments",
    "cosine_decay · comparison · warmup_steps > 0 → warmup_steps >= 0": "with no warmup no step is below 0, so "
    "np.where keeps the decayed rates everywhere (the division by zero only warns)",
    "cosine_decay · comparison · step < warmup_steps → step <= warmup_steps": "at step = warmup_steps the warmup "
    "line reaches the target, the same rate the cosine starts from",
    "PlateauReducer.step · drop_statement · self.wait = 0 → pass": "wait is already 0 throughout a cooldown: the "
    "reduction that starts it resets wait, and cooldown epochs never increment it",
    "PlateauReducer.step · comparison · self.learning_rate > self.min_lr → self.learning_rate >= self.min_lr":
    "a rate equal to min_lr stays min_lr either way (max(min_lr · factor, min_lr)); only the invisible cooldown "
    "and wait counters differ",
    "PlateauReducer.step · swap_arguments · max(self.learning_rate * self.factor, self.min_lr) → "
    "max(self.min_lr, self.learning_rate * self.factor)": "max is symmetric in its two arguments",
    "pick_learning_rate · arithmetic · 1 - beta → 1 + beta": _SAME_ARGMIN,
    "pick_learning_rate · constant · 1 → 2": _SAME_ARGMIN,
    "grid_search · comparison · value < best_value → value <= best_value": _TIES,
    "random_search · comparison · value < best_value → value <= best_value": _TIES,
}

TWO_RANGES = {"learning_rate": (1e-4, 1.0, "log"), "momentum": (0.0, 0.99, "linear")}


def public_cases():
    """The schedules at their boundaries, a plateau with patience exactly reached, a sweep, a 9-try budget."""
    steps = np.arange(0, 12)
    return {
        "piecewise_constant": [
            _piecewise_case(np.array([0, 99, 100, 101, 199, 200, 201, 500]), [100, 200], [0.1, 0.01, 0.001]),
            _piecewise_case(100, [100, 200], [0.1, 0.01, 0.001]),
        ],
        "exponential_decay": [
            _exponential_case(np.array([0, 5, 10, 15, 20]), 0.1, 10, 0.5),
            _exponential_case(np.array([0, 9, 10, 15, 20]), 0.1, 10, 0.5, staircase=True),
        ],
        "cosine_decay": [
            _cosine_case(np.array([0, 25, 50, 75, 100, 150]), 0.1, 100),
            _cosine_case(np.array([0, 50, 100, 150]), 0.1, 100, alpha=0.1),
            _cosine_case(steps, 0.0, 8, warmup_target=0.1, warmup_steps=4),
        ],
        "PlateauReducer": [
            _plateau_case(0.5, [1.0, 0.75, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5], factor=0.5, patience=3),
            _plateau_case(1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], factor=0.5, patience=1, cooldown=2,
                          min_lr=0.25),
        ],
        "pick_learning_rate": [
            _pick_case(np.geomspace(1e-4, 10, 6), [2.0, 1.9, 1.2, 0.6, 0.9, 5.0]),
            _pick_case(np.geomspace(1e-4, 10, 40), _sweep_losses(np.random.default_rng(13), 40, nan=True)),
        ],
        "grid_search": [
            _grid_case(TWO_RANGES, 9, [0.02, 0.5], [1.0, 0.0], "budget 9, learning_rate in [1e-4, 1] (log) "
                       "matters, momentum in [0, 0.99] (linear) does not"),
        ],
        "random_search": [
            _random_case(TWO_RANGES, 9, [0.02, 0.5], [1.0, 0.0], 0),
            _random_case(TWO_RANGES, 200, [0.02, 0.5], [1.0, 0.2], 1),
        ],
        "warmup_cosine": [
            _warmup_cosine_case(0.001, 10, 50, 1e-5),
            _warmup_cosine_case(0.1, 0, 20),
        ],
        "fit_with_warmup_cosine": [
            _fit_case(NOISY_X, NOISY_Y, 0.0, 0.0, 0.01, 3, 6, 3, 0.0005,
                      data=f"7 points near y = 2x + 1, X = {_text(NOISY_X)}, y = {_text(NOISY_Y)}"),
            _fit_case(COMMUTE_DISTANCES, COMMUTE_TIMES, 0.23, -0.15, 0.02, 0, 8, 4,
                      data="the four commutes (miles → minutes), one batch"),
        ],
    }


def _dyadic(rng, n, start=64):
    """A validation-loss sequence in 64ths: improvements, plateaus, ties and small steps up and down."""
    moves = rng.choice([-8, -1, 0, 0, 0, 1, 2], size=n - 1)
    return (start + np.concatenate([[0], np.cumsum(moves)])) / 64


def hidden_cases(rng):
    """Boundary steps, warmup ends, steps past the decay, staircase; plateaus at patience and min_delta ties."""
    boundaries = sorted(int(b) for b in rng.choice(np.arange(5, 60), size=int(rng.integers(1, 4)), replace=False))
    values = [float(v) for v in np.round(np.sort(rng.uniform(1e-4, 0.5, size=len(boundaries) + 1))[::-1], 5)]
    around = sorted({s for b in boundaries for s in (b - 1, b, b + 1)} | {0, boundaries[-1] + 40})
    decay_steps = int(rng.integers(5, 40))
    lr = float(np.round(rng.uniform(0.01, 1.0), 3))
    rate = float(np.round(rng.uniform(0.3, 0.95), 2))
    exp_steps = np.array(sorted({0, 1, decay_steps - 1, decay_steps, decay_steps + 1, 2 * decay_steps,
                                 3 * decay_steps + int(rng.integers(1, decay_steps))}))
    warmup = int(rng.integers(2, 10))
    decay = int(rng.integers(warmup + 2, 40))
    data = _line_data(rng)
    alpha = float(np.round(rng.uniform(0.05, 0.5), 2))
    start = float(np.round(rng.uniform(0.0, 0.01), 4)) + 0.001
    cos_steps = np.array(sorted({0, 1, warmup - 1, warmup, warmup + 1, warmup + decay // 2, decay, warmup + decay,
                                 warmup + decay + 1, 2 * (warmup + decay)}))
    plain_steps = np.array(sorted({0, 1, decay // 2, decay - 1, decay, decay + 1, 3 * decay}))
    patience = int(rng.integers(2, 5))
    cooldown = int(rng.integers(2, 4))
    n = int(rng.integers(12, 20))
    sweep_n = int(rng.integers(20, 60))
    sweep_lrs = np.geomspace(10 ** rng.uniform(-6, -4), 10 ** rng.uniform(0, 1), sweep_n)
    beta = float(rng.choice([0.5, 0.8, 0.95]))
    target = [float(10 ** rng.uniform(-3.5, -0.5)), float(rng.uniform(0.1, 0.9))]
    weights = [float(np.round(rng.uniform(0.5, 2), 2)), float(np.round(rng.uniform(0.1, 1), 2))]
    three = {"learning_rate": (1e-5, 0.1, "log"), "momentum": (0.5, 0.99, "linear"), "decay": (1e-6, 1e-2, "log")}
    one = {"learning_rate": (1e-5, 0.1, "log")}
    seed = int(rng.integers(0, 2**31))
    return {
        "piecewise_constant": [
            _piecewise_case(np.array(around), boundaries, values),
            _piecewise_case(int(boundaries[0]), boundaries, values),
            _piecewise_case(int(boundaries[-1]) + 1, boundaries, values),
            _piecewise_case(np.array([[0, boundaries[0]], [boundaries[-1], boundaries[-1] + 1]]), boundaries, values,
                            label=f"a 2×2 array of steps, boundaries = {boundaries}, values = {values}"),
        ],
        "exponential_decay": [
            _exponential_case(exp_steps, lr, decay_steps, rate),
            _exponential_case(exp_steps, lr, decay_steps, rate, staircase=True),
            _exponential_case(exp_steps, lr, decay_steps, rate, staircase=False),
            _exponential_case(int(decay_steps) + 1, lr, decay_steps, rate, staircase=True),
            _exponential_case(0, lr, decay_steps, rate),
        ],
        "cosine_decay": [
            _cosine_case(plain_steps, lr, decay),
            _cosine_case(plain_steps, lr, decay, alpha=alpha),
            _cosine_case(cos_steps, start, decay, alpha=alpha, warmup_target=lr, warmup_steps=warmup),
            _cosine_case(cos_steps, 0.0, decay, warmup_target=lr, warmup_steps=warmup),
            _cosine_case(plain_steps, start, decay, warmup_target=lr, warmup_steps=0),
            _cosine_case(int(decay) + 5, lr, decay, alpha=alpha),
            _cosine_case(np.arange(0, 4), start, decay, warmup_target=lr, warmup_steps=1),
            _cosine_case(cos_steps, lr, decay, alpha=alpha, warmup_steps=warmup,
                         label=f"step = {_text(cos_steps)}, initial_learning_rate = {lr:g}, decay_steps = {decay}, "
                         f"alpha = {alpha:g}, warmup_steps = {warmup} but no warmup_target: no warmup"),
        ],
        "PlateauReducer": [
            _plateau_case(lr, _dyadic(rng, n), factor=0.5, patience=patience, min_delta=1 / 64),
            _plateau_case(lr, _dyadic(rng, n), factor=0.25, patience=patience, cooldown=cooldown, min_delta=0.0),
            _plateau_case(1.0, [1.0] * n, factor=0.5, patience=1, min_lr=0.125),
            _plateau_case(1.0, [1.0] * n, factor=0.5, patience=patience, cooldown=cooldown),
            _plateau_case(1.0, [1.0] + [63 / 64] * (n - 1), factor=0.5, patience=patience, min_delta=1 / 64),
            _plateau_case(1.0, [1.0] + [62 / 64, 63 / 64, 61 / 64, 62 / 64] * 4, factor=0.5, patience=2,
                          min_delta=1 / 64),
            _plateau_case(1.0, [1.0, 1.0, 1.0, 1.0, 1.0], factor=0.1, patience=1, min_lr=0.015625),
            _plateau_case(0.5, [1.0] * 6, factor=0.5, patience=2, min_lr=0.75),
            _plateau_case(lr, _dyadic(rng, 3 * n), patience=patience),
        ],
        "pick_learning_rate": [
            _pick_case(sweep_lrs, _sweep_losses(rng, sweep_n)),
            _pick_case(sweep_lrs, _sweep_losses(rng, sweep_n, nan=True), beta=beta),
            _pick_case(sweep_lrs, _sweep_losses(rng, sweep_n, diverge=False)),
            _pick_case(sweep_lrs[:1], np.array([float(np.round(rng.uniform(1, 3), 3))]), label="a single step"),
            _pick_case(sweep_lrs[:4], np.round(np.sort(rng.uniform(0.5, 2, size=4))[::-1], 3), beta=beta),
            _pick_case(sweep_lrs[:6], np.round(np.sort(rng.uniform(0.5, 2, size=6)), 3),
                       label="losses that rise from the first step"),
            _pick_case(sweep_lrs, _after_blow_up(rng, sweep_n), beta=beta,
                       label=f"{sweep_n} rates, a sweep whose loss turns inf, then finite and low again before nan: "
                       "the rule stops at the first loss that is not finite"),
        ],
        "grid_search": [
            _grid_case(TWO_RANGES, int(rng.integers(10, 30)), target, weights),
            _grid_case(TWO_RANGES, int(rng.choice([16, 25, 36])), target, [1.0, 0.0]),
            _grid_case(three, 64, target + [1e-4], weights + [0.3]),
            _grid_case(one, int(rng.integers(3, 12)), target[:1], weights[:1]),
            _grid_case(TWO_RANGES, 3, target, weights),
        ],
        "random_search": [
            _random_case(TWO_RANGES, 200, target, weights, seed),
            _random_case(three, 200, target + [1e-4], weights + [0.3], seed + 1),
            _random_case(one, int(rng.integers(1, 20)), target[:1], weights[:1], seed + 2),
            _random_case(TWO_RANGES, 1, target, weights, seed + 3),
        ],
        "warmup_cosine": [
            _warmup_cosine_case(lr, warmup, warmup + decay, float(np.round(lr * alpha, 5))),
            _warmup_cosine_case(lr, 1, decay, 0.0),
        ],
        "fit_with_warmup_cosine": [_fit_case(*data, *_fit_plan(rng, len(data[0])))],
    }


def _line_data(rng):
    """7 to 11 distinct points near a line in [-2, 3), rounded, and a start (w, b) away from the fit."""
    n = int(rng.integers(7, 12))
    X = np.sort(rng.choice(np.round(np.arange(-2.0, 3.0, 0.05), 2), size=n, replace=False))
    y = np.round(rng.uniform(-3, 3) * X + rng.uniform(-3, 3) + rng.normal(scale=0.3, size=n), 3)
    w, b = (float(v) for v in np.round(rng.uniform(-2, 2, size=2), 2))
    return X, y, w, b


def _fit_plan(rng, n):
    """A stable peak rate (|x| < 3 keeps the curvature below 20), a warmup of 1 to 4 steps, 4 to 8 epochs of
    batches that do not divide the n rows evenly, at least two whole ones (so that a plan counted in whole
    batches and one counted in epochs both differ from the run, and from each other)."""
    peak = float(np.round(rng.uniform(0.02, 0.06), 3))
    batch_size = int(rng.choice([m for m in (2, 3, 4) if n % m and n // m >= 2]))
    return peak, int(rng.integers(1, 5)), int(rng.integers(4, 9)), batch_size, float(
        np.round(peak * rng.uniform(0.0, 0.2), 4))
