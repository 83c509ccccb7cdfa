"""Operating-system isolation for the student process, applied before any student code runs.

Where the grader runs as root on Linux, the child gets a private mount namespace in
which every secret folder (solutions, hidden checks, tests, other submissions, the
gradebook, the output folder) is covered by an empty read-only tmpfs, a private network
namespace with no interfaces up, a private tmpfs as its scratch folder, and then drops
to an unprivileged user of its own (uid 100000 + its pid, so no two submissions share a
user).
Everywhere, it gets resource limits (memory, CPU time, file size, open files, processes)
and its own session, so that the whole process group can be killed. Where namespaces are
unavailable, :mod:`autograder.sandbox.guard` still blocks access from inside.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import resource
import subprocess
import sys
from dataclasses import dataclass

from autograder.sandbox.guard import inside

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 4096, 8192, 16384, 1 << 18
UID_BASE = 100_000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True) if sys.platform == "linux" else None


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student process.

    Args:
        memory_bytes: address-space limit. Defaults to 2 GiB.
        cpu_seconds: CPU-time limit of the whole process. Defaults to `120`.
        file_bytes: largest file the process may write. Defaults to 16 MiB.
        open_files: open file descriptors. Defaults to `256`.
        processes: processes and threads of the student's user (``RLIMIT_NPROC``). Defaults to
            `1`: the student process itself, so it can start neither programs nor threads.
            Where it runs as the grader's own user, that user's other processes count too,
            which only makes the limit stricter.
    """

    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 120
    file_bytes: int = 16 * 1024**2
    open_files: int = 256
    processes: int = 1


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data) -> None:
    _check(_libc.mount(source, target, fstype, flags, data), f"mount {target!r}")


def _hide(path: bytes) -> None:
    if os.path.isdir(path):
        _mount(b"tmpfs", path, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, b"size=4k,mode=000")
    elif os.path.exists(path):
        _mount(b"/dev/null", path, None, MS_BIND, None)


def _blocked_folders(paths: list[str]) -> list[str]:
    """Folders that an unprivileged user cannot pass through on the way to ``paths``.

    Python itself may live where others may not enter (pyenv under a 0700 /root).
    """
    blocked = []
    for path in paths:
        folder = "/"
        for part in path.strip("/").split("/"):
            try:
                if not os.stat(folder).st_mode & 0o001:
                    if folder not in blocked:
                        blocked.append(folder)
                    break
            except OSError:
                break
            folder = os.path.join(folder, part)
    return blocked


def mount_plan(hidden_paths: list[str], visible_paths: list[str]) -> list[list]:
    """The steps that make the child's view of the file system, shortest path first.

    ``["cover", folder, keeps]`` lays an empty read-only tmpfs over ``folder`` with only
    ``keeps`` (the visible paths inside it) mounted back in place; ``["hide", path]`` covers
    a path with nothing. A hidden folder holding visible paths (the course folder holds the
    grader and the virtual environment) is covered; a folder the sandbox user could not
    pass through on the way to a visible path (a 0700 /root holding pyenv) is covered too.
    A hidden path inside a visible one (``autograder/hidden``) is hidden again after it.
    """
    visible = sorted({os.path.realpath(v) for v in visible_paths if os.path.exists(v)}, key=len)
    outermost = [v for i, v in enumerate(visible) if not any(inside(v, o) for o in visible[:i])]
    steps = {}
    for folder in _blocked_folders(outermost):
        steps[folder] = ["cover", folder, [v for v in outermost if inside(v, folder) and v != folder]]
    for path in (os.path.realpath(h) for h in hidden_paths):
        if path in steps or path == "/":
            continue
        keeps = [v for v in outermost if inside(v, path) and v != path]
        steps[path] = ["cover", path, keeps] if keeps else ["hide", path]
    return [steps[key] for key in sorted(steps, key=len)]


def _cover(folder: str, keeps: list[str], stage: str) -> None:
    if not os.path.isdir(folder):
        return
    staged = []
    for keep in keeps:
        if not os.path.exists(keep):
            continue
        target = os.path.join(stage, str(len(os.listdir(stage))))
        if os.path.isdir(keep):
            os.mkdir(target)
        else:
            open(target, "w").close()
        _mount(os.fsencode(keep), os.fsencode(target), None, MS_BIND | MS_REC, None)
        staged.append((target, keep))
    flags = MS_NOSUID | MS_NODEV
    _mount(b"tmpfs", os.fsencode(folder), b"tmpfs", flags, b"size=1m,mode=755")
    for target, keep in staged:
        os.makedirs(os.path.dirname(keep), mode=0o755, exist_ok=True)
        if os.path.isdir(target):
            os.mkdir(keep)
        else:
            open(keep, "w").close()
        _mount(os.fsencode(target), os.fsencode(keep), None, MS_MOVE, None)
        if os.path.isdir(target):
            os.rmdir(target)
        else:
            os.unlink(target)
    _mount(None, os.fsencode(folder), None, MS_REMOUNT | MS_RDONLY | flags, b"size=1m,mode=755")


