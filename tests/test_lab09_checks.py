"""Lab 09's checks: the reference passes, correct variants pass, unnamed mistakes get no cause."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import case_ids, first_failure

from autograder.checks import load_lab
from autograder.hidden import lab09 as ref

LAB = "09_losses"
NUMPY_EXERCISES = [e.name for e in load_lab(LAB).exercises if e.profile == "numpy"]


# correct but different ---------------------------------------------------------------

def mse_mae_loops(y_true, y_pred):
    squared = absolute = 0.0
    for t, p in zip(y_true, y_pred):
        squared += (p - t) ** 2
        absolute += abs(p - t)
    return squared / len(y_true), absolute / len(y_true)


def mse_mae_float32(y_true, y_pred):
    error = np.asarray(y_pred, np.float32) - np.asarray(y_true, np.float32)
    return np.mean(error ** 2), np.mean(np.abs(error))


def bce_where(y_true, p, eps=1e-7):
    """One log per example, chosen by the label."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    return np.mean(np.where(np.asarray(y_true) == 1, -np.log(p), -np.log1p(-p)))


def bce_loop(y_true, p, eps=1e-7):
    total = 0.0
    for y, q in zip(y_true, p):
        q = min(max(q, eps), 1 - eps)
        total -= y * np.log(q) + (1 - y) * np.log(1 - q)
    return total / len(y_true)


def logits_softplus(y_true, z):
    """np.logaddexp(0, z) − z·y: the softplus form, stable through logaddexp."""
    z = np.asarray(z, dtype=float)
    return float(np.mean(np.logaddexp(0, z) - z * np.asarray(y_true)))


def logits_by_label(y_true, z):
    """log(1 + e^−z) for y = 1 and log(1 + e^z) for y = 0, each written stably."""
    z, y = np.asarray(z, dtype=float), np.asarray(y_true, dtype=float)
    signed = np.where(y == 1, z, -z)
    return np.mean(np.maximum(-signed, 0) + np.log1p(np.exp(-np.abs(signed))))


def cce_picked(y_true, p, eps=1e-7):
    """−log of the true class's probability, found with argmax."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    labels = np.argmax(y_true, axis=1)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


def cce_einsum(y_true, p, eps=1e-7):
    return -np.einsum("ij,ij->", np.asarray(y_true, float), np.log(np.clip(p, eps, 1 - eps))) / len(y_true)


def sparse_scipy(labels, z):
    from scipy.special import logsumexp

    z = np.asarray(z, dtype=float)
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(labels)), labels]))


def sparse_loop(labels, z):
    total = 0.0
    for label, row in zip(labels, z):
        m = max(row)
        total += m + np.log(sum(np.exp(v - m) for v in row)) - row[label]
    return total / len(labels)


def gradient_log_softmax(labels, z):
    z = np.asarray(z, dtype=float)
    log_p = z - np.max(z, axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    gradient = np.exp(log_p)
    gradient[np.arange(len(labels)), labels] -= 1
    return gradient / len(labels)


def logistic_loop(X, y, w, b):
    dw, db = np.zeros(len(w)), 0.0
    for x, t in zip(X, y):
        p = 1 / (1 + np.exp(-(np.dot(x, w) + b)))
        dw += (p - t) * np.asarray(x)
        db += p - t
    return dw / len(y), db / len(y)


def logistic_float32(X, y, w, b):
    X, w = np.asarray(X, np.float32), np.asarray(w, np.float32)
    p = 1 / (1 + np.exp(-(X @ w + np.float32(b))))
    error = p - np.asarray(y, np.float32)
    return X.T @ error / np.float32(len(y)), np.mean(error)


def xor_einsum(X, y, W1, b1, W2, b2):
    """The same backward pass with einsum, the loss through logaddexp, the output as a column."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)[:, None]
    h = np.tanh(np.einsum("ni,ih->nh", X, W1) + b1)
    z = np.einsum("nh,ho->no", h, W2) + b2
    loss = float(np.mean(np.logaddexp(0, z) - z * y))
    delta = (0.5 * (1 + np.tanh(z / 2)) - y) / len(X)
    hidden = np.einsum("no,ho->nh", delta, W2) * (1 - h * h)
    return loss, np.einsum("ni,nh->ih", X, hidden), hidden.sum(0), np.einsum("nh,no->ho", h, delta), delta.sum(0)


