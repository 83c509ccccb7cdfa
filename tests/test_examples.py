"""The example class (the README's first command grades it): made by scripts/make_example_class.py from the
course's notebooks, and graded as that script intends."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from autograder import checks

sys.path.insert(0, str(ROOT / "scripts"))
import make_example_class as example  # noqa: E402

EXPECTED = json.loads((ROOT / "examples" / "expected.json").read_text(encoding="utf-8"))


def _parsed(data: bytes):
    """A notebook as its JSON (compared structurally); a file that is not JSON (the truncated one) as its bytes."""
    try:
        return json.loads(data)
    except ValueError:
        return data


def test_the_committed_class_is_what_the_script_writes_today():
    """Regenerated from today's solutions and releases: a solution that no longer holds an edit's line stops the
    script, and any change of a release or a solution shows here until the class is written again."""
    regenerated = example.render()
    committed = {str(p.relative_to(ROOT / "examples")): p.read_bytes()
                 for p in (ROOT / "examples" / "submitted").rglob("*") if p.is_file()}
    committed["expected.json"] = (ROOT / "examples" / "expected.json").read_bytes()
    assert sorted(committed) == sorted(regenerated), "run `python scripts/make_example_class.py`"
    for name, data in regenerated.items():
        assert _parsed(committed[name]) == _parsed(data), f"examples/{name} is stale: run " \
                                                          "`python scripts/make_example_class.py`"
    assert example.stale() == []


def test_the_class_covers_every_lab_with_a_realistic_spread():
    assert {s.lab for s in example.CLASS} == set(checks.lab_ids())
    outcomes = [o for s in example.CLASS for _, o in s.outcomes]
    perfect = [s for s in example.CLASS if not s.outcomes and s.unreadable is None]
    assert len({s.lab for s in perfect if s.student == "ada"}) >= 3  # a perfect student, Keras exercises included
    causes = {(s.lab, o.cause) for s in example.CLASS for _, o in s.outcomes if o.kind == "cause"}
    assert len({lab for lab, _ in causes}) >= 8  # classic mistakes of many labs
    says = {o.says for o in outcomes if o.kind == "fails"}
    assert {"time limit", "ended abruptly", "not implemented yet"} <= says  # an endless loop, a crash, unfinished
    assert any(s.truncated for s in example.CLASS)  # a truncated notebook
    assert any(s.file_name and s.file_name != f"{s.lab}.ipynb" for s in example.CLASS)  # a renamed file
    assert len({s.path.parent for s in example.CLASS}) == len(example.CLASS)  # one notebook per lab folder


def test_an_edit_the_solution_no_longer_holds_stops_the_script():
    stale = example.Submission("zed", "01_gradient_descent", "an edit of a line that is gone",
                               edits=(example.Edit("central_difference", "no such line", "x"),))
    with pytest.raises(ValueError, match="no longer holds 'no such line'"):
        example.build(stale)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The README's first command, as written there (its output folder elsewhere)."""
    out = tmp_path_factory.mktemp("grading-output")
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "examples/submitted", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return out


def test_grading_the_example_class_gives_the_scores_the_script_intends(graded):
    rows = list(csv.DictReader(io.StringIO((graded / "grades.csv").read_text(encoding="utf-8"))))
    assert [(r["student"], r["lab"], int(r["score"]), int(r["max_score"])) for r in rows] == sorted(
        (e["student"], e["lab"], e["score"], e["max_score"]) for e in EXPECTED)


def test_every_exercise_of_the_example_class_is_graded_as_the_script_intends(graded):
    """Per exercise: its points, the named mistake its feedback leads with, or the phrase of a failure that
    names none (an endless loop, a crash, a stub, a prerequisite); every other exercise passes, so no feedback
    reports an error of the example's own making (a stale signature's TypeError, say)."""
    records = {(r["student"], r["lab"]): r for r in map(json.loads, (graded / "results.jsonl").read_text(
        encoding="utf-8").splitlines())}
    assert set(records) == {(e["student"], e["lab"]) for e in EXPECTED}
    for entry in EXPECTED:
        record = records[entry["student"], entry["lab"]]
        where = f"{entry['student']}/{entry['lab']}"
        assert Path(record["path"]).name == entry["file"], where
        assert (record["error"] is None) == ("error" not in entry), (where, record["error"])
        if "error" in entry:
            assert entry["error"] in record["error"], (where, record["error"])
        graded_exercises = {e["name"]: e for e in record["exercises"]}
        assert list(graded_exercises) == list(entry["exercises"]), where
        feedback = (graded / entry["student"] / entry["lab"] / "feedback.md").read_text(encoding="utf-8")
        for name, intended in entry["exercises"].items():
            got = graded_exercises[name]
            assert (got["score"], got["max_score"]) == (intended["points"], intended["max_points"]), (
                where, name, got["feedback"])
            assert got["cause"] == intended.get("cause"), (where, name, got["feedback"])
            if intended["outcome"] == "fails":
                assert intended["says"] in got["feedback"], (where, name, got["feedback"])
        for error in ("TypeError", "NameError", "AttributeError", "internal grader error"):
            assert error not in feedback, (where, error)
