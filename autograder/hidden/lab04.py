"""Lab 04 hidden checks: the 5-weight network of seed 001 by hand, its known mistakes, its cases.

The network (seed 001 §4): h1 = (x1 + w1·x2)², h2 = w2·x1·x2, ŷ = w3·h1 + w4·h2 + w5, and the
squared error E = (ŷ − y)², summed over examples (no ½, no mean: the course's 534 and 520).
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.hidden import build_case

SEED_W = np.array([1.0, 2.0, 1.0, 1.0, 0.0])
SEED_X = np.array([[3.0, 2.0], [1.0, 4.0], [2.0, 1.0]])
SEED_Y = np.array([24.0, 14.0, 11.0])
SEED_LEARNING_RATE = 1e-4
# The seed's per-example table, as printed: two entries are slips (SEED_ERRATA.md).
SEED_TABLE = np.array([[520.0, 156.0, 650.0, 312.0, 26.0],
                       [380.0, 152.0, 950.0, 304.0, 38.0],
                       [24.0, 16.0, 36.0, 16.0, 4.0]])
SEED_SLIPS = [(1, 0), (2, 1)]


def _f(values) -> np.ndarray:
    return np.array(values, dtype=float)


# forward ---------------------------------------------------------------------------

def forward(w, x):
    w, x = _f(w), _f(x)
    h1 = (x[0] + w[0] * x[1]) ** 2
    h2 = w[1] * x[0] * x[1]
    return float(h1), float(h2), float(w[2] * h1 + w[3] * h2 + w[4])


def _forward_with(w, x, slip):
    w, x = _f(w), _f(x)
    h1 = (x[0] + w[0] * x[1]) ** 2
    h2 = w[1] * x[0] * x[1]
    if slip == "no_square":
        h1 = x[0] + w[0] * x[1]
    elif slip == "square_expanded":
        h1 = x[0] ** 2 + (w[0] * x[1]) ** 2
    y_hat = w[2] * h1 + w[3] * h2 + (0.0 if slip == "no_bias" else w[4])
    if slip == "order":
        return float(y_hat), float(h1), float(h2)
    return float(h1), float(h2), float(y_hat)


FORWARD_MISTAKES = {key: functools.partial(_forward_with, slip=key)
                    for key in ("no_square", "square_expanded", "no_bias", "order")}


# squared_error ---------------------------------------------------------------------

def _predictions(w, X):
    return np.array([forward(w, x)[2] for x in _f(X)])


def squared_error(w, X, y):
    return float(np.sum((_predictions(w, X) - _f(y)) ** 2))


ERROR_MISTAKES = {
    "mean": lambda w, X, y: float(np.mean((_predictions(w, X) - _f(y)) ** 2)),
    "half": lambda w, X, y: 0.5 * squared_error(w, X, y),
    "no_square": lambda w, X, y: float(np.sum(_predictions(w, X) - _f(y))),
    "absolute": lambda w, X, y: float(np.sum(np.abs(_predictions(w, X) - _f(y)))),
    "root": lambda w, X, y: float(np.sqrt(squared_error(w, X, y))),
}


# backward --------------------------------------------------------------------------

def gradients(w, x, y, slip=None):
    """∂E/∂(w1..w5) for one example; ``slip`` names a known mistake (or a slip to plant)."""
    w, x = _f(w), _f(x)
    h1, h2, y_hat = forward(w, x)
    d_y = 2 * (y_hat - y)
    inner = x[0] + w[0] * x[1]
    dh1_dw1, dh2_dw2 = 2 * inner * x[1], x[0] * x[1]
    dy_dh1, dy_dh2 = w[2], w[3]
    if slip == "no_factor_2":
        d_y = y_hat - y
    elif slip == "sign":
        d_y = 2 * (y - y_hat)
    elif slip == "h1_inner":
        dh1_dw1 = 2 * inner
    elif slip == "h1_linear":
        dh1_dw1 = x[1]
    elif slip == "h1_no_2":
        dh1_dw1 = inner * x[1]
    elif slip == "h2_value":
        dh2_dw2 = h2
    elif slip in ("no_w3", "no_w3_w4"):
        dy_dh1 = 1.0
    if slip in ("no_w4", "no_w3_w4"):
        dy_dh2 = 1.0
    return np.array([d_y * dy_dh1 * dh1_dw1, d_y * dy_dh2 * dh2_dw2, d_y * h1, d_y * h2, d_y])


def backward(w, x, y):
    return gradients(w, x, y)


BACKWARD_SLIPS = ("no_factor_2", "sign", "h1_inner", "h1_linear", "h1_no_2", "h2_value",
                  "no_w3_w4", "no_w3", "no_w4")
BACKWARD_MISTAKES = {key: functools.partial(gradients, slip=key) for key in BACKWARD_SLIPS}


def gradient_table(w, X, y, slip=None) -> np.ndarray:
    """Per-example gradients, shape (n, 5)."""
    return np.array([gradients(w, x, t, slip) for x, t in zip(_f(X), _f(y))])


# numerical_gradient ----------------------------------------------------------------

def numerical_gradient(w, X, y, h=1e-5):
    w = _f(w)
    grad = np.zeros(5)
    for i in range(5):
        step = np.zeros(5)
        step[i] = h
        grad[i] = (squared_error(w + step, X, y) - squared_error(w - step, X, y)) / (2 * h)
    return grad


def _numerical_forward(w, X, y, h=1e-5):
    w = _f(w)
    return np.array([(squared_error(w + h * e, X, y) - squared_error(w, X, y)) / h for e in np.eye(5)])


def _numerical_all_at_once(w, X, y, h=1e-5):
    w = _f(w)
    return np.full(5, (squared_error(w + h, X, y) - squared_error(w - h, X, y)) / (2 * h))


def _numerical_integer_input(w, X, y, h=1e-5):
    w = np.array(w)
    grad = np.zeros(5)
    for i in range(5):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (squared_error(up, X, y) - squared_error(down, X, y)) / (2 * h)
    return grad


NUMERICAL_MISTAKES = {
    "forward": _numerical_forward,
    "all_at_once": _numerical_all_at_once,
    "no_half": lambda w, X, y, h=1e-5: 2 * numerical_gradient(w, X, y, h),
    "integer_input": _numerical_integer_input,
    "ignored_h": lambda w, X, y, h=1e-5: numerical_gradient(w, X, y),
}


# batch_gradient and batch_update ---------------------------------------------------

def batch_gradient(w, X, y):
    return gradient_table(w, X, y).sum(axis=0)


BATCH_GRADIENT_MISTAKES = {
    "mean": lambda w, X, y: gradient_table(w, X, y).mean(axis=0),
    "last_only": lambda w, X, y: gradient_table(w, X, y)[-1],
}


def batch_update(w, X, y, learning_rate):
    return _f(w) - learning_rate * batch_gradient(w, X, y)


def online_update(w, X, y, learning_rate):
    return minibatch_update(w, X, y, learning_rate, 1)


BATCH_UPDATE_MISTAKES = {
    "mean": lambda w, X, y, lr: _f(w) - lr * gradient_table(w, X, y).mean(axis=0),
    "ascent": lambda w, X, y, lr: _f(w) + lr * batch_gradient(w, X, y),
    "no_learning_rate": lambda w, X, y, lr: _f(w) - batch_gradient(w, X, y),
    "online": lambda w, X, y, lr: online_update(w, X, y, lr)[-1],
}


# online_update and minibatch_update ------------------------------------------------

def _minibatch(w, X, y, learning_rate, batch_size, *, reduce="sum", reset=True, drop_last=False,
               extra_empty=False, stale=False, per_example=False, sign=1.0):
    X, y = _f(X), _f(y)
    n = len(X)
    num_batches = n // batch_size if drop_last else (n // batch_size + 1 if extra_empty else -(-n // batch_size))
    start_w = _f(w)
    path = [start_w.copy()]
    accumulated = np.zeros(5)
    for b in range(num_batches):
        rows = range(b * batch_size, min((b + 1) * batch_size, n))
        if reset:
            accumulated = np.zeros(5)
        current = path[-1].copy()
        for i in rows:
            g = gradients(start_w if stale else current, X[i], y[i])
            if per_example:
                current = current - sign * learning_rate * g
            else:
                accumulated = accumulated + (g / len(rows) if reduce == "mean" else g)
        if not per_example:
            current = path[-1] - sign * learning_rate * accumulated
        path.append(current)
    return np.array(path)


def minibatch_update(w, X, y, learning_rate, batch_size):
    return _minibatch(w, X, y, learning_rate, batch_size)


def _array_split(w, X, y, learning_rate, batch_size):
    X, y = _f(X), _f(y)
    parts = -(-len(X) // batch_size)
    path = [_f(w)]
    for X_part, y_part in zip(np.array_split(X, parts), np.array_split(y, parts)):
        path.append(path[-1] - learning_rate * batch_gradient(path[-1], X_part, y_part))
    return np.array(path)


def _aliased_online(w, X, y, lr):
    current = _f(w)
    path = [current]
    for x, t in zip(_f(X), _f(y)):
        current -= lr * gradients(current, x, t)
        path.append(current)
    return np.array(path)


ONLINE_MISTAKES = {
    "ascent": lambda w, X, y, lr: _minibatch(w, X, y, lr, 1, sign=-1.0),
    "stale": lambda w, X, y, lr: _minibatch(w, X, y, lr, 1, stale=True),
    "no_learning_rate": lambda w, X, y, lr: online_update(w, X, y, 1.0),
    "aliased": _aliased_online,
    "missing_start": lambda w, X, y, lr: online_update(w, X, y, lr)[1:],
    "final_only": lambda w, X, y, lr: online_update(w, X, y, lr)[-1],
}

MINIBATCH_MISTAKES = {
    "no_reset": lambda w, X, y, lr, b: _minibatch(w, X, y, lr, b, reset=False),
    "drop_last": lambda w, X, y, lr, b: _minibatch(w, X, y, lr, b, drop_last=True),
    "empty_batch": lambda w, X, y, lr, b: _minibatch(w, X, y, lr, b, extra_empty=True),
    "mean": lambda w, X, y, lr, b: _minibatch(w, X, y, lr, b, reduce="mean"),
    "ascent": lambda w, X, y, lr, b: _minibatch(w, X, y, lr, b, sign=-1.0),
    "stale": lambda w, X, y, lr, b: _minibatch(w, X, y, lr, b, stale=True),
    "per_example": lambda w, X, y, lr, b: _minibatch(w, X, y, lr, b, per_example=True),
    "missing_start": lambda w, X, y, lr, b: minibatch_update(w, X, y, lr, b)[1:],
    "array_split": _array_split,
}


# find_slips ------------------------------------------------------------------------

def _relative_error(a, b, eps=1e-12):
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), eps)


def _errors(w, X, y, table, whole_data=False, measure=_relative_error):
    X, y, table = _f(X), _f(y), _f(table)
    rows = [numerical_gradient(w, X if whole_data else X[i:i + 1], y if whole_data else y[i:i + 1])
            for i in range(len(X))]
    return measure(table, np.array(rows))


def _positions(errors, tol, offset=0, transpose=False):
    pairs = [(int(i) + offset, int(j) + offset) for i, j in np.argwhere(errors > tol)]
    return sorted((j, i) for i, j in pairs) if transpose else pairs


def find_slips(w, X, y, table, tol=1e-3):
    return _positions(_errors(w, X, y, table), tol)


def _worst_only(w, X, y, table, tol=1e-3):
    errors = _errors(w, X, y, table)
    i, j = np.unravel_index(np.argmax(errors), errors.shape)
    return [(int(i), int(j))] if errors[i, j] > tol else []


SLIPS_MISTAKES = {
    "one_based": lambda w, X, y, table, tol=1e-3: _positions(_errors(w, X, y, table), tol, offset=1),
    "transposed": lambda w, X, y, table, tol=1e-3: _positions(_errors(w, X, y, table), tol, transpose=True),
    "whole_data": lambda w, X, y, table, tol=1e-3: _positions(_errors(w, X, y, table, whole_data=True), tol),
    "worst_only": _worst_only,
    "no_abs": lambda w, X, y, table, tol=1e-3: _positions(
        _errors(w, X, y, table, measure=lambda a, b: (a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)),
        tol),
    "ignored_tol": lambda w, X, y, table, tol=1e-3: find_slips(w, X, y, table),
    "absolute": lambda w, X, y, table, tol=1e-3: _positions(_errors(w, X, y, table, measure=lambda a, b: np.abs(a - b)),
                                                            tol),
}


# the Keras layer -------------------------------------------------------------------

def _layer_report(w, X, y, *, swapped=False, square=True):
    """What ``probes.lab04.keras_layer`` reports for a layer computing ŷ = w3·A + w4·B + w5, in NumPy.

    The network has A = h1 = (x1 + w1·x2)² and B = h2 = w2·x1·x2; ``swapped`` exchanges them (w3
    multiplies h2), ``square=False`` drops h1's square. The gradient is Σ 2(ŷ − y) ∂ŷ/∂w over the rows.
    """
    w, X, y = _f(w), _f(X), _f(y)
    x1, x2 = X[:, 0], X[:, 1]
    inner = x1 + w[0] * x2
    h1, dh1 = (inner ** 2, 2 * inner * x2) if square else (inner, x2)
    h2, dh2 = w[1] * x1 * x2, x1 * x2
    zero = np.zeros_like(x1)
    (a, da1, da2), (b, db1, db2) = (h1, dh1, zero), (h2, zero, dh2)
    if swapped:
        (a, da1, da2), (b, db1, db2) = (b, db1, db2), (a, da1, da2)
    prediction = w[2] * a + w[3] * b + w[4]
    slope = 2 * (prediction - y)
    partials = np.stack([w[2] * da1 + w[3] * db1, w[2] * da2 + w[3] * db2, a, b, np.ones_like(x1)])
    return {"prediction": prediction[:, None], "gradient": partials @ slope, "dtype": "float64"}


def keras_layer(initial_weights, X, y):
    """The reference FiveWeightNet's report: the NumPy forward pass and batch_gradient, in float64."""
    return _layer_report(initial_weights, X, y)


