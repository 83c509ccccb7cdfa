"""Lab 01's Keras exercise, keras_descent, judged with real TensorFlow: solution, mistakes, alternatives, grader."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import ROOT, assert_fails_with, first_failure, release_notebook, solution_notebook

from autograder import batch
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.hidden import lab01 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

LAB = "01_gradient_descent"
EXERCISE = "keras_descent"


@pytest.fixture(autouse=True)
def default_floatx():
    """Each test starts where the grader's child does, in Keras's default float32: a solution may change it."""
    previous = keras.config.floatx()
    keras.config.set_floatx("float32")
    yield
    keras.config.set_floatx(previous)


def polynomial(coefficients, x):
    return sum(c * x**k for k, c in enumerate(coefficients))


def descent(coefficients, x0, learning_rate, num_steps, *, dtype=tf.float64, floatx="float64", sign=1.0,
            record_start=True):
    """The solution's loop, with one knob per known mistake."""
    if floatx:
        keras.config.set_floatx(floatx)
    x = tf.Variable(x0, dtype=dtype)
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    trajectory = [x.numpy()] if record_start else []
    for _ in range(num_steps):
        with tf.GradientTape() as tape:
            loss = polynomial(coefficients, x)
        optimizer.apply_gradients([(sign * tape.gradient(loss, x), x)])
        trajectory.append(x.numpy())
    return np.array(trajectory)


# correct but different ---------------------------------------------------------------

def with_optimizer_apply(coefficients, x0, learning_rate, num_steps):
    keras.config.set_floatx("float64")
    x = tf.Variable(float(x0), dtype="float64")
    optimizer = keras.optimizers.SGD(learning_rate)
    xs = [float(x.numpy())]
    for _ in range(num_steps):
        with tf.GradientTape() as tape:
            loss = polynomial(coefficients, x)
        optimizer.apply([tape.gradient(loss, x)], [x])
        xs.append(float(x.numpy()))
    return xs


def with_assign_sub(coefficients, x0, learning_rate, num_steps):
    """No optimizer and no floatx: a float64 Python learning rate times a float64 gradient."""
    x = tf.Variable(x0, dtype=tf.float64)
    xs = np.empty(num_steps + 1)
    xs[0] = x.numpy()
    for t in range(num_steps):
        with tf.GradientTape() as tape:
            loss = polynomial(coefficients, x)
        x.assign_sub(learning_rate * tape.gradient(loss, x))
        xs[t + 1] = x.numpy()
    return xs


def with_keras_ops_horner(coefficients, x0, learning_rate, num_steps):
    keras.config.set_floatx("float64")
    x = keras.Variable(x0, dtype="float64")
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    xs = [keras.ops.convert_to_numpy(x)]
    for _ in range(num_steps):
        with tf.GradientTape() as tape:
            loss = keras.ops.zeros((), dtype="float64")
            for c in reversed(coefficients):
                loss = keras.ops.add(keras.ops.multiply(loss, x), c)
        optimizer.apply_gradients([(tape.gradient(loss, x), x)])
        xs.append(keras.ops.convert_to_numpy(x))
    return np.stack(xs)


def with_traced_step(coefficients, x0, learning_rate, num_steps):
    keras.config.set_floatx("float64")
    x = tf.Variable(x0, dtype=tf.float64)
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    optimizer.build([x])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = polynomial(coefficients, x)
        optimizer.apply_gradients([(tape.gradient(loss, x), x)])

    xs = [x.numpy()]
    for _ in range(num_steps):
        step()
        xs.append(x.numpy())
    return np.array(xs)


CORRECT = [descent, with_optimizer_apply, with_assign_sub, with_keras_ops_horner, with_traced_step]


@pytest.mark.parametrize("implementation", CORRECT, ids=lambda f: f.__name__)
def test_correct_implementation_passes(implementation):
    assert first_failure(LAB, EXERCISE, implementation) is None


def test_the_reference_agrees_with_the_course_numbers():
    np.testing.assert_allclose(descent([0.0, 0.0, 1.0], 3.0, 0.1, 10), 3.0 * 0.8 ** np.arange(11), rtol=1e-14)
    np.testing.assert_allclose(ref.keras_descent([0.0, 0.0, 1.0], 3.0, 0.1, 10), 3.0 * 0.8 ** np.arange(11),
                               rtol=1e-14)


# real mistakes -------------------------------------------------------------------------

def not_implemented(coefficients, x0, learning_rate, num_steps):
    raise NotImplementedError("keras_descent")


def float32_variable(coefficients, x0, learning_rate, num_steps):
    """tf.Variable(x0) without a dtype, in the default floatx."""
    return descent(coefficients, x0, learning_rate, num_steps, dtype=None, floatx=None)


def float32_learning_rate(coefficients, x0, learning_rate, num_steps):
    """A float64 variable, but SGD built in the default floatx: 0.1 becomes 0.10000000149."""
    return descent(coefficients, x0, learning_rate, num_steps, floatx=None)


def float32_returned(coefficients, x0, learning_rate, num_steps):
    return descent(coefficients, x0, learning_rate, num_steps).astype(np.float32)


def records_after_update(coefficients, x0, learning_rate, num_steps):
    return descent(coefficients, x0, learning_rate, num_steps, record_start=False)


def negated_gradient(coefficients, x0, learning_rate, num_steps):
    return descent(coefficients, x0, learning_rate, num_steps, sign=-1.0)


def polyval_order(coefficients, x0, learning_rate, num_steps):
    return descent(list(reversed(coefficients)), x0, learning_rate, num_steps)


WRONG = [
    (not_implemented, "NotImplementedError"),
    (float32_variable, "tf.Variable(x0, dtype=tf.float64)"),
    (float32_learning_rate, "keeps its learning rate in floatx"),
    (float32_returned, "to about 7 digits only"),
    (records_after_update, "record x0 before the first update"),
    (negated_gradient, "Your steps go uphill"),
    (polyval_order, "lowest power first"),
]


@pytest.mark.parametrize(("implementation", "message"), WRONG, ids=[f.__name__ for f, _ in WRONG])
def test_mistake_fails_with_its_message(implementation, message):
    assert_fails_with(LAB, EXERCISE, implementation, message)


# through the real grader ---------------------------------------------------------------

def grade(path):
    from autograder.grading import GradingOptions, grade_notebook
    from autograder.sandbox import isolation

    options = GradingOptions(secret="tests-secret", hidden_paths=batch.secret_paths(ROOT, [], None),
                             isolation=isolation.mode(("sandbox", "trusted"))[0])
    return grade_notebook(path, "student", options, LAB)


def test_the_solution_notebook_gets_full_marks_from_the_grader():
    result = grade(solution_notebook(LAB))
    keras_result = next(e for e in result.exercises if e.name == EXERCISE)
    assert keras_result.score == keras_result.max_score == 2, keras_result.feedback
    assert result.score == result.max_score, [(e.name, e.feedback) for e in result.exercises if e.score < e.max_score]


def test_the_blank_release_gets_zero_for_the_keras_exercise():
    result = grade(release_notebook(LAB))
    keras_result = next(e for e in result.exercises if e.name == EXERCISE)
    assert keras_result.score == 0
    assert keras_result.feedback == f"Lab 01 · {EXERCISE}: {NOT_IMPLEMENTED}", keras_result.feedback

