"""The bad-input corpus (tests/corpus/), graded as one class by the real command line.

Every notebook in ``tests/corpus/`` is a lab 01 submission named after its expected
outcome; ``expected.json`` gives its score and a phrase its feedback must contain
(``make_corpus.py`` writes both). The module builds a course folder in /tmp, in nbgrader's
layout, with everything a submission must not touch around it: a ``solutions/`` folder, the
course secret, a gradebook, a classmate's submission, the grader's $HOME and a
world-writable folder in /tmp. It then runs ``python -m autograder grade submitted --jobs 2``
there twice and checks, per submission: its score and message, every exercise accounted
for, no secret in its reports, and nothing it could change changed; and for the class:
every submission graded, one grades.csv row each, byte-identical reports the second time.

The grader runs here as it runs for an instructor: from the course folder, as the user
running the tests, every submission in the bubblewrap sandbox (as root, each with a user
of its own). Where no sandbox can start the module is skipped, except on CI, where it fails.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, solution_notebook

from autograder import checks
from autograder.sandbox import bwrap

CORPUS = ROOT / "tests" / "corpus"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
LAB = "01_gradient_descent"
OTHER = "zz_other_student"
OUT = "grading-output"
if bwrap.probe() is not None and os.environ.get("CI") != "true":
    pytest.skip(f"no sandbox here: {bwrap.probe()}", allow_module_level=True)
EXERCISES = {e.name: e.points for e in checks.load_lab(LAB).exercises}
MAX_SCORE = checks.load_lab(LAB).max_score
# What a correct corpus notebook earns: every exercise but the Keras one, which the corpus leaves unwritten.
NUMPY_POINTS = sum(e.points for e in checks.load_lab(LAB).exercises if e.profile == "numpy")
HUGE_BYTES = 51 * 1024**2
# Strings that must never reach a report: the reference solutions, hidden checks and tests of this checkout.
CHECKOUT_SECRETS = ("### BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "CENTRAL_MISTAKES", "def assert_fails_with")


def _checkout_secrets() -> list[str]:
    """What must never reach a report from this checkout: solution and hidden-check markers, its course secret."""
    found = list(CHECKOUT_SECRETS)
    secret_file = ROOT / ".autograder_secret"
    if secret_file.is_file() and len(secret_file.read_text().strip()) >= 16:
        found.append(secret_file.read_text().strip())
    return found


def stem(filename: str) -> str:
    return filename.removesuffix(".ipynb")


@dataclass
class Graded:
    """What grading the corpus twice produced, and what changed around it."""

    course: Path
    tag: str
    secrets: list[str]
    runs: list[subprocess.CompletedProcess] = field(default_factory=list)
    reports: list[dict[str, bytes]] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    tmp_escapes: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    datagrams: list[bytes] = field(default_factory=list)
    seconds: float = 0.0

    def files(self, student: str) -> dict[str, str]:
        """A student's results.json and feedback.md, from both runs."""
        found = {}
        for i, run in enumerate(self.reports):
            for name in ("results.json", "feedback.md"):
                data = run.get(f"{student}/{LAB}/{name}")
                if data is not None:
                    found[f"run {i + 1}: {name}"] = data.decode("utf-8")
        return found

    def results(self, student: str) -> dict:
        return json.loads(self.reports[0][f"{student}/{LAB}/results.json"])


def _snapshot(*roots: Path, skip: Path) -> dict[str, tuple]:
    """Every path under ``roots`` (but ``skip``) with its type, mode, size, mtime and content hash."""
    state = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            if here == skip:
                dirs[:] = []
                continue
            for name in dirs + files:
                path = here / name
                if path == skip:
                    continue
                info = path.lstat()
                digest = ""
                if path.is_file() and not path.is_symlink():
                    digest = hashlib.sha256(path.read_bytes()).hexdigest() if info.st_size < 2**20 else "big"
                state[str(path)] = (oct(info.st_mode), info.st_uid, info.st_size, info.st_mtime_ns, digest)
    return state


def _diff(before: dict, after: dict) -> list[str]:
    changed = [f"changed: {p}" for p in before if p in after and before[p] != after[p]]
    return (changed + [f"deleted: {p}" for p in before if p not in after]
            + [f"created: {p}" for p in after if p not in before])


def _processes_with(marker: str) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append((int(entry.name), cmdline))
    return found


def _write(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    path.chmod(mode)


def _huge_notebook() -> bytes:
    """A valid notebook over the reader's size limit: the solution with a 51 MB image in an output."""
    nb = json.loads((CORPUS / "correct_solution__12_of_12.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": "iVBORw0KGgo" + "A" * HUGE_BYTES, "text/plain": "<Figure>"}}]
    return json.dumps(nb).encode()


