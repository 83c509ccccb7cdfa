"""Lab 08 hidden checks: reference activations, known mistakes and case generators."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from autograder.hidden import build_case
from autograder.probes.lab08 import quiet

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
GELU_CUBIC = 0.044715
COURSE_SLOPE = 0.01  # the course notes' leaky ReLU: z if z > 0 else 0.01·z
LAYER_SLOPE, FUNCTION_SLOPE = 0.3, 0.2  # keras.layers.LeakyReLU's default, keras.activations.leaky_relu's


def _text(values) -> str:
    return np.array2string(np.asarray(values, dtype=float), precision=4, separator=", ", max_line_width=10**4)


def _float(x):
    return np.asarray(x, dtype=float)


_erf = np.vectorize(math.erf, otypes=[float])


# sigmoid -----------------------------------------------------------------------------

def sigmoid(x):
    x = _float(x)
    small = np.exp(-np.abs(x))  # never overflows: the exponent is ≤ 0
    return np.where(x >= 0, 1 / (1 + small), small / (1 + small))


def _naive(x):
    x = np.asarray(x)
    return 1 / (1 + np.exp(-x))


def _naive_positive(x):
    x = np.asarray(x)
    return np.exp(x) / (1 + np.exp(x))


SIGMOID_MISTAKES = {
    "naive": _naive,
    "naive_positive": _naive_positive,
    "where_both": lambda x: np.where(np.asarray(x) >= 0, _naive(x), _naive_positive(x)),
}


# sigmoid_derivative ------------------------------------------------------------------

def sigmoid_derivative(x):
    s = sigmoid(x)
    return s * (1 - s)


def _quotient(x):
    x = np.asarray(x)
    return np.exp(-x) / (1 + np.exp(-x)) ** 2


SIGMOID_DERIVATIVE_MISTAKES = {
    "one_minus_x": lambda x: sigmoid(x) * (1 - _float(x)),
    "from_x": lambda x: _float(x) * (1 - _float(x)),
    "naive_sigmoid": lambda x: _naive(x) * (1 - _naive(x)),
    "quotient": _quotient,
}


# tanh --------------------------------------------------------------------------------

def tanh(x):
    return np.tanh(_float(x))


def _naive_tanh(x):
    x = _float(x)
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


TANH_MISTAKES = {
    "naive": _naive_tanh,
    "identity_slip": lambda x: 2 * sigmoid(x) - 1,
}


def tanh_derivative(x):
    return 1 - np.tanh(_float(x)) ** 2


TANH_DERIVATIVE_MISTAKES = {
    "from_x": lambda x: 1 - _float(x) ** 2,
    "no_square": lambda x: 1 - np.tanh(_float(x)),
    "sigmoid_form": lambda x: np.tanh(_float(x)) * (1 - np.tanh(_float(x))),
}


# relu and leaky relu -----------------------------------------------------------------

def relu(x):
    return np.maximum(_float(x), 0.0)


RELU_MISTAKES = {
    "np_max": lambda x: np.max(_float(x), 0),
    "minimum": lambda x: np.minimum(_float(x), 0.0),
    "returned_mask": lambda x: (_float(x) > 0).astype(float),
}


def relu_derivative(x):
    return (_float(x) > 0).astype(float)


RELU_DERIVATIVE_MISTAKES = {
    "one_at_zero": lambda x: (_float(x) >= 0).astype(float),
    "returned_forward": relu,
    "sign": lambda x: np.sign(_float(x)),
}


def leaky_relu(x, negative_slope=COURSE_SLOPE):
    x = _float(x)
    return np.where(x > 0, x, negative_slope * x)


def _leaky_with(slope):
    return lambda x, negative_slope=slope: leaky_relu(x, negative_slope)


LEAKY_RELU_MISTAKES = {
    "layer_default": _leaky_with(LAYER_SLOPE),
    "function_default": _leaky_with(FUNCTION_SLOPE),
    "no_slope": lambda x, negative_slope=COURSE_SLOPE: relu(x),
    "swapped_branches": lambda x, negative_slope=COURSE_SLOPE: np.where(
        _float(x) > 0, negative_slope * _float(x), _float(x)),
}


def leaky_relu_derivative(x, negative_slope=COURSE_SLOPE):
    return np.where(_float(x) > 0, 1.0, negative_slope)


def _leaky_derivative_with(slope):
    return lambda x, negative_slope=slope: leaky_relu_derivative(x, negative_slope)


LEAKY_RELU_DERIVATIVE_MISTAKES = {
    "one_at_zero": lambda x, negative_slope=COURSE_SLOPE: np.where(_float(x) >= 0, 1.0, negative_slope),
    "layer_default": _leaky_derivative_with(LAYER_SLOPE),
    "function_default": _leaky_derivative_with(FUNCTION_SLOPE),
    "no_slope": lambda x, negative_slope=COURSE_SLOPE: relu_derivative(x),
    "returned_forward": leaky_relu,
}


# gelu --------------------------------------------------------------------------------

def _gelu_exact(x):
    x = _float(x)
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_tanh(x):
    x = _float(x)
    return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x ** 3)))


def gelu(x, approximate=False):
    return _gelu_tanh(x) if approximate else _gelu_exact(x)


GELU_MISTAKES = {
    "tanh_for_exact": lambda x, approximate=False: _gelu_tanh(x),
    "exact_for_tanh": lambda x, approximate=False: _gelu_exact(x),
    "flag_swapped": lambda x, approximate=False: _gelu_exact(x) if approximate else _gelu_tanh(x),
    "sigmoid_approximation": lambda x, approximate=False: _float(x) * sigmoid(1.702 * _float(x)),
    "no_sqrt2": lambda x, approximate=False: (_gelu_tanh(x) if approximate else
                                             0.5 * _float(x) * (1 + _erf(_float(x)))),
}


def _gelu_exact_derivative(x):
    x = _float(x)
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)


def _gelu_tanh_derivative(x):
    x = _float(x)
    t = np.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x ** 2)


def gelu_derivative(x, approximate=False):
    return _gelu_tanh_derivative(x) if approximate else _gelu_exact_derivative(x)


def _cdf_only(x, approximate=False):
    x = _float(x)
    if approximate:
        return 0.5 * (1 + np.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x ** 3)))
    return 0.5 * (1 + _erf(x / math.sqrt(2)))


GELU_DERIVATIVE_MISTAKES = {
    "tanh_for_exact": lambda x, approximate=False: _gelu_tanh_derivative(x),
    "exact_for_tanh": lambda x, approximate=False: _gelu_exact_derivative(x),
    "flag_swapped": lambda x, approximate=False: (_gelu_exact_derivative(x) if approximate else
                                                  _gelu_tanh_derivative(x)),
    "cdf_only": _cdf_only,
}


# softmax -----------------------------------------------------------------------------

def softmax(x):
    x = _float(x)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_shifted(x, shift, axis=-1, keepdims=True):
    x = _float(x)
    e = np.exp(x - shift(x))
    return e / np.sum(e, axis=axis, keepdims=keepdims)


SOFTMAX_MISTAKES = {
    "no_shift": lambda x: _softmax_shifted(x, lambda v: 0.0),
    "wrong_axis": lambda x: _softmax_shifted(x, lambda v: np.max(v, axis=0, keepdims=True), axis=0),
    "no_keepdims": lambda x: _softmax_shifted(x, lambda v: np.max(v, axis=-1), keepdims=False),
    "global_max": lambda x: _softmax_shifted(x, np.max),
    "whole_batch": lambda x: _softmax_shifted(x, np.max, axis=None),
}


def softmax_backward(s, upstream):
    s, g = _float(s), _float(upstream)
    return s * (g - np.sum(g * s, axis=-1, keepdims=True))


def _inner_not_outer(s, upstream):
    """diag(s) − s @ s.T on a 1-D s: s.T is s itself, so the 'outer product' is the number Σ s²."""
    s, g = _float(s), _float(upstream)
    return s * g - np.sum(s * s, axis=-1, keepdims=True) * np.sum(g, axis=-1, keepdims=True)


SOFTMAX_BACKWARD_MISTAKES = {
    "diagonal_only": lambda s, upstream: _float(s) * (1 - _float(s)) * _float(upstream),
    "sign": lambda s, upstream: -softmax_backward(s, upstream),
    "no_s_factor": lambda s, upstream: _float(upstream) - np.sum(
        _float(upstream) * _float(s), axis=-1, keepdims=True),
    "wrong_axis": lambda s, upstream: _float(s) * (_float(upstream) - np.sum(
        _float(upstream) * _float(s), axis=0, keepdims=True)),
    "no_keepdims": lambda s, upstream: _float(s) * (_float(upstream) - np.sum(
        _float(upstream) * _float(s), axis=-1)),
    "inner_not_outer": _inner_not_outer,
}


# the vanishing gradient through a chain of sigmoids ----------------------------------

def sigmoid_chain_gradient(x, weights):
    a, gradient, gradients = float(x), 1.0, []
    for w in weights:
        a = float(sigmoid(w * a))
        gradient *= w * a * (1 - a)
        gradients.append(gradient)
    return np.array(gradients)


def _chain_with(local):
    """A chain whose layer k contributes local(w, a_in, z, a_out) to the product."""
    def chain(x, weights):
        a, gradient, gradients = float(x), 1.0, []
        for w in weights:
            z = w * a
            out = float(sigmoid(z))
            gradient *= local(w, a, z, out)
            a = out
            gradients.append(gradient)
        return np.array(gradients)
    return chain


def _summed(x, weights):
    a, total, gradients = float(x), 0.0, []
    for w in weights:
        a = float(sigmoid(w * a))
        total += w * a * (1 - a)
        gradients.append(total)
    return np.array(gradients)


CHAIN_MISTAKES = {
    "no_weights": _chain_with(lambda w, a, z, out: out * (1 - out)),
    "sigma_not_derivative": _chain_with(lambda w, a, z, out: w * out),
    "derivative_of_output": _chain_with(lambda w, a, z, out: w * float(sigmoid_derivative(out))),
    "derivative_at_input": _chain_with(lambda w, a, z, out: w * float(sigmoid_derivative(a))),
    "summed": _summed,
}


# dead ReLU units ---------------------------------------------------------------------

def dead_relu_fraction(X, W, b):
    hidden = relu(_float(X) @ _float(W) + _float(b))
    return float(np.mean(np.all(hidden == 0, axis=0)))


def _pre(X, W, b):
    return _float(X) @ _float(W) + _float(b)


DEAD_MISTAKES = {
    "zero_activations": lambda X, W, b: float(np.mean(relu(_pre(X, W, b)) == 0)),
    "any_input": lambda X, W, b: float(np.mean(np.any(relu(_pre(X, W, b)) == 0, axis=0))),
    "per_example": lambda X, W, b: float(np.mean(np.all(relu(_pre(X, W, b)) == 0, axis=1))),
    "count": lambda X, W, b: float(np.sum(np.all(relu(_pre(X, W, b)) == 0, axis=0))),
    "strict_negative": lambda X, W, b: float(np.mean(np.all(_pre(X, W, b) < 0, axis=0))),
    "no_bias": lambda X, W, b: float(np.mean(np.all(relu(_float(X) @ _float(W)) == 0, axis=0))),
}


# keras_activation (the graded Keras exercise; the reference is NumPy) ------------------

KERAS_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu", "gelu_tanh", "softmax")
_NUMPY_TWINS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu, "leaky_relu": leaky_relu, "gelu": gelu,
                "gelu_tanh": lambda x: gelu(x, approximate=True), "softmax": softmax}


def keras_activation(name, x):
    return _NUMPY_TWINS[name](x)


# TensorFlow keeps some constants in float32 even in float64 computations: tf.nn.leaky_relu's slope is a
# float32 attribute, and tf.nn.gelu casts 1/√2 (exact form) and 0.044715 (tanh form) through float32.
def _f32(value):
    return float(np.float32(value))


def _tf_leaky(slope):
    return lambda x: leaky_relu(x, _f32(slope))


def _tf_gelu_exact(x):
    x = _float(x)
    return 0.5 * x * (1 + _erf(x * _f32(1 / math.sqrt(2))))


def _tf_gelu_tanh(x):
    x = _float(x)
    return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + _f32(GELU_CUBIC) * x ** 3)))


_TENSORFLOW_TWINS = {"leaky_relu": _tf_leaky(COURSE_SLOPE), "gelu": _tf_gelu_exact, "gelu_tanh": _tf_gelu_tanh}


def _keras_with(name, replacement):
    return lambda n, x: replacement(x) if n == name else keras_activation(n, x)


KERAS_MISTAKES = {
    "layer_default": _keras_with("leaky_relu", _tf_leaky(LAYER_SLOPE)),
    "function_default": _keras_with("leaky_relu", _tf_leaky(FUNCTION_SLOPE)),
    "tanh_for_exact": _keras_with("gelu", _tf_gelu_tanh),
    "exact_for_tanh": _keras_with("gelu_tanh", _tf_gelu_exact),
}


# the cases ---------------------------------------------------------------------------

def _quietly(fn):
    return lambda *args, **kwargs: quiet(fn, *args, **kwargs)


def _probed_case(label, args, reference, mistakes, kwargs=None):
    """A case judged through the probe ``lab08.quiet``: every value is the probe's report."""
    return build_case(label, args, _quietly(reference), {k: _quietly(m) for k, m in mistakes.items()}, kwargs)


