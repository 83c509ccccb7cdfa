"""A case's mistake and alternative values are computed when first read, once, and are what drawing them at once
gives (autograder.hidden.LazyValues); judging reads them only where an exercise fails somewhere."""

from __future__ import annotations

import copy
import json
import pickle
import threading

import numpy as np
import pytest

from autograder import checks, hidden
from autograder.calls import judge_all, run_case
from autograder.checks.core import Judged, matched
from autograder.seeds import case_seed


def _drawn(lab, seed) -> str:
    cases = lab.hidden_cases(seed)
    return json.dumps({name: [case.to_json() for case in group] for name, group in cases.items()}, sort_keys=True)


@pytest.mark.parametrize("lab_id", checks.lab_ids())
def test_lazy_values_are_the_values_drawn_at_once(lab_id, monkeypatch):
    """Inputs, expected values, every mistake's and alternative's value, and the global NumPy generator's state
    after the draw are the same as when each case runs its mistakes while it is drawn."""
    lab = checks.load_lab(lab_id)
    for seed in (0, case_seed(lab_id, "lazy-values", "ada")):
        np.random.seed(7)
        lazy = _drawn(lab, seed)  # to_json reads each case's values only after the whole draw
        lazy_state = np.random.get_state()[1][:8].tolist()
        with monkeypatch.context() as patch:
            patch.setattr(hidden, "LazyValues", hidden._values)  # the same arguments: the values, computed now
            np.random.seed(7)
            eager = _drawn(lab, seed)
            eager_state = np.random.get_state()[1][:8].tolist()
        assert lazy == eager and lazy_state == eager_state


def _counting(calls: list):
    def minus_one(x):
        calls.append(threading.get_ident())
        return np.asarray(x) - 1.0

    def same(x):
        return np.asarray(x, dtype=float)

    def failing(x):
        raise ValueError("does not apply here")

    return {"minus_one": minus_one, "same": same, "failing": failing}


def test_values_are_computed_once_on_first_read_from_fresh_inputs():
    calls = []
    inputs = np.array([1.0, 2.0])
    case = hidden.build_case("c", (inputs,), lambda x: np.asarray(x, dtype=float), _counting(calls))
    assert calls == []  # drawing ran the reference only
    assert list(case.wrong) == ["minus_one"]  # equal to the reference, or raising: left out, as when drawn at once
    np.testing.assert_array_equal(case.wrong["minus_one"], [0.0, 1.0])
    assert len(case.wrong) == 1 and "same" not in case.wrong and dict(case.wrong).keys() == {"minus_one"}
    assert len(calls) == 1
    assert case.accepted == {}  # no alternatives: a plain empty dict, nothing to compute


def test_threads_reading_at_once_compute_the_values_once():
    calls = []
    values = hidden.LazyValues(_counting(calls), (np.arange(3.0),), {}, np.zeros(3))
    barrier = threading.Barrier(8)
    seen = []

    def read():
        barrier.wait()
        seen.append(values["minus_one"])

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(seen) == 8 and all(v is seen[0] for v in seen)


def test_a_copy_or_a_pickle_is_a_plain_dict_of_the_values():
    values = hidden.LazyValues(_counting([]), (np.arange(3.0),), {}, np.arange(3.0))
    for twin in (pickle.loads(pickle.dumps(values)), copy.deepcopy(values), copy.copy(values)):
        assert type(twin) is dict and twin.keys() == {"minus_one"}
        np.testing.assert_array_equal(twin["minus_one"], [-1.0, 0.0, 1.0])
    assert "minus_one" in repr(values)


def test_settle_computes_every_value_now():
    calls = []
    cases = [hidden.build_case(str(i), (np.full(2, float(i)),), lambda x: x, _counting(calls),
                               alternatives=_counting(calls)) for i in range(3)]
    hidden.settle(cases)
    assert len(calls) == 6
    for case in cases:
        dict(case.wrong), dict(case.accepted)
    assert len(calls) == 6


def test_an_exercise_that_passes_every_case_never_runs_its_mistakes():
    """The mistakes' values are worth computing only to accept an alternative or to name a cause."""
    from autograder.hidden import lab07

    lab = checks.load_lab("07_mlp")
    exercise = lab.exercise("standardize")
    cases = lab.hidden_cases(case_seed(lab.id, "lazy-values", "ben"))[exercise.name]
    lazy = [case.wrong for case in cases if isinstance(case.wrong, hidden.LazyValues)]
    assert lazy, "these cases have known mistakes to compute"
    verdict = judge_all(lab, exercise, cases, [run_case(lab07.standardize, case, exercise.probe) for case in cases])
    assert verdict.passed
    assert all(values._values is None for values in lazy)  # not one computed


@pytest.mark.parametrize("mistake", ["forward", "sign", "precedence"])
def test_a_failing_exercise_names_its_cause_from_values_computed_then(mistake):
    from autograder.hidden import lab01

    lab = checks.load_lab("01_gradient_descent")
    exercise = lab.exercise("central_difference")
    cases = lab.hidden_cases(case_seed(lab.id, "lazy-values", "cy"))[exercise.name]
    assert not any(isinstance(c.wrong, hidden.LazyValues) and c.wrong._values is not None for c in cases)
    verdict = judge_all(lab, exercise, cases,
                        [run_case(lab01.CENTRAL_MISTAKES[mistake], case, exercise.probe) for case in cases])
    assert not verdict.passed and verdict.cause == mistake
    assert mistake in verdict.feedback.text() or exercise.messages[mistake][:40] in verdict.feedback.text()


def test_matched_works_out_the_mistakes_a_value_matches():
    lab = checks.load_lab("01_gradient_descent")
    exercise = lab.exercise("central_difference")
    case = hidden.build_case("c", ((3.0, 0.0, 1.0), 2.0), lambda coef, x: 4.0,
                             {"five": lambda coef, x: 5.0, "six": lambda coef, x: 6.0})
    assert matched(exercise, Judged(case, False, 5.0, "different")) == frozenset({"five"})
    assert matched(exercise, Judged(case, False, 6.0, "different")) == frozenset({"six"})
    assert matched(exercise, Judged(case, False, 7.0, "different")) == frozenset()
