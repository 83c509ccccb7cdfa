"""Lab 08's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.special
from conftest import first_failure

from autograder import calls
from autograder.checks import load_lab
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.hidden import lab08 as ref

LAB = "08_activations"
EXERCISES = [e.name for e in load_lab(LAB).exercises if e.profile == "numpy"]


def _plain(text: str) -> str:
    return re.sub(r"[*`]", "", text)


def _named(exercise: str, feedback: str) -> list[str]:
    messages = load_lab(LAB).exercise(exercise).messages
    return [key for key, message in messages.items() if _plain(message) in _plain(feedback)]


def _floats(x):
    return np.asarray(x, dtype=float)


def _elementwise_loop(scalar):
    """A plain Python loop over the elements, math module only."""
    def fn(x, *args, **kwargs):
        x = _floats(x)
        return np.array([scalar(float(v), *args, **kwargs) for v in x.ravel()]).reshape(x.shape)
    return fn


def _sigmoid_scalar(v):
    if v >= 0:
        return 1 / (1 + math.exp(-v))
    return math.exp(v) / (1 + math.exp(v))


# correct but different ---------------------------------------------------------------

def sigmoid_float32(x):
    """Keeps float32 inputs in float32, as the docstring allows."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def sigmoid_clipped(x):
    """Clipping to ±500 before the naive formula: exp(500) is finite, and σ(−500) ≈ 7e-218 is 0 to any tolerance."""
    return 1 / (1 + np.exp(-np.clip(_floats(x), -500, 500)))


def sigmoid_masked(x):
    """Two boolean masks, each branch computed only where it is safe."""
    x = _floats(x)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1 / (1 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1 + e)
    return out


CORRECT = [
    ("sigmoid", scipy.special.expit),
    ("sigmoid", lambda x: 0.5 * (1 + np.tanh(_floats(x) / 2))),
    ("sigmoid", _elementwise_loop(_sigmoid_scalar)),
    ("sigmoid", sigmoid_float32),
    ("sigmoid", sigmoid_clipped),
    ("sigmoid", sigmoid_masked),
    ("sigmoid_derivative", lambda x: scipy.special.expit(x) * scipy.special.expit(-_floats(x))),
    ("sigmoid_derivative", lambda x: 0.25 * (1 - np.tanh(_floats(x) / 2) ** 2)),
    ("sigmoid_derivative", lambda x: (lambda s: s - s * s)(sigmoid_float32(np.asarray(x)))),
    ("tanh", lambda x: 2 * ref.sigmoid(2 * _floats(x)) - 1),
    ("tanh", _elementwise_loop(math.tanh)),
    ("tanh", lambda x: np.tanh(np.asarray(x))),
    ("tanh_derivative", lambda x: 1 / np.cosh(_floats(x)) ** 2),
    ("tanh_derivative", lambda x: 4 * ref.sigmoid_derivative(2 * _floats(x))),
    ("relu", lambda x: _floats(x) * (_floats(x) > 0)),
    ("relu", lambda x: np.clip(x, 0, None)),
    ("relu", _elementwise_loop(lambda v: max(0.0, v))),
    ("relu", lambda x: np.where(np.asarray(x) > 0, x, 0).astype(np.asarray(x).dtype)),
    ("relu_derivative", lambda x: np.heaviside(_floats(x), 0.0)),
    ("relu_derivative", lambda x: np.asarray(x) > 0),
    ("relu_derivative", lambda x: np.where(np.asarray(x) > 0, 1, 0)),
    ("leaky_relu", lambda x, negative_slope=0.01: np.maximum(_floats(x), negative_slope * _floats(x))),
    ("leaky_relu", _elementwise_loop(lambda v, negative_slope=0.01: v if v > 0 else negative_slope * v)),
    ("leaky_relu_derivative", _elementwise_loop(lambda v, negative_slope=0.01: 1.0 if v > 0 else negative_slope)),
    ("leaky_relu_derivative", lambda x, negative_slope=0.01: negative_slope + (1 - negative_slope) * (
        _floats(x) > 0)),
    ("gelu", lambda x, approximate=False: ref._gelu_tanh(x) if approximate else 0.5 * _floats(x) * (
        1 + scipy.special.erf(_floats(x) / np.sqrt(2)))),
    ("gelu", lambda x, approximate=False: ref._gelu_tanh(x) if approximate else _floats(x) * scipy.special.ndtr(x)),
    ("gelu", lambda x, approximate=False: ref._gelu_tanh(x) if approximate else 0.5 * _floats(x) * scipy.special.erfc(
        -_floats(x) / np.sqrt(2))),
    ("gelu", _elementwise_loop(lambda v, approximate=False: 0.5 * v * (1 + (
        math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)) if approximate else math.erf(v / math.sqrt(2)))))),
    ("gelu_derivative", lambda x, approximate=False: ref._gelu_tanh_derivative(x) if approximate else (
        scipy.special.ndtr(x) + _floats(x) * np.exp(-_floats(x) ** 2 / 2) / np.sqrt(2 * np.pi))),
    ("gelu_derivative", lambda x, approximate=False: ref._gelu_exact_derivative(x) if not approximate else (
        lambda v, u: 0.5 * (1 + np.tanh(u)) + 0.5 * v / np.cosh(u) ** 2 * np.sqrt(2 / np.pi) * (
            1 + 0.134145 * v ** 2))(_floats(x), np.sqrt(2 / np.pi) * (_floats(x) + 0.044715 * _floats(x) ** 3))),
    ("softmax", lambda x: scipy.special.softmax(x, axis=-1)),
    ("softmax", lambda x: np.exp(_floats(x) - scipy.special.logsumexp(x, axis=-1, keepdims=True))),
    ("softmax", lambda x: np.apply_along_axis(lambda row: (lambda e: e / e.sum())(np.exp(row - row.max())), -1,
                                              _floats(x))),
    ("softmax", lambda x: (lambda e: e / e.sum(axis=-1, keepdims=True))(
        np.exp(np.asarray(x) - np.asarray(x).max(axis=-1, keepdims=True)))),
    ("softmax_backward", lambda s, g: np.einsum("...ij,...j->...i", np.einsum(
        "...i,ij->...ij", _floats(s), np.eye(np.shape(s)[-1])) - np.einsum("...i,...j->...ij", _floats(s), _floats(s)),
        _floats(g))),
    ("softmax_backward", lambda s, g: _floats(s) * _floats(g) - _floats(s) * np.einsum(
        "...k,...k->...", _floats(s), _floats(g))[..., None]),
    ("sigmoid_chain_gradient", lambda x, weights: np.cumprod([
        w * ref.sigmoid_derivative(z) for w, z in zip(weights, _pre_activations(x, weights))])),
    ("dead_relu_fraction", lambda X, W, b: float(np.all(_floats(X) @ W + b <= 0, axis=0).sum() / len(b))),
    ("dead_relu_fraction", lambda X, W, b: np.mean([all(
        max(0.0, float(np.dot(row, column)) + bias) == 0 for row in _floats(X)) for column, bias in zip(
        _floats(W).T, b)])),
]


