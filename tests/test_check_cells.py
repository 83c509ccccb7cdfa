"""Check cells: they report in a kernel and raise under nbgrader, with a time limit, in a real IPython shell too."""

from __future__ import annotations

import signal
import time

import pytest

from autograder.check_cells import Checker, CheckFailed, CheckInterrupted, run_with_time_limit
from autograder.checks.core import NOT_IMPLEMENTED

LAB = "01_gradient_descent"


def central_difference(f, x, h=1e-5):
    raise NotImplementedError("central_difference")


def solved_central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


solved_central_difference.__name__ = "central_difference"


@pytest.fixture
def interactive(monkeypatch):
    """A kernel as a student runs it: nbgrader's variable unset."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def test_a_failing_check_reports_and_returns_in_an_interactive_kernel(interactive, capsys):
    assert Checker(LAB)(central_difference) is None
    assert capsys.readouterr().out == f"✗ Lab 01 · central_difference: {NOT_IMPLEMENTED}\n"


@pytest.mark.parametrize("step", ["validate", "autograde"])
def test_a_failing_check_raises_when_nbgrader_executes_the_notebook(step, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", step)
    with pytest.raises(CheckFailed, match="not implemented yet") as raised:
        Checker(LAB)(central_difference)
    assert raised.value._render_traceback_() == [f"Lab 01 · central_difference: {NOT_IMPLEMENTED}"]


@pytest.mark.parametrize("step", [None, "autograde"])
def test_a_passing_check_shows_its_points_and_never_raises(step, monkeypatch, capsys):
    if step is None:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    else:
        monkeypatch.setenv("NBGRADER_EXECUTION", step)
    Checker(LAB)(solved_central_difference)
    assert capsys.readouterr().out == ("✓ central_difference: all 2 public cases pass "
                                       "(2 points once the hidden cases pass too)\n")


def test_an_endless_loop_ends_in_one_line_after_the_time_limit(interactive, capsys):
    def central_difference(f, x, h=1e-5):
        while True:
            pass

    started = time.monotonic()
    Checker(LAB)(central_difference)
    assert time.monotonic() - started < 10
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("✗ Lab 01 · central_difference: did not finish within its time limit (5 s")
    assert second.startswith("  case:")


def test_the_time_limit_restores_the_previous_alarm_handler():
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        outcomes = run_with_time_limit(lambda case: time.sleep(5), ["a", "b"], 0.2)
        assert [o["error"]["type"] for o in outcomes] == ["Timeout", "Timeout"]
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_an_interrupt_gives_one_line_and_still_stops_the_run(interactive):
    def central_difference(f, x, h=1e-5):
        raise KeyboardInterrupt

    with pytest.raises(CheckInterrupted) as raised:
        Checker(LAB)(central_difference)
    assert isinstance(raised.value, KeyboardInterrupt)
    assert len(raised.value._render_traceback_()) == 1


@pytest.fixture
def shell(interactive, tmp_path, monkeypatch):
    """A real IPython shell (the kernel's interpreter, without the messaging)."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    from IPython.core.interactiveshell import InteractiveShell

    instance = InteractiveShell.instance()
    yield instance
    InteractiveShell.clear_instance()


STUB = "def central_difference(f, x, h=1e-5):\n    raise NotImplementedError('central_difference')\n"
CHECK = "from autograder.check_cells import Checker\ncheck = Checker('01_gradient_descent')\ncheck(central_difference)"


def test_in_ipython_a_definition_cell_that_failed_is_named_instead_of_not_implemented(shell, capsys):
    shell.run_cell(STUB, store_history=True)
    broken = shell.run_cell("def central_difference(f, x, h=1e-5):\nreturn (f(x + h) - f(x - h)) / (2 * h)\n",
                           store_history=True)
    assert isinstance(broken.error_before_exec, IndentationError)
    capsys.readouterr()
    result = shell.run_cell(CHECK, store_history=True)
    assert result.success
    out = capsys.readouterr().out
    assert "has an IndentationError (line 2: expected an indented block" in out
    assert "the kernel still has the old central_difference" in out


def test_in_ipython_under_nbgrader_the_failure_is_plain_text_without_a_grader_traceback(shell, capsys,
                                                                                           monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    shell.run_cell(STUB, store_history=True)
    result = shell.run_cell(CHECK, store_history=True)
    assert isinstance(result.error_in_exec, CheckFailed)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert f"Lab 01 · central_difference: {NOT_IMPLEMENTED}" in text
    assert "\x1b[" not in text.split("Lab 01 · central_difference", 1)[1]
    assert "check_cells.py" not in text


def test_in_a_real_kernel_a_failing_check_shows_an_html_box_and_the_next_cell_runs(interactive):
    import nbformat
    from nbclient import NotebookClient

    cells = [STUB, CHECK, "print('the notebook went on')"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()  # no allow_errors: an error would raise
    (box,) = notebook.cells[1].outputs
    assert box.output_type == "display_data"
    assert "autograder-feedback" in box.data["text/html"] and "✗" in box.data["text/html"]
    assert box.data["text/plain"] == f"✗ Lab 01 · central_difference: {NOT_IMPLEMENTED}"
    assert notebook.cells[2].outputs[0].text == "the notebook went on\n"
