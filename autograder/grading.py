"""Grading one submission: read, extract, run in the sandbox, judge in this process.

Results are plain frozen dataclasses; rendering them lives in :mod:`autograder.report`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

from autograder import checks
from autograder.calls import judge_all
from autograder.checks.core import NOT_IMPLEMENTED, Lab
from autograder.notebook import NotebookError, extract_definitions, identify_lab, read, untouched_stubs
from autograder.sandbox import runner
from autograder.sandbox.isolation import Limits
from autograder.seeds import case_seed

OUTCOMES = {
    "passed": "passed",
    "named": "wrong, with a named cause",
    "wrong": "wrong, no named cause",
    "raised": "raised an exception",
    "crashed": "crashed (the process died)",
    "timed_out": "timed out",
    "not_implemented": "not implemented",
    "missing": "missing (not defined)",
    "not_graded": "not graded (the notebook could not be run)",
}
"""Every outcome an exercise can have, as the class report names them (keys are what results record)."""

MAX_EXERCISE_FEEDBACK = 6_000
MAX_SUBMISSION_FEEDBACK = 40_000
"""Characters of feedback kept per exercise and per submission (exercises and notes together): a
submission's reports stay small whatever its code prints, returns or raises."""


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise's verdict: all of its cases pass, or the first failure's feedback.

    ``cause`` is the known mistake the feedback names (a key of the exercise's
    ``messages``), or None when no known mistake explains every case. ``outcome`` is one
    of :data:`OUTCOMES` (what the class report counts); ``cases`` how many cases ran,
    ``hidden_cases`` of them hidden.
    """

    name: str
    score: int
    max_score: int
    feedback: str
    hidden_cases: int = 0
    cause: str | None = None
    outcome: str | None = None
    cases: int = 0

    @property
    def passed(self) -> bool:
        return self.score == self.max_score


@dataclass(frozen=True)
class SubmissionResult:
    """A graded notebook."""

    student: str
    lab: str | None
    path: str
    exercises: tuple[ExerciseResult, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None

    @property
    def score(self) -> int:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> int:
        return sum(e.max_score for e in self.exercises)


@dataclass(frozen=True)
class GradingOptions:
    """How to grade: the course secret (hidden inputs), secret paths, limits.

    ``hidden_paths`` are kept from student code, except the ``visible_paths`` inside them
    (see :func:`autograder.batch.secret_paths` and :func:`autograder.batch.visible_paths`).

    ``isolation`` is the mode student processes run in (see
    :mod:`autograder.sandbox.isolation`): ``"sandbox"`` unless the caller chose otherwise
    after :func:`autograder.sandbox.isolation.mode` said why.
    """

    secret: str
    hidden_paths: tuple[str, ...] = ()
    visible_paths: tuple[str, ...] = ()
    limits: Limits | None = None  # None: each profile's own (isolation.limits_for)
    include_hidden: bool = True
    isolation: str = "sandbox"
    show_hidden_values: bool = False


TENSORFLOW_DEFINE_SECONDS = 60.0  # a Keras class defined at the top level imports TensorFlow then

@functools.lru_cache(maxsize=32)
def _cases(lab_id: str, seed: int | None) -> tuple[dict, dict]:
    """A lab's public cases and the hidden cases of ``seed`` (none when None), drawn once per process."""
    lab = checks.load_lab(lab_id)
    return lab.public_cases(), (lab.hidden_cases(seed) if seed is not None else {})


def _error_types(raw_outcomes) -> list[str]:
    return [str(o["error"].get("type")) for o in raw_outcomes
            if isinstance(o, dict) and isinstance(o.get("error"), dict)]


def outcome_of(verdict, raw_outcomes) -> str:
    """Which of :data:`OUTCOMES` a verdict is: what went wrong first in the order a teacher would look."""
    if verdict.passed:
        return "passed"
    errors = _error_types(raw_outcomes)
    if verdict.feedback.diagnosis.endswith(NOT_IMPLEMENTED):
        return "not_implemented"
    for kind, types in (("missing", ("MissingDefinition",)), ("timed_out", ("Timeout",)),
                        ("crashed", ("Crash", "Missing"))):
        if any(t in types for t in errors):
            return kind
    if verdict.cause is not None:
        return "named"
    return "raised" if errors else "wrong"


