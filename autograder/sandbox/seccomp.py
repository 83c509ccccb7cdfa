"""The seccomp filter of a student process: the system calls that Python cannot audit.

An audit hook sees what Python code asks for, never what native code does (a compiled
extension, ``ctypes`` past the hook, a rebound guard). This filter is loaded by
bubblewrap (``--seccomp FD``) just before the student's interpreter starts and binds
every thread and every line of native code in it. It refuses, with ``EPERM``:

- reaching other processes: ``ptrace``, ``process_vm_*``, ``pidfd_*``, ``kcmp``, and
  ``prlimit64`` on any process but itself;
- making special files and changing the file-system view: ``mknod``/``mknodat`` (a FIFO
  where the grader's output goes), the ``mount`` family, ``pivot_root``, ``chroot``;
- new namespaces, new processes and new programs' helpers: ``unshare``, ``setns``,
  ``clone`` with a namespace flag or without ``CLONE_THREAD`` (threads stay possible,
  processes do not), ``fork``/``vfork``; ``clone3`` answers ``ENOSYS`` so the C library
  falls back to ``clone``, whose flags the filter can read;
- the kernel's larger attack surface: ``bpf``, ``perf_event_open``, ``userfaultfd``,
  ``io_uring_*``, ``keyctl``/``add_key``/``request_key``, handles, modules, ``kexec``,
  clocks, swap, reboot, ``personality``;
- memory that no per-process limit sees and code that ``noexec`` would stop: ``memfd_create``
  and ``memfd_secret`` (a memfd filled with ``fallocate`` is outside ``RLIMIT_AS``, and native
  code carried in one runs from it whatever the scratch's ``noexec``), SysV ``shmget``/``shmat``
  (segments outlive their mapping);
- sockets of any family but ``AF_UNIX`` (the child has no network anyway); with
  ``sockets=False`` (a child without a network namespace of its own: the own-user fallback)
  every ``socket`` call, so nothing on the host's loopback can be reached.

The program is classic BPF, assembled here so that no library is needed. :func:`install`
loads it into the calling process, for a child that bubblewrap does not start.
"""

from __future__ import annotations

import errno
import platform
import struct

_LD_W_ABS, _JEQ, _JSET, _JGE, _RET = 0x20, 0x15, 0x45, 0x35, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000
_NR, _ARCH, _ARG0_LOW, _ARG0_HIGH = 0, 4, 16, 20
_X32_BIT = 0x40000000
CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
AF_UNIX = 1

_DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "kcmp",
    "mknod", "mknodat", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns", "fork", "vfork", "bpf",
    "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl",
    "add_key", "request_key", "open_by_handle_at", "name_to_handle_at", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "iopl", "ioperm", "swapon", "swapoff", "reboot", "acct",
    "syslog", "quotactl", "fanotify_init", "lookup_dcookie", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "personality", "uselib", "migrate_pages", "move_pages",
    "memfd_create", "memfd_secret", "shmget", "shmat",
)

