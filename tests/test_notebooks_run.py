"""Real Jupyter execution, as Run All does it: every release notebook runs top to bottom without stopping
(in an interactive kernel a failing check cell reports, it does not raise), shows no TensorFlow start-up
log line, and its check cells say what they should.

Each notebook is executed once; every test below reads that one run. The solution notebooks are executed
top to bottom by real ``nbgrader autograde`` in tests/test_nbgrader.py, which checks that run instead of
paying for a second one here."""

from __future__ import annotations

import functools
import os
import sys
import time

import nbformat
import pytest
from conftest import ROOT, release_notebook, tensorflow_noise
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder import checks

LABS = checks.lab_ids()
NOTEBOOKS = [release_notebook(lab) for lab in LABS]


@functools.cache
def run_all(path):
    """Executes the notebook as Run All does; returns (notebook, seconds, the error that stopped it)."""
    notebook = nbformat.read(path, as_version=4)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    os.environ.pop("NBGRADER_EXECUTION", None)  # a student's kernel, not nbgrader's
    # "immediate": the kernel is stopped once every output has arrived, without the ~2 s an interpreter that has
    # imported TensorFlow takes to tear itself down (as the course's nbgrader_config.py does for autograde).
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    try:
        client.execute()
        error = None
    except CellExecutionError as exc:
        error = exc
    return notebook, time.perf_counter() - started, error


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join([output.ename, output.evalue, *output.traceback])
    data = output.get("data", {})
    return "\n".join(str(data.get(kind, "")) for kind in ("text/plain", "text/html", "text/markdown"))


def outputs(cell) -> str:
    return "\n".join(_text(o) for o in cell.get("outputs", []))


def _id(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_run_all_reaches_the_last_cell(path):
    notebook, seconds, error = run_all(path)
    print(f"{_id(path)}: Run All took {seconds:.1f} s")
    assert error is None, f"Run All stopped: {str(error)[:2000]}"
    last = [c for c in notebook.cells if c.cell_type == "code"][-1]
    assert last.execution_count is not None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_no_tensorflow_log_line_reaches_the_student(path):
    notebook, _, _ = run_all(path)
    assert any("tensorflow" in c.source for c in notebook.cells), "the notebook no longer imports TensorFlow"
    for cell in notebook.cells:
        text = outputs(cell)
        noise = tensorflow_noise(text)
        assert not noise, f"{cell.source[:60]!r} printed {noise}: {text[:400]}"


def _check_cells(notebook):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


@pytest.mark.parametrize("lab", LABS)
def test_every_check_cell_of_the_release_reports_its_unfinished_exercise(lab):
    notebook, _, _ = run_all(release_notebook(lab))
    cells = _check_cells(notebook)
    for exercise in checks.load_lab(lab).exercises:
        text = outputs(cells[f"check_{exercise.name}"])
        assert exercise.name in text and f"✓ {exercise.name}" not in text, text[:400]
        assert "not implemented" in text.lower() or "still a stub" in text, text[:400]


@pytest.mark.parametrize("lab", LABS)
def test_demo_cells_of_the_release_run_without_an_error_output(lab):
    notebook, _, _ = run_all(release_notebook(lab))
    for cell in notebook.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source[:80]
