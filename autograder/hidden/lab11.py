"""Lab 11 hidden checks: batch counts and iterators, Adam's step, a softmax MLP's gradients, accuracy and the
confusion matrix; known mistakes; the cases.

Conventions: an epoch is one call of ``iterate_batches`` (one ``rng.permutation(n)`` when shuffling); Adam is
Keras' (ε added to √v, the bias correction folded into the step size, t 1-based); ReLU's derivative at 0 is 0;
the confusion matrix has true classes in its rows; ties go to the first largest entry (np.argmax's order).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

import numpy as np

from autograder.checks.lab11 import _blocks, _local, batch_features
from autograder.hidden import build_case
from autograder.probes.lab11 import batch_rows


def _f(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _text(values) -> str:
    return np.array2string(_f(values), precision=4, separator=", ", max_line_width=10_000).replace("\n", "")


# n_batches ---------------------------------------------------------------------------

def n_batches(n, batch_size, drop_remainder=False):
    return n // batch_size if drop_remainder else -(-n // batch_size)


N_BATCHES_MISTAKES = {
    "floor_always": lambda n, b, drop_remainder=False: n // b,
    "ceil_always": lambda n, b, drop_remainder=False: -(-n // b),
    "flag_reversed": lambda n, b, drop_remainder=False: -(-n // b) if drop_remainder else n // b,
    "plus_one": lambda n, b, drop_remainder=False: n // b if drop_remainder else n // b + 1,
    "true_division": lambda n, b, drop_remainder=False: n / b,
}


def _n_batches_case(n, batch_size, drop_remainder=None, label=None):
    kwargs = {} if drop_remainder is None else {"drop_remainder": drop_remainder}
    label = label or f"n = {n:,}, batch_size = {batch_size}" + (
        "" if drop_remainder is None else f", drop_remainder = {drop_remainder}")
    return build_case(label, (n, batch_size), n_batches, N_BATCHES_MISTAKES, kwargs)


# iterate_batches ---------------------------------------------------------------------

def _batches(X, y, batch_size, order, drop_remainder):
    X, y = np.asarray(X), np.asarray(y)
    stop = len(order) - len(order) % batch_size if drop_remainder else len(order)
    for start in range(0, stop, batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]


def iterate_batches(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    n = len(X)
    order = rng.permutation(n) if shuffle else np.arange(n)
    yield from _batches(X, y, batch_size, order, drop_remainder)


def _unpaired(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    n = len(X)
    if not shuffle:
        yield from _batches(X, y, batch_size, np.arange(n), drop_remainder)
        return
    X, y = np.asarray(X)[rng.permutation(n)], np.asarray(y)[rng.permutation(n)]
    yield from _batches(X, y, batch_size, np.arange(n), drop_remainder)


def _with_order(draw):
    def iterate(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
        order = draw(rng, len(X), batch_size) if shuffle else np.arange(len(X))
        yield from _batches(X, y, batch_size, order, drop_remainder)
    return iterate


def _drop(rule):
    def iterate(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        yield from _batches(X, y, batch_size, order, rule(drop_remainder))
    return iterate


def _empty_batch(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    n = len(X)
    order = rng.permutation(n) if shuffle else np.arange(n)
    X, y = np.asarray(X), np.asarray(y)
    for k in range(n // batch_size if drop_remainder else n // batch_size + 1):
        index = order[k * batch_size:(k + 1) * batch_size]
        yield X[index], y[index]


def _shuffle_flag(rule):
    def iterate(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
        order = rng.permutation(len(X)) if rule(shuffle) else np.arange(len(X))
        yield from _batches(X, y, batch_size, order, drop_remainder)
    return iterate


def _batch_order_only(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    n = len(X)
    X, y = np.asarray(X), np.asarray(y)
    starts = list(range(0, n - n % batch_size if drop_remainder else n, batch_size))
    for start in (rng.permutation(starts) if shuffle else starts):
        yield X[start:start + batch_size], y[start:start + batch_size]


_OTHER_EPOCHS: dict[int, tuple] = {}


def _not_from_rng(rng, n, batch_size):
    """Stands in for NumPy's global state: a new order each epoch, never drawn from ``rng``.

    The orders are a function of the case alone (its rng's starting state, n, batch_size and the epoch), never
    of what ran before in the process, so the public cases render the same everywhere. Each is a real shuffle
    (not the data's order, not only within batch_size places, not whole batches moved) and unlike the epoch
    before, so the record shows "not from rng" and nothing else."""
    rng_seen, epoch, last = _OTHER_EPOCHS.get(id(rng), (None, 0, None))
    if rng_seen is not rng:  # a new case (the rng is kept referenced, so its id is not reused meanwhile)
        epoch, last = 0, None
    start = int(rng.bit_generator.state["state"]["state"])
    for attempt in itertools.count():
        order = np.random.default_rng([start, n, batch_size, epoch, attempt]).permutation(n).tolist()
        record = {"x": order, "sizes": [min(batch_size, n - first) for first in range(0, n, batch_size)]}
        local = batch_size < n and _local(record, batch_size)
        blocks = 1 < batch_size < n and _blocks(record, batch_size)
        if n < 3 or (order != last and not local and not blocks):
            break
    _OTHER_EPOCHS.clear()  # only the case in progress is remembered
    _OTHER_EPOCHS[id(rng)] = (rng, epoch + 1, order)
    return np.array(order)


ITERATOR_MISTAKES = {
    "unpaired": _unpaired,
    "always_drop": _drop(lambda drop: True),
    "never_drop": _drop(lambda drop: False),
    "same_order": _with_order(lambda rng, n, batch_size: np.random.default_rng(0).permutation(n)),
    "global_random": _with_order(_not_from_rng),
    "with_replacement": _with_order(lambda rng, n, batch_size: rng.integers(0, n, size=n)),
    "empty_batch": _empty_batch,
    "shuffled_anyway": _shuffle_flag(lambda shuffle: True),
    "never_shuffled": _shuffle_flag(lambda shuffle: False),
    "batch_order_only": _batch_order_only,
}


def _rows(n, d, offset=0.0, shape=None):
    """n distinct rows: row i holds offset + d·i, …, offset + d·i + d − 1 (as 8×8 pixels hold their numbers)."""
    X = offset + np.arange(n * d, dtype=float).reshape(n, d)
    return X.reshape((n, *shape)) if shape else X


def _labels(n, rng=None, width=None):
    """n distinct labels: a permutation of 0…n−1 (or of rows of ``width`` ints)."""
    labels = np.arange(n) if rng is None else rng.permutation(n)
    return np.stack([labels, labels % 3], axis=1) if width else labels.astype(np.int64)


def _generic(report) -> bool:
    """A shuffled record shows nothing a mistake would show by chance (same order, blocks, a local shuffle)."""
    features = batch_features(report)
    return not (features["same_order"] or features["blocks"] or features["local"])


def _telling(case):
    """The case with only the mistakes whose record shows something else than the reference's (batch_features)."""
    expected = batch_features(case.expected)
    return replace(case, wrong={k: v for k, v in case.wrong.items() if batch_features(v) != expected})


def _recorded(key, iterate):
    """The probe's record of a mistake. same_order's leaves out which epochs drew from rng: the same order every
    epoch is that one mistake whether no epoch drew (a new generator at each call) or only the first did (an order
    drawn once and kept, which a cache kept from an earlier case may also serve without drawing)."""
    if key != "same_order":
        return functools.partial(batch_rows, iterate)

    def record(*args, **kwargs):
        report = batch_rows(iterate, *args, **kwargs)
        del report["rng_used"]
        return report
    return record


def _iterator_case(X, y, batch_size, seed, shuffle=None, drop_remainder=None, what=""):
    options = {k: v for k, v in (("shuffle", shuffle), ("drop_remainder", drop_remainder)) if v is not None}
    for attempt in range(20):
        if shuffle is False or _generic(batch_rows(iterate_batches, X, y, batch_size, seed + attempt, **options)):
            break
    seed += attempt
    settings = ", ".join(f"{k} = {v}" for k, v in options.items()) or "shuffle and drop_remainder at their defaults"
    label = (f"{what or f'X of shape {np.shape(X)}'}, y = {len(y)} distinct labels, batch_size = {batch_size}, "
             f"rng = np.random.default_rng({seed}), {settings}; three epochs with the same rng")
    return _telling(build_case(label, (X, y, batch_size, seed), lambda *a, **k: batch_rows(iterate_batches, *a, **k),
                               {key: _recorded(key, fn) for key, fn in ITERATOR_MISTAKES.items()},
                               options))


# adam_update -------------------------------------------------------------------------

def adam_update(w, g, m, v, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    w, g, m, v = _f(w), _f(g), _f(m), _f(v)
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g ** 2
    step = learning_rate * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - step * m / (np.sqrt(v) + epsilon), m, v


def _adam_with(*, correct=True, textbook=False, inside=False, square=True, t_shift=0, swap=False, sign=-1.0):
    def update(w, g, m, v, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        w, g, m, v = _f(w), _f(g), _f(m), _f(v)
        b1, b2 = (beta_2, beta_1) if swap else (beta_1, beta_2)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * (g ** 2 if square else g)
        t = t + t_shift
        c1, c2 = (1 - b1 ** t, 1 - b2 ** t) if correct else (1.0, 1.0)
        if textbook:
            step = (m / c1) / (np.sqrt(v / c2) + epsilon)
        elif inside:
            step = np.sqrt(c2) / c1 * m / np.sqrt(v + epsilon)
        else:
            step = np.sqrt(c2) / c1 * m / (np.sqrt(v) + epsilon)
        return w + sign * learning_rate * step, m, v
    return update


ADAM_MISTAKES = {
    "no_bias_correction": _adam_with(correct=False),
    "textbook_epsilon": _adam_with(textbook=True),
    "epsilon_inside_sqrt": _adam_with(inside=True),
    "gradient_not_squared": _adam_with(square=False),
    "zero_based_t": _adam_with(t_shift=1),
    "betas_swapped": _adam_with(swap=True),
    "adam_ascent": _adam_with(sign=1.0),
}


def _adam_case(w, g, m, v, t, label=None, as_lists=False, **hyper):
    label = label or (f"w = {_text(w)}, g = {_text(g)}, m = {_text(m)}, v = {_text(v)}, t = {t}"
                      + "".join(f", {k} = {val:g}" for k, val in hyper.items())
                      + (" (plain lists)" if as_lists else ""))
    args = tuple(np.asarray(a, dtype=float).tolist() if as_lists else np.asarray(a, dtype=float)
                 for a in (w, g, m, v)) + (t,)
    return build_case(label, args, adam_update, ADAM_MISTAKES, hyper)


# softmax_mlp_gradients ---------------------------------------------------------------

def _log_softmax(z):
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def _forward(X, labels, W1, b1, W2, b2):
    """The inputs as float64 (labels as ints), and the pass through the network: (X, labels, W2, z1, h, z)."""
    X, W1, b1, W2, b2 = (_f(a) for a in (X, W1, b1, W2, b2))
    z1 = X @ W1 + b1
    h = np.maximum(z1, 0)
    return X, np.asarray(labels, dtype=int), W2, z1, h, h @ W2 + b2


def softmax_mlp_gradients(X, labels, W1, b1, W2, b2):
    X, labels, W2, z1, h, z = _forward(X, labels, W1, b1, W2, b2)
    n = len(X)
    log_p = _log_softmax(z)
    loss = float(-np.mean(log_p[np.arange(n), labels]))
    delta = np.exp(log_p)
    delta[np.arange(n), labels] -= 1
    delta /= n
    delta1 = (delta @ W2.T) * (z1 > 0)
    return loss, X.T @ delta1, delta1.sum(axis=0), h.T @ delta, delta.sum(axis=0)


def _mlp_with(slip):
    def gradients(X, labels, W1, b1, W2, b2):
        X, labels, W2, z1, h, z = _forward(X, labels, W1, b1, W2, b2)
        n, rows = len(X), np.arange(len(X))
        if slip == "unstable_softmax":
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(e.sum(axis=1)) - z[rows, labels]))
        else:
            log_p = _log_softmax(z)
            p = np.exp(log_p)
            loss = float(-np.mean(log_p[rows, labels]) * (n if slip == "loss_summed" else 1))
        delta = p.copy()
        delta[rows, labels] -= 1
        delta = delta / (1 if slip == "mlp_no_n" else n) * (-1 if slip == "mlp_sign" else 1)
        mask = {"relu_at_zero": z1 >= 0, "no_relu_derivative": 1.0}.get(slip, z1 > 0)
        delta1 = (delta @ W2.T) * mask
        reduce = (lambda a: a.mean(axis=0)) if slip == "bias_mean" else (lambda a: a.sum(axis=0))
        return loss, X.T @ delta1, reduce(delta1), h.T @ delta, reduce(delta)
    return gradients


MLP_MISTAKES = {key: _mlp_with(key) for key in (
    "mlp_no_n", "relu_at_zero", "no_relu_derivative", "mlp_sign", "unstable_softmax", "bias_mean", "loss_summed")}


def _mlp_case(X, labels, W1, b1, W2, b2, label, as_lists=False):
    args = (np.asarray(X, dtype=float), np.asarray(labels, dtype=np.int64)) + tuple(
        np.asarray(a, dtype=float) for a in (W1, b1, W2, b2))
    if as_lists:
        args = (args[0].tolist(), args[1].tolist()) + args[2:]
    return build_case(label, args, softmax_mlp_gradients, MLP_MISTAKES)


def _quarters(rng, shape, low=-1.0, high=1.0):
    """Multiples of 1/4: sums of their products are exact, so a pre-activation can be exactly 0."""
    return np.round(rng.uniform(low, high, size=shape) * 4) / 4


def _with_zero_preactivations(rng, X, W1, b1):
    """b1 set so that some pre-activations X·W1 + b1 are exactly 0 (ReLU's kink)."""
    b1 = b1.copy()
    for j in rng.choice(W1.shape[1], size=min(2, W1.shape[1]), replace=False):
        b1[j] = -(X[0] @ W1[:, j])
    return b1


# accuracy, confusion_matrix, most_confused_pair --------------------------------------

def accuracy(labels, scores):
    return float(np.mean(np.argmax(_f(scores), axis=1) == np.asarray(labels)))


def _last_argmax(scores):
    scores = _f(scores)
    return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)


ACCURACY_MISTAKES = {
    "percent": lambda labels, scores: 100 * accuracy(labels, scores),
    "count": lambda labels, scores: int(np.sum(np.argmax(_f(scores), axis=1) == np.asarray(labels))),
    "error_rate": lambda labels, scores: 1 - accuracy(labels, scores),
    "argmax_axis0": lambda labels, scores: float(np.mean(np.argmax(_f(scores), axis=0) == np.asarray(labels))),
    "tie_last": lambda labels, scores: float(np.mean(_last_argmax(scores) == np.asarray(labels))),
}


def _accuracy_case(labels, scores, label=None):
    label = label or f"labels = {list(int(i) for i in labels)}, scores = {_text(scores)}"
    args = (labels, scores) if isinstance(scores, list) else (np.asarray(labels, dtype=np.int64), _f(scores))
    return build_case(label, args, accuracy, ACCURACY_MISTAKES)


def confusion_matrix(labels, predicted, n_classes):
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)):
        counts[t, p] += 1
    return counts


