"""The sandbox's layers, each on its own: OS isolation, the audit hook, resource limits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox import isolation, runner
from autograder.sandbox.isolation import Limits

needs_namespaces = pytest.mark.skipif(not isolation.namespaces_available(),
                                      reason="needs root on Linux with mount and network namespaces")
CASE = {"args": {"$tuple": []}, "kwargs": {"$dict": []}}


@pytest.fixture
def secret_dir():
    """A world-readable folder, as solutions/ is in a checkout: only the sandbox may hide it."""
    parent = Path(tempfile.mkdtemp(prefix="autograder-course-"))
    parent.chmod(0o755)
    folder = parent / "solutions"
    folder.mkdir(mode=0o755)
    (folder / "answer.txt").write_text("42")
    (folder / "answer.txt").chmod(0o644)
    yield folder
    shutil.rmtree(parent)


@pytest.fixture
def scratch():
    folder = tempfile.mkdtemp(prefix="autograder-scratch-")
    yield folder
    shutil.rmtree(folder)


PROBE = """
import os, socket
print("uid", os.getuid())
try:
    open({secret!r}).read(); print("read: yes")
except OSError as exc:
    print("read: no", type(exc).__name__)
try:
    print("listing", os.listdir({folder!r}))
except OSError as exc:
    print("listing: no", type(exc).__name__)
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1); print("net: yes")
except OSError:
    print("net: no")
"""


@needs_namespaces
def test_os_layer_alone_hides_secrets_drops_to_its_own_user_and_cuts_the_network(secret_dir, scratch):
    code = PROBE.format(secret=str(secret_dir / "answer.txt"), folder=str(secret_dir))
    plan = isolation.mount_plan([str(secret_dir)], isolation.interpreter_paths())
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=scratch,
                            preexec_fn=isolation.preexec(plan, str(scratch), Limits(), True), timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[1]) >= isolation.UID_BASE
    assert result.stdout.splitlines()[1:] == [ "read: no PermissionError", "listing: no PermissionError",
                                        "net: no"]


def test_without_the_os_layer_the_folder_would_be_readable(secret_dir):
    assert (secret_dir / "answer.txt").stat().st_mode & 0o004


def run_one(source: str, hidden=()):
    from autograder.notebook import Notebook, extract_definitions

    chunks, _ = extract_definitions(Notebook(path=None, code_cells=(source,), metadata={}))
    report = runner.run([c.to_json() for c in chunks], [runner.Task("f", "f", (CASE,), seconds=5.0),
                                                        runner.Task("ok", "ok", (CASE,))],
                        hidden_paths=list(hidden))
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


def test_reading_a_hidden_path_is_refused_by_the_audit_hook_too(secret_dir):
    source = f"def f():\n    return open({str(secret_dir / 'answer.txt')!r}).read()\n"
    hostile, ok = run_one(source + OK, hidden=[str(secret_dir)])
    assert "error" in hostile and ok["value"] == 1


def test_printing_gigabytes_costs_nothing_but_time():
    hostile, ok = run_one("def f():\n    for _ in range(10**5):\n        print('x' * 10**4)\n    return 7\n" + OK)
    assert hostile == {"value": 7, "mutated": []} and ok["value"] == 1
