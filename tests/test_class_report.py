"""The class report `grade` writes for the instructor, rendered by a real browser (headless Chromium)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, copy_small_class

from autograder import checks, class_report, merge
from autograder.grading import ExerciseResult, SubmissionResult

HOSTILE = '<img src=x onerror=alert(1)> & *bold* | `x`'


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The example class plus a student with a hostile name whose notebook cannot be read, graded by the CLI."""
    work = tmp_path_factory.mktemp("class")
    copy_small_class(work / "submitted")
    broken = work / "submitted" / HOSTILE / "01_gradient_descent"
    broken.mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "submitted" / "dee" / "01_gradient_descent" / "01_gradient_descent.ipynb", broken)
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "submitted", "--out", "out", "--jobs", "2"],
                            cwd=work, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return work / "out"


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must render the class report (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def _browse(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", "--disable-sync",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


class _Dom(HTMLParser):
    """Elements (with their classes) and the text of each table cell, from a rendered page."""

    def __init__(self):
        super().__init__()
        self.tags: Counter = Counter()
        self.tables: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        if tag == "table":
            self.tables.append(dict(attrs).get("class", ""))
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def rendered(graded, chromium, tmp_path_factory):
    result = _browse(chromium, tmp_path_factory.mktemp("profile"), "--dump-dom", (graded / "report.html").as_uri())
    assert result.returncode == 0, result.stderr
    dom = _Dom()
    dom.feed(result.stdout)
    return dom


def test_grade_writes_both_reports(graded):
    assert (graded / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    md = (graded / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Class report\n\n6 submissions graded; 2 could not be run or were refused; ")
    assert "## 01_gradient_descent — Gradient descent" in md
    # dee's truncated notebook and the hostile one could not be run: counted apart, not as failing every exercise
    assert "| `central_difference` | 2 | 1 / 2 | 50 % |" in md
    assert "2 submissions ran; " in md and "2 more could not be run (counted apart, not in these numbers)" in md
    assert "| dee | `01_gradient_descent` | 01\\_gradient\\_descent.ipynb | the file is not valid notebook JSON" in md


def test_every_outcome_has_a_column_and_every_submission_to_look_at_a_row(graded):
    results = merge.read_records(graded / merge.RECORDS)
    md = (graded / "report.md").read_text(encoding="utf-8")
    assert md.count("| exercise | points | passed | rate | wrong, named cause | wrong, no named cause | raised | "
                    "crashed | timed out | not implemented | missing |") == 2
    look = md[md.index("## Submissions that need a human look"):]
    rows = [line for line in look.splitlines() if line.startswith("| ") and not line.startswith(("| student", "| ---"))]
    stopped = {r.student: [e.name for e in r.exercises if e.outcome in ("crashed", "timed_out")] for r in results}
    expected = sorted(r.student for r in results if r.error or stopped[r.student])
    assert len(rows) == len(expected) >= 3  # the two that could not be run and the endless loop
    for student, row in zip(expected, rows, strict=True):
        result = next(r for r in results if r.student == student)
        assert row.startswith(f"| {class_report._md(student)} |")
        assert class_report._md(result.error)[:40] in row if result.error else all(
            class_report._md(name) in row for name in stopped[student])


def test_the_browser_renders_plots_and_tables(rendered):
    assert rendered.tags["svg"] == 4  # per lab: the score distribution and the pass rates
    assert rendered.tags["path"] > 20  # the bars and axes were drawn, not empty figures
    assert [t for t in rendered.tables if t != "misconceptions"] == ["pass-rates", "pass-rates", "not-run"]
    assert ["central_difference", "2", "1 / 2", "50 %"] == rendered.cells[
        rendered.cells.index("central_difference"):rendered.cells.index("central_difference") + 4]
    assert {"wrong, named cause", "wrong, no named cause", "raised", "crashed", "timed out", "not implemented",
            "missing"} <= set(rendered.cells)
    assert "dee" in rendered.cells


def test_the_misconception_table_counts_the_causes_the_grader_named(graded, rendered):
    results = merge.read_records(graded / merge.RECORDS)
    named = Counter((r.lab, e.name, e.cause) for r in results for e in r.exercises
                    if getattr(e, "cause", None) is not None)
    assert rendered.tables.count("misconceptions") == len({lab for lab, _, _ in named})
    for (lab, exercise, cause), count in named.items():
        message = checks.load_lab(lab).exercise(exercise).messages[cause]
        row = rendered.cells.index(f"{cause}: {message}")
        assert rendered.cells[row - 1:row + 2] == [exercise, f"{cause}: {message}", str(count)]


def test_student_text_is_shown_as_text_not_markup(graded, rendered):
    assert HOSTILE in rendered.cells
    assert rendered.tags["img"] == 0 and rendered.tags["script"] == 0
    md = (graded / "report.md").read_text(encoding="utf-8")
    assert r"| &lt;img src=x onerror=alert(1)&gt; &amp; \*bold\* \| \`x\` | `01_gradient_descent` |" in md


def test_the_screenshot_shows_a_drawn_page(graded, chromium, tmp_path):
    shot = tmp_path / "report.png"
    result = _browse(chromium, tmp_path / "profile", "--window-size=1100,2600", f"--screenshot={shot}",
                     (graded / "report.html").as_uri())
    assert result.returncode == 0, result.stderr
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2600, 1100)
    colours = Counter(map(tuple, (pixels[..., :3] * 255).astype(int).reshape(-1, 3)))
    assert len(colours) > 50  # text, bars and table rules, not a blank or error page
    assert any(g > r + 40 and g > b + 40 for r, g, b in colours)  # the green pass-rate bars
    if os.environ.get("CLASS_REPORT_SCREENSHOT"):
        shutil.copy(shot, os.environ["CLASS_REPORT_SCREENSHOT"])


def test_rendering_is_a_pure_function_of_the_records(graded):
    results = merge.read_records(graded / merge.RECORDS)
    assert class_report.html(results) == (graded / "report.html").read_text(encoding="utf-8")
    assert class_report.markdown(results[::-1]) == (graded / "report.md").read_text(encoding="utf-8")


def test_misconceptions_are_counted_per_exercise_most_frequent_first():
    if "cause" not in {f.name for f in dataclasses.fields(ExerciseResult)}:
        pytest.skip("ExerciseResult has no `cause` field yet")
    causes = ["backward", "forward", None, "forward", "forward"]
    results = [SubmissionResult(f"s{i}", "01_gradient_descent", f"s{i}/01_gradient_descent/n.ipynb",
                                (ExerciseResult("central_difference", 0, 2, "✗", cause=cause),))
               for i, cause in enumerate(causes)]
    messages = checks.load_lab("01_gradient_descent").exercise("central_difference").messages
    md = class_report.markdown(results)
    forward = md.index(f"| `central_difference` | `forward`: {messages['forward']} | 3 |")
    assert forward < md.index("| `central_difference` | `backward`: That is the backward difference")
