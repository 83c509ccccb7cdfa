"""Lab 05 hidden checks: reference solutions, known mistakes and case generators."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np

from autograder.hidden import build_case
from autograder.probes.lab05 import train_trace

DISTANCES = np.array([1.0, 2.0, 3.0, 4.0])  # miles (seed 000)
TIMES = np.array([6.96, 12.11, 16.77, 22.21])  # minutes
W0, B0 = 0.23, -0.15
LINE_X = np.array([1.0, 2.0, 3.0, 4.0])  # seed 003: y = 2x + 1
LINE_Y = 2 * LINE_X + 1


def _text(values) -> str:
    return np.array2string(np.asarray(values, dtype=float), precision=4, separator=", ")


# predict -----------------------------------------------------------------------------

def predict(X, w, b):
    return w * np.asarray(X, dtype=float) + b


PREDICT_MISTAKES = {
    "swapped": lambda X, w, b: b * np.asarray(X, dtype=float) + w,
    "no_bias": lambda X, w, b: w * np.asarray(X, dtype=float),
    "bias_scaled": lambda X, w, b: (w + b) * np.asarray(X, dtype=float),
}


def _predict_case(X, w, b, label=None):
    label = label or f"X = {_text(X)}, w = {w:g}, b = {b:g}"
    return build_case(label, (np.asarray(X), w, b), predict, PREDICT_MISTAKES)


# mse ---------------------------------------------------------------------------------

def mse(y_pred, y):
    return float(np.mean((np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def _errors(y_pred, y):
    return np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)


MSE_MISTAKES = {
    "sum": lambda y_pred, y: float(np.sum(_errors(y_pred, y) ** 2)),
    "no_square": lambda y_pred, y: float(np.mean(_errors(y_pred, y))),
    "absolute": lambda y_pred, y: float(np.mean(np.abs(_errors(y_pred, y)))),
    "root": lambda y_pred, y: float(np.sqrt(np.mean(_errors(y_pred, y) ** 2))),
    "half": lambda y_pred, y: float(0.5 * np.mean(_errors(y_pred, y) ** 2)),
}


def _mse_case(y_pred, y, label=None):
    label = label or f"y_pred = {_text(y_pred)}, y = {_text(y)}"
    return build_case(label, (np.asarray(y_pred), np.asarray(y)), mse, MSE_MISTAKES)


# mse_gradients -----------------------------------------------------------------------

def mse_gradients(X, y, w, b):
    X = np.asarray(X, dtype=float)
    error = predict(X, w, b) - np.asarray(y, dtype=float)
    return float(2 * np.mean(error * X)), float(2 * np.mean(error))


def _gradients_from(rule):
    def gradients(X, y, w, b):
        X = np.asarray(X, dtype=float)
        return rule(X, predict(X, w, b) - np.asarray(y, dtype=float))
    return gradients


GRADIENT_MISTAKES = {
    "sum": _gradients_from(lambda X, e: (float(2 * np.sum(e * X)), float(2 * np.sum(e)))),
    "no_two": _gradients_from(lambda X, e: (float(np.mean(e * X)), float(np.mean(e)))),
    "sign": _gradients_from(lambda X, e: (float(-2 * np.mean(e * X)), float(-2 * np.mean(e)))),
    "no_x": _gradients_from(lambda X, e: (float(2 * np.mean(e)), float(2 * np.mean(e)))),
    "x_in_bias": _gradients_from(lambda X, e: (float(2 * np.mean(e * X)), float(2 * np.mean(e * X)))),
    "swapped": _gradients_from(lambda X, e: (float(2 * np.mean(e)), float(2 * np.mean(e * X)))),
}


def _gradients_case(X, y, w, b, label=None):
    label = label or f"X = {_text(X)}, y = {_text(y)}, w = {w:g}, b = {b:g}"
    return build_case(label, (np.asarray(X), np.asarray(y), w, b), mse_gradients, GRADIENT_MISTAKES)


# sgd_step ----------------------------------------------------------------------------

def sgd_step(w, b, dw, db, learning_rate):
    return w - learning_rate * dw, b - learning_rate * db


STEP_MISTAKES = {
    "ascent": lambda w, b, dw, db, lr: (w + lr * dw, b + lr * db),
    "no_learning_rate": lambda w, b, dw, db, lr: (w - dw, b - db),
    "divided": lambda w, b, dw, db, lr: (w - dw / lr, b - db / lr),
    "swapped": lambda w, b, dw, db, lr: (w - lr * db, b - lr * dw),
}


def _step_case(w, b, dw, db, learning_rate, label=None):
    label = label or f"w = {w:g}, b = {b:g}, dW = {dw:g}, dB = {db:g}, learning_rate = {learning_rate:g}"
    return build_case(label, (w, b, dw, db, learning_rate), sgd_step, STEP_MISTAKES)


# train -------------------------------------------------------------------------------

def _epoch_loss(losses, sizes):
    """Keras' epoch loss: the mean of the batch losses, each weighted by its batch's size."""
    return float(np.dot(losses, sizes) / np.sum(sizes))


def _train(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None,
           epoch_loss=_epoch_loss, after_update=False, stale_loss=False):
    """The reference loop; the keyword switches give the loss-history conventions it rejects."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        start_predictions = predict(X, w, b)
        losses, sizes = [], []
        for start in range(0, n, size):
            rows = order[start:start + size]
            loss = mse(start_predictions[rows] if stale_loss else predict(X[rows], w, b), y[rows])
            dw, db = mse_gradients(X[rows], y[rows], w, b)
            w, b = sgd_step(w, b, dw, db, learning_rate)
            losses.append(loss)
            sizes.append(len(rows))
        history.append(mse(predict(X, w, b), y) if after_update else epoch_loss(losses, sizes))
    return w, b, np.array(history)


