"""Lab 08 in Keras: keras.activations agree with the NumPy references in float64, the notebook's claims about
Keras hold, and keras_train_steps (a GradientTape training loop) is graded.

Tolerances reached (float64 on the CPU): sigmoid, tanh, relu and softmax agree to the last bits (rtol
1e-15), their tape derivatives to 1e-15; leaky_relu only to ~2.3e-8 relative, because
tf.nn.leaky_relu stores its slope as a float32 attribute (0.01 → 0.0099999998); gelu to ~6e-7
relative (5e-9 absolute), because tf.nn.gelu casts 1/√2 and 0.044715 through float32. With those
float32 constants put into the NumPy formulas, they agree to 1e-15 too. A float64 Keras training run
of keras_train_steps agrees with the NumPy reference run to about 1e-15.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import scipy.special
from conftest import first_failure

from autograder import checks, data
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.demos import lab08 as demos
from autograder.feedback import plain
from autograder.hidden import lab08 as ref
from autograder.probes.keras_state import as_in_a_fresh_process

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


def _tf_gelu_exact(x):
    return 0.5 * x * (1 + scipy.special.erf(x * float(np.float32(1 / math.sqrt(2)))))


def _tf_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + float(np.float32(0.044715)) * x ** 3)))


@pytest.mark.parametrize(("keras_fn", "numpy_fn"), [
    (lambda t: keras.activations.leaky_relu(t, negative_slope=0.01), lambda x: ref.leaky_relu(x, ref._f32(0.01))),
    (lambda t: keras.activations.gelu(t, approximate=False), _tf_gelu_exact),
    (lambda t: keras.activations.gelu(t, approximate=True), _tf_gelu_tanh),
], ids=["leaky_relu", "gelu", "gelu_tanh"])
def test_with_tensorflows_float32_constants_the_numpy_formulas_agree_to_the_last_bits(keras_fn, numpy_fn):
    np.testing.assert_allclose(_tape(keras_fn, EXTREMES)[0], numpy_fn(EXTREMES), rtol=1e-15, atol=1e-15)


def test_keras_defaults_for_the_leaky_slope_differ_from_the_course():
    x = np.array([-10.0])
    assert keras.layers.LeakyReLU(dtype="float64")(x).numpy()[0] == pytest.approx(-3.0)
    assert keras.activations.leaky_relu(tf.constant(x)).numpy()[0] == pytest.approx(-2.0)


def test_scipy_and_tensorflow_give_0_where_the_naive_sigmoid_overflows():
    """The lesson: where exp(−x) overflows, σ(x) < 2.2e-308, and expit and tf.sigmoid give 0 there too."""
    x = np.array([-745.0, -720.0, -710.0])
    with np.errstate(over="ignore"):
        assert np.all(np.isinf(np.exp(-x)))
    np.testing.assert_array_equal(scipy.special.expit(x), 0.0)
    np.testing.assert_array_equal(tf.sigmoid(tf.constant(x, dtype=tf.float64)).numpy(), 0.0)
    assert np.all(ref.sigmoid(x) < np.finfo(float).tiny)


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
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, outputs = x, []
        for w in weights:
            a = keras.activations.sigmoid(w * a)
            outputs.append(a)
    gradients = [tape.gradient(a, x).numpy() for a in outputs]
    np.testing.assert_allclose(gradients, ref.sigmoid_chain_gradient(0.3, weights), rtol=1e-14)


# the notebook's claims about Keras ----------------------------------------------------

def test_he_normal_draws_as_kerass_he_normal():
    """demos.he_normal (and lab 07's): truncated at 2 of its stddevs, the kept values of std √(2/fan_in)."""
    fan_in, fan_out = 8, 20000
    ours = demos.he_normal(fan_in, fan_out, np.random.default_rng(0))
    theirs = keras.initializers.HeNormal(seed=0)(shape=(fan_in, fan_out), dtype="float64").numpy()
    bound = 2 * math.sqrt(2 / fan_in) / demos.TRUNCATION
    for draws in (ours, theirs):
        assert np.abs(draws).max() <= bound and np.abs(draws).max() > 0.99 * bound
        assert np.std(draws) == pytest.approx(math.sqrt(2 / fan_in), rel=0.01)
    he = keras.initializers.HeNormal()
    assert (he.scale, he.mode, he.distribution) == (2.0, "fan_in", "truncated_normal")


def test_set_floatx_comes_too_late_for_layers_but_not_for_the_optimizer():
    """The lesson: once a layer was built, set_floatx no longer changes new layers' dtype; the optimizer's rate
    follows floatx at the time it is made, and a float32 rate of 0.1 is 0.10000000149."""
    with as_in_a_fresh_process():
        keras.layers.Dense(2)
        assert float(keras.optimizers.SGD(0.1).learning_rate.numpy()) == float(np.float32(0.1)) != 0.1
        keras.config.set_floatx("float64")
        assert keras.layers.Dense(2).dtype == "float32"
        assert keras.optimizers.SGD(0.1).learning_rate.dtype == "float64"
        assert keras.layers.Dense(2, dtype="float64").dtype == "float64"


def _one_epoch(learning_rate):
    """The notebook's dead-ReLU network, as the notebook builds it (float32, Keras's defaults)."""
    homes = data.load("property_prices")
    inputs = np.column_stack([homes["area_sqft"] / 1000, homes["bedrooms"], homes["distance_to_city_miles"],
                              homes["age_years"] / 100])
    with as_in_a_fresh_process():
        keras.utils.set_random_seed(0)
        network = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(64, activation="relu"),
                                    keras.layers.Dense(1)])
        initial = network.layers[0].get_weights()
        network.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
        network.fit(inputs, homes["price_thousands"], batch_size=10, epochs=1, verbose=0)
        return inputs, initial, network.layers[0].get_weights()