def _x_label(x) -> str:
    kind = " (a list)" if isinstance(x, list) else ""
    x = np.asarray(x)
    dtype = "" if x.dtype == np.float64 else f" ({x.dtype})"
    return f"x = {_text(x)}{dtype}{kind}"


def _as_float32(value):
    """Arrays (also inside a probe's report) as float32: the check then compares at float32's tolerance."""
    if isinstance(value, dict):
        return {key: _as_float32(item) for key, item in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float32)
    return value


def _elementwise_case(fn, mistakes, x, kwargs=None, label=None, probed=False):
    """One call on x; for a float32 x the expected and mistaken values are float32 too (any precision passes)."""
    kwargs = dict(kwargs or {})
    label = label or _x_label(x) + "".join(f", {k} = {v}" for k, v in kwargs.items())
    build = _probed_case if probed else build_case
    case = build(label, (x if isinstance(x, list) else np.asarray(x),), fn, mistakes, kwargs)
    if np.asarray(x).dtype != np.float32:
        return case
    return replace(case, expected=_as_float32(case.expected),
                   wrong={key: _as_float32(value) for key, value in case.wrong.items()})


def _softmax_backward_case(logits, upstream, label=None):
    s = softmax(logits)
    label = label or f"s = softmax({_text(logits)}), upstream = {_text(upstream)}"
    return build_case(label, (s, np.asarray(upstream, dtype=float)), softmax_backward, SOFTMAX_BACKWARD_MISTAKES)


