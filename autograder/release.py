"""Releasing labs: public cases, real ``nbgrader generate_assignment``, the student bundle.

The student bundle is everything a student receives: the released notebooks, the
datasets, the course's Keras models (``labmodels``, which lab 14 trains) and the public
part of this package (so check cells and ``python -m autograder check`` work). It holds
neither solutions nor hidden checks, and ``tests/test_release.py`` proves it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import checks, public_cases

BUNDLE_FILES = ("pyproject.toml", "requirements.txt", "STUDENTS.md")
BUNDLE_FOLDERS = ("labs", "datasets", "labmodels")  # lab 14 trains the course's models through labmodels
PRIVATE_PARTS = ("hidden", "__pycache__")


def generate_assignment(course_root: Path, lab_id: str) -> None:
    """Runs the real ``nbgrader generate_assignment`` for one lab into ``labs/``."""
    command = [sys.executable, "-m", "nbgrader", "generate_assignment", lab_id, "--force",
               f"--CourseDirectory.root={course_root}"]
    # nbgrader runs `alembic` for its database: it must be found beside this interpreter.
    env = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    result = subprocess.run(command, cwd=course_root, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {lab_id} failed:\n{result.stdout}{result.stderr}")


def build_bundle(course_root: Path, destination: Path) -> Path:
    """Copies what students receive into ``destination`` (replaced if it exists)."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for name in BUNDLE_FILES:
        if (course_root / name).is_file():
            shutil.copy2(course_root / name, destination / name)
    for name in BUNDLE_FOLDERS:
        if (course_root / name).is_dir():
            shutil.copytree(course_root / name, destination / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    package = Path(__file__).resolve().parent
    shutil.copytree(package, destination / "autograder", ignore=shutil.ignore_patterns(*PRIVATE_PARTS, "*.pyc"))
    return destination


def release(course_root: Path, lab_ids: list[str] | None = None, bundle: Path | None = None) -> list[str]:
    """Regenerates public cases and the release of ``lab_ids`` (default: all); returns them."""
    public_cases.write_all(lab_ids)
    lab_ids = lab_ids or [lab for lab in checks.lab_ids() if (course_root / "solutions" / lab).is_dir()]
    for lab_id in lab_ids:
        generate_assignment(course_root, lab_id)
    if bundle is not None:
        build_bundle(course_root, bundle)
    return lab_ids
