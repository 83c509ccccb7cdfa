"""Zygotes: TensorFlow and Python start once per grading run, and no process is ever shared by two students.

Starting TensorFlow costs seconds of CPU (5 s quiet, 10-30 s on a loaded 2-core machine); a
student's Keras exercise needs well under one. Starting Python, NumPy and the grader's child
modules in bubblewrap costs a few hundred milliseconds; a NumPy lab's student code needs 2-20.
So the grading process starts one *zygote* per profile per grading run: a Python process
inside bubblewrap's generic view (the same read-only root as every child: Python, the system
libraries, this package, no host folder, no course secret, no network) that imports NumPy and
the grader's child modules (the ``"tensorflow"`` profile's zygote also Keras and TensorFlow,
without running any TensorFlow op) and then only forks, one child per run of a submission.
It never sees a submission, a case or a secret: the grader hands each child its work over
pipes that the zygote passes on unread.

Each forked child, before any byte of student work reaches it (the model is Chromium's
Linux zygote, ``content/zygote`` and ``sandbox/linux/services``; see docs/security.md):

1. dies with the zygote (parent-death signal, then a check that the zygote still lives)
   and closes the zygote's control socket;
2. leaves the zygote's namespaces for new PID, mount, network, IPC and UTS ones
   (``unshare``) and forks again: the grandchild is the init (pid 1) of a PID namespace of
   its own, and the intermediate process only waits, holding a lifeline from the grader;
3. in its private mount namespace, mounts a fresh ``/proc`` and a fresh size-capped
   ``noexec,nosuid,nodev`` tmpfs at its scratch folder, owned by a uid of its own, and
   forks once more, as bubblewrap does: pid 1 stays root, closes every descriptor and only
   waits; the student's process is pid 2 (it cannot signal its init, and its /proc holds
   those two pids), and steps 4-6 are its own;
4. closes every descriptor but its job pipe and its results pipe;
5. switches to that uid for good (``setgroups``/``setresgid``/``setresuid``: every
   capability is dropped with root), sets the parent-death signal again (the switch clears
   it), reseeds NumPy's global generator (not the zygote's), sets ``no_new_privs`` and
   loads the same seccomp filter as bubblewrap loads for a fresh child
   (:func:`autograder.sandbox.seccomp.program`);
6. only then reads its job pipe, exactly as a fresh child does
   (:func:`autograder.sandbox.child.run_job`): the rlimits, the audit hook and the
   student's definitions come with the header, in the same order.

The zygote itself runs as root inside bubblewrap with only ``CAP_SYS_ADMIN`` (to make the
namespaces and mounts of step 2-3), ``CAP_SETUID`` and ``CAP_SETGID``, and without the
seccomp filter (it forbids ``unshare`` and ``fork``): it runs no student code. Where this
cannot work (not root, no namespaces, the zygote fails to start or to fork) every
child starts fresh, as before, and the grading process says so once on stderr.

The NumPy profile's zygote is single-threaded (``OPENBLAS_NUM_THREADS=1``, as every NumPy
child): forking it is as safe as forking any Python process. TensorFlow's zygote has a few
threads after its import; its forked children are checked by a stress test
(tests/test_zygote.py), and a run of a forked TensorFlow child that ends abnormally is done
again in a fresh child (:func:`autograder.sandbox.runner.run`).
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from autograder.sandbox import bwrap, isolation, limits, seccomp

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, SECCOMP_MODE_FILTER = 1, 22, 38, 2
CAPABILITIES = ("CAP_SYS_ADMIN",)  # besides bwrap.CAPABILITIES: the children's namespaces and mounts
UID_BASE = bwrap.UID_BASE + (1 << 22)  # above every fresh child's uid (100000 + a pid; pid_max <= 2**22)
SLOTS = 512  # uids per zygote: more than the children it ever has alive at once
ZYGOTE_LIMITS = limits.Limits(memory_bytes=64 * 1024**3, cpu_seconds=1 << 30, processes=4096,
                              resident_bytes=4 * 1024**3, cpus=float(os.cpu_count() or 1))
"""The zygote's own cgroup: TensorFlow's import, and one waiting parent per live child (never student code)."""
START_SECONDS = 180.0  # a loaded machine may need this long to import TensorFlow in the zygote
ENV_SWITCH = "AUTOGRADER_ZYGOTE"  # "0": every child starts fresh
_BOOT = ("import sys; sys.path.insert(0, {root!r}); "
         "from autograder.sandbox.zygote import serve; serve({fd}, {profile!r})")
NAMES = {"numpy": "NumPy zygote", "tensorflow": "TensorFlow zygote"}
PROFILES = tuple(NAMES)
FORKS = {"numpy": "numpy_forks", "tensorflow": "forks"}  # the profile's counts in ``stats``
FRESH = {"numpy": "numpy_fresh", "tensorflow": "fresh"}

stats = {"forks": 0, "fresh": 0, "reruns": 0, "numpy_forks": 0, "numpy_fresh": 0}
"""How many TensorFlow children came from a zygote, started fresh, and were re-run fresh after an anomaly; how
many NumPy children came from a zygote and started fresh (:data:`FORKS`, :data:`FRESH`)."""


# ---------------------------------------------------------------------------------------------------------------
# The grading process's side


class Zygote:
    """One zygote process of ``profile``, started in bubblewrap's generic view for the paths ``readable``/``hidden``."""

    def __init__(self, hidden: list[str], readable: list[str], profile: str = "tensorflow"):
        from autograder.sandbox.runner import PACKAGE_PARENT

        if profile not in PROFILES:
            raise ValueError(f"no zygote for the profile {profile!r}")
        self.profile = profile
        self.key = key(hidden, readable, profile)
        self.lock = threading.Lock()
        self.sequence = 0
        self.active = 0
        self.broken: str | None = None
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [sys.executable, "-I", "-c", _BOOT.format(root=PACKAGE_PARENT, fd=theirs.fileno(), profile=profile)]
        command = _command(bwrap.command(argv, readable=readable, hidden=hidden, scratch="/nonexistent",
                                         seccomp_fd=-1))
        started: dict = {}
        ready = threading.Event()
        # a cgroup of its own, as every fresh child has: its import of TensorFlow gets the CPU weight a fresh
        # TensorFlow child's import gets (its children leave it for a cgroup each; the waiting parents stay)
        self.cgroup = limits.child_cgroup(ZYGOTE_LIMITS)

        def enter() -> None:
            os.setsid()
            if self.cgroup is not None:
                try:
                    self.cgroup.join()
                except OSError:
                    pass

        def keep() -> None:  # bubblewrap's parent-death signal follows the thread that started it: this one
            try:
                started["process"] = subprocess.Popen(
                    command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, cwd="/", env=isolation.child_env(bwrap.SCRATCH, profile),
                    preexec_fn=enter)
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                started["error"] = exc
            finally:
                ready.set()
            if "process" in started:
                started["process"].wait()

        threading.Thread(target=keep, name="autograder-zygote", daemon=True).start()
        ready.wait()
        theirs.close()
        if "error" in started:
            self.control.close()
            if self.cgroup is not None:
                self.cgroup.remove()
            raise started["error"]
        self.process: subprocess.Popen = started["process"]
        self.status: str | None = None  # "ready" or why not, once the zygote has said so

    def _read_status(self, wait: float) -> None:
        if self.status is not None:
            return
        ready, _, _ = select.select([self.control], [], [], wait)
        if not ready:
            return
        try:
            message = self.control.recv(4096)
        except OSError as exc:
            message = f"its control socket failed: {exc}".encode()
        self.status = message.decode(errors="replace") or "it ended while starting"
        if self.status != "ready":
            self.broken = f"the {self.name} could not start ({self.status[:200]})"

    def fork(self, job_fd: int, results_fd: int) -> socket.socket | None:
        """Asks for a child reading ``job_fd`` and writing ``results_fd``; returns its lifeline, or None.

        The lifeline is a socket whose other end the child's waiting parent holds: closing it
        kills the child and everything in its PID namespace. The child sends its pid on it as
        the kernel translates it (:func:`child_pid`). It is never blocked by the zygote's start:
        the request waits in the socket until the zygote has imported TensorFlow.
        """
        with self.lock:
            self._read_status(0)
            if self.broken is not None or self.process.poll() is not None:
                self.broken = self.broken or f"the {self.name} ended"
                return None
            uid = UID_BASE + self.process.pid * SLOTS + self.sequence % SLOTS
            self.sequence += 1
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the child's pid comes as the kernel sees it
            try:
                self.control.settimeout(10.0)
                socket.send_fds(self.control, [json.dumps({"uid": uid}).encode()],
                                [job_fd, results_fd, theirs.fileno()])
            except OSError as exc:
                mine.close()
                self.broken = f"the {self.name} did not take a request ({exc})"
                return None
            finally:
                theirs.close()
            self.active += 1
            stats[FORKS[self.profile]] += 1
            return mine

    @property
    def name(self) -> str:
        return NAMES[self.profile]

    def release(self) -> None:
        with self.lock:
            self.active -= 1

    def close(self) -> None:
        """Ends the zygote and, through bubblewrap's PID namespace, every child it forked."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.control.close()
        if self.cgroup is not None:
            self.cgroup.remove()


def _command(args: list[str]) -> list[str]:
    """bubblewrap's command line for a fresh child, changed for the zygote.

    No seccomp filter (each child loads it after ``unshare`` and ``fork``, which it forbids),
    ``CAP_SYS_ADMIN`` besides the two capabilities a child keeps, and a scratch folder that
    is a tmpfs of its own (each child mounts a fresh one over it).
    """
    args = list(args)
    at = args.index("--seccomp")
    del args[at:at + 2]
    at = args.index("--bind", args.index("--dev"))
    if args[at + 2] != bwrap.SCRATCH:
        raise ValueError("unexpected bubblewrap command line: the scratch bind moved")
    args[at:at + 3] = ["--size", str(bwrap.SCRATCH_BYTES), "--tmpfs", bwrap.SCRATCH]
    at = args.index("--cap-drop") + 2
    args[at:at] = [arg for cap in CAPABILITIES for arg in ("--cap-add", cap)]
    return args


def key(hidden: list[str], readable: list[str], profile: str) -> tuple:
    """What makes two zygotes interchangeable: their profile and the sandbox view they start in.

    Two grading runs whose hidden paths differ only outside everything a child can read (each
    run's own course folder under /tmp, say) get the same view, so one grading process (a test
    session, a service grading several classes) starts each profile's zygote once for them.
    """
    return tuple(bwrap.command([], readable=list(readable), hidden=list(hidden), scratch="/nonexistent",
                               seccomp_fd=-1)), profile


_zygotes: list[Zygote] = []
_registry_lock = threading.Lock()
_said: list[str] = []


def why_not() -> str | None:
    """Why children cannot come from a zygote on this machine, or None when they can."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return f"{ENV_SWITCH}=0"
    if sys.platform != "linux":
        return "no Linux"
    if not bwrap.privileged():
        return "the grader is not root (the zygote's children need namespaces and a uid of their own)"
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return "this Python has no pidfd_open or send_fds"
    return bwrap.probe()


