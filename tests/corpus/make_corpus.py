"""Writes the bad-input corpus: lab 01 submissions, each named after its expected outcome.

Run ``python tests/corpus/make_corpus.py`` to regenerate ``tests/corpus/*.ipynb`` and
``expected.json`` (``tests/test_corpus.py`` grades them as one class). Each submission is
the lab 01 release with the reference solutions filled in (markdown cut to its heading,
demo cells left out, to keep the files small) and one thing changed; a few are raw bytes.
The huge notebook is made by the test itself, not committed.

Some notebooks name paths that only exist once the test has built its course folder:
``@@COURSE@@`` (the course root), ``@@HOME@@`` (the grader's $HOME), ``@@TMP@@`` (a
world-writable folder in /tmp), ``@@OUT@@`` (the output folder), ``@@TAG@@`` (this run's
tag) and ``@@UDP_PORT@@`` (a UDP port the test listens on); the test substitutes them
when it copies the corpus into the course. An attack that writes leaves files named
``escape-<its name>…``; an attack that deletes targets files named ``victim-<its name>``
(the test creates them), so whatever gets through is attributable to one submission.

Names count the points of the six NumPy exercises (``__10_of_12``); ``expected.json`` holds
the lab's whole ``max_score``, Keras exercise included, which the corpus leaves as its stub.

Expected outcomes are the correct ones. Where today's grader does otherwise, the entry
says ``xfail`` (which test, and why): the test is marked ``xfail(strict=True)`` until the
grader is fixed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LAB = "01_gradient_descent"
RELEASE = ROOT / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
EXERCISES = ("central_difference", "gradient_descent_1d", "classify_trajectory", "descend_from_starts",
             "grid_search", "count_combinations")

sys.path.insert(0, str(ROOT))


def _text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def reference_functions() -> dict[str, str]:
    """Each exercise's reference solution, as a compact function (signature, one-line docstring, body)."""
    solution = json.loads(SOLUTION.read_text(encoding="utf-8"))
    functions = {}
    for cell in solution["cells"]:
        source = _text(cell)
        match = re.match(r"def (\w+)\(", source)
        if cell["cell_type"] != "code" or not match or match.group(1) not in EXERCISES:
            continue
        signature = source.splitlines()[0]
        summary = source.split('"""')[1].splitlines()[0]
        body = source.split("### BEGIN SOLUTION\n")[1].split("    ### END SOLUTION")[0]
        functions[match.group(1)] = f'{signature}\n    """{summary}"""\n{body}'
    return functions


REFERENCE = reference_functions()


