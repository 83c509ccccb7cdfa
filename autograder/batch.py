"""Grading a class: find submissions and grade them in parallel.

Submissions are found in nbgrader's layout (``ROOT/STUDENT/LAB/*.ipynb``) or given as
notebook paths (see :func:`discover` for who each one is). Each is graded in its own
sandboxed process; a broken one gets its message and its points, and the rest of the
class is graded regardless. The reports are written by :mod:`autograder.writing`.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder import checks
from autograder.grading import GradingOptions, SubmissionResult, capped, grade_notebook, not_graded
from autograder.seeds import SECRET_FILE


@dataclass(frozen=True)
class Submission:
    """A notebook to grade, whose student and (folder-given) lab come from its path.

    ``refusal`` is set when the submission is not graded: several notebooks claim the same
    student and lab (the message names them all).
    """

    path: Path
    student: str
    lab_hint: str | None
    refusal: str | None = None


class NoSubmissions(ValueError):
    """An input that yields no submission; the message says which folder would have worked."""


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file())


def _from_file(path: Path) -> Submission:
    """A notebook given as a file: its stem names the student (``LAB/ada.ipynb``: ada), unless it is named after
    its folder (nbgrader's ``ada/LAB/LAB.ipynb``: the folder above) or after a lab (``ada/LAB.ipynb``: its folder)."""
    parts = path.resolve().parts
    if path.stem == path.parent.name and len(parts) >= 3:
        return Submission(path, parts[-3], path.parent.name)
    if path.stem in checks.lab_ids() and len(parts) >= 2:
        return Submission(path, parts[-2], path.stem)
    return Submission(path, path.stem, path.parent.name)


def _from_folder(root: Path) -> list[Submission]:
    """The notebooks of a folder in nbgrader's layout, ``ROOT/STUDENT/LAB/*.ipynb``."""
    return [Submission(notebook, notebook.parent.parent.name, notebook.parent.name)
            for notebook in sorted(root.glob("*/*/*.ipynb"))
            if notebook.is_file() and ".ipynb_checkpoints" not in notebook.relative_to(root).parts]


def _one_per_student_and_lab(found: list[Submission]) -> list[Submission]:
    """Several notebooks for one student's lab become one refusal that names them: none is guessed at."""
    groups: dict[tuple[str, str | None], list[Submission]] = {}
    for submission in found:
        groups.setdefault((submission.student, submission.lab_hint), []).append(submission)
    kept = []
    for (student, lab), group in groups.items():
        if len(group) == 1:
            kept.append(group[0])
            continue
        names = ", ".join(str(s.path) for s in group)
        kept.append(Submission(group[0].path, student, lab, refusal=(
            f"{len(group)} notebooks were handed in for {lab} by {student}: {names}. None was graded: keep the "
            "one to grade (delete or move the others) and grade again")))
    return kept


def discover(paths: list[Path]) -> list[Submission]:
    """Every submission under ``paths``, sorted; one per student and lab folder.

    A folder is read in nbgrader's layout, ``ROOT/STUDENT/LAB/*.ipynb``. A notebook given as a file is the
    student named by its file's stem (``LAB/ada.ipynb``: ada), unless the file is named after its folder
    (``ada/LAB/LAB.ipynb``: ada) or a lab (``ada/LAB.ipynb``: ada). Several notebooks for one student and
    lab are one refusal, graded by none of them. Raises :class:`NoSubmissions` for a folder that yields no
    notebook, saying which folder would have.
    """
    found: dict[Path, Submission] = {}
    for root in paths:
        root = Path(root)
        if root.is_file():
            submissions = [_from_file(root)]
        elif root.is_dir():
            submissions = _from_folder(root)
            if not submissions:
                raise NoSubmissions(why_nothing(root))
        else:
            raise FileNotFoundError(f"no such file or folder: {root}")
        for submission in submissions:
            found.setdefault(submission.path.resolve(), submission)  # a file also inside a folder given
    ordered = sorted(found.values(), key=lambda s: (s.student, s.lab_hint or "", str(s.path)))
    return _one_per_student_and_lab(ordered)


_MAX_DEPTH = 6
_MAX_FOLDERS = 20_000


def _notebook_depths(root: Path) -> dict[int, list[Path]]:
    """Folders holding notebooks under ``root`` by depth (0: ``root`` itself), hidden folders skipped."""
    depths: dict[int, list[Path]] = {}
    visited = 0
    for folder, subfolders, files in os.walk(root):
        visited += 1
        depth = len(Path(folder).relative_to(root).parts)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")) if depth < _MAX_DEPTH else []
        if any(f.endswith(".ipynb") for f in files):
            depths.setdefault(depth, []).append(Path(folder))
        if visited >= _MAX_FOLDERS:
            break
    return depths


def why_nothing(root: Path) -> str:
    """Why a folder given to ``grade`` yields no submission, and which folder to pass instead."""
    depths = _notebook_depths(root)
    head = f"no notebooks found in {root} at STUDENT/LAB/*.ipynb (nbgrader's layout)"
    if not depths:
        return f"{head}, nor anywhere below it"
    if 0 in depths:
        return (f"{head}: {root} holds notebooks itself. Pass them as files ({root}/*.ipynb: each file's name is "
                "taken as its student's), or put each in STUDENT/LAB/ under a folder of its own")
    if 1 in depths:
        return (f"{head}: {root} looks like one student's folder (LAB/*.ipynb): pass the folder above it, "
                f"{root.resolve().parent}, for every student, or its notebooks as files")
    roots = sorted({folder.parents[1] for depth, folders in depths.items() if depth >= 3 for folder in folders},
                   key=lambda p: (len(p.parts), str(p)))
    shallowest = [r for r in roots if len(r.parts) == len(roots[0].parts)]
    return (f"{head}: the notebooks sit deeper. Pass {', '.join(map(str, shallowest[:5]))}"
            + (f" (and {len(shallowest) - 5} more)" if len(shallowest) > 5 else ""))


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
        if submission.refusal is not None:
            lab = submission.lab_hint if submission.lab_hint in checks.lab_ids() else None
            result = capped(not_graded(submission.student, lab, str(submission.path), submission.refusal))
            if bar is not None:
                bar.update(1)
            return result
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


def slowest(seconds: dict[str, float], count: int = 5) -> str:
    """The closing lines that name the slowest submissions, slowest first."""
    ranked = sorted(seconds.items(), key=lambda item: (-item[1], item[0]))[:count]
    if not ranked:
        return ""
    return "slowest submissions:\n" + "".join(f"  {value:6.1f} s  {path}\n" for path, value in ranked)
