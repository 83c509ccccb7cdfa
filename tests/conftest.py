"""Shared helpers: the repository's paths and running a check in-process."""

from __future__ import annotations

import fnmatch
import functools
import importlib.abc
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest

from autograder import calls, checks
from autograder.feedback import plain

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)

os.environ.setdefault("AUTOGRADER_SECRET", "tests-secret")


class _SplitCpuOnImport(importlib.abc.MetaPathFinder):
    """Gives every test process's TensorFlow two logical CPUs, as the grader's TensorFlow child has them.

    Lab 14's checks run code under ``MirroredStrategy(["/cpu:0", "/cpu:1"])`` in-process; the split must
    happen before TensorFlow's first op, which may be in any test file. So it happens right after
    ``import tensorflow``, wherever that is, and nothing imports TensorFlow for NumPy-only tests.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                from autograder.tensorflow_start import split_cpu

                split_cpu()

            spec.loader.exec_module = exec_module
        return spec


if "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _SplitCpuOnImport())


@functools.cache
def _hidden_cases(lab_id: str, seed) -> dict:
    """A lab's hidden cases for one secret, drawn once per test process (drawing is most of a check's time,
    and every call of run_case deep-copies a case's inputs, so sharing them is safe)."""
    return checks.load_lab(lab_id).hidden_cases(seed)


def cases_of(lab_id: str, exercise: str, seeds=SEEDS) -> list:
    """The public cases of ``exercise``, then its hidden ones for each of ``seeds``."""
    cases = list(checks.load_lab(lab_id).public_cases()[exercise])
    for seed in seeds:
        cases += _hidden_cases(lab_id, seed)[exercise]
    return cases


def first_failure(lab_id: str, exercise: str, fn, seeds=SEEDS) -> str | None:
    """The feedback of the first case ``fn`` fails (public cases, then hidden ones), or None."""
    lab = checks.load_lab(lab_id)
    spec = lab.exercise(exercise)
    cases = cases_of(lab_id, exercise, seeds)
    return calls.first_failure(lab, spec, cases, (calls.run_case(fn, case, spec.probe) for case in cases))


def rotating_seeds(rows) -> list[tuple]:
    """``rows`` (implementations, or tuples of parameters), each given one of :data:`SEEDS` in turn as its last
    parameter.

    A Keras exercise's case costs a training (traced and run): the reference passes every case of every seed
    (``test_the_solution_passes_every_case``), and each alternative or mistake is judged on the public cases and
    one seed's hidden ones, the seeds taking turns, so that every secret is exercised by some of them. Whether a
    mistake is told apart under every secret is a question about values, answered for all secrets at once by
    ``tests/test_mistakes_every_secret.py``.
    """
    return [(*(row if isinstance(row, tuple) else (row,)), SEEDS[i % len(SEEDS)]) for i, row in enumerate(rows)]


def untold_causes(lab_id: str, seed, chosen_by_the_comparator=()) -> list[tuple[str, str]]:
    """The (exercise, cause) pairs that no hidden case of ``seed`` tells (names among its ``wrong`` values); the
    pairs in ``chosen_by_the_comparator`` are messages a compare returns itself, not matched against values."""
    lab = checks.load_lab(lab_id)
    cases = _hidden_cases(lab_id, seed)
    return [(e.name, key) for e in lab.exercises for key in e.messages
            if (e.name, key) not in chosen_by_the_comparator and not any(key in c.wrong for c in cases[e.name])]


def assert_fails_with(lab_id: str, exercise: str, fn, message: str) -> None:
    """``fn`` must fail some case, and the feedback must name the exercise and contain ``message``."""
    feedback = first_failure(lab_id, exercise, fn)
    assert feedback is not None, "a wrong implementation passed"
    assert feedback.startswith(f"Lab {lab_id[:2]} · {exercise}")
    assert plain(message) in feedback  # feedback is plain text: a message's `code` and *emphasis* marks are dropped


TENSORFLOW_NOISE = ("cuInit", "oneDNN", "absl", "TF-TRT", "Unable to register", "cuda drivers", "cudart",
                    "INFO:tensorflow", "WARNING:tensorflow", "ERROR:tensorflow")
_GLOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d", re.MULTILINE)  # C++ log lines: E0000 00:00:17…


def tensorflow_noise(text: str) -> list[str]:
    """The TensorFlow, absl or oneDNN log lines' markers found in a cell's output (none should reach a student)."""
    noise = [word for word in TENSORFLOW_NOISE if word in text]
    return noise + [m.group(0) for m in _GLOG_LINE.finditer(text)]


def case_ids(rows) -> list[str]:
    """Readable parametrize ids: exercise and implementation name."""
    return [f"{row[0]}-{getattr(row[1], '__name__', 'lambda')}-{i}" for i, row in enumerate(rows)]


