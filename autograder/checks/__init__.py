"""The checks of every lab: one module per lab, the single source of each check."""

from __future__ import annotations

import importlib

from autograder.checks.core import Lab

LAB_MODULES = {
    "01_gradient_descent": "autograder.checks.lab01",
    "02_gradient_checking": "autograder.checks.lab02",
    "03_chain_rule": "autograder.checks.lab03",
    "04_backpropagation": "autograder.checks.lab04",
    "05_training_loop": "autograder.checks.lab05",
}


def lab_ids() -> list[str]:
    return list(LAB_MODULES)


def load_lab(lab_id: str) -> Lab:
    """Returns the :class:`Lab` with id ``lab_id`` (e.g. ``"01_gradient_descent"``)."""
    try:
        module = LAB_MODULES[lab_id]
    except KeyError:
        raise KeyError(f"unknown lab {lab_id!r}; known labs: {', '.join(LAB_MODULES)}") from None
    return importlib.import_module(module).LAB
