"""Grading one submission: read, extract, run in the sandbox, judge in this process.

Results are plain frozen dataclasses; rendering them lives in :mod:`autograder.report`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder import checks
from autograder.calls import first_failure
from autograder.checks.core import NOT_IMPLEMENTED, Lab
from autograder.notebook import NotebookError, extract_definitions, identify_lab, read
from autograder.sandbox import runner
from autograder.sandbox.isolation import Limits
from autograder.seeds import case_seed


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise's verdict: all of its cases pass, or the first failure's feedback."""

    name: str
    score: int
    max_score: int
    feedback: str
    hidden_cases: int = 0

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

    ``warm`` forks student processes from the warm worker (the default); without it each
    submission starts a fresh interpreter, which is slower and isolated the same way.
    """

    secret: str
    hidden_paths: tuple[str, ...] = ()
    visible_paths: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    include_hidden: bool = True
    warm: bool = True


@functools.lru_cache(maxsize=32)
def _cases(lab_id: str, seed: int | None) -> tuple[dict, dict]:
    """A lab's public cases and the hidden cases of ``seed`` (none when None), drawn once per process."""
    lab = checks.load_lab(lab_id)
    return lab.public_cases(), (lab.hidden_cases(seed) if seed is not None else {})


def _judge_exercise(lab: Lab, exercise, cases, raw_outcomes, hidden_count: int) -> ExerciseResult:
    feedback = first_failure(lab, exercise, cases, raw_outcomes)
    if feedback is not None:
        return ExerciseResult(exercise.name, 0, exercise.points, feedback, hidden_count)
    public_count = len(cases) - hidden_count
    summary = f"✓ {exercise.name}: all {len(cases)} cases pass ({public_count} public, {hidden_count} hidden)"
    return ExerciseResult(exercise.name, exercise.points, exercise.points, summary, hidden_count)


def _point_to_root_causes(lab: Lab, results: list[ExerciseResult]) -> tuple[ExerciseResult, ...]:
    """Adds "fix X first" to a failure when an exercise it builds on fails too."""
    failed = {r.name for r in results if not r.passed}
    pointed = []
    for result in results:
        causes = [name for name in lab.exercise(result.name).builds_on if name in failed]
        if result.name in failed and causes and not result.feedback.endswith(NOT_IMPLEMENTED):
            names = " and ".join(causes)
            result = replace(result, feedback=f"{result.feedback}\nThis exercise usually calls {names}, which "
                             "fails too: fix that first.")
        pointed.append(result)
    return tuple(pointed)


def _unreadable(student: str, lab_id: str | None, path: Path, message: str, notes=()) -> SubmissionResult:
    if lab_id is None:
        return SubmissionResult(student, None, str(path), notes=tuple(notes), error=message)
    lab = checks.load_lab(lab_id)
    results = tuple(ExerciseResult(e.name, 0, e.points, f"{lab.prefix(e.name)}: not graded: {message}")
                    for e in lab.exercises)
    return SubmissionResult(student, lab_id, str(path), results, tuple(notes), error=message)


def grade_notebook(path: Path, student: str, options: GradingOptions, lab_hint: str | None = None) -> SubmissionResult:
    """Grades the notebook at ``path`` for ``student``; never raises for bad submissions."""
    path = Path(path)
    hint = lab_hint if lab_hint in checks.lab_ids() else None
    try:
        notebook = read(path)
    except NotebookError as exc:
        return _unreadable(student, hint, path, str(exc))
    lab_id = identify_lab(notebook) or hint
    if lab_id is None:
        return _unreadable(student, None, path, "this notebook does not look like any lab of the course "
                           f"(known labs: {', '.join(checks.lab_ids())})", notebook.notes)
    lab = checks.load_lab(lab_id)
    chunks, notes = extract_definitions(notebook)
    public, hidden = _cases(lab.id, case_seed(lab.id, options.secret) if options.include_hidden else None)
    plan = {e.name: (public[e.name] + hidden.get(e.name, []), len(hidden.get(e.name, []))) for e in lab.exercises}
    tasks = [runner.Task(e.name, e.name, tuple(c.inputs_json() for c in plan[e.name][0]), e.time_limit,
                         e.probe)
             for e in lab.exercises]
    report = runner.run([c.to_json() for c in chunks], tasks, hidden_paths=list(options.hidden_paths),
                        visible_paths=list(options.visible_paths),
                        limits=options.limits, warm=options.warm)
    results = _point_to_root_causes(lab, [_judge_exercise(lab, e, plan[e.name][0], report.outcomes[e.name],
                                                          plan[e.name][1]) for e in lab.exercises])
    return SubmissionResult(student, lab_id, str(path), results, tuple(notebook.notes) + tuple(notes)
                            + tuple(report.notes))