LAYER_MISTAKES = {
    # keras.initializers.Constant(a list) makes a float32 tensor first, even for a float64 layer.
    "float32_weights": lambda w, X, y: _layer_report(_f(w).astype(np.float32).astype(np.float64), X, y),
    "swapped": lambda w, X, y: _layer_report(w, X, y, swapped=True),
    "no_square": lambda w, X, y: _layer_report(w, X, y, square=False),
    "float32_layer": lambda w, X, y: _float32_layer(w, X, y),
}


def _float32_layer(w, X, y):
    """A layer left at Keras's default float32: the same numbers to about 7 digits, reported as float32."""
    report = _layer_report(_f(w).astype(np.float32), X, y)
    return {**report, "prediction": report["prediction"].astype(np.float32), "dtype": "float32"}


def _layer_case(w, X, y):
    # A plain list, as a student would write FiveWeightNet([0.5, ...]): the case that shows float32 rounding.
    return build_case(_data_text(_f(w), X, y), (_f(w).tolist(), _f(X), _f(y)), keras_layer, LAYER_MISTAKES)


# case builders ---------------------------------------------------------------------

def _vector(values, precision=4) -> str:
    return "(" + ", ".join(f"{float(v):.{precision}g}" for v in np.ravel(values)) + ")"


def _data_text(w, X, y) -> str:
    X, y = _f(X), _f(y)
    if np.array_equal(w, SEED_W) and X.shape == SEED_X.shape and np.array_equal(X, SEED_X) and np.array_equal(
            y, SEED_Y):
        return "the course's network w = (1, 2, 1, 1, 0) and its three examples (3, 2)→24, (1, 4)→14, (2, 1)→11"
    examples = ", ".join(f"{_vector(x)}→{t:g}" for x, t in zip(X[:3], y[:3]))
    if len(X) > 3:
        return f"w = {_vector(w)} and {len(X)} examples {examples}, …"
    return f"w = {_vector(w)} and {len(X)} example{'s' if len(X) > 1 else ''} {examples}"


