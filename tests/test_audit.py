"""The mutation audit: every lab's checks kill its reference solutions' mutants."""

from __future__ import annotations

import json
import sys
import time

import pytest

from autograder import audit, checks
from autograder.checks.core import Exercise, Lab
from autograder.cli import build_parser, main

KILL_RATE = 0.98


class Audits(dict):
    """One audit per lab, run when a test first asks for it and shared by that lab's assertions (the whole run is
    the slow part; each lab's tests run together on one worker: conftest's xdist groups).

    Its time is measured by ``python -m autograder audit --all``, which prints it per lab, not here:
    a timed assertion fails on a loaded machine, not on slow code.
    """

    def __missing__(self, lab):
        self[lab] = audit.audit_lab(lab)
        return self[lab]


@pytest.fixture(scope="module")
def audits():
    return Audits()


@pytest.mark.parametrize("lab", checks.lab_ids())
def test_kill_rate_over_non_equivalent_mutants(audits, lab):
    result = audits[lab]
    assert result.mutants > 30
    assert result.kill_rate >= KILL_RATE, result.text()
    assert (result.tensorflow > 0) == audit.audits_tensorflow(lab)  # AUDIT_TENSORFLOW says whether they are audited


@pytest.mark.parametrize("lab", checks.lab_ids())
def test_recorded_equivalents_are_live_and_explained(audits, lab):
    result = audits[lab]
    assert result.stale == [], "recorded equivalent mutants that are killed or gone: " + ", ".join(result.stale)
    for mutant_id, reason in audit.equivalent_mutants(lab).items():
        assert len(reason.split()) >= 4, f"{mutant_id}: give a one-line reason"


def _notebook(tmp_path, body: str):
    source = ("def add_one(x):\n    \"\"\"Docstring.\"\"\"\n    ### BEGIN SOLUTION\n" + body + "    ### END SOLUTION\n"
              "\n\ndef untouched(y):\n    return y - 1\n")
    path = tmp_path / "lab.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": source, "metadata": {}}]}))
    return path


def test_mutants_touch_only_solution_regions_and_have_stable_ids(tmp_path):
    path = _notebook(tmp_path, "    total = x + 1\n    return total\n")
    found = list(audit.mutants(path))
    assert {m.operator for m in found} == {"arithmetic", "constant", "drop_statement", "drop_return"}
    assert all(m.function == "add_one" for m in found)
    assert all("return y - 1" in m.source for m in found)  # the helper outside the region is never mutated
    assert "add_one · arithmetic · x + 1 → x - 1" in {m.id for m in found}
    moved = _notebook(tmp_path, "\n\n    total = x + 1\n    return total\n")
    assert [m.id for m in audit.mutants(moved)] == [m.id for m in found]  # ids do not depend on line numbers


def test_mutant_ids_are_unique_in_every_lab():
    for lab in checks.lab_ids():
        ids = [m.id for m in audit.mutants(audit.notebook_of(lab))]
        assert len(ids) == len(set(ids)), lab


def test_an_endless_or_crashing_mutant_is_killed_not_waited_for():
    def endless():
        while True:
            pass

    def crash():
        raise MemoryError

    started = time.monotonic()
    fates = audit._run_all([endless, crash, lambda: None, lambda: "failed"], parallel=2, timeout=1.0)
    assert [f for f, _ in fates] == ["killed", "killed", "survived", "killed"]
    assert fates[0][1] == "timed out" and "MemoryError" in fates[1][1]
    assert time.monotonic() - started < 10


def test_a_reference_that_fails_its_checks_stops_the_audit(tmp_path):
    lab = "01_gradient_descent"
    data = json.loads(audit.notebook_of(lab).read_text())
    for cell in data["cells"]:
        text = "".join(cell["source"])
        if "def central_difference" in text:
            cell["source"] = text.replace("(2 * h)", "h")
    path = tmp_path / f"{lab}.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(RuntimeError, match="fail their own checks"):
        audit.audit_lab(lab, ("s",), notebook=path)


DEMO = Lab(id="99_demo", title="Demo", hidden_module="", exercises=(
    Exercise(name="double", points=1, summary="2x", messages={
        "square": "You *squared* x: use `2 * x`.",
        "shape": "Your result has shape {received}: return one number per row.",
        "triple": "You tripled x.",
    }),
    Exercise(name="halve", points=1, summary="x / 2", messages={"triple": "You tripled x."}),
))


