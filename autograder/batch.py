"""Grading a class: find submissions, grade them in parallel, write every report.

Submissions are found in nbgrader's layout (``ROOT/STUDENT/LAB/*.ipynb``) or given as
notebook paths. Each is graded in its own sandboxed process; a broken one gets its
message and its points, and the rest of the class is graded regardless.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder import class_report, merge, report
from autograder.grading import GradingOptions, SubmissionResult, grade_notebook
from autograder.seeds import SECRET_FILE


@dataclass(frozen=True)
class Submission:
    """A notebook to grade, whose student and (folder-given) lab come from its path."""

    path: Path
    student: str
    lab_hint: str | None


def discover(paths: list[Path]) -> list[Submission]:
    """Every notebook under ``paths``, sorted; a folder is read in nbgrader's STUDENT/LAB layout."""
    found = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            parts = root.resolve().parts
            student = parts[-3] if len(parts) >= 3 else root.stem
            found.append(Submission(root, student, root.parent.name))
        elif root.is_dir():
            for notebook in sorted(root.glob("*/*/*.ipynb")):
                if ".ipynb_checkpoints" not in notebook.parts:
                    found.append(Submission(notebook, notebook.parent.parent.name, notebook.parent.name))
        else:
            raise FileNotFoundError(f"no such file or folder: {root}")
    return sorted(found, key=lambda s: (s.student, s.lab_hint or "", str(s.path)))


def _checkout_root() -> Path:
    """The folder holding this copy of the package (a course repository, or site-packages)."""
    return Path(__file__).resolve().parents[1]


def secret_paths(course: Path, inputs: list[Path], out: Path | None) -> tuple[str, ...]:
    """What student code must never read: the whole course folder, the checkout this grader runs
    from, the submissions and the reports (less what :func:`visible_paths` gives back)."""
    course = course.resolve()
    candidates = [course]
    checkout = _checkout_root()
    if any((checkout / name).exists() for name in ("solutions", "source", ".git", "nbgrader_config.py")):
        candidates.append(checkout)
    for root in dict.fromkeys((course, checkout)):
        candidates += [root / name for name in ("solutions", "source", "tests", ".git", "submitted", "autograded",
                                                 "feedback", "gradebook.db", SECRET_FILE)]
    candidates.append(Path(__file__).resolve().parent / "hidden")
    candidates += [(p if p.is_dir() else p.parent).resolve() for p in inputs]
    if out is not None:
        candidates.append(out.resolve())
    return tuple(dict.fromkeys(str(p) for p in candidates if p.exists()))


def visible_paths(course: Path) -> tuple[str, ...]:
    """What student code may read inside the hidden course folder: the public datasets.

    The grader itself and the Python environment are always visible (the sandbox adds them).
    """
    folders = [root / "datasets" for root in dict.fromkeys((course.resolve(), _checkout_root()))]
    return tuple(str(f) for f in folders if f.is_dir())


def _progress(total: int):
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, unit="notebook", file=sys.stderr)
    return None


def grade_all(submissions: list[Submission], options: GradingOptions, jobs: int | None = None,
              log=None, seconds: dict[str, float] | None = None) -> list[SubmissionResult]:
    """Grades ``submissions`` with ``jobs`` in parallel (default: the machine's cores).

    ``seconds``, if given, receives each submission's grading time by path: for the
    summary's slowest submissions, never for the reports, which stay deterministic.
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    bar = _progress(len(submissions))

    def one(submission: Submission) -> SubmissionResult:
        started = time.monotonic()
        try:
            result = grade_notebook(submission.path, submission.student, options, submission.lab_hint)
        except Exception as exc:  # noqa: BLE001 - one grader failure must not stop the class
            result = SubmissionResult(submission.student, submission.lab_hint, str(submission.path),
                                      error=f"internal grader error ({type(exc).__name__}: {exc})")
        if seconds is not None:
            seconds[str(submission.path)] = time.monotonic() - started
        if bar is not None:
            bar.update(1)
        elif log is not None:
            log(f"graded {submission.student}/{result.lab or '?'}: {result.score}/{result.max_score}")
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, submissions))
    if bar is not None:
        bar.close()
    return results


def write_reports(results: list[SubmissionResult], out: Path) -> None:
    """Writes ``grades.csv``, the class report (``report.html``, ``report.md``), every result's record
    (``results.jsonl``) and, per submission, ``STUDENT/LAB/results.json`` and ``feedback.md``.

    Results are written in :func:`discover`'s order whatever order they come in, so merged shards
    write the same files as one run.
    """
    results = sorted(results, key=lambda r: (r.student, Path(r.path).parent.name, r.path))
    out.mkdir(parents=True, exist_ok=True)
    (out / "grades.csv").write_text(report.grades_csv(results), encoding="utf-8")
    (out / "report.html").write_text(class_report.html(results), encoding="utf-8")
    (out / "report.md").write_text(class_report.markdown(results), encoding="utf-8")
    (out / merge.RECORDS).write_text(merge.records_jsonl(results), encoding="utf-8")
    for result in results:
        folder = out / result.student / (result.lab or Path(result.path).parent.name or "unknown")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(report.gradescope_json(result), encoding="utf-8")
        (folder / "feedback.md").write_text(report.feedback_markdown(result), encoding="utf-8")


def slowest(seconds: dict[str, float], count: int = 5) -> str:
    """The closing lines that name the slowest submissions, slowest first."""
    ranked = sorted(seconds.items(), key=lambda item: (-item[1], item[0]))[:count]
    if not ranked:
        return ""
    return "slowest submissions:\n" + "".join(f"  {value:6.1f} s  {path}\n" for path, value in ranked)
