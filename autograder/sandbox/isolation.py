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

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 1, 2, 4, 4096, 8192, 16384, 1 << 18
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
        processes: processes and threads of the sandbox user. Defaults to `256`.
    """

    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 120
    file_bytes: int = 16 * 1024**2
    open_files: int = 256
    processes: int = 256


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


def blocked_ancestors(paths: list[str]) -> list[tuple[str, str]]:
    """(folder, child) pairs where an unprivileged user cannot pass through folder on the way to a path.

    Python itself may live where others may not enter (pyenv under a 0700 /root): such a
    folder is covered, inside the child's mount namespace only, by a world-readable tmpfs
    holding just the one entry that leads to the interpreter.
    """
    pairs = []
    for path in paths:
        parts = os.path.realpath(path).strip("/").split("/")
        folder = "/"
        for part in parts:
            if not part:
                break
            try:
                if not os.stat(folder).st_mode & 0o001:
                    if (folder, part) not in pairs:
                        pairs.append((folder, part))
                    break
            except OSError:
                break
            folder = os.path.join(folder, part)
    return pairs


def _expose(pairs: list[tuple[str, str]], scratch: str) -> None:
    stage = os.path.join(scratch, ".stage")
    os.mkdir(stage, 0o700)
    staged = []
    for i, (folder, child) in enumerate(pairs):
        target = os.path.join(stage, str(i))
        os.mkdir(target)
        _mount(os.fsencode(os.path.join(folder, child)), os.fsencode(target), None, MS_BIND | MS_REC, None)
        staged.append((target, folder, child))
    for folder in dict.fromkeys(folder for folder, _ in pairs):
        _mount(b"tmpfs", os.fsencode(folder), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64k,mode=755")
    for target, folder, child in staged:
        os.mkdir(os.path.join(folder, child))
        _mount(os.fsencode(target), os.fsencode(os.path.join(folder, child)), None, MS_MOVE, None)
        os.rmdir(target)
    os.rmdir(stage)


def sandbox_uid(pid: int) -> int:
    """The user a student process runs as: one of its own, so no two submissions share a user.

    Two processes of different users cannot signal, trace or read each other's files,
    and the process limit (``RLIMIT_NPROC``, counted per user) applies to one submission.
    """
    return UID_BASE + pid


def enter_namespaces(hidden_paths: list[str], scratch: str, exposed: list[tuple[str, str]] = ()) -> None:
    """New mount and network namespaces with ``hidden_paths`` covered; then a user of its own.

    The scratch folder becomes a private tmpfs that only this process's user can enter, and
    ``/dev/shm`` another, so nothing a submission writes is visible to any other.
    """
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    _mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
    if exposed:
        _expose(list(exposed), scratch)
    for path in hidden_paths:
        _hide(os.fsencode(path))
    uid = sandbox_uid(os.getpid())
    private = MS_NOSUID | MS_NODEV
    _mount(b"tmpfs", os.fsencode(scratch), b"tmpfs", private, f"size=256m,mode=700,uid={uid},gid={uid}".encode())
    if os.path.isdir("/dev/shm"):
        _mount(b"tmpfs", b"/dev/shm", b"tmpfs", private, f"size=64m,mode=700,uid={uid},gid={uid}".encode())
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    os.chdir(scratch)


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


def interpreter_paths() -> list[str]:
    """What the student process must be able to reach: Python, its libraries, this package."""
    import site

    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return [os.path.realpath(sys.executable), sys.prefix, sys.base_prefix, *site.getsitepackages(), here]


def preexec(hidden_paths: list[str], scratch: str, limits: Limits, namespaces: bool,
            exposed: list[tuple[str, str]] | None = None):
    """The function a student process runs first: between fork and exec, or right after a warm fork."""
    if exposed is None:
        exposed = blocked_ancestors(interpreter_paths()) if namespaces else []

    def run() -> None:
        os.setsid()
        die_with_parent()
        if namespaces:
            enter_namespaces(hidden_paths, scratch, exposed)
        apply_limits(limits)

    return run


@functools.cache
def namespaces_available() -> bool:
    """Whether this process can give children their own namespaces and user (probed once)."""
    if _libc is None or os.geteuid() != 0:
        return False
    import tempfile

    scratch = tempfile.mkdtemp(prefix="autograder-probe-")
    try:
        subprocess.run([sys.executable, "-I", "-c", "import numpy"], preexec_fn=preexec([], scratch, Limits(), True),
                       check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=scratch)
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        os.rmdir(scratch)
    return True
