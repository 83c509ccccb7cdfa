"""The check cells of a lab notebook: ``check(my_function)`` gives feedback right there.

The same checks and the same judging as the batch grader, run in the student's own
kernel (their code, their feedback). The grader does not trust this path: it re-runs
every check on a copy of the student's definitions in a sandboxed process.
"""

from __future__ import annotations

from autograder import checks
from autograder.calls import first_failure, run_case


class CheckFailed(AssertionError):
    """A failed check: shown as its message alone, without the grader's traceback."""

    def _render_traceback_(self):  # IPython's hook for a custom traceback
        return [f"\x1b[31m✗ {line}\x1b[0m" if i == 0 else line for i, line in enumerate(str(self).splitlines())]


class Checker:
    """Checks one lab's exercises from inside its notebook.

    Args:
        lab_id: the lab's folder name, e.g. ``"01_gradient_descent"``.

    Example:
        >>> check = Checker("01_gradient_descent")
        >>> check(central_difference)   # doctest: +SKIP
        ✓ central_difference: 2 of 2 cases pass (2 points)
    """

    def __init__(self, lab_id: str):
        self.lab = checks.load_lab(lab_id)

    def __repr__(self) -> str:
        return f"Checker({self.lab.id!r}: {len(self.lab.exercises)} exercises, {self.lab.max_score} points)"

    def __call__(self, fn, *, hidden: bool = False) -> None:
        """Runs the public cases (or, for the grader, the hidden ones) on ``fn``.

        Raises:
            CheckFailed: with the feedback of the first failing case.
        """
        exercise = self.lab.exercise(getattr(fn, "__name__", ""))
        if hidden:
            from autograder.seeds import case_seed

            cases = self.lab.hidden_cases(case_seed(self.lab.id))[exercise.name]
        else:
            cases = self.lab.public_cases()[exercise.name]
        feedback = first_failure(self.lab, exercise, cases, (run_case(fn, case, exercise.probe) for case in cases))
        if feedback is not None:
            raise CheckFailed(feedback)
        kind = "hidden" if hidden else "public"
        print(f"✓ {exercise.name}: {len(cases)} of {len(cases)} {kind} cases pass")