def _build_course(base: Path, tag: str, udp_port: int) -> tuple[Path, Path, Path, list[str]]:
    """The course folder (nbgrader layout, sentinels around it), the grader's $HOME and a /tmp folder."""
    course, home, tmp = base / "course", base / "home", base / "tmp"
    kinds = ("SOLUTION", "FILE-SECRET", "GRADEBOOK", "SOURCE", "OTHER-STUDENT", "ENV-SECRET", "ENV-VALUE", "GRADES")
    secret_texts = [f"{kind}-SENTINEL-{tag}" for kind in kinds]
    solution = solution_notebook(LAB).read_bytes()
    _write(course / "nbgrader_config.py", 'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "corpus"\n')
    _write(course / "README.md", "# A course\n")
    _write(course / "gradebook.db", secret_texts[2])
    _write(course / "grades.csv", f"student,assignment,score\n{OTHER},{LAB},{secret_texts[7]}\n")
    _write(course / "grading-output-monday" / "grades.csv",
           f"student,lab,score,max_score\n{secret_texts[7]},{LAB},9,12\n")
    _write(course / ".autograder_secret", secret_texts[1] + "\n", 0o600)
    marked = solution.replace(b"### BEGIN SOLUTION", f"# {secret_texts[0]}\n### BEGIN SOLUTION".encode(), 1)
    _write(course / "solutions" / LAB / f"{LAB}.ipynb", marked)
    _write(course / "solutions" / "secret.txt", secret_texts[0])
    _write(course / "source" / LAB / f"{LAB}.ipynb", secret_texts[3])
    other = json.loads((CORPUS / "correct_solution__12_of_12.ipynb").read_text(encoding="utf-8"))
    other["cells"].append({"cell_type": "markdown", "metadata": {}, "source": f"Mine: {secret_texts[4]}"})
    _write(course / "submitted" / OTHER / LAB / f"{LAB}.ipynb", json.dumps(other))
    _write(home / ".bashrc", "# the grader's shell\n")
    _write(tmp / "sentinel.txt", "a file in /tmp\n")
    substitutions = {b"@@COURSE@@": str(course).encode(), b"@@HOME@@": str(home).encode(),
                     b"@@TMP@@": str(tmp).encode(), b"@@OUT@@": str(course / OUT).encode(),
                     b"@@TAG@@": tag.encode(), b"@@UDP_PORT@@": str(udp_port).encode()}
    for filename, expected in EXPECTED.items():
        data = _huge_notebook() if expected.get("generated_by_test") else (CORPUS / filename).read_bytes()
        for placeholder, value in substitutions.items():
            data = data.replace(placeholder, value)
        _write(course / "submitted" / stem(filename) / LAB / filename, data)
        victim = f"victim-{stem(filename)}".encode()
        if victim in data:
            for folder in (course, course / "submitted" / OTHER, home, tmp):
                _write(folder / victim.decode(), "a file that must survive\n")
    for folder, dirs, _ in os.walk(base):
        for name in dirs:
            (Path(folder) / name).chmod(0o755)
    base.chmod(0o755)
    tmp.chmod(0o1777)
    return course, home, tmp, secret_texts


