"""The shared judging helpers of autograder.checks.core: numbers that differ are never printed alike."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import calls
from autograder.checks.core import Case, Exercise, Lab, compare_numbers, format_pair

TIGHT = Exercise(name="loss", points=1, summary="a float64 loss", rtol=1e-10, rtol_float32=1e-10, atol=0.0)


def _loss_and_gradient(received, expected, exercise):
    """A lab-style compare: its own wording around core's comparison, and no ``show``."""
    for name, r, e in zip(("the loss", "the gradient"), received, expected):
        if reason := compare_numbers(r, e, exercise):
            return f"{name}: {reason}"
    return None


PAIR = Exercise(name="pair", points=1, summary="(loss, gradient)", rtol=1e-10, rtol_float32=1e-10, atol=0.0,
                compare=_loss_and_gradient)
LAB = Lab(id="98_core", title="Core", hidden_module="", exercises=(TIGHT, PAIR))


@pytest.mark.parametrize(("received", "expected"), [
    (0.49164397, 0.49164395),
    (float(np.float32(0.491644)), 0.491644),
    (1.0 + 2**-52, 1.0),
    (-123456.71, -123456.72),
])
def test_a_pair_that_differs_is_never_printed_alike(received, expected):
    shown, wanted = format_pair(received, expected)
    assert shown != wanted
    assert (float(shown) < float(wanted)) == (received < expected)


def test_a_pair_keeps_six_digits_where_they_tell_it_apart():
    assert format_pair(1.5, 3.0) == ("1.5", "3")
    assert format_pair(0.1234564, 0.1234574) == ("0.123456", "0.123457")


def test_the_first_difference_in_an_array_prints_the_digits_that_differ():
    expected = np.array([1.0, 0.491644, 2.0])
    received = expected.astype(np.float32)
    reason = compare_numbers(received, expected, TIGHT)
    shown, wanted = reason.rsplit(": ", 1)[1].split(" instead of ")
    assert reason.startswith("first difference at index 1: ")
    assert shown != wanted and shown.startswith("0.49164") and wanted.startswith("0.49164")


def test_feedback_shows_received_and_expected_apart_when_six_digits_read_the_same():
    expected = (0.491644, np.array([0.25, -0.5]))
    case = Case(label="one step", expected=expected)
    float32_loss = float(np.float32(0.491644))

    def student():
        return float32_loss, np.array([0.25, -0.5])

    feedback = calls.judge_all(LAB, PAIR, [case], [calls.run_case(student, case)]).feedback
    assert feedback.diagnosis.startswith("the loss: ")
    assert feedback.received != feedback.expected
    assert feedback.received.startswith("(0.49164") and feedback.expected.startswith("(0.491644")


def test_feedback_keeps_six_digits_where_they_already_read_differently():
    case = Case(label="one step", expected=(0.5, np.array([0.25, -0.5])))
    feedback = calls.judge_all(LAB, PAIR, [case], [calls.run_case(lambda: (0.75, np.array([0.25, -0.5])), case)])
    assert (feedback.feedback.received, feedback.feedback.expected) == ("(0.75, [0.25, -0.5])", "(0.5, [0.25, -0.5])")


FLOAT64 = Exercise(name="grad", points=1, summary="a float64 gradient", rtol_float32=1e-3, dtype="float64")


@pytest.mark.parametrize("received", [np.float32(0.5), np.array([0.5, 1.0], dtype=np.float32),
                                      np.array([0.5, 1.0], dtype=np.float16)])
def test_a_promised_float64_fails_other_floats_whatever_the_tolerance(received):
    expected = np.array([0.5, 1.0]) if np.ndim(received) else 0.5
    reason = compare_numbers(received, expected, FLOAT64)
    assert reason.startswith(f"returned {np.asarray(received).dtype} numbers where the docstring promises float64")
    assert compare_numbers(received, expected, Exercise(name="any", points=1, summary="", rtol_float32=1e-3)) is None


@pytest.mark.parametrize("received", [[0.5, 1.0], np.array([0.5, 1.0]), np.array([1, 2])])
def test_a_promised_float64_accepts_float64_lists_and_exact_ints(received):
    assert compare_numbers(received, np.array([0.5, 1.0]) if np.asarray(received).dtype.kind == "f" else
                           np.array([1.0, 2.0]), FLOAT64) is None
