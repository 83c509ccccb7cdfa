"""Throughput: our `grade` against real `nbgrader autograde` on the same submissions.

Usage: python benchmarks/grade_vs_nbgrader.py [--submissions 100] [--lab 01_gradient_descent]
       python benchmarks/grade_vs_nbgrader.py --mixed [--students 2]

Builds a scratch course with N submissions of one lab (solutions, blank releases and
solutions with one broken exercise, in turn), or with ``--mixed`` a class of S students
who each hand in the solution of every lab (every Keras/TensorFlow exercise executed, full
marks), grades it with `python -m autograder grade` (serially without the sandbox, serially
in the sandbox, and in the sandbox with --jobs = CPU count, children forked from the
zygotes; the last again with every child started fresh, ``AUTOGRADER_ZYGOTE=0``)
and with `nbgrader autograde` (lab by lab), one after the other on the same machine, and
prints the ratios. Timings on a shared machine are noisy: compare the ratios, not the
seconds. nbgrader takes several seconds per submission (a Keras lab: 20-40 s).
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
    if lab == "mixed":
        for each in LABS:
            run([sys.executable, "-m", "nbgrader", "generate_assignment", each, "--force",
                 f"--CourseDirectory.root={folder}"], folder)
            solution = (ROOT / "solutions" / each / f"{each}.ipynb").read_text()
            for i in range(count):
                target = folder / "submitted" / f"student{i:03d}" / each
                target.mkdir(parents=True)
                (target / f"{each}.ipynb").write_text(solution)
        return
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
        return {(row["student"], row["lab"]): float(row["score"]) for row in csv.DictReader(handle)}


def full_marks(out: Path) -> bool:
    with open(out / "grades.csv", newline="") as handle:
        return all(float(row["score"]) == float(row["max_score"]) for row in csv.DictReader(handle))


def read_nbgrader(folder: Path, labs: list[str]) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        return {(s.student_id, lab): float(s.score) for lab in labs for s in gradebook.assignment_submissions(lab)}


LABS = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--lab", default="01_gradient_descent")
    parser.add_argument("--mixed", action="store_true", help="every lab's solution, --students of them each")
    parser.add_argument("--students", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=["bare", "serial", "fresh"],
                        help="leave out the ungraded-in-sandbox, serial or fresh-children runs")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    lab, labs = ("mixed", LABS) if args.mixed else (args.lab, [args.lab])
    count = args.students if args.mixed else args.submissions
    n = count * len(labs) if args.mixed else count
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        make_course(folder, lab, count)
        grade = [sys.executable, "-m", "autograder", "grade", "submitted"]
        runs = {}
        if "bare" not in args.skip:  # no bubblewrap to be found: the same fresh interpreters, without the sandbox
            bare = grade + ["--out", "out0", "--jobs", "1", "--trusted-code"]
            runs["grade --jobs 1 (no sandbox)"] = ("out0", run(bare, folder, AUTOGRADER_BWRAP="/nonexistent/bwrap"))
        if "serial" not in args.skip:
            runs["grade --jobs 1 (sandbox, zygote)"] = ("out1", run(grade + ["--out", "out1", "--jobs", "1"], folder))
        runs[f"grade --jobs {cores} (sandbox, zygote)"] = ("outN", run(grade + ["--out", "outN", "--jobs", str(cores)],
                                                                       folder))
        if "fresh" not in args.skip:  # every child a fresh interpreter, as before the zygotes
            runs[f"grade --jobs {cores} (sandbox, fresh)"] = ("outF", run(
                grade + ["--out", "outF", "--jobs", str(cores)], folder, AUTOGRADER_ZYGOTE="0"))
        nbgrader = 0.0
        for each in labs:
            nbgrader += run([sys.executable, "-m", "nbgrader", "autograde", each, "--force",
                             f"--CourseDirectory.root={folder}"], folder)
        theirs = read_nbgrader(folder, labs)
        agree = all(read_ours(folder / out) == theirs for out, _ in runs.values())
        full = all(full_marks(folder / out) for out, _ in runs.values())
        identical = all((folder / out / "grades.csv").read_bytes() == (folder / "outN" / "grades.csv").read_bytes()
                        for out, _ in runs.values() if out != "out0")
    what = f"{count} students x {len(labs)} labs (solutions)" if args.mixed else f"{n} submissions of {lab}"
    print(f"{what} on {cores} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"  {'nbgrader autograde':<36} {nbgrader:7.1f} s  {nbgrader / n * 1000:6.0f} ms per submission")
    for label, (_, seconds) in runs.items():
        print(f"  {label:<36} {seconds:7.1f} s  {seconds / n * 1000:6.0f} ms per submission  "
              f"{nbgrader / seconds:6.1f}x nbgrader's throughput")
    print(f"  same scores as nbgrader: {'yes' if agree else 'NO'}; all full marks: {'yes' if full else 'no'}; "
          f"grades.csv identical across sandboxed runs: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
