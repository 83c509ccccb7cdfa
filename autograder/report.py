"""Rendering graded submissions: terminal text, Gradescope results.json, feedback, grades.csv.

Everything here is a pure function of the results, with no timestamps or timings, so
grading the same folder twice writes byte-identical files. Student text (exception
messages, returned strings, cell errors, folder names) passes through
:func:`autograder.feedback.clean` on its way out: no lone surrogate or control character
can make writing a report fail, for this student or the ones after.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable

from autograder.feedback import clean
from autograder.grading import SubmissionResult


def text(result: SubmissionResult) -> str:
    """The human-readable report of one submission."""
    title = result.lab or "unknown lab"
    lines = [f"{title} — {result.score} / {result.max_score} points", ""]
    if result.error:
        lines += [f"Could not grade this notebook: {result.error}", ""]
    for exercise in result.exercises:
        mark = "✓" if exercise.passed else "✗"
        lines.append(f"{mark} {exercise.name:<28} {exercise.score} / {exercise.max_score}{_cases(exercise)}")
        if not exercise.passed:
            lines += ["    " + line for line in exercise.feedback.splitlines()]
    if result.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in result.notes]
    return clean("\n".join(lines)) + "\n"


def _cases(exercise) -> str:
    """How many cases an exercise's verdict is over, and how many of them are hidden (as counts include them)."""
    if not exercise.cases:
        return ""
    cases = "1 case" if exercise.cases == 1 else f"{exercise.cases} cases"
    hidden = exercise.hidden_cases
    return f"   ({cases}, {hidden} of them hidden)" if hidden else f"   ({cases}, none hidden)"


def gradescope(result: SubmissionResult) -> dict:
    """Gradescope's results.json: per-exercise tests; hidden cases' code is never included."""
    tests = [{
        "name": exercise.name,
        "score": exercise.score,
        "max_score": exercise.max_score,
        "output": clean(exercise.feedback),
        "visibility": "visible",
    } for exercise in result.exercises]
    output = "\n".join(filter(None, [result.error and f"Could not grade this notebook: {result.error}",
                                     *result.notes]))
    return {"score": result.score, "max_score": result.max_score, "output": clean(output), "tests": tests,
            "visibility": "visible", "stdout_visibility": "hidden"}


def gradescope_json(result: SubmissionResult) -> str:
    return json.dumps(gradescope(result), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _fence(body: str) -> str:
    """A code fence longer than any run of backticks in ``body``, so that nothing in it can close the fence."""
    runs = [len(run) for run in re.findall(r"`+", body)]
    return "`" * max(3, max(runs, default=0) + 1)


def feedback_markdown(result: SubmissionResult) -> str:
    """The feedback file a student reads: a heading of our own, then everything else as one code block.

    Whatever student text the block holds (fences, headings, HTML) is shown as text: the fence is longer
    than any run of backticks inside it.
    """
    lines = text(result).splitlines()
    body = "\n".join(lines[2:]).rstrip()
    fence = _fence(body)
    return f"# {lines[0]}\n\n{fence}text\n{body}\n{fence}\n"


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A student-derived cell a spreadsheet shows as text: a leading ``= + - @`` (a formula to Excel or
    LibreOffice) gets an apostrophe before it, as OWASP advises."""
    value = clean(value)
    return "'" + value if value.startswith(_FORMULA) else value


def grades_csv(results: Iterable[SubmissionResult]) -> str:
    """One row per student and lab, sorted, ready for an LMS import (student names made formula-safe)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "lab", "score", "max_score"])
    for r in sorted(results, key=lambda r: (r.student, r.lab or "", r.path)):
        writer.writerow([csv_cell(r.student), r.lab or "unknown", r.score, r.max_score])
    return out.getvalue()


def summary(results: list[SubmissionResult]) -> str:
    """The closing lines of a batch: counts and the mean score per lab."""
    unreadable = [r for r in results if r.error]
    lines = [f"graded {len(results)} submissions; {len(unreadable)} could not be run or were refused "
             "(see report.html)"]
    by_lab = defaultdict(list)
    for r in results:
        by_lab[r.lab or "unknown"].append(r)
    for lab, rows in sorted(by_lab.items()):
        mean = sum(r.score for r in rows) / len(rows)
        top = max(r.max_score for r in rows)
        lines.append(f"  {lab}: {len(rows)} submissions, mean {mean:.2f} / {top}")
    return "\n".join(lines) + "\n"
