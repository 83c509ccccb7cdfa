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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from autograder import encoding
from autograder.encoding import Unsupported
from autograder.feedback import Feedback

PUBLIC_CASES_DIR = Path(__file__).with_name("public")

NOT_IMPLEMENTED = "not implemented yet: replace the raise NotImplementedError line with your code."


@dataclass(frozen=True)
class Case:
    """One call of a student function and what it should return."""

    label: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expected: Any = None
    wrong: Mapping[str, Any] = field(default_factory=dict)
    accepted: Mapping[str, Any] = field(default_factory=dict)
    hidden: bool = False

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
            **({"hidden": True} if self.hidden else {}),
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
            hidden=bool(data.get("hidden", False)),
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

    ``profile`` is ``"tensorflow"`` for an exercise whose code uses TensorFlow or Keras: the
    grader runs it in a child of its own, with TensorFlow's threads and memory, so that the
    NumPy exercises never import it. Give such an exercise a ``time_limit`` that covers
    importing TensorFlow (about 5 s on a laptop).

    ``dtype`` (e.g. ``"float64"``) is the float dtype the docstring promises for returned numbers:
    :func:`compare_numbers` then fails floats of another dtype (float32 from float64 inputs) with a
    message of their own, whatever the tolerance would allow. None (the default) accepts any.
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
    profile: str = "numpy"
    dtype: str | None = None


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
        """Draws the hidden cases, marked ``hidden``; raises ImportError where the hidden checks are absent."""
        module = importlib.import_module(self.hidden_module)
        drawn = module.hidden_cases(np.random.default_rng(seed))
        return {name: [replace(case, hidden=True) for case in cases] for name, cases in drawn.items()}


