"""A JSON codec for the values that cross between student code and the grader.

Only data crosses: numbers, strings, booleans, None, lists, tuples, string-keyed dicts
and NumPy arrays or scalars of numeric dtypes. Anything else is described (its type
name and a short repr) but never rebuilt, so nothing a student process writes can carry
code into the grading process. Non-finite floats and Python's unbounded integers survive
the round trip, which plain JSON would lose.

Decoding is the grading process reading what a student process wrote, so it trusts none
of it: work is linear in the input, nesting is bounded, and anything malformed raises
:class:`ValueError` (never another exception type), which callers turn into a message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

MAX_ELEMENTS = 2_000_000
MAX_JSON_VALUES = MAX_ELEMENTS + 100_000  # an array as large as encode sends, and room around it
MAX_DEPTH = 32
MAX_STRING = 20_000
# Python refuses int <-> decimal str beyond 4,300 digits (and that conversion is quadratic),
# so larger ints cross as hexadecimal, which is linear both ways. Past about 100,000 digits
# an int is described, not carried: the grader's memory and time stay bounded.
PLAIN_INT_BITS = 10_000
MAX_INT_BITS = 332_193  # the bit length of 10**100000 - 1: every int of up to 100,000 digits crosses
_NUMERIC_KINDS = "biuf"
_DTYPE = re.compile(r"[<>|=]?[biuf][0-9]{1,2}")
_HEX_INT = re.compile(rf"-?[0-9a-f]{{1,{-(-MAX_INT_BITS // 4)}}}")
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def safe_text(text: str, limit: int = MAX_STRING) -> str:
    """``text`` cut to ``limit`` characters, lone surrogates replaced by U+FFFD so it can be written as UTF-8.

    JSON can carry a lone surrogate (``"\\ud800"``) that no UTF-8 file can hold; a report
    writer meeting one fails for every student after it. Control characters are valid
    UTF-8 and are kept: escaping them is the writer's job, per format.
    """
    return _SURROGATE.sub("\ufffd", text[:limit])


def _encode_int(value: int):
    bits = value.bit_length()
    if bits <= PLAIN_INT_BITS:
        return value
    if bits > MAX_INT_BITS:
        return _unsupported_json(Unsupported("int", f"an integer of {bits:,} bits, over the limit of "
                                                    f"{MAX_INT_BITS:,} bits (about 100,000 digits)"))
    return {"$int": format(value, "x")}


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
        return _encode_int(obj)
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


_FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _decode_float(value) -> float:
    if isinstance(value, dict):
        if value.keys() != {"$float"} or not isinstance(value["$float"], str) or value["$float"] not in _FLOAT_WORDS:
            raise ValueError(f"malformed non-finite float: {str(value)[:100]}")
        return _FLOAT_WORDS[value["$float"]]
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)  # OverflowError past 1.8e308: a ValueError once decode wraps it
    raise ValueError(f"expected a number, got {type(value).__name__}")


def _decode_int(data: dict) -> int:
    text = data["$int"]
    if not isinstance(text, str) or not _HEX_INT.fullmatch(text):
        raise ValueError("malformed integer: expected at most 100,000 digits in hexadecimal")
    return int(text, 16)


def _element(value, kind: str):
    if kind == "f":
        return _decode_float(value)
    if kind == "b" and type(value) is bool or kind in "iu" and type(value) is int:
        return value
    raise ValueError(f"an array of kind {kind!r} cannot hold a {type(value).__name__}")


def _decode_numeric(data: dict):
    if not isinstance(data["dtype"], str) or not _DTYPE.fullmatch(data["dtype"]):
        raise ValueError(f"refusing dtype {str(data['dtype'])[:40]}")
    dtype = np.dtype(data["dtype"])
    if dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(f"refusing dtype {dtype}")
    with np.errstate(over="raise"):
        if "$array" in data:
            values, shape = data["$array"], data["shape"]
            if not isinstance(values, list) or len(values) > MAX_ELEMENTS:
                raise ValueError("an array's values must be a flat list of at most 2,000,000 numbers")
            if (not isinstance(shape, list) or len(shape) > MAX_DEPTH
                    or not all(type(n) is int and n >= 0 for n in shape) or math.prod(shape) != len(values)):
                raise ValueError(f"an array's shape must be its element count as a list of sizes, got {shape!r:.80}")
            return np.array([_element(v, dtype.kind) for v in values], dtype=dtype).reshape(shape)
        return dtype.type(_element(data["$scalar"], dtype.kind))


def _pairs(items) -> list:
    if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                                              for p in items):
        raise ValueError("expected a list of [name, value] pairs")
    return items


def _decode(data, depth: int):
    if depth > MAX_DEPTH + 2:  # encode stops at MAX_DEPTH; deeper is forged
        raise ValueError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float)):
        return data
    if isinstance(data, str):
        return safe_text(data)
    if isinstance(data, list):
        return [_decode(v, depth + 1) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"unexpected JSON value of type {type(data).__name__}")
    if "$float" in data:
        return _decode_float(data)
    if "$int" in data:
        return _decode_int(data)
    if "$array" in data or "$scalar" in data:
        return _decode_numeric(data)
    if "$tuple" in data:
        if not isinstance(data["$tuple"], list):
            raise ValueError("a tuple's items must be a list")
        return tuple(_decode(v, depth + 1) for v in data["$tuple"])
    if "$dict" in data:
        return {safe_text(k): _decode(v, depth + 1) for k, v in _pairs(data["$dict"])}
    if "$unsupported" in data:
        name, text = data["$unsupported"], data.get("text", "")
        if not isinstance(name, str) or not isinstance(text, str):
            raise ValueError("an unsupported value is described by two strings")
        return Unsupported(safe_text(name, 100), safe_text(text, 200))
    if "$fn" in data:
        if not isinstance(data["$fn"], str):
            raise ValueError("a function's name must be a string")
        return FunctionSpec(safe_text(data["$fn"], 100),
                            tuple((safe_text(k), _decode(v, depth + 1)) for k, v in _pairs(data["params"])))
    raise ValueError(f"unknown tagged value with keys {sorted(map(str, data))[:5]}")


def decode(data):
    """Rebuilds plain values from :func:`encode`'s output; never constructs arbitrary types.

    Raises:
        ValueError: for anything :func:`encode` would not have written (a forged or cut value).
    """
    try:
        return _decode(data, 0)
    except ValueError:
        raise
    except (TypeError, KeyError, OverflowError, FloatingPointError, RecursionError, MemoryError) as exc:
        # Forged data (an int beyond int64, -1 as uint8, a missing key) must not escape as another
        # error type: callers treat ValueError as "the value could not be read".
        raise ValueError(f"malformed value: {type(exc).__name__}: {str(exc)[:200]}") from None


def dumps(obj) -> str:
    """Encodes ``obj`` to a single line of JSON (no NaN literals, no newlines)."""
    return json.dumps(encode(obj), allow_nan=False, separators=(",", ":"))


def parse_json(text: str | bytes, max_values: int | None = None):
    """``json.loads`` for text a student process wrote: bounded memory, and only :class:`ValueError`.

    json.loads spends up to ~64 bytes per value (``[[],[],…]``), so a line of 8 MB could take
    half a gigabyte; each value follows a ``[``, ``{``, ``,`` or ``:``, so counting those bytes
    (inside strings too: an over-count) bounds the values before any is built.

    Args:
        text: one JSON document.
        max_values: the most values it may hold. Defaults to `MAX_JSON_VALUES`.
    """
    limit = MAX_JSON_VALUES if max_values is None else max_values
    try:
        marks = (",", ":", "[", "{") if isinstance(text, str) else (b",", b":", b"[", b"{")
        if sum(text.count(mark) for mark in marks) > limit:
            raise ValueError(f"refusing JSON of more than {limit:,} values")
        return json.loads(text)
    except ValueError:
        raise
    except (TypeError, AttributeError, RecursionError, MemoryError) as exc:
        raise ValueError(f"not a line of JSON: {type(exc).__name__}") from None


def loads(text: str):
    """Decodes one line written by :func:`dumps`; anything else raises :class:`ValueError`."""
    return decode(parse_json(text))