def _fancy(labels, predicted, n_classes):
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    counts[np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)] += 1
    return counts


CONFUSION_MISTAKES = {
    "transposed": lambda labels, predicted, k: confusion_matrix(labels, predicted, k).T,
    "fancy_increment": _fancy,
    "size_from_labels": lambda labels, predicted, k: confusion_matrix(
        labels, predicted, int(max(np.max(labels), np.max(predicted))) + 1),
    "row_normalized": lambda labels, predicted, k: confusion_matrix(labels, predicted, k) / np.maximum(
        confusion_matrix(labels, predicted, k).sum(axis=1, keepdims=True), 1),
}


def _confusion_case(labels, predicted, n_classes, label=None):
    label = label or f"labels = {list(int(i) for i in labels)}, predicted = {list(int(i) for i in predicted)}, " \
                     f"n_classes = {n_classes}"
    args = (labels, predicted, n_classes) if isinstance(labels, list) else (
        np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64), n_classes)
    return build_case(label, args, confusion_matrix, CONFUSION_MISTAKES)


def _off_diagonal(cm):
    counts = np.array(cm, dtype=float)
    np.fill_diagonal(counts, -np.inf)
    return counts


def most_confused_pair(cm):
    counts = _off_diagonal(cm)
    true, predicted = np.unravel_index(np.argmax(counts), counts.shape)
    return int(true), int(predicted)


