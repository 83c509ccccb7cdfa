"""Lab 03 against TensorFlow: tf.GradientTape (float64) gives the reference's gradients.

The same programs the hidden checks draw are translated to TensorFlow operations and
differentiated by the tape; the nested function of seed 001 §3 too. Then the graded Keras
exercise, nested_tape_gradient, against real tapes: correct ones in several styles, each known
mistake with its own message, and the grader's TensorFlow child on the solution and the release.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_fails_with, first_failure, release_notebook

from autograder import checks
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.feedback import plain
from autograder.hidden import lab03 as ref
from autograder.probes import lab03 as probe

tf = pytest.importorskip("tensorflow")


def tape_gradients(program, inputs):
    """(y, ∂y/∂inputs) of ``program`` by tf.GradientTape, in float64."""
    xs = [tf.Variable(x, dtype=tf.float64) for x in inputs]
    with tf.GradientTape() as tape:
        nodes = list(xs)
        for op in program:
            nodes.append(probe.apply(op, nodes, relu=tf.nn.relu))
    grads = tape.gradient(nodes[-1], xs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return float(nodes[-1].numpy()), np.array([g.numpy() for g in grads])


@pytest.mark.parametrize("seed", range(5))
def test_tape_gives_the_reference_gradients_on_hidden_programs(seed):
    for case in ref.hidden_cases(np.random.default_rng(seed))["Value"]:
        data, grads = tape_gradients(*case.args)
        assert data == pytest.approx(float(case.expected[0]), rel=1e-12)
        np.testing.assert_allclose(grads, case.expected[1], rtol=1e-12, atol=1e-12)


def test_tape_gives_the_reference_gradients_on_public_programs():
    for case in ref.public_cases()["Value"]:
        data, grads = tape_gradients(*case.args)
        assert data == pytest.approx(float(case.expected[0]), rel=1e-12)
        np.testing.assert_allclose(grads, case.expected[1], rtol=1e-12, atol=1e-12)


def test_tape_reproduces_the_course_numbers():
    x = tf.Variable(2.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = x**3 + 2 * x**2 + x + 1
    assert tape.gradient(y, x).numpy() == 21.0


@pytest.mark.parametrize("point", [(1.0, 2.0), (-1.5, 0.5), (0.37, -1.21), (2.0, -3.5)])
def test_tape_on_the_nested_function_equals_nested_backward(point):
    x1, x2 = (tf.Variable(p, dtype=tf.float64) for p in point)
    with tf.GradientTape() as tape:
        u = 2 * x1 + x2
        v = u**2 + 3 * x2**2
        f = v**3
    grads = [g.numpy() for g in tape.gradient(f, [x1, x2])]
    np.testing.assert_allclose(grads, ref.nested_backward(*point), rtol=1e-12)
    assert float(f.numpy()) == pytest.approx(ref.nested_forward(*point)[2], rel=1e-12)


# the graded exercise: nested_tape_gradient ------------------------------------------------

EXERCISE = "nested_tape_gradient"
LAB = "03_chain_rule"


def tape_reference(x1, x2):
    """The solution notebook's: float64 variables, one tape, one gradient call."""
    x1 = tf.Variable(x1, dtype=tf.float64)
    x2 = tf.Variable(x2, dtype=tf.float64)
    with tf.GradientTape() as tape:
        u = 2 * x1 + x2
        v = u**2 + 3 * x2**2
        f = v**3
    df_dx1, df_dx2 = tape.gradient(f, [x1, x2])
    return float(df_dx1), float(df_dx2)


def tape_with_keras_ops(x1, x2):
    from keras import ops

    x1, x2 = tf.Variable(x1, dtype="float64"), tf.Variable(x2, dtype="float64")
    with tf.GradientTape() as tape:
        f = ops.power(ops.square(ops.add(ops.multiply(2.0, x1), x2)) + ops.multiply(3.0, ops.square(x2)), 3)
    return tuple(float(g) for g in tape.gradient(f, [x1, x2]))