def base_notebook() -> dict:
    """The release notebook, solutions filled in, markdown cut to headings, demo cells dropped."""
    release = json.loads(RELEASE.read_text(encoding="utf-8"))
    cells = []
    for cell in release["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if nbgrader is None:  # a demo cell: the grader never runs them
            continue
        source = _text(cell)
        if cell["cell_type"] == "markdown":
            if not source.startswith("#"):  # keep headings only
                continue
            source = source.split("\n")[0]
        elif nbgrader.get("grade_id") in EXERCISES:
            source = REFERENCE[nbgrader["grade_id"]]
        cells.append({**cell, "source": source})
    return {**release, "cells": cells}


def cell_index(notebook: dict, grade_id: str) -> int:
    for i, cell in enumerate(notebook["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def notebook(replace: dict[str, str] | None = None, *, before: str | None = None, after: str | None = None) -> dict:
    """The base notebook with some exercises' cells replaced and an extra cell before or after them."""
    nb = base_notebook()
    for name, source in (replace or {}).items():
        nb["cells"][cell_index(nb, name)]["source"] = source
    if before is not None:
        nb["cells"].insert(cell_index(nb, "setup") + 1, code_cell(before))
    if after is not None:
        nb["cells"].append(code_cell(after))
    return nb


def dumps(nb: dict) -> bytes:
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def public_answers() -> dict:
    """The published answers of lab 01, keyed as a hard-coding student would key them."""
    from autograder import checks

    cases = checks.load_lab(LAB).public_cases()
    return {
        "central_difference": {(c.args[1], c.kwargs.get("h", 1e-5)): c.expected for c in cases["central_difference"]},
        "gradient_descent_1d": {tuple(c.args[1:]): [float(v) for v in c.expected]
                                for c in cases["gradient_descent_1d"]},
        "classify_trajectory": {(round(float(c.args[0][1]), 6), len(c.args[0])): c.expected
                                for c in cases["classify_trajectory"]},
        "descend_from_starts": {(tuple(c.args[1]), c.args[2], c.args[3]): [float(v) for v in c.expected]
                                for c in cases["descend_from_starts"]},
        "grid_search": {tuple(c.args[1:]): c.expected for c in cases["grid_search"]},
        "count_combinations": {(tuple(c.args[0]), c.args[1], bool(c.kwargs.get("include_biases"))): c.expected
                               for c in cases["count_combinations"]},
    }


# --------------------------------------------------------------------------------------------
# Student code, one piece per corpus entry.
# --------------------------------------------------------------------------------------------

CORRECT_BUT_DIFFERENT = {
    "central_difference": '''def central_difference(f, x, h=1e-5):
    """Half the difference of the two neighbours, over h."""
    left, right = f(x - h), f(x + h)
    return 0.5 * (right - left) / h
''',
    "gradient_descent_1d": '''def gradient_descent_1d(df, x0, learning_rate, num_steps):
    """Preallocated trajectory, filled in a loop."""
    out = np.empty(num_steps + 1)
    out[0] = x0
    for k in range(num_steps):
        out[k + 1] = out[k] - learning_rate * df(out[k])
    return out
''',
    "classify_trajectory": '''def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Plain Python: a list of offsets and a loop over neighbours."""
    d = [float(t) - minimum for t in trajectory]
    if abs(d[-1]) > abs(d[0]):
        return "diverging"
    for a, b in zip(d, d[1:]):
        if a * b < 0:
            return "oscillating"
    return "good" if abs(d[-1]) <= tol else "too_small"
''',
    "descend_from_starts": '''def _walk(df, x, learning_rate, num_steps):
    for _ in range(num_steps):
        x = x - learning_rate * df(x)
    return x


def descend_from_starts(df, starts, learning_rate, num_steps):
    """A list of floats, not an array."""
    return [_walk(df, float(s), learning_rate, num_steps) for s in starts]
''',
    "grid_search": '''def grid_search(loss, low, high, num_points):
    """A running minimum instead of np.argmin."""
    best_w, best_loss = None, math.inf
    for w in np.linspace(low, high, num_points):
        value = loss(w)
        if value < best_loss:
            best_w, best_loss = float(w), float(value)
    return best_w, best_loss
''',
    "count_combinations": '''def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Counts parameters layer by layer."""
    n = 0
    for a, b in zip(layer_sizes, layer_sizes[1:]):
        n += a * b + (b if include_biases else 0)
    return math.prod([values_per_weight] * n)
''',
}

DIFFERENT_EXTRAS = '''%matplotlib inline
!pip list > /dev/null
import math

# Demo code at the top level: the grader runs definitions only, never this.
while True:
    pass
raise RuntimeError("this demo cell is broken")
'''

SCRATCH_FILES = '''import os


def grid_search(loss, low, high, num_points):
    """Correct, and keeps its losses in a file in the current folder (its scratch folder) on the way."""
    grid = np.linspace(low, high, num_points)
    np.save("losses.npy", np.array([loss(w) for w in grid]))
    with open("notes.txt", "w") as handle:
        handle.write(f"searched {num_points} weights")
    losses = np.load("losses.npy")
    os.remove("losses.npy")
    best = int(np.argmin(losses))
    return float(grid[best]), float(losses[best])
'''

INFINITE_LOOP = '''def central_difference(f, x, h=1e-5):
    """Never returns."""
    while True:
        pass
'''

SLEEP_FOREVER = '''import time


def grid_search(loss, low, high, num_points):
    """Sleeps for twelve days, then a bit more."""
    time.sleep(10**6)
    return 0.0, 0.0
'''

FORK_LOOP = '''import os


def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """A fork bomb."""
    while True:
        os.fork()
'''

MEMORY_BOMB = '''def descend_from_starts(df, starts, learning_rate, num_steps):
    """Takes memory 4 GB at a time, and fills it, until something gives."""
    hoard = []
    while True:
        block = np.empty(5 * 10**8)
        block.fill(1.0)
        hoard.append(block)
'''

PRINTS_GIGABYTES = '''import os
import sys


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Prints 2 GiB (stdout, stderr, the raw descriptors), then answers."""
    line = "x" * 2**20
    for _ in range(512):
        print(line)
        print(line, file=sys.stderr)
        sys.__stdout__.write(line)
        os.write(1, line.encode())
    n = sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    if include_biases:
        n += sum(layer_sizes[1:])
    return values_per_weight ** n
'''

FILLS_THE_DISK = '''import os
import tempfile

WRITTEN = []


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Writes 1 GiB in 16 MiB files into its scratch folder (once), then answers: wrongly if all of it fit."""
    if not WRITTEN:
        folder = tempfile.mkdtemp()
        block, total = b"x" * 2**24, 0
        try:
            for i in range(64):
                with open(os.path.join(folder, f"fill-{i}"), "wb") as handle:
                    handle.write(block)
                total += len(block)
        except OSError:
            pass
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        WRITTEN.append(total)
    if WRITTEN[0] >= 2**30:
        return 0
    n = sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    if include_biases:
        n += sum(layer_sizes[1:])
    return values_per_weight ** n
'''

PRINTS_FOREVER = '''import os


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Output without end."""
    line = "all work and no play " * 50000
    while True:
        print(line)
        os.write(2, line.encode())
'''

SYS_EXIT_IN_FUNCTION = '''import sys


def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Quits."""
    sys.exit("done")
'''

OS_EXIT_IN_FUNCTION = '''import os


def central_difference(f, x, h=1e-5):
    """Kills its own process."""
    os._exit(0)
'''

SYSTEM_EXIT_IN_FUNCTION = '''def grid_search(loss, low, high, num_points):
    """Raises SystemExit itself."""
    raise SystemExit(0)
'''

KEYBOARD_INTERRUPT_IN_FUNCTION = '''def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """As if Ctrl-C were pressed."""
    raise KeyboardInterrupt
'''

SYS_EXIT_AT_TOP_LEVEL = '''import sys

STOP = sys.exit("stop the grader while it loads the definitions")
sys.exit(1)
'''

SYSTEM_EXIT_AT_TOP_LEVEL = '''class Stop:
    raise SystemExit(2)


raise SystemExit(3)
'''

KEYBOARD_INTERRUPT_AT_TOP_LEVEL = '''def _interrupt(function):
    raise KeyboardInterrupt


@_interrupt
def helper():
    pass
'''

OS_EXIT_AT_TOP_LEVEL = '''import os

BYE = os._exit(0)
'''

MONKEYPATCHES_NUMPY = '''import numpy as np

# As statements (which the grader never runs) and in a class body (which it does).
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


class _Patch:
    np.allclose = lambda *args, **kwargs: True
    np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
    np.array_equal = lambda *args, **kwargs: True
    np.testing.assert_allclose = lambda *args, **kwargs: None
    np.testing.assert_array_equal = lambda *args, **kwargs: None
    np.testing.assert_almost_equal = lambda *args, **kwargs: None
'''

FORWARD_DIFFERENCE = '''def central_difference(f, x, h=1e-5):
    """The forward difference, wrongly."""
    return (f(x + h) - f(x)) / h
'''

MONKEYPATCHES_GRADER = '''import sys
import autograder.checks.core as core
core.judge = lambda *args, **kwargs: None


def check(function, hidden=False):
    print("✓ all cases pass")


class _Cheat:
    for _name, _module in list(sys.modules.items()):
        if _name.startswith("autograder"):
            for _attr in ("judge", "first_failure", "compare_values", "compare_numbers", "describe_error",
                          "_judge_exercise", "outcome_from_json"):
                if hasattr(_module, _attr):
                    setattr(_module, _attr, lambda *args, **kwargs: None)
'''

ARGMAX_GRID_SEARCH = '''def grid_search(loss, low, high, num_points):
    """Keeps the largest loss, wrongly."""
    grid = np.linspace(low, high, num_points)
    losses = np.array([loss(w) for w in grid])
    best = int(np.argmax(losses))
    return float(grid[best]), float(losses[best])
'''

PATCHES_ISINSTANCE = '''import builtins

_real_isinstance = isinstance


class _Cheat:
    # Everything is a float, a tuple, an array...: a grader that judged in this process would accept anything.
    builtins.isinstance = lambda obj, cls: True
'''

SHADOWS_BUILTINS = '''def abs(x):
    return 0.0


def len(x):
    return 0


def float(x=0.0):
    return 0.0


def isinstance(obj, cls):
    return True


def __import__(name, *args, **kwargs):
    raise ImportError(name)
'''

# The exercises again, written without abs, len, float or isinstance, so that shadowing them changes nothing.
NO_BUILTINS = {
    "gradient_descent_1d": '''def gradient_descent_1d(df, x0, learning_rate, num_steps):
    """Without builtins."""
    xs = np.empty(num_steps + 1)
    xs[0] = x0
    for k in range(num_steps):
        xs[k + 1] = xs[k] - learning_rate * df(xs[k])
    return xs
''',
    "classify_trajectory": '''def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Without builtins."""
    offsets = np.asarray(trajectory, dtype=np.float64) - minimum
    if np.abs(offsets[-1]) > np.abs(offsets[0]):
        return "diverging"
    if np.any(offsets[:-1] * offsets[1:] < 0):
        return "oscillating"
    return "good" if np.abs(offsets[-1]) <= tol else "too_small"
''',
    "grid_search": '''def grid_search(loss, low, high, num_points):
    """Without builtins."""
    grid = np.linspace(low, high, num_points)
    losses = np.array([loss(w) for w in grid])
    best = np.argmin(losses)
    return grid[best].item(), losses[best].item()
''',
}

PATCHES_BUILTINS_MODULE = '''import builtins


class _Cheat:
    # A grader judging in this process would now find every difference small and every list empty.
    builtins.abs = lambda x: 0.0
    builtins.len = lambda x: 0
    builtins.max = lambda *args, **kwargs: 0.0
'''

READS_SECRETS = '''import os


def central_difference(f, x, h=1e-5):
    """Returns whatever secret it can read: solutions, the course secret, the gradebook, a classmate's work."""
    course = "@@COURSE@@"
    stolen, errors = [], []
    paths = [os.path.join(course, path) for path in (
        "solutions/01_gradient_descent/01_gradient_descent.ipynb", "solutions/secret.txt",
        "source/01_gradient_descent/01_gradient_descent.ipynb", ".autograder_secret", "gradebook.db",
        "submitted/zz_other_student/01_gradient_descent/01_gradient_descent.ipynb")]
    paths += ["../../solutions/01_gradient_descent/01_gradient_descent.ipynb", "solutions/secret.txt",
              "../../../solutions/secret.txt", "../zz_other_student/01_gradient_descent/01_gradient_descent.ipynb"]
    for path in paths:
        try:
            with open(path, "rb") as handle:
                stolen.append(handle.read().decode("utf-8", "replace"))
        except Exception as exc:
            errors.append(exc)
    for folder in ("solutions", "submitted/zz_other_student/01_gradient_descent"):
        try:
            stolen.append(" ".join(os.listdir(os.path.join(course, folder))))
        except Exception as exc:
            errors.append(exc)
    if stolen:
        return "\\n".join(stolen)
    raise errors[0]
'''

READS_PACKAGE_SOLUTIONS = '''import os
import sys


def grid_search(loss, low, high, num_points):
    """Finds the grader's own checkout through its package and reads the solutions and hidden checks there."""
    package = os.path.dirname(sys.modules["autograder"].__file__)
    checkout = os.path.dirname(package)
    stolen, errors = [], []
    for path in (os.path.join(checkout, "solutions", "01_gradient_descent", "01_gradient_descent.ipynb"),
                 os.path.join(package, "hidden", "lab01.py"),
                 os.path.join(checkout, "tests", "conftest.py"),
                 os.path.join(checkout, ".autograder_secret"),
                 os.path.join(checkout, "gradebook.db")):
        try:
            with open(path, "rb") as handle:
                stolen.append(handle.read().decode("utf-8", "replace"))
        except Exception as exc:
            errors.append(exc)
    if stolen:
        return "\\n".join(stolen), 0.0
    raise errors[0]
'''

IMPORTS_HIDDEN = '''import autograder.hidden.lab01  # skipped by the grader, so imported again below


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Borrows the reference solution from the hidden checks."""
    import autograder.hidden.lab01 as hidden

    return hidden.count_combinations(layer_sizes, values_per_weight, include_biases)
'''

READS_ENVIRONMENT = '''import os


def _parent(pid):
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return int(handle.read().rsplit(b")", 1)[1].split()[1])


def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Reads its ancestors' environment, command line and stack, where $AUTOGRADER_SECRET may be."""
    stolen, pid = [], os.getppid()
    for _ in range(4):
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as handle:
                    stolen.append(handle.read())
            except Exception:
                pass
        try:
            with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
                for line in maps:
                    if line.rstrip().endswith("[stack]"):
                        start, end = (int(v, 16) for v in line.split()[0].split("-"))
                        mem.seek(start)
                        stolen.append(mem.read(end - start))
        except Exception:
            pass
        try:
            pid = _parent(pid)
        except Exception:
            break
        if pid <= 1:
            break
    for blob in stolen:
        for key in (b"AUTOGRADER_SECRET=", b"CORPUS_GRADER_SENTINEL="):
            at = blob.find(key)
            if at >= 0:
                return blob[at:at + 200].split(b"\\0")[0].decode("utf-8", "replace")
    return "good"
'''

WRITES_OUTSIDE_SCRATCH = '''import os
import pathlib

NAME = "escape-writes_outside_scratch__10_of_12"


def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Writes into the course, a classmate's folder, the grader's $HOME and /tmp; fails loudly if all are refused."""
    course = "@@COURSE@@"
    targets = [os.path.join(course, NAME), os.path.join(course, "submitted", "zz_other_student", NAME),
               os.path.join(course, "submitted/zz_other_student/01_gradient_descent/01_gradient_descent.ipynb"),
               os.path.join(course, "nbgrader_config.py"), os.path.join("@@HOME@@", NAME),
               os.path.join("@@HOME@@", ".bashrc"), os.path.join("@@TMP@@", NAME), f"/tmp/{NAME}-@@TAG@@"]
    errors = []
    for target in targets:
        for write in (lambda p: open(p, "a").write("# overwritten\\n"),
                      lambda p: pathlib.Path(p).write_text("overwritten"),
                      lambda p: os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))):
            try:
                write(target)
            except Exception as exc:
                errors.append(exc)
    raise errors[0]
'''

WRITES_VIA_DIR_FD = '''import os

NAME = "escape-writes_outside_scratch_via_dir_fd__10_of_12"


def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Opens a folder, then creates a file relative to it (os.open with dir_fd, os.mkdir with dir_fd)."""
    written, errors = [], []
    for folder in ("@@COURSE@@", "@@COURSE@@/submitted/zz_other_student", "@@HOME@@", "@@TMP@@", "/tmp"):
        try:
            folder_fd = os.open(folder, os.O_RDONLY)
            fd = os.open(f"{NAME}-@@TAG@@", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder_fd)
            os.write(fd, b"escaped")
            os.close(fd)
            os.mkdir(f"{NAME}-@@TAG@@-dir", dir_fd=folder_fd)
            written.append(folder)
        except Exception as exc:
            errors.append(exc)
    if written:
        return "escaped into " + ", ".join(written)
    raise errors[0]
'''

DELETES_FILES = '''import os
import shutil


def descend_from_starts(df, starts, learning_rate, num_steps):
    """Deletes the class's submissions, the solutions, the gradebook, the grader's $HOME, /tmp files."""
    course = "@@COURSE@@"
    errors = []
    attempts = [
        lambda: shutil.rmtree(os.path.join(course, "submitted")),
        lambda: shutil.rmtree(os.path.join(course, "solutions")),
        lambda: os.remove(os.path.join(course, "gradebook.db")),
        lambda: os.remove(os.path.join(course, "submitted/zz_other_student/01_gradient_descent",
                                       "01_gradient_descent.ipynb")),
        lambda: os.rename(os.path.join(course, "nbgrader_config.py"), os.path.join(course, "renamed.py")),
        lambda: os.truncate(os.path.join(course, "README.md"), 0),
        lambda: shutil.rmtree("@@HOME@@"),
        lambda: os.remove(os.path.join("@@TMP@@", "sentinel.txt")),
        lambda: os.rmdir("@@TMP@@"),
    ]
    for attempt in attempts:
        try:
            attempt()
        except Exception as exc:
            errors.append(exc)
    raise errors[0]
'''

DELETES_VIA_DIR_FD = '''import os

NAME = "victim-deletes_files_via_dir_fd__10_of_12"


def descend_from_starts(df, starts, learning_rate, num_steps):
    """Deletes and renames files relative to an opened folder (os.unlink and os.rename with dir_fd)."""
    done, errors = [], []
    for folder in ("@@COURSE@@", "@@COURSE@@/submitted/zz_other_student", "@@HOME@@", "@@TMP@@"):
        try:
            folder_fd = os.open(folder, os.O_RDONLY)
            os.rename(NAME, NAME + "-renamed", src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            os.unlink(NAME + "-renamed", dir_fd=folder_fd)
            done.append(folder)
        except Exception as exc:
            errors.append(exc)
    if done:
        return [len(done)] * len(starts)
    raise errors[0]
'''

READS_VIA_DIR_FD = '''import os


def grid_search(loss, low, high, num_points):
    """Opens the course folder (not secret), then reads solutions/ relative to it (os.open with dir_fd)."""
    stolen, errors = [], []
    for folder, name in (("@@COURSE@@", "solutions/secret.txt"), ("@@COURSE@@", ".autograder_secret"),
                         ("@@COURSE@@/submitted", "zz_other_student/01_gradient_descent/01_gradient_descent.ipynb")):
        try:
            folder_fd = os.open(folder, os.O_RDONLY)
            fd = os.open(name, os.O_RDONLY, dir_fd=folder_fd)
            stolen.append(os.read(fd, 100000).decode("utf-8", "replace"))
        except Exception as exc:
            errors.append(exc)
    if stolen:
        return "\\n".join(stolen), 0.0
    raise errors[0]
'''

OPENS_SOCKETS = '''import socket


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Connects, listens, sends, resolves."""
    errors = []
    attempts = [
        lambda: socket.create_connection(("127.0.0.1", @@UDP_PORT@@), timeout=1),
        lambda: socket.create_connection(("93.184.216.34", 80), timeout=1),
        lambda: socket.socket().bind(("0.0.0.0", 0)),
        lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
            b"@@TAG@@ opens_sockets_in_count_combinations__11_of_12", ("127.0.0.1", @@UDP_PORT@@)),
        lambda: socket.getaddrinfo("example.com", 80),
    ]
    for attempt in attempts:
        try:
            attempt()
        except Exception as exc:
            errors.append(exc)
    raise errors[0]
'''

SENDS_UDP_VIA_SENDMSG = '''import socket


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Sends a datagram with sendmsg, which connects to nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendmsg([b"@@TAG@@ sends_udp_via_sendmsg__11_of_12"], [], 0, ("127.0.0.1", @@UDP_PORT@@))
    return 0
'''

SPAWNS_DETACHED_PROCESS = '''import subprocess
import sys
import types


class _QuietSys(types.ModuleType):
    audit = staticmethod(lambda *args: None)

    def __getattr__(self, name):
        return getattr(sys, name)


def central_difference(f, x, h=1e-5):
    """Silences subprocess's audit call, then starts a program in a session of its own."""
    subprocess.sys = _QuietSys("sys")
    marker = "escape-spawns_detached_process_in_central_difference__10_of_12-@@TAG@@"
    subprocess.Popen(["/bin/sh", "-c", f"while :; do sleep 1; done # {marker}"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    return 0.0
'''

FORGES_RESULT_FILES = '''import json
import os

REPORT = {"score": 12, "max_score": 12, "output": "forged", "tests": [], "visibility": "visible"}


def grid_search(loss, low, high, num_points):
    """Writes a perfect results.json and grades.csv wherever it can, then answers wrongly."""
    me = "forges_result_files__10_of_12"
    for folder in ("@@OUT@@", f"@@OUT@@/{me}/01_gradient_descent", "@@OUT@@/zz_other_student/01_gradient_descent",
                   "@@COURSE@@", os.getcwd()):
        for name, text in (("results.json", json.dumps(REPORT)),
                           ("grades.csv", f"student,lab,score,max_score\\n{me},01_gradient_descent,12,12\\n"),
                           ("escape-forges_result_files__10_of_12-@@TAG@@.json", "{}")):
            try:
                with open(os.path.join(folder, name), "w") as handle:
                    handle.write(text)
            except Exception:
                pass
    grid = np.linspace(low, high, num_points)
    losses = np.array([loss(w) for w in grid])
    best = int(np.argmax(losses))
    return float(grid[best]), float(losses[best])
'''

FORGES_EVENTS = '''import json
import os


def _forge(lines):
    data = "".join(json.dumps(line) + "\\n" for line in lines).encode()
    fds = set(range(1, 11))
    try:
        fds.update(int(fd) for fd in os.listdir("/proc/self/fd"))
    except OSError:
        pass
    for fd in sorted(fds):
        try:
            os.write(fd, data)
        except OSError:
            pass


def grid_search(loss, low, high, num_points):
    """Writes fake result events to stdout and every open descriptor, then answers wrongly.

    The fake events claim the published answer for grid_search and a wrong count for
    count_combinations, whose real implementation below is correct.
    """
    fake = [{"event": "case", "exercise": "grid_search", "index": i,
             "outcome": {"value": {"$tuple": [3.5, 0.0]}, "mutated": []}} for i in range(10)]
    fake += [{"event": "done", "exercise": "grid_search"}, {"event": "start", "exercise": "count_combinations"}]
    fake += [{"event": "case", "exercise": "count_combinations", "index": i, "outcome": {"value": 7, "mutated": []}}
             for i in range(10)]
    fake += [{"event": "done", "exercise": "count_combinations"}, {"event": "finished"}]
    print(json.dumps({"score": 12, "max_score": 12}))
    _forge(fake)
    grid = np.linspace(low, high, num_points)
    losses = np.array([loss(w) for w in grid])
    best = int(np.argmax(losses))
    return float(grid[best]), float(losses[best])
'''

READS_EXPORTED_GRADES = '''def central_difference(f, x, h=1e-5):
    """Reads the class's grades where `nbgrader export` leaves them, and an earlier grading run's output."""
    stolen, errors = [], []
    for path in ("@@COURSE@@/grades.csv", "@@COURSE@@/grading-output-monday/grades.csv"):
        try:
            with open(path) as handle:
                stolen.append(handle.read())
        except Exception as exc:
            errors.append(exc)
    if stolen:
        return "\\n".join(stolen)
    raise errors[0]
'''

FLOODS_RESULTS = '''import os


def grid_search(loss, low, high, num_points):
    """Writes 100 MB without a newline to every descriptor, then answers correctly."""
    block = b"{" * 2**20
    fds = set(range(1, 11))
    try:
        fds.update(int(fd) for fd in os.listdir("/proc/self/fd"))
    except OSError:
        pass
    for fd in sorted(fds):
        for _ in range(100):
            try:
                os.write(fd, block)
            except OSError:
                break
    grid = np.linspace(low, high, num_points)
    losses = np.array([loss(w) for w in grid])
    best = int(np.argmin(losses))
    return float(grid[best]), float(losses[best])
'''

RETURNS_NAN = '''def central_difference(f, x, h=1e-5):
    """Not a number."""
    return float("nan")
'''

RETURNS_INF = '''def gradient_descent_1d(df, x0, learning_rate, num_steps):
    """A trajectory that ends at infinity."""
    xs = [float(x0)]
    for _ in range(num_steps):
        xs.append(xs[-1] - learning_rate * df(xs[-1]))
    xs[-1] = float("inf")
    return np.array(xs)
'''

RETURNS_WRONG_SHAPE = '''def descend_from_starts(df, starts, learning_rate, num_steps):
    """The right numbers in a column."""
    return np.array([gradient_descent_1d(df, s, learning_rate, num_steps)[-1] for s in starts]).reshape(-1, 1)
'''

RETURNS_WRONG_TYPES = {
    "classify_trajectory": '''def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """A number instead of a label."""
    return 3
''',
    "grid_search": '''def grid_search(loss, low, high, num_points):
    """A dict and a string instead of a tuple of floats."""
    grid = np.linspace(low, high, num_points)
    losses = [loss(w) for w in grid]
    best = int(np.argmin(losses))
    return {"best_w": str(grid[best]), "best_loss": str(losses[best])}
''',
}

RETURNS_EQUAL_TO_EVERYTHING = '''class Anything:
    """Equal to everything, close to everything, a float, an int and a string all at once."""

    def __eq__(self, other):
        return True

    __hash__ = None

    def __float__(self):
        return 3.5

    def __int__(self):
        return 3

    def __index__(self):
        return 3

    def __abs__(self):
        return 0.0

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __lt__(self, other):
        return True

    __le__ = __lt__

    def __repr__(self):
        return "3.5"


class Close(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def grid_search(loss, low, high, num_points):
    """An object equal to every answer, and a float subclass that says the same."""
    return Anything(), Close(0.0)
'''

LYING_NUMPY_SUBCLASS = '''class Liar(np.ndarray):
    """An array whose every accessor reports the published answer while its memory holds zeros."""

    _claim = [-1.4729975967163984, 1.3469974067553473]

    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __array__(self, dtype=None, copy=None):
        return np.array(self._claim)

    def tolist(self):
        return list(self._claim)

    def __iter__(self):
        return iter(self._claim)

    def __getitem__(self, index):
        return np.array(self._claim)[index]

    def __array_ufunc__(self, *args, **kwargs):
        return True

    def __array_function__(self, *args, **kwargs):
        return True

    def astype(self, *args, **kwargs):
        return np.array(self._claim)

    def copy(self, *args, **kwargs):
        return np.array(self._claim)

    def ravel(self, *args, **kwargs):
        return np.array(self._claim)

    def __reduce__(self):
        return (np.array, (self._claim,))


def descend_from_starts(df, starts, learning_rate, num_steps):
    """Zeros, dressed up."""
    return np.zeros(len(starts)).view(Liar)
'''


def hard_coded_public_answers() -> dict[str, str]:
    answers = public_answers()

    def table(name):
        return repr({k: v for k, v in answers[name].items()})

    return {
        "central_difference": f'''ANSWERS_CD = {table("central_difference")}


def central_difference(f, x, h=1e-5):
    """Looks the published answer up by its inputs."""
    return ANSWERS_CD.get((x, h), 0.0)
''',
        "gradient_descent_1d": f'''ANSWERS_GD = {table("gradient_descent_1d")}


def gradient_descent_1d(df, x0, learning_rate, num_steps):
    """Looks the published answer up by its inputs."""
    return np.array(ANSWERS_GD.get((x0, learning_rate, num_steps), [x0] * (num_steps + 1)))
''',
        "classify_trajectory": f'''ANSWERS_CT = {table("classify_trajectory")}


def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Looks the published answer up by the trajectory's second point and length."""
    return ANSWERS_CT.get((round(float(trajectory[1]), 6), len(trajectory)), "good")
''',
        "descend_from_starts": f'''ANSWERS_DS = {table("descend_from_starts")}


def descend_from_starts(df, starts, learning_rate, num_steps):
    """Looks the published answer up by its inputs."""
    return np.array(ANSWERS_DS.get((tuple(starts), learning_rate, num_steps), [0.0] * len(starts)))
''',
        "grid_search": f'''ANSWERS_GS = {table("grid_search")}


def grid_search(loss, low, high, num_points):
    """Looks the published answer up by its inputs."""
    return ANSWERS_GS.get((low, high, num_points), (low, loss(low)))
''',
        "count_combinations": f'''ANSWERS_CC = {table("count_combinations")}


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Looks the published answer up by its inputs."""
    return ANSWERS_CC.get((tuple(layer_sizes), values_per_weight, include_biases), 10**75)
''',
    }


# --------------------------------------------------------------------------------------------
# Whole-notebook transformations.
# --------------------------------------------------------------------------------------------

def old_nbformat() -> bytes:
    import nbformat

    nb = nbformat.reads(dumps(base_notebook()).decode(), as_version=4)
    return nbformat.writes(nbformat.convert(nb, 3), version=3).encode()


def duplicated_cells() -> dict:
    """Every exercise cell twice, a wrong draft first and the fixed copy after it; setup and checks twice."""
    nb = base_notebook()
    cells = []
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in EXERCISES:
            draft = _text(cell).replace("return ", "return 0 * ", 1) if grade_id != "classify_trajectory" else (
                _text(cell).replace('return "diverging"', 'return "good"'))
            cells.append({**cell, "source": draft})
        cells.append(cell)
        if grade_id == "setup" or (grade_id or "").startswith("check_"):
            cells.append(json.loads(json.dumps(cell)))
    return {**nb, "cells": cells}


def deleted_cells() -> dict:
    nb = base_notebook()
    drop = {"grid_search", "check_grid_search", "md_brute_force"}
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in drop]
    return nb


def deleted_setup_cell() -> dict:
    nb = base_notebook()
    del nb["cells"][cell_index(nb, "setup")]
    return nb


def retyped(grade_id: str, cell_type: str) -> dict:
    nb = base_notebook()
    cell = nb["cells"][cell_index(nb, grade_id)]
    if cell_type == "markdown":
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    else:
        cell.update(outputs=[], execution_count=None)
    cell["cell_type"] = cell_type
    return nb


def markdown_to_code() -> dict:
    nb = base_notebook()
    intro = json.loads(RELEASE.read_text(encoding="utf-8"))["cells"][0]
    cell = nb["cells"][cell_index(nb, "md_intro")]
    cell.update(cell_type="code", source=_text(intro), outputs=[], execution_count=None)
    return nb


def renamed_notebook() -> dict:
    """No lab metadata, no Checker("01_…") line: the lab is recognised from the functions it defines."""
    nb = base_notebook()
    nb["metadata"] = {k: v for k, v in nb["metadata"].items() if k != "autograder"}
    setup = nb["cells"][cell_index(nb, "setup")]
    setup["source"] = "import numpy as np\n"
    nb["cells"] = [c for c in nb["cells"]
                   if not c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "").startswith("check_")]
    return nb


def latin1_text() -> bytes:
    """A UTF-8 notebook into which an editor saved a few Latin-1 bytes (é = 0xE9, not 0xC3 0xA9)."""
    nb = base_notebook()
    nb["cells"][cell_index(nb, "md_intro")]["source"] += "\n@@Été, déjà vu, naïve café@@: saved as Latin-1."
    cell = nb["cells"][cell_index(nb, "central_difference")]
    cell["source"] = "# @@Dérivée centrale (café noir)@@\nGREETING = \"@@Grüße@@\"\n" + _text(cell)
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    parts = text.split("@@")
    return b"".join(part.encode("latin-1" if i % 2 else "utf-8") for i, part in enumerate(parts))


def blank_release() -> dict:
    """The release as handed out: every exercise still raises NotImplementedError."""
    release = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c
               for c in json.loads(RELEASE.read_text(encoding="utf-8"))["cells"]}
    nb = base_notebook()
    for name in EXERCISES:
        nb["cells"][cell_index(nb, name)]["source"] = _text(release[name])
    return nb


