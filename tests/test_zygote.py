"""The zygotes' children (NumPy's and TensorFlow's), property by property, and TensorFlow's fork safety.

Each child here runs as a student who switched the audit hook off would (its forbidden-event
tables emptied: ``ctypes`` and ``os.kill`` work again), so what it can still do is what the
operating system lets it: its uid, the pids it sees, the paths it sees, the seccomp filter,
and whether it can signal, trace or read the memory of the zygote or of a sibling. Then:
death with the grading process, hundreds of forks whose results equal a fresh process's
(``AUTOGRADER_ZYGOTE_FORKS``, default 10; 300 where time allows), a child that hangs only when forked (the
run is redone in a fresh child and gets the fresh result), and byte-identical reports from
the real command line with and without the zygote on a lab with a Keras exercise.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

from autograder import encoding
from autograder.sandbox import bwrap, isolation, limits, runner, zygote

REASON = zygote.why_not()
pytestmark = pytest.mark.skipif(REASON is not None or platform.machine() != "x86_64",
                                reason=f"no zygote here: {REASON or platform.machine()}")
CASE = {"args": {"$tuple": []}, "kwargs": {"$dict": []}}


def _bound_parents(path: str) -> set[str]:
    """The names a child may see in ``path``: the next part of each bound path below it (the checkout, Python)."""
    bound = [Path(p) for p in isolation.interpreter_paths() + [str(ROOT)]]
    return {b.parts[len(Path(path).parts)] for b in bound if b.is_relative_to(path) and b != Path(path)}

UNHOOKED = """
import autograder.sandbox.guard as _guard
_guard._FORBIDDEN_EVENTS.clear()  # a student who switched the audit hook off: the OS decides from here on
"""

PROBE = UNHOOKED + r"""
import ctypes, errno, os, socket

def probe(targets, paths):
    libc = ctypes.CDLL(None, use_errno=True)
    def call(nr, *args):
        result = libc.syscall(nr, *args)
        return 0 if result >= 0 else ctypes.get_errno()
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    buffer = ctypes.create_string_buffer(8)
    local = (ctypes.c_void_p * 2)(ctypes.cast(buffer, ctypes.c_void_p), 8)
    remote = (ctypes.c_void_p * 2)(0x400000, 8)
    reach = {}
    for pid in targets:
        reach[str(pid)] = {"kill": call(62, pid, 0), "ptrace": call(101, 16, pid, 0, 0),
                           "process_vm_readv": call(310, pid, local, 1, remote, 1, 0), "pidfd_open": call(434, pid, 0),
                           "proc": os.path.exists(f"/proc/{pid}")}
    others = [pid for pid in range(2, 1 << 15) if call(62, pid, 0) != errno.ESRCH]
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        inet = 0
    except OSError as exc:
        inet = exc.errno
    shm = 0 if libc.open(b"/dev/shm/x", 0o101, 0o600) >= 0 else ctypes.get_errno()  # O_WRONLY | O_CREAT
    with open("mine.txt", "w") as handle:
        handle.write("scratch")
    return {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
            "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()), "others": others,
            "seccomp": status["Seccomp"].strip(), "nnp": status["NoNewPrivs"].strip(),
            "caps": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")],
            "reach": reach, "exists": {p: os.path.exists(p) for p in paths}, "inet": inet, "shm": shm,
            "listing": {p: sorted(os.listdir(p)) if os.path.isdir(p) else [] for p in paths},
            "init": call(62, 1, 9), "parent": os.getppid(),
            "unshare": call(272, 0x10000000), "fork": call(57), "mount": call(165, 0, 0, 0, 0, 0),
            "scratch": sorted(os.listdir(".")), "cwd": os.getcwd()}
