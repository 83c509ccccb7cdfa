"""What a check is: exercises, cases, and the judging of one outcome against one case.

A lab module declares its exercises (name, points, tolerances and the teaching message
for each known misconception). Cases are data: the inputs to call the student's function
with, the expected value, and the values that known wrong implementations would give.
Public cases ship with the release as JSON; hidden cases are drawn per grading run by
``autograder.hidden``, which students never receive. Judging happens here, in the
trusted process, on decoded data only.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder import encoding
from autograder.encoding import Unsupported

PUBLIC_CASES_DIR = Path(__file__).with_name("public")

NOT_IMPLEMENTED = "not implemented yet: replace the `raise NotImplementedError` line with your code."


@dataclass(frozen=True)
class Case:
    """One call of a student function and what it should return."""

    label: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expected: Any = None
    wrong: Mapping[str, Any] = field(default_factory=dict)
    accepted: Mapping[str, Any] = field(default_factory=dict)

    def inputs_json(self) -> dict:
        """The inputs alone: all that the student process ever gets of a case."""
        return {"args": encoding.encode(tuple(self.args)), "kwargs": encoding.encode(dict(self.kwargs))}

    def to_json(self) -> dict:
        return {
            "label": self.label,
            **self.inputs_json(),
            "expected": encoding.encode(self.expected),
            "wrong": encoding.encode(dict(self.wrong)),
            "accepted": encoding.encode(dict(self.accepted)),
        }

    @classmethod
    def from_json(cls, data: dict) -> Case:
        return cls(
            label=data["label"],
            args=encoding.decode(data["args"]),
            kwargs=encoding.decode(data["kwargs"]),
            expected=encoding.decode(data["expected"]),
            wrong=encoding.decode(data["wrong"]),
            accepted=encoding.decode(data.get("accepted", {"$dict": []})),
        )


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by student code, as text."""

    type: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class Outcome:
    """What one call of a student function produced, as decoded data."""

    value: Any = None
    error: ErrorInfo | None = None
    mutated: tuple[str, ...] = ()


Comparator = Callable[[Any, Any, "Exercise"], "str | None"]


