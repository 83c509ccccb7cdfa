"""Mutation audit: how much of a lab's reference solutions its own checks pin down.

Each mutant is the solution notebook with one small change inside a ``### BEGIN SOLUTION``
region (an operator, a comparison, a constant, a reduction, two arguments swapped, an
index moved by one, a statement dropped). A mutant is *killed* when some public or hidden
case, under any of the audited course secrets, fails it; a survivor is a wrong program
that the checks give full marks, unless it is recorded as equivalent (the same function
written differently) in the lab's hidden module, ``EQUIVALENT_MUTANTS``, with a reason.

Mutants are our own code, so by default they run without the sandbox: each in a forked
child with a time limit (a mutant may loop forever or crash), graded with the grader's
own extraction (:mod:`autograder.notebook`) and judging (:mod:`autograder.calls`).
``sandbox=True`` grades each through :func:`autograder.grading.grade_notebook` instead.

Mutants of the TensorFlow-profile exercises (and of the definitions that need TensorFlow) are
audited when asked (``tensorflow=True``, or a hidden module that sets ``AUDIT_TENSORFLOW``).
Forking after TensorFlow is imported is unsafe and an import per mutant costs seconds, so they
go to long-lived workers instead: fresh interpreters (never forks of this one, which never
imports TensorFlow) that import it once, as the grader's TensorFlow child does, and then
grade one mutant after another, each in a fresh namespace with Keras's global state reset.
A mutant that runs past its time limit is killed with its worker (a watchdog here), which
is replaced for the rest.

Beside the kill rate, the audit lists per exercise the named causes (``Exercise.messages``) that
no killed mutant's feedback told (:func:`unreached_causes`): a cause nothing reaches is dead weight
or a missing case, unless the mistake it names is more than one small change of the reference.
"""

from __future__ import annotations

import ast
import copy
import difflib
import importlib
import json
import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autograder import checks

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
DEFAULT_SECRETS = ("audit-secret-1", "audit-secret-2", "audit-secret-3")
MUTANT_SECONDS = 20.0
TENSORFLOW_FLOOR_SECONDS = 10.0  # the least a TensorFlow mutant is given: ten times the reference's run, at least this
WORKER_START_SECONDS = 180.0  # a TensorFlow worker's import and reference run, on a loaded machine

_BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
           ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.MatMult: ast.Mult}
_COMPARES = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
             ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_REDUCTIONS = {"mean": "sum", "sum": "mean", "max": "min", "min": "max", "argmax": "argmin", "argmin": "argmax",
               "amax": "amin", "amin": "amax", "maximum": "minimum", "minimum": "maximum", "prod": "sum",
               "any": "all", "all": "any", "zeros": "ones", "ones": "zeros", "zeros_like": "ones_like",
               "ones_like": "zeros_like", "abs": "float"}


@dataclass(frozen=True)
class Mutant:
    """One change to one solution region, named so that the name survives edits elsewhere."""

    id: str
    function: str
    operator: str
    before: str
    after: str
    cell: int
    source: str  # the mutated cell's code

    def diff(self, original: str) -> str:
        return "".join(difflib.unified_diff(original.splitlines(True), self.source.splitlines(True),
                                            f"{self.function} (reference)", f"{self.function} ({self.operator})",
                                            n=1))


@dataclass
class LabAudit:
    """The audit of one lab: every mutant's fate."""

    lab: str
    mutants: int = 0
    killed: int = 0
    equivalent: dict[str, str] = field(default_factory=dict)  # id → reason, for the survivors recorded so
    survivors: list[tuple[Mutant, str]] = field(default_factory=list)  # (mutant, diff), not recorded
    stale: list[str] = field(default_factory=list)  # recorded ids that no mutant has any more, or that are killed
    seconds: float = 0.0
    tensorflow: int = 0  # how many of the mutants are of TensorFlow exercises or definitions (0: not audited)
    killed_by: dict[str, str] = field(default_factory=dict)  # id → the first failing feedback of a killed mutant
    unreached: dict[str, list[str]] = field(default_factory=dict)  # exercise → its causes no killed mutant was told

    @property
    def kill_rate(self) -> float:
        live = self.mutants - len(self.equivalent)
        return 1.0 if live == 0 else self.killed / live

    def text(self) -> str:
        of_them = f" ({self.tensorflow} of them TensorFlow)" if self.tensorflow else ""
        lines = [f"{self.lab}: {self.mutants} mutants{of_them}, {self.killed} killed, {len(self.equivalent)} "
                 f"equivalent, kill rate {100 * self.kill_rate:.1f} % of non-equivalent ({self.seconds:.1f} s)"]
        for mutant, diff in self.survivors:
            lines.append(f"survivor {mutant.id}\n{diff.rstrip()}")
        for stale in self.stale:
            lines.append(f"recorded as equivalent but not a surviving mutant any more: {stale}")
        for exercise, keys in self.unreached.items():
            lines.append(f"causes no mutant was told · {exercise}: {', '.join(keys)}")
        return "\n".join(lines) + "\n"


