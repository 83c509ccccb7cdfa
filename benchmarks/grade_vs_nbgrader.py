"""Throughput: our `grade` against real `nbgrader autograde` on the same submissions.

Usage: python benchmarks/grade_vs_nbgrader.py [--submissions 100] [--lab 01_gradient_descent]

Builds a scratch course with N submissions of one lab (solutions, blank releases and
solutions with one broken exercise, in turn), grades them with `python -m autograder
grade` (serially without the sandbox, serially in the sandbox, and in the sandbox with
--jobs = CPU count) and with `nbgrader autograde`, one after the other on the same machine, and
prints the ratios. Timings on a shared machine are noisy: compare the ratios, not the
seconds. nbgrader takes several seconds per submission: 100 take about 15 minutes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = "def central_difference(f, x, h=1e-5):\n    return (f(x + h) - f(x)) / h\n"


def run(command: list[str], cwd: Path, **extra_env: str) -> float:
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           **extra_env}
    env.setdefault("AUTOGRADER_SECRET", "benchmark-secret")
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def make_course(folder: Path, lab: str, count: int) -> None:
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions", folder / "solutions")
    run([sys.executable, "-m", "nbgrader", "generate_assignment", lab, "--force",
         f"--CourseDirectory.root={folder}"], folder)
    solution = json.loads((ROOT / "solutions" / lab / f"{lab}.ipynb").read_text())
    blank = json.loads((ROOT / "labs" / lab / f"{lab}.ipynb").read_text())
    broken = json.loads(json.dumps(solution))
    for cell in broken["cells"]:
        if "def central_difference(" in "".join(cell["source"]):
            cell["source"] = BROKEN
    for i in range(count):
        target = folder / "submitted" / f"student{i:03d}" / lab
        target.mkdir(parents=True)
        notebook = (solution, blank, broken)[i % 3]
        (target / f"{lab}.ipynb").write_text(json.dumps(notebook))


def read_ours(out: Path) -> dict:
    with open(out / "grades.csv", newline="") as handle:
        return {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}


def read_nbgrader(folder: Path, lab: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        return {s.student_id: float(s.score) for s in gradebook.assignment_submissions(lab)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--lab", default="01_gradient_descent")
    args = parser.parse_args()
    n, cores = args.submissions, os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        make_course(folder, args.lab, n)
        grade = [sys.executable, "-m", "autograder", "grade", "submitted"]
        # no bubblewrap to be found: the same fresh interpreters, without the sandbox
        bare = run(grade + ["--out", "out0", "--jobs", "1", "--trusted-code"], folder,
                   AUTOGRADER_BWRAP="/nonexistent/bwrap")
        serial = run(grade + ["--out", "out1", "--jobs", "1"], folder)
        parallel = run(grade + ["--out", "outN", "--jobs", str(cores)], folder)
        nbgrader = run([sys.executable, "-m", "nbgrader", "autograde", args.lab, "--force",
                        f"--CourseDirectory.root={folder}"], folder)
        theirs = read_nbgrader(folder, args.lab)
        agree = all(read_ours(folder / out) == theirs for out in ("out0", "out1", "outN"))
    print(f"{n} submissions of {args.lab} on {cores} cores")
    print(f"  {'nbgrader autograde':<36} {nbgrader:7.1f} s  {nbgrader / n * 1000:6.0f} ms per submission")
    for label, seconds in (("grade --jobs 1 (no sandbox)", bare), ("grade --jobs 1 (sandbox)", serial),
                           (f"grade --jobs {cores} (sandbox)", parallel)):
        print(f"  {label:<36} {seconds:7.1f} s  {seconds / n * 1000:6.0f} ms per submission  "
              f"{nbgrader / seconds:6.1f}x nbgrader's throughput")
    print(f"  same scores as nbgrader: {'yes' if agree else 'NO'}")


if __name__ == "__main__":
    main()
