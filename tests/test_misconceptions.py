"""Every known mistake gets exactly its own message; a mistake no one has named gets no cause at all."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

from autograder import checks
from autograder.calls import first_failure, run_case

SEEDS = (0, 1, 2)


def _plain(text: str) -> str:
    """Messages may be rendered without their markdown emphasis: compare the words."""
    return re.sub(r"[*`]", "", text)


def _known_mistakes():
    """(lab, exercise, key, implementation) for every ``*_MISTAKES`` entry of every hidden module."""
    rows = []
    for lab_id in checks.lab_ids():
        lab = checks.load_lab(lab_id)
        module = importlib.import_module(lab.hidden_module)
        tables = [v for k, v in vars(module).items() if k.endswith("_MISTAKES") and isinstance(v, dict)]
        for exercise in lab.exercises:
            if exercise.probe or any("{" in m for m in exercise.messages.values()):
                continue  # probes' messages are chosen by their comparators, and tested in the lab's own file
            for table in tables:
                if table and set(table) <= set(exercise.messages):
                    rows += [(lab_id, exercise.name, key, fn) for key, fn in table.items()]
    return rows


KNOWN = _known_mistakes()


def _feedback(lab_id: str, exercise_name: str, fn) -> str | None:
    lab = checks.load_lab(lab_id)
    exercise = lab.exercise(exercise_name)
    cases = list(lab.public_cases()[exercise_name])
    for seed in SEEDS:
        cases += lab.hidden_cases(seed)[exercise_name]
    return first_failure(lab, exercise, cases, (run_case(fn, c, exercise.probe) for c in cases))


def test_every_lab_has_known_mistakes_to_check():
    assert {lab for lab, *_ in KNOWN} == set(checks.lab_ids())


@pytest.mark.parametrize(("lab_id", "exercise", "key", "fn"), KNOWN, ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in KNOWN])
def test_a_known_mistake_gets_exactly_its_own_message(lab_id, exercise, key, fn):
    messages = checks.load_lab(lab_id).exercise(exercise).messages
    feedback = _feedback(lab_id, exercise, fn)
    assert feedback is not None, f"{key} passes every case"
    assert _plain(messages[key]) in _plain(feedback)
    others = [k for k, m in messages.items() if k != key and _plain(m) != _plain(messages[key])
              and _plain(m) in _plain(feedback)]
    assert others == [], f"{key} was also told {others}"


def _nudged(fn, factor=1.03):
    def wrong(*args, **kwargs):
        return np.asarray(fn(*args, **kwargs), dtype=float) * factor
    return wrong


def _unknown_mistakes():
    from autograder.hidden import lab01, lab02, lab04

    return [
        ("01_gradient_descent", "central_difference", lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / (2 * h) + 0.25),
        ("01_gradient_descent", "gradient_descent_1d", _nudged(lab01.gradient_descent_1d)),
        ("01_gradient_descent", "descend_from_starts", lambda df, starts, lr, n: np.zeros(len(starts))),
        ("02_gradient_checking", "numerical_gradient", _nudged(lab02.numerical_gradient, 0.9)),
        ("02_gradient_checking", "relative_error", lambda a, b, eps=1e-12: np.sqrt(lab02.relative_error(a, b, eps))),
        ("04_backpropagation", "squared_error", lambda w, X, y: lab04.squared_error(w, X, y) + 1.0),
        ("04_backpropagation", "backward", _nudged(lab04.backward, -0.5)),
        ("05_training_loop", "predict", lambda X, w, b: np.asarray(X, dtype=float) * w + b + 0.5),
        ("05_training_loop", "mse", lambda y_pred, y: float(np.median((np.asarray(y_pred) - y) ** 2))),
        ("05_training_loop", "sgd_step", lambda w, b, dw, db, lr: (w - lr * dw, b)),
    ]


UNKNOWN = _unknown_mistakes()


@pytest.mark.parametrize(("lab_id", "exercise", "fn"), UNKNOWN,
                         ids=[f"{r[0]}-{r[1]}-{i}" for i, r in enumerate(UNKNOWN)])
def test_a_mistake_nobody_named_gets_no_cause(lab_id, exercise, fn):
    messages = checks.load_lab(lab_id).exercise(exercise).messages
    feedback = _feedback(lab_id, exercise, fn)
    assert feedback is not None, "a wrong implementation passed"
    named = [k for k, m in messages.items() if _plain(m) in _plain(feedback)]
    assert named == [], f"blamed on {named}"
