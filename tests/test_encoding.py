"""The codec between student processes and the grader: data round-trips, code never does."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from autograder.encoding import FunctionSpec, Unsupported, decode, dumps, encode, loads


def same(a, b) -> bool:
    """Equal values of the same type, NaN equal to NaN, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (np.isnan(a) and np.isnan(b)))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


PLAIN_VALUES = {
    "float": 0.1,
    "negative_zero": -0.0,
    "nan": math.nan,
    "inf": math.inf,
    "minus_inf": -math.inf,
    "tiny_float": 5e-324,
    "int": -7,
    "int_beyond_2_64": 2**64 + 1,
    "int_beyond_2_200": -(3**200),
    "true": True,
    "false": False,
    "none": None,
    "string": "ascent ∇f — ok",
    "empty_string": "",
    "list": [1, 2.5, "x", None],
    "tuple": (1, (2, 3), []),
    "dict": {"b": 1, "a": [math.nan, {"c": (True,)}]},
    "empty_containers": [[], (), {}],
}


@pytest.mark.parametrize("name", sorted(PLAIN_VALUES))
def test_plain_value_round_trips(name):
    value = PLAIN_VALUES[name]
    assert same(loads(dumps(value)), value)


def test_negative_zero_keeps_its_sign():
    assert math.copysign(1.0, loads(dumps(-0.0))) == -1.0


def test_large_int_round_trips_exactly_as_int():
    value = 1000 ** 26 + 1
    decoded = loads(dumps(value))
    assert type(decoded) is int and decoded == value