def test_after_a_too_large_step_the_kernels_kill_the_units_not_the_biases():
    inputs, (kernel_0, bias_0), (kernel, bias) = _one_epoch(1e-2)
    assert ref.dead_relu_fraction(inputs, kernel, bias) == 1.0
    assert ref.dead_relu_fraction(inputs, kernel, bias_0) == 1.0  # the trained kernels alone
    assert ref.dead_relu_fraction(inputs, kernel_0, bias) < 0.8  # the trained biases alone
    assert np.median(np.abs(inputs @ (kernel - kernel_0)).max(axis=0)) > 50 * np.median(np.abs(bias - bias_0))


def test_gradients_vanish_through_sigmoid_layers_more_than_through_relu_ones():
    exams = data.load("exam_results")
    X = np.column_stack([exams["study_hours"] - 5.0, exams["sleep_hours"] - 6.75])
    y = exams["passed"].astype(float)[:, None]
    weights = demos.he_network((2, 8, 8, 8, 8, 1), np.random.default_rng(8), bias_scale=0.1)
    ratio = {name: (lambda n: n[0, 0] / n[0, -1])(ref.keras_train_steps(name, weights, X, y, 0.1, 1)[1])
             for name in ("sigmoid", "relu")}
    assert ratio["sigmoid"] < 0.01 < 0.1 < ratio["relu"]


# keras_train_steps: the graded Keras exercise ------------------------------------------

def keras_train_steps(activation, weights, X, y, learning_rate, steps, *, floatx="float64", layer_dtype="float64",
                      slope=0.01, leaky="function", output_activation=False, optimizer_rate="given", loss="mean",
                      norms_of="kernels"):
    """The solution, with switches for the mistakes the check names."""
    if floatx:
        keras.config.set_floatx(floatx)
    kernels = weights[0::2]
    if activation == "leaky_relu":
        if leaky == "function":
            activation = (lambda z: keras.activations.leaky_relu(z)) if slope is None else (
                lambda z: keras.activations.leaky_relu(z, negative_slope=slope))
        else:
            layer = keras.layers.LeakyReLU(dtype=layer_dtype) if slope is None else keras.layers.LeakyReLU(
                negative_slope=slope, dtype=layer_dtype)
            activation = layer
    hidden = [keras.layers.Dense(k.shape[1], activation=activation, dtype=layer_dtype) for k in kernels[:-1]]
    output = keras.layers.Dense(kernels[-1].shape[1], activation=activation if output_activation else None,
                                dtype=layer_dtype)
    model = keras.Sequential([keras.Input(shape=(kernels[0].shape[0],)), *hidden, output])
    model.set_weights(weights)
    optimizer = keras.optimizers.SGD() if optimizer_rate == "default" else keras.optimizers.SGD(learning_rate)
    losses, norms = [], []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            errors = keras.ops.square(model(X) - y)
            value = keras.ops.mean(errors) if loss == "mean" else keras.ops.sum(errors)
        gradients = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        losses.append(value)
        chosen = gradients[0::2] if norms_of == "kernels" else gradients
        norms.append([tf.norm(g) for g in chosen])
    return np.array(losses), np.array(norms), model.get_weights()