def _tie_last(cm):
    counts = _off_diagonal(cm)
    flat = counts.size - 1 - int(np.argmax(counts.ravel()[::-1]))
    true, predicted = np.unravel_index(flat, counts.shape)
    return int(true), int(predicted)


def _symmetric(cm):
    counts = np.array(cm, dtype=float)
    both = np.triu(counts + counts.T, k=1)
    both[np.tril_indices(len(counts))] = -np.inf
    i, j = np.unravel_index(np.argmax(both), both.shape)
    return int(i), int(j)


PAIR_MISTAKES = {
    "diagonal_included": lambda cm: tuple(int(i) for i in np.unravel_index(np.argmax(np.asarray(cm)),
                                                                         np.shape(cm))),
    "pair_swapped": lambda cm: most_confused_pair(cm)[::-1],
    "pair_tie_last": _tie_last,
    "flat_index": lambda cm: int(np.argmax(_off_diagonal(cm))),
    "symmetric": _symmetric,
}


def _pair_case(cm, label=None):
    label = label or f"cm = {_text(cm)}"
    args = (cm,) if isinstance(cm, list) else (np.asarray(cm, dtype=np.int64),)
    return build_case(label, args, most_confused_pair, PAIR_MISTAKES)


# keras_train (Keras) -----------------------------------------------------------------
# The trusted run is NumPy doing what Keras does: the network's forward and backward pass are
# softmax_mlp_gradients's; Keras's Adam (keras/src/optimizers/adam.py) updates m += (g − m)(1 − β₁) and
# v += (g² − v)(1 − β₂) with the betas as float64, but forms β₁ᵗ and β₂ᵗ from ops.cast(beta, float64) of
# a Python float, which TensorFlow converts through float32 (0.999 → 0.99900001287); fit's loss for an
# epoch is the mean of its batches' losses weighted by their sizes, each taken before that batch's step.

