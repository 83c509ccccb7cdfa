"""A corpus of wrong implementations, written the way students write them, each with the cause a
teacher would name. The checks should name that cause, and only it, for at least 80 % of them.

Run ``python tests/test_wrong_implementations.py`` to print which are named.
"""

from __future__ import annotations

import itertools
import re
import sys

import numpy as np
import pytest
from test_lab10_checks import AdamMomentsOnTheClass  # the same student class, written once

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


# lab 12 ---------------------------------------------------------------------------------

def sweep_on_everything(x_train, y_train, x_val, y_val, degrees):
    x_all, y_all = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
    train, val = [], []
    for d in degrees:
        p = np.polyfit(x_all, y_all, d)
        train.append(np.mean((np.polyval(p, x_train) - np.asarray(y_train)) ** 2))
        val.append(np.mean((np.polyval(p, x_val) - np.asarray(y_val)) ** 2))
    return np.array(train), np.array(val)


def sweep_vander_d(x_train, y_train, x_val, y_val, degrees):
    train, val = [], []
    for d in degrees:
        A = np.vander(np.asarray(x_train, dtype=float), max(d, 1))
        c = np.linalg.lstsq(A, np.asarray(y_train, dtype=float), rcond=None)[0]
        train.append(np.mean((A @ c - y_train) ** 2))
        val.append(np.mean((np.vander(np.asarray(x_val, dtype=float), max(d, 1)) @ c - y_val) ** 2))
    return np.array(train), np.array(val)


def penalty_half(layers, l2):
    return 0.5 * l2 * sum(float(np.sum(np.asarray(W) ** 2)) for W, b in layers)


def penalty_everything(layers, l2):
    return l2 * sum(float(np.sum(np.asarray(W) ** 2) + np.sum(np.asarray(b) ** 2)) for W, b in layers)


def penalty_mean(layers, l2):
    return l2 * sum(float(np.mean(np.square(W))) for W, _ in layers)


def l2_gradient_textbook(layers, l2):
    return [(l2 * np.asarray(W, dtype=float), np.zeros_like(np.asarray(b, dtype=float))) for W, b in layers]


def l2_gradient_biases_too(layers, l2):
    return [(2 * l2 * np.asarray(W, dtype=float), 2 * l2 * np.asarray(b, dtype=float)) for W, b in layers]


def dropout_classic(x, rate, rng=None, training=True, mask=None):
    x = np.asarray(x, dtype=float)
    if not training:
        return x * (1 - rate), None
    if mask is None:
        mask = (rng or np.random.default_rng()).random(x.shape) >= rate
    return x * mask, mask


def dropout_keep_probability(x, rate, rng=None, training=True, mask=None):
    x = np.asarray(x, dtype=float)
    if not training:
        return x, None
    if mask is None:
        mask = (rng or np.random.default_rng()).random(x.shape) < rate
    return x * mask / (1 - rate), mask


def dropout_backward_mask_only(grad_out, mask, rate):
    return np.asarray(grad_out, dtype=float) * mask


class StopperSetUpInInit:
    def __init__(self, patience=0, min_delta=0.0, restore_best_weights=False):
        self.patience, self.min_delta, self.restore = patience, abs(min_delta), restore_best_weights
        self.best, self.wait, self.saved = np.inf, 0, None

    def on_train_begin(self):
        pass

    def on_epoch_end(self, epoch, val_loss, weights):
        self.wait += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.wait, self.saved = val_loss, 0, [w.copy() for w in weights]
            return False
        return epoch > 0 and self.wait >= self.patience

    def on_train_end(self, weights):
        return self.saved if self.restore and self.saved is not None else weights


