"""Lab 05's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder.checks import load_lab
from autograder.hidden import lab05 as ref
from autograder.hidden.lab05 import mse, mse_gradients, predict, sgd_step

LAB = "05_training_loop"


def notebook(source: str, **extra) -> dict:
    """A student's definitions, run in a fresh namespace as the grader does (beside the reference helpers
    unless the source defines its own)."""
    namespace = {"np": np, "math": math, "predict": predict, "mse": mse, "mse_gradients": mse_gradients,
                 "sgd_step": sgd_step, **extra}
    exec(textwrap.dedent(source), namespace)  # noqa: S102 - test fixtures written here
    return namespace


def batches(n, batch_size):
    size = n if batch_size is None else min(batch_size, n)
    return [(start, min(start + size, n)) for start in range(0, n, size)]


# correct but different ---------------------------------------------------------------

def predict_loop(X, w, b):
    return np.array([w * x + b for x in X])


def mse_loop(y_pred, y):
    total = 0.0
    for p, t in zip(y_pred, y):
        total += (p - t) ** 2
    return total / len(y)


def mse_float32(y_pred, y):
    return np.mean((np.asarray(y_pred, np.float32) - np.asarray(y, np.float32)) ** 2)


def gradients_dot(X, y, w, b):
    error = w * X + b - y
    return 2 / len(X) * error @ X, 2 / len(X) * error.sum()


def gradients_loop(X, y, w, b):
    dw = db = 0.0
    for x, t in zip(X, y):
        dw += 2 * (w * x + b - t) * x
        db += 2 * (w * x + b - t)
    return dw / len(X), db / len(X)


def gradients_float32(X, y, w, b):
    X, y = np.asarray(X, np.float32), np.asarray(y, np.float32)
    error = np.float32(w) * X + np.float32(b) - y
    return np.mean(2 * error * X), np.mean(2 * error)


def gradients_as_array(X, y, w, b):
    return np.array(ref.mse_gradients(X, y, w, b))


def step_array(w, b, dw, db, learning_rate):
    params = np.array([w, b]) - learning_rate * np.array([dw, db])
    return params[0], params[1]


def train_loops(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    """Plain Python lists and loops, the loss accumulated by hand."""
    n = len(X)
    history = []
    for _ in range(epochs):
        order = list(rng.permutation(n)) if shuffle else list(range(n))
        total = 0.0
        for start, stop in batches(n, batch_size):
            rows = order[start:stop]
            xb, yb = np.array([X[i] for i in rows]), np.array([y[i] for i in rows])
            total += sum((w * x + b - t) ** 2 for x, t in zip(xb, yb))
            dw, db = mse_gradients(xb, yb, w, b)
            w -= learning_rate * dw
            b -= learning_rate * db
        history.append(total / n)
    return w, b, history


def train_take(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    """np.take, np.arange-based batches, a preallocated history and a running weighted mean."""
    n = X.shape[0]
    size = n if batch_size is None else min(n, batch_size)
    history = np.zeros(epochs)
    for epoch in range(epochs):
        order = np.arange(n)
        if shuffle:
            rng.shuffle(order)
        seen, mean = 0, 0.0
        for start in np.arange(0, n, size):
            rows = order[start:start + size]
            xb, yb = np.take(X, rows), np.take(y, rows)
            loss = mse(predict(xb, w, b), yb)
            seen += len(rows)
            mean += (loss - mean) * len(rows) / seen
            w, b = sgd_step(w, b, *mse_gradients(xb, yb, w, b), learning_rate)
        history[epoch] = mean
    return w, b, history


def train_choice(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    """Shuffles with rng.choice: another valid order than rng.permutation's."""
    n = len(X)
    history = []
    for _ in range(epochs):
        order = rng.choice(n, size=n, replace=False) if shuffle else np.arange(n)
        losses = []
        for start, stop in batches(n, batch_size):
            rows = order[start:stop]
            losses.append(mse(predict(X[rows], w, b), y[rows]) * len(rows))
            w, b = sgd_step(w, b, *mse_gradients(X[rows], y[rows], w, b), learning_rate)
        history.append(sum(losses) / n)
    return w, b, np.array(history)


