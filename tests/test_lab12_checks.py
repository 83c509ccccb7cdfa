"""Lab 12's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import case_ids, untold_causes
from conftest import first_failure as _first_failure

from autograder.checks import load_lab
from autograder.feedback import plain
from autograder.hidden import lab12 as ref
from autograder.probes.lab12 import dropout_backward_run, early_stopping_run

LAB = "12_regularization"








def first_failure(exercise, fn):
    return _first_failure(LAB, exercise, fn)


def assert_fails_with(exercise, fn, message):
    feedback = first_failure(exercise, fn)
    assert feedback is not None, "a wrong implementation passed"
    assert feedback.startswith(f"Lab 12 · {exercise}")
    assert plain(message) in feedback


def _message(exercise, key):
    return load_lab(LAB).exercise(exercise).messages[key]


# correct but different ---------------------------------------------------------------

def sweep_polyfit(x_train, y_train, x_val, y_val, degrees):
    train, val = [], []
    for degree in degrees:
        p = np.polyfit(x_train, y_train, degree)
        train.append(np.mean((np.polyval(p, x_train) - y_train) ** 2))
        val.append(np.mean((np.polyval(p, x_val) - y_val) ** 2))
    return np.array(train), np.array(val)


def sweep_normal_equations_increasing(x_train, y_train, x_val, y_val, degrees):
    """Increasing powers, the Polynomial class's least squares: another basis order, the same fit."""
    from numpy.polynomial import Polynomial

    x_train, y_train, x_val, y_val = (np.asarray(a, dtype=float) for a in (x_train, y_train, x_val, y_val))
    fits = [Polynomial.fit(x_train, y_train, d) if d else Polynomial([y_train.mean()]) for d in degrees]
    return (np.array([np.mean((p(x_train) - y_train) ** 2) for p in fits]),
            np.array([np.mean((p(x_val) - y_val) ** 2) for p in fits]))


def l2_penalty_loops(layers, l2):
    total = 0.0
    for W, _ in layers:
        for row in np.atleast_2d(W):
            for w in row:
                total += w * w
    return l2 * total


def l2_penalty_einsum_float32(layers, l2):
    return np.float32(l2) * sum(np.einsum("ij,ij->", np.float32(W), np.float32(W)) for W, _ in layers)


def l2_gradient_lists(layers, l2):
    return [[2 * l2 * np.array(W), 0 * np.array(b, dtype=float)] for W, b in layers]


def dropout_multiply(x, rate, rng=None, training=True, mask=None):
    x = np.asarray(x, dtype=float)
    if not training:
        return x, None
    if mask is None:
        mask = (rng or np.random.default_rng()).uniform(size=x.shape) >= rate
    return x * (np.asarray(mask) * (1.0 / (1 - rate))), np.asarray(mask, dtype=bool)


def dropout_float32(x, rate, rng=None, training=True, mask=None):
    x = np.asarray(x, dtype=np.float32)
    if not training:
        return x, np.ones(x.shape, dtype=bool)  # an all-kept mask in inference: not judged
    if mask is None:
        mask = (np.random.default_rng() if rng is None else rng).random(x.shape) >= rate
    return (x * mask / np.float32(1 - rate)).astype(np.float32), mask


def dropout_backward_where(grad_out, mask, rate):
    return np.where(mask, np.asarray(grad_out) / (1 - rate), 0.0)


class EarlyStoppingCounter(ref.EarlyStopping):
    """The course notes' loop: a counter that grows on each bad epoch, a flag instead of epoch > 0."""

    def on_train_begin(self):
        self.best, self.counter, self.saved = float("inf"), 0, None

    def on_epoch_end(self, epoch, val_loss, weights):
        if val_loss < self.best - self.min_delta:
            self.best, self.counter = val_loss, 0
            self.saved = [w.copy() for w in weights]
            return False
        self.counter += 1
        return self.counter >= self.patience

    def on_train_end(self, weights):
        return self.saved if self.restore_best_weights else weights


class EarlyStoppingDeepcopy(ref.EarlyStopping):
    def on_epoch_end(self, epoch, val_loss, weights):
        import copy

        return super().on_epoch_end(epoch, val_loss, copy.deepcopy(weights))


def batchnorm_forward_loops(x, gamma, beta, moving_mean, moving_var, training=True, momentum=0.99, epsilon=1e-3):
    x = np.asarray(x, dtype=float)
    n, features = x.shape
    y = np.empty_like(x)
    new_mean, new_var = np.array(moving_mean, dtype=float), np.array(moving_var, dtype=float)
    for j in range(features):
        column = x[:, j]
        if training:
            mean = sum(column) / n
            var = sum((v - mean) ** 2 for v in column) / n
            new_mean[j] = mean + momentum * (new_mean[j] - mean)
            new_var[j] = var + momentum * (new_var[j] - var)
        else:
            mean, var = new_mean[j], new_var[j]
        y[:, j] = gamma[j] * (column - mean) / (var + epsilon) ** 0.5 + beta[j]
    return y, new_mean, new_var


