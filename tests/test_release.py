"""The release: labs/ is what real nbgrader makes of solutions/, and students get no answers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, release_notebook, solution_notebook

from autograder import checks, public_cases, release

LABS = checks.lab_ids()
_SECRET_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def secret_lines() -> set[str]:
    """Every substantial line inside a solution or hidden-test region of any solution notebook,
    except lines the author also shows in the open (a hint in the text, a demo cell)."""
    lines, shown = set(), set()
    for lab in LABS:
        for cell in _cells(solution_notebook(lab)):
            source = _source(cell)
            for match in _SECRET_REGION.finditer(source):
                for line in match.group(2).splitlines():
                    line = line.strip()
                    if len(line) >= 12 and not line.startswith("#"):
                        lines.add(line)
            shown.update(line.strip(" `") for line in _SECRET_REGION.sub("", source).splitlines())
    return {line for line in lines if not any(line in text for text in shown)}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return release.build_bundle(ROOT, tmp_path_factory.mktemp("bundle") / "student")


@pytest.mark.parametrize("lab", LABS)
def test_public_cases_are_up_to_date(lab):
    path = ROOT / "autograder" / "checks" / "public" / f"{lab}.json"
    assert path.read_text(encoding="utf-8") == public_cases.render(lab), "run `python -m autograder release`"


def test_regenerating_labs_with_nbgrader_changes_nothing(tmp_path):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    for lab in LABS:
        release.generate_assignment(tmp_path, lab)
        regenerated = tmp_path / "labs" / lab / f"{lab}.ipynb"
        assert regenerated.read_text(encoding="utf-8") == release_notebook(lab).read_text(encoding="utf-8"), (
            f"labs/{lab} is stale: run `python -m autograder release`")


def test_secret_regions_were_found():
    assert len(secret_lines()) >= 20


def test_no_solution_line_or_hidden_test_reaches_the_student_bundle(bundle):
    secrets = secret_lines()
    for path in bundle.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            leaked = [line for line in secrets if line in text]
            assert not leaked, f"{path.relative_to(bundle)} contains solution lines: {leaked[:3]}"
            if path.suffix == ".ipynb":  # the grader's own code may name these markers; a notebook may not
                assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, path


def test_the_bundle_has_no_hidden_checks_and_no_solutions(bundle):
    assert not (bundle / "autograder" / "hidden").exists()
    assert not (bundle / "solutions").exists()
    assert {p.name for p in (bundle / "labs").iterdir()} == set(LABS)


def test_the_bundle_checks_a_notebook_with_public_cases_only(bundle):
    env = {**os.environ, "PYTHONPATH": str(bundle)}
    env.pop("AUTOGRADER_SECRET", None)
    script = "import autograder, sys; print(autograder.__file__); from autograder.cli import main; sys.exit(main())"
    lab = LABS[0]
    result = subprocess.run([sys.executable, "-c", script, "check", f"labs/{lab}/{lab}.ipynb"], cwd=bundle,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(bundle))
    assert "0 / 14" in result.stdout and "public cases only" in result.stdout


@pytest.mark.parametrize("lab", LABS)
def test_each_exercise_has_one_solution_cell_and_one_check_cell_with_its_points(lab):
    spec = checks.load_lab(lab)
    grades = {}
    solutions = []
    for cell in _cells(solution_notebook(lab)):
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade") and cell["cell_type"] == "code":
            grades[meta["grade_id"]] = meta["points"]
        if meta.get("solution"):
            solutions.append(meta["grade_id"])
            assert re.search(rf"^(def|class) {meta['grade_id']}\b", _source(cell), re.M)
    assert sorted(solutions) == sorted(e.name for e in spec.exercises)
    assert grades == {f"check_{e.name}": e.points for e in spec.exercises}


@pytest.mark.parametrize("lab", LABS)
def test_release_stubs_name_their_exercise(lab):
    spec = checks.load_lab(lab)
    sources = "\n".join(_source(c) for c in _cells(release_notebook(lab)))
    for exercise in spec.exercises:  # a class's stubs name the method: "Value.backward"
        assert re.search(rf'raise NotImplementedError\("{exercise.name}(\.\w+)?"\)', sources), exercise.name


@pytest.mark.parametrize("path", [solution_notebook(lab) for lab in LABS] + [release_notebook(lab) for lab in LABS],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_committed_without_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_a_python_without_the_course_packages_is_told_to_use_the_course_environment(bundle):
    # -I -S: no site-packages (so no NumPy, no nbformat), no PYTHONPATH; the bundle is put on sys.path by hand.
    script = (f"import runpy, sys; sys.path.insert(0, {str(bundle)!r}); sys.argv[1:] = ['check', 'x.ipynb']; "
              "runpy.run_module('autograder', run_name='__main__', alter_sys=True)")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=bundle, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "use the course's environment: .venv/bin/python -m autograder" in result.stderr
    assert "lacks numpy" in result.stderr and "internal error" not in result.stderr


def _student_setup_commands() -> list[list[str]]:
    text = (ROOT / "STUDENTS.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    return [line.split()[1:] for line in lines if line.startswith(".venv/bin/jupyter ") and "disable" in line]


def test_the_student_setup_switches_off_nbgrader_instructor_tools(tmp_path):
    (command,) = _student_setup_commands()
    # The same command at the user level of a scratch config folder: the course's .venv is left alone.
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path)}
    jupyter = os.path.join(os.path.dirname(sys.executable), "jupyter")
    local = ["--level=user" if a == "--level=sys_prefix" else a for a in command]
    subprocess.run([jupyter, *local], env=env, check=True, capture_output=True, timeout=120)
    page = json.loads((tmp_path / "labconfig" / "page_config.json").read_text())
    disabled = {name for name, off in page["disabledExtensions"].items() if off}
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= disabled
    listing = subprocess.run([jupyter, "labextension", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert "@jupyter/nbgrader:formgrader" in listing.stdout + listing.stderr


@pytest.mark.parametrize("lab", LABS)
def test_every_cell_but_the_solutions_is_locked(lab):
    for cell in _cells(release_notebook(lab)):
        meta = cell["metadata"].get("nbgrader")
        assert meta is not None, _source(cell)[:80]
        assert meta["solution"] or meta["locked"], meta["grade_id"]


_SEED_MATERIAL = re.compile(r"\bthe seeds?\b(?! of)|\bseed's\b|\(seed \d+\)|\bseed \d{3}\b", re.I)


@pytest.mark.parametrize("lab", LABS)
def test_student_text_never_refers_to_the_course_seed_material(lab):
    # Students do not have the seed documents: the labs say "the course" instead.
    for cell in _cells(release_notebook(lab)):
        assert not _SEED_MATERIAL.search(_source(cell)), _SEED_MATERIAL.search(_source(cell)).group(0)
