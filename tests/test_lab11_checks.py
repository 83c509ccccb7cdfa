"""Lab 11's checks: the reference passes, correct variants pass, known mistakes get their own message, unnamed
mistakes get no cause."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import case_ids, first_failure

from autograder.checks import load_lab
from autograder.feedback import plain
from autograder.hidden import lab11 as ref

LAB = "11_minibatches"
NUMPY_EXERCISES = [e.name for e in load_lab(LAB).exercises if e.profile == "numpy"]








def assert_fails_with(lab_id: str, exercise: str, fn, message: str) -> None:
    feedback = first_failure(lab_id, exercise, fn)
    assert feedback is not None and feedback.startswith(f"Lab 11 · {exercise}"), feedback
    assert plain(message) in feedback, feedback


# correct but different ---------------------------------------------------------------

def n_batches_ceil(n, batch_size, drop_remainder=False):
    return math.floor(n / batch_size) if drop_remainder else math.ceil(n / batch_size)


def n_batches_loop(n, batch_size, drop_remainder=False):
    count, start = 0, 0
    while start < n and (not drop_remainder or start + batch_size <= n):
        count, start = count + 1, start + batch_size
    return count


def iterate_choice(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    """rng.choice without replacement: another permutation of the same rng."""
    n = len(X)
    index = rng.choice(n, size=n, replace=False) if shuffle else np.arange(n)
    last = n // batch_size * batch_size if drop_remainder else n
    for start in range(0, last, batch_size):
        yield np.asarray(X)[index[start:start + batch_size]], np.asarray(y)[index[start:start + batch_size]]


def iterate_shuffled_copies_as_list(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    """rng.shuffle of an index array, shuffled copies of X and y, a list of batches instead of a generator."""
    index = np.arange(len(X))
    if shuffle:
        rng.shuffle(index)
    Xs, ys = np.asarray(X)[index], np.asarray(y)[index]
    batches = [(Xs[k:k + batch_size], ys[k:k + batch_size]) for k in range(0, len(Xs), batch_size)]
    if drop_remainder and batches and len(batches[-1][0]) < batch_size:
        batches.pop()
    return batches


def iterate_permuted_pairs(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    """rng.permutation of the rows of one stacked array of indices, batches as lists of rows."""
    X, y = np.asarray(X), np.asarray(y)
    order = rng.permutation(np.arange(len(X))) if shuffle else range(len(X))
    batch = []
    for i in order:
        batch.append(i)
        if len(batch) == batch_size:
            yield X[batch], y[batch]
            batch = []
    if batch and not drop_remainder:
        yield X[batch], y[batch]


def adam_paper_with_keras_epsilon(w, g, m, v, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """The paper's bias-corrected m̂ and v̂, with ε / √(1 − β₂ᵗ) added to √v̂: algebraically Keras' step."""
    g = np.asarray(g, dtype=float)
    m = beta_1 * np.asarray(m) + (1 - beta_1) * g
    v = beta_2 * np.asarray(v) + (1 - beta_2) * g ** 2
    m_hat, v_hat = m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)
    return np.asarray(w) - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon / np.sqrt(1 - beta_2 ** t)), m, v


def adam_loop(w, g, m, v, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    w, g, m, v = (np.array(a, dtype=float) for a in (w, g, m, v))
    lr_t = learning_rate * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    for i in np.ndindex(w.shape):
        m[i] = beta_1 * m[i] + (1 - beta_1) * g[i]
        v[i] = beta_2 * v[i] + (1 - beta_2) * g[i] * g[i]
        w[i] -= lr_t * m[i] / (math.sqrt(v[i]) + epsilon)
    return w, m, v


def mlp_one_hot_scipy(X, labels, W1, b1, W2, b2):
    """A one-hot matrix, scipy's logsumexp and softmax, einsum for the products."""
    from scipy.special import logsumexp, softmax

    X = np.asarray(X, dtype=float)
    n = len(X)
    y = np.eye(np.shape(W2)[1])[np.asarray(labels)]
    z1 = np.einsum("nd,dh->nh", X, W1) + b1
    h = np.where(z1 > 0, z1, 0.0)
    z = h @ W2 + b2
    loss = float(np.mean(logsumexp(z, axis=1) - np.sum(y * z, axis=1)))
    delta = (softmax(z, axis=1) - y) / n
    delta1 = delta @ np.transpose(W2) * (z1 > 0)
    return loss, np.einsum("nd,nh->dh", X, delta1), delta1.sum(0), np.einsum("nh,nk->hk", h, delta), delta.sum(0)