def batchnorm_forward_float32(x, gamma, beta, moving_mean, moving_var, training=True, momentum=0.99, epsilon=1e-3):
    y, mean, var = ref.batchnorm_forward(np.float32(x), gamma, beta, moving_mean, moving_var, training, momentum,
                                         epsilon)
    return y.astype(np.float32), mean.astype(np.float32), var.astype(np.float32)


def batchnorm_backward_chain(grad_out, x, gamma, epsilon=1e-3):
    """Step by step through the graph: x̂, the variance and the mean, as a computational graph has it."""
    x, grad_out = np.asarray(x, dtype=float), np.asarray(grad_out, dtype=float)
    n = len(x)
    mu = x.mean(axis=0)
    centred = x - mu
    var = (centred ** 2).mean(axis=0)
    inv = 1 / np.sqrt(var + epsilon)
    x_hat = centred * inv
    d_hat = grad_out * gamma
    d_var = np.sum(d_hat * centred, axis=0) * -0.5 * inv ** 3
    d_mu = -np.sum(d_hat * inv, axis=0) + d_var * np.mean(-2 * centred, axis=0)
    dx = d_hat * inv + d_var * 2 * centred / n + d_mu / n
    return dx, np.einsum("ij,ij->j", grad_out, x_hat), grad_out.sum(axis=0)