def unreached_causes(lab, killed_feedback, exercises=None) -> dict[str, list[str]]:
    """Per exercise (of ``exercises``, default all), the keys of its named causes that no feedback told.

    A killed mutant's feedback starts with ``Lab NN · exercise: `` and, where a cause was named, holds
    that cause's message (as plain text; a ``{placeholder}`` in a message stands for any text). A cause
    no mutant reaches is dead weight or a missing case, unless the mistake it names is not one small
    change of the reference (a new generator, another library's formula): the list says which to read.
    """
    from autograder.feedback import plain

    told: dict[str, list[str]] = {}
    for feedback in killed_feedback:
        for exercise in lab.exercises:
            if feedback.startswith(lab.prefix(exercise.name) + ":"):
                told.setdefault(exercise.name, []).append(feedback)
    chosen = lab.exercises if exercises is None else [e for e in lab.exercises if e.name in exercises]
    unreached = {}
    for exercise in chosen:
        texts = told.get(exercise.name, [])
        keys = [key for key, message in exercise.messages.items()
                if not any(_message_pattern(plain(message)).search(text) for text in texts)]
        if keys:
            unreached[exercise.name] = keys
    return unreached


def _message_pattern(message: str) -> re.Pattern:
    """A message as a pattern: its text literally, each ``{placeholder}`` any text."""
    return re.compile(".*?".join(re.escape(part) for part in re.split(r"\{[A-Za-z_]\w*\}", message)), re.S)


# finding the mutation sites ---------------------------------------------------------

def _solution_lines(source: str) -> set[int]:
    """The 1-based line numbers strictly inside BEGIN/END SOLUTION markers."""
    inside, lines = False, set()
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