def _chain_case(x, weights, label=None):
    weights = np.asarray(weights, dtype=float)
    label = label or f"x = {x:g}, weights = {_text(weights)}"
    return build_case(label, (float(x), weights), sigmoid_chain_gradient, CHAIN_MISTAKES)


def _dead_case(X, W, b, label=None):
    X, W, b = (np.asarray(v, dtype=float) for v in (X, W, b))
    label = label or f"X = {_text(X)}, W = {_text(W)}, b = {_text(b)}"
    return build_case(label, (X, W, b), dead_relu_fraction, DEAD_MISTAKES)


def _keras_case(name, x):
    """The exact value is expected; TensorFlow's, with its float32 constants, is accepted too."""
    twin = _TENSORFLOW_TWINS.get(name)
    alternatives = {"tensorflow_constants": lambda n, v: twin(v)} if twin else {}
    return build_case(f"name = {name!r}, {_x_label(x)}", (name, np.asarray(x)), keras_activation, KERAS_MISTAKES,
                      alternatives=alternatives)


EXTREMES = np.array([-1000.0, -30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0, 1000.0])
GRID_2D = np.array([[-3.0, 0.0, 3.0], [1000.0, -1000.0, 0.25]])
SIGMOID_PUBLIC = [
    EXTREMES,
    np.array([-1000.0, -1.0, 0.0, 1.0]),
    np.array([0.0, 1.0, 1000.0]),
    GRID_2D,
    np.array([-1000.0, -4.0, 0.0, 4.0, 1000.0], dtype=np.float32),
]
PUBLIC_X = [EXTREMES, GRID_2D, np.array([-1e4, -1.0, 0.0, 1.0, 1e4], dtype=np.float32)]
SOFTMAX_PUBLIC = [
    np.array([1.0, 2.0, 3.0]),
    np.array([1000.0, 1001.0, 1002.0]),
    np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [-1000.0, 0.0, 1000.0]]),
    np.array([[1000.0, 999.0], [-1000.0, -1001.0]]),
    np.array([[5.0], [-3.0]]),
]
LEAKY_X = np.array([-1000.0, -4.0, -0.5, 0.0, 0.5, 4.0, 1000.0])
GELU_X = np.array([-1e4, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 1e4])
DEAD_X = np.array([[1.0, 2.0], [-1.0, 0.0], [0.0, -2.0], [2.0, 1.0]])
DEAD_W = np.array([[1.0, 0.0, -1.0, 0.0, 0.5], [0.0, 0.0, -1.0, 0.0, -1.0]])
DEAD_B = np.array([0.0, 0.0, -4.0, -1.0, 0.0])