@pytest.fixture(scope="module")
def graded() -> Iterator[Graded]:
    """The corpus and its sentinels in a course folder, graded twice by the command line."""
    tag = secrets.token_hex(6)
    base = Path(tempfile.mkdtemp(prefix="corpus-course-"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        course, home, tmp, secret_texts = _build_course(base, tag, listener.getsockname()[1])
        result = Graded(course, tag, secret_texts)
        env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_SECRET"}
        # the grader's own matplotlib cache (the class report's plots) lives outside what is watched
        env.update(HOME=str(home), AUTOGRADER_SECRET=secret_texts[5], CORPUS_GRADER_SENTINEL=secret_texts[6],
                   MPLCONFIGDIR=str(base / "grader-matplotlib"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
        command = [sys.executable, "-m", "autograder", "grade", "submitted", "--out", OUT, "--jobs", "2"]
        before = _snapshot(course, home, tmp, skip=course / OUT)
        started = time.monotonic()
        for attempt in (1, 2):
            run = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=900)
            result.runs.append(run)
            out = course / OUT
            result.reports.append({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                                   if p.is_file()} if out.is_dir() else {})
            result.changes += _diff(before, _snapshot(course, home, tmp, skip=course / OUT))
            if attempt == 1 and out.is_dir():
                shutil.move(str(out), str(base / "first-run-output"))
        result.seconds = time.monotonic() - started
        result.tmp_escapes = sorted(str(p) for p in Path("/tmp").glob(f"*{tag}*"))
        time.sleep(0.2)
        for pid, cmdline in _processes_with(tag):
            result.processes.append(cmdline)
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        while True:
            try:
                result.datagrams.append(listener.recv(65536))
            except BlockingIOError:
                break
        yield result
    finally:
        listener.close()
        for path in Path("/tmp").glob(f"*{tag}*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        shutil.rmtree(base, ignore_errors=True)


def _params(aspect: str) -> list:
    """One pytest param per corpus file, xfail(strict) where the corpus records a known grader bug."""
    params = []
    setting = "xfail_with_namespaces"
    for filename, expected in sorted(EXPECTED.items()):
        reason = expected.get("xfail", {}).get(aspect) or expected.get(setting, {}).get(aspect)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(filename, marks=marks, id=stem(filename)))
    return params


def test_the_corpus_is_large_and_small():
    committed = [p for p in CORPUS.glob("*.ipynb")]
    assert len(EXPECTED) >= 30
    assert {p.name for p in committed} == {f for f, e in EXPECTED.items() if not e.get("generated_by_test")}
    assert sum(p.stat().st_size for p in committed) < 2 * 1024**2
    for filename, expected in EXPECTED.items():
        assert stem(filename).endswith(f"__{expected['score']}_of_{NUMPY_POINTS}")
        assert expected["max_score"] == MAX_SCORE


def test_the_whole_class_is_graded_and_the_command_succeeds(graded):
    for run in graded.runs:
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"graded {len(EXPECTED) + 1} submissions" in run.stdout, run.stdout


@pytest.mark.parametrize("filename", _params("grade"))
def test_score_message_and_every_exercise_accounted_for(graded, filename):
    expected, student = EXPECTED[filename], stem(filename)
    results = graded.results(student)
    tests = {t["name"]: t for t in results["tests"]}
    assert {name: t["max_score"] for name, t in tests.items()} == EXERCISES
    assert all(0 <= t["score"] <= t["max_score"] for t in tests.values())
    text = "\n".join([results["output"], *(t["output"] for t in results["tests"]),
                      graded.files(student)["run 1: feedback.md"]])
    assert (results["score"], results["max_score"]) == (expected["score"], expected["max_score"]), text[:1500]
    assert sum(t["score"] for t in tests.values()) == results["score"]
    assert expected["message"].lower() in text.lower(), text[:1500]


@pytest.mark.parametrize("filename", _params("leak"))
def test_no_secret_reaches_the_reports(graded, filename):
    for name, text in graded.files(stem(filename)).items():
        for secret in graded.secrets + _checkout_secrets():
            assert secret not in text, f"{name} shows {secret!r}:\n{text[:1500]}"


def _mine(text: str, me: str) -> bool:
    """Whether a change, file or process is one submission's doing: attacks name what they leave after it."""
    return f"escape-{me}" in text or f"victim-{me}" in text or f"/submitted/{me}/" in text


@pytest.mark.parametrize("filename", _params("unchanged"))
def test_nothing_outside_its_scratch_folder_changed(graded, filename):
    """What this submission's attacks would leave: files named after it, its processes, its datagrams."""
    me = stem(filename)
    assert [c for c in graded.changes if _mine(c, me)] == []
    assert [p for p in graded.tmp_escapes if _mine(p, me)] == []
    assert [p for p in graded.processes if _mine(p, me)] == []
    assert [d for d in graded.datagrams if me.encode() in d] == []


def test_nothing_changed_around_the_class(graded):
    """The course folder (but the output), $HOME, /tmp: unchanged, whichever submission tried."""
    students = [stem(f) for f in EXPECTED]
    assert [c for c in graded.changes if not any(_mine(c, s) for s in students)] == []
    assert [p for p in graded.tmp_escapes if not any(_mine(p, s) for s in students)] == []
    assert [p for p in graded.processes if not any(_mine(p, s) for s in students)] == []
    assert [d for d in graded.datagrams if not any(s.encode() in d for s in students)] == []


def test_the_correct_submissions_get_full_marks(graded):
    for student in ("correct_solution__12_of_12", "correct_but_different__12_of_12", OTHER):
        results = graded.results(student)
        assert results["score"] == NUMPY_POINTS and results["max_score"] == MAX_SCORE, results


def test_grades_csv_has_one_row_per_submission(graded):
    rows = list(csv.reader(io.StringIO(graded.reports[0]["grades.csv"].decode())))
    assert rows[0] == ["student", "lab", "score", "max_score"]
    students = sorted([stem(f) for f in EXPECTED] + [OTHER])
    assert [r[0] for r in rows[1:]] == students
    for student, lab, score, max_score in rows[1:]:
        assert (lab, max_score) == (LAB, str(MAX_SCORE))
        assert int(score) == graded.results(student)["score"]


def test_the_output_folder_holds_only_the_reports(graded):
    students = [stem(f) for f in EXPECTED] + [OTHER]
    expected = {"grades.csv", "report.html", "report.md", "results.jsonl"} | {
        f"{s}/{LAB}/{name}" for s in students for name in ("results.json", "feedback.md")}
    assert set(graded.reports[0]) == expected


def test_grading_twice_writes_the_same_files_and_grades(graded):
    first, second = graded.reports
    assert sorted(first) == sorted(second)
    assert first["grades.csv"] == second["grades.csv"]


@pytest.mark.parametrize("filename", _params("same"))
def test_grading_twice_gives_byte_identical_reports(graded, filename):
    first, second = graded.reports
    for name in ("results.json", "feedback.md"):
        key = f"{stem(filename)}/{LAB}/{name}"
        assert first[key] == second[key], f"{name} differs:\n{first[key][:1500]!r}\n{second[key][:1500]!r}"