CORRECT = [
    ("mse_mae", ref.mse_mae), ("mse_mae", mse_mae_loops), ("mse_mae", mse_mae_float32),
    ("binary_cross_entropy", ref.binary_cross_entropy), ("binary_cross_entropy", bce_where),
    ("binary_cross_entropy", bce_loop),
    ("binary_cross_entropy_from_logits", ref.binary_cross_entropy_from_logits),
    ("binary_cross_entropy_from_logits", logits_softplus), ("binary_cross_entropy_from_logits", logits_by_label),
    ("categorical_cross_entropy", ref.categorical_cross_entropy), ("categorical_cross_entropy", cce_picked),
    ("categorical_cross_entropy", cce_einsum),
    ("sparse_cross_entropy_from_logits", ref.sparse_cross_entropy_from_logits),
    ("sparse_cross_entropy_from_logits", sparse_scipy), ("sparse_cross_entropy_from_logits", sparse_loop),
    ("softmax_cross_entropy_gradient", ref.softmax_cross_entropy_gradient),
    ("softmax_cross_entropy_gradient", gradient_log_softmax),
    ("logistic_gradients", ref.logistic_gradients), ("logistic_gradients", logistic_loop),
    ("logistic_gradients", logistic_float32),
    ("xor_gradients", ref.xor_gradients), ("xor_gradients", xor_einsum),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementations_pass(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# wrong, and named by no known mistake ------------------------------------------------

def _scaled(fn, factor):
    def wrong(*args, **kwargs):
        value = fn(*args, **kwargs)
        return tuple(np.asarray(v) * factor for v in value) if isinstance(value, tuple) else value * factor
    return wrong


UNKNOWN = [
    ("mse_mae", lambda t, p: (ref.mse_mae(t, p)[0], float(np.median(np.abs(np.asarray(p) - t))))),
    ("binary_cross_entropy", lambda y, p, eps=1e-7: ref.binary_cross_entropy(y, p, eps) / np.log(10)),
    ("binary_cross_entropy_from_logits", _scaled(ref.binary_cross_entropy_from_logits, 0.5)),
    ("categorical_cross_entropy", lambda y, p, eps=1e-7: ref.categorical_cross_entropy(y, p, eps) + 0.01),
    ("sparse_cross_entropy_from_logits", lambda labels, z: ref.sparse_cross_entropy_from_logits(labels, z) ** 2),
    ("softmax_cross_entropy_gradient", _scaled(ref.softmax_cross_entropy_gradient, 0.5)),
    ("logistic_gradients", _scaled(ref.logistic_gradients, 1.5)),
    ("xor_gradients", _scaled(ref.xor_gradients, 0.9)),
]


@pytest.mark.parametrize(("exercise", "implementation"), UNKNOWN, ids=case_ids(UNKNOWN))
def test_a_mistake_nobody_named_gets_no_cause(exercise, implementation):
    feedback = first_failure(LAB, exercise, implementation)
    assert feedback is not None, "a wrong implementation passed"
    messages = load_lab(LAB).exercise(exercise).messages
    named = [key for key, message in messages.items() if message.replace("*", "").replace("`", "") in feedback]
    assert named == [], f"blamed on {named}"


# the cases ---------------------------------------------------------------------------

def test_the_course_number_is_a_public_case():
    cases = load_lab(LAB).public_cases()
    assert round(cases["binary_cross_entropy"][0].expected, 4) == 0.2231
    assert round(ref.categorical_cross_entropy([[1.0, 0.0, 0.0]], [[0.8, 0.1, 0.1]]), 4) == 0.2231


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_hidden_cases_saturate_and_overflow(seed):
    cases = load_lab(LAB).hidden_cases(seed)
    probabilities = np.concatenate([np.ravel(c.args[1]) for c in cases["binary_cross_entropy"]])
    assert {0.0, 1.0} <= set(probabilities)
    logits = np.concatenate([np.ravel(c.args[1]) for c in cases["binary_cross_entropy_from_logits"]])
    assert np.any(logits >= 40) and np.any(logits <= -40) and np.any(np.abs(logits) > 709)
    assert any(len(c.args[0]) == 1 for c in cases["sparse_cross_entropy_from_logits"])
    assert any(np.shape(c.args[1])[1] == 1 for c in cases["sparse_cross_entropy_from_logits"])
    assert all(np.asarray(c.args[0]).dtype.kind == "i" for c in cases["sparse_cross_entropy_from_logits"])
    assert any("eps" in c.kwargs for c in cases["categorical_cross_entropy"])


def test_the_saturated_mistakes_are_named_by_their_inf_or_nan():
    """Unclipped logs give inf or nan, by how the formula is written: both are the one mistake."""
    def unclipped_where(y_true, p, eps=1e-7):
        p = np.asarray(p, dtype=float)
        with np.errstate(divide="ignore"):
            return float(np.mean(np.where(np.asarray(y_true) == 1, -np.log(p), -np.log(1 - p))))

    feedback = first_failure(LAB, "binary_cross_entropy", unclipped_where)
    assert feedback is not None and "log(0) = −inf" in feedback, feedback


@pytest.mark.parametrize("exercise", NUMPY_EXERCISES)
def test_the_blank_stub_is_not_implemented(exercise):
    namespace = {}
    exec(f"def {exercise}(*args, **kwargs):\n    raise NotImplementedError({exercise!r})", namespace)  # noqa: S102
    stub = namespace[exercise]
    assert "not implemented yet" in first_failure(LAB, exercise, stub, seeds=(0,))


# the clip-then-log causes, through the real grader, under several course secrets ------

SIGMOID_THEN_CLIP_FLOAT32 = '''def binary_cross_entropy_from_logits(y_true, z):
    z = np.asarray(z, dtype=np.float32)
    p = np.clip(1 / (1 + np.exp(-z)), 1e-7, 1 - 1e-7)
    y = np.asarray(y_true, dtype=np.float32)
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
'''

SOFTMAX_THEN_CLIP_FLOAT32 = '''def sparse_cross_entropy_from_logits(labels, z):
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = np.clip(e / e.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))
'''

SIGMOID_THEN_CLIP = SIGMOID_THEN_CLIP_FLOAT32.replace("np.float32", "float")
SOFTMAX_THEN_CLIP = SOFTMAX_THEN_CLIP_FLOAT32.replace("np.float32", "float")


@pytest.mark.parametrize(("sources", "causes"), [
    ((SIGMOID_THEN_CLIP_FLOAT32, SOFTMAX_THEN_CLIP_FLOAT32),
     ("sigmoid_then_clip_float32", "softmax_then_clip_float32")),
    ((SIGMOID_THEN_CLIP, SOFTMAX_THEN_CLIP), ("sigmoid_then_clip", "softmax_then_clip")),
], ids=["float32", "float64"])
@pytest.mark.parametrize("secret", ["course-a", "course-b", "course-c"])
def test_the_clip_then_log_causes_are_named_by_the_grader(tmp_path, sources, causes, secret):
    """Float32 clips at 1 − 1.19e-7 (15.94 per sure, wrong example, not 16.12): named all the same."""
    import json

    from conftest import replace_function, solution_notebook, without_keras

    from autograder.grading import GradingOptions, grade_notebook
    from autograder.sandbox import isolation

    notebook = without_keras(json.loads(solution_notebook(LAB).read_text(encoding="utf-8")), LAB)
    for name, source in zip(("binary_cross_entropy_from_logits", "sparse_cross_entropy_from_logits"), sources):
        notebook = replace_function(notebook, name, source)
    path = tmp_path / f"{LAB}.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    options = GradingOptions(secret=secret, isolation=isolation.mode(("sandbox", "trusted"))[0])
    results = {e.name: e for e in grade_notebook(path, "ada", options, LAB).exercises}
    messages = {name: load_lab(LAB).exercise(name).messages for name in results}
    for name, cause in zip(("binary_cross_entropy_from_logits", "sparse_cross_entropy_from_logits"), causes):
        assert results[name].score == 0 and results[name].cause == cause, results[name].feedback
        assert messages[name][cause].split(":")[0] in results[name].feedback