def say_once(reason: str) -> None:
    """Says on stderr, once per grading process, that children start fresh and why."""
    if not _said:
        _said.append(reason)
        print(f"note: every student process starts a fresh interpreter ({reason}): slower, isolated the same way",
              file=sys.stderr)


def zygote_for(hidden: list[str], readable: list[str], profile: str = "tensorflow") -> Zygote | None:
    """The running zygote of ``profile`` for these paths, started if needed; None (said once) where none can run.

    A grading process keeps the zygotes of the last two views (:func:`key`, each profile's): a
    zygote of another view that no child uses any more is ended when a new one starts.
    """
    reason = why_not()
    if reason is not None:
        if os.environ.get(ENV_SWITCH, "1") != "0":
            say_once(reason)
        return None
    wanted = key(hidden, readable, profile)
    with _registry_lock:
        for zygote in _zygotes:
            if zygote.key == wanted and zygote.broken is None:
                return zygote
        kept = 2 * len(PROFILES)
        for zygote in [z for z in _zygotes if z.active <= 0 and (z.broken is not None or len(_zygotes) >= kept)]:
            _zygotes.remove(zygote)
            zygote.close()
        if any(z.key == wanted for z in _zygotes):  # broken and still in use: fresh children for this run
            say_once(next(z.broken for z in _zygotes if z.key == wanted))
            return None
        try:
            zygote = Zygote(list(hidden), list(readable), profile)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            say_once(f"the {NAMES.get(profile, profile)} could not start: {exc}")
            return None
        _zygotes.append(zygote)
        return zygote