def tape_watching_constants(x1, x2):
    xs = tf.constant([x1, x2], dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(xs)
        f = ((2 * xs[0] + xs[1]) ** 2 + 3 * xs[1] ** 2) ** 3
    return tape.gradient(f, xs).numpy()  # a 1-D float64 array


def tape_persistent_two_calls(x1, x2):
    x1, x2 = tf.Variable(np.float64(x1)), tf.Variable(np.float64(x2))  # dtype read from NumPy's float64
    with tf.GradientTape(persistent=True) as tape:
        f = tf.pow(tf.square(2 * x1 + x2) + 3 * tf.square(x2), 3)
    grads = tape.gradient(f, x1), tape.gradient(f, x2)
    del tape
    return tuple(np.float64(g.numpy()) for g in grads)


def nested_forward(x1, x2):
    """The solution notebook's forward pass: plain arithmetic, so it runs on tensors too."""
    u = 2 * x1 + x2
    v = u**2 + 3 * x2**2
    return u, v, v**3


def tape_through_nested_forward(x1, x2):
    variables = [tf.Variable(x, dtype=tf.float64) for x in (x1, x2)]
    with tf.GradientTape() as tape:
        f = nested_forward(*variables)[2]
    return [float(g) for g in tape.gradient(f, variables)]


def tape_in_float32(x1, x2):
    x1, x2 = tf.Variable(x1), tf.Variable(x2)  # a Python float makes a float32 variable
    with tf.GradientTape() as tape:
        f = ((2 * x1 + x2) ** 2 + 3 * x2**2) ** 3
    return tuple(float(g) for g in tape.gradient(f, [x1, x2]))


def tape_in_float32_returning_arrays(x1, x2):
    x1, x2 = tf.Variable(x1, dtype=tf.float32), tf.Variable(x2, dtype=tf.float32)
    with tf.GradientTape() as tape:
        u = 2 * x1 + x2
        f = (tf.square(u) + 3 * tf.square(x2)) ** 3
    return tuple(g.numpy() for g in tape.gradient(f, [x1, x2]))  # float32 scalars


def tape_of_v(x1, x2):
    x1, x2 = tf.Variable(x1, dtype=tf.float64), tf.Variable(x2, dtype=tf.float64)
    with tf.GradientTape() as tape:
        u = 2 * x1 + x2
        v = u**2 + 3 * x2**2
        f = v**3  # noqa: F841 - computed, then the wrong node differentiated: the mistake under test
    return tuple(float(g) for g in tape.gradient(v, [x1, x2]))


def tape_of_u(x1, x2):
    x1, x2 = tf.Variable(x1, dtype=tf.float64), tf.Variable(x2, dtype=tf.float64)
    with tf.GradientTape() as tape:
        u = 2 * x1 + x2
        f = (u**2 + 3 * x2**2) ** 3  # noqa: F841 - the mistake under test differentiates u
    return tuple(float(g) for g in tape.gradient(u, [x1, x2]))


def tape_with_a_plain_x2_term(x1, x2):
    x1, x2 = tf.Variable(x1, dtype=tf.float64), tf.Variable(x2, dtype=tf.float64)
    with tf.GradientTape() as tape:
        u = 2 * x1 + x2
        v = u**2 + 3 * x2.numpy() ** 2  # a NumPy number: the tape does not see this path
        f = v**3
    return tuple(float(g) for g in tape.gradient(f, [x1, x2]))


@pytest.mark.parametrize("implementation", [tape_reference, tape_with_keras_ops, tape_watching_constants,
                                            tape_persistent_two_calls, tape_through_nested_forward,
                                            ref.nested_tape_gradient])
def test_correct_tapes_pass(implementation):
    assert first_failure(LAB, EXERCISE, implementation) is None


def tape_by_complex_step(x1, x2):
    """No tape at all: Im f(x + ih) / h is exact to the last digit (issue 21 §1)."""
    f = lambda a, b: ((2 * a + b) ** 2 + 3 * b**2) ** 3  # noqa: E731
    return f(x1 + 1e-30j, x2).imag / 1e-30, f(x1, x2 + 1e-30j).imag / 1e-30


MISTAKES = [
    (tape_by_complex_step, "complex_step"),
    (tape_in_float32, "float32"),
    (tape_in_float32_returning_arrays, "float32"),
    (tape_of_v, "gradient_of_v"),
    (tape_of_u, "gradient_of_u"),
    (tape_with_a_plain_x2_term, "dropped_direct"),
]


@pytest.mark.parametrize(("implementation", "key"), MISTAKES, ids=[m[0].__name__ for m in MISTAKES])
def test_each_tape_mistake_fails_with_its_own_message(implementation, key):
    assert_fails_with(LAB, EXERCISE, implementation, checks.load_lab(LAB).exercise(EXERCISE).messages[key])


@pytest.mark.parametrize(("implementation", "key"), MISTAKES, ids=[m[0].__name__ for m in MISTAKES])
def test_the_check_cell_alone_catches_each_tape_mistake(implementation, key):
    lab = checks.load_lab(LAB)
    feedback = first_failure(LAB, EXERCISE, implementation, seeds=())
    assert feedback is not None and plain(lab.exercise(EXERCISE).messages[key]) in feedback


@pytest.mark.parametrize("key", sorted(ref.TAPE_MISTAKES))
def test_the_hidden_mistakes_match_the_real_tape_mistakes(key):
    """The hidden module's NumPy stand-ins give what the real TensorFlow mistakes give."""
    real = dict((k, fn) for fn, k in MISTAKES)[key]
    exercise = checks.load_lab(LAB).exercise(EXERCISE)
    for seed in range(4):
        for case in ref.hidden_cases(np.random.default_rng(seed))[EXERCISE]:
            assert key in case.wrong
            received = probe.tape(real, *case.args)  # as the grader's child reports it
            assert exercise.compare(received, case.wrong[key], exercise) is None, case.label
            assert exercise.compare(received, case.expected, exercise) is not None, case.label


def test_the_released_stub_fails_as_not_implemented():
    cells = json.loads(release_notebook(LAB).read_text(encoding="utf-8"))["cells"]
    source = "".join(next(c["source"] for c in cells if c["metadata"]["nbgrader"]["grade_id"] == EXERCISE))
    assert source.rstrip().endswith('raise NotImplementedError("nested_tape_gradient")')
    assert "GradientTape() as" not in source  # the solution is gone, the docstring stays
    namespace = {"tf": tf}
    exec(source, namespace)
    assert first_failure(LAB, EXERCISE, namespace["nested_tape_gradient"]) == f"Lab 03 · {EXERCISE}: {NOT_IMPLEMENTED}"