def _elementwise_public(fn, mistakes, xs=PUBLIC_X, probed=False):
    return [_elementwise_case(fn, mistakes, x, probed=probed) for x in xs]


def _slope_cases(fn, mistakes, x):
    return [_elementwise_case(fn, mistakes, x), _elementwise_case(fn, mistakes, x, {"negative_slope": 0.1}),
            _elementwise_case(fn, mistakes, GRID_2D, {"negative_slope": 0.0})]


def _flag_cases(fn, mistakes, x):
    return [_elementwise_case(fn, mistakes, x), _elementwise_case(fn, mistakes, x, {"approximate": True}),
            _elementwise_case(fn, mistakes, GRID_2D, {"approximate": False})]


def public_cases():
    """The course's conventions on inputs a person can follow: zeros, ±1000, ties, one-element rows."""
    return {
        "sigmoid": _elementwise_public(sigmoid, SIGMOID_MISTAKES, SIGMOID_PUBLIC, probed=True),
        "sigmoid_derivative": _elementwise_public(sigmoid_derivative, SIGMOID_DERIVATIVE_MISTAKES,
                                                  SIGMOID_PUBLIC, probed=True),
        "tanh": _elementwise_public(tanh, TANH_MISTAKES),
        "tanh_derivative": _elementwise_public(tanh_derivative, TANH_DERIVATIVE_MISTAKES),
        "relu": _elementwise_public(relu, RELU_MISTAKES),
        "relu_derivative": _elementwise_public(relu_derivative, RELU_DERIVATIVE_MISTAKES),
        "leaky_relu": _slope_cases(leaky_relu, LEAKY_RELU_MISTAKES, LEAKY_X),
        "leaky_relu_derivative": _slope_cases(leaky_relu_derivative, LEAKY_RELU_DERIVATIVE_MISTAKES, LEAKY_X),
        "gelu": _flag_cases(gelu, GELU_MISTAKES, GELU_X),
        "gelu_derivative": _flag_cases(gelu_derivative, GELU_DERIVATIVE_MISTAKES, GELU_X),
        "softmax": [_elementwise_case(softmax, SOFTMAX_MISTAKES, x) for x in SOFTMAX_PUBLIC],
        "softmax_backward": [
            _softmax_backward_case([1.0, 2.0, 3.0], [1.0, 0.0, 0.0]),
            _softmax_backward_case([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 1.0, -2.0]],
                                   [[1.0, -1.0, 0.5], [0.0, 2.0, 0.0], [-1.0, 0.0, 1.0]]),
            _softmax_backward_case([[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, -1.0]],
                                   [[0.0, 0.0, 1.0, 0.0], [1.0, 2.0, 3.0, 4.0]]),
        ],
        "sigmoid_chain_gradient": [
            _chain_case(0.0, np.ones(10), "x = 0, 10 layers with weight 1"),
            _chain_case(1.0, [2.0, -1.5, 0.5], None),
        ],
        "dead_relu_fraction": [
            _dead_case(DEAD_X, DEAD_W, DEAD_B),
            _dead_case(DEAD_X[:1], DEAD_W, DEAD_B),
        ],
        "keras_activation": [_keras_case(name, EXTREMES if name != "softmax" else SOFTMAX_PUBLIC[2])
                             for name in KERAS_NAMES],
    }