# --------------------------------------------------------------------------------------------
# The corpus: file name (its expected outcome) → content, expected score, message.
# --------------------------------------------------------------------------------------------

# -- round 2: attacks that first switch the audit hook off, or go below it ---------------------------------
# Inside a function: the grader never runs a cell's top-level statements, only its definitions.
HOOK_OFF = '''def _hook_off():
    import autograder.sandbox.guard as guard

    guard.inside = lambda path, folder: True
    guard._FORBIDDEN_EVENTS.clear()
    guard._MUTATING_EVENTS.clear()
    guard._LISTING_EVENTS.clear()
'''

STEALS_WITH_THE_HOOK_OFF = HOOK_OFF + '''

def central_difference(f, x, h=1e-5):
    """With the audit hook off: read the secret, the answers, a classmate; plant a .pth; leave a file in /tmp."""
    _hook_off()
    import os, sys
    stolen = []
    for path in ("@@COURSE@@/.autograder_secret", "@@COURSE@@/solutions/secret.txt", "@@COURSE@@/gradebook.db",
                 "@@COURSE@@/submitted/zz_other_student/01_gradient_descent/01_gradient_descent.ipynb",
                 "/proc/1/environ", "@@HOME@@/.bashrc"):
        try:
            with open(path, "rb") as handle:
                stolen.append(handle.read().decode(errors="replace"))
        except OSError:
            pass
    for folder in [p for p in sys.path if p.endswith("site-packages")] + ["@@TMP@@", "/tmp", "@@COURSE@@"]:
        try:
            me = "escape-steals_with_the_hook_off__12_of_12"
            with open(os.path.join(folder, f"{me}-@@TAG@@.pth"), "w") as handle:
                handle.write(f"import os; os.system('touch @@TMP@@/{me}-pth-ran-@@TAG@@')\\n")
            stolen.append("planted " + folder)
        except OSError:
            pass
    if stolen:
        return " | ".join(stolen)
    return (f(x + h) - f(x - h)) / (2 * h)
'''