class StopperNotStrict:
    def __init__(self, patience=0, min_delta=0.0, restore_best_weights=False):
        self.patience, self.min_delta, self.restore = patience, abs(min_delta), restore_best_weights

    def on_train_begin(self):
        self.best, self.wait, self.saved = np.inf, 0, None

    def on_epoch_end(self, epoch, val_loss, weights):
        self.wait += 1
        if val_loss <= self.best - self.min_delta:
            self.best, self.wait, self.saved = val_loss, 0, [np.copy(w) for w in weights]
            return False
        return epoch > 0 and self.wait >= self.patience

    def on_train_end(self, weights):
        return self.saved if self.restore and self.saved is not None else weights


def batchnorm_sample_variance(x, gamma, beta, moving_mean, moving_var, training=True, momentum=0.99, epsilon=1e-3):
    x = np.asarray(x, dtype=float)
    if training:
        mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)
        moving_mean = momentum * np.asarray(moving_mean) + (1 - momentum) * mean
        moving_var = momentum * np.asarray(moving_var) + (1 - momentum) * var
    else:
        mean, var = np.asarray(moving_mean, dtype=float), np.asarray(moving_var, dtype=float)
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, moving_mean, moving_var


def batchnorm_pytorch_momentum(x, gamma, beta, moving_mean, moving_var, training=True, momentum=0.99, epsilon=1e-3):
    x = np.asarray(x, dtype=float)
    if training:
        mean, var = x.mean(axis=0), x.var(axis=0)
        moving_mean = (1 - momentum) * np.asarray(moving_mean) + momentum * mean
        moving_var = (1 - momentum) * np.asarray(moving_var) + momentum * var
    else:
        mean, var = np.asarray(moving_mean, dtype=float), np.asarray(moving_var, dtype=float)
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta, moving_mean, moving_var


def batchnorm_backward_local(grad_out, x, gamma, epsilon=1e-3):
    grad_out, x = np.asarray(grad_out, dtype=float), np.asarray(x, dtype=float)
    sigma = np.sqrt(x.var(axis=0) + epsilon)
    x_hat = (x - x.mean(axis=0)) / sigma
    return grad_out * gamma / sigma, np.sum(grad_out * x_hat, axis=0), np.sum(grad_out, axis=0)


# lab 13 ---------------------------------------------------------------------------------

def piecewise_right(step, boundaries, values):
    out = np.asarray(values, dtype=float)[np.searchsorted(boundaries, step, side="right")]
    return float(out) if np.ndim(out) == 0 else out


