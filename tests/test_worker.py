"""The warm worker: forked children behave like fresh ones, are isolated from each other, and survive its loss."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_sandbox import CASE, needs_namespaces

from autograder.notebook import Notebook, extract_definitions
from autograder.sandbox import isolation, runner


def run_source(source: str, names=("f",), warm=True, seconds=5.0):
    chunks, _ = extract_definitions(Notebook(path=None, code_cells=(source,), metadata={}))
    report = runner.run([c.to_json() for c in chunks], [runner.Task(n, n, (CASE,), seconds=seconds) for n in names],
                        hidden_paths=[], warm=warm)
    return [report.outcomes[n][0] for n in names]


MIXED = """
import numpy as np
import time
def f():
    return np.arange(3.0) * 2
def g():
    while True:
        pass
def h():
    raise ValueError("nope")
def k():
    import os
    os._exit(1)
def m():
    return {"a": (1, 2.5)}
"""


def test_warm_and_fresh_processes_report_the_same_outcomes():
    names = ("f", "g", "h", "k", "m")
    warm = run_source(MIXED, names, warm=True, seconds=0.5)
    fresh = run_source(MIXED, names, warm=False, seconds=0.5)
    assert warm == fresh
    assert warm[0]["value"]["$array"]
    assert warm[1]["error"]["type"] == "Timeout" and warm[3]["error"]["type"] == "Crash"


def test_the_warm_worker_is_faster_than_a_fresh_interpreter():
    source = "def f():\n    return 1\n"
    run_source(source)  # starts the worker
    timings = {}
    for warm in (True, False):
        started = time.perf_counter()
        for _ in range(5):
            run_source(source, warm=warm)
        timings[warm] = time.perf_counter() - started
    assert timings[True] < timings[False]


def test_a_lost_worker_is_replaced_and_grading_goes_on():
    assert run_source("def f():\n    return 1\n") == [{"value": 1, "mutated": []}]
    current = runner._warm_worker()
    current.process.kill()
    current.process.wait()
    assert run_source("def f():\n    return 2\n") == [{"value": 2, "mutated": []}]
    assert runner._warm_worker() is not current


SPY = """
import os, time
def f():
    open("mine.txt", "w").write("private")
    time.sleep(1.0)
    seen = []
    folders = ["/dev/shm"] + ["/tmp/" + name for name in os.listdir("/tmp")
               if name.startswith("autograder-") and "/tmp/" + name != os.getcwd()]
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            try:
                seen.append(open(os.path.join(folder, name)).read())
            except OSError:
                pass
    return [os.getuid(), os.path.exists("mine.txt"), seen]
"""


def test_concurrent_submissions_cannot_see_each_others_scratch():
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_source(SPY)[0], range(2)))
    for outcome in results:
        uid, mine, seen = outcome["value"]
        assert mine is True and seen == []
    if isolation.namespaces_available():
        uids = [r["value"][0] for r in results]
        assert len(set(uids)) == 2 and min(uids) >= isolation.UID_BASE


@needs_namespaces
def test_scratch_is_a_private_tmpfs_that_the_grader_never_sees_filled():
    source = "import os\ndef f():\n    open('note.txt', 'w').write('x')\n    return os.getcwd()\n"
    scratch = run_source(source)[0]["value"]
    assert not os.path.exists(scratch)


@pytest.mark.parametrize("warm", [True, False])
def test_a_child_dies_with_the_grader_side_of_its_pipe(warm):
    # A child that outlives its exercise's deadline is killed with its whole process group.
    outcome = run_source("import time\ndef f():\n    signal_proof = 0\n    while True:\n        time.sleep(0.01)\n",
                         warm=warm, seconds=0.3)[0]
    assert outcome["error"]["type"] == "Timeout"