"""


def _chunk(code: str, profile: str = "tensorflow") -> list[dict]:
    return [{"cell": 1, "line": 1, "code": code, "profile": profile}]


def _run(course, code: str, function: str, args=(), seconds: float = 60.0, profile: str = "tensorflow",
         **extra) -> tuple:
    case = {"args": encoding.encode(tuple(args)), "kwargs": {"$dict": []}}
    report = runner.run(_chunk(code, profile), [runner.Task(function, function, (case,), seconds)],
                        hidden_paths=[str(course)], profile=profile, **extra)
    outcome = report.outcomes[function][0]
    assert "value" in outcome, outcome
    return encoding.decode(outcome["value"]), report


def _zygote(course, profile: str = "tensorflow") -> zygote.Zygote:
    found = zygote.zygote_for([str(course)], runner.readable_paths([]), profile)
    assert found is not None and zygote.wait_ready(found), found and found.status
    return found


@pytest.mark.parametrize("profile", zygote.PROFILES)
def test_a_child_is_alone_as_its_own_user_under_seccomp(course, profile):
    found = _zygote(course, profile)
    sibling = runner.spawn(hidden_paths=[str(course)], profile=profile)  # waits for its exercise, alive
    try:
        assert sibling.zygote is found
        assert sibling.begin({"chunks": [], "skip": [], "define_seconds": 10.0, "limits": {}, "profile": profile})
        assert sibling.next_event(time.monotonic() + 60)["event"] == "defined"
        # host pids and the zygote's own (not 2: in its namespace, that is the child itself)
        targets = sorted({sibling.pid, found.process.pid, os.getpid(), 3, 4})
        before = zygote.stats[zygote.FORKS[profile]]
        paths = [str(course), str(course / "solutions"), "/tmp", "/home", str(ROOT / "solutions"),
                 str(ROOT / "tests"), tempfile.gettempdir() + "/" + os.path.basename(str(course))]
        out, _ = _run(course, PROBE, "probe", (targets, paths), profile=profile)
        assert zygote.stats[zygote.FORKS[profile]] == before + 1, "the probe ran in a fresh child, not in the zygote's"
        if limits.cgroups_unavailable() is None:  # moved by the grading process into a cgroup of its own
            assert sibling.cgroup is not None and sibling.pid in sibling.cgroup.pids()
    finally:
        sibling.close()
    assert out["uid"] >= zygote.UID_BASE and out["gid"] == out["uid"] and out["groups"] == []
    # bubblewrap's layout: an init (pid 1, root, which it cannot signal) and itself (pid 2), nothing else
    assert out["pid"] == 2 and out["pids"] == ["1", "2"] and out["others"] == [2]
    assert out["parent"] == 1 and out["init"] == 1  # EPERM
    assert (out["seccomp"], out["nnp"]) == ("2", "1")
    assert set(out["caps"]) == {"0000000000000000"}
    for pid, reach in out["reach"].items():  # nothing of the grader, the zygote or a sibling can be named
        assert reach["kill"] in (1, 3) and not reach["proc"], (pid, reach)
        assert reach["ptrace"] and reach["process_vm_readv"] and reach["pidfd_open"], (pid, reach)
    for path, seen in out["exists"].items():  # what the child sees *in* a folder, wherever the checkout is
        parents = _bound_parents(path)  # e.g. /tmp exists for a checkout under /tmp, holding only that path
        assert not seen if not parents else set(out["listing"][path]) <= parents, (path, out["listing"][path])
    assert out["inet"] == 1 and out["unshare"] == 1 and out["fork"] == 1 and out["mount"] == 1
    assert out["shm"] in (13, 30)  # EACCES, EROFS: no tmpfs shared with a sibling
    assert out["cwd"] == bwrap.SCRATCH and "mine.txt" in out["scratch"]


@pytest.mark.parametrize("profile", zygote.PROFILES)
def test_siblings_have_their_own_uids_and_scratch(course, profile):
    _zygote(course, profile)
    code = UNHOOKED + "import os\ndef who():\n    seen = sorted(os.listdir('.'))\n" \
        "    open('left-behind', 'w').write('x')\n    return [os.getuid(), seen]\n"
    results = []
    threads = [threading.Thread(target=lambda: results.append(_run(course, code, "who", profile=profile)[0]))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (first_uid, first_seen), (second_uid, second_seen) = results
    assert first_uid != second_uid
    assert "left-behind" not in first_seen and "left-behind" not in second_seen


KERAS = r"""
import os
import numpy as np
UID_BASE = UID_BASE_VALUE

def train(hang_when_forked):
    if hang_when_forked and os.getuid() >= UID_BASE:  # a zygote's children's uids: only a forked child hangs
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # deaf to its own timer, as a native deadlock
        while True:
            pass
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(7)
    x = np.linspace(-1, 1, 64).reshape(32, 2).astype("float32")
    y = (x[:, :1] * 0.5 - x[:, 1:] * 0.25).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    w = tf.Variable(np.float64(1.5))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum((w * tf.constant(x, tf.float64)) ** 2)
    gradient = tape.gradient(loss, w)
    return {"history": [float(v) for v in history.history["loss"]], "gradient": float(gradient),
            "weights": [w.tolist() for w in model.get_weights()],
            "devices": len(tf.config.list_logical_devices("CPU"))}