def _forward_case(w, x):
    return build_case(f"w = {_vector(w)}, x = {_vector(x)}", (_f(w), _f(x)), forward, FORWARD_MISTAKES)


def _error_case(w, X, y):
    return build_case(_data_text(w, X, y), (_f(w), _f(X), _f(y)), squared_error, ERROR_MISTAKES)


def _backward_case(w, x, y):
    label = f"w = {_vector(w)}, x = {_vector(x)}, y = {float(y):g}"
    return build_case(label, (_f(w), _f(x), float(y)), backward, BACKWARD_MISTAKES)


def _numerical_case(w, X, y, h=None):
    kwargs = {} if h is None else {"h": h}
    w = np.asarray(w)
    label = _data_text(w, X, y) + (" (w as an integer array)" if w.dtype.kind in "iu" else "")
    label += "" if h is None else f", h = {h:g}"
    return build_case(label, (w, _f(X), _f(y)), numerical_gradient, NUMERICAL_MISTAKES, kwargs)


def _batch_gradient_case(w, X, y):
    return build_case(_data_text(w, X, y), (_f(w), _f(X), _f(y)), batch_gradient, BATCH_GRADIENT_MISTAKES)


def _update_case(reference, mistakes, w, X, y, learning_rate, batch_size=None):
    label = f"{_data_text(w, X, y)}, learning_rate = {learning_rate:g}"
    args = (_f(w), _f(X), _f(y), learning_rate)
    if batch_size is not None:
        label += f", batch_size = {batch_size}"
        args += (batch_size,)
    return build_case(label, args, reference, mistakes)


