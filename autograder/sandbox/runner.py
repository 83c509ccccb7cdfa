"""The trusted side of the sandbox: starts the student process and collects its outcomes.

One child process runs a submission's definitions and then its exercises, one after
another, reporting each case's outcome as a JSON line. The child learns an exercise's
inputs only when the grading process hands it that exercise, after the previous one is
done, and only events about the exercise in hand are accepted: student code that writes
fake result lines can only claim values for the exercise it is running, which it could
have returned anyway, never for another one whose inputs it has not seen.

Each exercise has its own time limit: when the child overruns it, dies, or is killed for
memory, that exercise's missing cases are recorded as failures and a fresh child carries
on with the next exercise, so one endless loop costs one exercise, not the notebook. A
definition that kills its process (``os._exit`` at the top level of a cell) is skipped
with a note, and a fresh child defines the rest.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import encoding
from autograder.sandbox import bwrap, guard, isolation, zygote
from autograder.sandbox import limits as limits_module
from autograder.sandbox.isolation import Limits

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
MAX_LINE = 8 * 1024**2
MAX_TOTAL = 64 * 1024**2
START_SECONDS = 20.0
MAX_DEFINITION_CRASHES = 3
MAX_SLOW_STARTS = 2
IMPORT_SECONDS = 60.0  # a TensorFlow child imports TensorFlow before it reads its submission
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
        """What the child is told when the exercise starts: never a case's inputs, which come one at a time."""
        return {"exercise": self.exercise, "function": self.function, "count": len(self.cases),
                "seconds": self.seconds, "probe": self.probe}