def exponential_never_floored(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    return initial_learning_rate * decay_rate ** (np.asarray(step, dtype=float) / decay_steps)


def exponential_every_step(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    return initial_learning_rate * decay_rate ** np.asarray(step, dtype=float)


def cosine_to_zero(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    peak = initial_learning_rate if warmup_target is None else warmup_target
    warm = 0 if warmup_target is None else warmup_steps
    step = np.asarray(step, dtype=float)
    t = np.clip(step - warm, 0, decay_steps)
    rates = peak * 0.5 * (1 + np.cos(np.pi * t / decay_steps))
    if warm:
        rates = np.where(step < warm, initial_learning_rate + (peak - initial_learning_rate) * step / warm, rates)
    return float(rates) if rates.ndim == 0 else rates


def cosine_eta_min(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    peak = initial_learning_rate if warmup_target is None else warmup_target
    warm = 0 if warmup_target is None else warmup_steps
    step = np.asarray(step, dtype=float)
    t = np.minimum(np.maximum(step - warm, 0), decay_steps)
    rates = alpha + (peak - alpha) * (1 + np.cos(np.pi * t / decay_steps)) / 2
    if warm:
        rates = np.where(step < warm, initial_learning_rate + (peak - initial_learning_rate) * step / warm, rates)
    return float(rates) if rates.ndim == 0 else rates


def pick_plain_average(lrs, losses, beta=0.9):
    average, smoothed = 0.0, []
    for loss in losses:
        if not np.isfinite(loss):
            break
        average = beta * average + (1 - beta) * loss
        smoothed.append(average)
    return float(lrs[int(np.argmin(smoothed))] / 10)


def pick_at_minimum(lrs, losses, beta=0.9):
    average, smoothed = 0.0, []
    for i, loss in enumerate(losses):
        if not np.isfinite(loss):
            break
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** (i + 1)))
    return float(lrs[int(np.argmin(smoothed))])


def pick_nan_skipped(lrs, losses, beta=0.9):
    average, best, best_lr, count = 0.0, np.inf, lrs[0], 0
    for lr, loss in zip(lrs, losses):
        if np.isnan(loss) or np.isinf(loss):
            continue
        count += 1
        average = beta * average + (1 - beta) * loss
        if average / (1 - beta ** count) < best:
            best, best_lr = average / (1 - beta ** count), lr
    return float(best_lr / 10)


def grid_float_root(f, ranges, budget):
    k = int(budget ** (1 / len(ranges)))
    axes = [np.geomspace(lo, hi, k) if scale == "log" else np.linspace(lo, hi, k) for lo, hi, scale in ranges.values()]
    trials = [dict(zip(ranges, map(float, p))) for p in itertools.product(*axes)]
    values = [f(**t) for t in trials]
    return trials[int(np.argmin(values))], min(values)


def grid_linear_everywhere(f, ranges, budget):
    d, k = len(ranges), 1
    while (k + 1) ** d <= budget:
        k += 1
    axes = [np.linspace(lo, hi, k) for lo, hi, _ in ranges.values()]
    trials = [dict(zip(ranges, map(float, p))) for p in itertools.product(*axes)]
    values = [f(**t) for t in trials]
    return trials[int(np.argmin(values))], min(values)


def random_uniform_everywhere(f, ranges, budget, rng):
    tries = [{name: float(rng.uniform(lo, hi)) for name, (lo, hi, _) in ranges.items()} for _ in range(budget)]
    values = [f(**t) for t in tries]
    return tries[int(np.argmin(values))], min(values)


def random_global_numpy(f, ranges, budget, rng):
    tries = [{name: float(np.exp(np.random.uniform(np.log(lo), np.log(hi))) if scale == "log"
                          else np.random.uniform(lo, hi)) for name, (lo, hi, scale) in ranges.items()}
             for _ in range(budget)]
    values = [f(**t) for t in tries]
    return tries[int(np.argmin(values))], min(values)


def random_shared_draw(f, ranges, budget, rng):
    tries = []
    for u in rng.random(budget):
        tries.append({name: float(np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))) if scale == "log"
                                  else lo + u * (hi - lo)) for name, (lo, hi, scale) in ranges.items()})
    values = [f(**t) for t in tries]
    return tries[int(np.argmin(values))], min(values)


# labs 08-11 ------------------------------------------------------------------------------

def leaky_slope_right_at_zero(x, negative_slope=0.01):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, negative_slope * x), np.where(x >= 0, 1.0, negative_slope)


def softmax_batch_max(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - np.max(x))
    return e / e.sum(axis=-1, keepdims=True)


def dead_if_ever_off(X, W, b):
    return float(np.mean(np.any(np.asarray(X) @ np.asarray(W) + b <= 0, axis=0)))


def bce_logits_float32_clip(y_true, z):
    p = np.clip(1 / (1 + np.exp(-np.asarray(z, dtype=np.float32))), 1e-7, 1 - 1e-7)
    y = np.asarray(y_true, dtype=np.float32)
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))