def solution_notebook(lab_id: str) -> Path:
    return ROOT / "solutions" / lab_id / f"{lab_id}.ipynb"


def release_notebook(lab_id: str) -> Path:
    return ROOT / "labs" / lab_id / f"{lab_id}.ipynb"


def replace_function(notebook: dict, name: str, source: str) -> dict:
    """A copy of ``notebook`` whose cell defining ``name`` holds ``source`` instead."""
    copy = json.loads(json.dumps(notebook))
    for cell in copy["cells"]:
        if cell["cell_type"] == "code" and f"def {name}(" in _source(cell):
            cell["source"] = source
            return copy
    raise KeyError(f"no cell defines {name}")


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def without_keras(notebook: dict, lab_id: str) -> dict:
    """A copy of ``notebook`` whose Keras exercises are the release's stubs again.

    The grader then starts no TensorFlow child for it (see ``autograder.notebook.untouched_stubs``):
    tests about a NumPy exercise need not pay seconds of TensorFlow start-up per submission.
    Keras exercises are graded in ``tests/test_labNN_keras.py``.
    """
    release = json.loads(release_notebook(lab_id).read_text(encoding="utf-8"))
    copy = notebook
    for exercise in checks.load_lab(lab_id).exercises:
        if exercise.profile == "tensorflow":
            stub = next(_source(c) for c in release["cells"]
                        if c["cell_type"] == "code" and f"def {exercise.name}(" in _source(c))
            copy = replace_function(copy, exercise.name, stub)
    return copy


SMALL_CLASS = ("ada/01_gradient_descent", "ada/02_gradient_checking", "ben/01_gradient_descent",
               "cy/02_gradient_checking", "dee/01_gradient_descent")
"""Five submissions of the example class (labs 01–02: a perfect one each, two classic mistakes, an endless loop,
a truncated file), for tests that grade a class for its reports rather than its grades: the whole class, which
``tests/test_examples.py`` grades, takes several times longer."""


def copy_small_class(destination: Path) -> Path:
    """Copies :data:`SMALL_CLASS` from ``examples/submitted`` to ``destination`` (STUDENT/LAB/*.ipynb)."""
    import shutil

    for folder in SMALL_CLASS:
        shutil.copytree(ROOT / "examples" / "submitted" / folder, destination / folder)
    return destination


@pytest.fixture(scope="module")
def course():
    """A world-readable course folder with answers in it, as a checkout is: only the sandbox may keep them out
    (tests/test_sandbox.py, tests/test_zygote.py)."""
    import shutil
    import tempfile

    parent = Path(tempfile.mkdtemp(prefix="autograder-course-"))
    parent.chmod(0o755)
    (parent / "solutions").mkdir(mode=0o755)
    (parent / "solutions" / "answer.txt").write_text("42")
    (parent / ".autograder_secret").write_text("s3cret")
    yield parent
    shutil.rmtree(parent)


@pytest.fixture
def write_notebook(tmp_path):
    """Writes a notebook dict (or raw text) as STUDENT/LAB/name.ipynb under tmp_path."""

    def write(content, student="student", lab="01_gradient_descent", name=None) -> Path:
        folder = tmp_path / "submitted" / student / lab
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (name or f"{lab}.ipynb")
        if isinstance(content, (bytes, str)):
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        else:
            path.write_text(json.dumps(content), encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True, scope="module")
def _keras_as_fresh_after_each_module():
    """After each test module, Keras's float settings are a fresh process's again (floatx float32, no cached
    dtype policy), so that no module's result depends on which modules ran before it in the same worker."""
    yield
    if "keras" in sys.modules:
        from autograder.probes.keras_state import reset_to_fresh

        reset_to_fresh()


@pytest.fixture(scope="module")
def float64_keras():
    """Keras in float64 for a module: in float32 a learning rate of 0.01 would become 0.0099999998.

    TensorFlow is imported here, not at the top, so that NumPy-only tests never pay for it.
    """
    from autograder.probes.keras_state import float_settings

    # Keras caches the default dtype policy the first time a layer (or keras.config.dtype_policy()) asks for
    # it: one cached as float32 by an earlier test in this process would make this module's layers float32.
    with float_settings("float64"):
        yield


PER_LAB_FILES = ("test_nbgrader.py", "test_notebooks_run.py", "test_audit.py")
"""Files whose per-lab work (an nbgrader course, a Run All, a mutation audit) is spread over the workers lab by lab."""
_LAB_PARAM = re.compile(r"\[(?:labs/)?(\d\d_[a-z0-9_]+)")

