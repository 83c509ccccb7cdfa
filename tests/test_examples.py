"""The README's first command: grading the bundled example class gives the documented result."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_grading_the_example_class(tmp_path):
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "examples/submitted", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grades.csv").read_text().splitlines() == [
        "student,lab,score,max_score",
        "ada,01_gradient_descent,14,14",
        "ada,02_gradient_checking,12,12",
        "ben,01_gradient_descent,5,14",
        "cy,02_gradient_checking,0,12",
        "dee,01_gradient_descent,0,14",
    ]
    feedback = (tmp_path / "ben" / "01_gradient_descent" / "feedback.md").read_text()
    assert "forward difference" in feedback and "go uphill" in feedback
    assert "time limit" in (tmp_path / "cy" / "02_gradient_checking" / "feedback.md").read_text()
    assert "not valid notebook JSON" in (tmp_path / "dee" / "01_gradient_descent" / "feedback.md").read_text()
