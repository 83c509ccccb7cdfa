"""Per-submission overhead: what grading costs beyond the student code's own run time.

Usage: python benchmarks/overhead.py [--rounds 20] [--labs 01_gradient_descent ...]

For each lab's solution notebook, measures side by side, interleaved, in one process:

- *student code alone*: the notebook's definitions executed and every public and hidden
  case called in this very process, with no sandbox, no reading, no judging: the least
  any grader must spend;
- *grade, sandbox*: :func:`autograder.grading.grade_notebook` as `grade` runs it (read,
  extract, start a fresh interpreter in bubblewrap with its seccomp filter, run, judge);
- *grade, no sandbox*: the same fresh interpreter without bubblewrap (``--trusted-code``),
  so that the difference is what the sandbox itself costs.

The overhead is the difference of the medians. Before the sandbox, the warm worker (a
fork per submission, no bubblewrap) cost 20-41 ms per submission over the student code on
labs 01-05, and a fresh interpreter 97-121 ms (README, 2026-11-21). Timings on a shared machine are noisy:
compare, don't quote absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def student_code_alone(notebook: Path, lab_id: str, secret: str) -> float:
    from autograder import checks
    from autograder.calls import run_case
    from autograder.grading import _cases
    from autograder.notebook import extract_definitions, read
    from autograder.sandbox.child import _LazyFrom, _LazyModule
    from autograder.seeds import case_seed

    chunks, _ = extract_definitions(read(notebook))
    lab = checks.load_lab(lab_id)
    public, hidden = _cases(lab_id, case_seed(lab_id, secret, "bench"))
    started = time.perf_counter()
    namespace = {"__name__": "__main__", "__lazy_module__": _LazyModule, "__lazy_from__": _LazyFrom}
    for chunk in chunks:
        exec(compile(chunk.code, "cell", "exec"), namespace)  # noqa: S102 - our own solution notebook
    for exercise in lab.exercises:
        for case in public[exercise.name] + hidden[exercise.name]:
            run_case(namespace[exercise.name], case, exercise.probe)
    return time.perf_counter() - started


def graded(notebook: Path, lab_id: str, secret: str, isolation: str) -> float:
    from autograder.grading import GradingOptions, grade_notebook

    started = time.perf_counter()
    result = grade_notebook(notebook, "bench", GradingOptions(secret=secret, isolation=isolation), lab_hint=lab_id)
    elapsed = time.perf_counter() - started
    if result.score != result.max_score:
        raise SystemExit(f"{lab_id}: the solution scored {result.score}/{result.max_score}")
    return elapsed


def main() -> None:
    from autograder import checks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--labs", nargs="*", default=None)
    args = parser.parse_args()
    secret = os.environ.get("AUTOGRADER_SECRET", "benchmark-secret")
    labs = args.labs or [lab for lab in checks.lab_ids() if (ROOT / "solutions" / lab / f"{lab}.ipynb").is_file()]
    print(f"median of {args.rounds} rounds per lab, interleaved; solution notebooks; ms per submission")
    print(f"  {'lab':<22} {'student code':>12} {'sandbox':>9} {'overhead':>9} {'no sandbox':>11} {'overhead':>9} "
          f"{'bwrap':>7}")
    overheads = []
    for lab in labs:
        notebook = ROOT / "solutions" / lab / f"{lab}.ipynb"
        graded(notebook, lab, secret, "sandbox")  # warm up: sandbox probed, cases drawn
        alone, boxed, bare = [], [], []
        for _ in range(args.rounds):
            alone.append(student_code_alone(notebook, lab, secret))
            boxed.append(graded(notebook, lab, secret, "sandbox"))
            bare.append(graded(notebook, lab, secret, "trusted"))
        a, s, t = (statistics.median(x) * 1000 for x in (alone, boxed, bare))
        overheads.append(s - a)
        print(f"  {lab:<22} {a:12.1f} {s:9.1f} {s - a:9.1f} {t:11.1f} {t - a:9.1f} {s - t:7.1f}")
    print(f"sandbox overhead: {max(overheads):.1f} ms per submission at most (warm worker before it: 20-41 ms)")


if __name__ == "__main__":
    main()
