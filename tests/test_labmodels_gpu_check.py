"""``benchmarks/gpu_check.sh --cpu-smoke``: the GPU check's own commands, run on the CPU, end to end.

One run of the script (about a minute of CPU: seven ``python -m labmodels train`` processes), its results read
from the ``gpu_check.json`` and ``gpu_check.md`` it writes. Only that it works and what it reports are
checked: the figures of a shared CPU are no measurement.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    done = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--cpu-smoke"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "OUT": str(out)})
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout, json.loads((out / "gpu_check.json").read_text()), (out / "gpu_check.md").read_text()


def test_every_training_is_the_labmodels_command(smoke):
    _, results, _ = smoke
    assert results["smoke"] and results["runs"]
    assert all(run["command"].startswith("python -m labmodels train ") for run in results["runs"])
    assert all(run["status"] == 0 for run in results["runs"]), results["runs"]


def test_it_reports_examples_per_second_in_a_table(smoke):
    output, results, table = smoke
    rows = results["throughput"]
    assert [row["configuration"] for row in rows] == ["default", "default, nondeterministic", "tuned"]
    assert all(row["device"] == "CPU" and row["examples_per_second"] > 0 for row in rows)
    assert table.splitlines()[0] == "| device | precision | flags | examples/s | GPU busy (mean) |"
    assert len(table.splitlines()) == 2 + len(rows) and "examples/s;" in output


def test_the_profile_resume_and_mirrored_parts_ran(smoke):
    _, results, _ = smoke
    assert results["input_profile"]["status"] == 0 and results["input_profile"]["traces"]
    assert results["resume"]["ok"], results["resume"]
    assert results["mirrored"]["status"] == 0 and "2 replicas" in results["mirrored"]["last_line"]
    assert results["time_to_accuracy"]["epochs"] == 3  # 97 % is not reached in the smoke's 3 epochs
    assert "errors" not in results