# System call numbers from the kernel's arch/x86/entry/syscalls/syscall_64.tbl and
# include/uapi/asm-generic/unistd.h (arm64); a name missing on an architecture is skipped.
_TABLES = {
    "x86_64": (0xC000003E, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_open": 434,
        "pidfd_send_signal": 424, "pidfd_getfd": 438, "kcmp": 312, "mknod": 133, "mknodat": 259, "mount": 165,
        "umount2": 166, "pivot_root": 155, "chroot": 161, "move_mount": 429, "open_tree": 428, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "unshare": 272, "setns": 308,
        "fork": 57, "vfork": 58, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "keyctl": 250, "add_key": 248, "request_key": 249,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "init_module": 175, "finit_module": 313,
        "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320, "iopl": 172, "ioperm": 173,
        "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163, "syslog": 103, "quotactl": 179,
        "fanotify_init": 300, "lookup_dcookie": 212, "settimeofday": 164, "clock_settime": 227,
        "clock_adjtime": 305, "adjtimex": 159, "sethostname": 170, "setdomainname": 171, "personality": 135,
        "uselib": 134, "migrate_pages": 256, "move_pages": 279, "memfd_create": 319, "memfd_secret": 447,
        "shmget": 29, "shmat": 30,
        "prlimit64": 302, "clone": 56, "clone3": 435, "socket": 41,
    }),
    "aarch64": (0xC00000B7, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_open": 434,
        "pidfd_send_signal": 424, "pidfd_getfd": 438, "kcmp": 272, "mknodat": 33, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "unshare": 97, "setns": 268, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "keyctl": 219, "add_key": 217, "request_key": 218, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "kexec_load": 104, "kexec_file_load": 294, "swapon": 224, "swapoff": 225, "reboot": 142, "acct": 89,
        "syslog": 116, "quotactl": 60, "fanotify_init": 262, "lookup_dcookie": 18, "settimeofday": 170,
        "clock_settime": 112, "clock_adjtime": 266, "adjtimex": 171, "sethostname": 161, "setdomainname": 162,
        "personality": 92, "migrate_pages": 238, "move_pages": 239, "memfd_create": 279, "memfd_secret": 447,
        "shmget": 194, "shmat": 196,
        "prlimit64": 261, "clone": 220, "clone3": 435, "socket": 198,
    }),
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def _when_nr(nr: int, block: list[bytes]) -> list[bytes]:
    """``block`` runs when the call number is ``nr``; otherwise execution skips past it."""
    return [_insn(_JEQ, nr, 0, len(block)), *block]


def supported() -> bool:
    """Whether this machine's architecture has a filter."""
    return platform.machine() in _TABLES


def program(machine: str | None = None, sockets: bool = True) -> bytes:
    """The filter for ``machine`` (default: this one) as ``struct sock_filter`` records.

    ``sockets=False`` refuses every ``socket`` call (``AF_UNIX`` too): for a child that shares
    the host's network namespace.

    Raises:
        ValueError: for an architecture without a system call table here.
    """
    machine = machine or platform.machine()
    if machine not in _TABLES:
        raise ValueError(f"no seccomp filter for this architecture. Received: machine={machine!r}")
    arch, numbers = _TABLES[machine]
    eperm, load_nr = _insn(_RET, _ERRNO | errno.EPERM), _insn(_LD_W_ABS, _NR)
    code = [_insn(_LD_W_ABS, _ARCH), _insn(_JEQ, arch, 1, 0), _insn(_RET, _KILL), load_nr]
    if machine == "x86_64":  # the x32 ABI reaches the same calls under other numbers
        code += [_insn(_JGE, _X32_BIT, 0, 1), eperm]
    for name in _DENIED:
        if name in numbers:
            code += _when_nr(numbers[name], [eperm])
    code += _when_nr(numbers["clone3"], [_insn(_RET, _ERRNO | errno.ENOSYS)])
    code += _when_nr(numbers["prlimit64"], [  # allowed on itself only: pid 0
        _insn(_LD_W_ABS, _ARG0_LOW), _insn(_JEQ, 0, 0, 2), _insn(_LD_W_ABS, _ARG0_HIGH), _insn(_JEQ, 0, 1, 0),
        eperm, load_nr])
    code += _when_nr(numbers["clone"], [  # threads only, in no new namespace
        _insn(_LD_W_ABS, _ARG0_LOW), _insn(_JSET, CLONE_NAMESPACES, 1, 0), _insn(_JSET, CLONE_THREAD, 1, 0),
        eperm, load_nr])
    code += _when_nr(numbers["socket"], [
        _insn(_LD_W_ABS, _ARG0_LOW), _insn(_JEQ, AF_UNIX, 1, 0), eperm, load_nr] if sockets else [eperm])
    code.append(_insn(_RET, _ALLOW))
    return b"".join(code)


PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def install(filter_program: bytes) -> None:
    """Loads ``filter_program`` into the calling process (and all it starts), with no new privileges.

    For a child that bubblewrap does not start (the own-user fallback, a forked zygote child):
    call it after the last step that needs a refused call, right before student code or ``exec``.

    Raises:
        OSError: where the kernel refuses the filter.
    """
    import ctypes

    class _Filter(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    fprog = _Filter(len(filter_program) // 8, filter_program)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