class _Sites(ast.NodeVisitor):
    """Lists (node path, operator, replacement builder) for every mutable site in the solution lines."""

    def __init__(self, lines: set[int]):
        self.lines, self.sites, self.scope = lines, [], []

    def _inside(self, node) -> bool:
        return getattr(node, "lineno", None) in self.lines and getattr(node, "end_lineno", None) in self.lines

    def _add(self, node, operator: str, build) -> None:
        self.sites.append((node, operator, build, ".".join(self.scope) or "<module>"))

    def visit_FunctionDef(self, node):
        self.scope.append(node.name)
        self._statements(node)
        self.generic_visit(node)
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def _statements(self, node) -> None:
        for name in ("body", "orelse", "finalbody"):
            for statement in getattr(node, name, []) or []:
                if not self._inside(statement) or isinstance(statement, ast.Pass):
                    continue
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                    continue  # a docstring
                self._add(statement, "drop_return" if isinstance(statement, ast.Return) else "drop_statement",
                          lambda s: ast.copy_location(ast.Pass(), s))

    def generic_visit(self, node):
        if isinstance(node, (ast.For, ast.While, ast.If, ast.With, ast.Try)):
            self._statements(node)
        super().generic_visit(node)

    def visit_BinOp(self, node):
        if self._inside(node) and type(node.op) in _BINOPS:
            self._add(node, "arithmetic", lambda n: ast.BinOp(n.left, _BINOPS[type(n.op)](), n.right))
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if self._inside(node) and type(node.op) in _BINOPS:
            self._add(node, "arithmetic", lambda n: ast.AugAssign(n.target, _BINOPS[type(n.op)](), n.value))
        self.generic_visit(node)

    def visit_Compare(self, node):
        if self._inside(node):
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARES:
                    self._add(node, "comparison", lambda n, i=i: ast.Compare(
                        n.left, [(_COMPARES[type(o)]() if j == i else o) for j, o in enumerate(n.ops)],
                        n.comparators))
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        if self._inside(node):
            self._add(node, "boolean", lambda n: ast.BoolOp(ast.Or() if isinstance(n.op, ast.And) else ast.And(),
                                                            n.values))
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if self._inside(node) and isinstance(node.op, (ast.USub, ast.Not)):
            self._add(node, "unary", lambda n: n.operand)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if self._inside(node) and not isinstance(node.value, str):
            value = node.value
            if isinstance(value, bool):
                self._add(node, "constant", lambda n: ast.Constant(not n.value))
            elif isinstance(value, int):
                self._add(node, "constant", lambda n: ast.Constant(n.value + 1))
            elif isinstance(value, float):
                self._add(node, "constant", lambda n: ast.Constant(n.value * 2 if n.value else 1.0))

    def visit_Subscript(self, node):
        if self._inside(node) and not isinstance(node.slice, (ast.Slice, ast.Tuple)):
            self._add(node, "index", lambda n: ast.Subscript(n.value, ast.BinOp(n.slice, ast.Sub(), ast.Constant(1))
                                                             if isinstance(n.slice, ast.Constant)
                                                             else ast.BinOp(n.slice, ast.Add(), ast.Constant(1)),
                                                             n.ctx))
        self.generic_visit(node)

    def visit_Call(self, node):
        if self._inside(node):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in _REDUCTIONS:
                self._add(node, "reduction", lambda n: ast.Call(_renamed(n.func, _REDUCTIONS[name]), n.args,
                                                                n.keywords))
            positional = [a for a in node.args if not isinstance(a, ast.Starred)]
            if len(positional) >= 2 and ast.dump(node.args[0]) != ast.dump(node.args[1]) and len(positional) == len(
                    node.args):
                self._add(node, "swap_arguments", lambda n: ast.Call(n.func, [n.args[1], n.args[0], *n.args[2:]],
                                                                     n.keywords))
        self.generic_visit(node)


def _renamed(func, name: str):
    if isinstance(func, ast.Attribute):
        return ast.Attribute(func.value, name, func.ctx)
    return ast.Name(name, func.ctx)


class _Replace(ast.NodeTransformer):
    def __init__(self, target, build):
        self.target, self.build = target, build

    def visit(self, node):
        if node is self.target:
            return ast.copy_location(self.build(copy.deepcopy(node)), node)
        return super().visit(node)


def _text(node) -> str:
    try:
        return ast.unparse(node).split("\n")[0][:120]
    except Exception:  # noqa: BLE001 - an odd node still gets an id
        return type(node).__name__


def solution_cells(notebook_path: Path) -> list[tuple[int, str]]:
    """(index among code cells, source) of each code cell holding a solution region."""
    data = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    code = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in data["cells"] if c.get("cell_type") == "code"]
    return [(i, s) for i, s in enumerate(code) if BEGIN in s]


def mutants(notebook_path: Path) -> Iterator[Mutant]:
    """Every mutant of the notebook's solution regions, one change each."""
    seen: dict[str, int] = {}
    for cell, source in solution_cells(notebook_path):
        tree = ast.parse(source)
        finder = _Sites(_solution_lines(source))
        finder.visit(tree)
        for target, operator, build, function in finder.sites:
            copied, copied_target = _deepcopy_tree(tree, target)
            mutated = ast.fix_missing_locations(_Replace(copied_target, build).visit(copied))
            before, after = _text(target), _text(build(copy.deepcopy(target)))
            if before == after:
                continue
            key = f"{function} · {operator} · {before} → {after}"
            seen[key] = seen.get(key, 0) + 1
            mutant_id = key if seen[key] == 1 else f"{key} · #{seen[key]}"
            yield Mutant(mutant_id, function, operator, before, after, cell, ast.unparse(mutated))


def _deepcopy_tree(tree, target):
    """The tree, deep-copied, with ``target``'s copy marked so _Replace can find it."""
    memo: dict = {}
    copied = copy.deepcopy(tree, memo)
    return copied, memo[id(target)]


