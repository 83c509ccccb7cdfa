"""Real nbgrader on our notebooks: generate_assignment, autograde, generate_feedback, and the gradebook's scores.

generate_assignment and autograde run through nbgrader's Python API (``NbGraderAPI``: the same apps and
preprocessors as the command, configured from the same ``nbgrader_config.py``) in this process, because each
``nbgrader`` command costs about 6 s of imports before it does anything; generate_feedback runs as the
``nbgrader`` command, so the command line an instructor types is exercised too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings

import pytest
from conftest import ROOT, release_notebook, solution_notebook, tensorflow_noise

from autograder import batch, checks, report
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.grading import GradingOptions

LABS = checks.lab_ids()


def _path_with_this_python() -> dict:
    """The environment nbgrader runs in: this interpreter's folder first on PATH (the kernel, alembic)."""
    return {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}


def nbgrader(course, *args):
    """The ``nbgrader`` command itself, as an instructor types it (a process of its own, about 6 s of imports)."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
                            cwd=course, env=_path_with_this_python(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def nbgrader_api(course):
    """nbgrader's own Python API (``NbGraderAPI``, which its formgrader calls) on ``course``, in this process.

    The same apps as the command (``GenerateAssignment``, ``Autograde``), configured from the course's
    ``nbgrader_config.py`` as the command configures them, without a process and nbgrader's imports per step.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def succeeded(step, *args, **kwargs) -> None:
    """Runs one NbGraderAPI step; it must succeed. SQLAlchemy's warnings inside nbgrader's gradebook (one per new
    submission) are not errors, as under the command (pytest's settings would raise them here)."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        result = step(*args, **kwargs)
    assert result["success"], result.get("error", "") + result.get("log", "")


BLANK_UNDER_NBGRADER = LABS[:1]
"""Labs whose blank release nbgrader itself autogrades (each costs a notebook run). Every lab's blank
release is graded by our grader here and run as a student runs it in tests/test_notebooks_run.py;
how check cells raise under nbgrader is the platform's, the same in every lab."""


def students(lab: str) -> tuple[str, ...]:
    """Who nbgrader autograded in ``lab``."""
    return ("perfect", "blank") if lab in BLANK_UNDER_NBGRADER else ("perfect",)


class Course:
    """A course folder where real nbgrader (its API, in this process) releases each lab and autogrades two
    submissions, the solution and the blank release (the blank only for BLANK_UNDER_NBGRADER), when a test first
    asks for that lab. Every test here is a lab's, and each lab's tests run together on one worker (conftest's
    xdist groups): the labs are spread over the workers, and a run filtered to one lab (``-k 07_mlp``) pays for
    that lab only."""

    def __init__(self, root):
        self.root = root
        self.built: set[str] = set()
        self.api = None
        shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(ROOT / "solutions", root / "solutions")

    def lab(self, lab: str):
        if lab not in self.built:
            if self.api is None:
                os.environ["PATH"] = _path_with_this_python()["PATH"]  # the kernel, as the command finds it
                self.api = nbgrader_api(self.root)
            succeeded(self.api.generate_assignment, lab, force=True)
            for student, source in (("perfect", solution_notebook(lab)), ("blank", release_notebook(lab))):
                folder = self.root / "submitted" / student / lab
                folder.mkdir(parents=True)
                shutil.copy2(source, folder / f"{lab}.ipynb")
            for student in students(lab):
                succeeded(self.api.autograde, lab, student, force=True)
            self.built.add(lab)
        return self.root


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("course"))


@pytest.mark.parametrize("lab", LABS)
def test_nbgrader_regenerates_each_release_exactly_as_committed(course, lab):
    """labs/ is what real nbgrader makes of solutions/ (with the course's nbgrader_config.py)."""
    regenerated = course.lab(lab) / "labs" / lab / f"{lab}.ipynb"
    assert regenerated.read_text(encoding="utf-8") == release_notebook(lab).read_text(encoding="utf-8"), (
        f"labs/{lab} is stale: run `python -m autograder release`")