def _slips_case(w, X, y, table, planted, tol=None):
    kwargs = {} if tol is None else {"tol": tol}
    what = "no slip" if not planted else f"{len(planted)} planted slip{'s' if len(planted) > 1 else ''}"
    label = f"{_data_text(w, X, y)}, a published table with {what}" + ("" if tol is None else f", tol = {tol:g}")
    return build_case(label, (_f(w), _f(X), _f(y), _f(table)), find_slips, SLIPS_MISTAKES, kwargs)


# the cases -------------------------------------------------------------------------

def public_cases():
    """The seed's network and numbers (SEED_ERRATA.md), shown in the notebook's check cells."""
    w, X, y, lr = SEED_W, SEED_X, SEED_Y, SEED_LEARNING_RATE
    corrected = gradient_table(w, X, y)
    return {
        "forward": [_forward_case(w, x) for x in X],
        "squared_error": [_error_case(w, X, y), _error_case(w, X[:1], y[:1])],
        # (1, 4) first: on (3, 2), where x2 = 2, dropping the 2 of the square and dropping the inner x2 coincide.
        "backward": [_backward_case(w, X[1], y[1]), _backward_case(w, X[0], y[0]), _backward_case(w, X[2], y[2])],
        "numerical_gradient": [_numerical_case(w, X[:1], y[:1]), _numerical_case(w, X, y),
                               _numerical_case(np.array([1, 2, 1, 1, 0]), X, y)],
        "batch_gradient": [_batch_gradient_case(w, X, y)],
        "online_update": [_update_case(online_update, ONLINE_MISTAKES, w, X, y, lr)],
        "batch_update": [_update_case(batch_update, BATCH_UPDATE_MISTAKES, w, X, y, lr)],
        "minibatch_update": [_update_case(minibatch_update, MINIBATCH_MISTAKES, w, X, y, lr, 2),
                             _update_case(minibatch_update, MINIBATCH_MISTAKES, w, X, y, lr, 3)],
        "find_slips": [_slips_case(w, X, y, SEED_TABLE, SEED_SLIPS), _slips_case(w, X, y, corrected, [])],
        # The seed's w3 = w4 = 1 hide swapped neurons and its integers hide float32: a second network shows both.
        "FiveWeightNet": [_layer_case(w, X, y), _layer_case([0.66, 1.1, 0.3, -0.7, 0.2], X, y)],
    }


