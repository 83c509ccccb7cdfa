"""The warm worker: a process that has imported NumPy and the grader once, and forks a child per submission.

Starting Python and importing NumPy costs about 100 ms, far more than grading a lab's
NumPy exercises. The worker pays it once. For each submission the grading process sends
it, over a Unix socket, the two ends of the submission's pipes (job in, results out) and
the isolation settings; the worker forks, and the child isolates itself exactly as a
freshly started student process would (own session, namespaces, own user, private
scratch, resource limits, audit hook) before it reads its job. The worker itself never
runs student code, never sees expected values, and reaps nothing: children are
detached (``SIGCHLD`` ignored) and die with it.

TensorFlow is deliberately not imported here: no graded exercise needs it, and forking a
process that has started TensorFlow's thread pools is unsafe. Submissions that import it
get a lazy module that loads on first use, in their own child.
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import subprocess
import sys
import threading

from autograder.sandbox.isolation import Limits

_BOOT = ("import sys; sys.path.insert(0, {root!r}); "
         "from autograder.sandbox.worker import serve; serve({fd})")
MAX_HEADER = 1 << 20


def _recv(sock: socket.socket):
    """One request: its JSON header and the file descriptors sent with it."""
    fds = array.array("i")
    message, ancillary, _, _ = sock.recvmsg(MAX_HEADER, socket.CMSG_SPACE(2 * fds.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    return message, list(fds)


def _warm_up():
    """Everything a child needs, imported before the first fork."""
    import importlib
    import pkgutil

    from autograder import probes
    from autograder.sandbox import child

    case_from_json = child.prepare()
    for module in pkgutil.iter_modules(probes.__path__):
        importlib.import_module(f"autograder.probes.{module.name}")
    return child, case_from_json


def _child(request: dict, results_fd: int, job_fd: int, child, case_from_json) -> None:
    """In the forked child: isolate, then run the work that comes on ``job_fd``. Never returns."""
    from autograder.sandbox import isolation

    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        scratch = request["scratch"]
        isolation.preexec(request["plan"], scratch, Limits(**request["limits"]), request["namespaces"],
                          request["own_user"])()
        os.environ.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch)
        stream = os.fdopen(job_fd, "rb")
    except BaseException as exc:  # noqa: BLE001 - report why, then leave
        message = json.dumps({"event": "failed", "message": f"{type(exc).__name__}: {exc}"[:300]}) + "\n"
        os.write(results_fd, message.encode())
        os._exit(3)
    child.run_job(stream, results_fd, case_from_json)


def serve(control_fd: int) -> None:
    """The worker's loop: one fork per request, until the grading process closes the socket."""
    from autograder.sandbox import isolation

    isolation.die_with_parent()
    sock = socket.socket(fileno=control_fd)
    child, case_from_json = _warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        try:
            message, fds = _recv(sock)
        except OSError:
            break
        if not message or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            if not message:
                break
            continue
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(request, fds[0], fds[1], child, case_from_json)
        for fd in fds:
            os.close(fd)
        sock.sendall(json.dumps({"pid": pid}).encode())
    os._exit(0)


class Worker:
    """The grading process's handle on one warm worker, shared by its threads."""

    def __init__(self, env: dict, root: str):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT.format(root=root, fd=theirs.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, pass_fds=(theirs.fileno(),), start_new_session=True)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()

    def spawn(self, request: dict, results_fd: int, job_fd: int) -> int:
        """Asks for a child with these pipe ends; returns its pid (its process group too)."""
        header = json.dumps(request).encode()
        with self.lock:
            fds = array.array("i", [results_fd, job_fd])
            self.sock.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            reply = self.sock.recv(4096)
        if not reply:
            raise OSError("the warm worker stopped")
        return int(json.loads(reply)["pid"])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