RAW_SYSCALLS_AGAINST_THE_GRADER = HOOK_OFF + '''

def gradient_descent_1d(df, x0, learning_rate, num_steps):
    """Below Python: pidfd, prlimit, kill, mknod, mount, ptrace by raw system call; answers only if all failed."""
    _hook_off()
    import ctypes, os, signal
    libc = ctypes.CDLL(None, use_errno=True)
    succeeded = []
    calls = {"pidfd_open": (434, 1, 0), "prlimit64": (302, 1, 7, 0, 0), "mknodat": (259, -100,
             b"@@OUT@@", 0o10644, 0), "ptrace": (101, 16, 1, 0, 0), "unshare": (272, 0x10000000),
             "mount": (165, b"none", b"/", b"tmpfs", 0, 0)}
    for name, args in calls.items():
        if libc.syscall(*args) >= 0:
            succeeded.append(name)
    for pid in (1, os.getppid(), -1):
        try:
            os.kill(pid, signal.SIGKILL)
            succeeded.append(f"kill {pid}")
        except OSError:
            pass
    if succeeded:
        return succeeded
    xs = [float(x0)]
    for _ in range(num_steps):
        xs.append(xs[-1] - learning_rate * df(xs[-1]))
    return xs
'''

LOADS_NATIVE_CODE_FROM_SCRATCH = HOOK_OFF + '''

def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    """Carries a shared library into its scratch folder and loads it; answers only if that failed."""
    _hook_off()
    import ctypes, glob, os, shutil
    libraries = glob.glob("/usr/lib/*/libm.so.6") + glob.glob("/lib/*/libm.so.6")
    target = os.path.join(os.getcwd(), "carried.so")
    try:
        shutil.copyfile(libraries[0], target)
        ctypes.CDLL(target)
        return "loaded native code from scratch"
    except (OSError, IndexError):
        pass
    return _classify(trajectory, minimum, tol)
'''

