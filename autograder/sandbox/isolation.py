"""What a student process gets besides the sandbox: its limits, its environment, its user.

The boundary is :mod:`autograder.sandbox.bwrap` (bubblewrap). This module holds what
every mode shares — resource limits, the environment, the paths the child must read —
and decides the mode a grading run uses:

- ``"sandbox"``: bubblewrap can start here; every child runs inside it;
- ``"own-user"``: no sandbox, but the grader is root and Python is readable by others,
  so each child drops to a user of its own, which cannot read files that only root may
  read (the secret, the hidden checks, the results) nor signal the grader (the fallback
  of the Gradescope bundle, whose container may forbid namespaces);
- ``"trusted"``: neither; only for code the instructor trusts (a student's ``check`` of
  their own notebook, or ``grade --trusted-code``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys
from dataclasses import dataclass

from autograder.sandbox.bwrap import UID_BASE

PR_SET_PDEATHSIG = 1
MODES = ("sandbox", "own-user", "trusted")

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


def sandbox_uid(pid: int) -> int:
    """The user a student process runs as: one of its own, so no two submissions share a user.

    Two processes of different users cannot signal, trace or read each other's files,
    and the process limit (``RLIMIT_NPROC``, counted per user) applies to one submission.
    """
    return UID_BASE + pid


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


TENSORFLOW_LIMITS = Limits(memory_bytes=16 * 1024**3, cpu_seconds=600, processes=512)
"""TensorFlow's child: its thread pools and its address-space reservations (far beyond its real use)."""


def limits_for(profile: str) -> Limits:
    """The limits of a child of ``profile`` (``"numpy"`` or ``"tensorflow"``)."""
    return TENSORFLOW_LIMITS if profile == "tensorflow" else Limits()


def child_env(home: str, profile: str = "numpy") -> dict:
    """The whole environment of a student process: nothing of the grader's (it may hold the secret)."""
    env = {
        "PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": home, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",  # NPROC 1: no threads
        "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "AUTOGRADER_PROFILE": profile,
    }
    if profile == "tensorflow":  # small, deterministic pools: graded in parallel with other submissions
        env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", KERAS_BACKEND="tensorflow",
                   TF_ENABLE_ONEDNN_OPTS="0", ABSL_MIN_LOG_LEVEL="3")
    return env


def interpreter_paths() -> list[str]:
    """What the student process must be able to read: Python, its libraries, this package."""
    import site

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [os.path.dirname(os.path.realpath(sys.executable)), sys.prefix, sys.base_prefix,
            *site.getsitepackages(), package]


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


def can_drop_user() -> bool:
    """Whether a child without a sandbox can run as a user of its own: root, with Python readable by others."""
    return os.geteuid() == 0 and not _blocked_folders([os.path.realpath(p) for p in interpreter_paths()])


def become_sandbox_user(scratch: str) -> None:
    """Inside the sandbox, started as root: switch for good to the user that owns ``scratch``.

    :func:`autograder.sandbox.bwrap.prepare_scratch` made that user (100000 + a pid, so
    no two children share it). Changing uid clears the parent-death signal, so it is set
    again afterwards.
    """
    if os.getuid() == 0:
        uid = os.stat(scratch).st_uid
        if uid < UID_BASE:
            raise PermissionError(f"the scratch folder belongs to uid {uid}, not to a sandbox user")
        _become(uid)
    die_with_parent()
    os.chdir(scratch)


def preexec(scratch: str, own_user: bool):
    """What a child started without a sandbox runs between fork and exec.

    Its own session (so its whole process group can be killed) and, with ``own_user``
    (root), a user of its own that owns only ``scratch``; the parent-death signal is set
    after the switch, which would clear it.
    """

    def run() -> None:
        os.setsid()
        if own_user:
            uid = sandbox_uid(os.getpid())
            os.chown(scratch, uid, uid)
            os.chmod(scratch, 0o700)
            _become(uid)
        die_with_parent()
        os.chdir(scratch)

    return run


def mode(allow: tuple[str, ...] = ("sandbox",)) -> tuple[str, str | None]:
    """The strongest isolation this machine offers among ``allow``, and why a stronger one is not used.

    Raises:
        autograder.sandbox.bwrap.SandboxUnavailable: when none of ``allow`` is possible.
    """
    from autograder.sandbox import bwrap

    why = bwrap.probe()
    if why is None and "sandbox" in allow:
        return "sandbox", None
    if "own-user" in allow and can_drop_user():
        return "own-user", why
    if "trusted" in allow:
        return "trusted", why
    raise bwrap.SandboxUnavailable(why or "the sandbox is not allowed for this run")