ARRAYS = {
    "float64_matrix": np.array([[1.5, -2.0, 0.1], [np.nan, np.inf, -np.inf]]),
    "float32_vector": np.array([0.1, np.nan, 3e38], dtype=np.float32),
    "int64_vector": np.array([-(2**63), 0, 2**63 - 1], dtype=np.int64),
    "bool_vector": np.array([True, False, True]),
    "uint8_matrix": np.arange(6, dtype=np.uint8).reshape(2, 3),
    "zero_d_float": np.array(2.5),
    "zero_d_int": np.array(7, dtype=np.int64),
    "empty_float": np.array([], dtype=np.float64),
    "empty_with_shape": np.zeros((0, 3), dtype=np.float32),
    "fortran_order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "strided_view": np.arange(10.0)[::3],
    "big_endian": np.array([1.0, 2.0], dtype=">f8"),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_array_round_trips_with_dtype_and_shape(name):
    array = ARRAYS[name]
    decoded = loads(dumps(array))
    assert isinstance(decoded, np.ndarray)
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


SCALARS = {
    "float64": np.float64(0.1),
    "float32": np.float32(0.1),
    "float32_nan": np.float32("nan"),
    "float64_minus_inf": np.float64("-inf"),
    "int64": np.int64(-(2**63)),
    "uint64": np.uint64(2**64 - 1),
    "int8": np.int8(-5),
    "bool": np.bool_(True),
}


@pytest.mark.parametrize("name", sorted(SCALARS))
def test_numpy_scalar_round_trips_with_its_dtype(name):
    scalar = SCALARS[name]
    decoded = loads(dumps(scalar))
    assert same(decoded, scalar), (decoded, scalar)


class Point:
    def __init__(self):
        self.x = 1


class EqualsEverything:
    def __eq__(self, other):
        return True

    __hash__ = None


UNSUPPORTED = {
    "class_instance": (Point(), "Point"),
    "equals_everything": (EqualsEverything(), "EqualsEverything"),
    "lambda": (lambda x: x, "function"),
    "object_array": (np.array([1, "a"], dtype=object), "ndarray"),
    "complex_array": (np.array([1 + 2j]), "ndarray"),
    "complex": (1 + 2j, "complex"),
    "set": ({1, 2}, "set"),
    "bytes": (b"data", "bytes"),
    "dict_with_int_keys": ({1: "a"}, "dict"),
    "module": (math, "module"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_value_decodes_to_a_description(name):
    value, type_name = UNSUPPORTED[name]
    decoded = loads(dumps(value))
    assert type(decoded) is Unsupported
    assert decoded.type_name == type_name


def test_unsupported_value_inside_a_container_leaves_the_rest_intact():
    decoded = loads(dumps([1.5, EqualsEverything(), {"k": np.int64(3)}]))
    assert decoded[0] == 1.5 and type(decoded[1]) is Unsupported and decoded[2] == {"k": np.int64(3)}


def test_object_array_description_names_its_dtype_and_shape():
    decoded = loads(dumps(np.array([None, None], dtype=object)))
    assert decoded.text == "array of dtype object, shape (2,)"


class SneakyFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class SneakyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class SneakyStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize(("value", "plain"), [
    (SneakyFloat(2.5), 2.5),
    (SneakyFloat("nan"), math.nan),
    (SneakyInt(2**70), 2**70),
    (SneakyStr("text"), "text"),
], ids=["float", "float_nan", "int", "str"])
def test_builtin_subclass_is_reduced_to_the_plain_value(value, plain):
    decoded = loads(dumps(value))
    assert type(decoded) is type(plain)
    assert same(decoded, plain)


@pytest.mark.parametrize("value", [
    math.nan, [math.inf, -math.inf], np.array([np.nan]), "two\nlines", {"a\nb": "\r\n"}, (2**100, None),
], ids=["nan", "infinities", "nan_array", "newline_string", "newline_dict", "tuple"])
def test_dumps_writes_one_line_of_strict_json(value):
    text = dumps(value)
    assert "\n" not in text and "\r" not in text
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))


@pytest.mark.parametrize("dtype", ["|O", "<c16", "<U5", "|S3", "<M8[s]", "|V8"])
def test_decode_refuses_a_forged_array_of_a_non_numeric_dtype(dtype):
    with pytest.raises(ValueError, match="refusing dtype"):
        decode({"$array": [1], "dtype": dtype, "shape": [1]})


@pytest.mark.parametrize("dtype", ["|O", "<c16", "<U5"])
def test_decode_refuses_a_forged_scalar_of_a_non_numeric_dtype(dtype):
    with pytest.raises(ValueError, match="refusing dtype"):
        decode({"$scalar": 1, "dtype": dtype})


@pytest.mark.parametrize("data", [
    {"$array": [2**70], "dtype": "<i8", "shape": [1]},
    {"$array": [-1], "dtype": "|u1", "shape": [1]},
    {"$scalar": 2**70, "dtype": "<i8"},
    {"$scalar": 300, "dtype": "|i1"},
    {"$array": [1], "dtype": "no such dtype", "shape": [1]},
    {"$array": [1], "dtype": [["a", "<f8"]], "shape": [1]},
    {"$array": [[1.0, 2.0]], "dtype": "<f8", "shape": [2]},
    {"$array": [1.0, 2.0, 3.0], "dtype": "<f8", "shape": [2]},
], ids=["int_beyond_int64", "negative_uint8", "scalar_beyond_int64", "scalar_beyond_int8", "unknown_dtype",
        "structured_dtype", "nested_values", "wrong_shape"])
def test_decode_rejects_a_malformed_numeric_value_with_value_error(data):
    with pytest.raises(ValueError):
        decode(data)


@pytest.mark.parametrize("data", [{"$pickle": "gASVBQAAAAAAAAB9lC4="}, {"$eval": "1+1"}, {}],
                         ids=["pickle", "eval", "empty_object"])
def test_decode_rejects_an_unknown_tag(data):
    with pytest.raises(ValueError, match="unknown tagged value"):
        decode(data)


def test_decode_never_rebuilds_an_unsupported_value():
    decoded = decode({"$unsupported": "Point", "text": "x" * 1000})
    assert decoded == Unsupported("Point", "x" * 200)


@pytest.mark.parametrize("spec", [
    FunctionSpec("quadratic"),
    FunctionSpec("quadratic", (("a", 2.0), ("b", -1))),
    FunctionSpec("bowl", (("center", np.array([1.0, np.nan])), ("scales", (1, 2)))),
], ids=["no_params", "scalars", "array_and_tuple"])
def test_function_spec_round_trips(spec):
    decoded = loads(dumps(spec))
    assert type(decoded) is FunctionSpec and decoded.name == spec.name
    assert [k for k, _ in decoded.params] == [k for k, _ in spec.params]
    assert all(same(a, b) for (_, a), (_, b) in zip(decoded.params, spec.params))


def test_encode_is_deterministic_for_equal_values():
    assert dumps({"a": [1.0, np.float32(2)], "b": (np.arange(3),)}) == dumps(
        {"a": [1.0, np.float32(2)], "b": (np.arange(3),)})


def test_encode_returns_json_ready_data():
    assert encode((1, math.inf)) == {"$tuple": [1, {"$float": "inf"}]}
