"""The untrusted side: runs a student's definitions and calls their functions on case inputs.

Started by :mod:`autograder.sandbox.runner` in a separate process, inside the sandbox. It
reads a header (the definitions and its limits) and then one exercise at a time, each a
JSON line, and writes one JSON line per event to the results descriptor: which definition
starts, which exercise starts, each case's outcome, which exercise is done. It never sees
expected values, and it decides nothing: the grading process judges what it reports.
Before it runs any student code it switches to its sandbox user (when started as root)
and sets its resource limits.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time

_restore = None


class _Timeout(BaseException):
    """Raised in student code when an exercise runs past its time limit."""


class _Discard(io.TextIOBase):
    """Where the student's prints go: counted, never stored."""

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        return len(text)


class _LazyModule:
    """Stands for a heavy module until first use: ``plt.plot`` imports matplotlib then."""

    def __init__(self, name: str, load: str):
        self._name, self._load = name, load

    def _resolve(self):
        import importlib

        importlib.import_module(self._load)
        return importlib.import_module(self._name)

    def __getattr__(self, attr):
        return getattr(self._resolve(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


class _LazyFrom(_LazyModule):
    """Stands for ``from module import attr`` until first use."""

    def _resolve(self):
        import importlib

        module = importlib.import_module(self._name)
        try:
            return getattr(module, self._load)
        except AttributeError:
            return importlib.import_module(f"{self._name}.{self._load}")

    def __call__(self, *args, **kwargs):
        return self._resolve()(*args, **kwargs)


def _on_alarm(signum, frame):
    raise _Timeout()


class _Channel:
    """The results descriptor, written one JSON line at a time."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, **event) -> None:
        data = (json.dumps(event, allow_nan=False, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


def _define(chunks: list[dict], skip: list[int], namespace: dict, channel: _Channel,
            profile: str = "numpy") -> list[str]:
    """Executes each definition; a failing one is reported and skipped.

    Before each, the grading process is told which one starts: if one kills the process,
    the next process skips it. A NumPy child leaves out the definitions that need
    TensorFlow as they are defined: the TensorFlow child defines those.
    """
    notes = []
    for index, chunk in enumerate(chunks):
        if index in skip or (chunk.get("profile") == "tensorflow" and profile != "tensorflow"):
            continue
        channel.send(event="chunk", index=index)
        filename = f"cell {chunk['cell']}"
        try:
            code = compile("\n" * (chunk["line"] - 1) + chunk["code"], filename, "exec", dont_inherit=True)
            exec(code, namespace)  # noqa: S102 - this process exists to run student code
        except _Timeout:
            notes.append(f"{filename}, line {chunk['line']}: took too long to define; skipped")
        except BaseException as exc:  # noqa: BLE001 - SystemExit and friends included
            notes.append(f"{filename}, line {chunk['line']}: {type(exc).__name__}: {str(exc)[:200]}; skipped")
    return notes


def _timeout(seconds: float) -> dict:
    return {"error": {"type": "Timeout",
                      "message": f"did not finish within its time limit ({seconds:g} s for all the exercise's "
                      "cases together); this case was running: an endless loop?"}}


class _Restorer:
    """Puts back what student code changed in ``builtins`` and ``numpy``, which the grader's own code uses.

    A submission that patches ``isinstance`` or ``np.asarray`` may break its own answers,
    but not the reporting of its other exercises.
    """

    def __init__(self):
        import builtins

        import numpy

        self.saved = [(vars(module), dict(vars(module))) for module in (builtins, numpy)]

    def __call__(self) -> None:
        for namespace, saved in self.saved:
            for key, value in saved.items():
                if namespace.get(key, _MISSING) is not value:
                    namespace[key] = value


_MISSING = object()


def _call(run_case, case, fn, probe, seconds: float, budget: float, settle) -> dict:
    signal.setitimer(signal.ITIMER_REAL, max(budget, 0.001))
    try:
        return run_case(fn, case, probe, settle)
    except _Timeout:
        return _timeout(seconds)
    except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt, ...
        return {"error": {"type": type(exc).__name__,
                          "message": "your code tried to stop the grader" if isinstance(exc, SystemExit)
                          else str(exc)[:300]}}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run_exercise(channel: _Channel, namespace: dict, task: dict, stream, case_from_json, run_case) -> None:
    """Runs one exercise: its cases arrive on ``stream`` one at a time, each after the previous outcome."""
    name, function = task["exercise"], task["function"]
    channel.send(event="start", exercise=name, token=task.get("token"))
    fn = namespace.get(function)
    ends = time.monotonic() + task["seconds"]
    for index in range(int(task["count"])):
        line = stream.readline()
        if not line:
            break
        raw = json.loads(line)
        if not callable(fn):
            outcome = {"error": {"type": "MissingDefinition",
                                 "message": f"`{function}` is not defined: did you rename it, or delete or "
                                 "break the cell that defines it?"}}
        elif time.monotonic() >= ends:
            outcome = _timeout(task["seconds"])
        else:
            outcome = _call(run_case, case_from_json(raw), fn, task.get("probe"), task["seconds"],
                            ends - time.monotonic(), _restore)
        try:
            channel.send(event="case", exercise=name, index=index, outcome=outcome)
        except (TypeError, ValueError):
            channel.send(event="case", exercise=name, index=index,
                         outcome={"error": {"type": "BadValue", "message": "returned a value that cannot be read"}})
    channel.send(event="done", exercise=name)


def _import_tensorflow() -> None:
    """Imports Keras and TensorFlow, as a notebook's Keras section would, without scikit-learn and JAX.

    The CPU is split in two logical devices (``autograder.tensorflow_start.split_cpu``), so that
    an exercise run under ``tf.distribute.MirroredStrategy`` has two replicas, as on two GPUs.

    ``import keras`` imports scikit-learn for its wrappers when it is installed, and ``import
    tensorflow`` imports JAX for TensorFlow Lite's converter: together a third of its start-up,
    for classes and a converter no lab uses (both imports expect an ImportError where the
    package is missing). They are kept out during the import only; student code that imports
    them afterwards gets them as usual.
    """
    blocked = [name for name in ("sklearn", "jax") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # ``import sklearn`` raises ImportError, which Keras expects
    try:
        import keras  # noqa: F401 - imported before student code, as the Keras section would
        import tensorflow  # noqa: F401

        from autograder.tensorflow_start import split_cpu

        split_cpu()  # two logical CPUs, for MirroredStrategy: lab 14's notebook has them too
    except Exception:  # noqa: BLE001 - the student's own import will report it
        pass
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def prepare():
    """Imports what every job needs, before any student code (and before the limits apply).

    A TensorFlow child also imports TensorFlow before it reads its submission (in
    :func:`run_job`, once it runs as its own user), so that it can be started while the
    submission's NumPy child runs (:func:`autograder.sandbox.runner.spawn`).
    """
    import numpy  # noqa: F401 - imported before student code, as a notebook would have it

    from autograder import calls, functions, probes  # noqa: F401
    from autograder.checks.core import Case
    from autograder.sandbox import guard  # noqa: F401

    def case_from_json(raw):
        return Case.from_json({"label": "", "expected": None, "wrong": {"$dict": []}, **raw})

    return case_from_json


def run_job(stream, results_fd: int | None, case_from_json) -> None:
    """Runs one submission: its setup, its header, then one exercise per line of ``stream``; never returns.

    The setup line (where the child runs and reports) comes when the child starts; the
    header (the submission's definitions and limits) when the grader hands it a submission.
    ``results_fd`` is where events go (a fresh process finds it in the setup instead).
    """
    from autograder.calls import run_case
    from autograder.sandbox import guard, isolation

    setup = json.loads(stream.readline())  # where it runs: known before any submission is
    channel = _Channel(int(setup["results_fd"]) if results_fd is None else results_fd)
    try:
        if setup.get("mode") == "sandbox":
            isolation.become_sandbox_user(setup["scratch"])
    except BaseException as exc:  # noqa: BLE001 - no student code runs unless this succeeded
        channel.send(event="failed", message=f"{type(exc).__name__}: {exc}"[:300])
        os._exit(3)
    if os.environ.get("AUTOGRADER_PROFILE") == "tensorflow":  # as its user, with its scratch as the temp folder
        _import_tensorflow()
    header = {**json.loads(stream.readline()), **setup}  # the submission
    try:
        isolation.apply_limits(isolation.Limits(**header.get("limits", {})))
    except BaseException as exc:  # noqa: BLE001 - no student code runs unless this succeeded
        channel.send(event="failed", message=f"{type(exc).__name__}: {exc}"[:300])
        os._exit(3)
    sys.stdout = sys.stderr = _Discard()
    signal.signal(signal.SIGALRM, _on_alarm)
    guard.install(header["hidden_paths"], header["scratch"], header.get("visible_paths", []))

    global _restore
    _restore = _Restorer()
    namespace = {"__name__": "__main__", "__builtins__": __builtins__,
                 "__lazy_module__": _LazyModule, "__lazy_from__": _LazyFrom}
    signal.setitimer(signal.ITIMER_REAL, header["define_seconds"])
    try:
        notes = _define(header["chunks"], header.get("skip", []), namespace, channel, header.get("profile", "numpy"))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    del header
    _restore()
    channel.send(event="defined", notes=notes)
    while True:
        line = stream.readline()
        if not line:
            break
        _run_exercise(channel, namespace, json.loads(line), stream, case_from_json, run_case)
    channel.send(event="finished")
    os._exit(0)  # skip interpreter teardown: student objects' __del__ must not run after this


def main() -> None:
    """The entry point of a fresh (not forked) student process: its work comes on stdin."""
    run_job(sys.stdin.buffer, None, prepare())


if __name__ == "__main__":
    main()