def _pre_activations(x, weights):
    a, zs = float(x), []
    for w in weights:
        zs.append(w * a)
        a = float(scipy.special.expit(w * a))
    return zs


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_reference_passes_every_case(exercise):
    assert first_failure(LAB, exercise, getattr(ref, exercise)) is None


@pytest.mark.parametrize(("exercise", "fn"), CORRECT, ids=[f"{name}-{i}" for i, (name, _) in enumerate(CORRECT)])
def test_correct_alternatives_pass(exercise, fn):
    assert first_failure(LAB, exercise, fn) is None


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_blank_stub_is_not_implemented(exercise):
    namespace = {}
    exec(f"def {exercise}(*args, **kwargs):\n    raise NotImplementedError({exercise!r})", namespace)  # noqa: S102
    assert first_failure(LAB, exercise, namespace[exercise], seeds=(0,)) == f"Lab 08 · {exercise}: {NOT_IMPLEMENTED}"


# the probe-judged exercises (the shared misconception tests skip probes) -------------

PROBED = [("sigmoid", key, fn) for key, fn in ref.SIGMOID_MISTAKES.items()] + [
    ("sigmoid_derivative", key, fn) for key, fn in ref.SIGMOID_DERIVATIVE_MISTAKES.items()]


@pytest.mark.parametrize(("exercise", "key", "fn"), PROBED, ids=[f"{e}-{k}" for e, k, _ in PROBED])
def test_each_overflow_mistake_gets_exactly_its_own_message(exercise, key, fn):
    feedback = first_failure(LAB, exercise, fn)
    assert feedback is not None, f"{key} passes every case"
    assert _named(exercise, feedback) == [key], feedback


def naive_loop(x):
    """math.exp raises OverflowError instead of warning: the same naive formula."""
    return _elementwise_loop(lambda v: 1 / (1 + math.exp(-v)))(x)


def naive_float64(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def naive_derivative_of_own_sigmoid(x):
    s = naive_float64(x)
    return s * (1 - s)


STUDENT_MISTAKES = [
    ("sigmoid", naive_loop, "naive"),
    ("sigmoid", naive_float64, "naive"),
    ("sigmoid_derivative", naive_derivative_of_own_sigmoid, "naive_sigmoid"),
    ("softmax", lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True), "no_shift"),
    ("softmax", lambda x: (lambda e: e / e.sum(axis=0, keepdims=True))(
        np.exp(_floats(x) - _floats(x).max(axis=0, keepdims=True))), "wrong_axis"),
    ("softmax_backward", lambda s, g: np.array(
        [(np.diag(row) - row @ row.T) @ up for row, up in zip(np.atleast_2d(s), np.atleast_2d(g))]).reshape(
        np.shape(s)), "inner_not_outer"),
    ("relu", lambda x: np.max(x, 0), "np_max"),
    ("relu_derivative", lambda x: np.where(_floats(x) >= 0, 1.0, 0.0), "one_at_zero"),
    ("dead_relu_fraction", lambda X, W, b: float(np.mean(np.all(_floats(X) @ W + b < 0, axis=0))),
     "strict_negative"),
]