def test_a_cause_is_reached_when_a_killed_mutants_feedback_tells_it():
    """Markup is dropped as in feedback text; a placeholder stands for any text; a cause counts for its own
    exercise only (halve's "triple" told under double does not reach halve's)."""
    told = ["Lab 99 · double: You squared x: use 2 * x. (3 of 3 cases fail.)\n  case:     x = 1",
            "Lab 99 · double: Your result has shape (2, 3): return one number per row.",
            "Lab 99 · double: You tripled x.",
            "timed out"]
    assert audit.unreached_causes(DEMO, told) == {"halve": ["triple"]}
    assert audit.unreached_causes(DEMO, told[:1]) == {"double": ["shape", "triple"], "halve": ["triple"]}
    assert audit.unreached_causes(DEMO, told[:1], {"double"}) == {"double": ["shape", "triple"]}


def test_the_audit_reports_the_causes_no_mutant_was_told():
    """Lab 04's batch_update: flipping the step's sign is told "uphill" (ascent), no one-token change
    of the reference averages the gradient (mean), so mean stays unreached."""
    result = audit.audit_lab("04_backpropagation", ("s",), only=lambda m: m.function == "batch_update")
    unreached = result.unreached["batch_update"]
    assert "mean" in unreached and "ascent" not in unreached
    assert set(unreached) < set(checks.load_lab("04_backpropagation").exercise("batch_update").messages)
    assert f"causes no mutant was told · batch_update: {', '.join(unreached)}" in result.text().splitlines()


def test_cli_usage_error_without_a_lab(capsys):
    assert main(["audit"]) == 2
    assert "--all" in capsys.readouterr().err


HANG = "warmup_cosine · constant · False → True"
LEAK = "warmup_cosine · constant · False → True · #2"
SURVIVOR = "warmup_cosine · constant · 1.5 → 3.0"
KILLED = "warmup_cosine · arithmetic · total_steps - warmup_steps → total_steps + warmup_steps"
ADDED = """    import keras

    if False:
        __import__('time').sleep(3600)
    if False:
        keras.config.set_epsilon(0.5)
    peak_learning_rate = peak_learning_rate * (keras.config.epsilon() / 1e-07)
    spare = 1.5
"""


def test_tensorflow_mutants_are_graded_in_workers_with_a_watchdog(tmp_path):
    """Lab 13's Keras exercise, with lines added to its solution region: a sleep (in C) that a mutant turns on; a
    change of Keras's global epsilon that another turns on, and that every later mutant would see if the worker
    did not reset Keras between mutants (the rate is scaled by epsilon / 1e-7); a dead assignment whose mutant
    survives. One worker: the hanging mutant comes first, so the rest are graded by the worker that replaces it."""
    lab = "13_schedules"
    data = json.loads(audit.notebook_of(lab).read_text())
    cell = next(c for c in data["cells"] if "def warmup_cosine" in "".join(c["source"]))
    text = "".join(cell["source"])
    cell["source"] = text.replace("    import keras\n", ADDED, 1)
    assert cell["source"] != text
    path = tmp_path / f"{lab}.ipynb"
    path.write_text(json.dumps(data))
    had_tensorflow = "tensorflow" in sys.modules
    result = audit.audit_lab(lab, ("s",), notebook=path, tensorflow=True, parallel=1, tensorflow_timeout=12.0,
                             only=lambda m: m.id in (HANG, LEAK, SURVIVOR, KILLED))
    assert (result.mutants, result.tensorflow, result.killed) == (4, 4, 3), result.text()
    assert result.killed_by[HANG] == "timed out"
    for killed in (LEAK, KILLED):  # judged on their cases, not timed out
        assert result.killed_by[killed].startswith("Lab 13 · warmup_cosine: "), result.killed_by[killed]
    (survivor, diff), = result.survivors  # graded after LEAK, in the same worker: Keras was reset in between
    assert survivor.id == SURVIVOR and "-    spare = 1.5\n+    spare = 3.0" in diff
    assert "(4 of them TensorFlow)" in result.text()
    assert had_tensorflow or "tensorflow" not in sys.modules  # the workers import it, never this process


def test_tensorflow_mutants_are_left_out_unless_asked():
    assert not audit.audits_tensorflow("13_schedules")
    result = audit.audit_lab("13_schedules", ("s",), only=lambda m: m.function == "warmup_cosine")
    assert (result.mutants, result.tensorflow) == (0, 0)


def test_cli_tensorflow_switch():
    parse = build_parser().parse_args
    assert [parse(["audit", "13_schedules", *flag]).tensorflow for flag in ([], ["--tensorflow"],
                                                                            ["--no-tensorflow"])] == [None, True, False]