def variant(**switches):
    return lambda *args: keras_train_steps(*args, **switches)


def exact_where_with_fit_free_loss(activation, weights, X, y, learning_rate, steps):
    """Another valid way: a keras.losses object, an exact leaky slope by keras.ops.where, tensors returned."""
    keras.config.set_floatx("float64")
    if activation == "leaky_relu":
        activation = lambda z: keras.ops.where(z > 0, z, 0.01 * z)  # noqa: E731
    layers = [keras.layers.Dense(w.shape[1], activation=activation, dtype="float64") for w in weights[0:-2:2]]
    model = keras.Sequential([keras.Input(shape=(weights[0].shape[0],)), *layers,
                              keras.layers.Dense(weights[-2].shape[1], dtype="float64")])
    for variable, value in zip(model.trainable_variables, weights):
        variable.assign(value)
    optimizer, mse = keras.optimizers.SGD(learning_rate=learning_rate), keras.losses.MeanSquaredError()
    losses, norms = [], []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = mse(y, model(X))
        gradients = tape.gradient(loss, model.trainable_variables)
        norms.append(tf.stack([tf.sqrt(tf.reduce_sum(g * g)) for g in gradients[::2]]))
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        losses.append(loss)
    return tf.stack(losses), tf.stack(norms), list(model.trainable_variables)


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "keras_train_steps", keras_train_steps) is None


@pytest.mark.parametrize("implementation", [variant(leaky="layer"), exact_where_with_fit_free_loss],
                         ids=["leaky_layer", "ops_where_and_loss_object"])
def test_correct_alternatives_pass(implementation):
    assert first_failure(LAB, "keras_train_steps", implementation, seeds=(0,)) is None


def test_the_blank_stub_is_not_implemented():
    def keras_train_steps(activation, weights, X, y, learning_rate, steps):
        raise NotImplementedError("keras_train_steps")

    assert first_failure(LAB, "keras_train_steps", keras_train_steps, seeds=(0,)) == (
        f"Lab 08 · keras_train_steps: {NOT_IMPLEMENTED}")


MISTAKES = [
    (variant(floatx=None), "float32"),  # float64 layers, but the optimizer's learning rate is float32
    (variant(layer_dtype=None), "float32"),  # set_floatx only: fine in a fresh process, so float64 … see below
    (variant(floatx=None, layer_dtype=None), "float32"),
    (variant(slope=None, leaky="layer"), "layer_default"),
    (variant(slope=None), "function_default"),
    (variant(output_activation=True), "activation_on_output"),
    (variant(optimizer_rate="default"), "default_learning_rate"),
    (variant(loss="sum"), "sum_loss"),
    (variant(norms_of="all"), "with_biases"),
]


@pytest.mark.parametrize(("implementation", "key"), MISTAKES[:1] + MISTAKES[2:],
                         ids=["rate_float32", "all_float32", "layer_default", "function_default",
                              "activation_on_output", "default_learning_rate", "sum_loss", "with_biases"])
def test_each_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(LAB, "keras_train_steps", implementation, seeds=(0,))
    assert feedback is not None and feedback.startswith("Lab 08 · keras_train_steps"), feedback
    messages = checks.load_lab(LAB).exercise("keras_train_steps").messages
    assert plain(messages[key]) in feedback, feedback
    assert [k for k, m in messages.items() if k != key and plain(m) in feedback] == [], feedback


