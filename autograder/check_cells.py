"""The check cells of a lab notebook: ``check(my_function)`` gives feedback right there.

The same checks and the same judging as the batch grader, run in the student's own
kernel (their code, their feedback). The grader does not trust this path: it re-runs
every check on a copy of the student's definitions in a sandboxed process.

A failing check *reports* in an interactive kernel and *raises* under nbgrader. Run All
must reach the end of a half-finished notebook (its demos, plots and later exercises),
so a check there displays its ✗ box and returns. ``nbgrader validate`` and ``autograde``
score a cell by whether it raised, and they set ``NBGRADER_EXECUTION`` (``"validate"``
or ``"autograde"``) in the kernel's environment while they run a notebook, so under
them the check raises :class:`CheckFailed`. The variable, rather than the cell tag
``raises-exception``, is the switch because the tag would tell nbclient and JupyterLab
that an error is *expected* there, hiding real errors of a finished notebook too, and
would need every check cell of every lab tagged by hand. Our own grader never runs
check cells: it calls the functions itself, so it counts a failure either way.

Each check has a time limit (the exercise's ``time_limit``, for all its cases): an
endless loop ends in one line of feedback instead of a hung kernel.
"""

from __future__ import annotations

import ast
import os
import signal
import threading
from collections.abc import Callable

from autograder import checks
from autograder.calls import judge_all, run_case
from autograder.feedback import Feedback

UNDER_NBGRADER = "NBGRADER_EXECUTION"


class CheckFailed(AssertionError):
    """A failed check: shown as its message alone, without the grader's traceback."""

    def _render_traceback_(self):  # IPython's hook for a custom traceback: plain text, readable on any background
        return str(self).splitlines()


class CheckInterrupted(KeyboardInterrupt):
    """The student interrupted a check: one line, and Run All stops as an interrupt should."""

    def _render_traceback_(self):
        return [str(self)]


class _OutOfTime(BaseException):
    """Raised by the check's alarm; a BaseException so that ``except Exception`` in student code lets it through."""


class Checker:
    """Checks one lab's exercises from inside its notebook.

    Args:
        lab_id: the lab's folder name, e.g. ``"01_gradient_descent"``.

    Example:
        >>> check = Checker("01_gradient_descent")
        >>> check(central_difference)   # doctest: +SKIP
        ✓ central_difference: all 2 public cases pass (2 points once the hidden cases pass too)
    """

    def __init__(self, lab_id: str):
        self.lab = checks.load_lab(lab_id)

    def __repr__(self) -> str:
        return f"Checker({self.lab.id!r}: {len(self.lab.exercises)} exercises, {self.lab.max_score} points)"

    def __call__(self, fn, *, hidden: bool = False) -> None:
        """Runs the public cases (or, for the grader, the hidden ones) on ``fn`` and shows the verdict.

        Raises:
            CheckFailed: when a case fails and nbgrader runs the notebook (``NBGRADER_EXECUTION`` set).
            CheckInterrupted: when the student interrupts the kernel during the check.
        """
        exercise = self.lab.exercise(getattr(fn, "__name__", ""))
        if hidden:
            from autograder.seeds import case_seed

            cases = self.lab.hidden_cases(case_seed(self.lab.id))[exercise.name]
        else:
            cases = self.lab.public_cases()[exercise.name]
        outcomes = run_with_time_limit(lambda case: run_case(fn, case, exercise.probe), cases, exercise.time_limit)
        verdict = judge_all(self.lab, exercise, cases, outcomes, show_hidden_values=True)
        if verdict.passed:
            kind = "hidden" if hidden else "public"
            points = "1 point" if exercise.points == 1 else f"{exercise.points} points"
            when = "" if hidden else " once the hidden cases pass too"
            shown = Feedback(exercise.name, f"all {len(cases)} {kind} cases pass ({points}{when})", passed=True)
        else:
            shown = _with_definition_note(verdict.feedback, exercise.name)
        _display(shown)
        if not verdict.passed and os.environ.get(UNDER_NBGRADER):
            raise CheckFailed(shown.text())


def run_with_time_limit(call: Callable, cases, seconds: float) -> list[dict]:
    """``call(case)`` for each case within ``seconds`` in all; what is left over when time runs out is a timeout.

    The alarm (SIGALRM) exists only on the main thread of a POSIX process; elsewhere the
    cases run without a limit. The previous handler and timer are restored.
    """
    cases = list(cases)
    timeout = {"error": {"type": "Timeout", "message": f"did not finish within its time limit ({seconds:g} s for "
                         f"all {len(cases)} cases together); this case was running: an endless loop? Interrupt "
                         "the kernel if a cell hangs, fix the loop, and run the check again."}}
    can_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()

    def ring(signum, frame):
        raise _OutOfTime

    outcomes = []
    if can_alarm:
        previous = signal.signal(signal.SIGALRM, ring)
        remaining, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        for case in cases:
            outcomes.append(call(case))
    except _OutOfTime:
        outcomes += [timeout] * (len(cases) - len(outcomes))
    except KeyboardInterrupt:
        raise CheckInterrupted("check interrupted: it stopped before its cases finished (run the cell again to "
                               "see the verdict)") from None
    finally:
        if can_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if remaining:  # someone else's timer was running: give it back what is left of it
                signal.setitimer(signal.ITIMER_REAL, remaining)
    return outcomes


def _with_definition_note(feedback: Feedback, name: str) -> Feedback:
    """Says so when the kernel still runs an old definition because the newest cell defining ``name`` failed."""
    problem = broken_definition(name)
    if problem is None:
        return feedback
    return Feedback(feedback.title, f"{problem} {feedback.diagnosis}", case=feedback.case,
                    received=feedback.received, expected=feedback.expected, detail=feedback.detail,
                    traceback=feedback.traceback)


def broken_definition(name: str) -> str | None:
    """Why the last cell run that defines ``name`` did not define it (a syntax error), or None.

    IPython keeps every cell the student ran in ``In``; a cell whose ``def`` has an
    IndentationError never runs, and the kernel keeps the old definition (often the stub).
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    for number, source in reversed(list(enumerate(shell.user_ns.get("In", [])))):
        if f"def {name}(" not in source and f"class {name}" not in source:
            continue
        try:
            ast.parse(shell.transform_cell(source))
        except SyntaxError as exc:
            kind = type(exc).__name__
            article = "an" if kind[0] in "AEIOU" else "a"
            return (f"The last cell you ran that defines `{name}` (In [{number}]) has {article} {kind} "
                    f"(line {exc.lineno}: {exc.msg}), so it did not run and the kernel still has the old `{name}`: "
                    "fix that cell and run it again.")
        return None
    return None


def _display(feedback: Feedback) -> None:
    """The HTML box in a notebook (with the plain text beside it), the plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(repr(feedback))
        return
    if get_ipython() is None:
        print(repr(feedback))
    else:
        display(feedback)