def train(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
    return _train(X, y, w, b, learning_rate, epochs, batch_size, shuffle, rng)


def _history_variant(**switches):
    def variant(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, rng=None):
        return _train(X, y, w, b, learning_rate, epochs, batch_size, shuffle, rng, **switches)
    return variant


# Loops whose updates are right but whose loss history follows another convention: the
# check recognises them by their values.
HISTORY_MISTAKES = {
    "after_update": _history_variant(after_update=True),
    "unweighted": _history_variant(epoch_loss=lambda losses, sizes: float(np.mean(losses))),
    "summed": _history_variant(epoch_loss=lambda losses, sizes: float(np.sum(losses))),
    "stale_loss": _history_variant(stale_loss=True),
}


def _probed(loop):
    return lambda *args, **kwargs: train_trace(loop, *args, **kwargs)


def _train_case(X, y, w, b, learning_rate, epochs, batch_size=None, shuffle=False, seed=0, data=None):
    n = len(X)
    if batch_size is None or batch_size >= n:
        kind = "full batch" + ("" if batch_size is None else f" (batch_size = {batch_size} ≥ {n} rows)")
    elif batch_size == 1:
        kind = "stochastic (batch_size = 1)"
    else:
        kind = f"mini-batches of {batch_size}"
    shuffled = f", shuffled with rng = np.random.default_rng({seed})" if shuffle else ", in order"
    data = data or f"{n} points X = {_text(X)}"
    label = (f"{data}: {kind}{shuffled}, learning_rate = {learning_rate:g}, {epochs} epochs, "
             f"from w = {w:g}, b = {b:g}")
    kwargs = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed}
    return build_case(label, (np.asarray(X), np.asarray(y), w, b, learning_rate, epochs), _probed(train),
                      {key: _probed(loop) for key, loop in HISTORY_MISTAKES.items()}, kwargs)


# plateau_epoch -----------------------------------------------------------------------

def plateau_epoch(losses, patience, min_delta=0.0):
    best, wait = math.inf, 0
    for epoch, loss in enumerate(losses):
        if loss < best - min_delta:
            best, wait = loss, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return None


def _plateau_with(improved, shift=0, extra_wait=0, start=False):
    def detect(losses, patience, min_delta=0.0):
        best, wait = math.inf, 0
        for epoch, loss in enumerate(losses):
            if improved(loss, best, min_delta, losses, epoch):
                best, wait = loss, 0
            else:
                wait += 1
                if wait >= patience + extra_wait:
                    return epoch - wait + 1 if start else epoch + shift
        return None
    return detect


