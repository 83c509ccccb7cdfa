"""The checks of every lab: one module per lab, the single source of each check.

A lab registers itself by existing: ``autograder/checks/labNN.py`` holding ``LAB = Lab(id="NN_topic",
...)``. The ids are read from the files' text (no import), so listing the labs stays cheap and a new
lab needs no edit here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from autograder.checks.core import Lab

_HERE = Path(__file__).resolve().parent
_ID = re.compile(r'^LAB = Lab\(\s*id="([0-9]{2}_[a-z0-9_]+)"', re.MULTILINE)


def _discover() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(_HERE.glob("lab[0-9][0-9].py")):
        match = _ID.search(path.read_text(encoding="utf-8"))
        if match is None:
            raise RuntimeError(f'{path}: a lab module must define LAB = Lab(id="NN_topic", ...)')
        found[match.group(1)] = f"autograder.checks.{path.stem}"
    return dict(sorted(found.items()))


LAB_MODULES = _discover()


def lab_ids() -> list[str]:
    return list(LAB_MODULES)


def load_lab(lab_id: str) -> Lab:
    """Returns the :class:`Lab` with id ``lab_id`` (e.g. ``"01_gradient_descent"``)."""
    try:
        module = LAB_MODULES[lab_id]
    except KeyError:
        raise KeyError(f"unknown lab {lab_id!r}; known labs: {', '.join(LAB_MODULES)}") from None
    return importlib.import_module(module).LAB