def _float32(value: float) -> float:
    return float(np.float32(value))


def _probability_gradients(X, labels, W1, b1, W2, b2):
    """SparseCategoricalCrossentropy(from_logits=False) on the logits: Keras clips them to [1e-7, 1 − 1e-7],
    takes their log and applies the softmax cross-entropy to that (keras/src/backend/tensorflow/nn.py)."""
    X, labels, W2, z1, h, z = _forward(X, labels, W1, b1, W2, b2)
    n, rows = len(X), np.arange(len(X))
    eps = 1e-7
    clipped = np.clip(z, eps, 1 - eps)
    log_p = _log_softmax(np.log(clipped))
    loss = float(-np.mean(log_p[rows, labels]))
    delta = np.exp(log_p)
    delta[rows, labels] -= 1
    delta = delta / n / clipped * ((z >= eps) & (z <= 1 - eps))
    delta1 = (delta @ W2.T) * (z1 > 0)
    return loss, X.T @ delta1, delta1.sum(axis=0), h.T @ delta, delta.sum(axis=0)


def _keras_adam_run(X, y, weights, orders, batch_size, learning_rate, *, rounded_betas=True, reset=False,
                    drop_remainder=False, gradients=softmax_mlp_gradients):
    """(weights, losses) of fit over the epochs' orders, with Keras's Adam (β = 0.9, 0.999, ε = 1e-7)."""
    X, y = _f(X), np.asarray(y, dtype=int)
    beta_1, beta_2 = 0.9, 0.999
    power_1, power_2 = (_float32(beta_1), _float32(beta_2)) if rounded_betas else (beta_1, beta_2)
    params = [_f(w).copy() for w in weights]
    m, v, t, losses = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params], 0, []
    for order in orders:
        if reset:
            m, v, t = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params], 0
        order = np.asarray(order, dtype=int)
        stop = len(order) - len(order) % batch_size if drop_remainder else len(order)
        total, seen = 0.0, 0
        for start in range(0, stop, batch_size):
            rows = order[start:start + batch_size]
            loss, *grads = gradients(X[rows], y[rows], *params)
            total, seen, t = total + loss * len(rows), seen + len(rows), t + 1
            alpha = learning_rate * np.sqrt(1 - power_2 ** t) / (1 - power_1 ** t)
            for i, g in enumerate(grads):
                m[i] = m[i] + (g - m[i]) * (1 - beta_1)
                v[i] = v[i] + (g * g - v[i]) * (1 - beta_2)
                params[i] = params[i] - m[i] * alpha / (np.sqrt(v[i]) + 1e-7)
        losses.append(total / seen)
    return tuple(params), np.array(losses)