CORRECT = [
    ("polynomial_sweep", ref.polynomial_sweep), ("polynomial_sweep", sweep_polyfit),
    ("polynomial_sweep", sweep_normal_equations_increasing),
    ("l2_penalty", ref.l2_penalty), ("l2_penalty", l2_penalty_loops), ("l2_penalty", l2_penalty_einsum_float32),
    ("l2_gradient", ref.l2_gradient), ("l2_gradient", l2_gradient_lists),
    ("dropout_forward", ref.dropout_forward), ("dropout_forward", dropout_multiply),
    ("dropout_forward", dropout_float32),
    ("dropout_backward", ref.dropout_backward), ("dropout_backward", dropout_backward_where),
    ("EarlyStopping", ref.EarlyStopping), ("EarlyStopping", EarlyStoppingCounter),
    ("EarlyStopping", EarlyStoppingDeepcopy),
    ("batchnorm_forward", ref.batchnorm_forward), ("batchnorm_forward", batchnorm_forward_loops),
    ("batchnorm_forward", batchnorm_forward_float32),
    ("batchnorm_backward", ref.batchnorm_backward), ("batchnorm_backward", batchnorm_backward_chain),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(exercise, implementation) is None


# real mistakes -------------------------------------------------------------------------

def dropout_backward_new_mask(grad_out, mask, rate):
    """Draws a fresh mask: 'the backward of dropout is dropout again'."""
    fresh = np.random.default_rng(1).random(np.shape(grad_out)) >= rate
    return np.asarray(grad_out) * fresh / (1 - rate)


class EarlyStoppingNoCopy(ref.EarlyStopping):
    def on_epoch_end(self, epoch, val_loss, weights):
        self.wait += 1
        if self.best is None or val_loss < self.best - self.min_delta:
            self.best, self.wait, self.best_weights = val_loss, 0, weights
            return False
        return self.wait >= self.patience


class EarlyStoppingCounterAfter(ref.EarlyStopping):
    """Counts only after the patience test: stops one epoch late."""

    def on_epoch_end(self, epoch, val_loss, weights):
        if self.best is None or val_loss < self.best - self.min_delta:
            self.best, self.wait = val_loss, 0
            self.best_weights = [w.copy() for w in weights]
            return False
        if self.wait >= self.patience:
            return True
        self.wait += 1
        return False


class EarlyStoppingSetUpOnce:
    """Sets its state when made: the way a loop's variables are set before a loop, which on_train_begin never resets."""

    def __init__(self, patience=0, min_delta=0.0, restore_best_weights=False):
        self.patience, self.min_delta, self.restore_best_weights = patience, abs(min_delta), restore_best_weights
        self.best, self.wait, self.best_weights = float("inf"), 0, None

    def on_train_begin(self):
        pass

    def on_epoch_end(self, epoch, val_loss, weights):
        self.wait += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.wait = val_loss, 0
            self.best_weights = [np.array(w) for w in weights]
            return False
        return self.wait >= self.patience and epoch > 0

    def on_train_end(self, weights):
        return self.best_weights if self.restore_best_weights and self.best_weights is not None else weights


class EarlyStoppingClassList(ref.EarlyStopping):
    """Keeps the best weights in a list made in the class body: every instance shares it."""

    saved = []

    def on_epoch_end(self, epoch, val_loss, weights):
        if self.best is None or val_loss < self.best - self.min_delta:
            self.saved.append([np.array(w) for w in weights])
        return super().on_epoch_end(epoch, val_loss, weights)

    def on_train_end(self, weights):
        return self.saved[-1] if self.restore_best_weights and self.saved else weights


WRONG = [
    ("EarlyStopping", EarlyStoppingSetUpOnce, _message("EarlyStopping", "no_reset")),
    *[("polynomial_sweep", fn, _message("polynomial_sweep", key)) for key, fn in ref.POLYNOMIAL_SWEEP_MISTAKES.items()],
    *[("l2_penalty", fn, _message("l2_penalty", key)) for key, fn in ref.L2_PENALTY_MISTAKES.items()],
    *[("l2_gradient", fn, _message("l2_gradient", key)) for key, fn in ref.L2_GRADIENT_MISTAKES.items()],
    *[("dropout_forward", fn, _message("dropout_forward", key)) for key, fn in ref.DROPOUT_FORWARD_MISTAKES.items()],
    *[("dropout_backward", fn, _message("dropout_backward", key))
      for key, fn in ref.DROPOUT_BACKWARD_MISTAKES.items()],
    ("dropout_backward", dropout_backward_new_mask, _message("dropout_backward", "new_mask")),
    *[("EarlyStopping", cls, _message("EarlyStopping", key)) for key, cls in ref.EARLY_STOPPING_MISTAKES.items()],
    ("EarlyStopping", EarlyStoppingNoCopy, _message("EarlyStopping", "restored_last")),
    ("EarlyStopping", EarlyStoppingCounterAfter, _message("EarlyStopping", "patience_late")),
    *[("batchnorm_forward", fn, _message("batchnorm_forward", key))
      for key, fn in ref.BATCHNORM_FORWARD_MISTAKES.items()],
    *[("batchnorm_backward", fn, _message("batchnorm_backward", key))
      for key, fn in ref.BATCHNORM_BACKWARD_MISTAKES.items()],
]


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(exercise, implementation, message)


class EarlyStoppingMaxMode(ref.EarlyStopping):
    """Watches for a *rising* loss."""

    def _is_improvement(self, current):
        return self.best is None or current > self.best + self.min_delta


def dropout_keeps_rate_but_scales_twice(x, rate, rng=None, training=True, mask=None):
    y, mask = ref.dropout_forward(x, rate, rng, training, mask)
    return (y / (1 - rate) if training else y), mask


UNKNOWN = [
    ("polynomial_sweep", lambda *args: tuple(a * 1.5 for a in ref.polynomial_sweep(*args))),
    ("l2_penalty", lambda layers, l2: ref.l2_penalty(layers, l2) + 0.1),
    ("l2_gradient", lambda layers, l2: [(3 * l2 * np.asarray(W), np.zeros(np.shape(b))) for W, b in layers]),
    ("dropout_forward", dropout_keeps_rate_but_scales_twice),
    ("dropout_backward", lambda g, mask, rate: np.asarray(g) * mask * 2.0),
    ("EarlyStopping", EarlyStoppingMaxMode),
    ("EarlyStopping", EarlyStoppingClassList),
    ("batchnorm_forward", lambda x, g, b, m, v, training=True, momentum=0.99, epsilon=1e-3: ref.batchnorm_forward(
        x, g, b, m, v, training, momentum, 10 * epsilon)),
    ("batchnorm_backward", lambda g, x, gamma, epsilon=1e-3: tuple(2 * a for a in ref.batchnorm_backward(
        g, x, gamma, epsilon))),
]


@pytest.mark.parametrize(("exercise", "implementation"), UNKNOWN, ids=case_ids(UNKNOWN))
def test_a_mistake_nobody_named_gets_no_cause(exercise, implementation):
    feedback = first_failure(exercise, implementation)
    assert feedback is not None, "a wrong implementation passed"
    named = [k for k, m in load_lab(LAB).exercise(exercise).messages.items() if m.replace("*", "") in feedback]
    assert named == []


# behaviour pinned directly -------------------------------------------------------------

def test_the_capacity_sweep_of_the_commutes_under_and_overfits():
    from autograder import data

    table = data.load("bike_car_commutes")
    x = (np.asarray(table["distance_miles"]) - 10.5) / 9.5
    y = np.asarray(table["time_minutes"])
    train = np.arange(0, 39, 3)
    val = np.setdiff1d(np.arange(39), train)
    train_mse, val_mse = ref.polynomial_sweep(x[train], y[train], x[val], y[val], range(13))
    best = int(np.argmin(val_mse))
    assert 2 <= best <= 5
    assert val_mse[0] > 100 * val_mse[best] and val_mse[12] > 100 * val_mse[best]
    assert train_mse[12] < 1e-6 < train_mse[0]


def test_the_scripted_stops_follow_keras_rules():
    reports = [early_stopping_run(ref.EarlyStopping, settings, losses) for settings, losses, _ in ref.PUBLIC_STOPPING]
    assert reports == [{"stopped_at": 3, "weights_from": 3}, {"stopped_at": 1, "weights_from": 0},
                       {"stopped_at": None, "weights_from": 1}, {"stopped_at": 1, "weights_from": 1}]


def dropout_forward_in_place(x, rate, rng=None, training=True, mask=None):
    if not training:
        return x, None
    if mask is None:
        mask = (np.random.default_rng() if rng is None else rng).random(np.shape(x)) >= rate
    x *= mask
    x /= 1 - rate
    return x, mask


def dropout_backward_in_place(grad_out, mask, rate):
    grad_out *= mask
    grad_out /= 1 - rate
    return grad_out


@pytest.mark.parametrize(("exercise", "implementation"), [("dropout_forward", dropout_forward_in_place),
                                                          ("dropout_backward", dropout_backward_in_place)])
def test_a_change_made_in_place_to_the_inputs_is_reported(exercise, implementation):
    feedback = first_failure(exercise, implementation)
    assert feedback is not None and "changed its input" in feedback, feedback


def test_the_backward_probe_sees_a_fresh_mask():
    mask = np.array([[True, False, True, False], [False, True, True, True]])
    report = dropout_backward_run(dropout_backward_new_mask, np.ones((2, 4)) * 3, mask, 0.5)
    right = dropout_backward_run(ref.dropout_backward, np.ones((2, 4)) * 3, mask, 0.5)
    assert right["follows_mask"] is True
    assert report["follows_mask"] is False or np.array_equal(report["grad_in"], right["grad_in"])


def test_the_reference_batchnorm_backward_passes_a_gradient_check_with_random_upstream():
    rng = np.random.default_rng(4)
    x, gamma, G = rng.normal(2, 3, size=(5, 3)), rng.uniform(0.5, 2, size=3), rng.normal(size=(5, 3))
    dx = ref.batchnorm_backward(G, x, gamma)[0]
    numerical = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += 1e-6
        down[index] -= 1e-6
        loss = [np.sum(G * ref.batchnorm_forward(v, gamma, np.zeros(3), np.zeros(3), np.ones(3))[0])
                for v in (up, down)]
        numerical[index] = (loss[0] - loss[1]) / 2e-6
    np.testing.assert_allclose(dx, numerical, rtol=1e-6, atol=1e-8)
    ones_dx = ref.batchnorm_backward(np.ones_like(x), x, gamma)[0]
    assert np.max(np.abs(ones_dx)) < 1e-12  # why the checks never use an all-ones upstream


def test_hidden_cases_are_drawn_quickly():
    import time

    start = time.perf_counter()
    ref.hidden_cases(np.random.default_rng(123))
    assert time.perf_counter() - start < 1.0


def _stop_rule_as_a_loop(val_losses, patience):
    """Keras's EarlyStopping(monitor="val_loss", patience) read epoch by epoch, as its on_epoch_end does."""
    best, wait, best_epoch = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses):
        wait += 1
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        elif wait >= patience and epoch > 0:
            return epoch + 1, best_epoch
    return len(val_losses), best_epoch


@pytest.mark.parametrize("seed", range(5))
def test_the_checks_stop_rule_is_keras_early_stopping_epoch_by_epoch(seed):
    """The trusted side reads a dropout run's history with a vectorised rule: the same stop and best epoch as the
    loop, on ties, plateaus, NaN and inf."""
    from autograder.checks.lab12 import _stop_rule

    rng = np.random.default_rng(seed)
    for _ in range(2000):
        n, patience = int(rng.integers(1, 15)), int(rng.integers(1, 5))
        losses = rng.choice([1.0, 2.0, 3.0, 0.5, np.nan, np.inf], size=n)
        assert _stop_rule(losses, patience) == _stop_rule_as_a_loop(losses, patience), (losses, patience)


# messages a compare returns itself, not matched against a mistake's values
CHOSEN_BY_THE_COMPARATOR = (("keras_regularized_fit", "float32"), ("keras_regularized_fit", "no_validation"))


@pytest.mark.parametrize("seed", range(8))
def test_every_named_cause_has_a_hidden_case_that_tells_it_under_every_secret(seed):
    assert untold_causes(LAB, seed, CHOSEN_BY_THE_COMPARATOR) == []