# grading a mutant -------------------------------------------------------------------

def _cases(lab, secrets) -> dict[str, list]:
    """Every case of every exercise under ``secrets``, each mistake's values computed (each forked child would
    otherwise compute them again for each mutant it judges)."""
    from autograder.hidden import settle
    from autograder.seeds import case_seed

    public = lab.public_cases()
    plan = {e.name: list(public.get(e.name, [])) for e in lab.exercises}
    for secret in secrets:
        hidden = lab.hidden_cases(case_seed(lab.id, secret))
        for name in plan:
            plan[name] += hidden.get(name, [])
    settle(case for cases in plan.values() for case in cases)
    return plan


def _namespace(cells: list[str], profiles: tuple[str, ...] = ("numpy",)) -> dict:
    """The definitions of ``cells`` whose profile is one of ``profiles``, made as the grader's child makes them.

    A NumPy child makes only the NumPy ones; a TensorFlow child makes every one.
    """
    from autograder.notebook import Notebook, extract_definitions
    from autograder.sandbox.child import _LazyFrom, _LazyModule

    chunks, _ = extract_definitions(Notebook(Path("mutant.ipynb"), tuple(cells), {}))
    namespace = {"__name__": "__main__", "__lazy_module__": _LazyModule, "__lazy_from__": _LazyFrom}
    for chunk in (c for c in chunks if c.profile in profiles):
        try:
            exec(compile(chunk.code, f"cell {chunk.cell}", "exec"), namespace)  # noqa: S102 - our own mutants
        except Exception:  # noqa: BLE001 - the grader skips a definition that fails, so do we
            continue
    return namespace


def _first_failure_in_process(lab, cells: list[str], plan: dict, first: str | None) -> str | None:
    """The first failing exercise's feedback (the mutated function's own exercise first), or None."""
    return _first_failing_exercise(lab, _namespace(cells), plan, first, "numpy")


def _first_failing_exercise(lab, namespace: dict, plan: dict, first: str | None, profile: str) -> str | None:
    """The feedback of the first of ``profile``'s exercises (``first`` first) that ``namespace`` fails, or None."""
    from autograder.calls import first_failure, run_case

    order = sorted((e for e in lab.exercises if e.profile == profile), key=lambda e: e.name != first)
    for exercise in order:
        fn = namespace.get(exercise.name)
        if fn is None:
            return f"{exercise.name}: not defined"
        cases = plan[exercise.name]
        feedback = first_failure(lab, exercise, cases, (run_case(fn, c, exercise.probe) for c in cases))
        if feedback is not None:
            return feedback
    return None


def _first_failure_sandboxed(lab, notebook_path: Path, cell: int, source: str, secrets) -> str | None:
    from autograder.grading import GradingOptions, grade_notebook

    data = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    code = [c for c in data["cells"] if c.get("cell_type") == "code"]
    code[cell]["source"] = source
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(notebook_path).name
        path.write_text(json.dumps(data), encoding="utf-8")
        for secret in secrets:
            result = grade_notebook(path, "mutant", GradingOptions(secret=secret), lab_hint=lab.id)
            failed = [e.feedback for e in result.exercises if not e.passed]
            if failed:
                return failed[0]
    return None