def keras_train(X, y, weights, orders, batch_size, learning_rate):
    return _keras_adam_run(X, y, weights, orders, batch_size, learning_rate)


def _first_order_every_epoch(X, y, weights, orders, batch_size, learning_rate):
    return _keras_adam_run(X, y, weights, [orders[0]] * len(orders), batch_size, learning_rate)


def _data_order(X, y, weights, orders, batch_size, learning_rate):
    return _keras_adam_run(X, y, weights, [np.arange(len(X))] * len(orders), batch_size, learning_rate)


KERAS_MISTAKES = {
    "default_learning_rate": lambda X, y, w, o, b, lr: _keras_adam_run(X, y, w, o, b, 0.001),
    "no_from_logits": lambda *args: _keras_adam_run(*args, gradients=_probability_gradients),
    "first_order_only": _first_order_every_epoch,
    "data_order": _data_order,
    "optimizer_per_epoch": lambda *args: _keras_adam_run(*args, reset=True),
    "dropped_last_batch": lambda *args: _keras_adam_run(*args, drop_remainder=True),
}

KERAS_ALTERNATIVES = {
    # Adam's formula with β₁ᵗ, β₂ᵗ in float64 (betas passed as np.float64, or an Adam of one's own): 6e-6 apart
    "float64 powers of the betas": lambda *args: _keras_adam_run(*args, rounded_betas=False),
}


def _keras_case(X, y, weights, orders, batch_size, learning_rate, what):
    n, d = np.shape(X)
    hidden, classes = np.shape(weights[2])
    label = (f"{what}: a {d}-{hidden}-{classes} network, {len(orders)} epochs over {n} examples in batches of "
             f"{batch_size}, learning_rate = {learning_rate:g}")
    args = (_f(X), np.asarray(y, dtype=np.int64), [_f(w) for w in weights],
            [np.asarray(o, dtype=np.int64) for o in orders], batch_size, learning_rate)
    return build_case(label, args, keras_train, KERAS_MISTAKES, alternatives=KERAS_ALTERNATIVES)


def _keras_weights(rng, d, hidden, classes):
    return [rng.normal(0, np.sqrt(2 / d), (d, hidden)), np.round(rng.normal(0, 0.1, hidden), 3),
            rng.normal(0, np.sqrt(1 / hidden), (hidden, classes)), np.round(rng.normal(0, 0.1, classes), 3)]


def _orders(rng, n, epochs):
    return [rng.permutation(n) for _ in range(epochs)]


def _digit_rows(count):
    """The first ``count`` training images of the 8×8 digits (pixels in [0, 1]) and their labels."""
    from autograder import data

    digits = data.digits()
    return digits["X_train"][:count], digits["y_train"][:count]


# the cases ---------------------------------------------------------------------------