@pytest.mark.parametrize("lab", LABS)
def test_the_solution_runs_top_to_bottom_with_every_check_passing(course, lab):
    """nbgrader autograde executed the whole solution notebook (as Run All does): no cell stopped, the last
    cell ran, and every check cell, with its hidden cases, passed. tests/test_notebooks_run.py runs the
    releases as a student's kernel does."""
    import nbformat

    notebook = nbformat.read(course.lab(lab) / "autograded" / "perfect" / lab / f"{lab}.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code[-1].execution_count is not None
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{cell.source[:80]!r} raised {errors[0].ename}: {errors[0].evalue}"
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                     for c in code for o in c.outputs)
    for exercise in checks.load_lab(lab).exercises:
        assert f"✓ {exercise.name}" in text
    assert "hidden cases pass" in text


@pytest.mark.parametrize("lab", LABS)
def test_no_tensorflow_log_line_in_the_executed_solution(course, lab):
    """The solution as nbgrader executed it (every Keras exercise implemented, so every TensorFlow path ran)
    shows no TensorFlow, absl or oneDNN log line in any output; tests/test_notebooks_run.py checks the releases."""
    import nbformat

    notebook = nbformat.read(course.lab(lab) / "autograded" / "perfect" / lab / f"{lab}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
        noise = tensorflow_noise(text)
        assert not noise, f"{cell.source[:60]!r} printed {noise}: {text[:400]}"


def gradebook_scores(course, labs) -> dict[tuple[str, str], tuple[float, float]]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for lab in labs:
            for submission in gradebook.assignment_submissions(lab):
                scores[submission.student_id, lab] = (submission.score, submission.max_score)
    return scores


@pytest.mark.parametrize("lab", LABS)
def test_nbgrader_autograde_gives_full_marks_to_the_solution_and_zero_to_the_blank_release(course, lab):
    scores = gradebook_scores(course.lab(lab), [lab])
    top = checks.load_lab(lab).max_score
    assert scores["perfect", lab] == (top, top)
    if lab in BLANK_UNDER_NBGRADER:
        assert scores["blank", lab] == (0, top)


class Ours:
    """Our grader on the same submissions, each lab's solution and blank release graded once, when first asked."""

    def __init__(self, course: Course):
        self.course = course
        self.results = {}

    def __getitem__(self, key):
        if key not in self.results:
            lab = key[1]
            submitted = self.course.lab(lab) / "submitted"
            options = GradingOptions(secret=os.environ["AUTOGRADER_SECRET"],
                                     hidden_paths=batch.secret_paths(self.course.root, [submitted], None))
            found = [s for s in batch.discover([submitted]) if s.lab_hint == lab]
            self.results.update({(r.student, r.lab): r for r in batch.grade_all(found, options, jobs=2)})
        return self.results[key]


@pytest.fixture(scope="module")
def ours(course):
    return Ours(course)


@pytest.mark.parametrize("lab", LABS)
def test_our_grader_agrees_with_nbgrader_on_the_same_submissions(course, ours, lab):
    theirs = gradebook_scores(course.lab(lab), [lab])
    assert set(theirs) == {(student, lab) for student in students(lab)}
    assert {key: (ours[key].score, ours[key].max_score) for key in theirs} == theirs


@pytest.mark.parametrize("lab", LABS)
def test_our_grader_gives_the_solution_full_marks_with_its_hidden_cases(ours, lab):
    result = ours["perfect", lab]
    assert result.score == result.max_score == checks.load_lab(lab).max_score, report.text(result)
    assert all("hidden" in e.feedback and e.hidden_cases > 0 for e in result.exercises)


@pytest.mark.parametrize("lab", LABS)
def test_our_grader_gives_the_blank_release_zero_with_a_message_per_exercise(ours, lab):
    result = ours["blank", lab]
    assert result.score == 0 and result.error is None
    for exercise in result.exercises:
        assert exercise.feedback.startswith(f"Lab {lab[:2]} · {exercise.name}: "), exercise.feedback
        assert NOT_IMPLEMENTED in exercise.feedback or "still a stub" in exercise.feedback, exercise.feedback


FEEDBACK_LABS = sorted({LABS[0], LABS[-1]})
"""Labs whose feedback nbgrader renders here: hiding the hidden checks is the course's preprocessor, the same
for every lab (and no release holds a hidden check: tests/test_release.py), so the first and the newest lab."""


def feedback(course, lab):
    """nbgrader generate_feedback for ``lab`` (once per course folder); the folder."""
    root = course.lab(lab)
    if not (root / "feedback" / "perfect" / lab).is_dir():
        nbgrader(root, "generate_feedback", lab, "--force")
    return root


@pytest.mark.parametrize("lab", FEEDBACK_LABS)
def test_generate_feedback_writes_html_without_hidden_test_code(course, lab):
    root = feedback(course, lab)
    for student in students(lab):
        html = (root / "feedback" / student / lab / f"{lab}.html").read_text(encoding="utf-8")
        text = re.sub(r"<[^>]+>", "", html)  # the code is split into highlighted spans
        first = checks.load_lab(lab).exercises[0].name
        assert f"check({first})" in text  # the public checks are shown
        assert "hidden=True" not in text and "HIDDEN TESTS" not in text


@pytest.mark.parametrize("lab", BLANK_UNDER_NBGRADER)
def test_generate_feedback_shows_the_blank_release_what_to_do(course, lab):
    html = (feedback(course, lab) / "feedback" / "blank" / lab / f"{lab}.html").read_text(encoding="utf-8")
    assert "not implemented yet" in html


@pytest.mark.parametrize("lab", LABS[:1])
def test_nbgrader_export_gives_an_lms_csv_with_our_scores(course, lab):
    """Every lab this course folder has autograded (at least ``lab``) is in the CSV with its scores."""
    import csv

    root = course.lab(lab)
    nbgrader(root, "export", f"--to={root / 'grades.csv'}")
    with (root / "grades.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores = {(r["student_id"], r["assignment"]): (float(r["score"]), float(r["max_score"])) for r in rows}
    for graded in sorted(course.built):
        top = checks.load_lab(graded).max_score
        assert scores["perfect", graded] == (top, top)
        if graded in BLANK_UNDER_NBGRADER:
            assert scores["blank", graded] == (0, top)


@pytest.mark.parametrize("lab", BLANK_UNDER_NBGRADER)
def test_under_autograde_every_check_cell_of_the_blank_release_fails_naming_its_exercise(course, lab):
    """Under nbgrader (NBGRADER_EXECUTION set) check cells raise; in a student's kernel they only report."""
    import nbformat

    notebook = nbformat.read(course.lab(lab) / "autograded" / "blank" / lab / f"{lab}.ipynb", as_version=4)
    checks_cells = {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    for exercise in checks.load_lab(lab).exercises:
        errors = [o for o in checks_cells[f"check_{exercise.name}"].outputs if o.output_type == "error"]
        assert errors, f"{lab}: check_{exercise.name} did not fail under autograde"
        assert exercise.name in "\n".join(errors[0].traceback), errors[0].traceback[-1:]


@pytest.mark.parametrize("lab", LABS[:1])
def test_nbgrader_validate_lists_every_check_cell_of_the_blank_release(lab, tmp_path):
    """The Validate button, for real, on one lab (the autograde test above covers every lab's check cells)."""
    shutil.copy2(release_notebook(lab), tmp_path / f"{lab}.ipynb")
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("NBGRADER_EXECUTION", None)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", f"{lab}.ipynb"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    exercises = checks.load_lab(lab).exercises
    assert f"VALIDATION FAILED ON {len(exercises)} CELL(S)!" in done.stdout, done.stdout + done.stderr
    for exercise in exercises:
        assert f"check({exercise.name})" in done.stdout
    assert done.stdout.count("The following cell failed") == len(exercises)
