"""Probes: public code that exercises a student's class or loop and reports data.

Most exercises are functions that a check calls with inputs. Some are not: a ``Value``
class is judged by building a graph with it and calling ``backward()``, a training loop
by watching which batches it takes. An :class:`~autograder.checks.core.Exercise` with
``probe="lab03.autograd"`` hands the student's object to ``autograd`` in
``autograder/probes/lab03.py``, as ``autograd(obj, *case_args, **case_kwargs)``; the
probe's return value is judged like a function's. Probes ship with the release, run in
the student's process beside their code, hold no answers and return data only.
"""

from __future__ import annotations

import importlib
import re

import numpy as np

_NAME = re.compile(r"^(lab\d\d)\.([a-z_][a-z0-9_]*)$")


def resolve(name: str):
    """The probe function named ``"labNN.function"``."""
    match = _NAME.match(name)
    if not match:
        raise ValueError(f"bad probe name {name!r}: expected 'labNN.function'")
    module = importlib.import_module(f"autograder.probes.{match.group(1)}")
    probe = getattr(module, match.group(2), None)
    if not callable(probe) or match.group(2).startswith("_"):
        raise ValueError(f"no probe {name!r}")
    return probe


def numeric_array(value):
    """``value`` as a numeric NumPy array (its dtype kept), or None where it is not one (None, a string,
    an object the student returned by mistake): probes report data, and None says "not an array"."""
    if value is None:
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biuf" else None

