"""Lab 02's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder.hidden import lab02 as ref

LAB = "02_gradient_checking"


# correct but different ---------------------------------------------------------------

def gradient_with_eye(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


def gradient_restore_in_place(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    for i in range(len(x)):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def descent_preallocated(grad, x0, learning_rate, num_steps):
    xs = np.zeros((num_steps + 1, len(x0)))
    xs[0] = x0
    for t in range(num_steps):
        xs[t + 1] = xs[t] - learning_rate * grad(xs[t])
    return xs


def descent_list_of_new_arrays(grad, x0, learning_rate, num_steps):
    x = np.asarray(x0, dtype=float)
    xs = [x]
    for _ in range(num_steps):
        x = x - learning_rate * grad(x)
        xs.append(x)
    return np.stack(xs)


def relative_sum_denominator(a, b, eps=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)


def relative_loop(a, b, eps=1e-12):
    """A loop over zip(a, b): right for sequences, but two plain numbers (0-d, as the docstring allows) raise."""
    return np.array([abs(x - y) / max(abs(x), abs(y), eps) for x, y in zip(a, b)])


def relative_loop_any_shape(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    flat = [abs(x - y) / max(abs(x), abs(y), eps) for x, y in zip(a.ravel(), b.ravel())]
    return np.array(flat).reshape(a.shape)


def check_with_sum_convention(f, grad, x, h=1e-5):
    errors = relative_sum_denominator(grad(np.array(x, float)), ref.numerical_gradient(f, x, h))
    return errors.max(), errors.argmax()


def check_cs231n_rel_error(f, grad, x, h=1e-5):
    """CS231n's rel_error, per entry: |a − b| / max(1e-8, |a| + |b|), the convention the notes accept."""
    a, b = grad(np.array(x, float)), ref.numerical_gradient(f, x, h)
    errors = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    return float(np.max(errors)), int(np.argmax(errors))


def check_loop(f, grad, x, h=1e-5):
    x = [float(v) for v in x]
    analytic, numeric = grad(np.array(x)), ref.numerical_gradient(f, np.array(x), h)
    worst, largest = 0, -1.0
    for i, (a, b) in enumerate(zip(analytic, numeric)):
        error = abs(a - b) / max(abs(a), abs(b), 1e-12)
        if error > largest:
            worst, largest = i, error
    return largest, worst


def check_with_a_fixed_weighting(f, grad, x, h=1e-5):
    """Both gradients of w·f for one drawn w: the relative error does not change."""
    w = np.random.default_rng().uniform(0.5, 1.5)
    x = np.array(x, float)
    errors = ref.relative_error(w * grad(x), ref.numerical_gradient(lambda z: w * f(z), x, h))
    return float(errors.max()), int(errors.argmax())


CORRECT = [
    ("numerical_gradient", ref.numerical_gradient),
    ("numerical_gradient", gradient_with_eye),
    ("numerical_gradient", gradient_restore_in_place),
    ("gradient_descent", ref.gradient_descent),
    ("gradient_descent", descent_preallocated),
    ("gradient_descent", descent_list_of_new_arrays),
    ("relative_error", ref.relative_error),
    ("relative_error", relative_sum_denominator),
    ("relative_error", relative_loop_any_shape),
    ("gradient_check", ref.gradient_check),
    ("gradient_check", check_with_sum_convention),
    ("gradient_check", check_cs231n_rel_error),
    ("gradient_check", check_loop),
    ("gradient_check", check_with_a_fixed_weighting),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# real mistakes -------------------------------------------------------------------------

def gradient_mutates_input(f, x, h=1e-5):
    grad = np.zeros(len(x))
    for i in range(len(x)):
        x[i] += h
        up = f(x)
        x[i] -= 2 * h
        down = f(x)
        grad[i] = (up - down) / (2 * h)
    return grad


def descent_mutates_start(grad, x0, learning_rate, num_steps):
    xs = [x0.copy()]
    for _ in range(num_steps):
        x0 -= learning_rate * grad(x0)
        xs.append(x0.copy())
    return np.array(xs)


def descent_wrong_shape(grad, x0, learning_rate, num_steps):
    return ref.gradient_descent(grad, x0, learning_rate, num_steps).T


def gradient_float32(f, x, h=1e-5):
    x = np.array(x, dtype=np.float32)
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def descent_float32(grad, x0, learning_rate, num_steps):
    return ref.gradient_descent(grad, x0, learning_rate, num_steps).astype(np.float32)


def relative_float32(a, b, eps=1e-12):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), np.float32(eps))


def check_mean_of_errors(f, grad, x, h=1e-5):
    errors = ref.relative_error(grad(np.array(x, float)), ref.numerical_gradient(f, x, h))
    return float(errors.sum() / len(errors)), int(np.argmax(errors))


def check_mean_cs231n(f, grad, x, h=1e-5):
    a, b = grad(np.array(x, float)), ref.numerical_gradient(f, x, h)
    errors = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    return float(np.mean(errors)), int(np.argmax(errors))


def check_fresh_weighting_in_the_loss(f, grad, x, h=1e-5):
    """A new random weight every time the loss is called: the numerical gradient is noise."""
    rng = np.random.default_rng()
    x = np.array(x, float)
    errors = ref.relative_error(grad(x), ref.numerical_gradient(lambda z: rng.uniform(0.5, 1.5) * f(z), x, h))
    return float(errors.max()), int(errors.argmax())


