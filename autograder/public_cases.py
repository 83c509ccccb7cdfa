"""Exports each lab's public cases to JSON, so the student release needs no hidden code."""

from __future__ import annotations

import importlib
import json

from autograder import checks
from autograder.checks.core import PUBLIC_CASES_DIR


def render(lab_id: str) -> str:
    """The JSON text of ``lab_id``'s public cases, computed by its hidden reference."""
    lab = checks.load_lab(lab_id)
    cases = importlib.import_module(lab.hidden_module).public_cases()
    missing = [e.name for e in lab.exercises if not cases.get(e.name)]
    if missing:
        raise ValueError(f"lab {lab_id}: no public cases for {', '.join(missing)}")
    blocks = []
    for exercise in lab.exercises:
        lines = ",\n".join("  " + json.dumps(c.to_json(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
                           for c in cases[exercise.name])
        blocks.append(f" {json.dumps(exercise.name)}: [\n{lines}\n ]")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def write_all(lab_ids: list[str] | None = None) -> list[str]:
    """Writes the public cases of ``lab_ids`` (default: every lab); returns the ids whose file changed."""
    changed = []
    PUBLIC_CASES_DIR.mkdir(exist_ok=True)
    for lab_id in lab_ids or checks.lab_ids():
        path = PUBLIC_CASES_DIR / f"{lab_id}.json"
        text = render(lab_id)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(lab_id)
    return changed