def _in_child(job, timeout: float) -> tuple[int, int, float]:
    """Starts ``job()`` in a forked child; returns its read end and pid for :func:`_collect`."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: grade, report, leave without running the parent's cleanup
        os.close(read_fd)
        try:
            os.setpgid(0, 0)
            import warnings

            import numpy as np

            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                feedback = job()
            result = ("survived", None) if feedback is None else ("killed", feedback)
        except BaseException as exc:  # noqa: BLE001 - a crash kills the mutant
            result = ("killed", f"crashed: {type(exc).__name__}")
        with os.fdopen(write_fd, "wb") as out:
            out.write(pickle.dumps(result))
        os._exit(0)
    os.close(write_fd)
    return read_fd, pid, time.monotonic() + timeout


def _run_all(jobs: list, parallel: int, timeout: float) -> list[tuple[str, str | None]]:
    """Runs each job in its own forked child, ``parallel`` at a time, each within ``timeout``."""
    results: list = [None] * len(jobs)
    running: dict[int, tuple[int, int, float, bytearray]] = {}  # fd → (index, pid, deadline, data)
    pending = list(enumerate(jobs))[::-1]
    while pending or running:
        while pending and len(running) < parallel:
            index, job = pending.pop()
            fd, pid, deadline = _in_child(job, timeout)
            running[fd] = (index, pid, deadline, bytearray())
        wait = max(0.0, min(d for _, _, d, _ in running.values()) - time.monotonic())
        ready, _, _ = select.select(list(running), [], [], wait)
        for fd in ready:
            index, pid, deadline, data = running[fd]
            chunk = os.read(fd, 1 << 16)
            if chunk:
                data.extend(chunk)
                continue
            os.close(fd)
            os.waitpid(pid, 0)
            del running[fd]
            try:
                results[index] = pickle.loads(bytes(data))
            except Exception:  # noqa: BLE001 - a child that died mid-write crashed
                results[index] = ("killed", "crashed")
        now = time.monotonic()
        for fd, (index, pid, deadline, _) in list(running.items()):
            if now >= deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                os.close(fd)
                del running[fd]
                results[index] = ("killed", "timed out")
    return results


# TensorFlow mutants: long-lived workers -------------------------------------------------

def _tensorflow_failure(lab, cells: list[str], plan: dict, first: str | None) -> str | None:
    """In a TensorFlow worker: the first failing TensorFlow exercise's feedback, or None.

    Every definition is made, as the grader's TensorFlow child makes them (NumPy and
    TensorFlow ones), in a fresh namespace; the mutated function's own exercise is judged first.
    """
    return _first_failing_exercise(lab, _namespace(cells, ("numpy", "tensorflow")), plan, first, "tensorflow")


def _frame(message) -> bytes:
    """``message`` as the workers' pipes carry it: its pickle's length (8 bytes, big-endian), then the pickle."""
    data = pickle.dumps(message)
    return struct.pack(">Q", len(data)) + data


def _send(stream, message) -> None:
    stream.write(_frame(message))
    stream.flush()


def _receive(stream):
    """The next message on ``stream`` (a blocking read), or None at its end."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    return pickle.loads(stream.read(struct.unpack(">Q", header)[0]))


class _KerasState:
    """What one mutant may leave behind in the worker and the next must not see, taken after the import."""

    def __init__(self):
        import random

        import numpy as np
        from keras.src.backend import config

        self.config = {k: v for k, v in vars(config).items()
                       if k.startswith("_") and not k.startswith("__") and isinstance(v, (str, int, float, type(None)))}
        self.random, self.numpy = random.getstate(), np.random.get_state()

    def reset(self) -> None:
        """Keras as a fresh process has it: no session, floatx float32, no dtype policy; unseeded random state."""
        import random

        import keras
        import numpy as np
        import tensorflow as tf
        from keras.src.backend import config

        keras.backend.clear_session()  # also forgets the cached dtype policy (mixed precision included)
        vars(config).update(self.config)  # floatx, epsilon, image data format, max epochs...
        tf.config.run_functions_eagerly(False)
        tf.random.set_seed(None)
        random.setstate(self.random)
        np.random.set_state(self.numpy)


def _judged(job) -> tuple[str, str | None]:
    """("survived", None) or ("killed", feedback) of ``job()``, whatever it raises."""
    import warnings

    import numpy as np

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            feedback = job()
    except BaseException as exc:  # noqa: BLE001 - a crash kills the mutant
        return "killed", f"crashed: {type(exc).__name__}"
    return ("survived", None) if feedback is None else ("killed", feedback)