def mlp_per_example(X, labels, W1, b1, W2, b2):
    """One example at a time, gradients averaged at the end."""
    X = np.asarray(X, dtype=float)
    total, grads = 0.0, [np.zeros_like(np.asarray(p, dtype=float)) for p in (W1, b1, W2, b2)]
    for x, label in zip(X, labels):
        z1 = x @ W1 + b1
        h = np.maximum(z1, 0)
        z = h @ W2 + b2
        top = z.max()
        log_p = z - top - np.log(np.sum(np.exp(z - top)))
        total -= log_p[label]
        delta = np.exp(log_p)
        delta[label] -= 1
        delta1 = (W2 @ delta) * (z1 > 0)
        for grad, value in zip(grads, (np.outer(x, delta1), delta1, np.outer(h, delta), delta)):
            grad += value
    return (total / len(X), *(grad / len(X) for grad in grads))


def accuracy_loop(labels, scores):
    right = 0
    for label, row in zip(labels, scores):
        best = 0
        for j in range(1, len(row)):
            if row[j] > row[best]:
                best = j
        right += best == label
    return right / len(labels)


def accuracy_float32_probabilities(labels, scores):
    scores = np.asarray(scores, dtype=np.float32)
    return np.mean(scores.argmax(axis=-1) == np.asarray(labels)).astype(np.float32)


def confusion_bincount(labels, predicted, n_classes):
    pairs = np.asarray(labels) * n_classes + np.asarray(predicted)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confusion_sklearn(labels, predicted, n_classes):
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(labels, predicted, labels=list(range(n_classes)))


def confusion_loop_float(labels, predicted, n_classes):
    cm = np.zeros((n_classes, n_classes))
    for t, p in zip(labels, predicted):
        cm[t][p] += 1
    return cm


def pair_loop(cm):
    best, pair = -1, None
    for t, row in enumerate(cm):
        for p, count in enumerate(row):
            if t != p and count > best:
                best, pair = count, (t, p)
    return pair


def pair_masked(cm):
    cm = np.asarray(cm)
    masked = np.where(np.eye(len(cm), dtype=bool), -1, cm)
    return tuple(np.argwhere(masked == masked.max())[0])


