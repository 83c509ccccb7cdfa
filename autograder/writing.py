"""Writing a class's reports into one folder: the single writer that ``grade`` and ``merge`` both use.

``OUT/grades.csv``, the class report (``report.html``, ``report.md``), every result's record
(``results.jsonl``, every result as graded) and, per submission, ``OUT/STUDENT/LAB/results.json`` and ``feedback.md``.

No student text is a path here. A student's or lab folder's name becomes a folder name
only when it is an ordinary one; any other (``..``, ``grades.csv``, a name with a slash, a
control character, a leading dot or ``%``, too long) is written percent-encoded after a
``%`` (``%grades%2Ecsv``), which no ordinary name starts with, so two names never share a
folder. Two results that would still land in one folder (one student's two notebooks of a
lab) become one refusal that names both files: never two rows for one student and lab,
never one report overwriting another.

Report folders of an earlier run into the same ``OUT`` that this run does not write, and
that hold nothing but this writer's two files, are removed (and listed); anything else in
``OUT`` is left alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from autograder import class_report, report
from autograder.grading import SubmissionResult, capped, not_graded
from autograder.records import RECORDS, records_jsonl

CLASS_FILES = ("grades.csv", "report.html", "report.md", RECORDS, "shard.json")
SUBMISSION_FILES = ("results.json", "feedback.md")
_ORDINARY = re.compile(r"[^\x00-\x1f\x7f-\x9f/\\%:*?\"<>|\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_MAX_NAME = 120  # bytes: room for the percent-encoding and a digest within any file system's 255


def folder_name(name: str) -> str:
    """The folder that holds a student's (or lab's) reports: ``name`` itself when it is an ordinary
    name, else ``%`` and its percent-encoding (with a digest if it is long), never a path."""
    name = str(name)
    if (_ORDINARY.fullmatch(name) and not name.startswith((".", " ")) and not name.endswith((" ", "."))
            and name.casefold() not in CLASS_FILES and len(name.encode("utf-8", "surrogatepass")) <= _MAX_NAME):
        return name
    encoded = quote(name.encode("utf-8", "surrogatepass"), safe=" -_()[]+,;=@!'~").replace(".", "%2E")
    if len(encoded) > _MAX_NAME:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        encoded = f"{encoded[:_MAX_NAME - 20]}~{digest}"
    return "%" + encoded


def lab_folder(result: SubmissionResult) -> str:
    return result.lab or Path(result.path).parent.name or "unknown"


def submission_folder(result: SubmissionResult) -> tuple[str, str]:
    """Where ``result``'s reports go, relative to the output folder: (student folder, lab folder)."""
    return folder_name(result.student), folder_name(lab_folder(result))


def order(results) -> list[SubmissionResult]:
    """Results in discovery's order (student, lab folder, path), whatever order they come in."""
    return sorted(results, key=lambda r: (r.student, Path(r.path).parent.name, r.path))


def one_per_folder(results) -> list[SubmissionResult]:
    """The results with no two for one report folder: several notebooks of one student's lab become one
    refusal naming them all (a teacher decides which counts), in :func:`order`."""
    groups: dict[tuple[str, str], list[SubmissionResult]] = defaultdict(list)
    for result in order(results):
        groups[submission_folder(result)].append(result)
    kept = []
    for group in groups.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        first = group[0]
        names = ", ".join(sorted(Path(r.path).name for r in group))
        labs = {r.lab for r in group}
        lab = labs.pop() if len(labs) == 1 else None
        why = (f"{len(group)} notebooks were handed in for {lab or 'one lab'} by {first.student}: {names}. None was "
               "counted: keep the one to grade (delete or move the others) and grade again")
        kept.append(capped(not_graded(first.student, lab, first.path, why)))
    return order(kept)


@dataclass(frozen=True)
class Written:
    """What :func:`write_reports` did: the results it wrote, and the stale report folders it removed."""

    results: list[SubmissionResult]
    removed: list[str]


def _ours_only(folder: str) -> bool:
    """Whether ``folder`` is a real folder (not a link) holding nothing but this writer's files."""
    try:
        with os.scandir(folder) as entries:
            return all(e.name in SUBMISSION_FILES and e.is_file(follow_symlinks=False) for e in entries)
    except OSError:
        return False


def _stale(out: Path, keep: set[tuple[str, str]]) -> list[tuple[str, str]]:
    stale = []
    for student in sorted(os.listdir(out)):
        student_path = out / student
        if student in CLASS_FILES or not stat.S_ISDIR(os.lstat(student_path).st_mode):
            continue
        try:
            labs = sorted(os.listdir(student_path))
        except OSError:
            continue  # not ours to read: left alone
        for lab in labs:
            lab_path = student_path / lab
            if (student, lab) not in keep and stat.S_ISDIR(os.lstat(lab_path).st_mode) and _ours_only(lab_path) \
                    and os.listdir(lab_path):
                stale.append((student, lab))
    return stale


def _remove(out: Path, student: str, lab: str) -> None:
    for name in SUBMISSION_FILES:
        (out / student / lab / name).unlink(missing_ok=True)
    (out / student / lab).rmdir()
    try:
        (out / student).rmdir()
    except OSError:
        pass  # the student's other labs, or files that are not ours, stay


def write_reports(results, out: Path) -> Written:
    """Writes every report of ``results`` into ``out`` (see the module's docstring) and returns what it wrote.

    Results are written in :func:`order` whatever order they come in, so merged shards write the same files
    as one run. ``results.jsonl`` records every result as graded (a shard's share whole, for ``merge``); the
    other reports show :func:`one_per_folder`'s.
    """
    records = order(results)
    results = one_per_folder(records)
    out.mkdir(parents=True, exist_ok=True)
    folders = {submission_folder(r): r for r in results}
    removed = []
    for student, lab in _stale(out, set(folders)):
        _remove(out, student, lab)
        removed.append(f"{student}/{lab}")
    (out / "grades.csv").write_text(report.grades_csv(results), encoding="utf-8")
    (out / "report.html").write_text(class_report.html(results), encoding="utf-8")
    (out / "report.md").write_text(class_report.markdown(results), encoding="utf-8")
    (out / RECORDS).write_text(records_jsonl(records), encoding="utf-8")
    for (student, lab), result in folders.items():
        folder = out / student / lab
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(report.gradescope_json(result), encoding="utf-8")
        (folder / "feedback.md").write_text(report.feedback_markdown(result), encoding="utf-8")
    return Written(results, removed)
