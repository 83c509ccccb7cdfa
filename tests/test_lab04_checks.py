"""Lab 04's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder.checks import load_lab
from autograder.hidden import lab04 as ref

LAB = "04_backpropagation"


# correct but different ---------------------------------------------------------------

def forward_unpacked(w, x):
    w1, w2, w3, w4, w5 = w
    x1, x2 = x
    h1 = (x1 + w1 * x2) ** 2
    h2 = w2 * x1 * x2
    return h1, h2, w3 * h1 + w4 * h2 + w5


def forward_as_list(w, x):
    return list(ref.forward(w, x))


def forward_as_array(w, x):
    return np.array(ref.forward(w, x))


def forward_float32(w, x):
    w, x = np.asarray(w, np.float32), np.asarray(x, np.float32)
    h1 = (x[0] + w[0] * x[1]) ** 2
    h2 = w[1] * x[0] * x[1]
    return h1, h2, w[2] * h1 + w[3] * h2 + w[4]


def error_vectorised(w, X, y):
    X = np.asarray(X, float)
    h1 = (X[:, 0] + w[0] * X[:, 1]) ** 2
    y_hat = w[2] * h1 + w[3] * w[1] * X[:, 0] * X[:, 1] + w[4]
    return np.sum((y_hat - y) ** 2)


def error_float32(w, X, y):
    return np.float32(error_vectorised(np.asarray(w, np.float32), np.asarray(X, np.float32), np.asarray(y, np.float32)))


def backward_like_the_seed(w, x, y):
    h1, h2, y_hat = forward_unpacked(w, x)
    d_error_d_pred = 2 * (y_hat - y)
    return [d_error_d_pred * w[2] * 2 * (x[0] + w[0] * x[1]) * x[1], d_error_d_pred * w[3] * x[0] * x[1],
            d_error_d_pred * h1, d_error_d_pred * h2, d_error_d_pred]


def backward_local_gradients(w, x, y):
    h1, h2, y_hat = ref.forward(w, x)
    dy_dw = np.array([w[2], w[3], h1, h2, 1.0])  # ∂ŷ/∂(h1, h2, w3, w4, w5)
    dh_dw = np.array([2 * (x[0] + w[0] * x[1]) * x[1], x[0] * x[1], 1.0, 1.0, 1.0])
    return 2 * (y_hat - y) * dy_dw * dh_dw


def backward_float32(w, x, y):
    return np.asarray(backward_local_gradients(np.asarray(w, np.float32), np.asarray(x, np.float32),
                                               np.float32(y)), np.float32)


def numerical_with_eye(w, X, y, h=1e-5):
    w = np.asarray(w, dtype=float)
    return np.array([(error_vectorised(w + h * e, X, y) - error_vectorised(w - h * e, X, y)) / (2 * h)
                     for e in np.eye(5)])


def numerical_restore_in_place(w, X, y, h=1e-5):
    w = np.array(w, dtype=np.float64)
    grad = []
    for i in range(5):
        old = w[i]
        w[i] = old + h
        up = ref.squared_error(w, X, y)
        w[i] = old - h
        down = ref.squared_error(w, X, y)
        w[i] = old
        grad.append((up - down) / (2 * h))
    return grad


def batch_gradient_vectorised(w, X, y):
    X = np.asarray(X, float)
    x1, x2 = X[:, 0], X[:, 1]
    inner = x1 + w[0] * x2
    h1, h2 = inner ** 2, w[1] * x1 * x2
    d = 2 * (w[2] * h1 + w[3] * h2 + w[4] - y)
    return np.array([np.sum(d * w[2] * 2 * inner * x2), np.sum(d * w[3] * x1 * x2), np.sum(d * h1),
                     np.sum(d * h2), np.sum(d)])


def batch_gradient_as_list(w, X, y):
    total = [0.0] * 5
    for x, t in zip(X, y):
        total = [a + b for a, b in zip(total, backward_like_the_seed(w, x, t))]
    return total


def online_as_list_of_arrays(w, X, y, learning_rate):
    w = np.asarray(w, dtype=float)
    path = [w]
    for x, t in zip(X, y):
        w = w - learning_rate * ref.backward(w, x, t)
        path.append(w)
    return path


def online_preallocated(w, X, y, learning_rate):
    path = np.zeros((len(X) + 1, 5))
    path[0] = w
    for i in range(len(X)):
        path[i + 1] = path[i] - learning_rate * np.asarray(backward_like_the_seed(path[i], X[i], y[i]))
    return path


def online_float32(w, X, y, learning_rate):
    w = np.asarray(w, np.float32)
    path = [w]
    for x, t in zip(np.asarray(X, np.float32), np.asarray(y, np.float32)):
        w = w - np.float32(learning_rate) * backward_float32(w, x, t)
        path.append(w)
    return np.array(path)


def batch_update_vectorised(w, X, y, learning_rate):
    return np.asarray(w, float) - learning_rate * batch_gradient_vectorised(w, X, y)


def minibatch_with_split_indices(w, X, y, learning_rate, batch_size):
    path = [np.asarray(w, dtype=float)]
    cuts = range(batch_size, len(X), batch_size)
    for X_part, y_part in zip(np.split(np.asarray(X), cuts), np.split(np.asarray(y), cuts)):
        path.append(path[-1] - learning_rate * batch_gradient_vectorised(path[-1], X_part, y_part))
    return np.array(path)


def minibatch_accumulating_loop(w, X, y, learning_rate, batch_size):
    w = np.array(w, dtype=float)
    path = [w.copy()]
    for start in range(0, len(X), batch_size):
        g = np.zeros(5)
        for i in range(start, min(start + batch_size, len(X))):
            g += ref.backward(w, X[i], y[i])
        w = w - learning_rate * g
        path.append(w.copy())
    return np.array(path)


def slips_with_isclose(w, X, y, table, tol=1e-3):
    numeric = np.array([ref.numerical_gradient(w, X[i:i + 1], y[i:i + 1]) for i in range(len(X))])
    return np.argwhere(~np.isclose(table, numeric, rtol=tol, atol=0))


def slips_with_backward(w, X, y, table, tol=1e-3):
    slips = []
    for i in range(len(X)):
        exact = ref.backward(w, X[i], y[i])
        for j in range(5):
            if abs(table[i][j] - exact[j]) > tol * max(abs(table[i][j]), abs(exact[j])):
                slips.append([i, j])
    return slips[::-1]


CORRECT = [
    ("forward", ref.forward),
    ("forward", forward_unpacked),
    ("forward", forward_as_list),
    ("forward", forward_as_array),
    ("forward", forward_float32),
    ("squared_error", ref.squared_error),
    ("squared_error", error_vectorised),
    ("squared_error", error_float32),
    ("backward", ref.backward),
    ("backward", backward_like_the_seed),
    ("backward", backward_local_gradients),
    ("numerical_gradient", ref.numerical_gradient),
    ("numerical_gradient", numerical_with_eye),
    ("numerical_gradient", numerical_restore_in_place),
    ("batch_gradient", ref.batch_gradient),
    ("batch_gradient", batch_gradient_vectorised),
    ("batch_gradient", batch_gradient_as_list),
    ("online_update", ref.online_update),
    ("online_update", online_as_list_of_arrays),
    ("online_update", online_preallocated),
    ("batch_update", ref.batch_update),
    ("batch_update", batch_update_vectorised),
    ("minibatch_update", ref.minibatch_update),
    ("minibatch_update", minibatch_with_split_indices),
    ("minibatch_update", minibatch_accumulating_loop),
    ("find_slips", ref.find_slips),
    ("find_slips", slips_with_isclose),
    ("find_slips", slips_with_backward),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# real mistakes -------------------------------------------------------------------------

def online_in_place(w, X, y, learning_rate):
    path = [w.copy()]
    for x, t in zip(X, y):
        w -= learning_rate * ref.backward(w, x, t)
        path.append(w.copy())
    return np.array(path)


def minibatch_range_short(w, X, y, learning_rate, batch_size):
    """`range(0, n - batch_size, batch_size)`: an off-by-one that loses the last mini-batch."""
    path = [np.asarray(w, float)]
    for start in range(0, len(X) - batch_size, batch_size):
        path.append(path[-1] - learning_rate * ref.batch_gradient(path[-1], X[start:start + batch_size],
                                                                 y[start:start + batch_size]))
    return np.array(path)


def slips_as_set(w, X, y, table, tol=1e-3):
    return set(ref.find_slips(w, X, y, table, tol))


MISTAKES = [
    ("forward", ref.FORWARD_MISTAKES, {
        "no_square": "not squared",
        "square_expanded": "cross term",
        "no_bias": "misses w5",
        "order": "return (h1, h2, y_hat)",
    }),
    ("squared_error", ref.ERROR_MISTAKES, {
        "mean": "*mean* of the squared errors",
        "half": "without the ½",
        "no_square": "cancel out",
        "absolute": "the absolute error",
        "root": "square root",
    }),
    ("backward", ref.BACKWARD_MISTAKES, {
        "no_factor_2": "derivative of (ŷ − y)² is 2(ŷ − y)",
        "sign": "wrong sign",
        "h1_inner": "misses the inner derivative",
        "h1_linear": "as if it were linear in w1",
        "h1_no_2": "the 2 comes from the square",
        "h2_value": "∂h2/∂w2 = x1·x2",
        "no_w3_w4": "∂ŷ/∂h1 = w3; w2 goes through h2",
        "no_w3": "∂ŷ/∂h1 = w3. Multiply by it",
        "no_w4": "∂ŷ/∂h2 = w4. Multiply by it",
    }),
    ("numerical_gradient", ref.NUMERICAL_MISTAKES, {
        "forward": "forward difference",
        "all_at_once": "nudged all five weights at once",
        "no_half": "twice too large",
        "integer_input": "w arrived as integers",
        "ignored_h": "the same whatever h is",
    }),
    ("batch_gradient", ref.BATCH_GRADIENT_MISTAKES, {
        "mean": "Averaging is the other common convention",
        "last_only": "overwritten",
    }),
    ("online_update", ref.ONLINE_MISTAKES, {
        "ascent": "uphill",
        "stale": "is the batch step, not the online one",
        "no_learning_rate": "multiply the gradient by the learning rate",
        "aliased": "changed it in place",
        "missing_start": "row 0 must be the starting w",
        "final_only": "only the final weights",
    }),
    ("batch_update", ref.BATCH_UPDATE_MISTAKES, {
        "mean": "this lab's table sums",
        "ascent": "uphill",
        "no_learning_rate": "multiply the gradient by the learning rate",
        "online": "that is the online update",
    }),
    ("minibatch_update", ref.MINIBATCH_MISTAKES, {
        "no_reset": "reset it to zeros",
        "drop_last": "dropped the last, shorter mini-batch",
        "empty_batch": "extra, empty mini-batch",
        "mean": "averaged the gradients within each mini-batch",
        "ascent": "uphill",
        "stale": "weights left by the previous mini-batch's update",
        "per_example": "Within a mini-batch the weights stay fixed",
        "missing_start": "row 0 must be the starting w",
        "array_split": "np.array_split",
    }),
    ("find_slips", ref.SLIPS_MISTAKES, {
        "one_based": "1-based",
        "transposed": "(weight, example)",
        "whole_data": "one example's gradient",
        "worst_only": "several slips",
        "no_abs": "too *small*",
        "absolute": "only rounded",
        "ignored_tol": "ignores the tol it is given",
    }),
]
WRONG = [(exercise, variants[key], message) for exercise, variants, messages in MISTAKES
         for key, message in messages.items()] + [
    ("online_update", online_in_place, "changed its input argument 1 in place"),
    # loses a full last batch too when batch_size divides n, so it is not the known drop_last: no cause, the shape
    ("minibatch_update", minibatch_range_short, "returned shape"),
    ("find_slips", slips_as_set, "returned a set object"),
]


def test_every_known_mistake_has_a_test_and_a_message():
    lab = load_lab(LAB)
    for exercise, variants, messages in MISTAKES:
        assert set(variants) == set(messages) == set(lab.exercise(exercise).messages), exercise


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


def test_a_stub_is_not_implemented():
    def forward(w, x):
        raise NotImplementedError("forward")

    assert "not implemented yet" in first_failure(LAB, "forward", forward)


# the numbers and the cases -------------------------------------------------------------

def test_public_cases_are_the_published_numbers():
    cases = load_lab(LAB).public_cases()
    assert [c.expected[2] for c in cases["forward"]] == [37, 33, 13]
    assert cases["squared_error"][0].expected == 534
    np.testing.assert_array_equal(cases["backward"][1].expected, [520, 156, 650, 312, 26])
    np.testing.assert_array_equal(cases["backward"][0].expected[0], 1520)  # the seed printed 380
    np.testing.assert_array_equal(cases["backward"][2].expected[1], 8)  # the seed printed 16
    np.testing.assert_array_equal(cases["batch_gradient"][0].expected, [2064, 316, 1636, 632, 68])
    online = cases["online_update"][0].expected
    np.testing.assert_allclose(online[1], [0.948, 1.9844, 0.935, 0.9688, -0.0026], rtol=1e-12)
    assert round(ref.forward(online[1], [3, 2])[2], 3) == 33.945
    batch = cases["batch_update"][0].expected
    np.testing.assert_allclose(batch, [0.7936, 1.9684, 0.8364, 0.9368, -0.0068], rtol=1e-12)
    np.testing.assert_allclose([ref.forward(batch, x)[2] for x in ref.SEED_X], [28.66, 21.94, 10.21], atol=5e-3)
    np.testing.assert_allclose(cases["minibatch_update"][1].expected[1], batch, rtol=1e-12)
    assert cases["find_slips"][0].expected == [(1, 0), (2, 1)]


@pytest.mark.parametrize("seed", range(40))
def test_hidden_tables_have_exactly_the_planted_slips(seed):
    for case in ref.hidden_cases(np.random.default_rng(seed))["find_slips"]:
        match = re.search(r"with (no|\d+) (?:planted )?slip", case.label)
        assert len(case.expected) == (0 if match.group(1) == "no" else int(match.group(1)))


def test_hidden_cases_are_drawn_quickly_and_differ_between_seeds():
    started = time.perf_counter()
    first, second = ref.hidden_cases(np.random.default_rng(1)), ref.hidden_cases(np.random.default_rng(2))
    assert time.perf_counter() - started < 0.5
    assert first["backward"][0].label != second["backward"][0].label


@pytest.mark.parametrize(("exercise", "implementation"), [
    ("backward", backward_float32), ("online_update", online_float32),
    ("batch_gradient", lambda w, X, y: ref.batch_gradient(w, X, y).astype(np.float32)),
    ("numerical_gradient", lambda w, X, y, h=1e-5: ref.numerical_gradient(w, X, y, h).astype(np.float32)),
    ("batch_update", lambda w, X, y, learning_rate: ref.batch_update(w, X, y, learning_rate).astype(np.float32)),
    ("minibatch_update", lambda w, X, y, learning_rate, batch_size: [
        row.astype(np.float32) for row in ref.minibatch_update(w, X, y, learning_rate, batch_size)]),
], ids=["backward", "online_update", "batch_gradient", "numerical_gradient", "batch_update", "minibatch_update"])
def test_float32_where_the_docstring_promises_float64_fails_with_its_own_message(exercise, implementation):
    assert_fails_with(LAB, exercise, implementation, "returned float32 numbers where the docstring promises float64")


def test_an_analytic_gradient_in_float32_is_not_accepted():
    """The docstring promises float64, from float64 inputs: float32 here is a cast, and a float32
    tolerance would let a numerical estimate through (issue 10 §4)."""
    assert first_failure(LAB, "backward", backward_float32) is not None


# FiveWeightNet's cases, without TensorFlow (its layers are graded in test_lab04_keras.py) ----------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_layer_reference_is_the_numpy_forward_pass_and_batch_gradient(seed):
    for case in ref.hidden_cases(np.random.default_rng(seed))["FiveWeightNet"]:
        w, X, y = case.args
        assert isinstance(w, list)  # a plain list: the case that shows Constant's float32 rounding
        np.testing.assert_allclose(case.expected["prediction"][:, 0], [ref.forward(w, x)[2] for x in X], rtol=1e-13)
        np.testing.assert_allclose(case.expected["gradient"], ref.batch_gradient(w, X, y), rtol=1e-12)


def test_every_layer_mistake_is_told_apart_by_the_public_cases():
    cases = load_lab(LAB).public_cases()["FiveWeightNet"]
    assert set(ref.LAYER_MISTAKES) == set(load_lab(LAB).exercise("FiveWeightNet").messages)
    assert all(any(key in case.wrong for case in cases) for key in ref.LAYER_MISTAKES)


def test_float32_weights_are_off_by_more_than_the_tolerance_and_a_float32_layer_is_reported_as_such():
    exercise = load_lab(LAB).exercise("FiveWeightNet")
    case = load_lab(LAB).public_cases()["FiveWeightNet"][1]
    assert exercise.compare(case.wrong["float32_weights"], case.expected, exercise) is not None
    assert "float32" in exercise.compare(case.wrong["float32_layer"], case.expected, exercise)
    assert exercise.compare(case.expected, case.expected, exercise) is None
