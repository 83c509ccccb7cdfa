"""The Gradescope bundle, run for real the way Gradescope runs it: unzip to /autograder/source, run_autograder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, release_notebook, replace_function, solution_notebook

from autograder import gradescope

LAB = "01_gradient_descent"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return gradescope.build(ROOT, LAB, tmp_path_factory.mktemp("bundle"), visibility="after_published")


def metadata(*users: dict) -> dict:
    """Gradescope's submission_metadata.json (its documented fields) for ``users``."""
    return {"id": 123456, "created_at": "2026-12-07T17:00:00.000000-08:00", "previous_submissions": [],
            "assignment": {"id": 42, "title": "Lab 01", "total_points": "14.0"},
            "users": [{"email": f"{u['name']}@example.edu", "id": u.get("id", 1000 + len(u["name"])),
                       "name": u["name"], "sid": u.get("sid", "")} for u in users]}


def run_autograder(bundle, tmp_path, files: dict, submitter: dict | None = None, env_extra=None) -> dict:
    """Lays out /autograder under tmp_path with ``files`` submitted, runs run_autograder, returns results.json.

    ``submitter`` goes into submission_metadata.json (default: one student); ``{}`` writes no metadata file.
    """
    root = tmp_path / "autograder"
    source = gradescope.unpack(bundle, root)
    (root / "submission").mkdir(parents=True)
    for name, content in files.items():
        path = root / "submission" / name
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    submitter = {"name": "ada"} if submitter is None else submitter
    if submitter:
        (root / "submission_metadata.json").write_text(json.dumps(metadata(submitter)))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable, **(env_extra or {})}
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


HOARDS_ITS_INPUTS = {
    "central_difference": "SEEN = []\n\ndef central_difference(f, x, h=1e-5):\n    SEEN.append(round(float(x), 3))\n"
                          "    return (f(x + h) - f(x - h)) / (2 * h)\n",
    "count_combinations": "def count_combinations(layer_sizes, values_per_weight, include_biases=False):\n"
                          "    return str(SEEN)\n",
}


def hoarder():
    nb = notebook(solution_notebook(LAB))
    for name, source in HOARDS_ITS_INPUTS.items():
        nb = replace_function(nb, name, source)
    return nb


def _hoarded(results) -> str:
    output = next(t["output"] for t in results["tests"] if t["name"] == "count_combinations")
    return next(line for line in output.splitlines() if "received:" in line)


def test_hidden_inputs_are_drawn_per_student_from_the_submission_metadata(bundle, tmp_path):
    """Inputs hoarded in one exercise and shown through another's feedback are the student's own (docs/security.md):
    another student, named by Gradescope's metadata, has other hidden inputs; the same student the same ones."""
    ada = run_autograder(bundle, tmp_path / "ada", {"lab.ipynb": hoarder()}, {"name": "ada", "sid": "s1"})
    again = run_autograder(bundle, tmp_path / "again", {"lab.ipynb": hoarder()}, {"name": "ada", "sid": "s1"})
    grace = run_autograder(bundle, tmp_path / "grace", {"lab.ipynb": hoarder()}, {"name": "grace", "sid": "s2"})
    assert _hoarded(ada) == _hoarded(again) != _hoarded(grace)
    assert ada["score"] == grace["score"] == 14 - 1 and "metadata" not in ada["output"]


def test_student_identity_reads_sid_then_email_then_id_and_joins_a_group(tmp_path):
    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps({"users": [{"sid": "", "email": "b@x.edu", "id": 7}, {"sid": "A1", "id": 8},
                                          {"id": 9}]}))
    assert gradescope.student_identity(tmp_path) == ("9+A1+b@x.edu", None)


@pytest.mark.parametrize("content", [None, b"{ not json", json.dumps({"users": []}).encode(),
                                     json.dumps({"users": [{"name": "no key"}]}).encode()])
def test_without_usable_metadata_every_submission_is_one_student_and_the_output_says_so(tmp_path, content):
    if content is not None:
        (tmp_path / "submission_metadata.json").write_bytes(content)
    student, note = gradescope.student_identity(tmp_path)
    assert student == "submission" and "the same for every submission" in note


def test_missing_metadata_is_said_in_the_output(bundle, tmp_path):
    results = run_autograder(bundle, tmp_path, {"lab.ipynb": notebook(solution_notebook(LAB))}, submitter={})
    assert results["score"] == 14 and "submission metadata could not be read" in results["output"]


SENDS_ITS_INPUTS = """def central_difference(f, x, h=1e-5):
    import autograder.sandbox.guard as guard
    guard._FORBIDDEN_EVENTS.clear()
    import socket
    try:
        with socket.create_connection(("127.0.0.1", {port}), timeout=2) as connection:
            connection.sendall(repr(x).encode())
        return "sent"
    except OSError:
        return (f(x + h) - f(x - h)) / (2 * h)
"""


def test_the_own_user_fallback_reaches_no_listener_on_the_containers_loopback(bundle, tmp_path):
    """No bubblewrap in the container: the child, audit hook off, still cannot send a case's inputs anywhere."""
    import socket

    from autograder.sandbox import isolation

    if not isolation.can_drop_user():
        pytest.skip("here the fallback refuses to run code (see the refusal test)")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    source = SENDS_ITS_INPUTS.format(port=listener.getsockname()[1])
    where = Path(tempfile.mkdtemp(prefix="autograder-gradescope-"))  # as /autograder: others may pass through
    try:
        where.chmod(0o755)
        results = run_autograder(bundle, where, {"lab.ipynb": replace_function(
            notebook(solution_notebook(LAB)), "central_difference", source)},
            env_extra={"AUTOGRADER_BWRAP": "/nonexistent/bwrap"})
        try:
            connection, _ = listener.accept()
            received = connection.recv(100)
        except OSError:
            received = b""
    finally:
        listener.close()
        shutil.rmtree(where, ignore_errors=True)
    assert received == b"" and results["score"] == 14, results
    central = next(t for t in results["tests"] if t["name"] == "central_difference")
    assert central["score"] == central["max_score"]