def _timeout_case(cases, raw_outcomes) -> tuple[int, str, str] | None:
    """(number, label, message) of the first case that ran out of time, or None."""
    for number, (case, raw) in enumerate(zip(cases, raw_outcomes), 1):
        if isinstance(raw, dict) and isinstance(raw.get("error"), dict) and raw["error"].get("type") == "Timeout":
            return number, case.label, str(raw["error"].get("message", ""))
    return None


def truncate(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, with a note that says so and how much was left out."""
    if len(text) <= limit:
        return text
    return (text[:limit].rstrip() + f"\n[… feedback cut here: {len(text) - limit:,} more characters were left "
            "out to keep the reports small]")


def _judge_exercise(lab: Lab, exercise, cases, raw_outcomes, hidden_count: int | None = None, *,
                    show_hidden_values: bool = False) -> ExerciseResult:
    """Judges all of an exercise's outcomes together; ``hidden_count`` is unused (cases carry ``hidden``)."""
    hidden = sum(case.hidden for case in cases)
    raw_outcomes = list(raw_outcomes)
    verdict = judge_all(lab, exercise, cases, raw_outcomes, show_hidden_values=show_hidden_values)
    if not verdict.passed:
        outcome = outcome_of(verdict, raw_outcomes)
        feedback = verdict.feedback.text()
        timed_out = _timeout_case(cases, raw_outcomes) if outcome == "timed_out" else None
        if timed_out is not None and "time" not in verdict.feedback.diagnosis:
            number, label, message = timed_out
            feedback += (f"\nCase {number} of {len(cases)} ({' '.join(label.split())[:200]}) then stopped: "
                         f"{message}")
        return ExerciseResult(exercise.name, 0, exercise.points, truncate(feedback, MAX_EXERCISE_FEEDBACK), hidden,
                              verdict.cause, outcome, len(cases))
    points = "1 point" if exercise.points == 1 else f"{exercise.points} points"
    summary = (f"✓ {exercise.name}: all {len(cases)} cases pass ({len(cases) - hidden} public, {hidden} hidden): "
               f"{points}")
    return ExerciseResult(exercise.name, exercise.points, exercise.points, summary, hidden, None, "passed",
                          len(cases))


def _point_to_root_causes(lab: Lab, results: list[ExerciseResult]) -> tuple[ExerciseResult, ...]:
    """Adds "fix X first" to a failure when an exercise it builds on fails too."""
    failed = {r.name for r in results if not r.passed}
    pointed = []
    for result in results:
        causes = [name for name in lab.exercise(result.name).builds_on if name in failed]
        if result.name in failed and causes and not result.feedback.endswith(NOT_IMPLEMENTED) and (
                "which is still a stub" not in result.feedback):
            names = " and ".join(causes)
            result = replace(result, feedback=f"{result.feedback}\nThis exercise usually calls {names}, which "
                             "fails too: fix that first.")
        pointed.append(result)
    return tuple(pointed)


def _unreadable(student: str, lab_id: str | None, path: Path, message: str, notes=()) -> SubmissionResult:
    return capped(not_graded(student, lab_id, str(path), message, notes))


def not_graded(student: str, lab_id: str | None, path: str, message: str, notes=()) -> SubmissionResult:
    """The result of a submission that was not run (unreadable, refused): every exercise at 0 with ``message``."""
    if lab_id is None:
        return SubmissionResult(student, None, str(path), notes=tuple(notes), error=message)
    lab = checks.load_lab(lab_id)
    results = tuple(ExerciseResult(e.name, 0, e.points, f"{lab.prefix(e.name)}: not graded: {message}",
                                   outcome="not_graded") for e in lab.exercises)
    return SubmissionResult(student, lab_id, str(path), results, tuple(notes), error=message)


def _stub_outcome(name: str) -> dict:
    """What calling the release's untouched stub of ``name`` gives, for every case."""
    return {"error": {"type": "NotImplementedError", "message": name, "traceback": ""}}


def _run_profiles(lab: Lab, chunks, plan: dict, options: GradingOptions) -> tuple[dict, list[str]]:
    """Runs each profile's exercises in children of their own: NumPy first, then TensorFlow.

    A TensorFlow exercise still in its release stub (:func:`autograder.notebook.untouched_stubs`)
    is not run: its outcome is known, and no TensorFlow child starts for it. The TensorFlow
    child that is needed starts before the NumPy one runs, so its import of TensorFlow
    overlaps with the NumPy exercises.
    """
    stubs = untouched_stubs(chunks, {e.name for e in lab.exercises if e.profile != "numpy"})
    outcomes = {name: [_stub_outcome(name)] * len(plan[name][0]) for name in stubs}
    profiles = [p for p in dict.fromkeys(e.profile for e in lab.exercises)
                if any(e.profile == p and e.name not in stubs for e in lab.exercises)]
    where = {"hidden_paths": list(options.hidden_paths), "visible_paths": list(options.visible_paths),
             "mode": options.isolation}
    spawned = {p: runner.spawn(**where, profile=p) for p in profiles[1:]}
    notes: list[str] = []
    try:
        for profile in profiles:
            tasks = [runner.Task(e.name, e.name, tuple(c.inputs_json() for c in plan[e.name][0]), e.time_limit,
                                 e.probe)
                     for e in lab.exercises if e.profile == profile and e.name not in stubs]
            report = runner.run([c.to_json() for c in chunks], tasks, **where, limits=options.limits,
                                profile=profile, first=spawned.pop(profile, None),
                                define_seconds=TENSORFLOW_DEFINE_SECONDS if profile == "tensorflow" else 10.0)
            outcomes.update(report.outcomes)
            notes += [note for note in report.notes if note not in notes]
    finally:
        for child in spawned.values():
            child.close()
    return outcomes, notes


def grade_notebook(path: Path, student: str, options: GradingOptions, lab_hint: str | None = None) -> SubmissionResult:
    """Grades the notebook at ``path`` for ``student``; never raises for bad submissions."""
    path = Path(path)
    hint = lab_hint if lab_hint in checks.lab_ids() else None
    try:
        notebook = read(path)
    except NotebookError as exc:
        return _unreadable(student, hint, path, str(exc))
    lab_id = identify_lab(notebook) or hint
    if hint is not None and lab_id != hint:
        return _unreadable(student, hint, path, f"this is the notebook of lab {lab_id}, handed in for lab {hint}: "
                           f"hand in {hint}.ipynb for this lab (and {lab_id}.ipynb in its own folder)", notebook.notes)
    if lab_id is None:
        return _unreadable(student, None, path, "this notebook does not look like any lab of the course "
                           f"(known labs: {', '.join(checks.lab_ids())})", notebook.notes)
    lab = checks.load_lab(lab_id)
    chunks, notes = extract_definitions(notebook)
    public, hidden = _cases(lab.id, case_seed(lab.id, options.secret, student) if options.include_hidden else None)
    plan = {e.name: (public[e.name] + hidden.get(e.name, []), len(hidden.get(e.name, []))) for e in lab.exercises}
    outcomes, run_notes = _run_profiles(lab, chunks, plan, options)
    results = _point_to_root_causes(lab, [_judge_exercise(lab, e, plan[e.name][0], outcomes[e.name],
                                                          show_hidden_values=options.show_hidden_values)
                                          for e in lab.exercises])
    return capped(SubmissionResult(student, lab_id, str(path), results, tuple(notebook.notes) + tuple(notes)
                                   + tuple(run_notes)))


def capped(result: SubmissionResult, limit: int = MAX_SUBMISSION_FEEDBACK) -> SubmissionResult:
    """``result`` with its exercises' feedback and its notes cut to ``limit`` characters in all, in order.

    Each exercise keeps its verdict and points; only words beyond the budget go, with a note saying so.
    """
    left, exercises, notes = limit, [], []
    for exercise in result.exercises:
        text = truncate(exercise.feedback, max(left, 200))
        left -= len(text)
        exercises.append(exercise if text == exercise.feedback else replace(exercise, feedback=text))
    for note in result.notes:
        if left <= 0:
            notes.append(f"[… {len(result.notes) - len(notes)} more notes were left out to keep the reports small]")
            break
        notes.append(truncate(note, max(left, 200)))
        left -= len(notes[-1])
    error = None if result.error is None else truncate(result.error, 2_000)
    return replace(result, exercises=tuple(exercises), notes=tuple(notes), error=error)