PUBLISHES_ANSWERS_IN_HOST_TMP = '''import os


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """Answers correctly, and publishes each answer as a file name in the host's /tmp for a classmate."""
    answer = _count(layer_sizes, values_per_weight, include_biases)
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "@@TMP@@"):
        try:
            name = (f"escape-publishes_answers_in_host_tmp__12_of_12-@@TAG@@-{list(layer_sizes)}-"
                    f"{values_per_weight}-{include_biases}-{answer}")
            open(os.path.join(folder, name), "w").close()
        except OSError:
            pass
    return answer
'''

READS_ANSWERS_FROM_HOST_TMP = '''import os


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """No implementation: looks for a classmate's published answers in /tmp."""
    prefix = (f"escape-publishes_answers_in_host_tmp__12_of_12-@@TAG@@-{list(layer_sizes)}-"
              f"{values_per_weight}-{include_biases}-")
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "@@TMP@@"):
        try:
            for name in os.listdir(folder):
                if name.startswith(prefix):
                    return int(name[len(prefix):])
        except OSError:
            pass
    raise NotImplementedError("count_combinations")
'''

RETURNS_A_HUGE_INT = '''def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """An int far beyond a float, and beyond Python's 4300-digit str limit."""
    return 10 ** 20000 + 1
'''

