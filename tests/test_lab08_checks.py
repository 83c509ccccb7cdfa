"""Lab 08's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import scipy.special
from conftest import first_failure

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


def _pair_loop(value, slope):
    """(value, slope) from two scalar loops."""
    return lambda x, *args, **kwargs: (_elementwise_loop(value)(x, *args, **kwargs),
                                       _elementwise_loop(slope)(x, *args, **kwargs))


# correct but different ---------------------------------------------------------------

def sigmoid_float32(x):
    """Keeps float32 inputs in float32, as the docstring allows."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype if x.dtype == np.float32 else np.float64)


def sigmoid_masked(x):
    """Two boolean masks, each branch computed only where it is safe."""
    x = _floats(x)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1 / (1 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1 + e)
    return out


def sigmoid_where_both(x):
    """Both branches everywhere: NumPy warns of an overflow, but every value is right (the check judges values)."""
    x = _floats(x)
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def sigmoid_logaddexp(x):
    return np.exp(-np.logaddexp(0.0, -_floats(x)))


def _tanh_slope(v):
    return 1 - math.tanh(v) ** 2


CORRECT = [
    ("sigmoid", scipy.special.expit),
    ("sigmoid", _elementwise_loop(_sigmoid_scalar)),
    ("sigmoid", sigmoid_float32),
    ("sigmoid", sigmoid_masked),
    ("sigmoid", sigmoid_where_both),
    ("sigmoid", sigmoid_logaddexp),
    ("sigmoid_derivative", lambda x: scipy.special.expit(x) * scipy.special.expit(-_floats(x))),
    ("sigmoid_derivative", lambda x: (lambda s: s - s * s)(sigmoid_float32(np.asarray(x)))),
    ("sigmoid_derivative", lambda x: 0.25 / np.cosh(np.clip(_floats(x), -1400, 1400) / 2) ** 2),
    ("tanh_and_slope", lambda x: (2 * ref.sigmoid(2 * _floats(x)) - 1, 4 * ref.sigmoid_derivative(2 * _floats(x)))),
    ("tanh_and_slope", _pair_loop(math.tanh, _tanh_slope)),
    ("tanh_and_slope", lambda x: (np.tanh(np.asarray(x, dtype=float)), 1 / np.cosh(_floats(x)) ** 2)),
    ("tanh_and_slope", lambda x: (lambda t: [t, 1 - t * t])(np.tanh(np.asarray(x)))),
    ("leaky_relu_and_slope", lambda x, negative_slope=0.01: (
        np.maximum(_floats(x), negative_slope * _floats(x)),
        negative_slope + (1 - negative_slope) * (_floats(x) > 0))),
    ("leaky_relu_and_slope", _pair_loop(lambda v, negative_slope=0.01: v if v > 0 else negative_slope * v,
                                        lambda v, negative_slope=0.01: 1.0 if v > 0 else negative_slope)),
    ("leaky_relu_and_slope", lambda x, negative_slope=0.01: (
        np.where(np.asarray(x) > 0, x, negative_slope * np.asarray(x)),
        np.where(np.asarray(x) > 0, 1.0, negative_slope).astype(np.asarray(x).dtype))),
    ("gelu_and_slope", lambda x, approximate=False: (ref._gelu_tanh(x), ref._gelu_tanh_derivative(x)) if approximate
     else (_floats(x) * scipy.special.ndtr(x), scipy.special.ndtr(x) + _floats(x) * np.exp(
         -_floats(x) ** 2 / 2) / np.sqrt(2 * np.pi))),
    ("gelu_and_slope", lambda x, approximate=False: ref.gelu_and_slope(x, approximate) if not approximate else (
        lambda v, u: (0.5 * v * (1 + np.tanh(u)), 0.5 * (1 + np.tanh(u)) + 0.5 * v / np.cosh(u) ** 2 * np.sqrt(
            2 / np.pi) * (1 + 0.134145 * v ** 2)))(_floats(x), np.sqrt(2 / np.pi) * (
                _floats(x) + 0.044715 * _floats(x) ** 3))),
    ("gelu_and_slope", lambda x, approximate=False: (
        0.5 * _floats(x) * scipy.special.erfc(-_floats(x) / np.sqrt(2)),
        ref.gelu_derivative(x)) if not approximate else ref.gelu_and_slope(x, True)),
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert first_failure(LAB, exercise, fn) is None


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_blank_stub_is_not_implemented(exercise):
    namespace = {}
    exec(f"def {exercise}(*args, **kwargs):\n    raise NotImplementedError({exercise!r})", namespace)  # noqa: S102
    assert first_failure(LAB, exercise, namespace[exercise], seeds=(0,)) == f"Lab 08 · {exercise}: {NOT_IMPLEMENTED}"


# the naive sigmoid: judged by its values, which are right (the check cannot see warnings) ---------

def naive_float64(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def naive_silenced(x):
    """The naive formula with every floating-point warning switched off, as a student's code may do."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return naive_float64(x)


def naive_loop(x):
    """math.exp raises OverflowError instead of warning; 0 is then the naive formula's value."""
    def scalar(v):
        try:
            return 1 / (1 + math.exp(-v))
        except OverflowError:
            return 0.0
    return _elementwise_loop(scalar)(x)


NAIVE_BUT_RIGHT = [
    ("sigmoid", naive_float64),
    ("sigmoid", naive_silenced),
    ("sigmoid", naive_loop),
    ("sigmoid_derivative", lambda x: (lambda s: s * (1 - s))(naive_silenced(x))),
]


@pytest.mark.parametrize(("exercise", "fn"), NAIVE_BUT_RIGHT,
                         ids=[f"{e}-{i}" for i, (e, _) in enumerate(NAIVE_BUT_RIGHT)])
def test_the_overflowing_naive_sigmoid_passes_because_its_values_are_right(exercise, fn):
    """1/(1 + exp(−x)) overflows only where σ(x) < 2.2e-308: what the lesson says, and why no message names it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert first_failure(LAB, exercise, fn) is None
    x = -np.arange(700.0, 1000.0, 0.5)
    with np.errstate(over="ignore"):
        naive, overflowed = naive_float64(x), np.isinf(np.exp(-x))
    assert overflowed.any() and np.all(ref.sigmoid(x)[overflowed] < np.finfo(float).tiny)
    np.testing.assert_allclose(naive[~overflowed], ref.sigmoid(x)[~overflowed], rtol=1e-13)


STUDENT_MISTAKES = [
    ("sigmoid", lambda x: 0.5 * (1 + np.tanh(_floats(x) / 2)), "tanh_form"),
    ("sigmoid", lambda x: np.exp(_floats(x)) / (1 + np.exp(_floats(x))), "naive_positive"),
    ("sigmoid_derivative", lambda x: (lambda s: s * (1 - s))(0.5 * (1 + np.tanh(_floats(x) / 2))), "lost_tiny"),
    ("softmax", lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True), "no_shift"),
    ("softmax", lambda x: (lambda e: e / e.sum(axis=0, keepdims=True))(
        np.exp(_floats(x) - _floats(x).max(axis=0, keepdims=True))), "wrong_axis"),
    ("softmax_backward", lambda s, g: np.array(
        [(np.diag(row) - row @ row.T) @ up for row, up in zip(np.atleast_2d(s), np.atleast_2d(g))]).reshape(
        np.shape(s)), "inner_not_outer"),
    ("leaky_relu_and_slope", lambda x, negative_slope=0.01: (
        np.where(_floats(x) > 0, _floats(x), negative_slope * _floats(x)),
        np.where(_floats(x) >= 0, 1.0, negative_slope)), "one_at_zero"),
    ("leaky_relu_and_slope", lambda x, negative_slope=0.3: ref.leaky_relu_and_slope(x, negative_slope),
     "layer_default"),
    ("tanh_and_slope", lambda x: (np.tanh(_floats(x)), 1 - _floats(x) ** 2), "from_x"),
    ("gelu_and_slope", lambda x, approximate=False: ref.gelu_and_slope(x, True), "tanh_for_exact"),
    ("dead_relu_fraction", lambda X, W, b: float(np.mean(np.all(_floats(X) @ W + b < 0, axis=0))),
     "strict_negative"),
]


@pytest.mark.parametrize(("exercise", "fn", "key"), STUDENT_MISTAKES,
                         ids=[f"{e}-{k}-{i}" for i, (e, _, k) in enumerate(STUDENT_MISTAKES)])
def test_mistakes_as_students_type_them_are_named(exercise, fn, key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        feedback = first_failure(LAB, exercise, fn)
    assert feedback is not None and _named(exercise, feedback) == [key], feedback


# the contract's dtypes and types -------------------------------------------------------

CONTRACT_BREAKS = [
    ("sigmoid", lambda x: ref.sigmoid(x).astype(np.float32), "returned float32 for a float64 input"),
    ("sigmoid_derivative", lambda x: ref.sigmoid_derivative(x).tolist(), "expected a NumPy array"),
    ("tanh_and_slope", lambda x: (ref.tanh(x), ref.tanh_derivative(x).astype(np.float32)),
     "the slope: returned float32 for a float64 input"),
    ("tanh_and_slope", lambda x: ref.tanh(x), "expected a pair (value, slope)"),
    ("leaky_relu_and_slope", lambda x, negative_slope=0.01: (ref.leaky_relu(x, negative_slope), _floats(x) > 0),
     "the slope: returned an array of dtype bool"),
    ("gelu_and_slope", lambda x, approximate=False: tuple(v.astype(np.float32) for v in ref.gelu_and_slope(
        x, approximate)), "returned float32 for a float64 input"),
    ("softmax", lambda x: ref.softmax(x).astype(np.float32), "returned float32 for a float64 input"),
    ("softmax_backward", lambda s, g: ref.softmax_backward(s, g).astype(np.float32),
     "returned float32 for a float64 input"),
    ("sigmoid_chain_gradient", lambda x, w: ref.sigmoid_chain_gradient(x, w).astype(np.float32),
     "returned float32 for a float64 input"),
]


@pytest.mark.parametrize(("exercise", "fn", "reason"), CONTRACT_BREAKS,
                         ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(CONTRACT_BREAKS)])
def test_a_result_outside_the_docstrings_contract_fails_whatever_its_values(exercise, fn, reason):
    feedback = first_failure(LAB, exercise, fn)
    assert feedback is not None and reason in feedback, feedback
    assert _named(exercise, feedback) == [], feedback


UNKNOWN = [
    ("sigmoid", lambda x: ref.sigmoid(2 * _floats(x))),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-np.clip(_floats(x), -500, 500)))),  # σ(−600) comes out 7e-218
    ("sigmoid_derivative", lambda x: ref.sigmoid_derivative(x) * 1.1),
    ("tanh_and_slope", lambda x: (np.tanh(_floats(x)) * 0.99, ref.tanh_derivative(x))),
    ("tanh_and_slope", lambda x: (np.tanh(_floats(x)), 1 - np.tanh(_floats(x)) ** 4)),
    ("leaky_relu_and_slope", lambda x, negative_slope=0.01: (
        np.where(_floats(x) > 0, 2 * _floats(x), negative_slope * _floats(x)),
        ref.leaky_relu_derivative(x, negative_slope))),
    ("leaky_relu_and_slope", lambda x, negative_slope=0.01: (
        ref.leaky_relu(x, negative_slope), np.where(_floats(x) > 0, 1.0, 0.05))),
    ("gelu_and_slope", lambda x, approximate=False: (ref.gelu(x, approximate) + 1e-3,
                                                     ref.gelu_derivative(x, approximate))),
    ("gelu_and_slope", lambda x, approximate=False: (ref.gelu(x, approximate),
                                                     ref.gelu_derivative(x, approximate) * 0.9)),
    ("softmax", lambda x: ref.softmax(2 * _floats(x))),
    ("softmax_backward", lambda s, g: 0.5 * ref.softmax_backward(s, g)),
    ("sigmoid_chain_gradient", lambda x, weights: ref.sigmoid_chain_gradient(x, weights) * 2),
    ("dead_relu_fraction", lambda X, W, b: 0.5),
]


@pytest.mark.parametrize(("exercise", "fn"), UNKNOWN, ids=[f"{name}-{i}" for i, (name, _) in enumerate(UNKNOWN)])
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
    tiny = cases["sigmoid"][1]
    assert 2e-261 < tiny.expected[list(ref.TINY).index(-600.0)] < 3e-261 and "tanh_form" in tiny.wrong


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_hidden_cases_cover_the_boundaries(seed):
    cases = load_lab(LAB).hidden_cases(seed)
    inputs = [np.asarray(c.args[0]) for c in cases["leaky_relu_and_slope"]]
    assert any(np.any(x == 0) for x in inputs) and any(x.ndim == 2 for x in inputs)
    assert any(np.max(np.abs(x)) >= 1000 for x in inputs) and any(x.dtype == np.float32 for x in inputs)
    assert any(x.size == 1 for x in inputs)
    assert any(isinstance(c.args[0], list) for c in cases["leaky_relu_and_slope"])
    sigmoid = cases["sigmoid"]
    assert any("tanh_form" in c.wrong and "naive_positive" not in c.wrong for c in sigmoid)
    assert any("naive_positive" in c.wrong and "tanh_form" not in c.wrong for c in sigmoid)
    assert any("lost_tiny" in c.wrong for c in cases["sigmoid_derivative"])
    softmax = [np.asarray(c.args[0]) for c in cases["softmax"]]
    assert any(x.ndim == 2 and x.shape[0] == x.shape[1] for x in softmax)  # tells a lost keepdims apart
    assert any(x.ndim == 2 and x.shape[1] == 1 for x in softmax)
    assert any(x.ndim == 2 and np.any(np.ptp(x, axis=-1) == 0) for x in softmax)  # a row of ties
    slopes = [c.kwargs.get("negative_slope", 0.01) for c in cases["leaky_relu_and_slope"]]
    assert {0.01, 0.0} <= set(slopes) and len(set(slopes)) == 3  # the default, ReLU's 0 and another
    assert {c.kwargs.get("approximate", False) for c in cases["gelu_and_slope"]} == {False, True}
    dead = cases["dead_relu_fraction"]
    assert "strict_negative" in dead[0].wrong and dead[0].args[0].shape[0] >= 3
    assert {c.args[0] for c in cases["keras_train_steps"]} == set(ref.TRAIN_ACTIVATIONS)


def test_the_training_reference_is_plain_backpropagation():
    """The NumPy run behind keras_train_steps's cases, against central differences of its own loss."""
    rng = np.random.default_rng(3)
    weights = ref.he_network((2, 3, 3, 1), rng, bias_scale=0.5)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    losses, norms, _ = ref.keras_train_steps("tanh", weights, X, y, 0.1, 1)

    def loss_at(kernel_index, flat_index, step):
        nudged = [w.copy() for w in weights]
        nudged[kernel_index].flat[flat_index] += step
        return ref.keras_train_steps("tanh", nudged, X, y, 0.0, 1)[0][0]

    for layer in range(3):
        kernel = 2 * layer
        numeric = [(loss_at(kernel, i, 1e-6) - loss_at(kernel, i, -1e-6)) / 2e-6 for i in range(weights[kernel].size)]
        np.testing.assert_allclose(np.linalg.norm(numeric), norms[0, layer], rtol=1e-6)
    assert losses[0] == pytest.approx(np.mean((np.tanh(np.tanh(X @ weights[0] + weights[1]) @ weights[2]
                                                       + weights[3]) @ weights[4] + weights[5] - y) ** 2))


@pytest.mark.parametrize("seed", range(6))
def test_every_keras_mistake_is_told_apart_under_every_secret(seed):
    """Each mistake keras_train_steps names has a hidden case where its run differs from the right one."""
    cases = load_lab(LAB).hidden_cases(seed)["keras_train_steps"]
    assert set(ref.KERAS_MISTAKES) <= set().union(*(c.wrong for c in cases))
    assert all(isinstance(c.expected, dict) == (c.args[0] == "leaky_relu") for c in cases)
