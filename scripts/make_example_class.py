"""Writes the example class, ``examples/submitted/STUDENT/LAB/*.ipynb``, and what grading it must give.

Run ``python scripts/make_example_class.py`` after a lab's solution or release changes (``--check`` only
says whether the committed class is up to date). Every submission is built from the course's own
notebooks, so it cannot go stale: the lab's release (``labs/``) with each exercise cell filled in with
the reference solution (``solutions/``, its ``### BEGIN/END SOLUTION`` lines dropped), then the changes
its story needs — a line of a solution replaced by a classic mistake, an exercise left as the release's
stub, a crash, an endless loop, another file name, the file cut short. An edit whose line the solution
no longer holds stops the script, and ``tests/test_examples.py`` regenerates the class and compares.

``examples/expected.json`` records what grading each submission must give: its score, and per exercise
its points and outcome (``pass``; ``cause``: the named mistake its feedback leads with; ``fails``: a
failure whose feedback says the given phrase, with no named cause). ``tests/test_examples.py`` grades
the class with ``python -m autograder grade`` and compares.

The class covers all 14 labs in 17 submissions, a few labs per student, so that grading it (the
README's first command) takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SUBMITTED = EXAMPLES / "submitted"
EXPECTED = EXAMPLES / "expected.json"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Edit:
    """In ``exercise``'s cell, the solution's ``old`` text (found exactly once, or ``every`` time) becomes ``new``."""

    exercise: str
    old: str
    new: str
    every: bool = False


@dataclass(frozen=True)
class Outcome:
    """What grading gives one exercise: ``pass``, a named ``cause``, or ``fails`` saying ``says``."""

    kind: str  # "pass", "cause" or "fails"
    cause: str | None = None
    says: str | None = None


PASS = Outcome("pass")


def cause(name: str) -> Outcome:
    return Outcome("cause", cause=name)


def fails(says: str) -> Outcome:
    return Outcome("fails", says=says)


UNFINISHED = fails("not implemented yet")  # the feedback of an exercise still in its release stub


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one lab, and what grading it must give.

    ``outcomes`` names every exercise that does not pass; the others must pass. ``unreadable``: the notebook
    cannot be read at all, every exercise scores 0, and the error says this phrase.
    """

    student: str
    lab: str
    story: str
    edits: tuple[Edit, ...] = ()
    stubs: tuple[str, ...] = ()  # exercises left as the release's stub
    file_name: str | None = None  # another name than LAB.ipynb
    truncated: bool = False
    outcomes: tuple[tuple[str, Outcome], ...] = ()
    unreadable: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.student) / self.lab / (self.file_name or f"{self.lab}.ipynb")


ENDLESS_LOOP = Edit("gradient_descent", "    for _ in range(num_steps):\n",
                    "    step = 0\n    while step < num_steps:  # forgot: step += 1\n")
CRASH = Edit("most_confused_pair", "    off = np.array(cm, dtype=float)\n",
             "    import os\n    os._exit(0)  # left from debugging: stop here\n    off = np.array(cm, dtype=float)\n")

