"""Results as records: one JSON line per graded submission (``results.jsonl``), written and read back.

``grade`` writes every result's full record; ``merge`` reads the shards' records and renders
the class's reports from them. The records are (de)serialised generically from the
dataclasses' fields and type hints: a field added to a result type is written and read back
without a change here (a record without it takes the field's default).

A record is one line whatever the student's text holds: JSON escapes line feeds, and the
characters other readers take for line breaks (U+2028, U+2029, U+0085) are escaped too;
reading splits on line feeds only.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path

from autograder.grading import SubmissionResult

RECORDS = "results.jsonl"

_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


class RecordError(ValueError):
    """A record that is not one this grader wrote (or could read)."""


def to_data(value):
    """A dataclass tree as JSON-ready data (tuples become lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    return value


def from_data(kind, data):
    """The value of type ``kind`` that :func:`to_data` turned into ``data``."""
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        fields = {f.name for f in dataclasses.fields(kind) if f.init}
        unknown = set(data) - fields
        if unknown:
            raise RecordError(f"a record of {kind.__name__} has fields this grader does not know: "
                              f"{', '.join(sorted(unknown))} (merge with the grader version that graded)")
        return kind(**{name: from_data(hints[name], v) for name, v in data.items()})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return from_data(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v) for v in data)
        return tuple(from_data(a, v) for a, v in zip(args, data, strict=True)) if args else tuple(data)
    if origin is list:
        return [from_data(args[0], v) for v in data] if args else list(data)
    if origin in (dict, Mapping):
        return {k: from_data(args[1], v) for k, v in data.items()} if args else dict(data)
    return data


def record_line(result) -> str:
    """One result as one JSON line (ending in ``\\n``, the only line break in it)."""
    text = json.dumps(to_data(result), ensure_ascii=False, sort_keys=True)
    for char, escape in _LINE_BREAKS.items():
        text = text.replace(char, escape)  # only ever inside a JSON string, where the escape means the same
    return text + "\n"


def records_jsonl(results) -> str:
    """One JSON line per result, in the given order."""
    return "".join(record_line(r) for r in results)


def read_records(path: Path) -> list[SubmissionResult]:
    """The results recorded in ``path`` (a ``results.jsonl``); lines end at line feeds only."""
    results = []
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        try:
            results.append(from_data(SubmissionResult, json.loads(line)))
        except RecordError as exc:
            raise RecordError(f"{path}, line {number}: {exc}") from exc
        except (ValueError, TypeError, AttributeError) as exc:
            raise RecordError(f"{path}, line {number}: not a result record ({exc})") from exc
    return results