def test_set_floatx_inside_the_function_is_enough_in_the_graders_fresh_process():
    """The check runs the student's function as a fresh process would: there set_floatx alone makes float64 layers."""
    assert first_failure(LAB, "keras_train_steps", variant(layer_dtype=None), seeds=(0,)) is None


def losses_after_the_step(*args):
    losses, norms, weights = keras_train_steps(*args)
    return np.append(losses[1:], losses[-1]), norms, weights


@pytest.mark.parametrize("implementation", [losses_after_the_step,
                                            lambda *a: (lambda r: (r[0], r[1] * 2, r[2]))(keras_train_steps(*a)),
                                            lambda *a: keras_train_steps(*a[:4], a[4] * 2, a[5])],
                         ids=["losses_after", "norms_doubled", "double_rate"])
def test_a_wrong_run_nobody_named_gets_no_cause(implementation):
    feedback = first_failure(LAB, "keras_train_steps", implementation, seeds=(0,))
    assert feedback is not None, "a wrong implementation passed"
    messages = checks.load_lab(LAB).exercise("keras_train_steps").messages
    assert [k for k, m in messages.items() if plain(m) in feedback] == [], feedback


def test_a_result_of_another_shape_says_what_was_expected():
    feedback = first_failure(LAB, "keras_train_steps", lambda *a: keras_train_steps(*a)[:2], seeds=(0,))
    assert "must return (losses, gradient_norms, weights)" in feedback
    feedback = first_failure(LAB, "keras_train_steps", lambda *a: (lambda r: (r[0], r[1][:, :1], r[2]))(
        keras_train_steps(*a)), seeds=(0,))
    assert "norms of shape" in feedback


def test_the_reference_run_is_the_keras_run_to_the_last_digits():
    """The grader's NumPy reference against Keras itself, on a case of every activation."""
    for case in checks.load_lab(LAB).hidden_cases(0)["keras_train_steps"]:
        with as_in_a_fresh_process():
            losses, norms, weights = keras_train_steps(*case.args)
        expected = case.expected["either"][1] if isinstance(case.expected, dict) else case.expected
        np.testing.assert_allclose(losses, expected[0], rtol=1e-12)
        np.testing.assert_allclose(norms, expected[1], rtol=1e-12)
        for got, want in zip(weights, expected[2]):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def weights_updated_in_place(activation, weights, X, y, learning_rate, steps):
    """The right run, whose final weights are also written back into the caller's arrays."""
    losses, norms, final = keras_train_steps(activation, weights, X, y, learning_rate, steps)
    for given, new in zip(weights, final):
        given[...] = new
    return losses, norms, weights


def test_weights_changed_in_place_are_reported():
    """The probe hands the function the case's own arrays (no defensive copy), so the grader sees the change."""
    feedback = first_failure(LAB, "keras_train_steps", weights_updated_in_place, seeds=(0,))
    assert feedback is not None and "changed its input argument 2 in place" in feedback, feedback  # weights


def test_the_notebooks_deep_network_trains_in_keras_as_the_hidden_numpy_run():
    """What the notebook's parity cell asserted while the NumPy trainer shipped in the demos (a drop-in answer to
    keras_train_steps): now the notebook shows the student's runs and this test holds the comparison."""
    assert not hasattr(demos, "train_steps")
    exams = data.load("exam_results")
    X = np.column_stack([exams["study_hours"] - 5.0, exams["sleep_hours"] - 6.75])
    y = exams["passed"].astype(float)[:, None]
    deep = demos.he_network((2, 8, 8, 8, 8, 1), np.random.default_rng(8), bias_scale=0.1)
    for name in ("sigmoid", "tanh", "relu", "leaky_relu"):
        with as_in_a_fresh_process():
            keras_run = keras_train_steps(name, deep, X, y, 0.1, 5)
        numpy_run = ref.train_steps(ref._activation_pair(name), deep, X, y, 0.1, 5)
        for keras_part, numpy_part in zip(keras_run[:2], numpy_run[:2]):  # Keras's leaky slope is float32's 0.01
            np.testing.assert_allclose(keras_part, numpy_part, rtol=1e-7 if name == "leaky_relu" else 1e-9)