def child_pid(lifeline: socket.socket, deadline: float) -> int | None:
    """The pid, in the grading process's namespace, of the child at the other end of ``lifeline``.

    The child sends it (``SCM_CREDENTIALS``) once its namespaces and mounts are made, before its
    uid switch and before it reads its submission: the grading process then moves it into its
    cgroup (:func:`autograder.sandbox.limits.child_cgroup`). None if it did not come in time.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([lifeline], [], [], remaining)[0]:
        return None
    try:
        _, ancillary, _, _ = lifeline.recvmsg(16, socket.CMSG_SPACE(struct.calcsize("3i")))
    except OSError:
        return None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= 12:
            pid = struct.unpack("3i", data[:12])[0]
            return pid if pid > 0 else None
    return None


def fork(hidden: list[str], readable: list[str], job_fd: int, results_fd: int, profile: str = "tensorflow"
         ) -> tuple[Zygote, socket.socket] | None:
    """A child of the ``profile`` zygote for these paths (its zygote and lifeline), or None where a fresh child
    must start."""
    zygote = zygote_for(hidden, readable, profile)
    if zygote is None:
        stats[FRESH[profile]] += 1
        return None
    lifeline = zygote.fork(job_fd, results_fd)
    if lifeline is None:
        say_once(zygote.broken or f"the {zygote.name} failed")
        stats[FRESH[profile]] += 1
        return None
    return zygote, lifeline


def shutdown() -> None:
    """Ends every zygote of this process (at exit, and in tests)."""
    with _registry_lock:
        while _zygotes:
            _zygotes.pop().close()


atexit.register(shutdown)


# ---------------------------------------------------------------------------------------------------------------
# The zygote's side: it runs no student code; the functions below run in it and in its children


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def serve(control_fd: int, profile: str = "tensorflow") -> None:
    """The zygote's main loop: imports, proves that a child can be made, then forks on request; never returns."""
    control = socket.socket(fileno=control_fd)
    try:
        from autograder.sandbox import child

        case_from_json = child.prepare()
        if profile == "tensorflow":
            child._import_tensorflow()
        program = seccomp.program()
        _self_test()
        scratch = _snapshot(bwrap.SCRATCH)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    except BaseException as exc:  # noqa: BLE001 - told to the grading process, which starts fresh children
        control.send(f"{type(exc).__name__}: {exc}"[:1000].encode())
        os._exit(3)
    control.send(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 4096, 8)
        except OSError:
            os._exit(0)
        if not message:  # the grading process is gone
            os._exit(0)
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        uid = int(json.loads(message)["uid"])
        if os.fork() == 0:
            try:
                _first_child(control, fds, uid, case_from_json, program, scratch)
            except BaseException as exc:  # noqa: BLE001 - no student code ran: its stderr is the zygote's
                print(f"autograder zygote child: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)


def _self_test() -> None:
    """Makes one child's namespaces and mounts for real (and throws it away): any refusal shows at start."""
    pid = os.fork()
    if pid == 0:
        try:
            libc = _libc()
            _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
            _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
            _check(libc.mount(b"tmpfs", bwrap.SCRATCH.encode(), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              b"size=1m,mode=700"), "mount scratch")
            if os.fork() == 0:  # pid 1 of the new namespace mounts its /proc
                os._exit(0 if _libc().mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                            None) == 0 else 5)
            _, status = os.waitpid(-1, 0)
            os._exit(os.waitstatus_to_exitcode(status))
        except BaseException as exc:  # noqa: BLE001
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise OSError(f"a test child could not make its namespaces and mounts (exit {code})")


