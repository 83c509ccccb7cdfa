"""Gradescope: the autograder bundle an instructor uploads, and what runs inside it.

``python -m autograder release --gradescope DIR`` writes ``DIR/<lab>.zip`` per lab, the
"autograder.zip" of a Gradescope programming assignment. Its root holds ``setup.sh``
(run once when Gradescope builds the image), ``run_autograder`` (run per submission, as
root, in a fresh container), the grader with its hidden checks, the course secret (so
hidden inputs match the instructor's own grading) and ``gradescope.json`` (the lab and
the visibility settings). Students never receive this zip.

Inside the container, ``run_autograder`` calls :func:`main`: it finds the submitted
notebook under ``/autograder/submission``, grades it and writes
``/autograder/results/results.json``. Test outputs are the curated feedback messages
only: hidden checks' code never appears in them.

Hidden inputs are drawn per student, as in ``grade``: the student is read from Gradescope's
``/autograder/submission_metadata.json`` (:func:`student_identity`: each submitter's student
ID, else e-mail, else Gradescope user id; a group's members joined), so one student's
harvested inputs are worth nothing to a classmate. Where the file is missing or unreadable,
every submission is graded as the student "submission" and the output says so.

The student's code runs in the same bubblewrap sandbox as ``grade`` where the container
allows it (``setup.sh`` installs it with the requirements). Docker's default seccomp
profile may forbid the namespaces it needs; then the student's process still runs as an
unprivileged user of its own under the same seccomp filter (every ``socket`` call refused:
it shares the container's network), in a cgroup of its own where the container lets the
grader make one, and the secret, the hidden checks, the submission and the results folder
are made readable by root only (the zip also stores them 0600), so that user can read none
of them and cannot signal the grader. Only where even that is impossible (the grader is not
root, or the kernel has no seccomp filter for this processor) does it refuse to grade, with
a clear message.
"""

from __future__ import annotations

import argparse
import json
import shutil
import stat
import sys
import zipfile
from pathlib import Path

from autograder import checks, report
from autograder.sandbox.bwrap import SandboxUnavailable
from autograder.seeds import SECRET_FILE, course_secret

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
REQUIREMENTS = "numpy>=1.26,<3\nmatplotlib>=3.8,<4\nbubblewrap-bin>=0.11,<1; sys_platform == \"linux\"\n"
SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu, as root).
set -euo pipefail
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -q
    apt-get install -y -q python3 python3-pip
