"""Hidden cases are drawn per student; a notebook handed in for the wrong lab is reported, not graded twice."""

from __future__ import annotations

import pytest
from conftest import solution_notebook

from autograder import checks
from autograder.grading import GradingOptions, grade_notebook
from autograder.sandbox import isolation
from autograder.seeds import case_seed

SECRET = "per-student-test-secret"


def hidden_inputs(lab_id: str, student: str) -> list:
    cases = checks.load_lab(lab_id).hidden_cases(case_seed(lab_id, SECRET, student))
    return [c.inputs_json() for name in sorted(cases) for c in cases[name]]


@pytest.mark.parametrize("lab_id", checks.lab_ids())
def test_two_students_get_other_hidden_inputs(lab_id):
    assert hidden_inputs(lab_id, "ada") != hidden_inputs(lab_id, "ben")


@pytest.mark.parametrize("lab_id", checks.lab_ids())
def test_the_same_student_always_gets_the_same_ones(lab_id):
    assert hidden_inputs(lab_id, "ada") == hidden_inputs(lab_id, "ada")


def test_the_seed_depends_on_secret_lab_and_student():
    seeds = {case_seed(lab, secret, student) for lab in ("01_gradient_descent", "02_gradient_checking")
             for secret in ("a", "b") for student in ("ada", "ben")}
    assert len(seeds) == 8


@pytest.fixture(scope="module")
def options():
    mode, _ = isolation.mode(("sandbox", "trusted"))
    return GradingOptions(secret=SECRET, isolation=mode)


def test_a_lab_02_notebook_in_a_lab_01_folder_is_reported_as_such(options):
    result = grade_notebook(solution_notebook("02_gradient_checking"), "ada", options,
                            lab_hint="01_gradient_descent")
    assert result.lab == "01_gradient_descent"
    assert (result.score, result.max_score) == (0, checks.load_lab("01_gradient_descent").max_score)
    assert "notebook of lab 02_gradient_checking, handed in for lab 01_gradient_descent" in result.error


def test_the_right_notebook_in_its_folder_is_graded(options):
    result = grade_notebook(solution_notebook("02_gradient_checking"), "ada", options,
                            lab_hint="02_gradient_checking")
    assert result.error is None and result.score == result.max_score