def _apply(plan: list[list], scratch: str) -> None:
    stage = os.path.join(scratch, ".stage")
    os.mkdir(stage, 0o700)
    for step in plan:
        if step[0] == "cover":
            _cover(step[1], list(step[2]), stage)
        elif os.path.exists(step[1]):
            _hide(os.fsencode(step[1]))
    os.rmdir(stage)


def sandbox_uid(pid: int) -> int:
    """The user a student process runs as: one of its own, so no two submissions share a user.

    Two processes of different users cannot signal, trace or read each other's files,
    and the process limit (``RLIMIT_NPROC``, counted per user) applies to one submission.
    """
    return UID_BASE + pid


def enter_namespaces(plan: list[list], scratch: str) -> None:
    """New mount and network namespaces laid out by ``plan`` (:func:`mount_plan`); then a user of its own.

    The scratch folder becomes a private tmpfs that only this process's user can enter, and
    ``/dev/shm`` another, so nothing a submission writes is visible to any other.
    """
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    _mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
    _apply(plan, scratch)
    uid = sandbox_uid(os.getpid())
    private = MS_NOSUID | MS_NODEV
    _mount(b"tmpfs", os.fsencode(scratch), b"tmpfs", private, f"size=256m,mode=700,uid={uid},gid={uid}".encode())
    if os.path.isdir("/dev/shm"):
        _mount(b"tmpfs", b"/dev/shm", b"tmpfs", private, f"size=64m,mode=700,uid={uid},gid={uid}".encode())
    _become(uid)
    os.chdir(scratch)


def _become(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def die_with_parent() -> None:
    """Asks the kernel to kill this process when the process that started it ends."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)


def apply_limits(limits: Limits) -> None:
    """Sets the resource limits of the calling process, each one the platform supports."""
    for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_CPU, limits.cpu_seconds),
                        (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
                        (resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS: the other limits still apply
            pass


def child_env(home: str) -> dict:
    """The whole environment of a student process: nothing of the grader's (it may hold the secret)."""
    return {
        "PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": home, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",  # NPROC 1: no threads
        "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
    }


def interpreter_paths() -> list[str]:
    """What the student process must be able to read: Python, its libraries, this package."""
    import site

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [os.path.dirname(os.path.realpath(sys.executable)), sys.prefix, sys.base_prefix,
            *site.getsitepackages(), package]


def _drop_to_own_user(scratch: str) -> None:
    uid = sandbox_uid(os.getpid())
    os.chown(scratch, uid, uid)
    _become(uid)


def preexec(plan: list[list], scratch: str, limits: Limits, namespaces: bool, own_user: bool = False):
    """The function a student process runs first: between fork and exec, or right after a warm fork.

    With ``namespaces`` it lays out its file system by ``plan`` and drops to a user of its
    own. Without them, ``own_user`` (root, with Python readable by others) still drops to a
    user of its own, so that the process limit and file permissions hold.
    """

    def run() -> None:
        os.setsid()
        die_with_parent()
        if namespaces:
            enter_namespaces(plan, scratch)
        else:
            if own_user:
                _drop_to_own_user(scratch)
            os.chdir(scratch)
        apply_limits(limits)

    return run


def can_drop_user(visible_paths: list[str]) -> bool:
    """Whether a child without namespaces can run as a user of its own: root, with Python readable by others."""
    return os.geteuid() == 0 and not _blocked_folders([os.path.realpath(p) for p in visible_paths])


@functools.cache
def namespaces_available() -> bool:
    """Whether this process can give children their own namespaces and user (probed once)."""
    if _libc is None or os.geteuid() != 0:
        return False
    import tempfile

    scratch = tempfile.mkdtemp(prefix="autograder-probe-")
    try:
        plan = mount_plan([], interpreter_paths())
        subprocess.run([sys.executable, "-I", "-c", "import numpy"], preexec_fn=preexec(plan, scratch, Limits(), True),
                       check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=scratch,
                       env=child_env(scratch))
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        os.rmdir(scratch)
    return True