CLASS = (
    # ada: a perfect student, Keras exercises included
    Submission("ada", "01_gradient_descent", "every exercise right"),
    Submission("ada", "02_gradient_checking", "every exercise right"),
    Submission("ada", "14_tensorflow", "every exercise right: TensorFlow throughout, a mirrored step included"),
    # ben: classic mistakes of several labs
    Submission("ben", "01_gradient_descent", "the forward difference and gradient ascent",
               edits=(Edit("central_difference", "(f(x + h) - f(x - h)) / (2 * h)", "(f(x + h) - f(x)) / h"),
                      Edit("gradient_descent_1d", "x = x - learning_rate * df(x)", "x = x + learning_rate * df(x)")),
               outcomes=(("central_difference", cause("forward")), ("gradient_descent_1d", cause("ascent")),
                         ("descend_from_starts", fails("fix that first")))),
    Submission("ben", "05_training_loop", "the gradient of the mean squared error without its factor 2",
               edits=(Edit("mse_gradients", "return float(2 * np.mean(error * X)), float(2 * np.mean(error))",
                           "return float(np.mean(error * X)), float(np.mean(error))"),),
               outcomes=(("mse_gradients", cause("no_two")), ("train", fails("fix that first")))),
    Submission("ben", "09_losses", "binary cross-entropy without Keras's clipping",
               edits=(Edit("binary_cross_entropy", "p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)",
                           "p = np.asarray(p, dtype=float)"),),
               outcomes=(("binary_cross_entropy", cause("unclipped")),)),
    # cy: an endless loop, and an activation lab's classic slips
    Submission("cy", "02_gradient_checking", "an endless loop in gradient_descent (the counter never moves)",
               edits=(ENDLESS_LOOP,), outcomes=(("gradient_descent", fails("time limit")),)),
    Submission("cy", "08_activations", "softmax without the shift by the row maximum",
               edits=(Edit("softmax", "np.exp(x - np.max(x, axis=-1, keepdims=True))", "np.exp(x)"),),
               outcomes=(("softmax", cause("no_shift")),)),
    # dee: a truncated notebook, and the normalization lab's classic slips
    Submission("dee", "01_gradient_descent", "the notebook file was cut short (an interrupted upload)",
               truncated=True, unreadable="not valid notebook JSON"),
    Submission("dee", "06_normalization", "the sample standard deviation (ddof=1)",
               edits=(Edit("zscore_fit", "std = x.std(axis=0)", "std = x.std(axis=0, ddof=1)"),),
               outcomes=(("zscore_fit", cause("ddof1")), ("standardize_splits", cause("ddof1")))),
    # eve: an unfinished notebook, and an optimizer lab's classic slips
    Submission("eve", "07_mlp", "unfinished: the network, its gradient check, training and Keras left undone",
               stubs=("MLP", "gradient_check", "train", "predict_minutes", "keras_train"),
               outcomes=(("MLP", UNFINISHED), ("gradient_check", UNFINISHED), ("train", fails("still a stub")),
                         ("predict_minutes", UNFINISHED), ("keras_train", UNFINISHED))),
    Submission("eve", "10_optimizers", "Adam's step counted from 0",
               edits=(Edit("Adam", "        self.iterations += 1\n        t = self.iterations\n",
                           "        t = self.iterations\n        self.iterations += 1\n"),),
               outcomes=(("Adam", cause("t_from_zero")), ("AdamW", fails("fix that first")))),
    # fay: a renamed file, a crash, and the regularization lab's classic slips
    Submission("fay", "04_backpropagation", "every exercise right, in a file of another name",
               file_name="backprop (1).ipynb"),
    Submission("fay", "11_minibatches", "a crash: most_confused_pair ends its own process",
               edits=(CRASH,), outcomes=(("most_confused_pair", fails("ended abruptly")),)),
    Submission("fay", "12_regularization", "dropout without the 1/(1 − rate) rescaling",
               edits=(Edit("dropout_forward", "np.where(mask, x / (1 - rate), 0.0)", "np.where(mask, x, 0.0)"),),
               outcomes=(("dropout_forward", cause("no_rescale")),)),
    # gus: gradients assigned instead of accumulated, and a schedule's boundary slip
    Submission("gus", "03_chain_rule", "Value's gradients assigned (=) instead of accumulated (+=)",
               edits=(Edit("Value", ".grad += ", ".grad = ", every=True),),
               outcomes=(("Value", cause("assign")),)),
    Submission("gus", "13_schedules", "a step on a boundary given to the right interval",
               edits=(Edit("piecewise_constant", 'side="left"', 'side="right"'),),
               outcomes=(("piecewise_constant", cause("boundary_right")),)),
)