def sparse_float32_clip(labels, z):
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = np.clip(e / e.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


class RMSpropLrAtInit:
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
        self.learning_rate, self.rho, self.momentum, self.epsilon = learning_rate, rho, momentum, epsilon
        self.lr, self.state = learning_rate, None

    def step(self, params, grads):
        if self.state is None:
            self.state = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        for p, g, (v, mom) in zip(params, grads, self.state):
            v[...] = self.rho * v + (1 - self.rho) * g * g
            increment = self.lr * g / np.sqrt(v + self.epsilon)
            if self.momentum > 0:
                mom[...] = self.momentum * mom + increment
                p -= mom
            else:
                p -= increment


def batches_shuffled_once(X, y, batch_size, rng, shuffle=True, drop_remainder=False, _orders={}):  # noqa: B006
    key = (np.shape(X), np.asarray(X).tobytes())
    if key not in _orders:
        _orders[key] = rng.permutation(len(X))
    order = _orders[key] if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_remainder else len(X)
    for start in range(0, stop, batch_size):
        yield np.asarray(X)[order[start:start + batch_size]], np.asarray(y)[order[start:start + batch_size]]


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
    ("12_regularization", "polynomial_sweep", sweep_on_everything, "fit_on_validation_too"),
    ("12_regularization", "polynomial_sweep", sweep_vander_d, "degree_off_by_one"),
    ("12_regularization", "l2_penalty", penalty_half, "half"),
    ("12_regularization", "l2_penalty", penalty_everything, "biases_penalised"),
    ("12_regularization", "l2_penalty", penalty_mean, "mean_not_sum"),
    ("12_regularization", "l2_gradient", l2_gradient_textbook, "no_factor_two"),
    ("12_regularization", "l2_gradient", l2_gradient_biases_too, "bias_gradient"),
    ("12_regularization", "dropout_forward", dropout_classic, "classic"),
    ("12_regularization", "dropout_forward", dropout_keep_probability, "rate_as_keep_scaled"),
    ("12_regularization", "dropout_backward", dropout_backward_mask_only, "backward_no_rescale"),
    ("12_regularization", "EarlyStopping", StopperSetUpInInit, "no_reset"),
    ("12_regularization", "EarlyStopping", StopperNotStrict, "less_or_equal"),
    ("12_regularization", "batchnorm_forward", batchnorm_sample_variance, "unbiased_variance"),
    ("12_regularization", "batchnorm_forward", batchnorm_pytorch_momentum, "momentum_swapped"),
    ("12_regularization", "batchnorm_backward", batchnorm_backward_local, "gamma_over_sigma_only"),
    ("13_schedules", "piecewise_constant", piecewise_right, "boundary_right"),
    ("13_schedules", "exponential_decay", exponential_never_floored, "staircase_ignored"),
    ("13_schedules", "exponential_decay", exponential_every_step, "rate_per_step"),
    ("13_schedules", "cosine_decay", cosine_to_zero, "alpha_ignored"),
    ("13_schedules", "cosine_decay", cosine_eta_min, "alpha_as_learning_rate"),
    ("13_schedules", "pick_learning_rate", pick_plain_average, "no_bias_correction"),
    ("13_schedules", "pick_learning_rate", pick_at_minimum, "no_tenth"),
    ("13_schedules", "pick_learning_rate", pick_nan_skipped, "skips_not_finite"),
    ("13_schedules", "grid_search", grid_float_root, "float_root"),
    ("13_schedules", "grid_search", grid_linear_everywhere, "linear_on_log"),
    ("13_schedules", "random_search", random_uniform_everywhere, "uniform_on_log"),
    ("13_schedules", "random_search", random_global_numpy, "ignores_rng"),
    ("13_schedules", "random_search", random_shared_draw, "one_draw"),
    ("08_activations", "leaky_relu_and_slope", leaky_slope_right_at_zero, "one_at_zero"),
    ("08_activations", "softmax", softmax_batch_max, "global_max"),
    ("08_activations", "dead_relu_fraction", dead_if_ever_off, "any_input"),
    ("09_losses", "binary_cross_entropy_from_logits", bce_logits_float32_clip, "sigmoid_then_clip"),
    ("09_losses", "sparse_cross_entropy_from_logits", sparse_float32_clip, "softmax_then_clip"),
    ("10_optimizers", "Adam", AdamMomentsOnTheClass, "class_state"),
    ("10_optimizers", "RMSprop", RMSpropLrAtInit, "rate_frozen"),
    ("11_minibatches", "iterate_batches", batches_shuffled_once, "same_order"),
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
    one = len({_plain(exercise.messages[key]) for key in named}) == 1  # twins (lab 09's float32 ones) say the same
    return (named[0] if one else None), feedback


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
