"""Every hidden case of every lab, under many course secrets, can be judged, and the reference passes it.

Drawing is the slow part (lab 05 trains, lab 01 descends hundreds of steps), so each lab gets as
many secrets as fit in a few seconds here; set HIDDEN_CASE_SECRETS=500 for the full sweep.
"""

from __future__ import annotations

import importlib
import json
import os

import numpy as np
import pytest

from autograder import checks, encoding
from autograder.calls import first_failure, run_case
from autograder.checks.core import Case
from autograder.seeds import case_seed

SECRETS = {"01_gradient_descent": 40, "02_gradient_checking": 150, "03_chain_rule": 60,
           "04_backpropagation": 40, "05_training_loop": 25}
JUDGED = 8  # secrets on which the reference is also run through the judging


def _finite(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (int, str, bool, type(None))):
        return True
    try:
        return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return True


@pytest.mark.parametrize("lab_id", checks.lab_ids())
def test_hidden_cases_are_judgeable_and_the_reference_passes_them(lab_id):
    lab = checks.load_lab(lab_id)
    reference = importlib.import_module(lab.hidden_module)
    count = int(os.environ.get("HIDDEN_CASE_SECRETS", SECRETS.get(lab_id, 20)))
    for index in range(count):
        secret = f"course-{index}"
        cases = lab.hidden_cases(case_seed(lab_id, secret))
        assert set(cases) == {e.name for e in lab.exercises}, secret
        for exercise in lab.exercises:
            # as the grader gets them: through JSON, with finite expected values
            decoded = [Case.from_json(json.loads(json.dumps(c.to_json(), allow_nan=False)))
                       for c in cases[exercise.name]]
            assert decoded, f"{secret}: no hidden case for {exercise.name}"
            for case in decoded:
                assert _finite(case.expected), f"{secret}: {exercise.name}: {case.label}"
            if exercise.profile == "tensorflow":  # judged with real TensorFlow in tests/test_labNN_keras.py
                continue
            if index < JUDGED:
                fn = getattr(reference, exercise.name)
                feedback = first_failure(lab, exercise, decoded,
                                         (run_case(fn, c, exercise.probe) for c in decoded))
                assert feedback is None, f"{secret}: {feedback}"


def test_the_largest_count_the_generator_can_draw_is_judged_exactly():
    """The generator's extreme (4 layers of 8, 499 values, biases): far beyond a float's range."""
    from autograder.hidden import lab01

    lab = checks.load_lab("01_gradient_descent")
    exercise = lab.exercise("count_combinations")
    case = lab01._count_case([8, 8, 8, 8], 499, include_biases=True)
    assert case.expected == 499 ** (3 * 64 + 24)
    decoded = Case.from_json(json.loads(json.dumps(case.to_json())))
    outcomes = [run_case(lab01.count_combinations, decoded)]
    assert first_failure(lab, exercise, [decoded], outcomes) is None
    assert encoding.decode(outcomes[0]["value"]) == case.expected
    assert first_failure(lab, exercise, [decoded], [run_case(lambda *a, **k: float(499 ** 200), decoded)])
