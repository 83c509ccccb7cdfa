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
from autograder.seeds import SecretError, read_secret_file

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


def test_grade_help_names_the_class_report_and_who_each_notebook_is():
    done = autograder("grade", "--help")
    text = " ".join(done.stdout.split())
    assert "OUT/report.html (the class report" in text
    assert "LAB/ada.ipynb: ada" in text and "several notebooks for one student's lab are refused" in text


def test_check_solution_prints_full_marks():
    done = autograder("check", solution_notebook(LAB))
    assert done.returncode == 0, done.stderr
    assert f"{LAB} — 14 / 14 points" in done.stdout
    assert all(f"✓ {name}" in done.stdout for name in EXERCISES)


def test_check_blank_release_prints_zero_and_what_to_do():
    done = autograder("check", release_notebook(LAB))
    assert done.returncode == 0, done.stderr
    assert f"{LAB} — 0 / 14 points" in done.stdout
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
    assert rows == [["student", "lab", "score", "max_score"], ["alice", LAB, "14", "14"], ["bob", LAB, "0", "14"]]


@pytest.mark.parametrize(("student", "score"), [("alice", 14), ("bob", 0)])
def test_grade_writes_gradescope_results_per_submission(graded_class, student, score):
    _, out = graded_class
    results = json.loads((out / student / LAB / "results.json").read_text(encoding="utf-8"))
    assert (results["score"], results["max_score"]) == (score, 14)
    assert [t["name"] for t in results["tests"]] == EXERCISES
    assert all({"name", "score", "max_score", "output", "visibility"} <= set(t) for t in results["tests"])
    assert sum(t["score"] for t in results["tests"]) == score
    assert sum(t["max_score"] for t in results["tests"]) == 14


@pytest.mark.parametrize(("student", "heading"), [("alice", "14 / 14"), ("bob", "0 / 14")])
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


# the course secret: from a file or the environment, never the command line ---------------

def write_secret(tmp_path, content, mode=0o600, name="secret"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    path.chmod(mode)
    return path


@pytest.mark.parametrize("content", ["s3cret", "s3cret\n", "  s3cret \r\n"], ids=["bare", "newline", "spaces"])
def test_read_secret_file_returns_the_stripped_secret(tmp_path, content):
    assert read_secret_file(write_secret(tmp_path, content)) == "s3cret"


def test_read_secret_file_accepts_a_read_only_file(tmp_path):
    assert read_secret_file(write_secret(tmp_path, "s3cret", mode=0o400)) == "s3cret"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o666])
def test_read_secret_file_refuses_a_file_others_can_read_or_change(tmp_path, mode):
    path = write_secret(tmp_path, "s3cret", mode=mode)
    with pytest.raises(SecretError, match=rf"has mode {mode:04o}: others could read or change the course secret\. "
                                          rf"Run `chmod 600 {path}`"):
        read_secret_file(path)


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"), (" \n\t\n", "is empty"), ("x" * 4097, "is over 4096 bytes"), (b"\xff\xfe", "is not UTF-8 text"),
], ids=["empty", "blank", "too_long", "not_utf8"])
def test_read_secret_file_refuses_a_file_that_holds_no_usable_secret(tmp_path, content, message):
    with pytest.raises(SecretError, match=message):
        read_secret_file(write_secret(tmp_path, content))


def test_read_secret_file_refuses_a_missing_file(tmp_path):
    with pytest.raises(SecretError, match="could not be opened: No such file or directory"):
        read_secret_file(tmp_path / "absent")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_read_secret_file_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "fifo", 0o600)
    with pytest.raises(SecretError, match="is not a regular file"):
        read_secret_file(tmp_path / "fifo")


def test_grade_refuses_a_secret_on_the_command_line_without_echoing_it(tmp_path):
    done = autograder("grade", tmp_path, "--out", tmp_path / "out", "--secret", "hunter2-course-secret")
    assert done.returncode == 2
    assert "--secret is no longer accepted" in done.stderr and "--secret-file PATH" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_grade_refuses_a_secret_file_others_can_read(tmp_path):
    path = write_secret(tmp_path, "s3cret", mode=0o644)
    done = autograder("grade", tmp_path, "--out", tmp_path / "out", "--secret-file", path)
    assert done.returncode == 2
    assert f"error: the secret file {path} has mode 0644" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


@pytest.fixture(scope="module")
def hard_coded_class(tmp_path_factory):
    """A class of one whose hidden-case feedback depends on the course secret."""
    root = tmp_path_factory.mktemp("secret_class")
    folder = root / "submitted" / "carol" / LAB
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "corpus" / "hard_codes_public_answers__0_of_12.ipynb", folder / f"{LAB}.ipynb")
    return root


def feedback_under(root, name, *args, secret_in_env):
    out = root / name
    env = {**os.environ, "AUTOGRADER_SECRET": secret_in_env}
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", root / "submitted", "--out", out, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return (out / "carol" / LAB / "feedback.md").read_text(encoding="utf-8")


def test_grade_draws_hidden_cases_from_the_secret_file_over_the_environment(hard_coded_class):
    path = write_secret(hard_coded_class, "course-one\n")
    from_file = feedback_under(hard_coded_class, "file", "--secret-file", path, secret_in_env="course-two")
    assert from_file == feedback_under(hard_coded_class, "env_one", secret_in_env="course-one")
    assert from_file != feedback_under(hard_coded_class, "env_two", secret_in_env="course-two")