def _round_significant(values, digits=5):
    values = _f(values)
    magnitude = np.floor(np.log10(np.abs(values)))
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * scale) / scale


def _draw_network(rng, n):
    """Moderate weights and data whose per-example gradients are all clearly away from 0."""
    while True:
        w = np.round(rng.uniform(0.3, 1.5, size=5) * rng.choice([-1.0, 1.0], size=5), 2)
        X = np.round(rng.uniform(0.5, 3.0, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2)), 1)
        y = np.round(rng.uniform(-15, 25, size=n))
        if np.min(np.abs(gradient_table(w, X, y))) > 0.5:
            return w, X, y


def _learning_rate(w, X, y):
    """About 0.05 / the largest batch-gradient entry, to one significant digit: steps of a few hundredths."""
    return float(_round_significant(0.05 / np.max(np.abs(batch_gradient(w, X, y))), 1))


PLANTED_KINDS = (("h1_inner", (0,)), ("h2_value", (1,)), ("h1_linear", (0,)), ("no_w4", (1,)),
                 ("no_factor_2", (0, 1, 2, 3, 4)), ("sign", (0, 1, 2, 3, 4)))


def _published_table(rng, w, X, y, num_slips):
    """The true table printed to 5 significant digits, with ``num_slips`` planted slips.

    With two slips or more, one lies below the true value, so that a signed error (``no_abs``) misses it
    whatever the draw.
    """
    true = gradient_table(w, X, y)
    table = _round_significant(true)
    planted, below, tries = [], False, 0
    while len(planted) < num_slips:
        tries += 1
        kind, columns = PLANTED_KINDS[rng.integers(len(PLANTED_KINDS))]
        i, j = int(rng.integers(len(X))), int(columns[rng.integers(len(columns))])
        slipped = gradients(w, X[i], y[i], slip=kind)[j]
        if (i, j) in planted or _relative_error(slipped, true[i, j]) < 0.05:
            continue
        if num_slips >= 2 and len(planted) == num_slips - 1 and not below and slipped > true[i, j] and tries < 500:
            continue
        below = below or slipped < true[i, j]
        table[i, j] = _round_significant(slipped)
        planted.append((i, j))
    return table, sorted(planted)


def _near_miss(rng, table, planted, w, X, y, tol):
    """One entry a little smaller than the truth: within ``tol`` of max(|a|, |b|) (and of the true value),
    outside it when measured against the smaller one."""
    true = gradient_table(w, X, y)
    table = table.copy()
    free = [(i, j) for i in range(len(X)) for j in range(5) if (i, j) not in planted]
    i, j = free[int(rng.integers(len(free)))]
    table[i, j] = true[i, j] * (1 - tol * (1 - tol / 2))
    return table


EQUIVALENT_MUTANTS = {
    "find_slips · constant · 1e-12 → 2e-12": "the floor only decides where both the published value and the "
    "numerical gradient are below 2e-12 in size: two exact zeros give a gap of 0 either way, and a gradient "
    "entry of the 5-weight network is never that small but nonzero",
    "find_slips · comparison · gap > tol → gap >= tol": "the gap equals tol exactly only if a central "
    "difference lands on one exact float, which the published tables (5 significant digits) never give",
    "numerical_gradient · drop_statement · w = np.array(w, dtype=float) → pass": "w + nudge is a new float "
    "array whatever w is (list or integers), and w itself is never written",
    "numerical_gradient · reduction · np.zeros(5) → np.ones(5)": "every entry of the estimate is overwritten",
    "minibatch_update · drop_statement · X, y = (np.asarray(X, dtype=float), np.asarray(y, dtype=float)) → pass":
    "lists slice like arrays and batch_update converts each mini-batch itself",
    "find_slips · drop_statement · X, y, table = (np.asarray(X, dtype=float), np.asarray(y, dtype=float), "
    "np.asarray(table, dtype=float)) → pass": "lists slice like arrays, and table[row] − array converts the row",
    "find_slips · constant · 1 → 2": "squared_error pairs inputs and targets with zip, so an extra input row "
    "without its target is ignored",
    "find_slips · constant · 1 → 2 · #2": "squared_error pairs inputs and targets with zip, so an extra target "
    "without its input row is ignored",
    "find_slips · swap_arguments · np.maximum(np.maximum(np.abs(table[row]), np.abs(honest)), 1e-12) → "
    "np.maximum(1e-12, np.maximum(np.abs(table[row]), np.abs(honest)))": "np.maximum is symmetric in its arguments",
    "find_slips · swap_arguments · np.maximum(np.abs(table[row]), np.abs(honest)) → "
    "np.maximum(np.abs(honest), np.abs(table[row]))": "np.maximum is symmetric in its arguments",
}


