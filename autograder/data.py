"""The course's small datasets, loaded from the top-level ``datasets/`` folder as NumPy arrays.

``datasets/`` is a data folder, not a package (a package named ``datasets`` would shadow the
Hugging Face one), so the loader finds it by path: ``$AUTOGRADER_DATASETS`` if set, else the
folder beside this package — which is where it is in the course repository, in the student
bundle, inside the grader's sandbox (which mounts ``datasets/`` back) and in the Gradescope
bundle.

Example:
    >>> from autograder import data
    >>> commutes = data.load("commutes")
    >>> commutes["distance_miles"]
    array([1., 2., 3., 4.])
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENVIRONMENT_VARIABLE = "AUTOGRADER_DATASETS"


@dataclass(frozen=True)
class Table:
    """A small table: named columns of equal length, as 1-D NumPy arrays (int64 or float64)."""

    name: str
    columns: dict[str, np.ndarray]

    def __getitem__(self, column: str) -> np.ndarray:
        try:
            return self.columns[column]
        except KeyError:
            raise KeyError(f"{self.name} has no column {column!r}; its columns are {', '.join(self.columns)}") from None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def __repr__(self) -> str:
        return f"<{self.name}: {len(self)} rows × {', '.join(self.columns)}>"

    def to_numpy(self, *columns: str) -> np.ndarray:
        """The chosen columns (default: all) side by side, a float64 array of shape (rows, columns)."""
        return np.column_stack([self[c].astype(np.float64) for c in (columns or tuple(self.columns))])


def folder() -> Path:
    """The ``datasets/`` folder; raises FileNotFoundError, saying where it looked, when it is missing."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    candidate = Path(configured) if configured else Path(__file__).resolve().parent.parent / "datasets"
    if not candidate.is_dir():
        how = f"${ENVIRONMENT_VARIABLE}" if configured else "beside the autograder package"
        raise FileNotFoundError(f"the course's datasets/ folder is missing: looked for {candidate} ({how}). "
                                f"Keep datasets/ next to autograder/, or set ${ENVIRONMENT_VARIABLE} to its path.")
    return candidate


def names() -> list[str]:
    """The datasets available, e.g. ``["bike_car_commutes", "commutes", …]``."""
    return sorted(path.stem for path in folder().glob("*.csv"))


def load(name: str) -> Table:
    """Reads ``datasets/<name>.csv``.

    Args:
        name: the file's stem, e.g. ``"bike_car_commutes"``.

    Returns:
        A Table whose columns are int64 when every value is an integer, float64 otherwise.
    """
    path = folder() / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no dataset named {name!r} in {path.parent}. Known: {', '.join(names())}")
    with path.open(newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    return Table(name, {column: _array([row[i] for row in rows]) for i, column in enumerate(header)})


def _array(values: list[str]) -> np.ndarray:
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.array([float(v) for v in values], dtype=np.float64)
