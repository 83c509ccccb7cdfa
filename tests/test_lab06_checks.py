"""Lab 06's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder.checks import load_lab
from autograder.hidden import lab06 as ref

LAB = "06_normalization"


# correct but different ---------------------------------------------------------------

def fit_loops(x_train):
    """Per column, by hand, with a guard written as a comprehension; scalars for a 1-D input."""
    x = np.asarray(x_train, dtype=float)
    columns = x.reshape(len(x), -1).T
    means = [sum(c) / len(c) for c in columns]
    stds = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) for c, m in zip(columns, means)]
    stds = [s if s >= 1e-7 else 1.0 for s in stds]
    if x.ndim == 1:
        return means[0], stds[0]
    return np.array(means), np.array(stds)


def fit_variance_formula(x_train):
    """std from the mean squared deviation; a constant column keeps 1 via np.isclose (atol 1e-8)."""
    x = np.asarray(x_train, dtype=float)
    mean = x.mean(axis=0)
    std = np.sqrt(np.mean((x - mean) ** 2, axis=0))
    return mean, np.where(np.isclose(std, 0.0), 1, std)


def fit_masked(x_train):
    """An in-place guard: atleast_1d so that a 1-D input's scalar std can take the mask too."""
    x = np.asarray(x_train, dtype=float)
    std = np.atleast_1d(x.std(axis=0)).copy()
    std[std < 1e-7] = 1.0
    return x.mean(axis=0), std.reshape(np.shape(x.mean(axis=0)))


def transform_reciprocal(x, mean, std, invert=False):
    if invert:
        return np.add(np.multiply(x, std), mean)
    return np.subtract(x, mean) * (1.0 / np.asarray(std))


def transform_float32(x, mean, std, invert=False):
    x, mean, std = np.asarray(x, np.float32), np.float32(mean), np.float32(std)
    return (x * std + mean if invert else (x - mean) / std).astype(np.float32)


def transform_solved_for_x(x, mean, std, invert=False):
    """The way back written as the forward formula solved for x: x = mean + z·std, with an early return."""
    if not invert:
        return (np.asarray(x, dtype=float) - mean) / std
    return mean + std * np.asarray(x, dtype=float)


def splits_stacked(x_train, x_test):
    mean, std = fit_loops(x_train)
    return tuple((np.asarray(part, dtype=float) - mean) / std for part in (x_train, x_test))


def min_max_ptp(x_train, x):
    train = np.asarray(x_train, dtype=float)
    span = np.ptp(train, axis=0)
    span = np.where(span == 0, 1.0, span)
    return (np.asarray(x) - train.min(axis=0)) / span


def train_line_loops(x, y, w, b, learning_rate, epochs):
    history = []
    n = len(x)
    for _ in range(epochs):
        errors = [w * xi + b - yi for xi, yi in zip(x, y)]
        history.append(sum(e * e for e in errors) / n)
        dw = 2 * sum(e * xi for e, xi in zip(errors, x)) / n
        db = 2 * sum(errors) / n
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b, history