def _text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def solved(lab: str) -> dict:
    """The lab's release with every exercise cell holding the reference solution (its markers dropped)."""
    release = _notebook(ROOT / "labs" / lab / f"{lab}.ipynb")
    solution = {cell.get("id"): cell for cell in _notebook(ROOT / "solutions" / lab / f"{lab}.ipynb")["cells"]}
    cells = []
    for cell in release["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            lines = _text(solution[cell["id"]]).splitlines(keepends=True)
            source = "".join(line for line in lines if line.strip() not in MARKERS)
            cell = {**cell, "source": source}
        cells.append(cell)
    return {**release, "cells": cells}


def _cell(notebook: dict, exercise: str) -> dict:
    cells = [c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == exercise]
    if len(cells) != 1:
        raise KeyError(f"{exercise}: {len(cells)} exercise cells")
    return cells[0]


def build(submission: Submission) -> bytes:
    """The submission's notebook file, as the student hands it in."""
    notebook = solved(submission.lab)
    release = _notebook(ROOT / "labs" / submission.lab / f"{submission.lab}.ipynb")
    for edit in submission.edits:
        cell = _cell(notebook, edit.exercise)
        source = _text(cell)
        if source.count(edit.old) != 1 and not (edit.every and edit.old in source):
            raise ValueError(f"{submission.path}: the solution of {edit.exercise} no longer holds {edit.old!r} "
                             f"{'at all' if edit.every else 'exactly once'}: update this script's edit")
        cell["source"] = source.replace(edit.old, edit.new)
    for exercise in submission.stubs:
        _cell(notebook, exercise)["source"] = _text(_cell(release, exercise))
    text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    data = text.encode("utf-8")
    if submission.truncated:
        data = data[: len(data) // 2]
    return data


def expected(submission: Submission) -> dict:
    """What grading ``submission`` must give."""
    from autograder import checks

    lab = checks.load_lab(submission.lab)
    outcomes = dict(submission.outcomes)
    unknown = set(outcomes) - {e.name for e in lab.exercises}
    if unknown:
        raise KeyError(f"{submission.path}: no exercise {sorted(unknown)} in {submission.lab}")
    exercises = {}
    for exercise in lab.exercises:
        outcome = outcomes.get(exercise.name, PASS)
        if submission.unreadable is not None:
            outcome = fails(submission.unreadable)
        entry = {"points": exercise.points if outcome.kind == "pass" else 0, "max_points": exercise.points,
                 "outcome": outcome.kind}
        entry.update({key: value for key, value in (("cause", outcome.cause), ("says", outcome.says)) if value})
        exercises[exercise.name] = entry
    record = {"student": submission.student, "lab": submission.lab, "file": submission.path.name,
              "story": submission.story, "score": sum(e["points"] for e in exercises.values()),
              "max_score": lab.max_score, "exercises": exercises}
    if submission.unreadable is not None:
        record["error"] = submission.unreadable
    return record


def render() -> dict[str, bytes]:
    """Every file of the example class, by its path under ``examples/``."""
    files = {str(Path("submitted") / s.path): build(s) for s in CLASS}
    records = [expected(s) for s in CLASS]
    files["expected.json"] = (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def write(folder: Path = EXAMPLES) -> list[str]:
    """Writes the class under ``folder`` (its ``submitted/`` replaced whole); returns the paths written."""
    import shutil

    files = render()
    shutil.rmtree(folder / "submitted", ignore_errors=True)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return sorted(files)


def stale(folder: Path = EXAMPLES) -> list[str]:
    """The files of the class under ``folder`` that differ from what this script writes (or are extra)."""
    files = render()
    present = {str(p.relative_to(folder)) for p in (folder / "submitted").rglob("*") if p.is_file()}
    present.add("expected.json")
    differ = [name for name in sorted(files) if not (folder / name).is_file()
              or (folder / name).read_bytes() != files[name]]
    return differ + sorted(present - set(files))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether examples/ is up to date")
    args = parser.parse_args(argv)
    if args.check:
        differ = stale()
        for name in differ:
            print(f"stale: examples/{name}")
        return 1 if differ else 0
    for name in write():
        print(f"wrote examples/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