def _values(rng, n, scale=3.0):
    """n values rounded to 0.01 (so ReLU's kink and ties are hit exactly), with at least one exact 0."""
    x = np.round(rng.normal(scale=scale, size=n), 2)
    x[rng.integers(n)] = 0.0
    return x


def _with_extremes(rng, x, signs=(-1, 1)):
    """x with ±1000 or ±1e4 (one per sign in ``signs``) put at random places."""
    x = np.array(x, dtype=float)
    for sign, place in zip(signs, rng.choice(len(x), size=len(signs), replace=False)):
        x[place] = sign * float(rng.choice([1000.0, 1e4]))
    return x


def _elementwise_inputs(rng):
    """1-D with both extremes, 2-D with a random shape, one extreme sign alone each, float32, one element."""
    n = int(rng.integers(6, 11))
    rows, cols = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    cols = max(cols, 2 if rows == 1 else 1)
    return [
        _with_extremes(rng, _values(rng, n)),
        _with_extremes(rng, _values(rng, rows * cols)).reshape(rows, cols),
        _with_extremes(rng, _values(rng, 5), (-1,)),
        _with_extremes(rng, _values(rng, 5), (1,)),
        np.concatenate([_values(rng, 4, scale=5.0), [-1000.0, 1000.0]]).astype(np.float32),
        np.array([float(rng.choice([-1.0, 1.0])) * float(np.round(rng.uniform(0.1, 5), 2))]),
        [float(v) for v in _values(rng, 5)],  # "array-like": a plain list
    ]