def worker_main() -> None:
    """A TensorFlow worker's loop: started by :class:`_Worker`, its work comes on stdin, never returns.

    The setup message (lab, reference cells, planned cases) comes first; the worker imports
    TensorFlow as the grader's child does (two logical CPUs), grades the reference (a
    warm-up, and the check that it passes) and says how long that took; then it grades
    each ``(cells, first)`` it is sent and answers ``(fate, feedback)``. Its own stdout and
    stderr go nowhere: the messages use a descriptor of their own.
    """
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's lifetime
    stream = sys.stdin.buffer
    try:
        lab_id, reference, plan = _receive(stream)
        from autograder.sandbox.child import _import_tensorflow

        _import_tensorflow()
        lab = checks.load_lab(lab_id)
        state = _KerasState()
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which stops the audit
        _send(out, ("failed", f"{type(exc).__name__}: {exc}"[:500]))
        os._exit(3)
    started = time.monotonic()
    fate = _judged(lambda: _tensorflow_failure(lab, reference, plan, None))
    _send(out, ("ready", *fate, time.monotonic() - started))
    while (job := _receive(stream)) is not None:
        cells, first = job
        state.reset()
        _send(out, _judged(lambda cells=cells, first=first: _tensorflow_failure(lab, cells, plan, first)))
    os._exit(0)  # no interpreter teardown: TensorFlow's can take seconds


def _worker_environment() -> dict:
    """This process's environment with the grader's TensorFlow child's settings (one thread per pool, no GPU)."""
    from autograder.sandbox.isolation import child_env

    own = ("PATH", "HOME", "TMPDIR", "LANG", "MPLCONFIGDIR")
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, **{k: v for k, v in child_env("", "tensorflow").items() if k not in own},
            "PYTHONPATH": path}


class _Worker:
    """One TensorFlow worker process, seen from the parent: what it runs and until when."""

    def __init__(self, setup, environment: dict):
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", "from autograder.audit import worker_main; worker_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment,
            start_new_session=True)
        self.data = bytearray()
        self.job: int | None = None  # the index of the mutant it grades; None while it starts or waits
        self.ready = False
        self.deadline = time.monotonic() + WORKER_START_SECONDS
        self.process.stdin.write(_frame(setup))
        self.process.stdin.flush()

    def fileno(self) -> int:
        return self.process.stdout.fileno()

    def give(self, index: int, job, seconds: float) -> None:
        self.process.stdin.write(_frame(job))
        self.process.stdin.flush()
        self.job, self.deadline = index, time.monotonic() + seconds

    def messages(self) -> list | None:
        """The messages that have arrived in full (reads once; call when readable), or None at the end."""
        chunk = os.read(self.fileno(), 1 << 16)
        if not chunk:
            return None
        self.data.extend(chunk)
        found = []
        while len(self.data) >= 8 and len(self.data) >= 8 + (size := struct.unpack(">Q", self.data[:8])[0]):
            found.append(pickle.loads(bytes(self.data[8:8 + size])))
            del self.data[:8 + size]
        return found

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:  # a broken pipe's buffered bytes
                pass


def _run_tensorflow(lab_id: str, reference: list[str], plan: dict, jobs: list, parallel: int, timeout: float,
                    floor: float = TENSORFLOW_FLOOR_SECONDS) -> list[tuple[str, str | None]]:
    """Grades each ``(cells, first)`` job in TensorFlow workers, ``parallel`` of them, each job within its limit.

    The limit is ten times the reference's run in the first worker that is ready (at least
    ``floor``, at most ``timeout``). A job past its limit, or whose worker dies, is killed;
    its worker is replaced for the jobs left. Raises RuntimeError when a worker cannot start
    or the reference fails its TensorFlow checks.
    """
    setup, environment = (lab_id, reference, plan), _worker_environment()
    results: list = [None] * len(jobs)
    pending = list(range(len(jobs)))[::-1]
    workers = [_Worker(setup, environment) for _ in range(max(1, min(parallel, len(jobs))))]
    limit = None
    try:
        while pending or any(w.job is not None for w in workers):
            for worker in workers:
                if worker.ready and worker.job is None and pending:
                    index = pending.pop()
                    try:
                        worker.give(index, jobs[index], limit)
                    except BrokenPipeError:  # it died between jobs: not this job's fault
                        pending.append(index)
                        worker.deadline = time.monotonic()
            soonest = min(w.deadline for w in workers)
            wait = None if soonest == float("inf") else max(0.0, soonest - time.monotonic())
            readable, _, _ = select.select(workers, [], [], wait)
            for worker in readable:
                messages = worker.messages()
                if messages is None:  # the worker died
                    if worker.job is None and not worker.ready:
                        raise RuntimeError(f"a TensorFlow worker for {lab_id} exited while it started")
                    if worker.job is not None:
                        results[worker.job] = ("killed", "crashed")
                    worker.job, worker.deadline = None, time.monotonic()  # replaced below
                    continue
                for message in messages:
                    if message[0] == "failed":
                        raise RuntimeError(f"a TensorFlow worker for {lab_id} could not start: {message[1]}")
                    if message[0] == "ready":
                        _, fate, feedback, seconds = message
                        if fate != "survived":
                            raise RuntimeError(f"the reference solutions of {lab_id} fail their own checks: "
                                               f"{feedback}")
                        if limit is None:
                            limit = min(timeout, max(floor, 10 * seconds))
                        worker.ready, worker.deadline = True, float("inf")
                    else:
                        results[worker.job], worker.job, worker.deadline = message, None, float("inf")
            now = time.monotonic()
            for worker in [w for w in workers if w.deadline <= now]:
                if worker.job is None and not worker.ready and worker.process.poll() is None:
                    raise RuntimeError(f"a TensorFlow worker for {lab_id} did not start within "
                                       f"{WORKER_START_SECONDS:g} s")
                if worker.job is not None:
                    results[worker.job] = ("killed", "timed out")
                worker.stop()
                workers.remove(worker)
                if pending:
                    workers.append(_Worker(setup, environment))
    finally:
        for worker in workers:
            worker.stop()
    return results