def _best_epoch(losses, patience, min_delta=0.0):
    epoch = plateau_epoch(losses, patience, min_delta)
    return None if epoch is None else int(np.argmin(np.asarray(losses)[:epoch + 1]))


PLATEAU_MISTAKES = {
    "previous": _plateau_with(lambda loss, best, d, losses, i: i == 0 or loss < losses[i - 1] - d),
    "not_strict": _plateau_with(lambda loss, best, d, losses, i: loss <= best - d),
    "no_min_delta": _plateau_with(lambda loss, best, d, losses, i: loss < best),
    "one_based": _plateau_with(lambda loss, best, d, losses, i: loss < best - d, shift=1),
    "late": _plateau_with(lambda loss, best, d, losses, i: loss < best - d, extra_wait=1),
    "plateau_start": _plateau_with(lambda loss, best, d, losses, i: loss < best - d, start=True),
    "best_epoch": _best_epoch,
}


def _plateau_case(losses, patience, min_delta=0.0, label=None):
    losses = np.asarray(losses, dtype=float)
    label = label or f"losses = {_text(losses)}"
    label += f", patience = {patience}, min_delta = {min_delta:g}"
    return build_case(label, (losses, patience), plateau_epoch, PLATEAU_MISTAKES, {"min_delta": min_delta})


def _edge_plateaus(rng):
    """Three histories, drawn per student, that tell three mistakes apart whatever the draw (quarters: exact).

    A loss exactly best − min_delta (not an improvement: ``not_strict`` counts it); a bounce that falls
    from the previous epoch but stays above the best (``previous`` counts it); a drop below the best by
    less than min_delta (``no_min_delta`` counts it). Each is followed by enough flat epochs to stop.
    """
    best = float(rng.integers(4, 20)) / 4
    patience = int(rng.integers(2, 5))
    delta = float(rng.choice([0.25, 0.5]))
    flat = [best + 0.25 * k for k in range(1, patience + 2)]
    return [
        _plateau_case([best + 1.0, best, best - delta, *flat], patience, delta),
        _plateau_case([best + 1.0, best, best + 1.0, best + 0.5, best + 0.25, *flat], patience),
        _plateau_case([best + 1.0, best, best - delta / 2, *flat], patience, delta),
    ]


# keras_train -------------------------------------------------------------------------