def format_value(value, digits: int = 6, focus=None) -> str:
    """A short, one-line rendering of a value for feedback: ``[3, 3.6, 4.32, …, 18.58]``.

    Floats get ``digits`` significant digits; long arrays show their ends and, when
    ``focus`` (an index) is given, the entries around it. Ints are exact at any size.
    """
    if isinstance(value, list) and value and all(_is_number(v) for v in _flatten(value)):
        try:
            return format_value(np.asarray(value, dtype=float), digits, focus)
        except (ValueError, OverflowError):  # ragged nested lists, ints beyond a float
            pass
    if isinstance(value, np.generic):
        return format_value(value.item(), digits, focus)
    if isinstance(value, np.ndarray):
        text = _format_array(value, digits, focus)
        return text if value.dtype == np.float64 or value.dtype.kind != "f" else f"{text} ({value.dtype})"
    if isinstance(value, (float, np.floating)):
        return _format_float(float(value), digits)
    if isinstance(value, tuple):
        return "(" + ", ".join(format_value(v, digits) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return repr(value if len(value) <= 200 else value[:200] + "…")
    if isinstance(value, int) and not isinstance(value, bool):
        return _format_int(value)
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _format_float(x: float, digits: int) -> str:
    return f"{x:.{digits}g}".replace("e+", "e")


def _format_int(value: int) -> str:
    text = str(value)
    if len(text) <= 30:
        return text
    sign, body = ("-", text[1:]) if value < 0 else ("", text)
    return f"{sign}{body[:12]}…{body[-6:]} ({len(body)} digits)"


def _format_array(value: np.ndarray, digits: int, focus=None, edge: int = 3) -> str:
    if value.ndim == 0:
        return format_value(value.item(), digits)
    head = focus[0] if isinstance(focus, tuple) else focus
    rest = focus[1:] if isinstance(focus, tuple) and len(focus) > 1 else None
    n = len(value)
    shown = set(range(min(edge, n))) | {n - 1}
    if n <= 2 * edge + 2:
        shown = set(range(n))
    if head is not None and 0 <= head < n:
        shown |= {i for i in (head - 1, head, head + 1) if 0 <= i < n}
    parts, previous = [], -1
    for i in sorted(shown):
        if i > previous + 1:
            parts.append("…")
        item = value[i]
        parts.append(_format_array(item, digits, rest if i == head else None, edge)
                     if isinstance(item, np.ndarray) and item.ndim else _format_item(item, digits))
        previous = i
    return "[" + ", ".join(parts) + "]"


def _format_item(item, digits: int) -> str:
    if isinstance(item, (np.bool_, bool)):
        return str(bool(item))
    if isinstance(item, (np.floating, float)):
        return _format_float(float(item), digits)
    return format_value(item.item() if isinstance(item, np.generic) else item, digits)


def digits_to_tell_apart(received, expected, start: int = 6) -> int:
    """The fewest significant digits (at least ``start``) that show two floats differently."""
    try:
        r, e = float(received), float(expected)
    except (TypeError, ValueError, OverflowError):
        return start
    for digits in range(start, 18):
        if _format_float(r, digits) != _format_float(e, digits):
            return digits
    return 17


def format_pair(received, expected, digits: int = 6) -> tuple[str, str]:
    """Two numbers as feedback puts them side by side ("X instead of Y"), never printed alike when they differ.

    ``digits`` significant digits, or as many more as it takes to show them differently
    (a float32 0.49164397 and a float64 0.49164395 both read 0.491644 at 6).
    """
    digits = digits_to_tell_apart(received, expected, digits)
    return format_value(received, digits), format_value(expected, digits)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def compare_values(received, expected, exercise: Exercise) -> str | None:
    """Default comparison: strings exactly, tuples elementwise, numbers with tolerance."""
    if isinstance(expected, str):
        if not isinstance(received, str):
            return f"returned {type(received).__name__} {format_value(received)}, expected a string"
        return None if received == expected else "different label"
    if isinstance(expected, tuple):
        if not isinstance(received, (tuple, list)) or len(received) != len(expected):
            return f"expected a tuple of {len(expected)} values"
        for i, (r, e) in enumerate(zip(received, expected)):
            reason = compare_values(r, e, exercise)
            if reason:
                return f"item {i}: {reason}"
        return None
    return compare_numbers(received, expected, exercise)


def narrow_float(received) -> str | None:
    """The name of a float dtype narrower than float64 that ``received`` (an array or NumPy scalar) has, or None."""
    dtype = getattr(received, "dtype", None)
    try:
        dtype = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        return None
    return dtype.name if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8 else None


def compare_float64(received, expected, exercise: Exercise) -> str | None:
    """compare_values, and float64 as the docstring promises: a float32 result would pass at the
    checks' float32 tolerance (1e-4) while keeping only about 7 significant digits."""
    narrow = narrow_float(received)
    if narrow is not None:
        return (f"your result is {narrow}, about {7 if narrow == 'float32' else 3} significant digits: the docstring "
                "promises float64, NumPy's default. Compute in float64 from the start: leave out `dtype=np.float32` "
                "and `.astype(np.float32)` (converting at the end cannot bring the lost digits back)")
    return compare_values(received, expected, exercise)


def compare_numbers(received, expected, exercise: Exercise) -> str | None:
    """Compares numbers or arrays elementwise with the exercise's tolerances."""
    if isinstance(received, Unsupported):
        return f"returned a {received.type_name} object, expected numbers"
    if isinstance(received, list) and all(_is_number(v) for v in _flatten(received)):
        received = np.asarray(received)
    if not (_is_number(received) or isinstance(received, np.ndarray)):
        return f"returned {type(received).__name__}, expected {'an array' if np.ndim(expected) else 'a number'}"
    if _beyond_float(received) or _beyond_float(expected):
        return _compare_exactly(received, expected, exercise)
    r, e = np.asarray(received), np.asarray(expected)
    if r.dtype.kind not in "biuf":
        return f"returned an array of dtype {r.dtype}, expected numbers"
    if r.shape != e.shape:
        return f"returned shape {r.shape}, expected shape {e.shape}"
    if exercise.dtype is not None and r.dtype.kind == "f" and r.dtype != np.dtype(exercise.dtype):
        return (f"returned {r.dtype} numbers where the docstring promises {exercise.dtype}: compute in "
                f"{exercise.dtype} (np.asarray(x, dtype=float)); {r.dtype} keeps fewer digits")
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
    shown, wanted = format_pair(r64[first], e64[first])
    return f"first difference at index {index}: {shown} instead of {wanted}"


def _beyond_float(value) -> bool:
    """An int that a float cannot hold exactly: compared as an exact number, never through float64."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and abs(int(value)) > 2**53


def _compare_exactly(received, expected, exercise: Exercise) -> str | None:
    if np.ndim(received) or np.ndim(expected):
        return f"returned {'an array' if np.ndim(received) else 'a number'}, expected " + (
            "an array" if np.ndim(expected) else "a number")
    try:
        r, e = Fraction(received), Fraction(expected)
    except (ValueError, OverflowError):  # NaN or infinity against a finite int
        return "contains NaN or infinity"
    if isinstance(received, (int, np.integer)) and isinstance(expected, (int, np.integer)):
        return None if r == e else "different value"
    return None if abs(r - e) <= Fraction(exercise.atol) + Fraction(exercise.rtol) * abs(e) else "different value"


def _flatten(values):
    for v in values:
        if isinstance(v, list):
            yield from _flatten(v)
        else:
            yield v


@dataclass(frozen=True)
class Judged:
    """One case's outcome, judged: whether it passes, and why not.

    Which known mistakes its value matches is worked out only for an exercise that fails somewhere
    (:func:`matched`, from :func:`named_cause`): knowing it runs every known mistake on the case
    (``case.wrong`` is computed when first read: :class:`autograder.hidden.LazyValues`).
    ``feedback`` is set when the case cannot be judged by value (an error, a changed input).
    """

    case: Case
    passed: bool
    value: Any = None
    reason: str | None = None
    feedback: Feedback | None = None


@dataclass(frozen=True)
class Verdict:
    """An exercise's outcomes judged together: the feedback of its first failing case, and the cause named."""

    feedback: Feedback | None
    cause: str | None = None
    cases: int = 0
    failed: int = 0

    @property
    def passed(self) -> bool:
        return self.feedback is None


def judge_case(lab: Lab, exercise: Exercise, case: Case, outcome: Outcome) -> Judged:
    """Judges one outcome; an exception while judging becomes this case's message, never the caller's."""
    try:
        return _judge_case(lab, exercise, case, outcome)
    except Exception as exc:  # noqa: BLE001 - a value no comparison expected must not stop the grading
        return Judged(case, False, feedback=Feedback(
            lab.prefix(exercise.name), f"the grader could not compare what your function returned with the "
            f"expected value ({type(exc).__name__}): return the kind of value the docstring describes.",
            case=case.label))


def _judge_case(lab: Lab, exercise: Exercise, case: Case, outcome: Outcome) -> Judged:
    title = lab.prefix(exercise.name)
    if outcome.error is not None:
        return Judged(case, False, feedback=describe_error(outcome.error, case, title, lab, exercise))
    if outcome.mutated:
        names = ", ".join(outcome.mutated)
        return Judged(case, False, feedback=Feedback(
            title, f"your function changed its input {names} in place. Work on a copy (for example "
            "`np.array(x, dtype=float)`), so the caller's data stays as it was.", case=case.label))
    compare = exercise.compare or compare_values
    reason = compare(outcome.value, case.expected, exercise)
    passed = reason is None or any(_matches(compare, outcome.value, v, exercise) for v in case.accepted.values())
    return Judged(case, passed, outcome.value, None if passed else reason)


def matched(exercise: Exercise, judged: Judged) -> frozenset[str]:
    """The keys of ``judged.case.wrong`` whose value the judged value matches."""
    compare = exercise.compare or compare_values
    return frozenset(k for k, v in judged.case.wrong.items() if _matches(compare, judged.value, v, exercise))


def _matches(compare: Comparator, received, value, exercise: Exercise) -> bool:
    try:
        return compare(received, value, exercise) is None
    except Exception:  # noqa: BLE001 - a comparison that cannot be made is no match
        return False


def named_cause(exercise: Exercise, judged: list[Judged]) -> str | None:
    """The one known mistake whose values the student's match on every case, or None.

    A mistake's value on a case is ``case.wrong[key]``, or the reference's where the key
    is absent (there the mistake gives the right answer). Matching the mistake on the one
    failing case is not enough: another mistake may give the same value there. Only a
    mistake matched everywhere (and so on every case that tells it apart from the
    reference and the others) is named; two that no case tells apart are both left unnamed.
    Cases that raised are left out: a mistake that raises there is absent from their
    ``wrong`` too, so they cannot tell it apart.
    """
    judged = [j for j in judged if j.feedback is None]
    if all(j.passed for j in judged):
        return None
    matches = [matched(exercise, j) for j in judged]
    keys = [k for k in exercise.messages if any(k in j.case.wrong for j in judged)]
    consistent = [k for k in keys if all((k in m) if k in j.case.wrong else j.passed for j, m in zip(judged, matches))]
    return consistent[0] if len(consistent) == 1 else None


def judge_outcomes(lab: Lab, exercise: Exercise, judged: list[Judged], *,
                   show_hidden_values: bool = False) -> Verdict:
    """The verdict over all of an exercise's judged cases.

    Hidden cases' feedback names the diagnosis and shows what the student's function
    returned, but neither the expected value nor a difference it could be read from,
    unless ``show_hidden_values`` (after the deadline).
    """
    failures = [j for j in judged if not j.passed]
    if not failures:
        return Verdict(None, None, len(judged), 0)
    cause = named_cause(exercise, judged)
    first = next(j for j in failures if j.feedback is None) if cause is not None else failures[0]
    try:
        feedback = first.feedback or _value_feedback(lab, exercise, first, cause, show_hidden_values,
                                                     len(failures), len(judged))
    except Exception:  # noqa: BLE001 - a value that cannot be described still gets its verdict
        feedback = Feedback(lab.prefix(exercise.name), "your result differs from the expected one.",
                            case=first.case.label)
    return Verdict(feedback, cause, len(judged), len(failures))


def judge(lab: Lab, exercise: Exercise, case: Case, outcome: Outcome) -> str | None:
    """Returns None when ``outcome`` passes ``case``, else the feedback for the student (one case alone)."""
    verdict = judge_outcomes(lab, exercise, [judge_case(lab, exercise, case, outcome)])
    return None if verdict.passed else verdict.feedback.text()


# Reasons of the default comparisons that tell the kind of the expected value, not the value itself.
_SHAPE_REASONS = ("returned ", "contains NaN", "expected a tuple")
# Reasons that say only that values differ: the feedback then says where and by how much instead.
_GENERIC_REASON = re.compile(r"(item \d+: )*(different [a-z]+|first difference at .*)", re.S)


def _sentence(reason: str) -> str:
    """A compare's reason as a sentence: one full stop at its end, whether or not the reason brought its own."""
    return reason if reason.endswith((".", "?", "!")) else f"{reason}."


def _value_feedback(lab: Lab, exercise: Exercise, judged: Judged, cause: str | None, show_hidden_values: bool,
                    failed: int, total: int) -> Feedback:
    case, value = judged.case, judged.value
    reveal = show_hidden_values or not case.hidden
    where = _first_difference(value, case.expected, exercise) if reveal else None
    digits, focus = 6, None
    if where is not None:
        location, focus, r, e = where
        digits = digits_to_tell_apart(r, e) if isinstance(r, float) or isinstance(e, float) else 6
    show = exercise.show or (lambda v: format_value(v, digits, focus))
    specific = judged.reason is not None and not _GENERIC_REASON.fullmatch(judged.reason)
    if cause is not None:
        diagnosis = exercise.messages[cause]
    elif specific and reveal:
        diagnosis = _sentence(judged.reason)
    elif where is not None:
        location, _, r, e = where
        diagnosis = (f"your values first differ at {location}: {format_value(r, digits)} instead of "
                     f"{format_value(e, digits)} ({_how_much(r, e, digits)}).") if location else (
            f"your value is {_how_much(value, case.expected, digits)}, more than the tolerance allows.")
    elif specific and exercise.compare is None and judged.reason.startswith(_SHAPE_REASONS):
        diagnosis = _sentence(judged.reason)
    elif judged.reason.endswith("different label"):
        diagnosis = "your label differs from the expected one."
    else:
        diagnosis = "your result differs from the expected one."
    if case.hidden and not reveal:
        diagnosis += " This is a hidden case: its expected value is not shown."
    if total > 1:
        diagnosis += f" ({failed} of {total} cases fail.)" if failed > 1 else f" (1 of {total} cases fails.)"
    received, expected = _safe(show, value), _safe(show, case.expected) if reveal else None
    if expected is not None and received == expected and exercise.show is None:
        received, expected = _told_apart(value, case.expected, digits, focus) or (received, expected)
    return Feedback(lab.prefix(exercise.name), diagnosis, case=case.label, received=received, expected=expected)


def _told_apart(value, expected, digits: int, focus) -> tuple[str, str] | None:
    """Received and expected rendered with the fewest more digits (17 at most) that read differently, or None."""
    for more in range(digits + 1, 18):
        pair = (_safe(lambda v, d=more: format_value(v, d, focus), value),
                _safe(lambda v, d=more: format_value(v, d, focus), expected))
        if pair[0] != pair[1]:
            return pair
    return None


def _safe(show, value) -> str:
    try:
        return show(value)
    except Exception:  # noqa: BLE001 - rendering must not fail the report
        return f"a {type(value).__name__} that cannot be shown"


def _first_difference(received, expected, exercise: Exercise, location: str = ""):
    """(where, index, received item, expected item) of the first numeric difference, or None."""
    if isinstance(expected, tuple) and isinstance(received, (tuple, list)) and len(received) == len(expected):
        for i, (r, e) in enumerate(zip(received, expected)):
            if compare_values(r, e, exercise) is not None:
                inner = _first_difference(r, e, exercise, f"item {i}")
                return None if inner is None else inner[:1] + (None,) + inner[2:]
        return None
    if _is_number(received) and _is_number(expected):
        r, e = _plain(received), _plain(expected)
        return (location, None, r, e) if r != e else None
    try:
        r, e = np.asarray(received), np.asarray(expected)
        if r.shape != e.shape or r.ndim == 0 or r.dtype.kind not in "biuf" or e.dtype.kind not in "biuf":
            return None
        r64, e64 = r.astype(np.float64), e.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    with np.errstate(invalid="ignore"):
        rtol = max(exercise.rtol, exercise.rtol_float32) if r.dtype == np.float32 else exercise.rtol
        close = (np.abs(r64 - e64) <= exercise.atol + rtol * np.abs(e64)) | (r64 == e64)
    if np.all(close):
        return None
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    index = first[0] if len(first) == 1 else first
    text = f"index {index}" if not location else f"{location}, index {index}"
    return text, index, _plain(r[first]), _plain(e[first])


def _plain(number):
    number = number.item() if isinstance(number, np.generic) else number
    return number if isinstance(number, int) and abs(number) > 2**53 else (
        int(number) if isinstance(number, int) else float(number))


def _how_much(received, expected, digits: int) -> str:
    """"off by +1.2 (50 % of 2.4)", "the opposite sign", "a factor of 2 too large": the size of a difference."""
    received, expected = (v.item() if isinstance(v, np.generic) else v for v in (received, expected))
    try:
        r, e = Fraction(received), Fraction(expected)
    except (TypeError, ValueError, OverflowError):
        return "not a finite number" if not np.isfinite(float(received)) else "different"
    diff = r - e
    if e != 0 and r != 0:
        ratio = r / e
        if abs(ratio + 1) < Fraction(1, 10**6):
            return "the opposite sign"
        for k in (2, 3, 4, 10):
            if abs(ratio - k) < Fraction(1, 10**6):
                return f"a factor of {k} too large"
            if abs(ratio - Fraction(1, k)) < Fraction(1, 10**7):
                return f"a factor of {k} too small"
    shown = _format_int(int(diff)) if diff.denominator == 1 and abs(diff) > 2**53 else (
        f"{float(diff):+.{min(digits, 4)}g}".replace("e+", "e"))
    if not shown.startswith(("+", "-")):
        shown = "+" + shown
    if e == 0:
        return f"off by {shown}"
    relative = abs(diff) / abs(e)
    if relative >= 10**300:
        return f"off by {shown}"
    share = f"{float(relative) * 100:.3g} %" if relative >= Fraction(1, 1000) else f"{float(relative):.2g}"
    return f"off by {shown}, {share} of the expected value"


def describe_error(error: ErrorInfo, case: Case, title: str, lab: Lab, exercise: Exercise) -> Feedback:
    """Feedback for a call that raised instead of returning."""
    if error.type == "NotImplementedError":
        return _not_implemented(error, case, title, lab, exercise)
    if error.type == "MissingDefinition":
        return Feedback(title, error.message)
    if error.type in ("Timeout", "Crash", "Missing", "BadValue"):
        return Feedback(title, error.message, case=case.label)
    if error.type == "KeyboardInterrupt":
        return Feedback(title, "interrupted (KeyboardInterrupt) before this case finished: run the check again, "
                        "and if it hangs, look for a loop that never ends.", case=case.label)
    message = f"your code raised {error.type}: {error.message}" if error.message else f"your code raised {error.type}."
    return Feedback(title, message, case=case.label, traceback=error.traceback)


_STUB_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")
_FRAME = re.compile(r", in ([A-Za-z_]\w*|<\w+>)\n")


def _not_implemented(error: ErrorInfo, case: Case, title: str, lab: Lab, exercise: Exercise) -> Feedback:
    """"Not implemented yet" only when the stub that raised is this exercise's own; else who called which stub.

    The release's stubs name themselves: ``NotImplementedError("predict")``, and a class's
    methods ``NotImplementedError("Value.backward")``.
    """
    name = error.message.strip().strip("'\"")
    frames = _FRAME.findall(error.traceback + "\n")
    raiser = frames[-1] if frames else None
    if not _STUB_NAME.fullmatch(name):
        what = f"NotImplementedError({error.message!r})" if error.message else "NotImplementedError"
        return Feedback(title, f"your code raised {what}; the release's stubs name their function, so this one "
                        "is your own: finish that branch or remove the raise.", case=case.label,
                        traceback=error.traceback)
    owner, _, method = name.rpartition(".")
    if raiser is not None and raiser != (method or name) and not raiser.startswith("<"):
        return Feedback(title, f"`{raiser}` raised NotImplementedError({name!r}), the stub line of `{name}`: if "
                        f"`{raiser}` is finished, delete that line; otherwise replace it with your code.",
                        case=case.label, traceback=error.traceback)
    other_exercises = {e.name for e in lab.exercises} - {exercise.name}
    if not owner and name != exercise.name and exercise.name[:1].isupper() and name not in other_exercises:
        owner, method = exercise.name, name  # a method stub that names only itself
    if name == exercise.name:
        return Feedback(title, NOT_IMPLEMENTED)
    if owner == exercise.name:
        return Feedback(title, f"`{owner}.{method}` is {NOT_IMPLEMENTED}")
    return Feedback(title, f"`{exercise.name}` called `{name}`, which is still a stub: finish `{name}` first "
                    "(replace its `raise NotImplementedError` line with your code).")
