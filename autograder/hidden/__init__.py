"""Hidden checks: reference implementations and case generators. Never released to students.

Each lab module here defines ``public_cases()`` (fixed inputs, exported as JSON with the
release so that check cells can run without this package) and ``hidden_cases(rng)``
(inputs drawn per grading run from ``rng``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np

from autograder.checks.core import Case
from autograder.functions import materialize


def _same(a, b) -> bool:
    try:
        if isinstance(a, str) or isinstance(b, str):
            return a == b
        if isinstance(a, dict) or isinstance(b, dict):
            return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
                _same(a[k], b[k]) for k in a)
        if isinstance(a, tuple) or isinstance(b, tuple):
            return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(
                _same(x, y) for x, y in zip(a, b))
        if isinstance(a, int) and isinstance(b, int):
            return a == b  # exactly: counts outgrow floats
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-12, atol=1e-15, equal_nan=True))
    except (TypeError, ValueError, OverflowError):
        return False


def _values(implementations: Mapping[str, Callable], args: tuple, kwargs: dict, expected) -> dict:
    values = {}
    for key, implementation in dict(implementations).items():
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                value = implementation(*materialize(args), **materialize(kwargs))
            except Exception:  # noqa: BLE001 - a variant may simply not apply to these inputs
                continue
        if not _same(value, expected):
            values[key] = value
    return values


def build_case(label: str, args: tuple, reference: Callable, misconceptions: Mapping[str, Callable] = (),
               kwargs: Mapping | None = None, alternatives: Mapping[str, Callable] = ()) -> Case:
    """Runs the reference, each misconception and each valid alternative on the same inputs.

    A misconception or alternative whose value equals the reference's on these inputs (or
    that fails on them) says nothing about this case and is left out.
    """
    kwargs = dict(kwargs or {})
    expected = reference(*materialize(args), **materialize(kwargs))
    return Case(label=label, args=tuple(args), kwargs=kwargs, expected=expected,
                wrong=_values(misconceptions, args, kwargs, expected),
                accepted=_values(alternatives, args, kwargs, expected))
