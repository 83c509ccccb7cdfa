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


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise's verdict: all of its cases pass, or the first failure's feedback.

    ``cause`` is the known mistake the feedback names (a key of the exercise's
    ``messages``), or None when no known mistake explains every case.
    """

    name: str
    score: int
    max_score: int
    feedback: str
    hidden_cases: int = 0
    cause: str | None = None

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


def _judge_exercise(lab: Lab, exercise, cases, raw_outcomes, hidden_count: int | None = None, *,
                    show_hidden_values: bool = False) -> ExerciseResult:
    """Judges all of an exercise's outcomes together; ``hidden_count`` is unused (cases carry ``hidden``)."""
    hidden = sum(case.hidden for case in cases)
    verdict = judge_all(lab, exercise, cases, raw_outcomes, show_hidden_values=show_hidden_values)
    if not verdict.passed:
        return ExerciseResult(exercise.name, 0, exercise.points, verdict.feedback.text(), hidden, verdict.cause)
    points = "1 point" if exercise.points == 1 else f"{exercise.points} points"
    summary = (f"✓ {exercise.name}: all {len(cases)} cases pass ({len(cases) - hidden} public, {hidden} hidden): "
               f"{points}")
    return ExerciseResult(exercise.name, exercise.points, exercise.points, summary, hidden)


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
    if lab_id is None:
        return SubmissionResult(student, None, str(path), notes=tuple(notes), error=message)
    lab = checks.load_lab(lab_id)
    results = tuple(ExerciseResult(e.name, 0, e.points, f"{lab.prefix(e.name)}: not graded: {message}")
                    for e in lab.exercises)
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
    return SubmissionResult(student, lab_id, str(path), results, tuple(notebook.notes) + tuple(notes)
                            + tuple(run_notes))
