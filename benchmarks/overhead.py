"""Per-submission overhead: what grading costs beyond the student code's own run time.

Usage: python benchmarks/overhead.py [--rounds 5] [--labs 01_gradient_descent ...] [--trusted]

For each lab, two submissions: its solution notebook (a TensorFlow submission: every lab has
a Keras exercise) and the same notebook with its Keras exercises left as the release's stubs
(a NumPy-only submission: no TensorFlow child starts; "stubs" in the table where a release stub
still needs one: lab 04's Keras layer class, lab 13's TensorFlow schedule). Measures side by
side, interleaved, in one process:

- *student code alone*: the notebook's definitions executed and every public and hidden
  case called in this very process (TensorFlow already imported), with no sandbox, no
  reading, no judging: the least any grader must spend;
- *zygote*: :func:`autograder.grading.grade_notebook` as `grade` runs it (read, extract, a
  NumPy child and a TensorFlow child forked from the run's zygotes, run, judge);
- *fresh*: the same with every child a fresh interpreter in bubblewrap (the TensorFlow one
  imports TensorFlow; ``AUTOGRADER_ZYGOTE=0``: the fallback, and the grader before the zygotes);
- with ``--trusted``, *no sandbox*: fresh interpreters without bubblewrap (``--trusted-code``);
- with ``--eager``, *eager draw*: the zygote run again with every case's mistake and alternative
  values computed as its hidden cases are drawn, as before they were computed when first read
  (``autograder.hidden.LazyValues``).

Each round grades another student, as a class does: their hidden cases are drawn from their own
seed, in the grader (the student code alone runs one student's cases, drawn beforehand).

The overhead is the difference of the medians. Before the sandbox, the warm worker (a
fork per submission, no bubblewrap) cost 20-41 ms per submission over the student code on
labs 01-05, and a fresh interpreter 97-121 ms (README, 2026-11-21). Timings on a shared machine are noisy:
compare, don't quote absolute times.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def numpy_only(lab_id: str, folder: Path) -> Path:
    """The solution with every Keras exercise's cell back to the release's stub (matched by grade_id)."""
    from autograder import checks

    solution = json.loads((ROOT / "solutions" / lab_id / f"{lab_id}.ipynb").read_text())
    release = json.loads((ROOT / "labs" / lab_id / f"{lab_id}.ipynb").read_text())
    stubs = {c["metadata"].get("nbgrader", {}).get("grade_id"): c["source"] for c in release["cells"]}
    keras = {e.name for e in checks.load_lab(lab_id).exercises if e.profile != "numpy"}
    for cell in solution["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in keras and grade_id in stubs:
            cell["source"] = stubs[grade_id]
    target = folder / lab_id / f"{lab_id}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(solution))
    return target


def starts_no_tensorflow(notebook: Path, lab_id: str) -> bool:
    """Whether grading ``notebook`` starts no TensorFlow child: every TensorFlow exercise is an untouched stub.

    Lab 04's ``FiveWeightNet`` stub is a class whose ``__init__`` is given, and lab 13's ``warmup_cosine`` is a
    TensorFlow exercise of its own: their release stubs still need a TensorFlow child ("stubs" in the table).
    """
    from autograder import checks
    from autograder.notebook import extract_definitions, read, untouched_stubs

    chunks, _ = extract_definitions(read(notebook))
    tensorflow = {e.name for e in checks.load_lab(lab_id).exercises if e.profile != "numpy"}
    return untouched_stubs(chunks, tensorflow) == tensorflow


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
            try:
                run_case(namespace[exercise.name], case, exercise.probe)
            except NotImplementedError:  # a stub left in a NumPy-only submission
                pass
    return time.perf_counter() - started


_students = itertools.count()


def graded(notebook: Path, lab_id: str, secret: str, isolation: str, zygote: bool = True,
           full: bool = True) -> float:
    """Seconds to grade ``notebook`` as a student not graded before (their hidden cases drawn in it)."""
    from autograder.grading import GradingOptions, grade_notebook

    os.environ["AUTOGRADER_ZYGOTE"] = "1" if zygote else "0"
    student = f"student{next(_students)}"
    started = time.perf_counter()
    result = grade_notebook(notebook, student, GradingOptions(secret=secret, isolation=isolation), lab_hint=lab_id)
    elapsed = time.perf_counter() - started
    if full and result.score != result.max_score:
        raise SystemExit(f"{lab_id}: the solution scored {result.score}/{result.max_score}")
    return elapsed


def drawn_at_once():
    """Cases drawn as before ``LazyValues``: each mistake's and alternative's values computed as the case is
    (``_values`` takes ``LazyValues``'s arguments)."""
    from autograder import hidden

    return mock.patch.object(hidden, "LazyValues", hidden._values)


def isolation_env() -> dict:
    from autograder.sandbox.isolation import child_env

    env = child_env("/tmp", "tensorflow")
    return {k: v for k, v in env.items() if k.startswith(("TF_", "KERAS", "OMP", "OPENBLAS", "MKL"))}


def main() -> None:
    from autograder import checks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--labs", nargs="*", default=None)
    parser.add_argument("--trusted", action="store_true", help="also grade without the sandbox (fresh children)")
    parser.add_argument("--eager", action="store_true",
                        help="also grade with the zygote and every mistake's values computed as cases are drawn")
    args = parser.parse_args()
    secret = os.environ.get("AUTOGRADER_SECRET", "benchmark-secret")
    # the student code alone runs here as in the grader's TensorFlow child: its pools, its two logical CPUs
    # (lab 14's MirroredStrategy over /cpu:0 and /cpu:1 waits forever on an unsplit CPU)
    for key, value in isolation_env().items():
        os.environ.setdefault(key, value)
    from autograder.tensorflow_start import split_cpu

    split_cpu()
    labs = args.labs or [lab for lab in checks.lab_ids() if (ROOT / "solutions" / lab / f"{lab}.ipynb").is_file()]
    print(f"median of {args.rounds} rounds per lab, interleaved; ms per submission; "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print(f"  {'lab':<22} {'submission':<10} {'student code':>12} {'zygote':>9} {'overhead':>9} {'fresh':>9} "
          f"{'overhead':>9} {'fresh/zygote':>12}" + (f" {'no sandbox':>11}" if args.trusted else "")
          + (f" {'eager draw':>11}" if args.eager else ""))
    worst: dict[str, list[float]] = {"tensorflow": [], "numpy": [], "stubs": []}
    with tempfile.TemporaryDirectory() as scratch:
        for lab in labs:
            stubbed = numpy_only(lab, Path(scratch))
            for kind, notebook in (("tensorflow", ROOT / "solutions" / lab / f"{lab}.ipynb"),
                                   ("numpy" if starts_no_tensorflow(stubbed, lab) else "stubs", stubbed)):
                graded(notebook, lab, secret, "sandbox", full=kind == "tensorflow")  # warm: zygote started, cases drawn
                alone, zygote, fresh, bare, eager = [], [], [], [], []
                for _ in range(args.rounds):
                    alone.append(student_code_alone(notebook, lab, secret))
                    zygote.append(graded(notebook, lab, secret, "sandbox", full=kind == "tensorflow"))
                    fresh.append(graded(notebook, lab, secret, "sandbox", zygote=False, full=kind == "tensorflow"))
                    if args.trusted:
                        bare.append(graded(notebook, lab, secret, "trusted", full=kind == "tensorflow"))
                    if args.eager:
                        with drawn_at_once():
                            eager.append(graded(notebook, lab, secret, "sandbox", full=kind == "tensorflow"))
                a, z, f = (statistics.median(x) * 1000 for x in (alone, zygote, fresh))
                worst[kind].append(z - a)
                print(f"  {lab:<22} {kind:<10} {a:12.1f} {z:9.1f} {z - a:9.1f} {f:9.1f} {f - a:9.1f} {f / z:11.1f}x"
                      + (f" {statistics.median(bare) * 1000:11.1f}" if args.trusted else "")
                      + (f" {statistics.median(eager) * 1000:11.1f}" if args.eager else ""), flush=True)
    os.environ.pop("AUTOGRADER_ZYGOTE", None)
    print(f"overhead with the zygote, at most: {max(worst['tensorflow']):.0f} ms per TensorFlow submission (goal 500), "
          f"{max(worst['numpy']):.0f} ms per NumPy-only one (goal 100); "
          f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