@dataclass
class RunReport:
    """What came back: raw outcomes per exercise and notes for the student."""

    outcomes: dict[str, list[dict | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


class _Child:
    """One student process, the pipe it reads its work from and the pipe it reports on.

    In ``"sandbox"`` mode the process is a fresh interpreter inside bubblewrap
    (:mod:`autograder.sandbox.bwrap`); otherwise a fresh interpreter in its own session,
    as a user of its own in ``"own-user"`` mode.
    """

    def __init__(self, hidden: list[str], readable: list[str], mode: str, profile: str = "numpy",
                 zygote_allowed: bool = True):
        self.eof = False
        self.closed = False
        self.profile = profile
        self.process = self.zygote = self.lifeline = self.scratch = self.cgroup = self.pid = None
        inside = bwrap.SCRATCH if mode == "sandbox" else None
        read_fd, write_fd = os.pipe()
        self.key = (tuple(hidden), tuple(readable), mode, profile)
        try:
            if mode == "sandbox" and zygote_allowed:
                job_read, job_write = os.pipe()
                try:
                    forked = zygote.fork(hidden, readable, job_read, write_fd, profile)
                finally:
                    os.close(job_read)
                if forked is None:
                    os.close(job_write)
                else:
                    (self.zygote, self.lifeline), self.job_fd = forked, job_write
            if self.zygote is None:
                self.scratch = tempfile.mkdtemp(prefix=guard.SCRATCH_PREFIX)
                inside = inside or self.scratch
                argv = [sys.executable, "-I", "-c", _BOOT.format(root=PACKAGE_PARENT)]
                streams = {"stdin": subprocess.PIPE, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
                           "env": isolation.child_env(inside, profile), "pass_fds": (write_fd,)}
                if mode == "sandbox":
                    self.process = bwrap.popen(argv, readable=readable, hidden=hidden, scratch=self.scratch,
                                               **streams)
                else:
                    self.process = subprocess.Popen(argv, cwd="/", **streams, preexec_fn=isolation.preexec(
                        self.scratch, mode == "own-user", profile))
                self.job_fd = os.dup(self.process.stdin.fileno())
                self.process.stdin.close()
        finally:
            os.close(write_fd)
        self.fixed = {"hidden_paths": hidden, "visible_paths": readable, "scratch": inside,
                      "results_fd": write_fd, "mode": mode}
        try:  # room for a whole header: the child reads it only once its imports are done
            fcntl.fcntl(self.job_fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except OSError:
            pass
        os.set_blocking(self.job_fd, False)
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.buffer = b""
        self.received = 0
        self.ready = self.send(self.fixed, time.monotonic() + START_SECONDS)  # a few hundred bytes: never waits

    def begin(self, header: dict) -> bool:
        """Hands the child its submission: the definitions, the limits and where it may write.

        The child has only imported the grader's own modules (and, in the TensorFlow profile,
        TensorFlow) until it reads this; nothing of any submission has reached it before.
        """
        starting = IMPORT_SECONDS if self.profile == "tensorflow" else 0.0  # it may still be importing
        deadline = time.monotonic() + START_SECONDS + starting
        if self.zygote is not None and self.ready:  # into its cgroup before its submission reaches it
            pid = self.pid = zygote.child_pid(self.lifeline, deadline)
            if pid is None:
                return False
            self.cgroup = limits_module.child_cgroup(Limits(**header.get("limits", {})))
            if self.cgroup is not None:
                try:
                    self.cgroup.add(pid)
                except OSError:  # as a fresh child that cannot join its cgroup: its own limits still hold
                    pass
        return self.ready and self.send(header, deadline)

    def send(self, message: dict, deadline: float) -> bool:
        """Writes one JSON line to the child; False if it cannot take it before ``deadline``."""
        view = memoryview((json.dumps(message) + "\n").encode())
        while view:
            remaining = deadline - time.monotonic()
            if self.job_fd < 0 or remaining <= 0:
                return False
            _, ready, _ = select.select([], [self.job_fd], [], remaining)
            if not ready:
                return False
            try:
                view = view[os.write(self.job_fd, view):]
            except BlockingIOError:
                continue
            except OSError:  # the child is gone
                return False
        return True

    def end_of_work(self) -> None:
        if self.job_fd >= 0:
            os.close(self.job_fd)
            self.job_fd = -1

    def next_event(self, deadline: float) -> dict | None:
        """The next well-formed event, or None at end of stream or past the deadline."""
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line, self.buffer = self.buffer[:newline], self.buffer[newline + 1:]
                try:  # bounded: a line of 8 MiB must not cost the grading process hundreds of MB
                    event = encoding.parse_json(line)
                except ValueError:
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
        if self.closed:  # its pid may already belong to another process
            return
        self.closed = True
        if self.zygote is not None:  # its waiting parent exits, and the kernel empties the child's PID namespace
            self.lifeline.close()
            self.zygote.release()
            self.end_of_work()
            ends = time.monotonic() + 5.0
            while not self.eof and time.monotonic() < ends:  # gone once nothing holds the results pipe
                ready, _, _ = select.select([self.reader], [], [], max(ends - time.monotonic(), 0))
                self.eof = not ready or not self.reader.read(1 << 16)
            self.reader.close()
            if self.cgroup is not None:
                self.cgroup.remove()
            return
        try:  # its own session: bubblewrap, and through --die-with-parent everything inside
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.end_of_work()
        self.reader.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def budget(tasks: list[Task], define_seconds: float) -> float:
    """The whole submission's time, enforced from outside: definitions, every exercise, restarts included."""
    return START_SECONDS + define_seconds + sum(task.seconds for task in tasks)


def readable_paths(visible_paths: list[str] = ()) -> list[str]:
    """What a child may read: ``visible_paths``, Python and this package."""
    return list(visible_paths) + isolation.interpreter_paths()


def spawn(*, hidden_paths: list[str], visible_paths: list[str] = (), mode: str = "sandbox",
          profile: str = "numpy") -> _Child:
    """Starts a child before its submission is known, to be handed to :func:`run` as ``first``.

    A TensorFlow child imports TensorFlow as it starts (seconds of CPU): spawned while the
    NumPy child of the same submission runs, that import overlaps with it. The child is
    fresh and serves exactly one submission; it has seen no student code when ``run`` hands
    it one. Close it with ``child.close()`` if it is not used.
    """
    return _Child(list(hidden_paths), readable_paths(visible_paths), mode, profile)


def run(chunks: list[dict], tasks: list[Task], *, hidden_paths: list[str], visible_paths: list[str] = (),
        limits: Limits | None = None, define_seconds: float = 10.0, mode: str = "sandbox",
        seconds: float | None = None, profile: str = "numpy", first: _Child | None = None) -> RunReport:
    """Runs ``tasks`` against a submission's definitions (``chunks``) in isolated processes.

    ``mode`` is one of :data:`autograder.sandbox.isolation.MODES`. In the sandbox the
    child reads only Python, this package and ``visible_paths``; ``hidden_paths`` inside
    those are covered (and refused by the audit hook in every mode). ``seconds`` is the
    submission's time budget (default :func:`budget`): when it runs out, every exercise
    not yet done fails with a message, whatever the student's code does with its timers.
    ``profile`` ``"tensorflow"`` gives the child the threads and memory TensorFlow needs
    and defines the definitions that need it (:class:`autograder.notebook.Chunk`); it is
    isolated exactly like a NumPy child. ``first``, from :func:`spawn` with the same paths,
    mode and profile, is used as the first child (and closed by this call).

    A child in the sandbox is forked from the grading run's zygote of its profile where one
    can run (:mod:`autograder.sandbox.zygote`), and started fresh otherwise. When a child forked
    from the TensorFlow zygote times out, crashes or loses a result, the whole run is done
    again in fresh children and that report is the one returned: a fault of the fast path (a
    hang of TensorFlow, which is not documented as fork-safe) can never cost a student points,
    and the report is the one a fresh child gives. The NumPy zygote is single-threaded: its
    children's reports are the ones fresh children give, and a student's endless loop is not
    run twice.
    """
    kwargs = {"hidden_paths": hidden_paths, "visible_paths": visible_paths, "limits": limits,
              "define_seconds": define_seconds, "mode": mode, "seconds": seconds, "profile": profile}
    report, forked = _run(chunks, tasks, **kwargs, first=first, zygote_allowed=True)
    if forked and profile == "tensorflow" and _anomalous(report):
        zygote.stats["reruns"] += 1
        report, _ = _run(chunks, tasks, **kwargs, first=None, zygote_allowed=False)
    return report


_RUN_NOTES = ("stopped the process running your code", "did not finish loading")


def _anomalous(report: RunReport) -> bool:
    """Whether a run ended anything abnormally: a time-out, a crash, a missing result."""
    errors = {(outcome.get("error") or {}).get("type") if isinstance(outcome, dict) else None
              for outcomes in report.outcomes.values() for outcome in outcomes}
    return bool(errors & {"Timeout", "Crash", "Missing"}) or any(
        marker in note for note in report.notes for marker in _RUN_NOTES)


def _run(chunks: list[dict], tasks: list[Task], *, hidden_paths, visible_paths, limits, define_seconds, mode,
         seconds, profile, first, zygote_allowed: bool) -> tuple[RunReport, bool]:
    """:func:`run`, and whether a child of the zygote served it."""
    limits = limits or isolation.limits_for(profile)
    readable = readable_paths(visible_paths)
    if first is not None and first.key != (tuple(hidden_paths), tuple(readable), mode, profile):
        first.close()
        raise ValueError("the spawned child was started for other paths, another mode or another profile")
    ends = time.monotonic() + (budget(tasks, define_seconds) if seconds is None else seconds)
    report = RunReport()
    report.outcomes = {t.exercise: [None] * len(t.cases) for t in tasks}
    pending, skipped, defined_once, slow_starts, forked = list(tasks), [], False, 0, False
    while pending:
        if time.monotonic() >= ends:
            for task in pending:
                _fill(report, task, _error("Timeout", "not run: this submission used up its time budget "
                                           f"({budget(tasks, define_seconds):g} s) before this exercise"))
            break
        header = {"chunks": chunks, "skip": skipped, "define_seconds": define_seconds,
                  "limits": dataclasses.asdict(limits), "profile": profile}
        child, first = (first, None) if first is not None else (_Child(list(hidden_paths), readable, mode, profile,
                                                                       zygote_allowed), None)
        forked = forked or child.zygote is not None
        before = len(pending)
        try:
            if child.begin(header):
                pending, defined, crashed_in = _session(child, pending, report, define_seconds, defined_once, ends)
            else:
                defined, crashed_in = False, None
        finally:
            child.close()
        if not defined and crashed_in is None and slow_starts < MAX_SLOW_STARTS and time.monotonic() < ends:
            # no student code ran and the budget is not spent: the machine was too slow to start the
            # child (or it died starting), which is not the submission's fault; a fresh child tries again
            slow_starts += 1
            zygote_allowed = zygote_allowed and child.zygote is None  # a zygote's child failed: a fresh one
            continue
        if not defined:
            if time.monotonic() >= ends:
                continue
            if crashed_in is not None and crashed_in not in skipped and len(skipped) < MAX_DEFINITION_CRASHES:
                skipped.append(crashed_in)
                chunk = chunks[crashed_in]
                report.notes.append(f"cell {chunk['cell']}, line {chunk['line']}: stopped the process running your "
                                    "code while it was being defined (os._exit, an endless loop or a crash); skipped")
                continue
            message = ("your notebook's definitions did not finish loading (an endless loop or a crash at the top "
                       "level of a cell?)")
            report.notes.append(message)
            for task in pending:
                _fill(report, task, _error("Crash", message))
            break
        if len(pending) == before:
            for task in pending:
                _fill(report, task, _error("Crash", "the process running your code ended before this exercise"))
            break
        defined_once = True
    if first is not None:  # never handed a submission: no task, or no time left
        first.close()
    return report, forked


def _fill(report: RunReport, task: Task, outcome: dict) -> None:
    slots = report.outcomes[task.exercise]
    for i, value in enumerate(slots):
        if value is None:
            slots[i] = outcome


def _session(child: _Child, pending: list[Task], report: RunReport, define_seconds: float,
             defined_once: bool, ends: float) -> tuple[list[Task], bool, int | None]:
    """Drives one child: definitions, then one exercise at a time.

    Returns the tasks still to run, whether the definitions loaded and, if they did not,
    the chunk being defined when the child stopped.
    """
    deadline, crashed_in = min(time.monotonic() + START_SECONDS + define_seconds, ends), None
    while True:
        event = child.next_event(deadline)
        if event is None:
            return pending, False, crashed_in
        if event.get("event") == "failed" and crashed_in is None:
            raise RuntimeError(f"the sandbox could not start: {str(event.get('message'))[:300]}")
        if event.get("event") == "chunk" and isinstance(event.get("index"), int):
            crashed_in = event["index"]
        if event.get("event") == "defined":
            break
    notes = event.get("notes")
    if not defined_once and isinstance(notes, list):
        report.notes.extend(str(note)[:300] for note in notes[:20])
    remaining = list(pending)
    for task in pending:
        deadline = min(time.monotonic() + task.seconds + 2.0, ends)
        token = secrets.token_hex(8)
        if not child.send({**task.to_json(), "token": token}, deadline):
            return remaining, True, None
        finished = _collect_exercise(child, task, token, report, deadline)
        if not finished:
            overran = time.monotonic() >= deadline
            message = ("this submission used up its time budget during this exercise" if time.monotonic() >= ends
                       else f"did not finish within its time limit ({task.seconds:g} s for all {len(task.cases)} "
                       f"cases of {task.exercise} together); this case was running: an endless loop?" if overran
                       else "the process running your code ended abruptly (os._exit, a crash, "
                       "or running out of memory)")
            _fill(report, task, _error("Timeout" if overran else "Crash", message))
            remaining.remove(task)
            return remaining, True, None
        remaining.remove(task)
    child.end_of_work()
    return remaining, True, None


def _collect_exercise(child: _Child, task: Task, token: str, report: RunReport, deadline: float) -> bool:
    """Reads ``task``'s events until its "done"; False if the child stopped or overran first.

    Events count only after the child's "start" echoes ``token``, drawn when the task was
    sent: lines that student code wrote in advance for this exercise are ignored. The child
    gets one case's inputs at a time, the next only once this one's outcome is back, so
    student code never holds the inputs of a case it has not been asked (a hidden one
    among them) and can claim an outcome only for the case in hand.
    """
    slots = report.outcomes[task.exercise]
    started, in_hand = False, -1
    while True:
        event = child.next_event(deadline)
        if event is None:
            return False
        if event.get("exercise") != task.exercise:
            continue  # only the exercise in hand: nothing can be claimed for another
        kind = event.get("event")
        if kind == "start" and event.get("token") == token and not started:
            started = True
        elif not started:
            continue
        elif kind == "case" and event.get("index") == in_hand and slots[in_hand] is None:
            slots[in_hand] = event.get("outcome")
        elif kind == "done":
            _fill(report, task, _error("Missing", "no result came back for this case"))
            return True
        else:
            continue
        if in_hand + 1 < len(task.cases) and (in_hand < 0 or slots[in_hand] is not None):
            in_hand += 1
            if not child.send(task.cases[in_hand], deadline):
                return False
        elif kind == "done":
            _fill(report, task, _error("Missing", "no result came back for this case"))
            return True