RAISES_A_LONE_SURROGATE = '''def central_difference(f, x, h=1e-5):
    """An exception whose message holds a lone surrogate and control characters."""
    raise ValueError("bad \\ud800 value \\x1b[31m red \\x00 end")
'''

SWALLOWS_EVERY_TIMEOUT = '''import time


def _forever():
    while True:
        try:
            time.sleep(60)
        except BaseException:
            pass
'''


# -- round 3: memory, threads and native code that per-process limits do not see -------------------------------
HOARDS_MEMORY_IN_MEMFDS = HOOK_OFF + '''

def descend_from_starts(df, starts, learning_rate, num_steps):
    """Fills memfds with fallocate (outside RLIMIT_AS) and parks them in a socket; answers only if refused."""
    _hook_off()
    import os, socket
    held = []
    try:
        left, right = socket.socketpair(socket.AF_UNIX)
        for _ in range(8):
            fd = os.memfd_create("hoard")
            os.posix_fallocate(fd, 0, 1024**3)
            socket.send_fds(left, [b"x"], [fd])
            os.close(fd)
            held.append("1 GiB")
    except OSError:
        pass
    if held:
        return held
    return _descend(df, starts, learning_rate, num_steps)
'''

HOARDS_SHARED_MEMORY = HOOK_OFF + '''

def gradient_descent_1d(df, x0, learning_rate, num_steps):
    """SysV shared memory and /dev/shm, both outside RLIMIT_AS once detached; answers only if both refused."""
    _hook_off()
    import ctypes
    held = []
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(29, 0, 512 * 1024**2, 0o1600) >= 0:  # shmget(IPC_PRIVATE, 512 MiB)
        held.append("shmget")
    try:
        with open("/dev/shm/hoard", "wb") as handle:
            handle.write(bytes(64 * 1024**2))
        held.append("/dev/shm")
    except OSError:
        pass
    if held:
        return held
    return _gd(df, x0, learning_rate, num_steps)
'''

RUNS_NATIVE_CODE_FROM_A_MEMFD = HOOK_OFF + '''

def grid_search(loss, low, high, num_points):
    """Carries a shared library into a memfd and loads it from there, past the scratch's noexec."""
    _hook_off()
    import ctypes, glob, os
    libraries = glob.glob("/usr/lib/*/libm.so.6") + glob.glob("/lib/*/libm.so.6")
    try:
        fd = os.memfd_create("carried")
        with open(libraries[0], "rb") as handle:
            os.write(fd, handle.read())
        ctypes.CDLL(f"/proc/self/fd/{fd}")
        return "loaded native code from a memfd"
    except (OSError, IndexError):
        pass
    return _grid(loss, low, high, num_points)
'''

STARTS_440_BUSY_THREADS = HOOK_OFF + '''

def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    """440 threads that never stop, to starve the classmates graded beside it; answers only if refused."""
    _hook_off()
    import threading
    started = 0

    def burn():
        while True:
            pass

    try:
        for _ in range(440):
            threading.Thread(target=burn, daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    if started:
        return f"{started} threads"
    return _count(layer_sizes, values_per_weight, include_biases)
'''


def _helper(exercise: str, name: str) -> str:
    """The reference solution of ``exercise`` renamed ``name``, for an attack that answers correctly after it."""
    return "\n\n" + REFERENCE[exercise].replace(f"def {exercise}(", f"def {name}(", 1)


def _forever_stub(exercise: str) -> str:
    signature = REFERENCE[exercise].splitlines()[0]
    return f"{signature}\n    _forever()\n"