def _snapshot(folder: str, most: int = 4 * 1024**2) -> list[tuple[str, bytes | None]]:
    """What importing left in the zygote's scratch (Keras's config, Matplotlib's font list): a child gets it too.

    A fresh child imports as its own user with its scratch as its home, so these files are in
    its scratch when its submission starts; a forked child's fresh tmpfs holds them as well.
    """
    found, total = [], 0
    for top, folders, files in os.walk(folder):
        for name in sorted(folders):
            found.append((os.path.relpath(os.path.join(top, name), folder), None))
        for name in sorted(files):
            with open(os.path.join(top, name), "rb") as handle:
                data = handle.read(most - total + 1)
            total += len(data)
            if total > most:
                return []
            found.append((os.path.relpath(os.path.join(top, name), folder), data))
    return found


def _restore(folder: str, snapshot: list[tuple[str, bytes | None]]) -> None:
    for path, data in snapshot:
        target = os.path.join(folder, path)
        if data is None:
            os.makedirs(target, exist_ok=True)
        else:
            with open(target, "wb") as handle:
                handle.write(data)


def _first_child(control: socket.socket, fds: list[int], uid: int, case_from_json, program: bytes,
                 scratch: list) -> None:
    """The intermediate process: new namespaces for its child, then it waits on the child and the lifeline."""
    job_fd, results_fd, lifeline = fds
    libc = _libc()
    zygote = os.getppid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote:
        os._exit(0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    control.close()
    limits.child_oom_score()  # the OOM killer's first choice, as a fresh child (the zygote keeps its own score)
    _check(libc.unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    libc.unshare(CLONE_NEWCGROUP)  # where the kernel has cgroup namespaces, as bubblewrap's --unshare-cgroup-try
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid:
        for fd in (job_fd, results_fd, alive_r):
            os.close(fd)
        child = os.pidfd_open(pid)
        select.select([lifeline, child], [], [])  # the grader let go (or died), or the child ended
        os._exit(0)  # the child, pid 1 of its namespace, gets SIGKILL: the kernel empties the namespace
    os.close(alive_w)
    _enter(libc, alive_r, job_fd, results_fd, lifeline, uid, case_from_json, program, scratch)


def _init() -> None:
    """pid 1 of a child's PID namespace: it holds no descriptor (the student process's pipes end with it), waits
    for the student process and ends with it; its own end, or its parent's, ends everything in the namespace."""
    os.closerange(0, 1 << 16)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue


def _parent_alive(alive_fd: int) -> bool:
    readable, _, _ = select.select([alive_fd], [], [], 0)
    return not readable  # nobody writes to it: readable means its writer, the parent, is gone


def _enter(libc, alive_fd: int, job_fd: int, results_fd: int, lifeline: int, uid: int, case_from_json,
           program: bytes, scratch: list) -> None:
    """The child, pid 1 of its own namespaces: its mounts, then (as pid 2) its isolation and the job, as a fresh
    child in bubblewrap would run them."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if not _parent_alive(alive_fd):
        os._exit(0)
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    _check(libc.mount(b"tmpfs", bwrap.SCRATCH.encode(), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      f"size={bwrap.SCRATCH_BYTES},mode=700,uid={uid},gid={uid}".encode()), "mount scratch")
    if os.fork():  # pid 1 stays root and only waits, as bubblewrap's init does: the student's process is pid 2
        _init()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # with its init (whose end empties the namespace anyway)
    if os.getppid() != 1:
        os._exit(0)
    pid = socket.socket(fileno=lifeline)  # tell the grading process who we are, for the cgroup
    pid.sendmsg([b"pid"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("3i", os.getpid(), 0, 0))])
    pid.close()
    os.dup2(job_fd, 0)  # as a fresh child: its work on stdin
    keep = sorted({0, 1, 2, results_fd, alive_fd})
    for low, high in zip([-1, *keep], [*keep, 1 << 16]):
        if low + 1 < high:  # closerange(n, n) would close everything from n on
            os.closerange(low + 1, high)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to a uid of its own: every capability goes
    _check(libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), ctypes.byref((_CapData * 2)())), "capset")
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the switch cleared it
    if not _parent_alive(alive_fd):
        os._exit(0)
    os.close(alive_fd)
    import numpy

    numpy.random.seed()  # NumPy's global generator from fresh entropy, as in a fresh process (random reseeds itself)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _load_seccomp(libc, program)
    os.chdir(bwrap.SCRATCH)
    _restore(bwrap.SCRATCH, scratch)
    from autograder.sandbox import child

    child.run_job(sys.stdin.buffer, results_fd, case_from_json)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):  # all zero: not even an inheritable capability is left
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _load_seccomp(libc, program: bytes) -> None:
    """Loads ``program`` (classic BPF, 8 bytes an instruction) on the calling, only, thread."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def wait_ready(zygote: Zygote, seconds: float = START_SECONDS) -> bool:
    """Waits until ``zygote`` has imported TensorFlow (for tests and benchmarks); False if it failed."""
    ends = time.monotonic() + seconds
    with zygote.lock:
        while zygote.status is None and time.monotonic() < ends:
            zygote._read_status(min(1.0, ends - time.monotonic()))
            if zygote.process.poll() is not None:
                zygote._read_status(0)
                break
    return zygote.status == "ready"