def _hidden_elementwise(rng, fn, mistakes, probed=False, kwargs_for=lambda i: {}):
    return [_elementwise_case(fn, mistakes, x, kwargs_for(i), probed=probed)
            for i, x in enumerate(_elementwise_inputs(rng))]


def _softmax_inputs(rng):
    k = int(rng.integers(3, 6))
    square = np.round(rng.normal(scale=2, size=(k, k)), 1)
    ties = np.round(rng.normal(scale=2, size=(2, k)), 1)
    ties[0] = ties[0, 0]
    far = np.round(rng.normal(scale=2, size=(2, k)), 1)
    far[0] += float(rng.choice([1000.0, 1e4]))
    far[1] -= float(rng.choice([1000.0, 1e4]))
    return [
        np.round(rng.normal(scale=3, size=k), 1) + float(rng.choice([1000.0, -1000.0, 1e4])),
        square,
        ties,
        far,
        np.round(rng.normal(size=(int(rng.integers(2, 5)), 1)), 2),
        np.round(rng.normal(scale=3, size=(int(rng.integers(1, 4)), k + 1)), 1).astype(np.float32),
        np.array([float(np.round(rng.normal(), 2))]),
    ]


def _backward_inputs(rng):
    k = int(rng.integers(3, 6))
    n = int(rng.integers(2, 5))
    shapes = [(k,), (k, k), (n, k + 1), (n, 1), (1, k)]
    return [(np.round(rng.normal(scale=2, size=shape), 1), np.round(rng.normal(size=shape), 2)) for shape in shapes]


