"""Resource limits of one student process, per process and, where the machine offers one, in aggregate.

Per process (every mode, set by the child itself before any student code: :func:`apply_limits`):
``RLIMIT_AS``, ``RLIMIT_CPU``, ``RLIMIT_FSIZE``, ``RLIMIT_NOFILE``, ``RLIMIT_NPROC`` (its
threads: each child is a user of its own, or alone in a user namespace of its own) and no
core dumps. ``RLIMIT_AS`` does not see memory that is not mapped: a ``memfd`` filled with
``fallocate``, SysV shared memory, files in a tmpfs. The seccomp filter refuses the first two
and the tmpfs the child can write to is its size-capped scratch (``/dev`` is read-only).

In aggregate (:func:`child_cgroup`, where the grader may create cgroups, v2 or v1): each child
and everything it starts is one cgroup with ``memory.max`` (every page it holds: anonymous,
tmpfs, memfd, page cache, swap none), ``pids.max`` (its threads), a CPU quota and an equal
CPU weight, so one submission cannot take the memory or the CPU time a classmate graded beside
it needs. The children's common folder weighs as much as one busy task per CPU, so that the
grading run as a whole competes with the machine's other work as separate children would.
Where no cgroup can be made (not root and nothing delegated, a read-only ``/sys/fs/cgroup``
in a container), the grader says so once and keeps grading with the per-process limits.

Whatever the mode, the children are the first the OOM killer takes (``oom_score_adj`` 1000)
and the grading process, where it may, is protected (-900): a full container loses a child,
never the class's run.

Every function here that a child calls (:func:`apply_limits`, :func:`child_oom_score`) can be
called from a process forked from a warm parent too (a zygote): it touches only the calling
process. :meth:`Cgroup.add` moves a process from outside, for a child that cannot reach the
cgroup file system itself.
"""

from __future__ import annotations

import atexit
import itertools
import os
import resource
import signal
import sys
import threading
import time
from dataclasses import dataclass

CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
PROCESSES_OUTSIDE = 4  # bubblewrap, the namespace's init and the child's own start-up, counted by pids.max


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student process.

    Args:
        memory_bytes: address-space limit (``RLIMIT_AS``). Defaults to 2 GiB.
        cpu_seconds: CPU-time limit of the whole process. Defaults to `120`.
        file_bytes: largest file the process may write. Defaults to 16 MiB.
        open_files: open file descriptors. Defaults to `256`.
        processes: processes and threads of the student's user (``RLIMIT_NPROC``, and the
            cgroup's ``pids.max`` beside bubblewrap's own). Defaults to `1`: the student
            process itself, so it can start neither programs nor threads.
        resident_bytes: every page the child holds, memfds, tmpfs files and page cache included
            (the cgroup's ``memory.max``, where there is one). Defaults to 1 GiB.
        cpus: the most CPUs the child may use at once (the cgroup's ``cpu.max``). Defaults to `1`.
    """

    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 120
    file_bytes: int = 16 * 1024**2
    open_files: int = 256
    processes: int = 1
    resident_bytes: int = 1024**3
    cpus: float = 1.0


TENSORFLOW_THREADS = 32  # measured: 12 after a MirroredStrategy fit on two CPUs (TF's pools of 1 thread each)
TENSORFLOW_LIMITS = Limits(memory_bytes=16 * 1024**3, cpu_seconds=600, processes=TENSORFLOW_THREADS,
                           resident_bytes=3 * 1024**3, cpus=2.0)
"""TensorFlow's child: its address-space reservations (far beyond its real use), a thread cap for its
pools (one or two threads each: see :func:`autograder.sandbox.isolation.child_env`) and its memory."""


def limits_for(profile: str) -> Limits:
    """The limits of a child of ``profile`` (``"numpy"`` or ``"tensorflow"``)."""
    return TENSORFLOW_LIMITS if profile == "tensorflow" else Limits()


def apply_limits(limits: Limits) -> None:
    """Sets the per-process limits of the calling process, each one the platform supports."""
    for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_CPU, limits.cpu_seconds),
                        (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
                        (resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS: the other limits still apply
            pass


_windows = itertools.count()


def cpu_window(limits: Limits) -> set[int] | None:
    """The CPUs a multi-threaded child (TensorFlow) is pinned to: ``ceil(limits.cpus)`` of them, in turn.

    TensorFlow sizes some pools (``tf.data``'s) by the CPUs a process may use: pinned, they stay
    small on a machine of 64 cores, and without a cgroup one child never runs on more CPUs than
    its window. None for a single-threaded child or where the machine has no more CPUs than that.
    """
    if limits.processes <= 1 or not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    width = max(1, -int(-limits.cpus // 1))
    if len(allowed) <= width:
        return None
    start = next(_windows) * width
    return {allowed[(start + i) % len(allowed)] for i in range(width)}


def pin(window: set[int] | None) -> None:
    """Pins the calling process (and what it starts) to ``window`` (from :func:`cpu_window`)."""
    if window:
        try:
            os.sched_setaffinity(0, window)
        except OSError:
            pass


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def child_oom_score() -> None:
    """Makes the calling process the OOM killer's first choice (before exec: everything it starts inherits it)."""
    try:
        _write("/proc/self/oom_score_adj", "1000")
    except OSError:
        pass


_protected = False


def protect_grader() -> None:
    """Makes the grading process the OOM killer's last choice, where it may lower its own score (root)."""
    global _protected
    if _protected:
        return
    _protected = True
    try:
        _write("/proc/self/oom_score_adj", "-900")
    except OSError:  # not privileged: the children's 1000 still puts them first
        pass


# -- cgroups --------------------------------------------------------------------------------------------------

class Cgroup:
    """One child's cgroup: a folder in the v2 hierarchy, or one per controller in v1."""

    def __init__(self, folders: list[str], version: int, owner: _Hierarchy | None = None):
        self.folders, self.version, self.owner = folders, version, owner
        self.procs = [os.path.join(folder, "cgroup.procs") for folder in folders]

    def join(self) -> None:
        """Moves the calling process in (between fork and exec: all it starts stays in)."""
        self.add(os.getpid())

    def add(self, pid: int) -> None:
        """Moves process ``pid`` in, e.g. a child forked by a zygote that cannot see the cgroup file system."""
        for procs in self.procs:
            _write(procs, str(pid))

    def pids(self) -> list[int]:
        found = set()
        for procs in self.procs:
            try:
                with open(procs) as handle:
                    found.update(int(line) for line in handle if line.strip())
            except OSError:
                pass
        return sorted(found)

    def memory_peak(self) -> int | None:
        """The most memory the cgroup held, in bytes (where the kernel keeps it)."""
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            for folder in self.folders:
                try:
                    with open(os.path.join(folder, name)) as handle:
                        return int(handle.read().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
        return None

    def remove(self, wait: float = 2.0) -> bool:
        """Kills what is left in it and removes it; False if something still lives there (tried again at exit)."""
        ends = time.monotonic() + wait
        while True:
            left = self.pids()
            if not left:
                break
            if self.version == 2 and os.path.exists(os.path.join(self.folders[0], "cgroup.kill")):
                try:
                    _write(os.path.join(self.folders[0], "cgroup.kill"), "1")
                except OSError:
                    pass
            else:
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            if time.monotonic() > ends:
                return False
            time.sleep(0.02)
        removed = True
        for folder in self.folders:
            try:
                os.rmdir(folder)
            except FileNotFoundError:
                pass
            except OSError:
                removed = False
        if removed and self.owner is not None:
            self.owner.forget(self)
        return removed


class _Hierarchy:
    """Where this grading process makes its children's cgroups: ``autograder-<pid>`` folders it owns."""

    def __init__(self, version: int, bases: list[str]):
        self.version, self.bases = version, bases
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.live: list[Cgroup] = []

    def child(self, limits: Limits) -> Cgroup:
        with self.lock:
            name = f"c{next(self.counter)}"
            folders = [os.path.join(base, name) for base in self.bases]
            for folder in folders:
                os.mkdir(folder)
            cgroup = Cgroup(folders, self.version)
            try:
                _configure(cgroup, limits)
            except OSError:
                cgroup.remove(0)
                raise
            cgroup.owner = self
            self.live.append(cgroup)
            return cgroup

    def forget(self, cgroup: Cgroup) -> None:
        with self.lock:
            if cgroup in self.live:
                self.live.remove(cgroup)

    def close(self) -> None:
        """At exit: the children's cgroups that are left (a child whose end nobody waited for), then the bases."""
        for cgroup in list(self.live):
            cgroup.remove()
        with self.lock:
            for base in self.bases:
                try:
                    os.rmdir(base)
                except OSError:
                    pass


def _configure(cgroup: Cgroup, limits: Limits) -> None:
    memory = str(int(limits.resident_bytes))
    pids = str(int(limits.processes) + PROCESSES_OUTSIDE)
    quota = str(int(limits.cpus * CPU_PERIOD_US))
    if cgroup.version == 2:
        folder = cgroup.folders[0]
        settings = [("memory.max", memory), ("memory.swap.max", "0"), ("memory.oom.group", "1"),
                    ("pids.max", pids), ("cpu.max", f"{quota} {CPU_PERIOD_US}"), ("cpu.weight", "100")]
        for name, value in settings:
            path = os.path.join(folder, name)
            if os.path.exists(path) or name in ("memory.max", "pids.max"):
                _write(path, value)
        return
    for folder in cgroup.folders:
        files = os.listdir(folder)
        settings = []
        if "memory.limit_in_bytes" in files:
            settings += [("memory.limit_in_bytes", memory), ("memory.memsw.limit_in_bytes", memory),
                         ("memory.swappiness", "0")]
        if "pids.max" in files:
            settings.append(("pids.max", pids))
        if "cpu.cfs_quota_us" in files:
            settings += [("cpu.cfs_period_us", str(CPU_PERIOD_US)), ("cpu.cfs_quota_us", quota),
                         ("cpu.shares", "1024")]
        for name, value in settings:
            if name in files:
                _write(os.path.join(folder, name), value)


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, options) of each cgroup file system."""
    found = []
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                fields, tail = left.split(), right.split()
                if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2") and fields[3] == "/":
                    found.append((fields[4].replace("\\040", " "), tail[0], set(tail[2].split(","))))
    except OSError:
        pass
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup per v1 controller, and under ``""`` its v2 cgroup."""
    paths = {}
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else [""]:
                paths[name] = path
    return paths


def _sweep(parent: str) -> None:
    """Removes the ``autograder-<pid>`` folders that graders which are gone left behind (killed ones).

    Only empty ones, and nothing is killed: a grader in another PID namespace may look gone from here
    (its children die with their grader anyway, which empties their cgroups).
    """
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not name.startswith("autograder-") or not name[11:].isdigit() or os.path.exists(f"/proc/{name[11:]}"):
            continue
        base = os.path.join(parent, name)
        try:
            for child in os.listdir(base):
                if os.path.isdir(os.path.join(base, child)):
                    os.rmdir(os.path.join(base, child))  # refused (EBUSY) while a process lives in it
            os.rmdir(base)
        except OSError:
            pass


def _v2(mount: str, own: str) -> _Hierarchy:
    """A folder for the children beside the grader's own cgroup (v2 forbids processes in a parent of leaves)."""
    parent = mount if own.strip("/") == "" else os.path.dirname(os.path.join(mount, own.strip("/")))
    available = _read(os.path.join(parent, "cgroup.controllers")).split()
    missing = [c for c in CONTROLLERS if c not in available]
    if missing:
        raise OSError(f"the controllers {', '.join(missing)} are not available in {parent}")
    enabled = _read(os.path.join(parent, "cgroup.subtree_control")).split()
    if any(c not in enabled for c in CONTROLLERS):
        _write(os.path.join(parent, "cgroup.subtree_control"), " ".join(f"+{c}" for c in CONTROLLERS))
    _sweep(parent)
    base = os.path.join(parent, f"autograder-{os.getpid()}")
    os.makedirs(base, exist_ok=True)
    _write(os.path.join(base, "cgroup.subtree_control"), " ".join(f"+{c}" for c in CONTROLLERS))
    _write(os.path.join(base, "cpu.weight"), str(min(10_000, 100 * _cpu_count())))
    return _Hierarchy(2, [base])


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _v1(mounts: dict[str, str], own: dict[str, str]) -> _Hierarchy:
    bases = []
    try:
        for controller in CONTROLLERS:
            parent = os.path.join(mounts[controller], own.get(controller, "/").strip("/"))
            _sweep(parent)
            base = os.path.join(parent, f"autograder-{os.getpid()}")
            os.makedirs(base, exist_ok=True)
            bases.append(base)
            if controller == "cpu" and os.path.exists(os.path.join(base, "cpu.shares")):
                _write(os.path.join(base, "cpu.shares"), str(1024 * _cpu_count()))
        return _Hierarchy(1, bases)
    except OSError:
        for base in bases:
            try:
                os.rmdir(base)
            except OSError:
                pass
        raise


_hierarchy: _Hierarchy | None = None
_why_not: str | None = None
_setup_lock = threading.Lock()
_told = False


def _setup() -> None:
    global _hierarchy, _why_not
    if _hierarchy is not None or _why_not is not None:
        return
    if sys.platform != "linux":
        _why_not = "cgroups need Linux"
        return
    if os.environ.get("AUTOGRADER_CGROUPS") == "off":
        _why_not = "switched off (AUTOGRADER_CGROUPS=off)"
        return
    reasons = []
    try:
        mounts, own = _mounts(), _own_paths()
        v2 = [m for m in mounts if m[1] == "cgroup2"]
        v1 = {c: point for point, kind, options in mounts if kind == "cgroup" for c in CONTROLLERS if c in options}
        if v2 and "" in own:
            try:
                _hierarchy = _v2(v2[0][0], own[""])
            except OSError as exc:
                reasons.append(f"cgroup v2: {exc.strerror or exc}")
        if _hierarchy is None and all(c in v1 for c in CONTROLLERS):
            try:
                _hierarchy = _v1(v1, own)
            except OSError as exc:
                reasons.append(f"cgroup v1: {exc.strerror or exc}")
        if _hierarchy is None and not reasons:
            reasons.append("no cgroup file system with the memory, pids and cpu controllers is mounted")
    except (OSError, ValueError) as exc:
        reasons.append(str(exc))
    if _hierarchy is not None:
        atexit.register(_hierarchy.close)
    else:
        _why_not = "; ".join(reasons)


def cgroups_unavailable() -> str | None:
    """Why children get no cgroup here, or None when they do (decided once per grading process)."""
    with _setup_lock:
        _setup()
    return _why_not


def child_cgroup(limits: Limits) -> Cgroup | None:
    """A fresh cgroup set to ``limits`` for one child, or None where none can be made (said once, on stderr)."""
    global _told, _why_not
    protect_grader()
    if cgroups_unavailable() is None:
        try:
            return _hierarchy.child(limits)
        except OSError as exc:
            _why_not = f"a child's cgroup could not be made: {exc}"
    if not _told:
        _told = True
        print(f"note: no cgroup per student process here ({_why_not}); each is bounded by its own limits "
              "(address space, threads, no memfd or shared memory, a capped scratch) but the CPU is not shared "
              "out between them (see docs/security.md)", file=sys.stderr)
    return None
