"""The real command line, run as a student or an instructor would: ``python -m autograder``."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, release_notebook, solution_notebook

from autograder import checks

LAB = "01_gradient_descent"
EXERCISES = [e.name for e in checks.load_lab(LAB).exercises]


def autograder(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOGRADER_SECRET": os.environ.get("AUTOGRADER_SECRET", "tests-secret")}
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("verb", "expected"), [
    ((), "check"),
    (("check",), "python -m autograder check"),
    (("grade",), "python -m autograder grade"),
    (("release",), "python -m autograder release"),
], ids=["top_level", "check", "grade", "release"])
def test_help_exits_0_and_names_the_verb(verb, expected):
    done = autograder(*verb, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ") and expected in done.stdout


def test_check_solution_prints_full_marks():
    done = autograder("check", solution_notebook(LAB))
    assert done.returncode == 0, done.stderr
    assert f"{LAB} — 12 / 12 points" in done.stdout
    assert all(f"✓ {name}" in done.stdout for name in EXERCISES)


def test_check_blank_release_prints_zero_and_what_to_do():
    done = autograder("check", release_notebook(LAB))
    assert done.returncode == 0, done.stderr
    assert f"{LAB} — 0 / 12 points" in done.stdout
    assert done.stdout.count("not implemented yet") == len(EXERCISES)
    assert "Traceback" not in done.stdout + done.stderr


def test_check_missing_notebook_exits_2_with_a_message(tmp_path):
    missing = tmp_path / "nowhere.ipynb"
    done = autograder("check", missing)
    assert done.returncode == 2
    assert f"error: no such notebook: {missing}" in done.stderr


@pytest.mark.parametrize("content", ['{"cells": [', "[" * 100_000], ids=["cut_short", "nested_too_deeply"])
def test_check_broken_notebook_exits_0_with_a_message(write_notebook, content):
    done = autograder("check", write_notebook(content))
    assert done.returncode == 0, done.stderr
    assert "Could not grade this notebook: the file is not valid notebook JSON" in done.stdout
    assert "internal error" not in done.stderr


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """A class of two graded in nbgrader's layout: alice submits the solution, bob the blank release."""
    root = tmp_path_factory.mktemp("class")
    for student, source in (("alice", solution_notebook(LAB)), ("bob", release_notebook(LAB))):
        folder = root / "submitted" / student / LAB
        folder.mkdir(parents=True)
        shutil.copy(source, folder / f"{LAB}.ipynb")
    out = root / "out"
    return autograder("grade", root / "submitted", "--out", out), out


def test_grade_exits_0_and_says_where_reports_are(graded_class):
    done, out = graded_class
    assert done.returncode == 0, done.stderr
    assert f"reports written to {out}/" in done.stdout


def test_grade_writes_one_csv_row_per_student_and_lab(graded_class):
    _, out = graded_class
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["student", "lab", "score", "max_score"], ["alice", LAB, "12", "12"], ["bob", LAB, "0", "12"]]


@pytest.mark.parametrize(("student", "score"), [("alice", 12), ("bob", 0)])
def test_grade_writes_gradescope_results_per_submission(graded_class, student, score):
    _, out = graded_class
    results = json.loads((out / student / LAB / "results.json").read_text(encoding="utf-8"))
    assert (results["score"], results["max_score"]) == (score, 12)
    assert [t["name"] for t in results["tests"]] == EXERCISES
    assert all({"name", "score", "max_score", "output", "visibility"} <= set(t) for t in results["tests"])
    assert sum(t["score"] for t in results["tests"]) == score
    assert sum(t["max_score"] for t in results["tests"]) == 12


@pytest.mark.parametrize(("student", "heading"), [("alice", "12 / 12"), ("bob", "0 / 12")])
def test_grade_writes_feedback_a_student_can_read(graded_class, student, heading):
    _, out = graded_class
    feedback = (out / student / LAB / "feedback.md").read_text(encoding="utf-8")
    assert feedback.startswith(f"# {LAB} — {heading} points")


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_grade_with_jobs_below_1_exits_2_and_echoes_the_value(tmp_path, jobs):
    done = autograder("grade", tmp_path, "--out", tmp_path / "out", "--jobs", jobs)
    assert done.returncode == 2
    assert f"--jobs must be a positive integer. Got {jobs} instead." in done.stderr
    assert not (tmp_path / "out").exists()


def test_grade_missing_folder_exits_2_with_a_message(tmp_path):
    done = autograder("grade", tmp_path / "absent", "--out", tmp_path / "out")
    assert done.returncode == 2
    assert f"error: no such file or folder: {tmp_path / 'absent'}" in done.stderr


def test_unknown_verb_exits_2():
    done = autograder("frobnicate")
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr
