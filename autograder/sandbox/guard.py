"""An audit hook for the student process: the in-process layer of the sandbox.

The operating-system layers (a mount namespace that hides secret folders, no network,
an unprivileged user, resource limits) are set up by :mod:`autograder.sandbox.isolation`
where the platform allows. This hook is installed in every case, so that even where
none of those is available the student's code cannot read the solutions or hidden
checks, start programs, open sockets, or write and delete outside its scratch folder.
Audit hooks cannot be removed once installed (PEP 578).
"""

from __future__ import annotations

import os
import sys

SCRATCH_PREFIX = "autograder-"
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

_FORBIDDEN_EVENTS = {
    "os.system": "start programs",
    "os.exec": "start programs",
    "os.posix_spawn": "start programs",
    "os.spawn": "start programs",
    "os.fork": "start processes",
    "os.forkpty": "start processes",
    "subprocess.Popen": "start programs",
    "os.kill": "send signals",
    "os.killpg": "send signals",
    "socket.connect": "use the network",
    "socket.bind": "use the network",
    "socket.sendto": "use the network",
    "socket.getaddrinfo": "use the network",
    "ctypes.dlopen": "load native libraries",
    "ctypes.dlsym": "load native libraries",
    "ctypes.call_function": "call native code",
}
_MUTATING_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                    "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile"}
_LISTING_EVENTS = {"os.listdir", "os.scandir", "glob.glob", "os.walk"}


class SandboxViolation(PermissionError):
    """Raised inside student code when it tries something the grader forbids."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def install(hidden_paths: list[str], scratch: str) -> None:
    """Installs the hook; ``hidden_paths`` can be neither read nor listed.

    Nor can the other submissions' scratch folders, the siblings of ``scratch`` that share
    its ``autograder-`` prefix: where all submissions run as one user, this keeps them apart.
    """
    hidden = [os.path.realpath(p) for p in hidden_paths]
    scratch = os.path.realpath(scratch)
    siblings = os.path.join(os.path.dirname(scratch), SCRATCH_PREFIX)
    realpath, fspath = os.path.realpath, os.fspath

    def resolve(path) -> str | None:
        if isinstance(path, int):
            return None
        try:
            return realpath(fspath(path) if not isinstance(path, bytes) else path.decode(errors="replace"))
        except Exception:  # noqa: BLE001 - an unreadable path is simply not checked further
            return None

    def deny(what: str):
        raise SandboxViolation(f"the grader does not let student code {what}")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path = resolve(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and not _inside(path, scratch) and path != "/dev/null":
                deny(f"write outside its scratch folder ({path})")
            if any(_inside(path, h) for h in hidden) or (path.startswith(siblings) and not _inside(path, scratch)):
                deny(f"read {path}")
        elif event in _LISTING_EVENTS:
            path = resolve(args[0]) if args and args[0] is not None else None
            if path and (any(_inside(path, h) for h in hidden) or (path.startswith(siblings)
                                                                   and not _inside(path, scratch))):
                deny(f"list {path}")
        elif event in _MUTATING_EVENTS:
            for arg in args[:2]:
                path = resolve(arg)
                if path and not _inside(path, scratch):
                    deny(f"change files outside its scratch folder ({path})")
        elif event in _FORBIDDEN_EVENTS:
            deny(_FORBIDDEN_EVENTS[event])

    sys.addaudithook(hook)
