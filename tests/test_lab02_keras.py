"""Lab 02's Keras exercise, bowl_tape_gradient, judged on real TensorFlow: solutions pass, mistakes get their message.

Keras keeps its default floatx (float32) here, as in the grader, which never runs the notebook's
`set_floatx` cell: a solution that relies on floatx must fail as float32.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder import checks
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.grading import GradingOptions
from autograder.hidden import lab02 as ref
from autograder.sandbox import isolation

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

LAB = "02_gradient_checking"
EXERCISE = "bowl_tape_gradient"


# correct, as the notebook's solution and otherwise ------------------------------------

def tape_with_variable(scales, x):
    scales = tf.constant(scales, dtype=tf.float64)
    x = tf.Variable(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(scales * x**2)
    return tape.gradient(loss, x).numpy()


def tape_watching_a_constant(scales, x):
    x = tf.constant(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.tensordot(tf.constant(scales, dtype=tf.float64), x * x, axes=1)
    return np.asarray(tape.gradient(loss, x))


def tape_with_keras_ops(scales, x):
    x = keras.Variable(x, dtype="float64")
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(keras.ops.multiply(np.asarray(scales, dtype=float), keras.ops.square(x)))
    return keras.ops.convert_to_numpy(tape.gradient(loss, x))


def tape_on_numpy_input(scales, x):
    x = tf.Variable(np.asarray(x, dtype=float))  # a float64 array keeps its dtype: only lists default to float32
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(np.asarray(scales, dtype=float) * tf.square(x))
    return tape.gradient(loss, x).numpy()


CORRECT = [(EXERCISE, fn) for fn in (tape_with_variable, tape_watching_a_constant, tape_with_keras_ops,
                                     tape_on_numpy_input)]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# the known mistakes, in TensorFlow ------------------------------------------------------

def tape_in_float32(scales, x):
    scales, x = tf.constant(scales), tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(scales * x**2)
    return tape.gradient(loss, x).numpy()


def tape_in_floatx(scales, x):
    x = keras.Variable(x)  # floatx: float32 unless set_floatx ran, which the grader never does
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(keras.ops.convert_to_tensor(scales) * keras.ops.square(x))
    return keras.ops.convert_to_numpy(tape.gradient(loss, x))


def tape_without_square(scales, x):
    scales, x = tf.constant(scales, dtype=tf.float64), tf.Variable(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(scales * x)
    return tape.gradient(loss, x).numpy()


def tape_of_a_mean(scales, x):
    scales, x = tf.constant(scales, dtype=tf.float64), tf.Variable(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(scales * x**2)
    return tape.gradient(loss, x).numpy()


MISTAKES = [(tape_in_float32, "float32"), (tape_in_floatx, "float32"), (tape_without_square, "no_square"),
            (tape_of_a_mean, "reduce_mean")]


@pytest.mark.parametrize(("implementation", "key"), MISTAKES, ids=[fn.__name__ for fn, _ in MISTAKES])
def test_mistake_fails_with_its_message(implementation, key):
    messages = checks.load_lab(LAB).exercise(EXERCISE).messages
    assert_fails_with(LAB, EXERCISE, implementation, messages[key])


@pytest.mark.parametrize("key", sorted(ref.TAPE_MISTAKES))
def test_the_hidden_stand_ins_give_what_the_real_mistakes_give(key):
    """The hidden module's NumPy stand-ins (the grader's parent never imports TF) equal real TensorFlow."""
    real = next(fn for fn, k in MISTAKES if k == key)
    exercise = checks.load_lab(LAB).exercise(EXERCISE)
    cases = list(ref.public_cases()[EXERCISE])
    for seed in range(4):
        cases += ref.hidden_cases(np.random.default_rng(seed))[EXERCISE]
    told_apart = [case for case in cases if key in case.wrong]
    assert told_apart
    for case in told_apart:
        received = real(*case.args)
        assert received.dtype == np.asarray(case.wrong[key]).dtype, case.label
        np.testing.assert_allclose(received, case.wrong[key], rtol=exercise.rtol, atol=exercise.atol,
                                   err_msg=case.label)


def tape_not_watched(scales, x):
    x = tf.constant(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.constant(scales, dtype=tf.float64) * x**2)
    return tape.gradient(loss, x).numpy()


def tape_left_as_a_tensor(scales, x):
    x = tf.Variable(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.constant(scales, dtype=tf.float64) * x**2)
    return tape.gradient(loss, x)


@pytest.mark.parametrize(("implementation", "message"), [
    (tape_not_watched, "raised AttributeError: 'NoneType' object has no attribute 'numpy'"),
    (tape_left_as_a_tensor, "returned a EagerTensor object, expected numbers"),
], ids=["not_watched", "tensor"])
def test_a_tape_that_returns_no_array_fails_with_what_happened(implementation, message):
    assert_fails_with(LAB, EXERCISE, implementation, message)


def test_the_stub_fails_as_not_implemented():
    def bowl_tape_gradient(scales, x):  # the release's stub, under its own name
        raise NotImplementedError("bowl_tape_gradient")

    assert_fails_with(LAB, EXERCISE, bowl_tape_gradient, NOT_IMPLEMENTED)


def test_the_public_cases_hold_the_course_bowl_and_one_float32_cannot_pass():
    first, second = ref.public_cases()[EXERCISE]
    np.testing.assert_array_equal(first.expected, [6.0, 8.0])
    assert "float32" not in first.wrong and "float32" in second.wrong


# through the real grader ----------------------------------------------------------------

def _options() -> GradingOptions:
    return GradingOptions(secret="tests-secret", isolation=isolation.mode(("sandbox", "trusted"))[0])
