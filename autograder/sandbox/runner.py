"""The trusted side of the sandbox: starts the student process and collects its outcomes.

One child process runs a submission's definitions and then its exercises, one after
another, reporting each case's outcome as a JSON line. Each exercise has its own time
limit: when the child overruns it, dies, or is killed for memory, that exercise's
missing cases are recorded as failures and a fresh child carries on with the next
exercise, so one endless loop costs one exercise, not the notebook.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import guard, isolation, worker
from autograder.sandbox.isolation import Limits

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
MAX_LINE = 8 * 1024**2
MAX_TOTAL = 64 * 1024**2
START_SECONDS = 20.0
_BOOT = ("import sys; sys.path.insert(0, {root!r}); "
         "from autograder.sandbox.child import main; main()")


@dataclass(frozen=True)
class Task:
    """One exercise to run: the function to call and its cases' inputs (never their answers)."""

    exercise: str
    function: str
    cases: tuple[dict, ...]
    seconds: float = 5.0
    probe: str | None = None

    def to_json(self) -> dict:
        return {"exercise": self.exercise, "function": self.function, "cases": list(self.cases),
                "seconds": self.seconds, "probe": self.probe}


@dataclass
class RunReport:
    """What came back: raw outcomes per exercise and notes for the student."""

    outcomes: dict[str, list[dict | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


def _child_env(scratch: str) -> dict:
    return {
        "PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": scratch, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
    }


_workers: dict[str, worker.Worker] = {}
_workers_lock = threading.Lock()


def _warm_worker() -> worker.Worker | None:
    """This process's warm worker, started on first use (None where it cannot start)."""
    with _workers_lock:
        current = _workers.get("worker")
        if current is not None and current.alive():
            return current
        if current is not None:
            current.close()
        try:
            _workers["worker"] = worker.Worker(_child_env("/nonexistent"), PACKAGE_PARENT)
        except OSError:
            return None
        if current is None:
            atexit.register(_stop_workers)
        return _workers["worker"]


def _stop_workers() -> None:
    with _workers_lock:
        for current in _workers.values():
            current.close()
        _workers.clear()


class _Child:
    """One student process and the pipe it reports on.

    With ``warm`` the process is forked by the warm worker; otherwise (or if the worker
    is unavailable) it is a freshly started interpreter. Both isolate themselves the same
    way before reading their job.
    """

    def __init__(self, job: dict, hidden: list[str], limits: Limits, namespaces: bool, warm: bool = True):
        self.scratch = tempfile.mkdtemp(prefix=guard.SCRATCH_PREFIX)
        self.process, self.pid, self.eof = None, None, False
        read_fd, write_fd = os.pipe()
        exposed = _exposed() if namespaces else []
        pool = _warm_worker() if warm else None
        if pool is not None:
            job_read, job_write = os.pipe()
            request = {"scratch": self.scratch, "hidden_paths": hidden, "namespaces": namespaces,
                       "exposed": exposed, "limits": dataclasses.asdict(limits)}
            try:
                self.pid = pool.spawn(request, write_fd, job_read)
            except OSError:
                pool = None
                os.close(job_write)
            finally:
                os.close(job_read)
        if pool is None:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT.format(root=PACKAGE_PARENT)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd=self.scratch, env=_child_env(self.scratch), pass_fds=(write_fd,),
                preexec_fn=isolation.preexec(hidden, self.scratch, limits, namespaces, exposed),
            )
            self.pid = self.process.pid
            job = {**job, "results_fd": write_fd}
            job_stream = self.process.stdin
        else:
            job_stream = os.fdopen(job_write, "wb")
        os.close(write_fd)
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.buffer = b""
        self.received = 0
        try:
            job_stream.write(json.dumps({**job, "scratch": self.scratch}).encode())
            job_stream.close()
        except BrokenPipeError:
            pass

    def next_event(self, deadline: float) -> dict | None:
        """The next well-formed event, or None at end of stream or past the deadline."""
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line, self.buffer = self.buffer[:newline], self.buffer[newline + 1:]
                try:
                    event = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if isinstance(event, dict):
                    return event
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(self.buffer) > MAX_LINE or self.received > MAX_TOTAL:
                return None
            ready, _, _ = select.select([self.reader], [], [], remaining)
            if not ready:
                return None
            chunk = self.reader.read(1 << 16)
            if not chunk:
                self.eof = True
                return None
            self.received += len(chunk)
            self.buffer += chunk

    def close(self) -> None:
        # Kill only a process known to be alive (its results pipe still open): a warm child is
        # reaped by the kernel as soon as it exits, and its pid may then belong to another.
        if not self.eof or self.process is not None:
            try:
                os.killpg(self.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
        if self.process is not None:
            self.process.wait()
        self.reader.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


@functools.cache
def _exposed() -> list[tuple[str, str]]:
    return isolation.blocked_ancestors(isolation.interpreter_paths())


def run(chunks: list[dict], tasks: list[Task], *, hidden_paths: list[str], limits: Limits | None = None,
        define_seconds: float = 10.0, warm: bool = True) -> RunReport:
    """Runs ``tasks`` against a submission's definitions (``chunks``) in sandboxed processes.

    With ``warm`` (the default) the processes are forked from this process's warm worker.
    """
    limits = limits or Limits()
    namespaces = isolation.namespaces_available()
    report = RunReport()
    report.outcomes = {t.exercise: [None] * len(t.cases) for t in tasks}
    pending = list(tasks)
    defined_once = False
    while pending:
        job = {"chunks": chunks, "tasks": [t.to_json() for t in pending], "hidden_paths": hidden_paths,
               "define_seconds": define_seconds}
        child = _Child(job, hidden_paths, limits, namespaces, warm)
        before = len(pending)
        try:
            pending, defined = _collect(child, pending, report, define_seconds, defined_once)
        finally:
            child.close()
        if defined and len(pending) == before:
            for task in pending:
                _fill(report, task, _error("Crash", "the process running your code ended before this exercise"))
            break
        if not defined:
            message = ("your notebook's definitions did not finish loading (an endless loop or a crash at the top "
                       "level of a cell?)")
            report.notes.append(message)
            for task in pending:
                _fill(report, task, _error("Crash", message))
            break
        defined_once = True
    return report


def _fill(report: RunReport, task: Task, outcome: dict) -> None:
    slots = report.outcomes[task.exercise]
    for i, value in enumerate(slots):
        if value is None:
            slots[i] = outcome


def _collect(child: _Child, pending: list[Task], report: RunReport, define_seconds: float,
             defined_once: bool) -> tuple[list[Task], bool]:
    """Reads one child's events; returns the tasks still to run and whether definitions loaded."""
    event = child.next_event(time.monotonic() + START_SECONDS + define_seconds)
    if event and event.get("event") == "failed":
        raise RuntimeError(f"the sandbox could not start: {str(event.get('message'))[:300]}")
    if not event or event.get("event") != "defined":
        return pending, False
    notes = event.get("notes")
    if not defined_once and isinstance(notes, list):
        report.notes.extend(str(note)[:300] for note in notes[:20])
    by_name = {t.exercise: t for t in pending}
    current, deadline = None, time.monotonic() + START_SECONDS
    while True:
        event = child.next_event(deadline)
        if event is None:
            break
        kind = event.get("event")
        if kind == "start" and event.get("exercise") in by_name:
            current = by_name[event["exercise"]]
            deadline = time.monotonic() + current.seconds + 2.0
        elif kind == "case" and current is not None and event.get("exercise") == current.exercise:
            index = event.get("index")
            slots = report.outcomes[current.exercise]
            if isinstance(index, int) and 0 <= index < len(slots) and slots[index] is None:
                slots[index] = event.get("outcome")
        elif kind == "done" and current is not None and event.get("exercise") == current.exercise:
            pending = [t for t in pending if t.exercise != current.exercise]
            _fill(report, current, _error("Missing", "no result came back for this case"))
            current, deadline = None, time.monotonic() + START_SECONDS
        elif kind == "finished":
            break
    if current is not None:
        overran = time.monotonic() >= deadline
        message = (f"did not finish within its time limit ({current.seconds:g} s for the exercise): an endless loop?"
                   if overran else "the process running your code ended abruptly (os._exit, a crash, or "
                   "running out of memory)")
        _fill(report, current, _error("Timeout" if overran else "Crash", message))
        pending = [t for t in pending if t.exercise != current.exercise]
    return pending, True
