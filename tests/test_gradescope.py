"""The Gradescope bundle, run for real the way Gradescope runs it: unzip to /autograder/source, run_autograder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT, release_notebook, replace_function, solution_notebook

from autograder import gradescope

LAB = "01_gradient_descent"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return gradescope.build(ROOT, LAB, tmp_path_factory.mktemp("bundle"), visibility="after_published")


def run_autograder(bundle, tmp_path, files: dict) -> dict:
    """Lays out /autograder under tmp_path with ``files`` submitted, runs run_autograder, returns results.json."""
    root = tmp_path / "autograder"
    source = gradescope.unpack(bundle, root)
    (root / "submission").mkdir(parents=True)
    for name, content in files.items():
        path = root / "submission" / name
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    env.pop("AUTOGRADER_SECRET", None)  # the bundle's own secret file must be used
    result = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads((root / "results" / "results.json").read_text())


def notebook(path):
    return json.loads(path.read_text())


def test_bundle_has_gradescope_layout_and_no_solutions(bundle):
    names = zipfile.ZipFile(bundle).namelist()
    assert {"setup.sh", "run_autograder", "requirements.txt", "gradescope.json", ".autograder_secret"} <= set(names)
    assert "autograder/hidden/lab01.py" in names and "autograder/gradescope.py" in names
    assert not any(n.startswith(("solutions/", "labs/", "tests/")) or "__pycache__" in n for n in names)
    modes = {i.filename: i.external_attr >> 16 for i in zipfile.ZipFile(bundle).infolist()}
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111


def test_setup_sh_and_run_autograder_are_valid_bash(bundle, tmp_path):
    source = gradescope.unpack(bundle, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(source / script)], check=True)
    assert "pip install --no-cache-dir -r /autograder/source/requirements.txt" in (source / "setup.sh").read_text()


def test_bundle_is_byte_identical_when_rebuilt(bundle, tmp_path):
    again = gradescope.build(ROOT, LAB, tmp_path)
    first = gradescope.build(ROOT, LAB, tmp_path / "other")
    assert again.read_bytes() == first.read_bytes()
    assert zipfile.ZipFile(bundle).read("autograder/checks/lab01.py") == zipfile.ZipFile(again).read(
        "autograder/checks/lab01.py")


def test_solution_under_any_name_gets_full_marks_with_visibility(bundle, tmp_path):
    results = run_autograder(bundle, tmp_path, {"my lab (final).ipynb": notebook(solution_notebook(LAB))})
    assert results["score"] == 14 and results["max_score"] == 14
    assert results["visibility"] == "after_published" and results["stdout_visibility"] == "hidden"
    assert [t["name"] for t in results["tests"]][:2] == ["central_difference", "gradient_descent_1d"]
    assert all(t["visibility"] == "after_published" and t["score"] == t["max_score"] for t in results["tests"])


def test_blank_release_scores_zero_and_hidden_code_never_shows(bundle, tmp_path):
    results = run_autograder(bundle, tmp_path, {f"{LAB}.ipynb": notebook(release_notebook(LAB))})
    assert results["score"] == 0
    text = json.dumps(results)
    assert "not implemented yet" in text
    hidden_source = (ROOT / "autograder" / "hidden" / "lab01.py").read_text()
    for line in hidden_source.splitlines():
        if len(line.strip()) > 30:
            assert line.strip() not in text


def test_the_wrong_lab_gets_zero_and_says_which_notebook_to_upload(bundle, tmp_path):
    results = run_autograder(bundle, tmp_path, {"lab.ipynb": notebook(solution_notebook("02_gradient_checking"))})
    assert results["score"] == 0 and results["max_score"] == 14
    assert "02_gradient_checking" in results["output"] and f"upload your {LAB}.ipynb" in results["output"]


@pytest.mark.parametrize("files, message", [
    ({}, "no notebook (.ipynb) was submitted"),
    ({f"{LAB}.ipynb": b"{ not json"}, "not valid notebook JSON"),
])
def test_a_missing_or_broken_submission_still_gets_a_results_file(bundle, tmp_path, files, message):
    results = run_autograder(bundle, tmp_path, files)
    assert results["score"] == 0 and results["max_score"] == 14
    assert message in json.dumps(results)


def test_student_code_cannot_forge_results_or_read_the_secret(bundle, tmp_path):
    root = tmp_path / "autograder"
    forger = f'''
def central_difference(f, x, h=1e-5):
    import json
    try:
        secret = open({str(root / "source" / ".autograder_secret")!r}).read()
    except OSError:
        secret = None
    with open({str(root / "results" / "results.json")!r}, "w") as out:
        json.dump({{"score": 1000, "tests": []}}, out)
    return (f(x + h) - f(x - h)) / (2 * h)
'''
    (root / "results").mkdir(parents=True)
    results = run_autograder(bundle, tmp_path, {"lab.ipynb": replace_function(
        notebook(solution_notebook(LAB)), "central_difference", forger)})
    assert results["score"] == 12
    first = results["tests"][0]
    assert first["name"] == "central_difference" and first["score"] == 0
    assert "does not let student code" in first["output"]


def test_cli_release_writes_one_zip_per_lab(tmp_path, monkeypatch):
    """Run in a copy of the course: `release` regenerates labs/ in place, which other workers are reading."""
    from autograder import cli

    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / LAB, course / "solutions" / LAB)
    shutil.copytree(ROOT / "datasets", course / "datasets")
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    monkeypatch.chdir(course)
    zips = tmp_path / "zips"
    assert cli.main(["release", LAB, "--gradescope", str(zips), "--visibility", "after_due_date"]) == 0
    assert (course / "labs" / LAB / f"{LAB}.ipynb").read_bytes() == release_notebook(LAB).read_bytes()
    config = json.loads(zipfile.ZipFile(zips / f"{LAB}.zip").read("gradescope.json"))
    assert config == {"lab": LAB, "visibility": "after_due_date"}


def test_the_secret_and_the_hidden_checks_are_private_in_the_zip_and_once_unpacked(bundle, tmp_path):
    modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in zipfile.ZipFile(bundle).infolist()}
    assert modes[".autograder_secret"] == 0o600
    hidden = [name for name in modes if name.startswith("autograder/hidden/")]
    assert hidden and all(modes[name] == 0o600 for name in hidden)
    assert modes["autograder/checks/core.py"] == 0o644
    source = gradescope.unpack(bundle, tmp_path / "autograder")
    assert (source / ".autograder_secret").stat().st_mode & 0o077 == 0


def test_where_no_isolation_is_possible_it_refuses_to_run_the_code_and_says_so(bundle, tmp_path):
    from autograder.sandbox import isolation

    if isolation.can_drop_user():
        pytest.skip("here the child could still run as a user of its own")
    root = tmp_path / "autograder"
    source = gradescope.unpack(bundle, root)
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "lab.ipynb").write_text(solution_notebook(LAB).read_text())
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           "AUTOGRADER_BWRAP": "/nonexistent/bwrap"}
    subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, timeout=300, check=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "cannot isolate student code" in results["output"]


def test_lab_05_loads_its_data_from_the_bundle_in_the_sandbox(tmp_path):
    lab05 = gradescope.build(ROOT, "05_training_loop", tmp_path / "bundle")
    assert "datasets/commutes.csv" in zipfile.ZipFile(lab05).namelist()
    results = run_autograder(lab05, tmp_path, {"lab.ipynb": notebook(solution_notebook("05_training_loop"))})
    assert results["score"] == results["max_score"] == 16
    assert "datasets" not in results["output"], results["output"]