SECONDS = {
    "test_nbgrader.py::*": 30, "test_nbgrader.py::01_gradient_descent": 35, "test_nbgrader.py::12_regularization": 43,
    "test_nbgrader.py::13_schedules": 39, "test_audit.py::14_tensorflow": 84, "test_audit.py::*": 7,
    "test_audit.py": 26, "test_notebooks_run.py::*": 8, "test_notebooks_run.py::12_regularization": 17,
    "test_notebooks_run.py::13_schedules": 18, "test_notebooks_run.py::05_training_loop": 13,
    "test_notebooks_run.py::14_tensorflow": 12, "test_lab12_keras.py": 84, "test_labmodels_distributed.py": 83,
    "test_lab11_keras.py": 71, "test_labmodels_cli.py": 52, "test_misconceptions.py": 52, "test_corpus.py": 51,
    "test_shard.py": 51, "test_examples.py": 37, "test_wrong_implementations.py": 34, "test_lab14_checks.py": 33,
    "test_lab13_keras.py": 26, "test_lab10_keras.py": 19, "test_class_report.py": 18, "test_sandbox.py": 18,
    "test_tensorflow_profile.py": 16, "test_notebook_reading.py": 15, "test_labmodels.py": 12,
    "test_lab07_checks.py": 12, "test_release.py": 10, "test_lab09_keras.py": 73, "test_gradescope.py": 55,
    "test_lab07_keras.py": 46, "test_grading.py": 41, "test_lab06_keras.py": 40, "test_lab05_keras.py": 40,
    "test_hidden_cases.py": 29, "test_cli.py": 25, "test_lab12_demos.py": 21, "test_lab01_keras.py": 15,
}
"""CPU seconds of each scheduling unit (a file, or one lab's tests of PER_LAB_FILES: ``FILE::*`` for any lab), every
process it starts included, measured one file at a time with ``-n 0`` in a cgroup of its own (December 2026): xdist
hands out the costliest units first, so that the last one to start is short and the workers finish together. A unit
not listed counts 0.1 s per test; a wrong figure only costs balance, never a result."""

SLOW = ("test_nbgrader.py", "test_notebooks_run.py", "test_audit.py", "test_corpus.py", "test_examples.py",
        "test_shard.py", "test_class_report.py", "test_labmodels*.py", "test_lab??_keras.py", "test_lab??_demos.py",
        "test_tensorflow_profile.py")
"""Files that run real nbgrader, real Jupyter, the mutation audit, whole classes through the command line or
Keras training: ``pytest -m "not slow"`` (the fast subset, for developing) leaves them out; CI runs everything."""


def _scope(nodeid: str) -> str:
    """The scheduling unit of a test: its file, or its file and lab in PER_LAB_FILES."""
    file = nodeid.split("::", 1)[0]
    lab = _LAB_PARAM.search(nodeid) if file.rsplit("/", 1)[-1] in PER_LAB_FILES else None
    return f"{file}::{lab.group(1)}" if lab else file


def _seconds(scope: str, tests: int) -> float:
    name = scope.rsplit("/", 1)[-1]
    return SECONDS.get(name, SECONDS.get(name.split("::")[0] + "::*" if "::" in name else name, 0.1 * tests))


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the CPUs this process may use.

    A quarter of a worker's time is spent waiting, not computing: for time limits to run out (endless loops,
    sleeps, the corpus's hostile submissions), for kernels and subprocesses to start. With one worker per CPU
    the 2-core machine was 70 % busy and the suite took 15–17.5 minutes; with one more it was 97 % busy and took
    14 (December 2026). ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides where it is set.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: real nbgrader, real Jupyter, the mutation audit, whole classes graded "
                            "through the command line, Keras training (left out by -m \"not slow\")")


def pytest_collection_modifyitems(config, items):
    """Marks SLOW files' tests ``slow``; in an xdist worker, orders the units costliest first (see SECONDS)."""
    for item in items:
        if any(fnmatch.fnmatch(item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1], pattern) for pattern in SLOW):
            item.add_marker(pytest.mark.slow)
    if hasattr(config, "workerinput") and config.getvalue("dist") == "loadfile":
        units: dict[str, list] = {}
        for item in items:
            units.setdefault(_scope(item.nodeid), []).append(item)
        ranked = sorted(units.items(), key=lambda unit: -_seconds(unit[0], len(unit[1])))  # stable: ties keep order
        items[:] = [item for _, unit in ranked for item in unit]


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, but with each lab's tests of PER_LAB_FILES a unit of their own, costliest unit first.

    A test file's tests run on one worker, so its module fixtures are built once; in PER_LAB_FILES those
    fixtures build per lab, when first asked, so each lab's tests can go to whichever worker is free. (xdist's
    ``loadgroup`` would say this with marks, but it renames node ids, which pytest 9 no longer allows.) The
    workers' collection is ordered by SECONDS (pytest_collection_modifyitems), and the units are handed out
    in that order, not by their number of tests (xdist's ``--loadscope-reorder``).
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class PerLab(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return PerLab(config, log)