fi
python3 -m pip install --no-cache-dir -r /autograder/source/requirements.txt
"""
RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in a fresh container. The student's
# code runs in the grader's sandbox; only the grader writes results/results.json.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
exec "${AUTOGRADER_PYTHON:-python3}" -m autograder.gradescope --root "$ROOT"
"""
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
METADATA = "submission_metadata.json"
MAX_METADATA_BYTES = 1024**2
NO_METADATA = ("note: Gradescope's submission metadata could not be read ({why}), so this submission's hidden "
               "inputs are those of a student named \"submission\", the same for every submission graded "
               "without it. Please tell your instructor.")


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False, private: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    mode = 0o755 if executable else 0o600 if private else 0o644
    info.external_attr = (mode | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(course_root: Path, lab_id: str, destination: Path, visibility: str = "visible") -> Path:
    """Writes ``destination/<lab_id>.zip`` (byte-identical for the same inputs); returns its path."""
    checks.load_lab(lab_id)  # an unknown lab fails here, with the known ones listed
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}. Got {visibility!r} instead.")
    package = Path(__file__).resolve().parent
    if not (package / "hidden" / "__init__.py").is_file():
        raise FileNotFoundError("the hidden checks are not beside this copy of the grader: build the Gradescope "
                                "bundle from the course repository, not from a student bundle")
    destination.mkdir(parents=True, exist_ok=True)
    path = destination / f"{lab_id}.zip"
    config = {"lab": lab_id, "visibility": visibility}
    with zipfile.ZipFile(path, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(archive, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
        _add(archive, "requirements.txt", REQUIREMENTS.encode())
        _add(archive, "gradescope.json", (json.dumps(config, indent=2) + "\n").encode())
        _add(archive, SECRET_FILE, (course_secret(course_root) + "\n").encode(), private=True)
        datasets = course_root / "datasets"
        for file in sorted(datasets.glob("*")) if datasets.is_dir() else ():
            if file.is_file() and file.suffix in (".csv", ".md"):
                _add(archive, f"datasets/{file.name}", file.read_bytes())
        for file in sorted(package.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts and file.suffix in (".py", ".json"):
                name = file.relative_to(package).as_posix()
                _add(archive, f"autograder/{name}", file.read_bytes(), private=name.startswith("hidden/"))
    return path


def _submission(folder: Path, lab_id: str) -> Path | None:
    """The submitted notebook: the one that is this lab, else the only (or first) notebook."""
    from autograder.notebook import NotebookError, identify_lab, read

    notebooks = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    for notebook in notebooks:
        try:
            if identify_lab(read(notebook)) == lab_id:
                return notebook
        except NotebookError:
            continue
    return notebooks[0] if notebooks else None


def _other_lab(notebook: Path, lab_id: str) -> str | None:
    """The other lab of the course that ``notebook`` is, if it is one."""
    from autograder.notebook import NotebookError, identify_lab, read

    try:
        found = identify_lab(read(notebook))
    except NotebookError:
        return None
    return found if found not in (None, lab_id) else None


def student_identity(root: Path) -> tuple[str, str | None]:
    """Who submitted, from ``root/submission_metadata.json``: the key of their hidden inputs, and a note if unknown.

    Each submitter is their student ID (``sid``) where the course set one, else their e-mail,
    else their Gradescope user id; a group's members are sorted and joined with ``+``. The
    same student gets the same hidden inputs on every resubmission and regrade.
    """
    path = root / METADATA
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise ValueError("larger than 1 MB")
        users = json.loads(path.read_text(encoding="utf-8")).get("users")
        names = []
        for user in users:
            key = next((str(user[field]).strip() for field in ("sid", "email", "id")
                        if isinstance(user.get(field), (str, int)) and str(user[field]).strip()), None)
            if key is None:
                raise ValueError("a submitter has no sid, email or id")
            names.append(key)
        if not names:
            raise ValueError("no submitter listed")
        return "+".join(sorted(set(names))), None
    except FileNotFoundError:
        return "submission", NO_METADATA.format(why=f"no {METADATA}")
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        return "submission", NO_METADATA.format(why=f"{METADATA}: {type(exc).__name__}: {str(exc)[:100]}")


def results_for(root: Path) -> dict:
    """Grades the submission under ``root`` (Gradescope's /autograder) and returns results.json's content."""
    from autograder.grading import GradingOptions, SubmissionResult, grade_notebook

    source, results = root / "source", root / "results"
    config = json.loads((source / "gradescope.json").read_text(encoding="utf-8"))
    lab_id, visibility = config["lab"], config.get("visibility", "visible")
    notebook = _submission(root / "submission", lab_id)
    student, note = student_identity(root)
    if notebook is None:
        result = SubmissionResult(student, lab_id, "", error="no notebook (.ipynb) was submitted: upload "
                                  f"your {lab_id}.ipynb")
    else:
        from autograder.sandbox import isolation

        secret = (source / SECRET_FILE).read_text(encoding="utf-8").strip()
        hidden = [str(p) for p in (source, results, root / "submission", source / "autograder" / "hidden")
                  if p.exists()]
        mode, _ = isolation.mode(("sandbox", "own-user"))
        visible = tuple(str(p) for p in (source / "datasets",) if p.is_dir())
        options = GradingOptions(secret=secret, hidden_paths=tuple(hidden), visible_paths=visible, isolation=mode)
        other = _other_lab(notebook, lab_id)
        if other is not None:
            result = SubmissionResult(student, lab_id, str(notebook), error=(
                f"this assignment is lab {lab_id}, but the notebook you submitted ({notebook.name}) is "
                f"{other}: upload your {lab_id}.ipynb"))
        else:
            result = grade_notebook(notebook, student, options, lab_hint=lab_id)
    data = report.gradescope(result)
    if note is not None and notebook is not None:
        data["output"] = "\n".join(filter(None, [data.get("output"), note]))
    data["max_score"] = checks.load_lab(lab_id).max_score  # also where nothing could be graded
    data["visibility"] = visibility
    for test in data["tests"]:
        test["visibility"] = visibility
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description="Grade the submission of a Gradescope container.")
    parser.add_argument("--root", type=Path, default=Path("/autograder"), help="Defaults to `/autograder`.")
    args = parser.parse_args(argv)
    results = args.root / "results"
    results.mkdir(parents=True, exist_ok=True)
    try:
        protect(args.root)
        data = results_for(args.root)
    except SandboxUnavailable as exc:
        data = {"score": 0, "output": f"The autograder cannot isolate student code in this container ({exc}), so "
                "it did not run your code. Please tell your instructor; your submission was received.",
                "tests": [], "stdout_visibility": "hidden"}
    except Exception as exc:  # noqa: BLE001 - Gradescope must always get a results file
        data = {"score": 0, "output": f"The autograder failed ({type(exc).__name__}: {exc}). Please tell your "
                "instructor; your submission was received.", "tests": [], "stdout_visibility": "hidden"}
    (results / "results.json").write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                          encoding="utf-8")
    return 0


def protect(root: Path) -> None:
    """Makes what the student's process must never read readable by root only.

    Needed where the container forbids the sandbox and the child is only a user of its
    own; harmless (and kept) where the sandbox runs.
    """
    source = root / "source"
    for path, mode in ((source / SECRET_FILE, 0o600), (source / "autograder" / "hidden", 0o700),
                       (root / "results", 0o700), (root / "submission", 0o700), (root / METADATA, 0o600)):
        if path.exists():
            path.chmod(mode)
    for path in (source / "autograder" / "hidden").rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


def unpack(bundle: Path, root: Path) -> Path:
    """Lays ``bundle`` out as Gradescope does (``root/source``); for tests and local trials."""
    source = root / "source"
    if source.exists():
        shutil.rmtree(source)
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(source)
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if mode:
                (source / info.filename).chmod(mode & 0o777)
    return source


if __name__ == "__main__":
    sys.exit(main())
