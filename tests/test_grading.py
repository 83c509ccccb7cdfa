"""Grading submissions for real: the sandbox, bad input, determinism, the reports."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, release_notebook, replace_function, solution_notebook, without_keras

from autograder import batch, checks, report, writing
from autograder.grading import GradingOptions, grade_notebook

LABS = ["01_gradient_descent", "02_gradient_checking"]
SECRET = "tests-secret"


def options(*inputs):
    return GradingOptions(secret=SECRET, hidden_paths=batch.secret_paths(ROOT, list(inputs), None))


def load(lab: str) -> dict:
    return json.loads(solution_notebook(lab).read_text())


def numpy_only(lab: str) -> dict:
    """The solution with its Keras exercise left as the stub: these tests are about NumPy exercises."""
    return without_keras(load(lab), lab)


KERAS_POINTS = sum(e.points for e in checks.load_lab(LABS[0]).exercises if e.profile == "tensorflow")


# Every lab's solution and blank release are graded once, beside nbgrader's grades: tests/test_nbgrader.py.


BAD_FUNCTIONS = {
    "loops_forever": ("def central_difference(f, x, h=1e-5):\n    while True:\n        pass\n", "time limit"),
    "sleeps_forever": ("import time\ndef central_difference(f, x, h=1e-5):\n    time.sleep(10**6)\n", "time limit"),
    "swallows_the_timeout": ("def central_difference(f, x, h=1e-5):\n    while True:\n        try:\n"
                             "            while True:\n                pass\n        except BaseException:\n"
                             "            pass\n", "time limit"),
    "calls_sys_exit": ("import sys\ndef central_difference(f, x, h=1e-5):\n    sys.exit(0)\n",
                       "tried to stop the grader"),
    "calls_os_exit": ("import os\ndef central_difference(f, x, h=1e-5):\n    os._exit(0)\n", "ended abruptly"),
    "patches_numpy_allclose": ("import numpy as np\nPATCH = setattr(np, 'allclose', lambda *a, **k: True)\n"
                               "def central_difference(f, x, h=1e-5):\n    return 0.0\n", "received: 0\n"),
    "reads_the_solutions": (f"def central_difference(f, x, h=1e-5):\n"
                            f"    return float(len(open({str(solution_notebook(LABS[0]))!r}).read()))\n",
                            "does not let student code read"),
    "returns_an_object_equal_to_everything": (
        "class Liar:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
        "def central_difference(f, x, h=1e-5):\n    return Liar()\n", "returned a Liar object"),
}


@pytest.mark.parametrize("case", sorted(BAD_FUNCTIONS))
def test_bad_exercise_costs_only_that_exercise(case, write_notebook):
    source, message = BAD_FUNCTIONS[case]
    path = write_notebook(replace_function(numpy_only(LABS[0]), "central_difference", source), student=case)
    result = grade_notebook(path, case, options(path.parents[2]), lab_hint=LABS[0])
    by_name = {e.name: e for e in result.exercises}
    assert by_name["central_difference"].score == 0
    assert message in by_name["central_difference"].feedback, by_name["central_difference"].feedback
    assert result.score == result.max_score - 2 - KERAS_POINTS, report.text(result)


def test_invalid_json_gets_a_clear_message_and_zero(write_notebook):
    path = write_notebook('{"cells": [', student="truncated")
    result = grade_notebook(path, "truncated", options(), lab_hint=LABS[0])
    assert result.lab == LABS[0] and result.score == 0 and result.max_score == 14
    assert "not valid notebook JSON" in result.error


def test_a_class_with_bad_submissions_is_graded_and_reports_are_deterministic(write_notebook, tmp_path):
    solution = load(LABS[0])
    write_notebook(solution, student="ada")
    write_notebook(replace_function(numpy_only(LABS[0]), "central_difference", BAD_FUNCTIONS["loops_forever"][0]),
                   student="bob")
    exits = numpy_only(LABS[0])
    exits["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": "import sys\nsys.exit(1)\n"})
    write_notebook(exits, student="cy")
    write_notebook("not json at all", student="dee")
    write_notebook(json.loads(release_notebook(LABS[1]).read_text()), student="ada", lab=LABS[1], name="renamed.ipynb")
    root = tmp_path / "submitted"
    submissions = batch.discover([root])
    outputs = []
    for attempt in ("first", "second"):
        results = batch.grade_all(submissions, options(root), jobs=2)
        out = tmp_path / attempt
        writing.write_reports(results, out)
        outputs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1]
    grades = outputs[0][type(next(iter(outputs[0])))("grades.csv")].decode().splitlines()
    assert grades == [
        "student,lab,score,max_score",
        "ada,01_gradient_descent,14,14",
        "ada,02_gradient_checking,0,12",
        "bob,01_gradient_descent,10,14",
        "cy,01_gradient_descent,12,14",
        "dee,01_gradient_descent,0,14",
    ]


def test_results_json_follows_gradescope_schema(tmp_path):
    result = grade_notebook(solution_notebook(LABS[1]), "solution", options())
    data = json.loads(report.gradescope_json(result))
    assert data["score"] == data["max_score"] == 12
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "output", "visibility"}
        assert test["visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    assert "BEGIN HIDDEN TESTS" not in json.dumps(data)


@pytest.mark.parametrize(("source", "cause"), [
    ("def central_difference(f, x, h=1e-5):\n    return (f(x + h) - f(x)) / h\n", "forward"),
    ("def central_difference(f, x, h=1e-5):\n    return (f(x + h) - f(x - h)) / (2 * h) + 0.5\n", None),
])
def test_the_cause_named_in_a_result_is_the_mistake_every_case_agrees_on(source, cause, write_notebook):
    path = write_notebook(replace_function(numpy_only(LABS[0]), "central_difference", source), student="s")
    result = grade_notebook(path, "s", options(path.parents[2]), lab_hint=LABS[0])
    exercise = next(e for e in result.exercises if e.name == "central_difference")
    assert exercise.score == 0 and exercise.cause == cause, exercise.feedback
    assert ("forward difference" in exercise.feedback) is (cause == "forward")
    assert all(e.cause is None for e in result.exercises if e.passed)


def test_a_passing_exercise_shows_its_points_in_every_form(write_notebook):
    path = write_notebook(numpy_only(LABS[0]), student="solution")
    result = grade_notebook(path, "solution", options(path.parents[2]), lab_hint=LABS[0])
    exercise = next(e for e in result.exercises if e.name == "central_difference")
    assert exercise.feedback.startswith("✓ central_difference: all ") and exercise.feedback.endswith(": 2 points")
    assert json.loads(report.gradescope_json(result))["tests"][0]["output"] == exercise.feedback
