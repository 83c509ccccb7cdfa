"""What a lab's graded Keras exercise costs per submission: its solution graded with and without it.

Usage: python benchmarks/keras_exercise.py [--rounds 3] [--labs 06_normalization ...]

For each lab, interleaved in one run, in the sandbox as `grade` runs it:

- *with Keras*: the solution notebook as it is: a NumPy child for the NumPy exercises and a
  TensorFlow child (spawned at once, importing TensorFlow while the NumPy child works) for
  the Keras exercise;
- *stub*: the same notebook with the Keras exercise put back to the release's stub, which
  the grader recognises without starting a TensorFlow child (a submission that has not
  reached the Keras section yet).

It prints the medians and their ratio. Timings on a shared machine are noisy: compare the
ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def without_keras(lab_id: str, folder: Path) -> Path:
    """The solution with each Keras exercise put back to the release's stub (the tests' helper)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import without_keras as stubbed

    solution = json.loads((ROOT / "solutions" / lab_id / f"{lab_id}.ipynb").read_text(encoding="utf-8"))
    path = folder / f"{lab_id}.ipynb"
    path.write_text(json.dumps(stubbed(solution, lab_id)), encoding="utf-8")
    return path


def graded(notebook: Path, lab_id: str, secret: str) -> tuple[float, int]:
    from autograder.grading import GradingOptions, grade_notebook

    started = time.perf_counter()
    result = grade_notebook(notebook, "bench", GradingOptions(secret=secret), lab_hint=lab_id)
    return time.perf_counter() - started, result.score


def main() -> None:
    from autograder import checks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--labs", nargs="*", default=None)
    args = parser.parse_args()
    secret = os.environ.get("AUTOGRADER_SECRET", "benchmark-secret")
    # a lab whose Keras exercise is a class (lab 04's layer) has no function stub to leave: left out
    labs = args.labs or [lab for lab in checks.lab_ids()
                         if any(e.profile == "tensorflow" and not e.name[:1].isupper()
                                for e in checks.load_lab(lab).exercises)]
    print(f"median of {args.rounds} rounds per lab, interleaved, in the sandbox; seconds per submission")
    print(f"  {'lab':<22} {'with Keras':>10} {'stub':>7} {'ratio':>6}  points")
    with tempfile.TemporaryDirectory() as scratch:
        for lab in labs:
            lab_spec = checks.load_lab(lab)
            keras_points = sum(e.points for e in lab_spec.exercises if e.profile == "tensorflow")
            full = ROOT / "solutions" / lab / f"{lab}.ipynb"
            stubbed = without_keras(lab, Path(scratch))
            with_keras, without = [], []
            for _ in range(args.rounds):
                seconds, score = graded(full, lab, secret)
                if score != lab_spec.max_score:
                    raise SystemExit(f"{lab}: the solution scored {score}/{lab_spec.max_score}")
                with_keras.append(seconds)
                seconds, score = graded(stubbed, lab, secret)
                if score != lab_spec.max_score - keras_points:
                    raise SystemExit(f"{lab}: the stubbed solution scored {score}")
                without.append(seconds)
            w, s = statistics.median(with_keras), statistics.median(without)
            print(f"  {lab:<22} {w:10.2f} {s:7.2f} {w / s:6.1f}  {lab_spec.max_score} ({keras_points} Keras)")


if __name__ == "__main__":
    main()
