"""The codec between student processes and the grader: data round-trips, code never does."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from autograder import encoding
from autograder.encoding import (
    MAX_DEPTH,
    MAX_INT_BITS,
    PLAIN_INT_BITS,
    FunctionSpec,
    Unsupported,
    decode,
    dumps,
    encode,
    loads,
    parse_json,
    safe_text,
)


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


# large ints: exact both ways, linear work, bounded size ---------------------------------

@pytest.mark.parametrize("value", [
    2**PLAIN_INT_BITS - 1, -(2**PLAIN_INT_BITS), 10**5000 + 7, -(10**20000), 10**100_000 - 1, -(10**100_000 - 1),
], ids=["plain_limit", "just_past_plain", "beyond_str_limit", "negative_20000_digits", "largest_carried",
        "most_negative_carried"])
def test_large_int_round_trips_exactly(value):
    decoded = loads(dumps(value))
    assert type(decoded) is int and decoded == value


def test_large_int_crosses_as_json_any_reader_can_parse():
    data = json.loads(dumps(10**5000))
    assert set(data) == {"$int"} and int(data["$int"], 16) == 10**5000


def test_small_int_stays_a_plain_json_number():
    assert encode(2**PLAIN_INT_BITS - 1) == 2**PLAIN_INT_BITS - 1


@pytest.mark.parametrize("value", [2**MAX_INT_BITS, -(10**100_002)], ids=["one_more_bit", "negative"])
def test_int_over_the_limit_is_described_not_carried(value):
    decoded = loads(dumps(value))
    assert type(decoded) is Unsupported and decoded.type_name == "int"
    assert f"over the limit of {MAX_INT_BITS:,} bits (about 100,000 digits)" in decoded.text


def test_int_in_an_array_beyond_float_range_round_trips_as_a_plain_int():
    assert loads(dumps([2.0, 10**400])) == [2.0, 10**400]


@pytest.mark.parametrize("text", [5, "", "ABC", "0x10", "1_0", "--1", " 1", "f" * (MAX_INT_BITS // 4 + 2)],
                         ids=["not_a_string", "empty", "upper_case", "prefixed", "underscore", "double_minus",
                              "space", "too_long"])
def test_decode_rejects_a_malformed_int(text):
    with pytest.raises(ValueError):
        decode({"$int": text})


# non-finite floats ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf),
                                                ("1e999", math.inf)])
def test_loads_accepts_non_finite_json_literals_as_floats(text, expected):
    assert same(loads(text), expected)


@pytest.mark.parametrize("data", [{"$float": "1e999"}, {"$float": 5}, {"$float": "NaN"}, {"$float": ["nan"]},
                                  {"$float": "nan", "extra": 1}],
                         ids=["number_text", "not_a_string", "wrong_case", "list", "extra_key"])
def test_decode_rejects_a_malformed_non_finite_float(data):
    with pytest.raises(ValueError, match="malformed non-finite float"):
        decode(data)


# malformed input: always ValueError, with bounded work ------------------------------------

def nested(depth: int):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def test_decode_accepts_what_encode_writes_at_its_depth_limit():
    assert loads(dumps(nested(MAX_DEPTH + 5)))  # encode cuts it into a description


@pytest.mark.parametrize("data", [nested(MAX_DEPTH + 3), {"$tuple": [nested(MAX_DEPTH + 3)]},
                                  {"$dict": [["a", nested(MAX_DEPTH + 3)]]}],
                         ids=["lists", "in_tuple", "in_dict"])
def test_decode_rejects_forged_deep_nesting(data):
    with pytest.raises(ValueError, match="nested too deeply"):
        decode(data)


def test_decode_rejects_an_array_with_more_values_than_the_limit(monkeypatch):
    monkeypatch.setattr(encoding, "MAX_ELEMENTS", 10)
    with pytest.raises(ValueError, match="flat list of at most"):
        decode({"$array": [0.0] * 11, "dtype": "<f8", "shape": [11]})


FORGED = {
    "tuple_of_a_number": {"$tuple": 5},
    "tuple_of_a_string": {"$tuple": "abc"},
    "dict_with_int_key": {"$dict": [[1, 2]]},
    "dict_pair_too_short": {"$dict": [["a"]]},
    "dict_not_a_list": {"$dict": 5},
    "dict_of_dicts": {"$dict": {"a": 1}},
    "fn_name_not_a_string": {"$fn": 5, "params": []},
    "fn_without_params": {"$fn": "f"},
    "fn_param_int_key": {"$fn": "f", "params": [[1, 2]]},
    "unsupported_name_a_list": {"$unsupported": ["x"]},
    "unsupported_text_deep": {"$unsupported": "x", "text": nested(5000)},
    "array_values_a_string": {"$array": "abc", "dtype": "<f8", "shape": [3]},
    "array_without_shape": {"$array": [1.0], "dtype": "<f8"},
    "array_without_dtype": {"$array": [1.0], "shape": [1]},
    "array_nested_value": {"$array": [1.0, [2.0]], "dtype": "<f8", "shape": [2]},
    "array_float_tag_in_ints": {"$array": [{"$float": "nan"}], "dtype": "<i8", "shape": [1]},
    "array_float_in_ints": {"$array": [1.5], "dtype": "<i8", "shape": [1]},
    "array_int_in_bools": {"$array": [1], "dtype": "|b1", "shape": [1]},
    "array_string_in_floats": {"$array": ["1"], "dtype": "<f8", "shape": [1]},
    "array_negative_shape": {"$array": [1.0], "dtype": "<f8", "shape": [-1]},
    "array_shape_of_floats": {"$array": [1.0], "dtype": "<f8", "shape": [1.0]},
    "array_too_many_dims": {"$array": [1.0], "dtype": "<f8", "shape": [1] * 40},
    "array_float32_overflow": {"$array": [1e300], "dtype": "<f4", "shape": [1]},
    "array_huge_int_as_float": {"$array": [10**400], "dtype": "<f8", "shape": [1]},
    "dtype_with_a_shape": {"$array": [1.0], "dtype": "(2,)f8", "shape": [1]},
    "dtype_a_dict": {"$scalar": 1, "dtype": {"names": ["a"], "formats": ["<f8"]}},
    "scalar_float32_overflow": {"$scalar": 1e300, "dtype": "<f4"},
    "scalar_string": {"$scalar": "1", "dtype": "<f8"},
    "scalar_bool_as_int": {"$scalar": True, "dtype": "<i8"},
    "scalar_huge_int_as_float": {"$scalar": 10**400, "dtype": "<f8"},
    "scalar_beyond_uint64": {"$scalar": 2**64, "dtype": "<u8"},
    "not_json_bytes": b"bytes",
    "not_json_set": {1, 2},
    "list_holding_bytes": [1, b"x"],
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_decode_rejects_forged_data_with_value_error_only(name):
    with pytest.raises(ValueError):
        decode(FORGED[name])


@pytest.mark.parametrize("text", ["", "{", "[1,", '{"$tuple": [1, 2', b"\xff\xfe", "1" * 5000, "[" * 100_000,
                                  '{"a": ' * 100_000, 42, None],
                         ids=["empty", "open_brace", "cut_list", "cut_tuple", "bad_bytes", "int_too_long",
                              "deep_lists", "deep_objects", "not_text", "none"])
def test_loads_rejects_malformed_text_with_value_error_only(text):
    with pytest.raises(ValueError):
        loads(text)


# strings: decoded text can always be written as UTF-8 -----------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('"a\\ud800b"', "a\ufffdb"),
    ('"\\udfff"', "\ufffd"),
    ('"\\ud83d\\ude00"', "\U0001F600"),
    ('{"$dict": [["k\\udc80", "v\\ud800"]]}', {"k\ufffd": "v\ufffd"}),
    ('[{"$tuple": ["\\ud800"]}]', [("\ufffd",)]),
], ids=["lone_high", "lone_low", "valid_pair", "dict_key_and_value", "nested"])
def test_decode_replaces_lone_surrogates(text, expected):
    decoded = loads(text)
    assert decoded == expected
    json.dumps(decoded, ensure_ascii=False).encode("utf-8")


def test_decode_replaces_lone_surrogates_in_descriptions():
    decoded = loads('{"$unsupported": "P\\ud800", "text": "<\\udc00>"}')
    assert decoded == Unsupported("P\ufffd", "<\ufffd>")


@pytest.mark.parametrize("text", ["\x00", "\x1b[31mred\x1b[0m", "a\rb\x07\x7f\x85", "\u2028\u2029"],
                         ids=["nul", "ansi", "controls", "line_separators"])
def test_control_characters_survive_the_round_trip(text):
    assert loads(dumps(text)) == text


def test_safe_text_cuts_to_the_limit_before_replacing():
    assert safe_text("\ud800" * 10, limit=3) == "\ufffd" * 3


# parse_json: JSON from a student process, with bounded memory -----------------------------

@pytest.mark.parametrize("text", ["[" + "[]," * 50 + "0]", '{"a": ' * 60 + "0" + "}" * 60, b"[" + b"1," * 60 + b"1]"],
                         ids=["empty_lists", "nested_objects", "bytes"])
def test_parse_json_refuses_more_values_than_the_limit(text):
    with pytest.raises(ValueError, match="refusing JSON of more than 50 values"):
        parse_json(text, max_values=50)


def test_parse_json_reads_what_encode_writes_at_the_array_limit():
    array = np.zeros(encoding.MAX_ELEMENTS, dtype=np.int8)
    assert parse_json(dumps(array))["shape"] == [encoding.MAX_ELEMENTS]


@pytest.mark.parametrize("text", [None, 42, ["[]"], "[" * 100_000, "[1,"], ids=["none", "int", "list", "deep", "cut"])
def test_parse_json_raises_only_value_error(text):
    with pytest.raises(ValueError):
        parse_json(text)