EQUIVALENT_MUTANTS = {
    # The Keras exercise's, found by `python -m autograder audit LAB --tensorflow` (not audited by default):
    "keras_train · constant · 0 → 1 · #2": "verbose=1 prints a progress bar: output only, the same training",
    "softmax_mlp_gradients · swap_arguments · np.maximum(z1, 0) → np.maximum(0, z1)": "np.maximum is symmetric in "
    "its two arguments",
}


def public_cases():
    """The course's 60,000 / 64 → 938 (937 with drop_remainder), ten examples in batches of 4, a digits-sized MLP."""
    rng = np.random.default_rng(11)
    X, W1, b1 = _quarters(rng, (4, 3)), _quarters(rng, (3, 5)), _quarters(rng, (5,), -0.5, 0.5)
    W2, b2 = _quarters(rng, (5, 3)), _quarters(rng, (3,), -0.5, 0.5)
    b1 = _with_zero_preactivations(rng, X, W1, b1)
    ties = np.array([[0.1, 0.7, 0.2], [2.0, 2.0, -1.0], [0.3, 0.3, 0.4], [5.0, 1.0, 5.0]])
    labels, predicted = [3, 8, 8, 5, 3, 8, 1, 3, 8, 5], [3, 3, 8, 5, 8, 8, 1, 8, 8, 3]
    return {
        "n_batches": [
            _n_batches_case(60_000, 64, label="the course's 60,000 examples in batches of 64"),
            _n_batches_case(60_000, 64, True, label="the course's 60,000 in batches of 64, drop_remainder = True"),
            _n_batches_case(60_000, 100),
            _n_batches_case(10, 64, True),
        ],
        "iterate_batches": [
            _iterator_case(_rows(10, 2), _labels(10), 4, 0, what="10 examples of 2 features"),
            _iterator_case(_rows(10, 2), _labels(10), 4, 0, drop_remainder=True, what="10 examples of 2 features"),
            _iterator_case(_rows(8, 2), _labels(8), 4, 1, shuffle=False, what="8 examples of 2 features"),
        ],
        "adam_update": [
            _adam_case([1.0, -2.0, 0.5], [0.5, -1.0, 0.0], np.zeros(3), np.zeros(3), 1,
                       label="the first step (t = 1) from m = v = 0, g = [0.5, −1, 0]"),
            _adam_case([0.3, -0.7], [2e-6, -1e-6], [1e-6, 0.0], [1e-12, 4e-13], 3,
                       label="tiny gradients near 1e-6 at t = 3 (where the two forms of ε differ)"),
        ],
        "softmax_mlp_gradients": [
            _mlp_case(X, [0, 2, 1, 2], W1, b1, W2, b2, "4 examples, a 3-5-3 network (two of its pre-activations "
                      "exactly 0)"),
            _mlp_case(X[:2] * 100, [1, 0], W1, b1 * 100, W2 * 10, b2 + [800.0, 0.0, 0.0], "2 examples scaled by "
                      "100, and 800 added to the first logit: logits in the hundreds"),
        ],
        "accuracy": [
            _accuracy_case([1, 0, 2, 0], ties, label="4 examples, ties between the largest scores in rows 2-4"),
            _accuracy_case([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], label="three probability rows "
                           "(a plain list)"),
        ],
        "confusion_matrix": [
            _confusion_case(labels, predicted, 10, label="ten digits: 3s and 8s confused, n_classes = 10"),
            _confusion_case([0, 1, 1], [1, 1, 0], 3),
        ],
        "most_confused_pair": [
            _pair_case([[5, 1, 0], [3, 4, 0], [0, 3, 6]], label="a 3×3 matrix, two entries tied at 3"),
            _pair_case(confusion_matrix(labels, predicted, 10), label="the ten digits' matrix above"),
        ],
        "keras_train": [
            _keras_case(*_digit_rows(10), _keras_weights(np.random.default_rng(0), 64, 4, 10),
                        _orders(np.random.default_rng(1), 10, 2), 4, 0.01, "the first 10 training digits"),
            _keras_case(_quarters(rng, (9, 3), 0.0, 1.0), [0, 1, 2, 0, 1, 2, 0, 1, 2],
                        _keras_weights(np.random.default_rng(2), 3, 5, 3), _orders(np.random.default_rng(3), 9, 3),
                        4, 0.05, "9 examples of 3 features, 3 classes"),
        ],
    }