""".replace("UID_BASE_VALUE", str(zygote.UID_BASE))


def test_fork_safety_many_forks_equal_a_fresh_process_and_a_hang_falls_back(course):
    found = _zygote(course)
    reruns = zygote.stats["reruns"]
    started = time.monotonic()
    fresh, report = _run(course, KERAS, "train", (True,), seconds=10.0)  # hangs forked, is redone fresh
    assert zygote.stats["reruns"] == reruns + 1 and report.notes == []
    assert fresh["devices"] == 2 and len(fresh["history"]) == 2
    count = int(os.environ.get("AUTOGRADER_ZYGOTE_FORKS", "10"))
    results, forks = [], zygote.stats["forks"]
    lock = threading.Lock()

    def worker(n: int) -> None:
        for _ in range(n):
            value, _ = _run(course, KERAS, "train", (False,), seconds=60.0)
            with lock:
                results.append(value)

    threads = [threading.Thread(target=worker, args=(count // 2 + i * (count % 2),)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:  # each run has its deadlines (the child's limit, then the grader's kill): this is a backstop
        thread.join(timeout=60 + 30 * count)
    assert not any(thread.is_alive() for thread in threads), f"stuck past every deadline after {len(results)} runs"
    assert len(results) == count and zygote.stats["forks"] - forks == count
    assert zygote.stats["reruns"] == reruns + 1, "a forked child timed out or crashed: its run was redone fresh"
    assert all(result == fresh for result in results), [r for r in results if r != fresh][:1]
    assert found.process.poll() is None
    print(f"{count} forks in {time.monotonic() - started:.1f} s, every result equal to a fresh process's")


GRADER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from autograder.sandbox import runner
profile = sys.argv[2]
child = runner.spawn(hidden_paths=[], profile=profile)
chunk = {"cell": 1, "line": 1, "code": "import time\ntime.sleep(300)\n", "profile": profile}
assert child.begin({"chunks": [chunk], "skip": [], "define_seconds": 300.0, "limits": {}, "profile": profile})
print(json.dumps([child.pid, child.zygote.process.pid]), flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("profile", zygote.PROFILES)
def test_children_and_zygote_die_with_the_grader(profile):
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(ROOT), profile], stdout=subprocess.PIPE, text=True,
                              stderr=subprocess.DEVNULL)
    try:
        child, bubblewrap = json.loads(grader.stdout.readline())
        assert os.path.exists(f"/proc/{child}") and os.path.exists(f"/proc/{bubblewrap}")
        nspid = next(line.split()[1:] for line in Path(f"/proc/{child}/status").read_text().splitlines()
                     if line.startswith("NSpid"))
        assert len(nspid) >= 3 and nspid[-1] == "2"  # pid 2 of its own namespace (its init is 1), under bubblewrap's
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        grader.stdout.close()
    ends = time.monotonic() + 20
    while time.monotonic() < ends and (os.path.exists(f"/proc/{child}") or os.path.exists(f"/proc/{bubblewrap}")):
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{child}") and not os.path.exists(f"/proc/{bubblewrap}")


def test_zygote_and_fresh_children_give_byte_identical_reports(tmp_path):
    lab = "01_gradient_descent"
    submitted = tmp_path / "submitted" / "ada" / lab
    submitted.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / lab / f"{lab}.ipynb", submitted / f"{lab}.ipynb")
    broken = tmp_path / "submitted" / "bob" / lab
    broken.mkdir(parents=True)
    notebook = json.loads((ROOT / "solutions" / lab / f"{lab}.ipynb").read_text())
    for cell in notebook["cells"]:  # a Keras exercise that fails: its feedback must be the same too
        source = "".join(cell["source"])
        if source.startswith("def keras_descent"):
            cell["source"] = source.replace("return np.array(trajectory)", "return 0.5 * np.array(trajectory)")
    (broken / f"{lab}.ipynb").write_text(json.dumps(notebook))
    outputs, messages = {}, {}
    for name, switch in (("zygote", "1"), ("fresh", "0")):
        env = {**os.environ, "AUTOGRADER_SECRET": "zygote-test", zygote.ENV_SWITCH: switch}
        done = subprocess.run([sys.executable, "-m", "autograder", "grade", "submitted", "--out", name, "--jobs", "2"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        messages[name] = done.stderr
        outputs[name] = {str(p.relative_to(tmp_path / name)): p.read_bytes()
                         for p in sorted((tmp_path / name).rglob("*")) if p.is_file()}
    assert "starts a fresh interpreter" not in messages["zygote"]
    assert outputs["zygote"] == outputs["fresh"]
    grades = outputs["zygote"]["grades.csv"].decode().splitlines()
    assert len(grades) == 3 and grades[1].split(",")[2] == grades[1].split(",")[3], grades  # ada: full marks
    assert float(grades[2].split(",")[2]) < float(grades[2].split(",")[3]), grades  # bob: keras_descent fails


def test_grading_runs_with_the_same_sandbox_view_share_a_zygote(tmp_path):
    """Hidden paths outside everything a child can read (each run's course folder in /tmp) do not change the view;
    a hidden path inside it (the grader's hidden cases) does, and gets a zygote of its own."""
    readable = runner.readable_paths([])
    first = zygote.zygote_for([str(tmp_path / "course-a")], readable, "numpy")
    assert first is not None
    assert zygote.zygote_for([str(tmp_path / "course-b"), str(tmp_path / "out")], readable, "numpy") is first
    inside = str(ROOT / "autograder" / "hidden")
    covered = zygote.zygote_for([str(tmp_path / "course-a"), inside], readable, "numpy")
    assert covered is not None and covered is not first
    assert zygote.key([inside], readable, "numpy") != zygote.key([], readable, "numpy")
    assert zygote.key([], readable, "numpy") != zygote.key([], readable, "tensorflow")