@dataclass(frozen=True)
class Exercise:
    """A graded function: its name in the notebook, its points and how it is judged.

    ``messages`` maps a misconception key (the keys of ``Case.wrong``) to the hint shown
    when the student's value matches that misconception's value. ``compare`` decides
    whether a received value matches an expected one; it returns ``None`` for a match and
    a short description of the difference otherwise. A value that matches one of the
    case's ``accepted`` alternatives (another valid convention) passes too. ``builds_on``
    names earlier exercises that a natural solution calls, so that a failure can point
    the student at the root cause.

    ``show`` renders a received or expected value in feedback (default
    :func:`format_value`): a probe's report may carry more than a student should read.

    ``probe`` names a function in :mod:`autograder.probes` (``"lab03.autograd"``) that
    the student's object is handed to, with the case's inputs, instead of being called
    directly: the way to check a class (build a graph with the student's ``Value``, call
    ``backward()``, report the gradients) or to watch a training loop's behaviour. A
    probe is public code, runs beside the student's code and returns data only.
    """

    name: str
    points: int
    summary: str
    messages: Mapping[str, str] = field(default_factory=dict)
    rtol: float = 1e-7
    atol: float = 1e-10
    rtol_float32: float = 1e-4
    compare: Comparator | None = None
    time_limit: float = 5.0
    builds_on: tuple[str, ...] = ()
    probe: str | None = None
    show: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class Lab:
    """A lab's exercises, in notebook order."""

    id: str
    title: str
    exercises: tuple[Exercise, ...]
    hidden_module: str

    @property
    def number(self) -> str:
        return self.id.split("_", 1)[0]

    def prefix(self, exercise: str) -> str:
        """How feedback on ``exercise`` starts, e.g. ``Lab 01 · central_difference``."""
        return f"Lab {self.number} · {exercise}"

    @property
    def max_score(self) -> int:
        return sum(e.points for e in self.exercises)

    def exercise(self, name: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.name == name:
                return exercise
        raise KeyError(f"lab {self.id} has no exercise {name!r}")

    def public_cases(self) -> dict[str, list[Case]]:
        path = PUBLIC_CASES_DIR / f"{self.id}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        return {name: [Case.from_json(c) for c in cases] for name, cases in data.items()}

    def hidden_cases(self, seed: int) -> dict[str, list[Case]]:
        """Draws the hidden cases; raises ImportError where the hidden checks are absent."""
        module = importlib.import_module(self.hidden_module)
        return module.hidden_cases(np.random.default_rng(seed))


def format_value(value) -> str:
    """A short, readable rendering of a value for feedback."""
    if isinstance(value, list) and value and all(_is_number(v) for v in _flatten(value)):
        try:
            return format_value(np.asarray(value, dtype=float))
        except ValueError:  # ragged nested lists
            pass
    if isinstance(value, np.generic):
        return format_value(value.item())
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=6, threshold=12, edgeitems=3, separator=", ")
        return text if value.dtype == np.float64 or value.dtype.kind != "f" else f"{text} ({value.dtype})"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"{value:.4e} (exactly {len(str(abs(value)))} digits)"
    return repr(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def compare_values(received, expected, exercise: Exercise) -> str | None:
    """Default comparison: strings exactly, tuples elementwise, numbers with tolerance."""
    if isinstance(expected, str):
        if not isinstance(received, str):
            return f"returned {type(received).__name__} {format_value(received)}, expected a string"
        return None if received.strip().lower() == expected.lower() else "different label"
    if isinstance(expected, tuple):
        if not isinstance(received, (tuple, list)) or len(received) != len(expected):
            return f"expected a tuple of {len(expected)} values"
        for i, (r, e) in enumerate(zip(received, expected)):
            reason = compare_values(r, e, exercise)
            if reason:
                return f"item {i}: {reason}"
        return None
    return compare_numbers(received, expected, exercise)


def compare_numbers(received, expected, exercise: Exercise) -> str | None:
    """Compares numbers or arrays elementwise with the exercise's tolerances."""
    if isinstance(received, Unsupported):
        return f"returned a {received.type_name} object, expected numbers"
    if isinstance(received, list) and all(_is_number(v) for v in _flatten(received)):
        received = np.asarray(received)
    if not (_is_number(received) or isinstance(received, np.ndarray)):
        return f"returned {type(received).__name__}, expected {'an array' if np.ndim(expected) else 'a number'}"
    r, e = np.asarray(received), np.asarray(expected)
    if r.dtype.kind not in "biuf":
        return f"returned an array of dtype {r.dtype}, expected numbers"
    if r.shape != e.shape:
        return f"returned shape {r.shape}, expected shape {e.shape}"
    if not np.all(np.isfinite(r)) and np.all(np.isfinite(e)):
        return "contains NaN or infinity"
    rtol = max(exercise.rtol, exercise.rtol_float32) if r.dtype == np.float32 else exercise.rtol
    r64, e64 = r.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore"):
        close = (np.abs(r64 - e64) <= exercise.atol + rtol * np.abs(e64)) | (r64 == e64) | (
            np.isnan(r64) & np.isnan(e64))
    if np.all(close):
        return None
    if r.ndim == 0:
        return "different value"
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    index = first[0] if len(first) == 1 else first
    return f"first difference at index {index}: {format_value(r64[first])} instead of {format_value(e64[first])}"


def _flatten(values):
    for v in values:
        if isinstance(v, list):
            yield from _flatten(v)
        else:
            yield v


def judge(lab: Lab, exercise: Exercise, case: Case, outcome: Outcome) -> str | None:
    """Returns None when ``outcome`` passes ``case``, else the feedback for the student."""
    prefix = lab.prefix(exercise.name)
    if outcome.error is not None:
        return f"{prefix}: {describe_error(outcome.error, case)}"
    if outcome.mutated:
        names = ", ".join(outcome.mutated)
        return (f"{prefix}: {case.label}: your function changed its input {names} in place. "
                "Work on a copy (for example `np.array(x, dtype=float)`), so the caller's data stays as it was.")
    compare = exercise.compare or compare_values
    reason = compare(outcome.value, case.expected, exercise)
    if reason is None or any(compare(outcome.value, v, exercise) is None for v in case.accepted.values()):
        return None
    show = exercise.show or format_value
    seen = f"{case.label}: received {show(outcome.value)}, expected {show(case.expected)}"
    for key, wrong in case.wrong.items():
        if compare(outcome.value, wrong, exercise) is None:
            return f"{prefix}: {seen}. {exercise.messages[key]}"
    return f"{prefix}: {seen} ({reason})."


def describe_error(error: ErrorInfo, case: Case) -> str:
    """Feedback for a call that raised instead of returning."""
    if error.type == "NotImplementedError":
        return NOT_IMPLEMENTED
    if error.type == "MissingDefinition":
        return error.message
    if error.type in ("Timeout", "Crash", "Missing"):
        return f"{case.label}: {error.message}"
    text = f"{case.label}: your code raised {error.type}: {error.message}"
    return f"{text}\n{error.traceback}" if error.traceback else text