@pytest.mark.parametrize(("exercise", "fn", "key"), STUDENT_MISTAKES,
                         ids=[f"{e}-{k}-{i}" for i, (e, _, k) in enumerate(STUDENT_MISTAKES)])
def test_mistakes_as_students_type_them_are_named(exercise, fn, key):
    feedback = first_failure(LAB, exercise, fn)
    assert feedback is not None and _named(exercise, feedback) == [key], feedback


def test_where_with_both_branches_warns_although_its_values_are_right():
    lab = load_lab(LAB)
    exercise = lab.exercise("sigmoid")
    case = lab.public_cases()["sigmoid"][0]
    outcome = calls.run_case(ref.SIGMOID_MISTAKES["where_both"], case, exercise.probe)
    report = calls.outcome_from_json(outcome).value
    assert "overflow" in report["warning"]
    np.testing.assert_allclose(report["value"], ref.sigmoid(case.args[0]), rtol=1e-15)


UNKNOWN = [
    ("sigmoid", lambda x: ref.sigmoid(2 * _floats(x))),
    ("sigmoid_derivative", lambda x: ref.sigmoid_derivative(x) * 1.1),
    ("tanh", lambda x: np.tanh(_floats(x)) * 0.99),
    ("tanh_derivative", lambda x: 1 - np.tanh(_floats(x)) ** 4),
    ("relu", lambda x: np.abs(_floats(x))),
    ("relu_derivative", lambda x: (_floats(x) > 1).astype(float)),
    ("leaky_relu", lambda x, negative_slope=0.01: np.where(_floats(x) > 0, 2 * _floats(x), negative_slope * x)),
    ("leaky_relu_derivative", lambda x, negative_slope=0.01: np.where(_floats(x) > 0, 1.0, 0.05)),
    ("gelu", lambda x, approximate=False: ref.gelu(x, approximate) + 1e-3),
    ("gelu_derivative", lambda x, approximate=False: ref.gelu_derivative(x, approximate) * 0.9),
    ("softmax", lambda x: ref.softmax(2 * _floats(x))),
    ("softmax_backward", lambda s, g: 0.5 * ref.softmax_backward(s, g)),
    ("sigmoid_chain_gradient", lambda x, weights: ref.sigmoid_chain_gradient(x, weights) * 2),
    ("dead_relu_fraction", lambda X, W, b: 0.5),
]


@pytest.mark.parametrize(("exercise", "fn"), UNKNOWN, ids=[name for name, _ in UNKNOWN])
def test_a_wrong_implementation_nobody_named_gets_no_cause(exercise, fn):
    feedback = first_failure(LAB, exercise, fn)
    assert feedback is not None, "a wrong implementation passed"
    assert _named(exercise, feedback) == [], feedback


# the cases themselves -----------------------------------------------------------------

def test_the_public_cases_hold_the_course_numbers():
    cases = load_lab(LAB).public_cases()
    zero = list(ref.EXTREMES).index(0.0)
    assert cases["sigmoid_derivative"][0].expected[zero] == 0.25  # σ′ ≤ 0.25, reached at 0
    chain = cases["sigmoid_chain_gradient"][0].expected
    assert chain[0] == 0.25 and np.all(np.abs(chain) <= 0.25 ** np.arange(1, 11))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_hidden_cases_cover_the_boundaries(seed):
    cases = load_lab(LAB).hidden_cases(seed)
    inputs = [np.asarray(c.args[0]) for c in cases["relu"]]
    assert any(np.any(x == 0) for x in inputs) and any(x.ndim == 2 for x in inputs)
    assert any(np.max(np.abs(x)) >= 1000 for x in inputs) and any(x.dtype == np.float32 for x in inputs)
    assert any(x.size == 1 for x in inputs)
    sigmoid = cases["sigmoid"]
    assert {"naive", "naive_positive", "where_both"} <= set().union(*(c.wrong for c in sigmoid))
    assert any("where_both" in c.wrong and "naive" not in c.wrong for c in sigmoid)
    assert any("naive" in c.wrong and "naive_positive" not in c.wrong for c in sigmoid)
    softmax = [np.asarray(c.args[0]) for c in cases["softmax"]]
    assert any(x.ndim == 2 and x.shape[0] == x.shape[1] for x in softmax)  # tells a lost keepdims apart
    assert any(x.ndim == 2 and x.shape[1] == 1 for x in softmax)
    assert any(x.ndim == 2 and np.any(np.ptp(x, axis=-1) == 0) for x in softmax)  # a row of ties
    leaky = cases["leaky_relu"]
    assert any(not c.kwargs for c in leaky) and any(c.kwargs for c in leaky)  # the default slope and another
    dead = cases["dead_relu_fraction"]
    assert "strict_negative" in dead[0].wrong and dead[0].args[0].shape[0] >= 3
