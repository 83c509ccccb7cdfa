"""Lab 07 beside Keras: a float64 keras.Sequential with the NumPy MLP's weights trains to the same losses.

Parity reached: the loss history of 100 full-batch SGD epochs on the commutes and the final weights agree to
rtol 1e-12 (float64 on CPU; the observed gap is about 1e-14). He and Glorot draws follow Keras's HeNormal and
GlorotUniform statistics. The graded keras_train (build from given weights, compile, fit, return the model
and its History) is judged with real TensorFlow here (the hidden-case sweep leaves TensorFlow exercises to
this file), and so are the notebook's sentences about fit: a tf.data.Dataset ignores fit's shuffle, arrays
without batch_size go in batches of 32, optimizer="sgd" has learning rate 0.01.
"""

from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pytest
from conftest import first_failure, plain

from autograder import calls, checks
from autograder.checks import lab07 as checks07
from autograder.hidden import lab07 as ref

LAB = "07_mlp"
pytestmark = pytest.mark.usefixtures("float64_keras")


def _commutes():
    from autograder import data

    table = data.load("bike_car_commutes")
    x, _, _ = ref.standardize(table["distance_miles"])
    t, _, _ = ref.standardize(table["time_minutes"])
    return x[:, None], t[:, None]


def _weights(net):
    return [(layer.W.copy(), layer.b.copy()) for layer in net.layers if isinstance(layer, ref.Dense)]


def _sequential(weights, hidden="relu", output=None, dtype=None):
    import keras

    model = keras.Sequential([keras.Input(shape=(np.shape(weights[0][0])[0],), dtype=dtype)] + [
        keras.layers.Dense(np.shape(W)[1], activation=hidden if i < len(weights) - 1 else output, dtype=dtype)
        for i, (W, _) in enumerate(weights)])
    model.set_weights([np.asarray(a) for pair in weights for a in pair])
    return model


def test_keras_reaches_the_same_loss_history_and_weights():
    X, y = _commutes()
    net = ref.MLP(list(ref.COMMUTE_SIZES), np.random.default_rng(ref.COMMUTE_SEED))
    model, history = ref.keras_train(_weights(net), X, y, ref.COMMUTE_LEARNING_RATE, 100)
    numpy_history = ref.train(net, X, y, ref.COMMUTE_LEARNING_RATE, 100)
    np.testing.assert_allclose(history.history["loss"], numpy_history, rtol=1e-12)
    for keras_weight, numpy_weight in zip(model.get_weights(), [a for pair in _weights(net) for a in pair]):
        np.testing.assert_allclose(keras_weight, numpy_weight, rtol=1e-12, atol=1e-14)


def test_keras_gradients_equal_the_numpy_backward():
    import tensorflow as tf

    rng = np.random.default_rng(3)
    net = ref.MLP([2, 5, 4, 3], rng)
    X, G = rng.normal(size=(6, 2)), rng.normal(size=(6, 3))
    model = _sequential(_weights(net))
    with tf.GradientTape() as tape:
        scalar = tf.reduce_sum(model(X) * G)
    keras_gradients = tape.gradient(scalar, model.trainable_weights)
    net.forward(X)
    net.backward(G)
    numpy_gradients = [g for layer in net.layers[::2] for g in (layer.dW, layer.db)]
    for keras_gradient, numpy_gradient in zip(keras_gradients, numpy_gradients):
        np.testing.assert_allclose(keras_gradient.numpy(), numpy_gradient, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "ours"), [("GlorotUniform", ref.glorot_uniform), ("HeNormal", ref.he_normal)])
def test_the_initialisers_follow_keras(name, ours):
    import keras

    fan_in, fan_out = 6, 20_000
    theirs = keras.ops.convert_to_numpy(getattr(keras.initializers, name)(seed=1)((fan_in, fan_out)))
    mine = ours(fan_in, fan_out, np.random.default_rng(1))
    assert abs(theirs.std() / mine.std() - 1) < 0.02
    assert abs(np.abs(theirs).max() / np.abs(mine).max() - 1) < 0.01


# What the notebook says about fit ------------------------------------------------------------------

def _fit(data, optimizer=None, **kwargs):
    """A fresh 1→4→4→1 float64 model fitted 3 epochs on ``data``: (history, optimizer steps, warnings, model)."""
    import keras

    model = _sequential(ref._weights(np.random.default_rng(5), (1, 4, 4, 1)), dtype="float64")
    model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(*data, epochs=3, verbose=0, **kwargs).history["loss"]
    return np.array(history), int(np.asarray(model.optimizer.iterations)), [str(w.message) for w in caught], model