CORRECT = [
    ("n_batches", ref.n_batches), ("n_batches", n_batches_ceil), ("n_batches", n_batches_loop),
    ("iterate_batches", ref.iterate_batches), ("iterate_batches", iterate_choice),
    ("iterate_batches", iterate_shuffled_copies_as_list), ("iterate_batches", iterate_permuted_pairs),
    ("adam_update", ref.adam_update), ("adam_update", adam_paper_with_keras_epsilon), ("adam_update", adam_loop),
    ("softmax_mlp_gradients", ref.softmax_mlp_gradients), ("softmax_mlp_gradients", mlp_one_hot_scipy),
    ("softmax_mlp_gradients", mlp_per_example),
    ("accuracy", ref.accuracy), ("accuracy", accuracy_loop), ("accuracy", accuracy_float32_probabilities),
    ("confusion_matrix", ref.confusion_matrix), ("confusion_matrix", confusion_bincount),
    ("confusion_matrix", confusion_sklearn), ("confusion_matrix", confusion_loop_float),
    ("most_confused_pair", ref.most_confused_pair), ("most_confused_pair", pair_loop),
    ("most_confused_pair", pair_masked),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementations_pass(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


def test_every_numpy_exercise_has_correct_variants_tested():
    assert {exercise for exercise, _ in CORRECT} == set(NUMPY_EXERCISES)


# known mistakes of the batch iterator, written as students write them -------------------

def iterate_two_permutations(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    X, y = np.asarray(X), np.asarray(y)
    if shuffle:
        X, y = X[rng.permutation(len(X))], y[rng.permutation(len(y))]
    for start in range(0, len(X) - (len(X) % batch_size if drop_remainder else 0), batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]


def iterate_floor(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    index = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for k in range(len(X) // batch_size):
        rows = index[k * batch_size:(k + 1) * batch_size]
        yield np.asarray(X)[rows], np.asarray(y)[rows]


def iterate_seeded_inside(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    own = np.random.default_rng(42)
    index = own.permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_remainder else len(X)
    for start in range(0, stop, batch_size):
        yield np.asarray(X)[index[start:start + batch_size]], np.asarray(y)[index[start:start + batch_size]]


def iterate_global_numpy(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    index = np.random.permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_remainder else len(X)
    for start in range(0, stop, batch_size):
        yield np.asarray(X)[index[start:start + batch_size]], np.asarray(y)[index[start:start + batch_size]]


def iterate_with_replacement(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    index = rng.choice(len(X), size=len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_remainder else len(X)
    for start in range(0, stop, batch_size):
        yield np.asarray(X)[index[start:start + batch_size]], np.asarray(y)[index[start:start + batch_size]]


def iterate_range_plus_one(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    index = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    count = len(X) // batch_size if drop_remainder else len(X) // batch_size + 1
    for k in range(count):
        yield np.asarray(X)[index[k * batch_size:(k + 1) * batch_size]], np.asarray(y)[
            index[k * batch_size:(k + 1) * batch_size]]


def iterate_shuffled_batches(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    X, y = np.asarray(X), np.asarray(y)
    stop = len(X) - len(X) % batch_size if drop_remainder else len(X)
    batches = [(X[s:s + batch_size], y[s:s + batch_size]) for s in range(0, stop, batch_size)]
    for k in (rng.permutation(len(batches)) if shuffle else range(len(batches))):
        yield batches[k]


def iterate_shuffled_once(X, y, batch_size, rng, shuffle=True, drop_remainder=False, _orders={}):  # noqa: B006
    """The permutation drawn at the first call for these data and kept in a mutable default: shuffled once."""
    key = (np.shape(X), np.asarray(X).tobytes())
    if key not in _orders:
        _orders[key] = rng.permutation(len(X))
    order = _orders[key] if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_remainder else len(X)
    for start in range(0, stop, batch_size):
        yield np.asarray(X)[order[start:start + batch_size]], np.asarray(y)[order[start:start + batch_size]]


class _ShuffledOncePerGenerator:
    """The order drawn at the first epoch of each generator and kept for its later epochs (no leak across cases)."""

    def __init__(self):
        self.rng, self.order = None, None

    def __call__(self, X, y, batch_size, rng, shuffle=True, drop_remainder=False):
        if rng is not self.rng:
            self.rng, self.order = rng, rng.permutation(len(X))
        order = self.order if shuffle else np.arange(len(X))
        stop = len(X) - len(X) % batch_size if drop_remainder else len(X)
        for start in range(0, stop, batch_size):
            yield np.asarray(X)[order[start:start + batch_size]], np.asarray(y)[order[start:start + batch_size]]


ITERATOR_MISTAKES = [
    (iterate_shuffled_once, "same_order"), (_ShuffledOncePerGenerator(), "same_order"),
    (iterate_two_permutations, "unpaired"), (iterate_floor, "always_drop"),
    (iterate_seeded_inside, "same_order"), (iterate_global_numpy, "global_random"),
    (iterate_with_replacement, "with_replacement"), (iterate_range_plus_one, "empty_batch"),
    (iterate_shuffled_batches, "batch_order_only"),
    *[(fn, key) for key, fn in ref.ITERATOR_MISTAKES.items()],
]


@pytest.mark.parametrize(("implementation", "key"), ITERATOR_MISTAKES,
                         ids=[f"{getattr(fn, '__name__', 'ref')}-{key}" for fn, key in ITERATOR_MISTAKES])
def test_each_iterator_mistake_gets_exactly_its_own_message(implementation, key):
    np.random.seed(0)  # iterate_global_numpy draws from NumPy's global state: the same draws in every run
    messages = load_lab(LAB).exercise("iterate_batches").messages
    feedback = first_failure(LAB, "iterate_batches", implementation)
    assert feedback is not None and feedback.startswith("Lab 11 · iterate_batches"), feedback
    assert plain(messages[key]) in feedback
    assert [k for k, m in messages.items() if k != key and plain(m) in feedback] == []


@pytest.mark.parametrize("implementation", [iterate_shuffled_once, _ShuffledOncePerGenerator(),
                                            iterate_seeded_inside], ids=["cached", "per_generator", "new_generator"])
@pytest.mark.parametrize("seeds", [(3, 4, 5), (6, 7, 8)], ids=["secrets-3-5", "secrets-6-8"])
def test_one_order_for_every_epoch_is_named_by_what_the_record_shows(implementation, seeds):
    """Shuffled once and kept, or a new generator at each call: the same order every epoch, one message naming both
    (it was "you made a new generator" for a shuffle drawn once from rng)."""
    messages = load_lab(LAB).exercise("iterate_batches").messages
    feedback = first_failure(LAB, "iterate_batches", implementation, seeds=seeds)
    assert feedback is not None and plain(messages["same_order"]) in feedback, feedback


def test_shuffling_the_callers_arrays_in_place_is_reported():
    def in_place(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
        if shuffle:
            index = rng.permutation(len(X))
            X[:], y[:] = X[index], y[index]
        for start in range(0, len(X) - (len(X) % batch_size if drop_remainder else 0), batch_size):
            yield X[start:start + batch_size], y[start:start + batch_size]

    assert_fails_with(LAB, "iterate_batches", in_place, "changed its input")


# mistakes nobody named ---------------------------------------------------------------

def _first_batch_only(X, y, batch_size, rng, shuffle=True, drop_remainder=False):
    index = rng.permutation(len(X))[:batch_size]
    yield np.asarray(X)[index], np.asarray(y)[index]


UNNAMED = [
    ("n_batches", lambda n, batch_size, drop_remainder=False: max(n // batch_size - 1, 0)),
    ("iterate_batches", _first_batch_only),
    ("adam_update", lambda w, g, *a, **k: tuple(np.asarray(x) * 1.01 for x in ref.adam_update(w, g, *a, **k))),
    ("softmax_mlp_gradients", lambda *args: (ref.softmax_mlp_gradients(*args)[0], *(
        0 * g for g in ref.softmax_mlp_gradients(*args)[1:]))),
    ("accuracy", lambda labels, scores: float(np.median(np.argmax(scores, axis=1) == np.asarray(labels)))),
    ("confusion_matrix", lambda labels, predicted, k: ref.confusion_matrix(labels, predicted, k) + 1),
    ("most_confused_pair", lambda cm: (0, 0)),
]


@pytest.mark.parametrize(("exercise", "implementation"), UNNAMED, ids=[row[0] for row in UNNAMED])
def test_a_mistake_nobody_named_gets_no_cause(exercise, implementation):
    feedback = first_failure(LAB, exercise, implementation)
    assert feedback is not None, "a wrong implementation passed"
    assert not any(plain(m) in feedback for m in load_lab(LAB).exercise(exercise).messages.values()), feedback


def test_the_course_numbers():
    assert (ref.n_batches(60_000, 64), ref.n_batches(60_000, 64, drop_remainder=True)) == (938, 937)


def test_the_reference_reaches_95_percent_on_the_digits_in_a_few_epochs():
    """The notebook's loop with the reference parts: 96.9 % on the 360 test images after 10 epochs (about 1 s)."""
    from autograder import data

    digits = data.digits()
    init = np.random.default_rng(0)
    params = [init.normal(0, np.sqrt(2 / 64), (64, 64)), np.zeros(64), init.normal(0, np.sqrt(1 / 64), (64, 10)),
              np.zeros(10)]
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    order, t = np.random.default_rng(0), 0
    for _ in range(10):
        for xb, yb in ref.iterate_batches(digits["X_train"], digits["y_train"], 32, order):
            _, *grads = ref.softmax_mlp_gradients(xb, yb, *params)
            t += 1
            for i, grad in enumerate(grads):
                params[i], m[i], v[i] = ref.adam_update(params[i], grad, m[i], v[i], t, learning_rate=3e-3)
    W1, b1, W2, b2 = params
    assert ref.accuracy(digits["y_test"], np.maximum(digits["X_test"] @ W1 + b1, 0) @ W2 + b2) >= 0.95