def _hidden_iterator_cases(rng, seeds):
    n = int(rng.integers(11, 21))
    size = int(rng.choice([b for b in range(3, 6) if n % b]))
    divisible = size * int(rng.integers(3, 5))
    return [
        _iterator_case(_rows(n, 3, rng.integers(0, 50)), _labels(n, rng), size, seeds[0]),
        _iterator_case(_rows(n, 3), _labels(n, rng), size, seeds[1], shuffle=True, drop_remainder=True),
        _iterator_case(_rows(divisible, 1), _labels(divisible, rng), size, seeds[2], drop_remainder=False,
                       what=f"{divisible} examples of one feature (a multiple of the batch size)"),
        _iterator_case(_rows(n, 4, shape=(2, 2)), _labels(n, rng, width=2), size, seeds[3], shuffle=False,
                       drop_remainder=True, what=f"{n} 2×2 images with 2-column labels"),
        _iterator_case(_rows(n, 2), _labels(n, rng), size, seeds[4], shuffle=False),
        _iterator_case(_rows(size - 1, 2), _labels(size - 1, rng), size, seeds[5], drop_remainder=True,
                       what=f"{size - 1} examples, fewer than one batch"),
        _iterator_case(_rows(size + 1, 2), _labels(size + 1, rng), size + 3, seeds[5],
                       what=f"{size + 1} examples, all in one smaller batch"),
        _iterator_case(_rows(6, 2), _labels(6, rng), 1, seeds[6], what="6 examples, batches of one"),
        _iterator_case(_rows(7, 2).tolist(), _labels(7, rng).tolist(), 3, seeds[7],
                       what="plain lists: 7 rows of 2 features"),
    ]


def _hidden_adam_cases(rng):
    d = int(rng.integers(2, 5))
    w, m = np.round(rng.normal(size=d), 3), np.round(rng.normal(scale=0.1, size=d), 3)
    v = np.round(rng.uniform(0.001, 0.05, size=d), 4)
    g = np.round(rng.normal(size=d), 3)
    g[0] = 0.0
    tiny = np.round(rng.normal(size=d), 2) * 1e-6
    t = int(rng.integers(2, 9))
    return [
        _adam_case(w, g, m, v, t),
        _adam_case(w, g, np.zeros(d), np.zeros(d), 1),
        _adam_case(w, tiny, np.zeros(d), np.zeros(d), 1),
        _adam_case(w, tiny, tiny / 10, tiny ** 2 / 100, t),
        _adam_case(np.round(rng.normal(size=(2, d)), 3), np.round(rng.normal(size=(2, d)), 3),
                   np.zeros((2, d)), np.zeros((2, d)), 1, learning_rate=float(rng.choice([0.01, 0.05])),
                   beta_1=float(rng.choice([0.8, 0.5])), beta_2=float(rng.choice([0.99, 0.9])),
                   epsilon=float(rng.choice([1e-3, 1e-4]))),
        _adam_case(w, g, m, v, int(rng.integers(100, 1000))),
        _adam_case(w, g, m, v, t, as_lists=True),
    ]


def _hidden_mlp_cases(rng):
    n, d, h, k = int(rng.integers(3, 7)), int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 5))
    X, W1, b1 = _quarters(rng, (n, d)), _quarters(rng, (d, h)), _quarters(rng, (h,), -0.5, 0.5)
    W2, b2 = _quarters(rng, (h, k)), _quarters(rng, (k,), -0.5, 0.5)
    b1 = _with_zero_preactivations(rng, X, W1, b1)
    labels = rng.integers(0, k, size=n)
    W1_one = _quarters(rng, (1, h))
    return [
        _mlp_case(X, labels, W1, b1, W2, b2, f"{n} examples, a {d}-{h}-{k} network (some pre-activations exactly 0)"),
        _mlp_case(X[:1], labels[:1], W1, b1, W2, b2, f"one example, a {d}-{h}-{k} network"),
        _mlp_case(X[:, :1], labels, W1_one, _with_zero_preactivations(rng, X[:, :1], W1_one, b1), W2, b2,
                  f"{n} examples of one feature, a 1-{h}-{k} network"),
        _large_logits_case(X * 200, labels, W1, b1 * 200, W2 * 4, b2 + np.eye(k)[0] * 800, n),
        _mlp_case(X, labels, W1, b1, W2, b2, f"plain lists X and labels: {n} examples, a {d}-{h}-{k} network",
                  as_lists=True),
    ]


def _large_logits_case(X, labels, W1, b1, W2, b2, n):
    """Logits over a thousand in every row: ``exp`` overflows unless the largest logit is subtracted first.

    Every logit is raised by one amount (the softmax and the loss do not change), chosen so that each row's
    largest logit is at least 1000, whatever the draw: with logits merely in the hundreds, a draw whose largest
    is 700 (``exp`` overflows from 709.8) let the unshifted softmax pass.
    """
    z = _forward(X, labels, W1, b1, W2, b2)[-1]
    shift = max(0.0, float(np.ceil(1000 - z.max(axis=1).min())))
    return _mlp_case(X, labels, W1, b1, W2, b2 + shift,
                     f"{n} examples ×200, 800 added to the first logit and {shift:g} to every one: each example's "
                     "largest logit over a thousand")