def entries() -> list[dict]:
    """Every corpus entry: name, content (bytes, or None if the test generates it), score, message."""

    def nb(*args, **kwargs):
        return dumps(notebook(*args, **kwargs))

    hard_coded = hard_coded_public_answers()
    rows = [
        # -- correct work: the rest of the class is graded ------------------------------------------
        ("correct_solution__12_of_12", dumps(base_notebook()), 12, "✓ grid_search: all"),
        ("correct_but_different__12_of_12", nb(CORRECT_BUT_DIFFERENT, before=DIFFERENT_EXTRAS), 12,
         "✓ count_combinations: all"),
        ("correct_with_files_in_its_working_folder__12_of_12", nb({"grid_search": SCRATCH_FILES}), 12,
         "✓ grid_search: all"),
        # -- runaway code ------------------------------------------------------------------------------
        ("infinite_loop_in_central_difference__10_of_12", nb({"central_difference": INFINITE_LOOP}), 10,
         "time limit"),
        ("sleep_forever_in_grid_search__10_of_12", nb({"grid_search": SLEEP_FOREVER}), 10, "time limit"),
        ("fork_loop_in_classify_trajectory__10_of_12", nb({"classify_trajectory": FORK_LOOP}), 10,
         "start processes"),
        ("memory_bomb_in_descend_from_starts__10_of_12", nb({"descend_from_starts": MEMORY_BOMB}), 10, "memory"),
        ("prints_two_gigabytes_then_answers__12_of_12", nb({"count_combinations": PRINTS_GIGABYTES}), 12,
         "✓ count_combinations: all"),
        ("fills_the_disk_from_its_scratch_folder__12_of_12", nb({"count_combinations": FILLS_THE_DISK}), 12,
         "✓ count_combinations: all"),
        ("prints_forever_in_count_combinations__11_of_12", nb({"count_combinations": PRINTS_FOREVER}), 11,
         "time limit"),
        ("spawns_detached_process_in_central_difference__10_of_12",
         nb({"central_difference": SPAWNS_DETACHED_PROCESS}), 10, "start"),
        # -- trying to stop the grader -----------------------------------------------------------------
        ("sys_exit_in_classify_trajectory__10_of_12", nb({"classify_trajectory": SYS_EXIT_IN_FUNCTION}), 10,
         "tried to stop the grader"),
        ("os_exit_in_central_difference__10_of_12", nb({"central_difference": OS_EXIT_IN_FUNCTION}), 10,
         "ended abruptly"),
        ("system_exit_in_grid_search__10_of_12", nb({"grid_search": SYSTEM_EXIT_IN_FUNCTION}), 10,
         "tried to stop the grader"),
        ("keyboard_interrupt_in_count_combinations__11_of_12",
         nb({"count_combinations": KEYBOARD_INTERRUPT_IN_FUNCTION}), 11, "KeyboardInterrupt"),
        ("sys_exit_at_top_level__12_of_12", nb(before=SYS_EXIT_AT_TOP_LEVEL), 12, "SystemExit"),
        ("system_exit_at_top_level__12_of_12", nb(after=SYSTEM_EXIT_AT_TOP_LEVEL), 12, "SystemExit"),
        ("keyboard_interrupt_at_top_level__12_of_12", nb(before=KEYBOARD_INTERRUPT_AT_TOP_LEVEL), 12,
         "KeyboardInterrupt"),
        ("os_exit_at_top_level__12_of_12", nb(after=OS_EXIT_AT_TOP_LEVEL), 12, "cell"),
        # -- patching what judges ------------------------------------------------------------------------
        ("monkeypatches_numpy_with_forward_difference__10_of_12",
         nb({"central_difference": FORWARD_DIFFERENCE}, before=MONKEYPATCHES_NUMPY), 10, "forward difference"),
        ("monkeypatches_grader_with_argmax_grid_search__10_of_12",
         nb({"grid_search": ARGMAX_GRID_SEARCH}, before=MONKEYPATCHES_GRADER), 10, "largest"),
        ("patches_builtins_isinstance_with_forward_difference__10_of_12",
         nb({"central_difference": FORWARD_DIFFERENCE}, after=PATCHES_ISINSTANCE), 10, "forward difference"),
        ("shadows_builtins_abs_len_float_import__10_of_12",
         nb({"central_difference": FORWARD_DIFFERENCE, **NO_BUILTINS}, before=SHADOWS_BUILTINS), 10,
         "forward difference"),
        ("patches_builtins_module_abs_len_max__10_of_12",
         nb({"central_difference": FORWARD_DIFFERENCE, **NO_BUILTINS}, after=PATCHES_BUILTINS_MODULE), 10,
         "forward difference"),
        # -- reaching for secrets ------------------------------------------------------------------------
        ("reads_solutions_and_course_secrets__10_of_12", nb({"central_difference": READS_SECRETS}), 10,
         "does not let student code read"),
        ("reads_solutions_in_the_package_checkout__10_of_12", nb({"grid_search": READS_PACKAGE_SOLUTIONS}), 10,
         "does not let student code read"),
        ("imports_autograder_hidden__11_of_12", nb({"count_combinations": IMPORTS_HIDDEN}), 11,
         "count_combinations"),
        ("reads_grader_environment__10_of_12", nb({"classify_trajectory": READS_ENVIRONMENT}), 10,
         "received: 'good'"),
        ("reads_solutions_via_dir_fd__10_of_12", nb({"grid_search": READS_VIA_DIR_FD}), 10, "grid_search"),
        # -- changing files ------------------------------------------------------------------------------
        ("writes_outside_scratch__10_of_12", nb({"classify_trajectory": WRITES_OUTSIDE_SCRATCH}), 10,
         "write outside its scratch folder"),
        ("writes_outside_scratch_via_dir_fd__10_of_12", nb({"classify_trajectory": WRITES_VIA_DIR_FD}), 10,
         "classify_trajectory"),
        ("deletes_files__10_of_12", nb({"descend_from_starts": DELETES_FILES}), 10,
         "change files outside its scratch folder"),
        ("deletes_files_via_dir_fd__10_of_12", nb({"descend_from_starts": DELETES_VIA_DIR_FD}), 10,
         "descend_from_starts"),
        # -- network -------------------------------------------------------------------------------------
        ("opens_sockets_in_count_combinations__11_of_12", nb({"count_combinations": OPENS_SOCKETS}), 11,
         "use the network"),
        ("sends_udp_via_sendmsg__11_of_12", nb({"count_combinations": SENDS_UDP_VIA_SENDMSG}), 11, "network"),
        # -- forged results ------------------------------------------------------------------------------
        ("reads_exported_grades__10_of_12", nb({"central_difference": READS_EXPORTED_GRADES}), 10,
         "does not let student code read"),
        ("floods_the_results_descriptor__10_of_12", nb({"grid_search": FLOODS_RESULTS}), 10, "grid_search"),
        ("forges_result_files__10_of_12", nb({"grid_search": FORGES_RESULT_FILES}), 10, "largest"),
        ("forges_result_events_on_stdout_and_fds__10_of_12", nb({"grid_search": FORGES_EVENTS}), 10,
         "received: (3.5, 0)"),
        # -- strange return values -----------------------------------------------------------------------
        ("returns_nan_in_central_difference__10_of_12", nb({"central_difference": RETURNS_NAN}), 10,
         "NaN or infinity"),
        ("returns_inf_in_gradient_descent_1d__7_of_12", nb({"gradient_descent_1d": RETURNS_INF}), 7,
         "NaN or infinity"),
        ("returns_wrong_shape_in_descend_from_starts__10_of_12",
         nb({"descend_from_starts": RETURNS_WRONG_SHAPE}), 10, "shape (2, 1), expected shape (2,)"),
        ("returns_wrong_types__8_of_12", nb(RETURNS_WRONG_TYPES), 8, "expected a string"),
        ("returns_objects_equal_to_everything__10_of_12", nb({"grid_search": RETURNS_EQUAL_TO_EVERYTHING}), 10,
         "Anything"),
        ("returns_lying_numpy_subclass__10_of_12", nb({"descend_from_starts": LYING_NUMPY_SUBCLASS}), 10,
         "received: [0, 0]"),
        ("hard_codes_public_answers__0_of_12", nb(hard_coded), 0, "received: 0"),
        # -- broken files --------------------------------------------------------------------------------
        ("invalid_json__0_of_12", dumps(base_notebook())[:5000], 0, "not valid notebook JSON"),
        ("old_nbformat_v3__12_of_12", old_nbformat(), 12, "nbformat 3"),
        ("duplicated_cells__12_of_12", dumps(duplicated_cells()), 12, "✓ classify_trajectory: all"),
        ("deleted_grid_search_cell__10_of_12", dumps(deleted_cells()), 10, "grid_search is not defined"),
        ("deleted_setup_cell__3_of_12", dumps(deleted_setup_cell()), 3, "name 'np' is not defined"),
        ("retyped_code_cell_as_markdown__10_of_12", dumps(retyped("classify_trajectory", "markdown")), 10,
         "classify_trajectory is not defined"),
        ("retyped_markdown_cell_as_code__12_of_12", dumps(markdown_to_code()), 12, "syntax error"),
        ("renamed_notebook_without_lab_metadata__12_of_12", dumps(renamed_notebook()), 12, "✓ grid_search: all"),
        ("empty_file__0_of_12", b"", 0, "the notebook file is empty"),
        ("huge_notebook_over_the_size_limit__0_of_12", None, 0, "MB limit"),
        ("latin1_bytes_not_utf8__12_of_12", latin1_text(), 12, "not valid UTF-8"),
        ("json_list_not_a_notebook__0_of_12", b"[1, 2, 3]\n", 0, "not a notebook"),
        ("deeply_nested_json__0_of_12", b"[" * 20000 + b"]" * 20000, 0, "nested too deeply"),
        ("binary_garbage_png__0_of_12", bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 8,
         0, "not valid notebook JSON"),
        ("blank_release_unchanged__0_of_12", dumps(blank_release()), 0, "not implemented yet"),
        # -- round 2: below the audit hook, across submissions, hostile values ------------------------------
        ("steals_with_the_hook_off__12_of_12", nb({"central_difference": STEALS_WITH_THE_HOOK_OFF}), 12,
         "✓ central_difference"),
        ("raw_syscalls_against_the_grader__12_of_12", nb({"gradient_descent_1d": RAW_SYSCALLS_AGAINST_THE_GRADER}),
         12, "✓ gradient_descent_1d"),
        ("loads_native_code_from_scratch__12_of_12", nb({"classify_trajectory": LOADS_NATIVE_CODE_FROM_SCRATCH
                                                          + _helper("classify_trajectory", "_classify")}), 12,
         "✓ classify_trajectory"),
        ("publishes_answers_in_host_tmp__12_of_12", nb({"count_combinations": PUBLISHES_ANSWERS_IN_HOST_TMP
                                                        + _helper("count_combinations", "_count")}), 12,
         "✓ count_combinations"),
        ("reads_answers_from_host_tmp__11_of_12", nb({"count_combinations": READS_ANSWERS_FROM_HOST_TMP}), 11,
         "count_combinations"),
        ("returns_a_huge_int__11_of_12", nb({"count_combinations": RETURNS_A_HUGE_INT}), 11, "count_combinations"),
        ("raises_a_lone_surrogate__10_of_12", nb({"central_difference": RAISES_A_LONE_SURROGATE}), 10, "ValueError"),
        ("swallows_every_timeout__0_of_12", nb({name: SWALLOWS_EVERY_TIMEOUT + "\n\n" + _forever_stub(name)
                                                for name in EXERCISES}), 0, "time"),
        # -- round 3: memory, threads and native code that per-process limits do not see -----------------------
        ("hoards_memory_outside_its_address_space__12_of_12", nb({
            "descend_from_starts": HOARDS_MEMORY_IN_MEMFDS + _helper("descend_from_starts", "_descend"),
            "gradient_descent_1d": HOARDS_SHARED_MEMORY + _helper("gradient_descent_1d", "_gd")}), 12,
         "✓ descend_from_starts"),
        ("runs_memfd_code_and_440_busy_threads__12_of_12", nb({
            "grid_search": RUNS_NATIVE_CODE_FROM_A_MEMFD + _helper("grid_search", "_grid"),
            "count_combinations": STARTS_440_BUSY_THREADS + _helper("count_combinations", "_count")}), 12,
         "✓ count_combinations"),
        ("lab_02_notebook_in_the_lab_01_folder__0_of_12",
         (ROOT / "solutions" / "02_gradient_checking" / "02_gradient_checking.ipynb").read_bytes(), 0,
         "handed in for lab 01_gradient_descent"),
    ]
    return [{"name": name, "content": content, "score": score, "message": message}
            for name, content, score, message in rows]


