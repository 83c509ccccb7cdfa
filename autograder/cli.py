"""The command line: ``python -m autograder check | grade | release``.

Each verb is a thin layer over a keyword-only function; defaults are defined once, here.
Exit status: 0 when the work was done (whatever the scores), 2 for a usage error, 1 for
an internal error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = Path("grading-output")


def check(*, notebook: Path) -> int:
    """Grades one notebook and prints its report."""
    from autograder import report
    from autograder.grading import GradingOptions, grade_notebook
    from autograder.seeds import course_secret

    hidden_available = _hidden_available()
    options = GradingOptions(secret=course_secret() if hidden_available else "", include_hidden=hidden_available,
                             **_sandbox_paths([notebook], None))
    result = grade_notebook(notebook, student=notebook.stem, options=options, lab_hint=notebook.parent.name)
    print(report.text(result), end="")
    if not hidden_available:
        print("(public cases only: the grader also runs hidden cases with other inputs)")
    return 0


def grade(*, paths: list[Path], out: Path, jobs: int | None, secret: str | None, warm: bool = True) -> int:
    """Grades every submission under ``paths`` and writes the reports to ``out``."""
    from autograder import batch, report
    from autograder.grading import GradingOptions
    from autograder.seeds import course_secret

    submissions = batch.discover(paths)
    if not submissions:
        print(f"no notebooks found under {', '.join(map(str, paths))} (expected STUDENT/LAB/*.ipynb)",
              file=sys.stderr)
        return 0
    options = GradingOptions(secret=secret or course_secret(), warm=warm, **_sandbox_paths(paths, out))
    results = batch.grade_all(submissions, options, jobs=jobs, log=lambda line: print(line, file=sys.stderr))
    batch.write_reports(results, out)
    print(report.summary(results), end="")
    print(f"reports written to {out}/ (grades.csv, STUDENT/LAB/results.json, feedback.md)")
    return 0


def release(*, labs: list[str], bundle: Path | None, gradescope: Path | None = None,
            visibility: str = "visible") -> int:
    """Regenerates public cases, labs/ with nbgrader, and optionally the student and Gradescope bundles."""
    from autograder import gradescope as gradescope_bundle
    from autograder import release as releasing
    from autograder.seeds import course_root

    done = releasing.release(course_root(), labs or None, bundle)
    print(f"released {', '.join(done)}" + (f"; student bundle in {bundle}" if bundle else ""))
    if gradescope is not None:
        zips = [gradescope_bundle.build(course_root(), lab, gradescope, visibility) for lab in done]
        print(f"Gradescope autograder bundles: {', '.join(str(z) for z in zips)} "
              "(upload one per assignment; they hold the hidden checks and the course secret: never share them)")
    return 0


def _hidden_available() -> bool:
    """Whether the hidden checks ship beside this copy of the package (not in a student bundle)."""
    return (Path(__file__).resolve().parent / "hidden" / "__init__.py").is_file()


def _sandbox_paths(paths: list[Path], out: Path | None) -> dict:
    from autograder.batch import secret_paths, visible_paths
    from autograder.seeds import course_root

    course = course_root()
    return {"hidden_paths": secret_paths(course, list(paths), out), "visible_paths": visible_paths(course)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder",
                                     description="Check, grade and release the course's lab notebooks.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("check", help="grade one notebook and print feedback",
                         description="Grade one notebook in the sandbox and print a per-exercise report. "
                         "Exits 0 whatever the score.")
    p.add_argument("notebook", type=Path, help="the .ipynb file to check")

    p = verbs.add_parser("grade", help="grade a class's submissions",
                         description="Grade notebooks (files, or folders in nbgrader's STUDENT/LAB/*.ipynb layout). "
                         "Writes OUT/grades.csv and OUT/STUDENT/LAB/{results.json,feedback.md}. "
                         "Exits 0 when every submission was graded, whatever the scores.")
    p.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="a notebook, or a folder of STUDENT/LAB/")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where reports go. Defaults to `{DEFAULT_OUT}`.")
    p.add_argument("--jobs", type=int, default=None, help="submissions graded at once. Defaults to the CPU count.")
    p.add_argument("--secret", default=None,
                   help="course secret that seeds hidden cases. Defaults to $AUTOGRADER_SECRET or .autograder_secret.")
    p.add_argument("--fresh-processes", action="store_true",
                   help="start a fresh interpreter per submission instead of forking the warm worker "
                   "(slower; for comparison)")

    p = verbs.add_parser("release", help="regenerate labs/ from solutions/ with nbgrader",
                         description="Regenerate the public cases and labs/ (real nbgrader generate_assignment), "
                         "and optionally the student bundle.")
    p.add_argument("labs", nargs="*", help="lab ids, e.g. 01_gradient_descent. Defaults to all.")
    p.add_argument("--bundle", type=Path, default=None, help="also build the student bundle in this folder")
    p.add_argument("--gradescope", type=Path, default=None, metavar="DIR",
                   help="also write a Gradescope autograder zip per lab into DIR")
    p.add_argument("--visibility", default="visible", choices=("visible", "after_due_date", "after_published",
                                                              "hidden"),
                   help="when Gradescope shows students their results. Defaults to `visible`.")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb == "check":
            if not args.notebook.is_file():
                print(f"error: no such notebook: {args.notebook}", file=sys.stderr)
                return 2
            return check(notebook=args.notebook)
        if args.verb == "grade":
            if args.jobs is not None and args.jobs < 1:
                print(f"error: --jobs must be a positive integer. Got {args.jobs} instead.", file=sys.stderr)
                return 2
            missing = [p for p in args.paths if not p.exists()]
            if missing:
                print(f"error: no such file or folder: {missing[0]}", file=sys.stderr)
                return 2
            return grade(paths=args.paths, out=args.out, jobs=args.jobs, secret=args.secret,
                         warm=not args.fresh_processes)
        return release(labs=args.labs, bundle=args.bundle, gradescope=args.gradescope,
                       visibility=args.visibility)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report, don't dump a traceback on the user
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