WRONG = [
    ("numerical_gradient", ref.NUMERICAL_MISTAKES["forward"], "forward difference"),
    ("numerical_gradient", ref.NUMERICAL_MISTAKES["all_at_once"], "nudged all coordinates at once"),
    ("numerical_gradient", ref.NUMERICAL_MISTAKES["no_half"], "twice too large"),
    ("numerical_gradient", ref.NUMERICAL_MISTAKES["integer_input"], "x arrived as integers"),
    ("numerical_gradient", gradient_mutates_input, "changed its input argument 2 in place"),
    ("gradient_descent", ref.DESCENT_MISTAKES["ascent"], "go uphill"),
    ("gradient_descent", ref.DESCENT_MISTAKES["no_learning_rate"], "multiply the gradient by the learning rate"),
    ("gradient_descent", ref.DESCENT_MISTAKES["missing_start"], "first row must be x0"),
    ("gradient_descent", ref.DESCENT_MISTAKES["extra_step"], "One step too many"),
    ("gradient_descent", ref.DESCENT_MISTAKES["aliased"], "same array object"),
    ("gradient_descent", ref.DESCENT_MISTAKES["sequential"], "one after another"),
    ("gradient_descent", descent_mutates_start, "changed its input argument 2 in place"),
    ("gradient_descent", descent_wrong_shape, "expected shape (11, 2)"),
    ("relative_error", ref.RELATIVE_MISTAKES["absolute"], "absolute error"),
    ("relative_error", ref.RELATIVE_MISTAKES["no_eps"], "not NaN"),
    ("relative_error", ref.RELATIVE_MISTAKES["no_abs"], "never negative"),
    ("gradient_check", ref.CHECK_MISTAKES["argmin"], "*smallest* error"),
    ("gradient_check", ref.CHECK_MISTAKES["absolute"], "not the plain difference"),
    ("gradient_check", ref.CHECK_MISTAKES["mean"], "not their mean"),
    ("numerical_gradient", gradient_float32, "the docstring promises float64"),
    ("gradient_descent", descent_float32, "the docstring promises float64"),
    ("relative_error", relative_float32, "the docstring promises float64"),
    ("relative_error", relative_loop, "'float' object is not iterable"),
    ("gradient_check", check_mean_of_errors, "not their mean"),
    ("gradient_check", check_fresh_weighting_in_the_loss, "this gradient is correct, so max_error should be below"),
]


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


def test_public_cases_are_the_published_numbers():
    from autograder.checks import load_lab

    cases = load_lab(LAB).public_cases()
    trajectory = cases["gradient_descent"][0].expected
    np.testing.assert_allclose(trajectory[:3], [[3, 2], [2.4, 1.2], [1.92, 0.72]])
    np.testing.assert_allclose(trajectory[9], [0.403, 0.020], atol=5e-4)
    np.testing.assert_allclose(trajectory[10], [0.322, 0.012], atol=5e-4)
    assert cases["gradient_check"][1].expected[1] == 1


@pytest.mark.parametrize("fn", [check_mean_of_errors, check_mean_cs231n])
@pytest.mark.parametrize("seed", [31, 32, 33, 34])
def test_another_error_measure_fails_the_hidden_cases_of_every_secret(fn, seed):
    """The measurable case (an entry off by 1 + δ, δ < 1e-6) is in every draw: the value is compared."""
    from autograder import calls
    from autograder.checks import load_lab

    lab = load_lab(LAB)
    cases = lab.hidden_cases(seed)["gradient_check"]
    outcomes = (calls.run_case(fn, case) for case in cases)
    assert calls.first_failure(lab, lab.exercise("gradient_check"), cases, outcomes) is not None


def test_a_fresh_weighting_is_told_no_invented_cause():
    feedback = first_failure(LAB, "gradient_check", check_fresh_weighting_in_the_loss)
    from autograder.checks import load_lab

    messages = load_lab(LAB).exercise("gradient_check").messages.values()
    assert not any(message.split(":")[0] in feedback for message in messages)


HIDDEN_MISTAKES = [("relative_error", key, fn) for key, fn in ref.RELATIVE_MISTAKES.items()] + [
    ("gradient_check", key, fn) for key, fn in ref.CHECK_MISTAKES.items()]


@pytest.mark.parametrize(("exercise", "key", "fn"), HIDDEN_MISTAKES, ids=[f"{e}-{k}" for e, k, _ in HIDDEN_MISTAKES])
def test_each_mistake_fails_the_hidden_cases_of_every_secret(exercise, key, fn):
    """Not only on some draws: dividing by |b| alone once passed the draws where no |a| exceeded |b|."""
    from autograder import calls
    from autograder.checks import load_lab

    lab = load_lab(LAB)
    missed = []
    for seed in range(8):
        cases = lab.hidden_cases(seed)[exercise]
        outcomes = (calls.run_case(fn, case) for case in cases)
        if calls.first_failure(lab, lab.exercise(exercise), cases, outcomes) is None:
            missed.append(seed)
    assert missed == []