def _dead_inputs(rng):
    """A hidden layer with units dead by a zero pre-activation, by a negative one, and alive ones."""
    n, d, m = int(rng.integers(3, 8)), int(rng.integers(1, 4)), int(rng.integers(5, 10))
    X = np.round(rng.normal(scale=1.5, size=(n, d)) * 2) / 2
    W = np.round(rng.normal(size=(d, m)) * 2) / 2
    b = np.round(rng.normal(size=m) * 2) / 2
    zero, negative, sometimes = rng.choice(m, size=3, replace=False)
    W[:, zero], b[zero] = 0.0, 0.0  # z = 0 for every row: it outputs 0, so it is dead
    W[:, negative], b[negative] = 0.0, -float(rng.integers(1, 4))
    b[sometimes] = -float(np.max(X @ W[:, sometimes])) if np.ptp(X @ W[:, sometimes]) else -1.0
    return X, W, b


def hidden_cases(rng):
    """Inputs drawn from ``rng``: random shapes, exact zeros, ±1000 and ±1e4, float32, one element."""
    slope = float(rng.choice([0.05, 0.1, 0.25, 0.5]))
    X, W, b = _dead_inputs(rng)
    start = float(np.round(rng.uniform(-2, 2), 2))
    depth = int(rng.integers(4, 12))
    keras_x = _with_extremes(rng, _values(rng, 7))
    return {
        "sigmoid": _hidden_elementwise(rng, sigmoid, SIGMOID_MISTAKES, probed=True),
        "sigmoid_derivative": _hidden_elementwise(rng, sigmoid_derivative, SIGMOID_DERIVATIVE_MISTAKES, probed=True),
        "tanh": _hidden_elementwise(rng, tanh, TANH_MISTAKES),
        "tanh_derivative": _hidden_elementwise(rng, tanh_derivative, TANH_DERIVATIVE_MISTAKES),
        "relu": _hidden_elementwise(rng, relu, RELU_MISTAKES),
        "relu_derivative": _hidden_elementwise(rng, relu_derivative, RELU_DERIVATIVE_MISTAKES),
        "leaky_relu": _hidden_elementwise(rng, leaky_relu, LEAKY_RELU_MISTAKES,
                                          kwargs_for=lambda i: {"negative_slope": slope} if i % 2 else {}),
        "leaky_relu_derivative": _hidden_elementwise(rng, leaky_relu_derivative, LEAKY_RELU_DERIVATIVE_MISTAKES,
                                                     kwargs_for=lambda i: {"negative_slope": slope} if i % 2 else {}),
        "gelu": _hidden_elementwise(rng, gelu, GELU_MISTAKES, kwargs_for=lambda i: {"approximate": bool(i % 2)}),
        "gelu_derivative": _hidden_elementwise(rng, gelu_derivative, GELU_DERIVATIVE_MISTAKES,
                                               kwargs_for=lambda i: {"approximate": bool(i % 2)}),
        "softmax": [_elementwise_case(softmax, SOFTMAX_MISTAKES, x) for x in _softmax_inputs(rng)],
        "softmax_backward": [_softmax_backward_case(s, g) for s, g in _backward_inputs(rng)],
        "sigmoid_chain_gradient": [
            _chain_case(start, np.round(rng.normal(scale=2, size=depth), 2)),
            _chain_case(-start, np.round(rng.uniform(0.5, 4, size=depth) * rng.choice([-1, 1], size=depth), 2)),
            _chain_case(start, np.round(rng.normal(scale=3, size=1), 2)),
        ],
        "dead_relu_fraction": [_dead_case(X, W, b), _dead_case(X[:1], W, b), _dead_case(X[:, :1], W[:1], b)],
        "keras_activation": [_keras_case(name, keras_x if name != "softmax" else _softmax_inputs(rng)[3])
                             for name in KERAS_NAMES],
    }


EQUIVALENT_MUTANTS = {
    "sigmoid · comparison · x >= 0 → x > 0": "at x = 0 both branches give 1/2",
    "relu · swap_arguments · np.maximum(np.asarray(x, dtype=float), 0.0) → "
    "np.maximum(0.0, np.asarray(x, dtype=float))": "np.maximum is symmetric in its two arguments",
    "leaky_relu · comparison · x > 0 → x >= 0": "at x = 0 both branches give 0",
    "softmax · drop_statement · x = np.asarray(x, dtype=np.float64) → pass": "np.max(..., keepdims=True) "
    "returns an array, and subtracting it converts a list (and keeps float32 as float32, which is allowed)",
}