def diverged_vectorized(history, factor=10.0):
    h = np.asarray(history, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(h) | (h > factor * h[0])
    return int(np.argmax(bad)) if bad.any() else None


def diverged_ratio(history, factor=10.0):
    """Divides by the first loss instead of multiplying the limit (exact for the hidden factors)."""
    for k, loss in enumerate(history):
        if math.isnan(loss) or math.isinf(loss) or loss / history[0] > factor:
            return k
    return None


def predict_inline(distances, w, b, x_stats, y_stats):
    (mx, sx), (my, sy) = x_stats, y_stats
    return np.array([(w * (d - mx) / sx + b) * sy + my for d in distances])


def scales_loop(factors):
    total, out = 0.0, []
    for f in reversed(list(factors)):
        total += math.log10(abs(f))
        out.append(total)
    return np.array(out[::-1])


def scales_natural_log_converted(factors):
    return np.flip(np.cumsum(np.flip(np.log(np.abs(factors))))) / np.log(10)


CORRECT = [
    ("zscore_fit", ref.zscore_fit),
    ("zscore_fit", fit_loops),
    ("zscore_fit", fit_variance_formula),
    ("zscore_fit", fit_masked),
    ("zscore_transform", ref.zscore_transform),
    ("zscore_transform", transform_reciprocal),
    ("zscore_transform", transform_float32),
    ("zscore_transform", transform_solved_for_x),
    ("standardize_splits", ref.standardize_splits),
    ("standardize_splits", splits_stacked),
    ("min_max_scale", ref.min_max_scale),
    ("min_max_scale", min_max_ptp),
    ("train_line", ref.train_line),
    ("train_line", train_line_loops),
    ("diverged", ref.diverged),
    ("diverged", diverged_vectorized),
    ("diverged", diverged_ratio),
    ("predict_minutes", ref.predict_minutes),
    ("predict_minutes", predict_inline),
    ("gradient_scales", ref.gradient_scales),
    ("gradient_scales", scales_loop),
    ("gradient_scales", scales_natural_log_converted),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# real mistakes, beyond the *_MISTAKES tables (tests/test_misconceptions.py runs those) ----------

def fit_torch_style(x_train):
    """torch.std's default (n − 1), written out the way a student coming from PyTorch would."""
    x = np.asarray(x_train, dtype=float)
    n = len(x)
    mean = x.sum(axis=0) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(((x - mean) ** 2).sum(axis=0) / (n - 1))
    return mean, np.where(std < 1e-7, 1.0, std)


def splits_fit_on_everything(x_train, x_test):
    everything = np.concatenate([np.asarray(x_train), np.asarray(x_test)])
    mean, std = everything.mean(axis=0), everything.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    return (x_train - mean) / std, (x_test - mean) / std


def diverged_bool(history, factor=10.0):
    return ref.diverged(history, factor) is not None


WRONG = [
    ("zscore_fit", fit_torch_style, "n − 1 (ddof=1"),
    ("standardize_splits", splits_fit_on_everything, "Data leakage"),
    ("diverged", diverged_bool, "returned"),
    ("gradient_scales", lambda f: np.log10(np.abs(np.prod(f))) * np.ones(len(f)), "your values first differ"),
]


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


UNNAMED = [
    ("zscore_fit", lambda x: (np.median(np.asarray(x, float), axis=0), ref.zscore_fit(x)[1])),
    ("zscore_transform", lambda x, mean, std, invert=False: ref.zscore_transform(x, mean, std + 1e-3, invert)),
    ("min_max_scale", lambda tr, x: ref.min_max_scale(tr, x) * 2 - 1),
    ("train_line", lambda x, y, w, b, lr, epochs: ref.train_line(x, y, w, b, lr * 0.9, epochs)),
    ("predict_minutes", lambda d, w, b, xs, ys: ref.predict_minutes(d, w, b, xs, ys) + 1.0),
    ("diverged", lambda h, factor=10.0: ref.diverged(h, factor / 2)),
]


@pytest.mark.parametrize(("exercise", "implementation"), UNNAMED, ids=case_ids(UNNAMED))
def test_a_wrong_implementation_that_matches_no_known_mistake_gets_no_cause(exercise, implementation):
    feedback = first_failure(LAB, exercise, implementation)
    assert feedback is not None, "a wrong implementation passed"
    messages = load_lab(LAB).exercise(exercise).messages.values()
    named = [m for m in messages if m.split(":")[0][:40] in feedback]
    assert named == [], feedback


# the published numbers -----------------------------------------------------------------

def test_public_cases_are_the_published_numbers():
    cases = load_lab(LAB).public_cases()
    mean, std = cases["zscore_fit"][0].expected
    assert (round(float(mean), 4), round(float(std), 4)) == (10.5, 5.6273)
    assert np.std(ref.DISTANCES, ddof=1) == pytest.approx(5.7009, abs=5e-5)
    assert cases["zscore_transform"][0].expected[0] == pytest.approx(-1.6882, abs=5e-5)
    assert (1.0 - 10.5) / np.std(ref.DISTANCES, ddof=1) == pytest.approx(-1.6664, abs=5e-5)
    w, b, history = cases["train_line"][0].expected
    assert history[0] == 6561.0
    assert cases["gradient_scales"][0].expected[0] == pytest.approx(-4.0)
    assert cases["gradient_scales"][2].expected[0] == pytest.approx(100 * np.log10(0.3))
    assert cases["diverged"][0].expected == 1


def test_the_course_step_holding_b():
    """The course's numbers follow w alone: −3240, W = 32.9, then loss 321,489 and the gradient +22,680."""
    d, t, w, b = ref.EXPLODING
    gradient = 2 * (w * d + b - t) * d
    w_next = w - 0.01 * gradient
    assert (gradient, round(w_next, 10)) == (-3240.0, 32.9)
    assert round((w_next * d + b - t) ** 2) == 321489
    assert round(2 * (w_next * d + b - t) * d) == 22680


def test_a_constant_feature_s_std_can_be_round_off():
    """The reason the guard is std < 1e-7, not std == 0 (the notebook's and the docstring's example)."""
    assert 0 < np.std(np.full(7, 0.1)) < 1e-16
    assert ref.zscore_fit(np.full(7, 0.1))[1] == 1.0
    assert ref.zscore_fit([[1.0, 3.7], [2.0, 3.7]])[1][1] == 1.0


def test_underflow_is_real_in_float64():
    assert np.prod(np.full(600, 0.25)) == 0.0
    assert np.isfinite(ref.gradient_scales(np.full(600, 0.25))).all()


def test_hidden_cases_exercise_every_boundary():
    for seed in range(5):
        cases = load_lab(LAB).hidden_cases(seed)
        assert {"zero_std"} <= set(cases["zscore_fit"][0].wrong)
        assert cases["zscore_fit"][3].args[0].shape[0] == 1  # a one-row batch
        one_d = [c for c in cases["zscore_fit"] if np.ndim(c.args[0]) == 1]
        assert any("zero_std" in c.wrong for c in one_d) and any("exact_zero" in c.wrong for c in one_d)
        assert {"transform_again", "precedence"} <= set().union(*(c.wrong for c in cases["zscore_transform"]))
        assert any(np.ndim(c.args[0]) == 2 and np.shape(c.args[0])[1] == 1 for c in cases["zscore_fit"])
        labels = {k: set().union(*(c.wrong for c in cs)) for k, cs in cases.items()}
        assert {"not_strict", "nan_missed", "previous", "last", "one_based"} <= labels["diverged"]
        assert "underflow" in labels["gradient_scales"] and "no_abs" in labels["gradient_scales"]
        assert set(ref.PREDICT_MISTAKES) <= labels["predict_minutes"]


def test_hidden_cases_are_drawn_quickly():
    import time

    start = time.perf_counter()
    ref.hidden_cases(np.random.default_rng(123))
    assert time.perf_counter() - start < 0.5