def test_fit_ignores_shuffle_for_a_dataset_and_warns_about_its_default():
    import tensorflow as tf

    X, y = _commutes()
    one_row_batches = tf.data.Dataset.from_tensor_slices((X, y)).batch(1)  # order matters: 39 steps an epoch
    default, _, said, _ = _fit((one_row_batches,))
    unshuffled, _, quiet, _ = _fit((one_row_batches,), shuffle=False)
    np.testing.assert_array_equal(default, unshuffled)
    assert any("`shuffle=True` was passed, but will be ignored" in text for text in said) and not quiet


def test_fit_on_arrays_without_batch_size_takes_batches_of_32():
    X, y = _commutes()
    _, steps, _, _ = _fit((X, y))
    assert steps == 3 * math.ceil(len(X) / ref.KERAS_BATCH_DEFAULT) == 6
    full, one_step_each, _, _ = _fit((X, y), batch_size=len(X), shuffle=False)
    reordered, _, _, _ = _fit((X, y), batch_size=len(X))  # shuffling within the one batch only reorders a sum
    assert one_step_each == 3
    np.testing.assert_allclose(reordered, full, rtol=1e-13)


def test_fit_shuffles_arrays_unless_told_not_to():
    X, y = _commutes()
    shuffled, _, _, _ = _fit((X, y), batch_size=1)
    in_order, _, _, _ = _fit((X, y), batch_size=1, shuffle=False)
    assert np.max(np.abs(shuffled / in_order - 1)) > 1e-6


def test_under_float32_keras_the_learning_rate_of_float64_layers_is_float32():
    import keras

    from autograder.probes.keras_state import float_settings

    X, y = _commutes()
    with float_settings("float32"):
        _, _, _, model = _fit((X, y), optimizer=keras.optimizers.SGD(learning_rate=0.05), batch_size=len(X))
        assert model.get_weights()[0].dtype == np.float64
        assert str(model.optimizer.learning_rate.dtype) == "float32"
        assert float(np.asarray(model.optimizer.learning_rate)) == float(np.float32(0.05)) != 0.05


def test_the_optimizer_named_sgd_has_learning_rate_001():
    X, y = _commutes()
    _, _, _, model = _fit((X, y), optimizer="sgd", batch_size=len(X))
    assert float(np.asarray(model.optimizer.learning_rate)) == 0.01


# The graded keras_train ---------------------------------------------------------------------------

def _keras_train(build=_sequential, optimizer=None, loss="mse", floatx="float64", answer=None, **fit_kwargs):
    """A keras_train made of parts: each test below swaps one."""
    epochs_run = fit_kwargs.pop("epochs", None)

    def keras_train(weights, X, y, learning_rate, epochs):
        import keras

        if floatx:
            keras.config.set_floatx(floatx)
        model = build(weights)
        model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate=learning_rate), loss=loss)
        options = {"batch_size": len(X), "shuffle": False, **fit_kwargs}
        history = model.fit(X, y, epochs=epochs_run or epochs, verbose=0,
                            **{k: v for k, v in options.items() if v is not None})
        return answer(model, history) if answer else (model, history)
    return keras_train


def keras_train_with_a_dataset(weights, X, y, learning_rate, epochs):
    import keras
    import tensorflow as tf

    keras.config.set_floatx("float64")
    model = _sequential(weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=keras.losses.MeanSquaredError())
    return model, model.fit(tf.data.Dataset.from_tensor_slices((X, y)).batch(len(X)), epochs=epochs, verbose=0,
                            shuffle=False)


def _relu_layers(weights):
    """ReLU as layers of their own, weights set layer by layer."""
    import keras

    layers = [keras.Input(shape=(np.shape(weights[0][0])[0],))]
    for i, (W, _) in enumerate(weights):
        layers += [keras.layers.Dense(np.shape(W)[1])] + ([keras.layers.ReLU()] if i < len(weights) - 1 else [])
    model = keras.Sequential(layers)
    for layer, pair in zip([la for la in model.layers if la.weights], weights):
        layer.set_weights(list(pair))
    return model


def test_the_reference_keras_train_passes():
    assert first_failure(LAB, "keras_train", ref.keras_train, seeds=(0, 1)) is None


@pytest.mark.parametrize("implementation", [
    keras_train_with_a_dataset,
    _keras_train(shuffle=None),  # fit's default shuffle=True: the one batch is reordered, its mean is not
    _keras_train(build=_relu_layers),
    _keras_train(loss="mean_squared_error"),
    _keras_train(answer=lambda model, history: (model, history.history["loss"])),
], ids=["dataset", "default_shuffle", "relu_layers", "loss_name", "history_list"])
def test_correct_alternatives_pass(implementation):
    assert first_failure(LAB, "keras_train", implementation, seeds=(2,)) is None