def equivalent_mutants(lab_id: str) -> dict[str, str]:
    """The reviewed equivalent mutants of a lab: id → one-line reason."""
    lab = checks.load_lab(lab_id)
    return dict(getattr(importlib.import_module(lab.hidden_module), "EQUIVALENT_MUTANTS", {}))


def _tensorflow_names(lab, cells: list[str]) -> set[str]:
    """The Keras exercises and the definitions that need TensorFlow: their own tests audit them.

    Importing TensorFlow costs seconds; per mutant, minutes per lab. The NumPy exercises'
    mutants are graded as the grader's NumPy child grades them.
    """
    from autograder.notebook import Notebook, extract_definitions

    chunks, _ = extract_definitions(Notebook(Path("reference.ipynb"), tuple(cells), {}))
    names = {e.name for e in lab.exercises if e.profile == "tensorflow"}
    for chunk in chunks:
        if chunk.profile == "tensorflow":
            names |= {node.name for node in ast.parse(chunk.code).body
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names


def notebook_of(lab_id: str, root: Path | None = None) -> Path:
    from autograder.seeds import course_root

    return (root or course_root()) / "solutions" / lab_id / f"{lab_id}.ipynb"


def audits_tensorflow(lab_id: str) -> bool:
    """Whether the lab's hidden module asks for its TensorFlow exercises to be audited (``AUDIT_TENSORFLOW``)."""
    lab = checks.load_lab(lab_id)
    return bool(getattr(importlib.import_module(lab.hidden_module), "AUDIT_TENSORFLOW", False))


def audit_lab(lab_id: str, secrets=DEFAULT_SECRETS, *, sandbox: bool = False, parallel: int | None = None,
              timeout: float = MUTANT_SECONDS, notebook: Path | None = None, tensorflow: bool | None = None,
              tensorflow_timeout: float | None = None, only: Callable[[Mutant], bool] | None = None) -> LabAudit:
    """Grades every mutant of ``lab_id``'s solutions on its public and hidden cases under ``secrets``.

    Args:
        lab_id: the lab, e.g. ``"04_backpropagation"``.
        secrets: the course secrets whose hidden cases every mutant is graded on.
        sandbox: grade each mutant through the full sandboxed grader instead of in-process.
        parallel: how many mutants at a time (forked children, or TensorFlow workers). Defaults to the cores.
        timeout: the most a NumPy mutant may run (ten times the reference's run, at least 3 s, below that).
        notebook: the solution notebook to mutate. Defaults to ``solutions/LAB/LAB.ipynb``.
        tensorflow: audit the mutants of the TensorFlow exercises and definitions too, in TensorFlow workers.
            None (the default): when the lab's hidden module sets ``AUDIT_TENSORFLOW = True``.
        tensorflow_timeout: the most a TensorFlow mutant may run (ten times the reference's run in a warm
            worker, at least ``TENSORFLOW_FLOOR_SECONDS``, below that). Defaults to the sum of the
            TensorFlow exercises' time limits, what the grader would allow.
        only: grade only the mutants for which this is true (the reference is graded whole all the same).

    Returns:
        The audit: mutants, killed (with each one's first failing feedback), equivalent, survivors and their diffs.

    Raises:
        RuntimeError: the reference solutions fail their own checks, or a TensorFlow worker cannot start.
    """
    started = time.monotonic()
    lab = checks.load_lab(lab_id)
    path = notebook or notebook_of(lab_id)
    data = json.loads(path.read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
             for c in data["cells"] if c.get("cell_type") == "code"]
    plan = _cases(lab, secrets)  # drawn once, before forking: every child inherits them
    keras = _tensorflow_names(lab, cells)
    with_tensorflow = audits_tensorflow(lab_id) if tensorflow is None else tensorflow
    every = list(mutants(path))
    chosen = [m for m in every if only is None or only(m)]
    numpy_mutants = [m for m in chosen if m.function.split(".")[0] not in keras]
    tensorflow_mutants = [m for m in chosen if m.function.split(".")[0] in keras] if with_tensorflow else []
    names = {e.name for e in lab.exercises}

    def job_for(mutant: Mutant):
        if sandbox:
            return lambda: _first_failure_sandboxed(lab, path, mutant.cell, mutant.source, secrets)
        mutated = cells[:mutant.cell] + [mutant.source] + cells[mutant.cell + 1:]
        first = mutant.function.split(".")[0]
        return lambda: _first_failure_in_process(lab, mutated, plan, first if first in names else None)

    reference = job_for(Mutant("reference", "", "", "", "", 0, cells[0])) if sandbox else (
        lambda: _first_failure_in_process(lab, cells, plan, None))
    timed = time.monotonic()
    (fate, feedback), = _run_all([reference], 1, timeout * (4 if sandbox else 1))
    if fate != "survived":
        raise RuntimeError(f"the reference solutions of {lab_id} fail their own checks: {feedback}")
    # A mutant that runs far longer than the reference loops forever (the grader would time it out).
    limit = min(timeout * (4 if sandbox else 1), max(3.0, 10 * (time.monotonic() - timed)))
    workers = parallel or os.cpu_count() or 1
    forked = numpy_mutants + tensorflow_mutants if sandbox else numpy_mutants  # the sandbox's own children
    outcomes = _run_all([job_for(m) for m in forked], workers, limit)
    if tensorflow_mutants and not sandbox:
        plan_tf = {e.name: plan[e.name] for e in lab.exercises if e.profile == "tensorflow"}
        jobs = []
        for mutant in tensorflow_mutants:
            first = mutant.function.split(".")[0]
            jobs.append((cells[:mutant.cell] + [mutant.source] + cells[mutant.cell + 1:],
                         first if first in names else None))
        cap = tensorflow_timeout or sum(e.time_limit for e in lab.exercises if e.profile == "tensorflow")
        outcomes += _run_tensorflow(lab_id, cells, plan_tf, jobs, workers, cap)
    audited = numpy_mutants + tensorflow_mutants
    recorded = {key: why for key, why in equivalent_mutants(lab_id).items()
                if with_tensorflow or key.split(" · ")[0].split(".")[0] not in keras}
    report = LabAudit(lab_id, mutants=len(audited), tensorflow=len(tensorflow_mutants))
    originals = {cell: ast.unparse(ast.parse(source)) for cell, source in solution_cells(path)}
    for mutant, (fate, feedback) in zip(audited, outcomes):
        if fate == "killed":
            report.killed += 1
            report.killed_by[mutant.id] = feedback or ""
            if mutant.id in recorded:
                report.stale.append(mutant.id)
        elif mutant.id in recorded:
            report.equivalent[mutant.id] = recorded[mutant.id]
        else:
            report.survivors.append((mutant, mutant.diff(originals[mutant.cell])))
    ids = {m.id for m in every}
    report.stale += [key for key in recorded if key not in ids]
    profiles = {"numpy", "tensorflow"} if with_tensorflow else {"numpy"}
    report.unreached = unreached_causes(lab, report.killed_by.values(),
                                        {e.name for e in lab.exercises if e.profile in profiles})
    report.seconds = time.monotonic() - started
    return report
