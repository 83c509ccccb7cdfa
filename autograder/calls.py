"""Calling a student function on one case, the same way in a notebook and in the sandbox.

Inputs are copied before the call and compared afterwards, so an exercise that changes
its caller's arrays in place is caught. What comes back is JSON-ready data only.
"""

from __future__ import annotations

import copy
import functools
import os
import traceback
import warnings

import numpy as np

from autograder import encoding
from autograder.checks.core import Case, ErrorInfo, Exercise, Judged, Lab, Outcome, Verdict, judge_case, judge_outcomes
from autograder.feedback import Feedback
from autograder.functions import materialize

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_TRACEBACK = 2000


def student_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` restricted to frames outside the grader's own files."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    if not frames:
        return ""
    text = "".join(traceback.format_list(frames)).rstrip()
    return text[-MAX_TRACEBACK:]


def _error(exc: BaseException) -> dict:
    try:
        message = str(exc)[:500]
    except Exception:  # noqa: BLE001 - a student exception may fail to print
        message = "(message could not be shown)"
    return {"type": type(exc).__name__, "message": message, "traceback": student_traceback(exc)}


def _arg_names(case: Case) -> list[str]:
    return [f"argument {i + 1}" for i in range(len(case.args))] + list(case.kwargs)


def _mutated(before: list, after: list, names: list[str]) -> list[str]:
    changed = []
    for name, b, a in zip(names, before, after):
        if isinstance(b, np.ndarray) and not (isinstance(a, np.ndarray) and a.shape == b.shape
                                              and np.array_equal(a, b, equal_nan=True)):
            changed.append(name)
        elif isinstance(b, list) and encoding.encode(b) != encoding.encode(a):
            changed.append(name)
    return changed


def run_case(fn, case: Case, probe: str | None = None, settle=None) -> dict:
    """Calls ``fn`` on ``case``'s inputs and returns the JSON-ready outcome.

    With ``probe`` (an :attr:`Exercise.probe` name) the probe is called instead, as
    ``probe(fn, *args, **kwargs)``, and its return value is the outcome's value.
    ``settle``, if given, is called as soon as the student's code returns or raises,
    before this module looks at the result (the sandbox undoes patches of builtins there).
    """
    if probe is not None:
        from autograder.probes import resolve

        fn = functools.partial(resolve(probe), fn)
    args = list(materialize(copy.deepcopy(list(case.args))))
    kwargs = materialize(copy.deepcopy(dict(case.kwargs)))
    originals = list(case.args) + list(case.kwargs.values())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a warning is not a wrong answer: the value is judged
            try:
                value = fn(*args, **kwargs)
            finally:
                if settle is not None:
                    settle()
    except Exception as exc:  # noqa: BLE001 - any student error becomes feedback
        return {"error": _error(exc)}
    mutated = _mutated(originals, args + list(kwargs.values()), _arg_names(case))
    return {"value": encoding.encode(value), "mutated": mutated}


def outcome_from_json(data: dict) -> Outcome:
    """Rebuilds an :class:`Outcome` from :func:`run_case`'s data, validating its shape."""
    if not isinstance(data, dict):
        raise ValueError("an outcome must be a JSON object")
    if "error" in data:
        err = data["error"]
        return Outcome(error=ErrorInfo(str(err.get("type", "Error"))[:100], str(err.get("message", ""))[:500],
                                       str(err.get("traceback", ""))[:MAX_TRACEBACK]))
    mutated = tuple(str(m)[:50] for m in data.get("mutated", ())[:10])
    return Outcome(value=encoding.decode(data["value"]), mutated=mutated)


def judge_all(lab: Lab, exercise: Exercise, cases, raw_outcomes, *, show_hidden_values: bool = False) -> Verdict:
    """Judges every case of an exercise together (a cause is named only if all of them agree on it).

    ``raw_outcomes`` (:func:`run_case` data) is read alongside ``cases``; a generator of
    calls works, and every case is run.
    """
    judged = []
    for case, raw in zip(cases, raw_outcomes):
        try:
            outcome = outcome_from_json(raw)
        except (ValueError, KeyError, TypeError, AttributeError):
            judged.append(Judged(case, False, feedback=Feedback(
                lab.prefix(exercise.name), "the value your function returned could not be read.", case=case.label)))
            continue
        judged.append(judge_case(lab, exercise, case, outcome))
    return judge_outcomes(lab, exercise, judged, show_hidden_values=show_hidden_values)


def first_failure(lab: Lab, exercise: Exercise, cases, raw_outcomes) -> str | None:
    """The feedback text of an exercise's outcomes (see :func:`judge_all`), or None when all pass."""
    verdict = judge_all(lab, exercise, cases, raw_outcomes)
    return None if verdict.passed else verdict.feedback.text()
