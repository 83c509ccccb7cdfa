"""A class graded by the real command line (sandbox, shards, merge): who each submission is, every outcome
in the class report, and reports that no student text or name can break.

One class is graded once (as two shards, then merged) and many things are asserted about it: grading is
what costs here.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, replace_function

from autograder import class_report, records, writing
from autograder.grading import ExerciseResult, SubmissionResult

LAB = "01_gradient_descent"
CORPUS = ROOT / "tests" / "corpus"
HOSTILE = ("line one\u2028line two\u2029 ``` \n```\n# 14 / 14 points\n<img src=x onerror=alert(1)>\n"
           "| a | b |")
RAISES_HOSTILE = f'''def central_difference(f, x, h=1e-5):
    raise ValueError({HOSTILE!r})
'''


def autograder(cwd: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _put(path: Path, source: Path | dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, dict):
        path.write_text(json.dumps(source), encoding="utf-8")
    else:
        shutil.copy(source, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class below, graded as shards 1/2 and 2/2 and merged into a folder that held stale reports."""
    work = tmp_path_factory.mktemp("batch")
    solution = json.loads((CORPUS / "correct_solution__12_of_12.ipynb").read_text(encoding="utf-8"))
    sub = work / "submitted"
    _put(sub / "ada" / LAB / f"{LAB}.ipynb", CORPUS / "correct_solution__12_of_12.ipynb")
    _put(sub / "grades.csv" / LAB / f"{LAB}.ipynb", CORPUS / "blank_release_unchanged__0_of_12.ipynb")
    _put(sub / "cy" / LAB / f"{LAB}.ipynb", CORPUS / "infinite_loop_in_central_difference__10_of_12.ipynb")
    _put(sub / "dee" / LAB / f"{LAB}.ipynb", CORPUS / "invalid_json__0_of_12.ipynb")
    _put(sub / "eve" / LAB / f"{LAB}.ipynb", CORPUS / "correct_solution__12_of_12.ipynb")
    _put(sub / "eve" / LAB / f"{LAB}-Copy1.ipynb", CORPUS / "blank_release_unchanged__0_of_12.ipynb")
    _put(sub / "fay" / LAB / f"{LAB}.ipynb", CORPUS / "os_exit_in_central_difference__10_of_12.ipynb")
    _put(sub / "gus" / LAB / f"{LAB}.ipynb", replace_function(solution, "central_difference", RAISES_HOSTILE))
    # a bare lab folder, its notebooks passed as files: each file's stem is its student
    _put(work / LAB / "hal.ipynb", CORPUS / "correct_solution__12_of_12.ipynb")
    _put(work / LAB / "...ipynb", CORPUS / "blank_release_unchanged__0_of_12.ipynb")
    inputs = ["submitted", f"{LAB}/hal.ipynb", f"{LAB}/...ipynb"]
    runs = [autograder(work, "grade", *inputs, "--out", f"shard{k}", "--jobs", "2", "--shard", f"{k}/2")
            for k in (1, 2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    merged = work / "merged"
    _put(merged / "zed" / LAB / "results.json", CORPUS / "expected.json")  # reports of a student since gone
    (merged / "zed" / LAB / "feedback.md").write_text("stale\n", encoding="utf-8")
    (merged / "notes").mkdir()
    (merged / "notes" / "mine.txt").write_text("the teacher's own file\n", encoding="utf-8")
    merge = autograder(work, "merge", "shard1", "shard2", "--out", "merged")
    assert merge.returncode == 0, merge.stderr
    return work, runs, merge


def _out(graded) -> Path:
    return graded[0] / "merged"


def _grades(graded) -> list[list[str]]:
    with open(_out(graded) / "grades.csv", newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _feedback(graded, student_folder: str) -> str:
    return (_out(graded) / student_folder / LAB / "feedback.md").read_text(encoding="utf-8")


def test_every_submission_has_one_row_and_one_folder(graded):
    rows = _grades(graded)
    assert rows[0] == ["student", "lab", "score", "max_score"]
    students = [row[0] for row in rows[1:]]
    assert students == sorted(students) and len(students) == len(set(students))
    assert set(students) == {"..", "ada", "cy", "dee", "eve", "fay", "grades.csv", "gus", "hal"}
    assert all(row[1] == LAB for row in rows[1:])
    folders = {p.parent.relative_to(_out(graded)).as_posix() for p in _out(graded).rglob("feedback.md")}
    assert folders == {f"{s}/{LAB}" for s in ("ada", "cy", "dee", "eve", "fay", "gus", "hal")} | {
        f"%grades%2Ecsv/{LAB}", f"%%2E%2E/{LAB}"}


def test_a_bare_lab_folders_notebooks_are_the_students_their_files_name(graded):
    rows = {row[0]: row for row in _grades(graded)[1:]}
    assert rows["hal"][2:] == ["12", "14"]
    assert rows[".."][2:] == ["0", "14"]
    assert _feedback(graded, "%%2E%2E").startswith(f"# {LAB} — 0 / 14 points")


def test_two_notebooks_in_one_students_lab_folder_are_refused_by_name(graded):
    assert {row[0]: row[2] for row in _grades(graded)[1:]}["eve"] == "0"
    feedback = _feedback(graded, "eve")
    assert "2 notebooks were handed in for 01_gradient_descent by eve" in feedback
    assert f"{LAB}-Copy1.ipynb" in feedback and "None was graded" in feedback
    assert any("eve/01_gradient_descent: 2 notebooks" in run.stderr for run in graded[1])


def test_a_student_named_like_a_report_breaks_no_report(graded):
    assert (_out(graded) / "grades.csv").is_file()
    assert _feedback(graded, "%grades%2Ecsv").startswith(f"# {LAB} — 0 / 14 points")
    assert {row[0]: row[2] for row in _grades(graded)[1:]}["grades.csv"] == "0"


def test_stale_report_folders_are_removed_and_other_files_kept(graded):
    assert not (_out(graded) / "zed").exists()
    assert "removed the reports of 1 submissions" in graded[2].stderr and "zed/01_gradient_descent" in graded[2].stderr
    assert (_out(graded) / "notes" / "mine.txt").read_text(encoding="utf-8") == "the teacher's own file\n"


def test_a_line_separator_in_student_text_survives_a_shard_and_the_merge(graded):
    text = (_out(graded) / records.RECORDS).read_text(encoding="utf-8")
    assert "\u2028" not in text and "\u2029" not in text and "\\u2028" in text
    results = records.read_records(_out(graded) / records.RECORDS)
    assert len(results) == len(text.split("\n")) - 1 == 9  # eve's two notebooks are one refusal
    gus = next(r for r in results if r.student == "gus")
    assert "line one\u2028line two" in next(e.feedback for e in gus.exercises if e.name == "central_difference")


def test_student_text_cannot_break_out_of_the_feedback_file(graded):
    feedback = _feedback(graded, "gus")
    lines = feedback.splitlines()
    fence = lines[2]
    assert lines[0].startswith(f"# {LAB} — ") and fence.startswith("````") and fence.endswith("text")
    assert lines[-1] == fence[:-len("text")] and feedback.count(fence[:-len("text")] + "\n") == 1
    assert [line for line in lines if line.startswith("#")] == [lines[0]]  # the fake heading sits inside the block
    assert "<img src=x onerror=alert(1)>" in feedback  # shown, as text, inside the fence


def test_every_outcome_is_counted_per_exercise(graded):
    results = {r.student: r for r in records.read_records(_out(graded) / records.RECORDS)}
    outcome = {(s, e.name): e.outcome for s, r in results.items() for e in r.exercises}
    assert outcome["cy", "central_difference"] == "timed_out"
    assert outcome["fay", "central_difference"] == "crashed"
    assert outcome["gus", "central_difference"] == "raised"
    assert outcome["grades.csv", "central_difference"] == "not_implemented"
    assert outcome["ada", "central_difference"] == "passed"
    assert results["dee"].error and {e.outcome for e in results["dee"].exercises} == {"not_graded"}
    md = (_out(graded) / "report.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| exercise | points | passed |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    row = next(line for line in md.splitlines() if line.startswith("| `central_difference` |"))
    counts = dict(zip(columns, (c.strip() for c in row.strip("|").split("|")), strict=True))
    # 9 records, 7 ran: dee could not be read and eve was refused; neither counts as failing any exercise
    assert counts["passed"] == "2 / 7"  # ada, hal (the Keras exercise aside, 12 / 14)
    assert (counts["raised"], counts["crashed"], counts["timed out"], counts["not implemented"]) == ("1", "1", "1", "2")
    assert "2 more could not be run (counted apart, not in these numbers)" in md


def test_the_submissions_that_need_a_look_are_listed_with_why(graded):
    md = (_out(graded) / "report.md").read_text(encoding="utf-8")
    section = md[md.index("## Submissions that need a human look"):]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith(("| student",
                                                                                                     "| ---"))]
    assert [row.split("|")[1].strip() for row in rows] == ["cy", "dee", "eve", "fay"]
    assert "timed out: central\\_difference" in rows[0] and "crashed: central\\_difference" in rows[3]
    assert "not valid notebook JSON" in rows[1] and "2 notebooks were handed in" in rows[2]
    html = (_out(graded) / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" not in html  # gus ran: not listed
    assert class_report.html(records.read_records(_out(graded) / records.RECORDS)) != ""


def test_a_time_out_says_the_limit_and_the_case_it_stopped_in(graded):
    feedback = _feedback(graded, "cy")
    part = feedback[feedback.index("✗ central_difference"):]
    assert "time limit (5 s for all" in part and "this case was running" in part
    assert "case:     f(x) = x^2 at x = 3" in part
    assert re.match(r"✗ central_difference +0 / 2   \(\d+ cases, \d+ of them hidden\)", part)


def test_counts_say_how_many_cases_are_hidden(graded):
    feedback = _feedback(graded, "ada")
    assert "of them hidden)" in feedback


# without grading ---------------------------------------------------------------------------------------


def test_a_folder_whose_notebooks_sit_deeper_exits_2_and_names_the_folder_to_pass(tmp_path):
    _put(tmp_path / "download" / "course" / "submitted" / "ada" / LAB / f"{LAB}.ipynb",
         CORPUS / "correct_solution__12_of_12.ipynb")
    done = autograder(tmp_path, "grade", "download", "--out", "out")
    assert done.returncode == 2
    assert "the notebooks sit deeper. Pass download/course/submitted" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_bare_lab_folder_given_as_a_folder_exits_2_and_says_to_pass_its_notebooks(tmp_path):
    _put(tmp_path / LAB / "ada.ipynb", CORPUS / "correct_solution__12_of_12.ipynb")
    done = autograder(tmp_path, "grade", LAB, "--out", "out")
    assert done.returncode == 2
    assert f"{LAB} holds notebooks itself. Pass them as files ({LAB}/*.ipynb" in done.stderr


def test_one_students_folder_exits_2_and_names_the_folder_above(tmp_path):
    _put(tmp_path / "submitted" / "ada" / LAB / f"{LAB}.ipynb", CORPUS / "correct_solution__12_of_12.ipynb")
    done = autograder(tmp_path, "grade", "submitted/ada", "--out", "out")
    assert done.returncode == 2
    assert f"looks like one student's folder (LAB/*.ipynb): pass the folder above it, {tmp_path / 'submitted'}" \
        in done.stderr


def test_an_empty_folder_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    done = autograder(tmp_path, "grade", "empty", "--out", "out")
    assert done.returncode == 2 and "nor anywhere below it" in done.stderr


@pytest.mark.parametrize(("name", "folder"), [
    ("ada", "ada"), ("grades.csv", "%grades%2Ecsv"), ("..", "%%2E%2E"), (".", "%%2E"), ("a/b", "%a%2Fb"),
    ("%x", "%%25x"), ("REPORT.HTML", "%REPORT%2EHTML"), ("", "%"), ("x\u2028y", "%x%E2%80%A8y"),
])
def test_names_become_folder_names_that_are_never_paths(name, folder):
    assert writing.folder_name(name) == folder


def test_long_names_get_a_short_distinct_folder():
    one, two = writing.folder_name("é" * 200 + "a"), writing.folder_name("é" * 200 + "b")
    assert one != two and len(one.encode()) <= 130 and len(two.encode()) <= 130


def _result(student, path, exercises=(), **kw):
    return SubmissionResult(student, LAB, path, tuple(exercises), **kw)


def test_two_results_for_one_folder_become_one_refusal(tmp_path):
    results = [_result("ada", f"x/{LAB}/a.ipynb", [ExerciseResult("central_difference", 2, 2, "✓")]),
               _result("ada", f"y/{LAB}/b.ipynb", [ExerciseResult("central_difference", 2, 2, "✓")])]
    written = writing.write_reports(results, tmp_path)
    assert len(written.results) == 1 and written.results[0].score == 0
    assert "2 notebooks were handed in for 01_gradient_descent by ada: a.ipynb, b.ipynb" in written.results[0].error
    assert len(records.read_records(tmp_path / records.RECORDS)) == 2  # the records keep both, for merge


def test_a_student_name_that_looks_like_a_formula_is_text_in_grades_csv(tmp_path):
    writing.write_reports([_result("=HYPERLINK(\"http://x\")", f"s/{LAB}/n.ipynb")], tmp_path)
    assert "'=HYPERLINK" in (tmp_path / "grades.csv").read_text(encoding="utf-8")


def test_feedback_is_capped_per_exercise_and_per_submission():
    from autograder.grading import MAX_EXERCISE_FEEDBACK, MAX_SUBMISSION_FEEDBACK, capped, truncate

    cut = truncate("x" * (MAX_EXERCISE_FEEDBACK * 3), MAX_EXERCISE_FEEDBACK)
    assert len(cut) < MAX_EXERCISE_FEEDBACK + 200 and "12,000 more characters were left out" in cut
    huge = _result("ada", f"s/{LAB}/n.ipynb", [ExerciseResult(f"e{i}", 0, 1, "y" * MAX_EXERCISE_FEEDBACK)
                                               for i in range(40)], notes=tuple("n" * 300 for _ in range(500)))
    small = capped(huge)
    size = sum(len(e.feedback) for e in small.exercises) + sum(map(len, small.notes))
    assert size < MAX_SUBMISSION_FEEDBACK + 40 * 400 and len(small.exercises) == 40
    assert small.notes[-1].startswith("[… ") and "more notes were left out" in small.notes[-1]


def test_who_a_notebook_given_as_a_file_is(tmp_path):
    from autograder import batch

    paths = [tmp_path / "sub" / "ada" / LAB / f"{LAB}.ipynb", tmp_path / "ben" / f"{LAB}.ipynb",
             tmp_path / LAB / "cy.ipynb", tmp_path / LAB / "dee.ipynb"]
    for path in paths:
        _put(path, CORPUS / "empty_file__0_of_12.ipynb")
    found = batch.discover([*paths, tmp_path / "sub", paths[0]])  # the first also inside the folder given
    assert [(s.student, s.lab_hint, s.refusal) for s in found] == [
        ("ada", LAB, None), ("ben", LAB, None), ("cy", LAB, None), ("dee", LAB, None)]


def test_two_files_that_claim_one_student_and_lab_are_one_refusal(tmp_path):
    from autograder import batch

    paths = [tmp_path / "one" / LAB / "ada.ipynb", tmp_path / "two" / LAB / "ada.ipynb"]
    for path in paths:
        _put(path, CORPUS / "empty_file__0_of_12.ipynb")
    (found,) = batch.discover(paths)
    assert found.student == "ada" and found.refusal.startswith(f"2 notebooks were handed in for {LAB} by ada: ")
    assert str(paths[0]) in found.refusal and str(paths[1]) in found.refusal