def hidden_cases(rng):
    """Inputs drawn from ``rng``: the published answers alone cannot pass these."""
    w, X, y = _draw_network(rng, int(rng.integers(4, 7)))
    n2, batch_size2 = ((7, 3), (9, 4), (10, 4))[rng.integers(3)]  # sizes np.array_split would balance
    w2, X2, y2 = _draw_network(rng, n2)
    lr, lr2 = _learning_rate(w, X, y), _learning_rate(w2, X2, y2)
    divisor = int(rng.choice([2, 3]))
    w3, X3, y3 = _draw_network(rng, 3 * divisor)
    lr3 = _learning_rate(w3, X3, y3)
    integer_w = rng.integers(1, 3, size=5) * rng.choice([-1, 1], size=5)
    table, planted = _published_table(rng, w, X, y, 2)
    table2, planted2 = _published_table(rng, w2, X2, y2, int(rng.integers(3, 5)))
    table3, planted3 = _published_table(rng, w3, X3, y3, 0)
    table2 = _near_miss(rng, table2, planted2, w2, X2, y2, 1e-2)
    return {
        "forward": [_forward_case(w, x) for x in X[:3]],
        "squared_error": [_error_case(w, X, y), _error_case(w2, X2[:1], y2[:1])],
        "backward": [_backward_case(w, X[i], y[i]) for i in range(3)] + [_backward_case(w2, X2[0], y2[0])],
        "numerical_gradient": [_numerical_case(w, X, y), _numerical_case(w2, X2[:2], y2[:2], h=0.05),
                               _numerical_case(integer_w, X, y)],
        "batch_gradient": [_batch_gradient_case(w, X, y), _batch_gradient_case(w2, X2, y2)],
        "online_update": [_update_case(online_update, ONLINE_MISTAKES, w, X, y, lr),
                          _update_case(online_update, ONLINE_MISTAKES, w2, X2, y2, lr2)],
        "batch_update": [_update_case(batch_update, BATCH_UPDATE_MISTAKES, w, X, y, lr),
                         _update_case(batch_update, BATCH_UPDATE_MISTAKES, w2, X2, y2, lr2)],
        "minibatch_update": [
            _update_case(minibatch_update, MINIBATCH_MISTAKES, w2, X2, y2, lr2, batch_size2),
            _update_case(minibatch_update, MINIBATCH_MISTAKES, w3, X3, y3, lr3, divisor),
            _update_case(minibatch_update, MINIBATCH_MISTAKES, w, X, y, lr, len(X) + 1),
        ],
        "find_slips": [_slips_case(w, X, y, table, planted), _slips_case(w2, X2, y2, table2, planted2, tol=1e-2),
                       _slips_case(w3, X3, y3, table3, planted3)],
        "FiveWeightNet": [_layer_case(w, X, y), _layer_case(w2, X2[:1], y2[:1])],
    }