def _square_scores(rng, k):
    """k examples of k classes, drawn until reading the classes down the columns (``argmax(axis=0)``) gives
    another accuracy than along the rows: on a square matrix that mistake raises nothing, so only its value
    can tell it."""
    while True:
        labels, square = rng.integers(0, k, size=k), np.round(rng.normal(size=(k, k)), 1)
        if accuracy(labels, square) != ACCURACY_MISTAKES["argmax_axis0"](labels, square):
            return labels, square


def _hidden_accuracy_cases(rng):
    n, k = int(rng.integers(5, 10)), int(rng.integers(3, 6))
    scores = np.round(rng.normal(size=(n, k)), 1)
    labels = rng.integers(0, k, size=n)
    tied = scores.copy()
    for row in range(min(3, n)):
        top = np.argsort(tied[row])[-2:]
        tied[row, top] = tied[row].max()
        labels[row] = top.min()  # the first of the tied: right for np.argmax, wrong for the last of them
    square_labels, square = _square_scores(rng, k)
    return [
        _accuracy_case(labels, tied),
        _accuracy_case(labels[:1], scores[:1]),
        _accuracy_case(square_labels, square, label="as many examples as classes"),
        _accuracy_case(labels.tolist(), scores.tolist(), label=f"plain lists: labels = {labels.tolist()}, "
                       f"scores = {_text(scores)}"),
        _accuracy_case(labels, np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)),
    ]


def _hidden_confusion_cases(rng):
    k = int(rng.integers(3, 7))
    n = int(rng.integers(12, 30))
    labels = rng.integers(0, k - 1, size=n)  # the last class never occurs
    predicted = np.where(rng.random(n) < 0.6, labels, rng.integers(0, k - 1, size=n))
    predicted[:3], labels[:3] = 1, 0  # a (true 0, predicted 1) pair three times
    return [
        _confusion_case(labels, predicted, k),
        _confusion_case(labels[:1], predicted[:1], k),
        _confusion_case(labels.tolist(), predicted.tolist(), k),
        _confusion_case(predicted, labels, k),
    ]


def _hidden_pair_cases(rng):
    k = int(rng.integers(3, 7))
    cm = rng.integers(0, 6, size=(k, k))
    np.fill_diagonal(cm, rng.integers(20, 40, size=k))
    i, j = rng.choice(k, size=2, replace=False)
    cm[i, j] = cm[j, i] = 9  # a tie between a pair and its mirror
    lower = rng.integers(0, 8, size=(k, k))
    np.fill_diagonal(lower, 50)
    lower[k - 1, 0], lower[0, k - 1] = 12, 7  # the lone largest below the diagonal; its pair's sum largest
    lower[1, k - 1] = 8 if k > 2 else 0
    return [_pair_case(cm), _pair_case(lower), _pair_case(np.array([[3, 0], [0, 4]])),
            _pair_case(lower.tolist(), label=f"a plain list: cm = {_text(lower)}")]


def _hidden_keras_cases(rng):
    cases = []
    for what in ("random inputs", "random inputs, another draw"):
        n, d = int(rng.integers(9, 15)), int(rng.integers(2, 6))
        hidden, classes, epochs = int(rng.integers(3, 7)), int(rng.integers(2, 5)), int(rng.integers(2, 4))
        batch_size = int(rng.choice([b for b in range(3, 6) if n % b]))
        X, y = np.round(rng.uniform(0, 1, (n, d)), 3), rng.integers(0, classes, n)
        cases.append(_keras_case(X, y, _keras_weights(rng, d, hidden, classes), _orders(rng, n, epochs), batch_size,
                                 float(np.round(rng.uniform(0.005, 0.05), 4)), what))
    return cases


def hidden_cases(rng):
    """Inputs drawn from ``rng``: other sizes, one feature, images, a batch larger than the data, ties, huge logits."""
    seeds = [int(s) for s in rng.integers(0, 2**31, size=10)]
    big = int(rng.integers(1_000, 100_000))
    size = int(rng.choice([16, 32, 64, 128]))
    size = size + 1 if big % size == 0 else size
    divisor = int(rng.choice([10, 25, 50]))
    return {
        "n_batches": [
            _n_batches_case(big, size), _n_batches_case(big, size, True), _n_batches_case(big, size, False),
            _n_batches_case(big * divisor, divisor), _n_batches_case(big * divisor, divisor, True),
            _n_batches_case(size - 1, size, True), _n_batches_case(size - 1, size), _n_batches_case(1, 1, True),
        ],
        "iterate_batches": _hidden_iterator_cases(rng, seeds),
        "adam_update": _hidden_adam_cases(rng),
        "softmax_mlp_gradients": _hidden_mlp_cases(rng),
        "accuracy": _hidden_accuracy_cases(rng),
        "confusion_matrix": _hidden_confusion_cases(rng),
        "most_confused_pair": _hidden_pair_cases(rng),
        "keras_train": _hidden_keras_cases(rng),
    }