def _fit_epochs(X, y, w, b, learning_rate, batch_size, orders):
    """Plain SGD for every run at once: ``orders`` (runs, epochs, n) gives each epoch's order of the rows.

    Returns each epoch's loss (runs, epochs), Keras' size-weighted mean of the pre-update batch losses,
    and the parameters after each epoch (runs, epochs, 2).
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    runs, epochs, n = orders.shape
    w, b = np.full(runs, float(w)), np.full(runs, float(b))
    losses, params = np.zeros((runs, epochs)), np.zeros((runs, epochs, 2))
    for epoch in range(epochs):
        for start in range(0, n, batch_size):
            rows = orders[:, epoch, start:start + batch_size]
            x_batch = X[rows]
            error = w[:, None] * x_batch + b[:, None] - y[rows]
            losses[:, epoch] += np.mean(error ** 2, axis=1) * rows.shape[1] / n
            w, b = (w - learning_rate * 2 * np.mean(error * x_batch, axis=1),
                    b - learning_rate * 2 * np.mean(error, axis=1))
        params[:, epoch] = np.stack([w, b], axis=1)
    return losses, params


def _early_stopping(losses, params, patience, restore=True, stop=True):
    """EarlyStopping(monitor="loss", patience, restore_best_weights=True) on one run: (w, b, history).

    Keras' rule: the first epoch's weights are the best until beaten; an epoch improves when its loss
    is below the best; training stops after ``patience`` epochs without improvement (never at epoch
    0); at the end the best epoch's weights (those after its updates) are restored.
    """
    best, waited, best_epoch, last = math.inf, 0, 0, len(losses) - 1
    for epoch, loss in enumerate(losses):
        waited += 1
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        elif stop and waited >= patience and epoch > 0:
            last = epoch
            break
    w, b = params[best_epoch if restore else last]
    return float(w), float(b), np.array(losses[:last + 1])


def _keras_run(X, y, w, b, learning_rate, epochs, batch_size, patience, restore=True, stop=True):
    """What fit does on the rows in order, in NumPy."""
    orders = np.broadcast_to(np.arange(len(X)), (1, epochs, len(X)))
    losses, params = _fit_epochs(X, y, w, b, learning_rate, batch_size, orders)
    return _early_stopping(losses[0], params[0], patience, restore, stop)


def keras_train(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0):
    return _keras_run(X, y, w, b, learning_rate, epochs, batch_size, patience)


KERAS_MISTAKES = {
    # shuffle=True passed to fit (or no shuffle at all): a Dataset keeps its order.
    "shuffle_on_fit": lambda *args, shuffle=False, seed=0: _keras_run(*args),
    "no_restore": lambda *args, shuffle=False, seed=0: _keras_run(*args, restore=False),
    "no_early_stopping": lambda *args, shuffle=False, seed=0: _keras_run(*args, stop=False, restore=False),
}


def _epoch_orders(n, batch_size):
    """Every order of the rows that changes an epoch: one per sequence of batches (as sets of rows)."""
    seen = {}
    for order in itertools.permutations(range(n)):
        batches = tuple(frozenset(order[s:s + batch_size]) for s in range(0, n, batch_size))
        seen.setdefault(batches, [i for batch in batches for i in sorted(batch)])
    return list(seen.values())


def _keras_case(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0, data=None):
    n = len(X)
    kind = "one batch of all rows" if batch_size >= n else f"batches of {batch_size}"
    data = data or f"{n} points X = {_text(X)}, y = {_text(y)}"
    label = (f"{data}: {kind}{f', shuffled (seed = {seed})' if shuffle else ', in order'}, learning_rate = "
             f"{learning_rate:g}, up to {epochs} epochs, patience {patience}, from w = {w:g}, b = {b:g}")
    args = (np.asarray(X), np.asarray(y), w, b, learning_rate, epochs, batch_size, patience)
    kwargs = {"shuffle": shuffle, "seed": seed}
    if not shuffle:
        return build_case(label, args, keras_train, KERAS_MISTAKES, kwargs)
    # The pipeline's order is TensorFlow's to choose: any run whose epochs came in some other order than
    # the data's passes. The one in the data's order every epoch is what an ignored shuffle gives.
    orders = np.array([run for run in itertools.product(_epoch_orders(n, batch_size), repeat=epochs)
                       if any(list(order) != list(range(n)) for order in run)])
    losses, params = _fit_epochs(X, y, w, b, learning_rate, batch_size, orders)
    expected, *others = (_early_stopping(loss, param, patience) for loss, param in zip(losses, params))
    # The other mistakes would be judged on one order of TensorFlow's choosing: their cases are the unshuffled ones.
    case = build_case(label, args, lambda *a, **k: expected, {"shuffle_on_fit": KERAS_MISTAKES["shuffle_on_fit"]},
                      kwargs)
    return replace(case, accepted={f"order {i}": value for i, value in enumerate(others)})


# the cases ---------------------------------------------------------------------------

COMMUTE = "the commute data (distances 1, 2, 3, 4 miles)"


def seed_history(epochs=500):
    """The loss history of the course's full-batch run (lr 0.01 from W=0.23, B=−0.15)."""
    return train(DISTANCES, TIMES, W0, B0, 0.01, epochs)[2]


EQUIVALENT_MUTANTS = {
    # The Keras exercise's, found by `python -m autograder audit LAB --tensorflow` (not audited by default):
    ('keras_train · constant · False → True'):
        ('jit_compile=True: XLA on the CPU computes the same float64 SGD steps (within the '
         "check's tolerance); it changes how the step runs, not what it computes"),
    ('keras_train · constant · False → True · #2'):
        ('fit(shuffle=True) on a tf.data.Dataset is ignored by Keras (it warns that the '
         "Dataset's own order is used), as the reference's comment says"),
    ('keras_train · constant · 0 → 1'):
        ('verbose=1 prints a progress bar: output only, the same training'),
    "mse_gradients · drop_statement · X = np.asarray(X, dtype=float) → pass": "the error is already an array, "
    "so error * X converts a list X itself",
    "mse_gradients · swap_arguments · predict(X, w, b) → predict(w, X, b)": "w·x + b is symmetric in w and x",
    "train · drop_statement · X, y = (np.asarray(X, dtype=float), np.asarray(y, dtype=float)) → pass": "the "
    "docstring asks for float arrays, and the probe hands train arrays",
    "train · swap_arguments · min(batch_size, n) → min(n, batch_size)": "min is symmetric in its arguments",
    "train · swap_arguments · mse(predict(X[rows], w, b), y[rows]) → mse(y[rows], predict(X[rows], w, b))":
    "the squared error is symmetric in prediction and target",
    "train · swap_arguments · predict(X[rows], w, b) → predict(w, X[rows], b)": "w·x + b is symmetric in w and x",
    "plateau_epoch · drop_return · return None → pass": "a function that falls off its end returns None",
    "plateau_epoch · constant · 0 → 1": "the first loss always beats inf and resets the wait to 0",
}


