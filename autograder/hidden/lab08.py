"""Lab 08 hidden checks: reference activations, known mistakes and case generators."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from autograder.demos.lab08 import he_network
from autograder.hidden import build_case

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


def _naive_positive(x):
    x = np.asarray(x)
    return np.exp(x) / (1 + np.exp(x))


SIGMOID_MISTAKES = {  # the naive 1/(1 + exp(−x)) is no mistake by value: right wherever σ(x) is a normal float64
    "naive_positive": _naive_positive,
    "tanh_form": lambda x: 0.5 * (1 + np.tanh(_float(x) / 2)),
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
    "lost_tiny": lambda x: (lambda s: s * (1 - s))(0.5 * (1 + np.tanh(_float(x) / 2))),
    "quotient": _quotient,
}


# pairs: an activation and its slope ---------------------------------------------------

def _pairs(value, slope, value_mistakes=(), slope_mistakes=(), both=()):
    """Mistakes of a (value, slope) exercise: one part wrong and the other right, or both wrong together."""
    mistakes = {key: (lambda w: lambda *a, **k: (w(*a, **k), slope(*a, **k)))(wrong)
                for key, wrong in dict(value_mistakes).items()}
    mistakes.update({key: (lambda w: lambda *a, **k: (value(*a, **k), w(*a, **k)))(wrong)
                     for key, wrong in dict(slope_mistakes).items()})
    mistakes.update(dict(both))
    return mistakes


# tanh --------------------------------------------------------------------------------

def tanh(x):
    return np.tanh(_float(x))


def tanh_derivative(x):
    return 1 - np.tanh(_float(x)) ** 2


def tanh_and_slope(x):
    return tanh(x), tanh_derivative(x)


def _naive_tanh(x):
    x = _float(x)
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


TANH_MISTAKES = _pairs(tanh, tanh_derivative, value_mistakes={
    "naive": _naive_tanh,
    "identity_slip": lambda x: 2 * sigmoid(x) - 1,
}, slope_mistakes={
    "from_x": lambda x: 1 - _float(x) ** 2,
    "no_square": lambda x: 1 - np.tanh(_float(x)),
    "sigmoid_form": lambda x: np.tanh(_float(x)) * (1 - np.tanh(_float(x))),
})


# relu and leaky relu -----------------------------------------------------------------

def relu(x):
    return np.maximum(_float(x), 0.0)


def relu_derivative(x):
    return (_float(x) > 0).astype(float)


def leaky_relu(x, negative_slope=COURSE_SLOPE):
    x = _float(x)
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_derivative(x, negative_slope=COURSE_SLOPE):
    return np.where(_float(x) > 0, 1.0, negative_slope)


def leaky_relu_and_slope(x, negative_slope=COURSE_SLOPE):
    return leaky_relu(x, negative_slope), leaky_relu_derivative(x, negative_slope)


def _leaky_pair_with(slope):
    return lambda x, negative_slope=slope: leaky_relu_and_slope(x, negative_slope)


LEAKY_RELU_MISTAKES = _pairs(leaky_relu, leaky_relu_derivative, value_mistakes={
    "swapped_branches": lambda x, negative_slope=COURSE_SLOPE: np.where(
        _float(x) > 0, negative_slope * _float(x), _float(x)),
}, slope_mistakes={
    "one_at_zero": lambda x, negative_slope=COURSE_SLOPE: np.where(_float(x) >= 0, 1.0, negative_slope),
    "returned_forward": leaky_relu,
    "sign": lambda x, negative_slope=COURSE_SLOPE: np.sign(_float(x)),
}, both={
    "layer_default": _leaky_pair_with(LAYER_SLOPE),
    "function_default": _leaky_pair_with(FUNCTION_SLOPE),
    "no_slope": lambda x, negative_slope=COURSE_SLOPE: (relu(x), relu_derivative(x)),
})


# gelu --------------------------------------------------------------------------------

def _gelu_exact(x):
    x = _float(x)
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_tanh(x):
    x = _float(x)
    return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x ** 3)))


def gelu(x, approximate=False):
    return _gelu_tanh(x) if approximate else _gelu_exact(x)


def _gelu_exact_derivative(x):
    x = _float(x)
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)


def _gelu_tanh_derivative(x):
    x = _float(x)
    t = np.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x ** 2)


def gelu_derivative(x, approximate=False):
    return _gelu_tanh_derivative(x) if approximate else _gelu_exact_derivative(x)


def gelu_and_slope(x, approximate=False):
    return gelu(x, approximate), gelu_derivative(x, approximate)


def _cdf_only(x, approximate=False):
    x = _float(x)
    if approximate:
        return 0.5 * (1 + np.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x ** 3)))
    return 0.5 * (1 + _erf(x / math.sqrt(2)))


GELU_MISTAKES = _pairs(gelu, gelu_derivative, value_mistakes={
    "sigmoid_approximation": lambda x, approximate=False: _float(x) * sigmoid(1.702 * _float(x)),
    "no_sqrt2": lambda x, approximate=False: (_gelu_tanh(x) if approximate else
                                             0.5 * _float(x) * (1 + _erf(_float(x)))),
}, slope_mistakes={
    "cdf_only": _cdf_only,
}, both={
    "tanh_for_exact": lambda x, approximate=False: (_gelu_tanh(x), _gelu_tanh_derivative(x)),
    "exact_for_tanh": lambda x, approximate=False: (_gelu_exact(x), _gelu_exact_derivative(x)),
    "flag_swapped": lambda x, approximate=False: gelu_and_slope(x, not approximate),
})


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


# keras_train_steps (the graded Keras exercise; the reference is NumPy) -----------------

def train_steps(forward_and_slope, weights, X, y, learning_rate, steps, *, output_activation=False,
                reduce=np.mean):
    """Plain full-batch SGD on the squared error of an MLP, in NumPy: what a Keras training step computes.

    Args:
        forward_and_slope: z ↦ (activation(z), activation′(z)), used in every hidden layer (and in the
            output layer too when ``output_activation``; otherwise the output layer is linear).
        weights: [W1, b1, …, WL, bL], kernels of shape (fan_in, fan_out) as in Keras.
        X: the inputs, shape (n, d). y: the targets, shape (n, k).
        learning_rate: the SGD step. steps: how many steps.
        reduce: ``np.mean`` for the mean squared error (Keras's "mse"), ``np.sum`` for the sum.

    Returns:
        (losses, kernel_gradient_norms, weights): the loss before each step, shape (steps,); the Frobenius
        norm of each kernel's gradient at each step, shape (steps, L); the weights after the last step.
    """
    weights = [np.array(w, dtype=float) for w in weights]
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    layers = len(weights) // 2
    losses, norms = [], []
    for _ in range(steps):
        inputs, slopes, h = [], [], X
        for layer in range(layers):
            inputs.append(h)
            z = h @ weights[2 * layer] + weights[2 * layer + 1]
            if layer < layers - 1 or output_activation:
                h, slope = forward_and_slope(z)
                slopes.append(np.asarray(slope, dtype=float))
            else:
                h = z
                slopes.append(np.ones_like(z))
        error = h - y
        losses.append(float(reduce(error ** 2)))
        upstream = 2 * error / (error.size if reduce is np.mean else 1)
        gradients = [None] * len(weights)
        for layer in reversed(range(layers)):
            upstream = upstream * slopes[layer]
            gradients[2 * layer] = inputs[layer].T @ upstream
            gradients[2 * layer + 1] = upstream.sum(axis=0)
            upstream = upstream @ weights[2 * layer].T
        norms.append([float(np.linalg.norm(gradients[2 * layer])) for layer in range(layers)])
        weights = [w - learning_rate * g for w, g in zip(weights, gradients)]
    return np.array(losses), np.array(norms).reshape(steps, layers), weights


TRAIN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def _f32(value):
    """A constant as TensorFlow keeps it: tf.nn.leaky_relu's slope is a float32 attribute (0.01 → 0.0099999998)."""
    return float(np.float32(value))


def _activation_pair(name, slope=COURSE_SLOPE):
    return {"sigmoid": lambda z: (sigmoid(z), sigmoid_derivative(z)), "tanh": tanh_and_slope,
            "relu": lambda z: (relu(z), relu_derivative(z)),
            "leaky_relu": lambda z: leaky_relu_and_slope(z, slope)}[name]


def _run(activation, weights, X, y, learning_rate, steps, slope=COURSE_SLOPE, **options):
    losses, norms, final = train_steps(_activation_pair(activation, slope), weights, X, y, learning_rate, steps,
                                       **options)
    return losses, norms, tuple(final)


def keras_train_steps(activation, weights, X, y, learning_rate, steps):
    return _run(activation, weights, X, y, learning_rate, steps)


def _either(run):
    """The run's value; for leaky ReLU, {"either": (run with the slope as given, run with TensorFlow's float32 slope)}.

    tf.nn.leaky_relu keeps its slope as a float32 attribute (0.01 → 0.0099999998), which moves a run by about
    1e-9 relative; keras.ops.where(z > 0, z, 0.01 * z) keeps it exact. Either is right (the check takes the
    closer), and each mistake below is recognised in both forms.
    """
    def value(activation, *args):
        if activation != "leaky_relu":
            return run(activation, *args, cast=float)
        return {"either": (run(activation, *args, cast=float), run(activation, *args, cast=_f32))}
    return value


KERAS_MISTAKES = {key: _either(run) for key, run in {
    "layer_default": lambda a, *rest, cast: _run(a, *rest, slope=cast(LAYER_SLOPE)),
    "function_default": lambda a, *rest, cast: _run(a, *rest, slope=cast(FUNCTION_SLOPE)),
    "activation_on_output": lambda a, *rest, cast: _run(a, *rest, slope=cast(COURSE_SLOPE), output_activation=True),
    "default_learning_rate": lambda a, w, X, y, lr, steps, cast: _run(a, w, X, y, 0.01, steps, slope=cast(
        COURSE_SLOPE)),
    "sum_loss": lambda a, *rest, cast: _run(a, *rest, slope=cast(COURSE_SLOPE), reduce=np.sum),
}.items()}
_KERAS_EXPECTED = _either(lambda a, *rest, cast: _run(a, *rest, slope=cast(COURSE_SLOPE)))


# the cases ---------------------------------------------------------------------------

def _x_label(x) -> str:
    kind = " (a list)" if isinstance(x, list) else ""
    x = np.asarray(x)
    dtype = "" if x.dtype == np.float64 else f" ({x.dtype})"
    return f"x = {_text(x)}{dtype}{kind}"


def _as_float32(value):
    """Arrays (also inside a pair) as float32: the check then compares at float32's tolerance."""
    if isinstance(value, tuple):
        return tuple(_as_float32(item) for item in value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float32)
    return value


def _differs_relatively(value, expected) -> bool:
    """Whether ``value`` differs from ``expected`` beyond a relative 1e-9, tiny normal floats included."""
    try:
        v, e = np.asarray(value, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return True
    if v.shape != e.shape:
        return True
    with np.errstate(invalid="ignore"):
        return not bool(np.all((np.abs(v - e) <= 1e-9 * np.abs(e) + SMALLEST_NORMAL) | (np.isnan(v) & np.isnan(e))))


def _with_tiny_mistakes(case, mistakes):
    """build_case leaves out a mistake within 1e-15 of the reference; 0 for σ(−600) ≈ 2.7e-261 is one to keep."""
    wrong = dict(case.wrong)
    for key, mistake in mistakes.items():
        if key in wrong:
            continue
        with np.errstate(all="ignore"):
            value = mistake(*case.args, **case.kwargs)
        if _differs_relatively(value, case.expected):
            wrong[key] = value
    return replace(case, wrong=wrong)


def _elementwise_case(fn, mistakes, x, kwargs=None, label=None):
    """One call on x; for a float32 x the expected and mistaken values are float32 too (any precision passes)."""
    kwargs = dict(kwargs or {})
    label = label or _x_label(x) + "".join(f", {k} = {v}" for k, v in kwargs.items())
    case = build_case(label, (x if isinstance(x, list) else np.asarray(x),), fn, mistakes, kwargs)
    if fn in (sigmoid, sigmoid_derivative) and np.asarray(x).dtype == np.float64:
        case = _with_tiny_mistakes(case, mistakes)
    if np.asarray(x).dtype != np.float32:
        return case
    return replace(case, expected=_as_float32(case.expected),
                   wrong={key: _as_float32(value) for key, value in case.wrong.items()})


def _softmax_backward_case(logits, upstream, label=None):
    s = softmax(logits)
    label = label or f"s = softmax({_text(logits)}), upstream = {_text(upstream)}"
    return build_case(label, (s, np.asarray(upstream, dtype=float)), softmax_backward, SOFTMAX_BACKWARD_MISTAKES)


def _chain_case(x, weights, label=None):
    """weights as given when a plain list (the docstring says array-like), else as a float64 array."""
    weights = weights if isinstance(weights, list) else np.asarray(weights, dtype=float)
    label = label or f"x = {x:g}, weights = {_text(weights)}{' (a list)' if isinstance(weights, list) else ''}"
    return build_case(label, (float(x), weights), sigmoid_chain_gradient, CHAIN_MISTAKES)


def _dead_case(X, W, b, label=None):
    X, W, b = (np.asarray(v, dtype=float) for v in (X, W, b))
    label = label or f"X = {_text(X)}, W = {_text(W)}, b = {_text(b)}"
    return build_case(label, (X, W, b), dead_relu_fraction, DEAD_MISTAKES)


def _train_case(activation, sizes, n, learning_rate, steps, rng, bias_scale=0.5):
    """A He-initialised MLP of the layer sizes ``sizes`` on n random rows; the targets come from a random line."""
    X = np.round(rng.normal(size=(n, sizes[0])), 2)
    y = np.round(X @ rng.normal(size=(sizes[0], sizes[-1])) + rng.normal(scale=0.5, size=(n, sizes[-1])), 2)
    weights = he_network(sizes, rng, bias_scale)
    label = (f"activation = {activation!r}, layer sizes {' → '.join(map(str, sizes))}, {n} rows, "
             f"learning_rate = {learning_rate:g}, {steps} steps")
    args = (activation, weights, X, y, learning_rate, steps)
    return build_case(label, args, _KERAS_EXPECTED, KERAS_MISTAKES)


EXTREMES = np.array([-1000.0, -30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0, 1000.0])
TINY = np.array([-1000.0, -600.0, -50.0, -2.0, 0.0, 2.0, 50.0, 1000.0])  # σ(−600) ≈ 2.7e-261, σ(−50) ≈ 1.9e-22
GRID_2D = np.array([[-3.0, 0.0, 3.0], [1000.0, -1000.0, 0.25]])
SIGMOID_PUBLIC = [
    EXTREMES,
    TINY,
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


def _elementwise_public(fn, mistakes, xs=PUBLIC_X):
    return [_elementwise_case(fn, mistakes, x) for x in xs]


def _slope_cases(fn, mistakes, x):
    """The default slope, another, and 0 (plain ReLU and its derivative)."""
    return [_elementwise_case(fn, mistakes, x), _elementwise_case(fn, mistakes, x, {"negative_slope": 0.1}),
            _elementwise_case(fn, mistakes, GRID_2D, {"negative_slope": 0.0})]


def _flag_cases(fn, mistakes, x):
    return [_elementwise_case(fn, mistakes, x), _elementwise_case(fn, mistakes, x, {"approximate": True}),
            _elementwise_case(fn, mistakes, GRID_2D, {"approximate": False})]


def public_cases():
    """The course's conventions on inputs a person can follow: zeros, ±1000, ties, one-element rows."""
    rng = np.random.default_rng(8)
    return {
        "sigmoid": _elementwise_public(sigmoid, SIGMOID_MISTAKES, SIGMOID_PUBLIC),
        "sigmoid_derivative": _elementwise_public(sigmoid_derivative, SIGMOID_DERIVATIVE_MISTAKES, SIGMOID_PUBLIC),
        "tanh_and_slope": _elementwise_public(tanh_and_slope, TANH_MISTAKES),
        "leaky_relu_and_slope": _slope_cases(leaky_relu_and_slope, LEAKY_RELU_MISTAKES, LEAKY_X),
        "gelu_and_slope": _flag_cases(gelu_and_slope, GELU_MISTAKES, GELU_X),
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
        "keras_train_steps": [
            _train_case("sigmoid", (2, 4, 4, 4, 1), 5, 0.5, 3, rng),
            _train_case("tanh", (2, 4, 4, 1), 5, 0.1, 3, rng),
            _train_case("relu", (3, 5, 5, 1), 6, 0.05, 3, rng),
            _train_case("leaky_relu", (2, 5, 1), 6, 0.1, 3, rng),
        ],
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


def _tiny(rng, x, band):
    """x with one value drawn from ``band`` (a (low, high) range of negative inputs) put at a random place."""
    x = np.array(x, dtype=float)
    x[rng.integers(len(x))] = float(np.round(rng.uniform(*band), 1))
    return x


SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)
TINY_BAND = (-700.0, -470.0)  # σ(x) ≈ e^x between 1e-304 and 1e-204: normal float64s, below sigmoid_derivative's 1e-200
CANCEL_BAND = (-300.0, -40.0)  # 1 + tanh(x/2) cancels to 0, yet σ(x) is far above the smallest normal float64


def _elementwise_inputs(rng):
    """1-D with both extremes, 2-D with a random shape, one extreme sign alone each, float32, one element,
    and tiny sigmoids: one input whose σ′ is below 1e-200, one whose σ tanh's cancellation loses."""
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
        _tiny(rng, _values(rng, 5), TINY_BAND),
        _tiny(rng, _values(rng, 5), CANCEL_BAND),
    ]


def _hidden_elementwise(rng, fn, mistakes, kwargs_for=lambda i: {}):
    return [_elementwise_case(fn, mistakes, x, kwargs_for(i)) for i, x in enumerate(_elementwise_inputs(rng))]


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


def _partly_alive_case(X):
    """No dead unit, two units alive for one example only, one alive by its bias alone: whatever the draw,
    counting zero entries, units zero for *some* example, or leaving the bias out each gives a fraction
    above 0 here (a random layer can leave all three right)."""
    a = max(1.0, float(np.abs(X).max()))
    return _dead_case([[a], [-a]], [[1.0, 0.0, 1.0]], [0.0, 1.0, -a / 2])


def _hidden_train_cases(rng):
    """Each activation once, on a network of 1 to 3 hidden layers of random widths, 2 to 4 steps."""
    cases = []
    for activation in TRAIN_ACTIVATIONS:
        depth = int(rng.integers(1, 4))
        sizes = (int(rng.integers(1, 4)), *(int(v) for v in rng.integers(2, 6, size=depth)), 1)
        learning_rate = float(rng.choice([0.05, 0.1, 0.2, 0.3]))
        cases.append(_train_case(activation, sizes, int(rng.integers(3, 9)), learning_rate,
                                 int(rng.integers(2, 5)), rng))
    return cases


def hidden_cases(rng):
    """Inputs drawn from ``rng``: random shapes, exact zeros, ±1000 and ±1e4, float32, one element, tiny σ."""
    slope = float(rng.choice([0.05, 0.1, 0.25, 0.5]))
    X, W, b = _dead_inputs(rng)
    start = float(np.round(rng.uniform(-2, 2), 2))
    depth = int(rng.integers(4, 12))

    def slope_for(i):
        return ({}, {"negative_slope": slope}, {"negative_slope": 0.0})[i % 3]

    return {
        "sigmoid": _hidden_elementwise(rng, sigmoid, SIGMOID_MISTAKES),
        "sigmoid_derivative": _hidden_elementwise(rng, sigmoid_derivative, SIGMOID_DERIVATIVE_MISTAKES),
        "tanh_and_slope": _hidden_elementwise(rng, tanh_and_slope, TANH_MISTAKES),
        "leaky_relu_and_slope": _hidden_elementwise(rng, leaky_relu_and_slope, LEAKY_RELU_MISTAKES,
                                                    kwargs_for=slope_for),
        "gelu_and_slope": _hidden_elementwise(rng, gelu_and_slope, GELU_MISTAKES,
                                              kwargs_for=lambda i: {"approximate": bool(i % 2)}),
        "softmax": [_elementwise_case(softmax, SOFTMAX_MISTAKES, x) for x in _softmax_inputs(rng)],
        "softmax_backward": [_softmax_backward_case(s, g) for s, g in _backward_inputs(rng)],
        "sigmoid_chain_gradient": [
            _chain_case(start, np.round(rng.normal(scale=2, size=depth), 2)),
            _chain_case(-start, np.round(rng.uniform(0.5, 4, size=depth) * rng.choice([-1, 1], size=depth), 2)),
            _chain_case(start, np.round(rng.normal(scale=3, size=1), 2)),
            _chain_case(-start, [float(w) for w in np.round(rng.normal(scale=2, size=3), 2)]),
        ],
        "dead_relu_fraction": [_dead_case(X, W, b), _dead_case(X[:1], W, b), _dead_case(X[:, :1], W[:1], b),
                               _partly_alive_case(X)],
        "keras_train_steps": _hidden_train_cases(rng),
    }


EQUIVALENT_MUTANTS = {
    "sigmoid · comparison · x >= 0 → x > 0": "at x = 0 both branches give 1/2",
    "dead_relu_fraction · swap_arguments · np.maximum(z, 0.0) → np.maximum(0.0, z)": "np.maximum is symmetric in "
    "its two arguments",
    "softmax · drop_statement · x = np.asarray(x, dtype=np.float64) → pass": "np.max(..., keepdims=True) "
    "returns an array, and subtracting it converts a list (and keeps float32 as float32, which is allowed)",
}