MISTAKES = {
    "float32": _keras_train(floatx="float32"),
    "relu_on_output": _keras_train(build=lambda w: _sequential(w, output="relu")),
    "no_hidden_relu": _keras_train(build=lambda w: _sequential(w, hidden=None)),
    "default_rate": _keras_train(optimizer="sgd"),
    "mini_batches": _keras_train(batch_size=None, shuffle=None),
}


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_keras_mistakes_get_their_message(key):
    feedback = first_failure(LAB, "keras_train", MISTAKES[key], seeds=(0,))
    assert feedback is not None and plain(checks07.LAB.exercise("keras_train").messages[key]) in feedback


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_every_secret_catches_each_mistake(key):
    lab = checks.load_lab(LAB)
    spec = lab.exercise("keras_train")
    for seed in (0, 1, 2):
        cases = lab.hidden_cases(seed)["keras_train"]
        outcomes = (calls.run_case(MISTAKES[key], case, spec.probe) for case in cases)
        assert calls.first_failure(lab, spec, cases, outcomes) is not None, f"secret {seed} misses {key}"


def test_float64_layers_under_float32_keras_are_named_float32():
    """The optimizer's learning rate is then a float32 variable: 0.05 becomes 0.0500000007, a drift of 1e-8."""
    implementation = _keras_train(build=lambda w: _sequential(w, dtype="float64"), floatx=None)
    feedback = first_failure(LAB, "keras_train", implementation, seeds=(0,))
    assert feedback is not None and "only about 7 digits" in feedback


@pytest.mark.parametrize(("implementation", "says"), [
    (_keras_train(optimizer="adam"), "the loss history"),
    (_keras_train(epochs=2), "expected 5: one per epoch"),
    (_keras_train(answer=lambda model, history: history), "must return (model, history)"),
], ids=["adam", "wrong_epochs", "history_only"])
def test_unknown_mistakes_get_no_invented_cause(implementation, says):
    feedback = first_failure(LAB, "keras_train", implementation, seeds=(0,))
    messages = checks07.LAB.exercise("keras_train").messages.values()
    assert feedback is not None and says in feedback
    assert not any(plain(message) in feedback for message in messages)


def test_the_students_own_numpy_training_explains_a_shared_difference():
    expected = ref._numpy_twin(ref._weights(np.random.default_rng(1), (1, 3, 1)), [[0.5], [1.0]], [[1.0], [0.0]],
                               0.1, 3)
    wrong = ref._numpy_twin(ref._weights(np.random.default_rng(1), (1, 3, 1)), [[0.5], [1.0]], [[1.0], [0.0]],
                            0.1, 3, hidden=False)
    spec = checks07.LAB.exercise("keras_train")
    shared = checks07._compare_keras(wrong, expected, spec)
    alone = checks07._compare_keras({**wrong, "numpy_history": expected["history"]}, expected, spec)
    assert "Your own MLP and train give the same losses" in shared
    assert alone.startswith("the loss history") and "Your own MLP" not in alone


def test_the_probe_trains_the_students_own_numpy_network_too():
    namespace = {"np": np, "MLP": ref.MLP, "train": ref.train}
    keras_train = types.FunctionType(ref.keras_train.__code__, {**vars(ref), **namespace})
    weights = ref._weights(np.random.default_rng(4), (1, 3, 1))
    X, y = np.array([[0.5], [-1.0], [1.5]]), np.array([[1.0], [0.0], [2.0]])
    from autograder.probes.lab07 import keras_run

    report = keras_run(keras_train, weights, X, y, 0.1, 4)
    np.testing.assert_allclose(report["numpy_history"], report["history"], rtol=1e-12)
    assert report["steps"] == 4 and report["dtype"] == "float64"


# The notebook's other sentences about Keras ---------------------------------------------------------

def test_dense_defaults_to_glorot_uniform_and_zero_bias():
    import keras

    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    assert isinstance(layer.kernel_initializer, keras.initializers.GlorotUniform)
    assert not np.asarray(layer.bias).any()


def test_relu_has_slope_0_at_exactly_0_in_tensorflow():
    import keras
    import tensorflow as tf

    x = tf.Variable([-1.0, 0.0, 2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(keras.activations.relu(x))
    np.testing.assert_array_equal(tape.gradient(total, x).numpy(), [0.0, 0.0, 1.0])


def test_the_mse_loss_averages_over_every_entry():
    import keras

    y_pred, y = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([[0.0, 2.5], [1.0, 1.0]])
    ours, _ = ref.mse_loss(y_pred, y)
    assert float(keras.losses.MeanSquaredError()(y, y_pred)) == pytest.approx(ours, rel=1e-12)
    assert ours == pytest.approx(np.mean((y_pred - y) ** 2))


def test_normalization_uses_the_population_std():
    import keras

    distances = np.arange(1.0, 20.5, 0.5)[:, None]
    layer = keras.layers.Normalization()
    layer.adapt(distances)
    assert float(np.sqrt(np.asarray(layer.variance)).ravel()[0]) == pytest.approx(5.6273, abs=1e-4)