def public_cases():
    """The worked numbers of the course (SEED_ERRATA.md, seeds 000 and 003)."""
    seed_losses = seed_history()
    return {
        "predict": [_predict_case(DISTANCES, W0, B0, f"{COMMUTE}, w = {W0:g}, b = {B0:g}")],
        "mse": [
            _mse_case(predict(DISTANCES, W0, B0), TIMES, f"the first predictions {_text(predict(DISTANCES, W0, B0))} "
                      f"against the times {_text(TIMES)}"),
            _mse_case([2.0, 7.0], [5.0, 4.0]),
        ],
        "mse_gradients": [
            _gradients_case(DISTANCES, TIMES, W0, B0, f"{COMMUTE}, times {_text(TIMES)}, w = {W0:g}, b = {B0:g}"),
            _gradients_case(LINE_X[:2], LINE_Y[:2], 1.0, 0.0),
        ],
        "sgd_step": [_step_case(W0, B0, -82.465, -28.175, 0.01)],
        "train": [
            _train_case(DISTANCES, TIMES, W0, B0, 0.01, 50, data=COMMUTE),
            _train_case(LINE_X, LINE_Y, 0.0, 0.0, 0.01, 8, batch_size=3, data="the line y = 2x + 1 at x = 1, 2, 3, 4"),
            _train_case(DISTANCES, TIMES, W0, B0, 0.01, 4, batch_size=1, data=COMMUTE),
            _train_case(DISTANCES, TIMES, W0, B0, 0.01, 5, batch_size=2, shuffle=True, seed=0, data=COMMUTE),
        ],
        "plateau_epoch": [
            _plateau_case([5.0, 3.0, 3.0, 2.5, 2.5, 2.5, 2.4, 2.4, 2.4, 2.4], 2),
            _plateau_case([4.0, 2.0, 2.5, 1.9, 2.2, 1.95, 2.0, 1.85], 2, 0.02),
            _plateau_case(seed_losses, 10, 1e-4, "the loss history of the course's 500-epoch run"),
            _plateau_case([3.0, 2.0, 1.0, 0.5], 1),
        ],
        "keras_train": [
            _keras_case(DISTANCES, TIMES, W0, B0, 0.01, 30, 4, 3, data=COMMUTE),
            _keras_case(DISTANCES, TIMES, W0, B0, 0.1, 40, 2, 2, data=COMMUTE),
            _keras_case(DISTANCES, TIMES, W0, B0, 0.01, 3, 2, 5, shuffle=True, seed=0, data=COMMUTE),
        ],
    }


def _distinct(rng, n, low, high):
    """n distinct values in [low, high), rounded to 2 decimals and at least 0.05 apart."""
    grid = np.round(np.arange(low, high, 0.05), 2)
    return np.sort(rng.choice(grid, size=n, replace=False))


def _regression_data(rng, n):
    X = _distinct(rng, n, -3.0, 5.0)
    y = np.round(rng.uniform(-3, 3) * X + rng.uniform(-5, 5) + rng.normal(scale=0.5, size=n), 3)
    while len(np.unique(y)) < n:
        y = np.round(y + rng.normal(scale=1e-3, size=n), 3)
    return X, y


def _stable_learning_rate(X, rng):
    # 2·max(x² + 1) bounds the curvature of any batch's loss: stay well inside 2 / curvature.
    return float(np.round(rng.uniform(0.1, 0.4) / (np.max(X ** 2) + 1), 4))


