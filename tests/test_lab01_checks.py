"""Lab 01's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder.hidden import lab01 as ref

LAB = "01_gradient_descent"


# correct but different ---------------------------------------------------------------

def central_half(f, x, h=1e-5):
    return 0.5 * (f(x + h) - f(x - h)) / h


def central_float32(f, x, h=1e-5):
    return float(np.float64(f(x + h) - f(x - h)) / np.float64(2 * h))


def descent_loop_numpy(df, x0, learning_rate, num_steps):
    xs = np.empty(num_steps + 1)
    xs[0] = x0
    for t in range(num_steps):
        xs[t + 1] = xs[t] - learning_rate * df(xs[t])
    return xs


def descent_list(df, x0, learning_rate, num_steps):
    x, xs = x0, [x0]
    for _ in range(num_steps):
        x = x - learning_rate * df(x)
        xs.append(x)
    return xs


def descent_float32(df, x0, learning_rate, num_steps):
    """float32 where the docstring promises float64: it passed at the float32 tolerance before (issue 22)."""
    return descent_loop_numpy(df, x0, learning_rate, num_steps).astype(np.float32)


def central_in_float32(f, x, h=1e-5):
    return np.float32(f(x + h) - f(x - h)) / np.float32(2 * h)


def starts_float32(df, starts, learning_rate, num_steps):
    return np.asarray(starts_list(df, starts, learning_rate, num_steps), dtype=np.float32)


def classify_loop(trajectory, minimum=0.0, tol=1e-3):
    d = [x - minimum for x in trajectory]
    if abs(d[-1]) > abs(d[0]):
        return "diverging"
    for a, b in zip(d, d[1:]):
        if (a < 0 < b) or (b < 0 < a):
            return "oscillating"
    return "good" if abs(d[-1]) <= tol else "too_small"


def starts_list(df, starts, learning_rate, num_steps):
    finals = []
    for x in starts:
        for _ in range(num_steps):
            x = x - learning_rate * df(x)
        finals.append(x)
    return finals


def grid_loop(loss, low, high, num_points):
    best_w, best_loss = None, float("inf")
    for w in np.linspace(low, high, num_points):
        value = loss(w)
        if value < best_loss:
            best_w, best_loss = w, value
    return best_w, best_loss


def grid_vectorised(loss, low, high, num_points):
    grid = np.linspace(low, high, num_points)
    losses = loss(grid)
    i = np.argmin(losses)
    return grid[i], losses[i]


def count_loop(layer_sizes, values_per_weight, include_biases=False):
    n = 0
    for a, b in zip(layer_sizes, layer_sizes[1:]):
        n += a * b + (b if include_biases else 0)
    return values_per_weight**n


def count_float(layer_sizes, values_per_weight, include_biases=False):
    return float(count_loop(layer_sizes, values_per_weight, include_biases))


CORRECT = [
    ("central_difference", ref.central_difference),
    ("central_difference", central_half),
    ("central_difference", central_float32),
    ("gradient_descent_1d", ref.gradient_descent_1d),
    ("gradient_descent_1d", descent_loop_numpy),
    ("gradient_descent_1d", descent_list),
    ("classify_trajectory", ref.classify_trajectory),
    ("classify_trajectory", classify_loop),
    ("descend_from_starts", ref.descend_from_starts),
    ("descend_from_starts", starts_list),
    ("grid_search", ref.grid_search),
    ("grid_search", grid_loop),
    ("grid_search", grid_vectorised),
    ("count_combinations", ref.count_combinations),
    ("count_combinations", count_loop),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# real mistakes -------------------------------------------------------------------------

def not_implemented(*args, **kwargs):
    raise NotImplementedError("exercise")


def descent_off_by_one(df, x0, learning_rate, num_steps):
    return descent_loop_numpy(df, x0, learning_rate, num_steps - 1)


def descent_crashes(df, x0, learning_rate, num_steps):
    xs = [x0]
    for t in range(num_steps):
        xs.append(xs[t + 1] - learning_rate * df(xs[t]))
    return xs


def classify_distance_only(trajectory, minimum=0.0, tol=1e-3):
    d = np.abs(np.asarray(trajectory) - minimum)
    if d[-1] > d[0]:
        return "diverging"
    return "good" if d[-1] <= tol else "too_small"


def grid_arange(loss, low, high, num_points):
    grid = np.arange(low, high, (high - low) / (num_points - 1))
    losses = [loss(w) for w in grid]
    return grid[int(np.argmin(losses))], min(losses)


def count_int64(layer_sizes, values_per_weight, include_biases=False):
    n = sum(a * b + (b if include_biases else 0) for a, b in zip(layer_sizes, layer_sizes[1:]))
    return np.int64(values_per_weight) ** np.int64(n)


def count_neurons(layer_sizes, values_per_weight, include_biases=False):
    return values_per_weight ** sum(layer_sizes)


def count_ignores_biases(layer_sizes, values_per_weight, include_biases=False):
    return count_loop(layer_sizes, values_per_weight)


WRONG = [
    ("central_difference", ref.CENTRAL_MISTAKES["forward"], "forward difference"),
    ("central_difference", ref.CENTRAL_MISTAKES["backward"], "backward difference"),
    ("central_difference", ref.CENTRAL_MISTAKES["no_half"], "divide by 2h"),
    ("central_difference", ref.CENTRAL_MISTAKES["sign"], "wrong sign"),
    ("central_difference", not_implemented, "NotImplementedError"),
    ("gradient_descent_1d", ref.DESCENT_MISTAKES["ascent"], "go uphill"),
    ("gradient_descent_1d", ref.DESCENT_MISTAKES["no_learning_rate"], "forget to multiply the gradient"),
    ("gradient_descent_1d", ref.DESCENT_MISTAKES["missing_start"], "put x0 itself first"),
    ("gradient_descent_1d", ref.DESCENT_MISTAKES["extra_step"], "one step too many"),
    ("gradient_descent_1d", descent_off_by_one, "one step short"),
    ("gradient_descent_1d", ref.DESCENT_MISTAKES["final_only"], "returned only the final x"),
    ("gradient_descent_1d", descent_crashes, "raised IndexError"),
    ("gradient_descent_1d", descent_float32, "the docstring promises float64"),
    ("central_difference", central_in_float32, "the docstring promises float64"),
    ("descend_from_starts", starts_float32, "the docstring promises float64"),
    ("classify_trajectory", classify_distance_only, "changes sign between consecutive points"),
    ("classify_trajectory", ref.CLASSIFY_MISTAKES["ignores_minimum"], "relative to"),
    ("descend_from_starts", ref.STARTS_MISTAKES["trajectories"], "only the last point"),
    ("descend_from_starts", ref.STARTS_MISTAKES["one_step"], "stop after one step"),
    ("grid_search", ref.GRID_MISTAKES["argmax"], "largest"),
    ("grid_search", ref.GRID_MISTAKES["index"], "not its index"),
    ("grid_search", ref.GRID_MISTAKES["swapped"], "(best_w, best_loss)"),
    ("grid_search", grid_arange, "misses the end point"),
    ("count_combinations", count_int64, "64-bit overflow"),
    ("count_combinations", count_neurons, "counted neurons"),
    ("count_combinations", count_ignores_biases, "also has a bias"),
    ("count_combinations", count_float, "exact Python int"),
]


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


def test_public_cases_are_the_published_numbers():
    from autograder.checks import load_lab

    cases = load_lab(LAB).public_cases()
    np.testing.assert_allclose(cases["gradient_descent_1d"][0].expected[:5], [3, 2.4, 1.92, 1.536, 1.2288])
    assert cases["gradient_descent_1d"][0].expected[10] == pytest.approx(0.322, abs=5e-4)
    np.testing.assert_allclose(cases["descend_from_starts"][0].expected, [-1.4730, 1.3470], atol=5e-5)
    assert cases["count_combinations"][0].expected == 10**75
    assert cases["grid_search"][0].expected[0] == pytest.approx(3.5)


def test_hidden_cases_differ_between_seeds_and_repeat_for_one_seed():
    from autograder.checks import load_lab

    lab = load_lab(LAB)
    first, again, other = lab.hidden_cases(7), lab.hidden_cases(7), lab.hidden_cases(8)
    assert [c.label for c in first["central_difference"]] == [c.label for c in again["central_difference"]]
    assert [c.label for c in first["central_difference"]] != [c.label for c in other["central_difference"]]


# classify_trajectory: labels judged as written, hidden labels in an order of each student's own ---------

def classify_padded(trajectory, minimum=0.0, tol=1e-3):
    return ref.classify_trajectory(trajectory, minimum, tol) + " "


def classify_capitalised(trajectory, minimum=0.0, tol=1e-3):
    return ref.classify_trajectory(trajectory, minimum, tol).capitalize()


def classify_numpy_string(trajectory, minimum=0.0, tol=1e-3):
    return np.str_(ref.classify_trajectory(trajectory, minimum, tol))


def _hidden_feedback(exercise, fn, seed):
    from autograder import calls
    from autograder.checks import load_lab

    lab = load_lab(LAB)
    cases = lab.hidden_cases(seed)[exercise]
    return calls.first_failure(lab, lab.exercise(exercise), cases, (calls.run_case(fn, c) for c in cases))


@pytest.mark.parametrize("fn", [classify_padded, classify_capitalised])
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_label_not_written_exactly_fails_every_case_with_its_own_message(fn, seed):
    feedback = _hidden_feedback("classify_trajectory", fn, seed)
    assert "exactly as the docstring writes it" in feedback
    count = len(ref.hidden_cases(np.random.default_rng(seed))["classify_trajectory"])
    assert f"({count} of {count} cases fail.)" in feedback  # right labels fail too: nothing to learn from it


def test_a_numpy_string_is_a_string():
    assert first_failure(LAB, "classify_trajectory", classify_numpy_string) is None


def _learned_from(seed):
    """Labels in the order one student's hidden cases asked for them: what resubmissions could learn."""
    from autograder.checks import load_lab

    labels = iter([c.expected for c in load_lab(LAB).hidden_cases(seed)["classify_trajectory"]])
    return lambda trajectory, minimum=0.0, tol=1e-3: next(labels)


def test_hidden_labels_are_in_an_order_of_each_students_own():
    from autograder.checks import load_lab

    lab = load_lab(LAB)
    orders = {tuple(c.expected for c in lab.hidden_cases(seed)["classify_trajectory"]) for seed in range(6)}
    assert len(orders) == 6
    assert _hidden_feedback("classify_trajectory", _learned_from(21), 21) is None  # they fit their own student
    for other in (22, 23, 24):
        assert _hidden_feedback("classify_trajectory", _learned_from(21), other) is not None
