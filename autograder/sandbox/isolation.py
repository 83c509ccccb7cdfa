"""What a student process gets besides the sandbox: its limits, its environment, its user.

The boundary is :mod:`autograder.sandbox.bwrap` (bubblewrap), which this module uses and
which never uses it. This module holds what every mode shares — resource limits (from
:mod:`autograder.sandbox.limits`), the environment, the paths the child must read, the
switch to a user of its own — and decides the mode a grading run uses:

- ``"sandbox"``: bubblewrap can start here; every child runs inside it;
- ``"own-user"``: no sandbox, but the grader is root and Python is readable by others,
  so each child drops to a user of its own, which cannot read files that only root may
  read (the secret, the hidden checks, the results) nor signal the grader (the fallback
  of the Gradescope bundle, whose container may forbid namespaces); it loads the same
  seccomp filter as the sandbox itself, with every ``socket`` call refused (it shares the
  host's network), a network namespace of its own where the kernel allows one, and its
  cgroup;
- ``"trusted"``: neither; only for code the instructor trusts (a student's ``check`` of
  their own notebook, or ``grade --trusted-code``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

from autograder.sandbox import bwrap, seccomp
from autograder.sandbox import limits as limits_module
from autograder.sandbox.limits import TENSORFLOW_LIMITS, Limits, apply_limits, limits_for  # noqa: F401 - their home

UID_BASE = bwrap.UID_BASE
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
MODES = ("sandbox", "own-user", "trusted")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True) if sys.platform == "linux" else None


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


def child_env(home: str, profile: str = "numpy") -> dict:
    """The whole environment of a student process: nothing of the grader's (it may hold the secret)."""
    env = {
        "PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": home, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",  # NPROC 1: no threads
        "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "AUTOGRADER_PROFILE": profile,
    }
    if profile == "tensorflow":  # small, deterministic pools under a thread cap (limits.TENSORFLOW_THREADS)
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
    """Whether a child without a sandbox can run as a user of its own under the seccomp filter.

    Root, on Linux with a filter for this processor, with Python readable by others.
    """
    return (sys.platform == "linux" and seccomp.supported() and os.geteuid() == 0
            and not _blocked_folders([os.path.realpath(p) for p in interpreter_paths()]))


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


def preexec(scratch: str, own_user: bool, profile: str = "numpy"):
    """What a child started without a sandbox runs between fork and exec.

    Its own session (so its whole process group can be killed) and the OOM killer's first
    place. With ``own_user`` (root, the fallback where bubblewrap cannot start): a cgroup of
    its own set to ``profile``'s limits where the machine offers one, a network namespace of
    its own where the kernel allows it (nothing but a downed loopback), a user of its own
    that owns only ``scratch``, and the sandbox's seccomp filter with every ``socket`` call
    refused. The parent-death signal is set after the switch, which would clear it.

    The cgroup is made here, in the grading process; it is removed when the grading process
    ends (this mode grades one submission per run: Gradescope).
    """
    cgroup = limits_module.child_cgroup(limits_for(profile)) if own_user else None
    window = limits_module.cpu_window(limits_for(profile))
    program = seccomp.program(sockets=False) if own_user and seccomp.supported() else None

    def run() -> None:
        os.setsid()
        limits_module.pin(window)
        limits_module.child_oom_score()
        if own_user:
            if cgroup is not None:
                try:
                    cgroup.join()
                except OSError:
                    pass
            if _libc is not None:
                _libc.unshare(CLONE_NEWNET)  # refused in most containers: then the filter is what keeps it off
            uid = sandbox_uid(os.getpid())
            os.chown(scratch, uid, uid)
            os.chmod(scratch, 0o700)
            _become(uid)
        die_with_parent()
        os.chdir(scratch)
        if program is not None:
            seccomp.install(program)

    return run


def mode(allow: tuple[str, ...] = ("sandbox",)) -> tuple[str, str | None]:
    """The strongest isolation this machine offers among ``allow``, and why a stronger one is not used.

    Raises:
        autograder.sandbox.bwrap.SandboxUnavailable: when none of ``allow`` is possible.
    """
    why = bwrap.probe()
    if why is None and "sandbox" in allow:
        return "sandbox", None
    if "own-user" in allow and can_drop_user():
        return "own-user", why
    if "trusted" in allow:
        return "trusted", why
    raise bwrap.SandboxUnavailable(why or "the sandbox is not allowed for this run")
