"""Hidden checks: reference implementations and case generators. Never released to students.

Each lab module here defines ``public_cases()`` (fixed inputs, exported as JSON with the
release so that check cells can run without this package) and ``hidden_cases(rng)``
(inputs drawn per grading run from ``rng``).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Mapping

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


class LazyValues(Mapping):
    """What each implementation gives on one case's inputs (as :func:`_values`), computed when first asked for.

    A case's ``wrong`` and ``accepted`` values are read only where a submission misses the expected
    value somewhere in the exercise (to accept an alternative, or to name a mistake): for a class that
    mostly passes, running every known mistake on every hidden case of every student is most of the
    cost of drawing the cases, for nothing. The values are computed once, by whichever thread asks
    first, from the inputs as drawn (each implementation gets fresh copies of them), so they are the
    same whenever they are computed. A copy or a pickle of them is a plain dict.
    """

    __slots__ = ("_job", "_values", "_lock")

    def __init__(self, implementations: Mapping[str, Callable], args: tuple, kwargs: dict, expected):
        self._job = (dict(implementations), args, kwargs, expected)
        self._values: dict | None = None
        self._lock = threading.Lock()

    def _computed(self) -> dict:
        if self._values is None:
            with self._lock:
                if self._values is None:
                    self._values, self._job = _values(*self._job), None
        return self._values

    def __getitem__(self, key):
        return self._computed()[key]

    def __iter__(self):
        return iter(self._computed())

    def __len__(self) -> int:
        return len(self._computed())

    def __repr__(self) -> str:
        return repr(self._computed())

    def __reduce__(self):
        return dict, (self._computed(),)


def settle(cases: Iterable[Case]) -> None:
    """Computes the lazy values of ``cases`` now: before forking children that would each compute them again."""
    for case in cases:
        len(case.wrong), len(case.accepted)


def build_case(label: str, args: tuple, reference: Callable, misconceptions: Mapping[str, Callable] = (),
               kwargs: Mapping | None = None, alternatives: Mapping[str, Callable] = ()) -> Case:
    """Runs the reference on the inputs now, and each misconception and valid alternative when first asked for.

    A misconception or alternative whose value equals the reference's on these inputs (or
    that fails on them) says nothing about this case and is left out (see :class:`LazyValues`).
    """
    kwargs = dict(kwargs or {})
    expected = reference(*materialize(args), **materialize(kwargs))

    def lazy(implementations):
        return LazyValues(implementations, args, kwargs, expected) if implementations else {}

    return Case(label=label, args=tuple(args), kwargs=kwargs, expected=expected,
                wrong=lazy(misconceptions), accepted=lazy(alternatives))