# Where today's grader does not do what an entry expects: per test aspect ("grade": score, message and
# exercises; "leak": no secret in the reports; "unchanged": nothing outside scratch; "same": identical
# reports the second time), the reason, in every setting ("xfail"), only where the grader can use
# namespaces (root on Linux, as here: "xfail_with_namespaces") or only where it cannot (a non-root CI
# machine, a container without CAP_SYS_ADMIN: "xfail_without_namespaces"). The lead flips them when fixed.
XFAIL: dict[str, dict[str, dict[str, str]]] = {
    "fills_the_disk_from_its_scratch_folder__12_of_12": {"xfail_without_namespaces": {"grade": (
        "without namespaces the scratch folder is a plain folder in /tmp: RLIMIT_FSIZE caps each file at 16 MiB "
        "but nothing caps their number, so a submission writes 1 GiB (or fills the disk); with namespaces the "
        "scratch tmpfs stops it at 256 MiB")}},
}


def main() -> None:
    from autograder import checks

    # The names count the points of the six NumPy exercises. Corpus notebooks leave the lab's Keras exercise
    # as its stub: a TensorFlow child per submission would cost minutes (tests/test_lab01_keras.py grades it).
    max_score = checks.load_lab(LAB).max_score
    rows = entries()
    names = [row["name"] for row in rows]
    assert len(names) == len(set(names)), "duplicate corpus names"
    for old in HERE.glob("*.ipynb"):
        old.unlink()
    expected = {}
    for row in rows:
        filename = row["name"] + ".ipynb"
        assert row["name"].endswith(f"__{row['score']}_of_12"), row["name"]
        if row["content"] is not None:
            (HERE / filename).write_bytes(row["content"])
        expected[filename] = {"score": row["score"], "max_score": max_score, "message": row["message"],
                              "generated_by_test": row["content"] is None, **XFAIL.pop(row["name"], {})}
    assert not XFAIL, f"xfail entries for no corpus file: {sorted(XFAIL)}"
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in HERE.glob("*.ipynb"))
    print(f"wrote {len(rows)} corpus entries ({total / 1024:.0f} KiB) to {HERE}")


if __name__ == "__main__":
    main()