def _losses(rng):
    """A decreasing, noisy loss curve that flattens out, with one exact tie with the best so far."""
    epochs = int(rng.integers(25, 40))
    t = np.arange(epochs)
    curve = rng.uniform(2, 10) * np.exp(-t / rng.uniform(1.5, 3.5)) + rng.uniform(0.1, 1)
    losses = np.round(curve + rng.normal(scale=0.02, size=epochs), 4)
    k = int(rng.integers(5, 12))
    losses[k + 1] = losses[:k + 1].min()
    return losses


def _diverging_learning_rate(X):
    """A full-batch step 1.5 times past stability: the loss soon grows every epoch, so EarlyStopping stops and
    the best epoch is never the last (restore_best_weights matters whatever the draw)."""
    curvature = np.linalg.eigvalsh(2 * np.array([[np.mean(X ** 2), np.mean(X)], [np.mean(X), 1.0]]))[-1]
    return float(np.round(1.5 * 2 / curvature, 4))


def _bouncing_learning_rate(X, rng):
    """A step large enough that mini-batches of 2 bounce around the minimum, yet stable for the full batch."""
    curvature = np.linalg.eigvalsh(2 * np.array([[np.mean(X ** 2), np.mean(X)], [np.mean(X), 1.0]]))[-1]
    return float(np.round(rng.uniform(0.7, 0.9) * 2 / curvature, 4))


# Seeds for which tf.data's shuffle(4, seed) does not leave every epoch in the data's order
# (tests/test_lab05_keras.py checks them with TensorFlow).
SHUFFLE_SEEDS = tuple(range(10))


def hidden_cases(rng):
    """Inputs drawn from ``rng``: the published answers alone cannot pass these."""
    n = int(rng.integers(5, 10))
    X, y = _regression_data(rng, n)
    w, b = (float(v) for v in np.round(rng.uniform(-2, 2, size=2), 2))
    lr = _stable_learning_rate(X, rng)
    mini = int(rng.choice([m for m in (2, 3, 4) if n % m]))
    seeds = rng.integers(0, 2**31, size=2)
    noisy = _losses(rng)
    return {
        "predict": [_predict_case(X, w, b), _predict_case(X.astype(np.float32), w, b)],
        "mse": [_mse_case(predict(X, w, b), y)],
        "mse_gradients": [_gradients_case(X, y, w, b), _gradients_case(X[:3], y[:3], -w, b + 1)],
        "sgd_step": [_step_case(w, b, *(float(v) for v in np.round(rng.normal(scale=20, size=2), 3)), lr)],
        "train": [
            _train_case(X, y, w, b, lr, int(rng.integers(15, 30))),
            _train_case(X, y, w, b, lr, int(rng.integers(4, 8)), batch_size=mini),
            _train_case(X, y, w, b, lr, int(rng.integers(2, 4)), batch_size=1),
            _train_case(X, y, w, b, lr, int(rng.integers(4, 8)), batch_size=n + int(rng.integers(0, 4))),
            _train_case(X, y, w, b, lr, int(rng.integers(4, 7)), batch_size=mini, shuffle=True, seed=int(seeds[0])),
            _train_case(X, y, w, b, lr, 3, batch_size=1, shuffle=True, seed=int(seeds[1])),
        ],
        "plateau_epoch": [
            _plateau_case(noisy, int(rng.integers(2, 5))),
            _plateau_case(noisy, int(rng.integers(2, 4)), float(np.round(rng.uniform(0.01, 0.05), 3))),
            _plateau_case(noisy[:6], 8),
            *_edge_plateaus(rng),
        ],
        "keras_train": [
            _keras_case(X, y, w, b, lr, int(rng.integers(8, 15)), n, int(rng.integers(2, 4))),
            _keras_case(X, y, w, b, _bouncing_learning_rate(X, rng), 40, 2, 2),
            _keras_case(X, y, w, b, _diverging_learning_rate(X), 30, n, 2),
            _keras_case(X[:4], y[:4], w, b, lr, 3, 2, 5, shuffle=True, seed=int(rng.choice(SHUFFLE_SEEDS))),
        ],
    }