def train_reorders_data(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    """Permutes its own copies of X and y each epoch (the permutations compose): still a fresh order."""
    n = len(X)
    history = []
    for _ in range(epochs):
        if shuffle:
            order = rng.permutation(n)
            X, y = X[order], y[order]
        losses, sizes = [], []
        for start, stop in batches(n, batch_size):
            losses.append(mse(predict(X[start:stop], w, b), y[start:stop]))
            sizes.append(stop - start)
            w, b = sgd_step(w, b, *mse_gradients(X[start:stop], y[start:stop], w, b), learning_rate)
        history.append(np.average(losses, weights=sizes))
    return w, b, np.array(history)


FLOAT32_NOTEBOOK = """
def train(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    X, y = np.asarray(X, np.float32), np.asarray(y, np.float32)
    w, b = np.float32(w), np.float32(b)
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = np.float32(0)
        for start in range(0, n, size):
            rows = order[start:start + size]
            total += np.sum((w * X[rows] + b - y[rows]) ** 2)
            dw, db = mse_gradients(X[rows], y[rows], w, b)
            w, b = w - np.float32(learning_rate) * dw, b - np.float32(learning_rate) * db
        history.append(total / n)
    return w, b, np.array(history, dtype=np.float32)
"""


REFERENCE_NOTEBOOK = """
def train(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for start in range(0, n, size):
            rows = order[start:start + size]
            total += mse(predict(X[rows], w, b), y[rows]) * len(rows)
            dw, db = mse_gradients(X[rows], y[rows], w, b)
            w, b = sgd_step(w, b, dw, db, learning_rate)
        history.append(total / n)
    return w, b, np.array(history)
"""


def plateau_from_start(losses, patience, min_delta=0.0):
    best, wait = losses[0], 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < best - min_delta:
            best, wait = losses[epoch], 0
        else:
            wait += 1
            if wait == patience:
                return epoch
    return None


def plateau_since_best(losses, patience, min_delta=0.0):
    """Counts epochs since the best one instead of keeping a wait counter; returns a NumPy integer."""
    best_epoch = 0
    for epoch in np.arange(1, len(losses)):
        if losses[epoch] < losses[best_epoch] - min_delta:
            best_epoch = epoch
        elif epoch - best_epoch >= patience:
            return epoch
    return None


CORRECT = [
    ("predict", ref.predict),
    ("predict", predict_loop),
    ("mse", ref.mse),
    ("mse", mse_loop),
    ("mse", mse_float32),
    ("mse_gradients", ref.mse_gradients),
    ("mse_gradients", gradients_dot),
    ("mse_gradients", gradients_loop),
    ("mse_gradients", gradients_float32),
    ("sgd_step", ref.sgd_step),
    ("sgd_step", step_array),
    ("train", ref.train),
    ("train", train_loops),
    ("train", train_take),
    ("train", train_choice),
    ("train", train_reorders_data),
    ("train", notebook(FLOAT32_NOTEBOOK, mse_gradients=gradients_float32)["train"]),
    ("train", notebook(REFERENCE_NOTEBOOK, mse_gradients=gradients_loop)["train"]),
    # issue 9 §5: a correct train beside an mse_gradients that returns an array of two, which train unpacks
    ("train", notebook(REFERENCE_NOTEBOOK, mse_gradients=gradients_as_array)["train"]),
    ("plateau_epoch", ref.plateau_epoch),
    ("plateau_epoch", plateau_from_start),
    ("plateau_epoch", plateau_since_best),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# real mistakes -------------------------------------------------------------------------

def _loop(update=None, order=None, epochs_of=None, gradients_at=None, begin=None, finish=None):
    """A training loop with one piece swapped for a student's mistake; the rest is right."""

    def train(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
        n, w0, b0 = len(X), w, b
        w, b = begin(w, b) if begin else (w, b)
        state = {"dw": 0.0, "db": 0.0}
        history = []
        for epoch in range(epochs_of(epochs) if epochs_of else epochs):
            ordering = order(rng, n, epoch, shuffle) if order else (rng.permutation(n) if shuffle else np.arange(n))
            losses = []
            for start, stop in batches(n, batch_size):
                rows = ordering[start:stop]
                losses.append(mse(predict(X[rows], w, b), y[rows]) * len(rows))
                at = gradients_at(w, b, w0, b0) if gradients_at else (w, b)
                dw, db = mse_gradients(X[rows], y[rows], *at)
                w, b = update(w, b, dw, db, learning_rate, state) if update else sgd_step(w, b, dw, db, learning_rate)
            history.append(sum(losses) / n)
        return finish(w, b, w0, b0, history) if finish else (w, b, np.array(history))

    return train


def _accumulate(w, b, dw, db, learning_rate, state):
    state["dw"] += dw
    state["db"] += db
    return w - learning_rate * state["dw"], b - learning_rate * state["db"]


_FIXED_ORDER = {}


def _shuffle_once(rng, n, epoch, shuffle):
    if not shuffle:
        return np.arange(n)
    if epoch == 0:
        _FIXED_ORDER[n] = rng.permutation(n)
    return _FIXED_ORDER[n]


def train_inline_gradients(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    history = []
    for _ in range(epochs):
        error = w * X + b - y
        history.append(np.mean(error ** 2))
        w, b = w - learning_rate * 2 * np.mean(error * X), b - learning_rate * 2 * np.mean(error)
    return w, b, np.array(history)


def train_unpaired(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    n = len(X)
    history = []
    for _ in range(epochs):
        Xs, ys = (X[rng.permutation(n)], y[rng.permutation(n)]) if shuffle else (X, y)
        total = 0.0
        for start, stop in batches(n, batch_size):
            total += mse(predict(Xs[start:stop], w, b), ys[start:stop]) * (stop - start)
            w, b = sgd_step(w, b, *mse_gradients(Xs[start:stop], ys[start:stop], w, b), learning_rate)
        history.append(total / n)
    return w, b, np.array(history)


def train_shuffles_in_place(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    history = []
    for _ in range(epochs):
        if shuffle:
            rng.shuffle(X)
            rng.shuffle(y)
        total = 0.0
        for start, stop in batches(len(X), batch_size):
            total += mse(predict(X[start:stop], w, b), y[start:stop]) * (stop - start)
            w, b = sgd_step(w, b, *mse_gradients(X[start:stop], y[start:stop], w, b), learning_rate)
        history.append(total / len(X))
    return w, b, np.array(history)


def train_update_once_per_epoch(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    n = len(X)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for start, stop in batches(n, batch_size):
            rows = order[start:stop]
            total += mse(predict(X[rows], w, b), y[rows]) * len(rows)
            dw, db = mse_gradients(X[rows], y[rows], w, b)
        w, b = sgd_step(w, b, dw, db, learning_rate)
        history.append(total / n)
    return w, b, np.array(history)


def train_history_per_batch(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    n = len(X)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start, stop in batches(n, batch_size):
            rows = order[start:stop]
            history.append(mse(predict(X[rows], w, b), y[rows]))
            w, b = sgd_step(w, b, *mse_gradients(X[rows], y[rows], w, b), learning_rate)
    return w, b, np.array(history)


def train_array_split(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for rows in np.array_split(order, math.ceil(n / size)):
            total += mse(predict(X[rows], w, b), y[rows]) * len(rows)
            w, b = sgd_step(w, b, *mse_gradients(X[rows], y[rows], w, b), learning_rate)
        history.append(total / n)
    return w, b, np.array(history)


def train_whole_data(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    n = len(X)
    history = []
    for _ in range(epochs):
        total = 0.0
        for start, stop in batches(n, batch_size):
            total += mse(predict(X[start:stop], w, b), y[start:stop]) * (stop - start)
            w, b = sgd_step(w, b, *mse_gradients(X, y, w, b), learning_rate)
        history.append(total / n)
    return w, b, np.array(history)


def train_drops_last_batch(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for k in range(n // size):
            rows = order[k * size:(k + 1) * size]
            total += mse(predict(X[rows], w, b), y[rows]) * size
            w, b = sgd_step(w, b, *mse_gradients(X[rows], y[rows], w, b), learning_rate)
        history.append(total / (n // size * size))
    return w, b, np.array(history)


SUMMING_GRADIENTS = notebook("""
def mse_gradients(X, y, w, b):
    error = w * X + b - y
    return 2 * np.sum(error * X), 2 * np.sum(error)
""")["mse_gradients"]


WRONG = [
    ("predict", ref.PREDICT_MISTAKES["swapped"], "swapped the slope and the intercept"),
    ("predict", ref.PREDICT_MISTAKES["no_bias"], "bias is missing"),
    ("predict", ref.PREDICT_MISTAKES["bias_scaled"], "Only w multiplies x"),
    ("mse", ref.MSE_MISTAKES["sum"], "*sum* of the squared errors"),
    ("mse", ref.MSE_MISTAKES["no_square"], "Square each error"),
    ("mse", ref.MSE_MISTAKES["absolute"], "mean *absolute* error"),
    ("mse", ref.MSE_MISTAKES["root"], "RMSE"),
    ("mse", ref.MSE_MISTAKES["half"], "no ½"),
    ("mse_gradients", ref.GRADIENT_MISTAKES["sum"], "n times too large"),
    ("mse_gradients", ref.GRADIENT_MISTAKES["no_two"], "half the size"),
    ("mse_gradients", ref.GRADIENT_MISTAKES["sign"], "wrong sign"),
    ("mse_gradients", ref.GRADIENT_MISTAKES["no_x"], "∂L/∂w needs the input"),
    ("mse_gradients", ref.GRADIENT_MISTAKES["x_in_bias"], "∂L/∂b has no x"),
    ("mse_gradients", ref.GRADIENT_MISTAKES["swapped"], "order is (dW, dB)"),
    ("sgd_step", ref.STEP_MISTAKES["ascent"], "goes uphill"),
    ("sgd_step", ref.STEP_MISTAKES["no_learning_rate"], "far too long"),
    ("sgd_step", ref.STEP_MISTAKES["divided"], "don't divide"),
    ("sgd_step", ref.STEP_MISTAKES["swapped"], "swapped the gradients"),
    ("train", train_inline_gradients, "never called mse_gradients"),
    ("train", notebook("def train(*args, **kwargs):\n    return 0.0, 0.0, []\n")["train"],
     "never called mse_gradients"),
    ("train", _loop(update=lambda w, b, dw, db, lr, s: (w + lr * dw, b + lr * db)), "went uphill"),
    ("train", _loop(update=lambda w, b, dw, db, lr, s: (w - dw, b - db)), "multiply it by the learning rate"),
    ("train", _loop(update=_accumulate), "forgot to reset an accumulated gradient"),
    ("train", train_unpaired, "shuffled them with different permutations"),
    ("train", train_shuffles_in_place, "changed its input argument 1, argument 2 in place"),
    ("train", _loop(epochs_of=lambda epochs: epochs + 1), "one epoch too many"),
    ("train", _loop(epochs_of=lambda epochs: epochs - 1), "one epoch too few"),
    ("train", _loop(gradients_at=lambda w, b, w0, b0: (w0, b0)), "the same w and b as before"),
    ("train", train_update_once_per_epoch, "the same w and b as before"),
    ("train", train_drops_last_batch, "dropped the last"),
    ("train", _loop(order=_shuffle_once), "you shuffled once, before the loop"),
    ("train", _loop(order=lambda rng, n, epoch, shuffle: np.arange(n)), "took the rows in their original order"),
    ("train", _loop(order=lambda rng, n, epoch, shuffle: rng.permutation(n)), "although shuffle=False"),
    ("train", _loop(order=lambda rng, n, epoch, shuffle: np.random.permutation(n) if shuffle else np.arange(n)),
     "did not shuffle with the `rng` argument"),
    ("train", ref.HISTORY_MISTAKES["after_update"], "*after* each epoch's updates"),
    ("train", ref.HISTORY_MISTAKES["unweighted"], "weight each batch's loss by its number of rows"),
    ("train", ref.HISTORY_MISTAKES["summed"], "*sum* of the batch losses"),
    ("train", ref.HISTORY_MISTAKES["stale_loss"], "stale forward pass"),
    ("train", _loop(begin=lambda w, b: (0.0, 0.0)), "start from the w and b you were given"),
    ("train", _loop(finish=lambda w, b, w0, b0, history: (w0, b0, np.array(history))), "return the updated values"),
    ("train", train_history_per_batch, "one loss per epoch"),
    ("train", train_array_split, "slice consecutive batches"),
    ("train", train_whole_data, "pass only the batch"),
    ("train", _loop(finish=lambda w, b, w0, b0, history: (w, b)), "must return a tuple (w, b, history)"),
    ("train", notebook(REFERENCE_NOTEBOOK, mse_gradients=SUMMING_GRADIENTS)["train"], "fix mse_gradients first"),
    ("train", notebook(REFERENCE_NOTEBOOK, mse_gradients=ref.GRADIENT_MISTAKES["sign"])["train"],
     "fix mse_gradients first"),
    ("plateau_epoch", ref.PLATEAU_MISTAKES["previous"], "Compare with the *best* loss"),
    ("plateau_epoch", ref.PLATEAU_MISTAKES["not_strict"], "not an improvement"),
    ("plateau_epoch", ref.PLATEAU_MISTAKES["no_min_delta"], "min_delta is ignored"),
    ("plateau_epoch", ref.PLATEAU_MISTAKES["one_based"], "0-based"),
    ("plateau_epoch", ref.PLATEAU_MISTAKES["late"], "One epoch late"),
    ("plateau_epoch", ref.PLATEAU_MISTAKES["plateau_start"], "first epoch of the plateau"),
    ("plateau_epoch", ref.PLATEAU_MISTAKES["best_epoch"], "epoch of the best loss"),
]


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


# the published numbers -----------------------------------------------------------------

def test_public_cases_are_the_published_numbers():
    cases = load_lab(LAB).public_cases()
    np.testing.assert_allclose(cases["predict"][0].expected, [0.08, 0.31, 0.54, 0.77])
    assert cases["mse"][0].expected == pytest.approx(227.415, abs=5e-4)
    np.testing.assert_allclose(cases["mse_gradients"][0].expected, (-82.465, -28.175))
    np.testing.assert_allclose(cases["sgd_step"][0].expected, (1.05465, 0.13175))
    (w, b, history), _ = cases["train"][0].expected
    assert (round(w, 4), round(b, 4)) == (5.1516, 1.5829)
    np.testing.assert_allclose(history[[0, 1, 49]], [227.415, 157.814, 0.04337], rtol=1e-4)


def test_seed_run_reaches_the_published_epoch_500():
    w, b, history = ref.train(ref.DISTANCES, ref.TIMES, ref.W0, ref.B0, 0.01, 500)
    assert (round(w, 4), round(b, 4), round(history[-1], 6)) == (5.0698, 1.8252, 0.026626)
    np.testing.assert_allclose(np.polyfit(ref.DISTANCES, ref.TIMES, 1), [5.041, 1.910], atol=5e-4)


def test_hidden_cases_are_drawn_quickly():
    import time

    start = time.perf_counter()
    ref.hidden_cases(np.random.default_rng(123))
    assert time.perf_counter() - start < 0.5
