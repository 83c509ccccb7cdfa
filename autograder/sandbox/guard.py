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
    "signal.pthread_kill": "send signals",
    "os.killpg": "send signals",
    "socket.__new__": "use the network",
    "socket.connect": "use the network",
    "socket.sendmsg": "use the network",
    "socket.bind": "use the network",
    "socket.sendto": "use the network",
    "socket.getaddrinfo": "use the network",
    "ctypes.dlopen": "load native libraries",
    "ctypes.dlsym": "load native libraries",
    "ctypes.call_function": "call native code",
    "gc.get_objects": "inspect the grader's memory",
    "gc.get_referrers": "inspect the grader's memory",
    "gc.get_referents": "inspect the grader's memory",
}
_NATIVE_SPAWNERS = ("_posixsubprocess",)
_MUTATING_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                    "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile"}
_LISTING_EVENTS = {"os.listdir", "os.scandir", "glob.glob", "os.walk"}


class SandboxViolation(PermissionError):
    """Raised inside student code when it tries something the grader forbids."""


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both resolved)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def install(hidden_paths: list[str], scratch: str, visible_paths: list[str] = ()) -> None:
    """Installs the hook; ``hidden_paths`` can be neither read nor listed.

    A path inside a hidden folder is readable again where a longer ``visible_paths`` entry
    holds it (the course folder is hidden, its ``autograder/`` and virtual environment are
    not; ``autograder/hidden`` inside those is hidden again). Nor can student code read
    the other submissions' scratch folders (the siblings of ``scratch`` that share its
    ``autograder-`` prefix) or other processes' ``/proc`` entries: where all submissions
    run as the grader's user, this keeps them apart and keeps the grader's environment
    (which may hold the course secret) out of reach. It may not open a folder outside its
    scratch folder either, so no ``dir_fd`` can lead its relative paths elsewhere.
    """
    rules = sorted([(os.path.realpath(p), False) for p in hidden_paths]
                   + [(os.path.realpath(p), True) for p in visible_paths], key=lambda rule: len(rule[0]))
    scratch = os.path.realpath(scratch)
    siblings = os.path.join(os.path.dirname(scratch), SCRATCH_PREFIX)
    own_proc = (f"/proc/{os.getpid()}", "/proc/self", "/proc/thread-self")
    realpath, fspath, isdir = os.path.realpath, os.fspath, os.path.isdir

    def resolve(path) -> str | None:
        if isinstance(path, int):
            return None
        try:
            return realpath(fspath(path) if not isinstance(path, bytes) else path.decode(errors="replace"))
        except Exception:  # noqa: BLE001 - an unreadable path is simply not checked further
            return None

    def secret(path: str) -> bool:
        if inside(path, scratch):
            return False
        if path.startswith(siblings):
            return True
        if path.startswith("/proc/") and path[6:7].isdigit() and not any(inside(path, p) for p in own_proc):
            return True
        verdict = True
        for folder, visible in rules:  # shortest first: the longest matching rule decides
            if inside(path, folder):
                verdict = visible
        return not verdict

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
            if writing and not inside(path, scratch) and path != "/dev/null":
                deny(f"write outside its scratch folder ({path})")
            if secret(path):
                deny(f"read {path}")
            if not inside(path, scratch) and isdir(path):
                deny(f"open a folder outside its scratch folder ({path})")
        elif event in _LISTING_EVENTS:
            path = resolve(args[0]) if args and args[0] is not None else None
            if path and secret(path):
                deny(f"list {path}")
        elif event in _MUTATING_EVENTS:
            for arg in args[:2]:
                path = resolve(arg)
                if path and not inside(path, scratch):
                    deny(f"change files outside its scratch folder ({path})")
        elif event == "os.chdir":
            path = resolve(args[0])
            if path and not inside(path, scratch):
                deny(f"change folder outside its scratch folder ({path})")
        elif event == "import" and args and args[0] in _NATIVE_SPAWNERS:
            deny("start programs")
        elif event in _FORBIDDEN_EVENTS:
            deny(_FORBIDDEN_EVENTS[event])

    # subprocess starts programs through _posixsubprocess.fork_exec, which raises no audit event of
    # its own: replace every reference to it that the process holds, and refuse importing it again.
    _unplug_native_spawners(deny)
    sys.addaudithook(hook)


def _unplug_native_spawners(deny) -> None:
    def refused(*args, **kwargs):
        deny("start programs")

    for name in _NATIVE_SPAWNERS:
        module = sys.modules.pop(name, None)
        if module is None:
            continue
        natives = {id(value) for value in vars(module).values() if callable(value)}
        for holder in list(sys.modules.values()):
            namespace = getattr(holder, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for key, value in list(namespace.items()):
                if value is module or id(value) in natives:
                    namespace[key] = refused
