"""Lab 08 in Keras: keras.activations agree with the NumPy references in float64, and keras_activation is graded.

Tolerances reached (float64 on the CPU): sigmoid, tanh, relu and softmax agree to the last bits (rtol
1e-15), their tape derivatives to 1e-15; leaky_relu only to ~2.3e-8 relative, because
tf.nn.leaky_relu stores its slope as a float32 attribute (0.01 → 0.0099999998); gelu to ~6e-7
relative (5e-9 absolute), because tf.nn.gelu casts 1/√2 and 0.044715 through float32. With those
float32 constants put into the NumPy formulas, they agree to 1e-15 too.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import first_failure

from autograder import checks
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.feedback import plain
from autograder.hidden import lab08 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.usefixtures("float64_keras")

LAB = "08_activations"
EXTREMES = np.array([-1e4, -1000.0, -30.0, -2.0, -0.5, -1e-8, 0.0, 1e-8, 0.5, 2.0, 30.0, 1000.0, 1e4])


def _tape(fn, x):
    """fn(x) and d(Σ fn(x))/dx, by GradientTape in float64."""
    tensor = tf.constant(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        value = fn(tensor)
    return value.numpy(), tape.gradient(value, tensor).numpy()


PARITY = [  # Keras, NumPy reference, its derivative, rtol of the values, rtol of the derivatives
    ("sigmoid", keras.activations.sigmoid, ref.sigmoid, ref.sigmoid_derivative, 1e-15, 1e-15),
    ("tanh", keras.activations.tanh, ref.tanh, ref.tanh_derivative, 1e-15, 1e-15),
    ("relu", keras.activations.relu, ref.relu, ref.relu_derivative, 0.0, 0.0),
    ("leaky_relu", lambda t: keras.activations.leaky_relu(t, negative_slope=0.01), ref.leaky_relu,
     ref.leaky_relu_derivative, 3e-8, 3e-8),
    ("gelu", lambda t: keras.activations.gelu(t, approximate=False), ref.gelu, ref.gelu_derivative, 1e-6, 1e-6),
    ("gelu_tanh", lambda t: keras.activations.gelu(t, approximate=True), lambda x: ref.gelu(x, True),
     lambda x: ref.gelu_derivative(x, True), 1e-6, 1e-6),
]


@pytest.mark.parametrize(("name", "keras_fn", "numpy_fn", "derivative", "rtol", "rtol_slope"), PARITY,
                         ids=[row[0] for row in PARITY])
def test_keras_activations_and_their_tape_derivatives_agree_at_extreme_inputs(name, keras_fn, numpy_fn, derivative,
                                                                              rtol, rtol_slope):
    value, slope = _tape(keras_fn, EXTREMES)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(slope))
    np.testing.assert_allclose(value, numpy_fn(EXTREMES), rtol=rtol, atol=1e-15)
    np.testing.assert_allclose(slope, derivative(EXTREMES), rtol=rtol_slope, atol=1e-15)


def test_tensorflow_takes_the_course_conventions_at_the_corner():
    """ReLU′(0) = 0 and leaky ReLU′(0) = its slope: the conventions the NumPy checks ask for."""
    _, relu_slope = _tape(keras.activations.relu, np.array([0.0]))
    _, leaky_slope = _tape(lambda t: keras.activations.leaky_relu(t, negative_slope=0.25), np.array([0.0]))
    assert relu_slope[0] == 0.0 and leaky_slope[0] == 0.25


@pytest.mark.parametrize("name", ["leaky_relu", "gelu", "gelu_tanh"])
def test_with_tensorflows_float32_constants_the_numpy_formulas_agree_to_the_last_bits(name):
    keras_fn = {"leaky_relu": lambda t: keras.activations.leaky_relu(t, negative_slope=0.01),
                "gelu": lambda t: keras.activations.gelu(t, approximate=False),
                "gelu_tanh": lambda t: keras.activations.gelu(t, approximate=True)}[name]
    np.testing.assert_allclose(_tape(keras_fn, EXTREMES)[0], ref._TENSORFLOW_TWINS[name](EXTREMES), rtol=1e-15,
                               atol=1e-15)


def test_keras_defaults_for_the_leaky_slope_differ_from_the_course():
    x = np.array([-10.0])
    assert keras.layers.LeakyReLU(dtype="float64")(x).numpy()[0] == pytest.approx(-3.0)
    assert keras.activations.leaky_relu(tf.constant(x)).numpy()[0] == pytest.approx(-2.0)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (1, 3)])
def test_keras_softmax_and_its_tape_equal_softmax_and_softmax_backward(shape):
    rng = np.random.default_rng(8)
    logits = rng.normal(scale=3, size=shape)
    logits.flat[0] += 1000.0
    upstream = rng.normal(size=shape)
    tensor = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        probabilities = keras.activations.softmax(tensor, axis=-1)
        weighted = tf.reduce_sum(probabilities * upstream)
    np.testing.assert_allclose(probabilities.numpy(), ref.softmax(logits), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(tape.gradient(weighted, tensor).numpy(),
                               ref.softmax_backward(probabilities.numpy(), upstream), rtol=1e-12, atol=1e-15)


def test_the_tape_through_a_sigmoid_chain_is_sigmoid_chain_gradient():
    weights = np.array([1.5, -2.0, 0.7, 3.0, -0.4])
    x = tf.constant(0.3, dtype=tf.float64)
    gradients = []
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, outputs = x, []
        for w in weights:
            a = keras.activations.sigmoid(w * a)
            outputs.append(a)
    gradients = [tape.gradient(a, x).numpy() for a in outputs]
    np.testing.assert_allclose(gradients, ref.sigmoid_chain_gradient(0.3, weights), rtol=1e-14)


# keras_activation: the graded Keras exercise ------------------------------------------

def keras_activation(name, x, *, dtype="float64", layer_dtype="float64", slope=0.01, layer=True,
                     gelu_flags=(False, True)):
    """The solution, with switches for the mistakes the check names."""
    tensor = keras.ops.convert_to_tensor(np.asarray(x, dtype="float64"), dtype=dtype)
    if name == "leaky_relu":
        if layer:
            leaky = keras.layers.LeakyReLU(dtype=layer_dtype) if slope is None else keras.layers.LeakyReLU(
                negative_slope=slope, dtype=layer_dtype)
            result = leaky(tensor)
        else:
            result = keras.activations.leaky_relu(tensor) if slope is None else keras.activations.leaky_relu(
                tensor, negative_slope=slope)
    elif name == "gelu":
        result = keras.activations.gelu(tensor, approximate=gelu_flags[0])
    elif name == "gelu_tanh":
        result = keras.activations.gelu(tensor, approximate=gelu_flags[1])
    elif name == "softmax":
        result = keras.activations.softmax(tensor, axis=-1)
    else:
        result = getattr(keras.activations, name)(tensor)
    return keras.ops.convert_to_numpy(result)


def variant(**switches):
    return lambda name, x: keras_activation(name, x, **switches)


def exact_where(name, x):
    """Another valid way: tf ops, keras.ops.where for an exact slope, a tensor returned."""
    tensor = tf.constant(x, dtype=tf.float64)
    if name == "leaky_relu":
        return keras.ops.where(tensor > 0, tensor, 0.01 * tensor)
    if name == "gelu_tanh":
        return tf.nn.gelu(tensor, approximate=True)
    if name == "gelu":
        return tf.nn.gelu(tensor, approximate=False)
    return keras.layers.Activation(name, dtype="float64")(tensor)


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "keras_activation", keras_activation) is None


@pytest.mark.parametrize("implementation", [variant(layer=False), exact_where], ids=["activations", "ops_where"])
def test_correct_alternatives_pass(implementation):
    assert first_failure(LAB, "keras_activation", implementation, seeds=(0,)) is None


def test_the_blank_stub_is_not_implemented():
    def keras_activation(name, x):
        raise NotImplementedError("keras_activation")

    assert first_failure(LAB, "keras_activation", keras_activation, seeds=(0,)) == (
        f"Lab 08 · keras_activation: {NOT_IMPLEMENTED}")


MISTAKES = [
    (variant(layer_dtype=None), "float32"),  # a layer computes in its own dtype, float32 by default
    (variant(dtype="float32"), "float32"),
    (variant(slope=None), "layer_default"),
    (variant(slope=None, layer=False), "function_default"),
    (variant(gelu_flags=(True, True)), "tanh_for_exact"),
    (variant(gelu_flags=(False, False)), "exact_for_tanh"),
]


@pytest.mark.parametrize(("implementation", "key"), MISTAKES,
                         ids=["layer_float32", "tensor_float32", "layer_default", "function_default", "tanh_for_exact",
                              "exact_for_tanh"])
def test_each_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(LAB, "keras_activation", implementation, seeds=(0,))
    assert feedback is not None and feedback.startswith("Lab 08 · keras_activation"), feedback
    messages = checks.load_lab(LAB).exercise("keras_activation").messages
    assert plain(messages[key]) in feedback, feedback
    assert [k for k, m in messages.items() if k != key and plain(m) in feedback] == [], feedback
