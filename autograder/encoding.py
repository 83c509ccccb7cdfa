"""A JSON codec for the values that cross between student code and the grader.

Only data crosses: numbers, strings, booleans, None, lists, tuples, string-keyed dicts
and NumPy arrays or scalars of numeric dtypes. Anything else is described (its type
name and a short repr) but never rebuilt, so nothing a student process writes can carry
code into the grading process. Non-finite floats and Python's unbounded integers survive
the round trip, which plain JSON would lose.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

MAX_ELEMENTS = 2_000_000
MAX_DEPTH = 32
MAX_STRING = 20_000
_NUMERIC_KINDS = "biuf"


@dataclass(frozen=True)
class FunctionSpec:
    """Names a function from :mod:`autograder.functions` and its parameters: data, not code."""

    name: str
    params: tuple = ()

    def param(self, key: str):
        return dict(self.params)[key]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.params)
        return f"{self.name}({args})"


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=4, separator=", ")
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value the codec refuses to carry: only its description crosses."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name} object: {self.text}>"


def _encode_float(value: float):
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # memory addresses differ between runs: reports must not


def _describe(obj) -> Unsupported:
    try:
        text = _ADDRESS.sub("", object.__repr__(obj))
    except Exception:  # noqa: BLE001 - a hostile object may break even object.__repr__
        text = "?"
    return Unsupported(type(obj).__name__, text[:200])


def encode(obj, _depth: int = 0):
    """Turns ``obj`` into JSON-ready data; unsupported parts become descriptions."""
    if _depth > MAX_DEPTH:
        return _unsupported_json(Unsupported("nesting", "nested too deeply"))
    if obj is None or type(obj) is bool or type(obj) is str:
        return obj if type(obj) is not str else obj[:MAX_STRING]
    if type(obj) is int:
        return obj
    if type(obj) is float:
        return _encode_float(obj)
    if isinstance(obj, np.generic) and obj.dtype.kind in _NUMERIC_KINDS:
        return {"$scalar": _encode_float(float(obj)) if obj.dtype.kind == "f" else obj.item(),
                "dtype": obj.dtype.str}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _NUMERIC_KINDS or obj.size > MAX_ELEMENTS:
            reason = f"array of dtype {obj.dtype}" if obj.size <= MAX_ELEMENTS else "array too large"
            return _unsupported_json(Unsupported("ndarray", f"{reason}, shape {obj.shape}"))
        plain = np.array(obj, copy=True).ravel()
        values = [_encode_float(v) for v in plain.tolist()] if obj.dtype.kind == "f" else plain.tolist()
        return {"$array": values, "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if type(obj) is FunctionSpec:
        return {"$fn": obj.name, "params": [[k, encode(v, _depth + 1)] for k, v in obj.params]}
    if type(obj) is tuple:
        return {"$tuple": [encode(v, _depth + 1) for v in obj]}
    if type(obj) is list:
        return [encode(v, _depth + 1) for v in obj]
    if type(obj) is dict and all(type(k) is str for k in obj):
        return {"$dict": [[k, encode(v, _depth + 1)] for k, v in obj.items()]}
    if isinstance(obj, (bool, int, float, str)):
        # Subclasses of builtins may override __eq__ and friends: keep the plain value only.
        base = next(t for t in (bool, int, float, str) if isinstance(obj, t))
        return encode(base.__new__(base, obj) if base is not bool else bool(int(obj)), _depth)
    return _unsupported_json(_describe(obj))


def _unsupported_json(value: Unsupported):
    return {"$unsupported": value.type_name, "text": value.text}


def _decode_float(value):
    if isinstance(value, dict):
        return float(value["$float"])
    return float(value)


def _decode_numeric(data: dict):
    dtype = np.dtype(data["dtype"])
    if dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(f"refusing dtype {dtype}")
    if "$array" in data:
        values = data["$array"]
        if dtype.kind == "f":
            values = [_decode_float(v) for v in values]
        return np.array(values, dtype=dtype).reshape(data["shape"])
    value = data["$scalar"]
    return dtype.type(_decode_float(value) if dtype.kind == "f" else value)


def decode(data):
    """Rebuilds plain values from :func:`encode`'s output; never constructs arbitrary types."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"unexpected JSON value of type {type(data).__name__}")
    if "$float" in data:
        return _decode_float(data)
    if "$array" in data or "$scalar" in data:
        try:
            return _decode_numeric(data)
        except (TypeError, OverflowError) as exc:
            # Forged data (an int beyond int64, -1 as uint8, a list as a dtype) must not escape as
            # another error type: callers treat ValueError as "the value could not be read".
            raise ValueError(f"malformed numeric value: {exc}") from None
    if "$tuple" in data:
        return tuple(decode(v) for v in data["$tuple"])
    if "$dict" in data:
        return {str(k): decode(v) for k, v in data["$dict"]}
    if "$unsupported" in data:
        return Unsupported(str(data["$unsupported"]), str(data.get("text", ""))[:200])
    if "$fn" in data:
        return FunctionSpec(str(data["$fn"]), tuple((str(k), decode(v)) for k, v in data["params"]))
    raise ValueError(f"unknown tagged value with keys {sorted(data)[:5]}")


def dumps(obj) -> str:
    """Encodes ``obj`` to a single line of JSON (no NaN literals, no newlines)."""
    return json.dumps(encode(obj), allow_nan=False, separators=(",", ":"))


def loads(text: str):
    """Decodes one line written by :func:`dumps`."""
    return decode(json.loads(text))
