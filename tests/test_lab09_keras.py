"""Lab 09 in Keras: keras.losses agree with the NumPy losses (float64, every from_logits setting, saturated
inputs), the XOR network trains identically in fit, and choose_loss is graded by behaviour."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import first_failure

from autograder import checks
from autograder.feedback import plain
from autograder.hidden import lab09 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.usefixtures("float64_keras")

LAB = "09_losses"
RTOL = 1e-12
Y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
SATURATED_P = np.array([1.0, 0.0, 0.0, 1.0, 0.7])
LOGITS = np.array([50.0, -50.0, -50.0, 50.0, 0.3])
LABELS = np.array([0, 2, 1])
PROBABILITIES = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
Z = np.array([[50.0, -50.0, 0.0], [3.0, 3.0, 3.0], [-50.0, 40.0, 1.0]])


def value(loss, y_true, y_pred):
    return float(loss(y_true, y_pred))


@pytest.mark.parametrize("p", [SATURATED_P, np.array([0.9, 0.2, 0.6, 0.4, 0.5])], ids=["saturated", "plain"])
def test_binary_crossentropy_from_probabilities(p):
    assert value(keras.losses.BinaryCrossentropy(), Y, p) == pytest.approx(ref.binary_cross_entropy(Y, p), rel=RTOL)


def test_binary_crossentropy_from_logits_at_50():
    keras_value = value(keras.losses.BinaryCrossentropy(from_logits=True), Y, LOGITS)
    assert keras_value == pytest.approx(ref.binary_cross_entropy_from_logits(Y, LOGITS), rel=RTOL)


def test_categorical_crossentropy_one_hot_from_probabilities_and_logits():
    one_hot = np.eye(3)[LABELS]
    assert value(keras.losses.CategoricalCrossentropy(), one_hot, PROBABILITIES) == pytest.approx(
        ref.categorical_cross_entropy(one_hot, PROBABILITIES), rel=RTOL)
    assert value(keras.losses.CategoricalCrossentropy(from_logits=True), one_hot, Z) == pytest.approx(
        ref.sparse_cross_entropy_from_logits(LABELS, Z), rel=RTOL)


def test_sparse_crossentropy_from_logits_and_probabilities():
    assert value(keras.losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, Z) == pytest.approx(
        ref.sparse_cross_entropy_from_logits(LABELS, Z), rel=RTOL)
    keras_value = value(keras.losses.SparseCategoricalCrossentropy(), LABELS, PROBABILITIES)
    assert keras_value == pytest.approx(ref._loss_value("softmax", "integers", LABELS, PROBABILITIES), rel=1e-9)


def test_mse_and_mae():
    y_true, y_pred = np.array([6.96, 12.11, 16.77, 22.21]), np.array([0.08, 0.31, 0.54, 0.77])
    mse, mae = ref.mse_mae(y_true, y_pred)
    assert value(keras.losses.MeanSquaredError(), y_true, y_pred) == pytest.approx(mse, rel=RTOL)
    assert value(keras.losses.MeanAbsoluteError(), y_true, y_pred) == pytest.approx(mae, rel=RTOL)


def test_the_gradient_of_softmax_crossentropy_is_the_tape_gradient():
    z = tf.Variable(Z)
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, z)
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), ref.softmax_cross_entropy_gradient(LABELS, Z),
                               rtol=1e-12, atol=1e-15)


def test_the_logistic_gradients_are_the_tape_gradients():
    X, y, w, b = np.array([[2.0, 7.0], [8.0, 6.0], [5.0, 9.0]]), np.array([0.0, 1.0, 1.0]), np.array([0.3, -0.1]), -0.5
    weights, bias = tf.Variable(w), tf.Variable(tf.constant(b, tf.float64))
    with tf.GradientTape() as tape:
        logits = tf.linalg.matvec(tf.constant(X), weights) + bias
        loss = keras.losses.BinaryCrossentropy(from_logits=True)(y, logits)
    dw, db = tape.gradient(loss, [weights, bias])
    expected_dw, expected_db = ref.logistic_gradients(X, y, w, b)
    np.testing.assert_allclose(dw.numpy(), expected_dw, rtol=1e-12)
    assert float(db) == pytest.approx(expected_db, rel=1e-12)


def xor_start():
    rng = np.random.default_rng(1)
    return [rng.normal(size=(2, 4)), np.zeros(4), rng.normal(size=(4, 1)), np.zeros(1)]


def test_xor_in_keras_has_the_numpy_loss_history_and_gets_4_of_4():
    """Tolerance reached: about 5e-15 relative over 1000 epochs (asserted at 1e-10)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    params, history = xor_start(), []
    for _ in range(1000):
        loss, *grads = ref.xor_gradients(X, y, *params)
        history.append(loss)
        params = [p - 1.0 * g for p, g in zip(params, grads)]
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    model.set_weights(xor_start())
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  jit_compile=False)
    data = tf.data.Dataset.from_tensor_slices((X, y[:, None])).batch(4)
    keras_history = model.fit(data, epochs=1000, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(keras_history, history, rtol=1e-10)
    assert np.array_equal(model.predict(X, verbose=0)[:, 0] > 0, y == 1)


# choose_loss: the graded Keras exercise -----------------------------------------------

def choose_loss(last_activation, labels):
    from_logits = last_activation == "linear"
    kinds = {"binary": keras.losses.BinaryCrossentropy, "one_hot": keras.losses.CategoricalCrossentropy,
             "integers": keras.losses.SparseCategoricalCrossentropy}
    return kinds[labels](from_logits=from_logits)


def choose_by_config(last_activation, labels):
    """Another valid way: keras.losses.get with a config, the flag computed the other way round."""
    names = {"binary": "BinaryCrossentropy", "one_hot": "CategoricalCrossentropy",
             "integers": "SparseCategoricalCrossentropy"}
    probabilities = last_activation in ("sigmoid", "softmax")
    return keras.losses.get({"class_name": names[labels], "config": {"from_logits": not probabilities}})


def always_probabilities(last_activation, labels):
    return choose_loss("sigmoid", labels)


def always_logits(last_activation, labels):
    return choose_loss("linear", labels)


def flipped(last_activation, labels):
    return choose_loss("sigmoid" if last_activation == "linear" else "linear", labels)


def sparse_swapped(last_activation, labels):
    swapped = {"one_hot": "integers", "integers": "one_hot"}.get(labels, labels)
    return choose_loss(last_activation, swapped)


@pytest.mark.parametrize("implementation", [choose_loss, choose_by_config], ids=["objects", "config"])
def test_correct_choices_pass(implementation):
    assert first_failure(LAB, "choose_loss", implementation) is None


@pytest.mark.parametrize(("implementation", "key"), [(always_probabilities, "logits_as_probabilities"),
                                                     (always_logits, "probabilities_as_logits"),
                                                     (flipped, "from_logits_flipped"),
                                                     (sparse_swapped, "sparse_vs_one_hot")],
                         ids=["always_probabilities", "always_logits", "flipped", "sparse_swapped"])
def test_each_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(LAB, "choose_loss", implementation)
    assert feedback is not None and feedback.startswith("Lab 09 · choose_loss"), feedback
    messages = checks.load_lab(LAB).exercise("choose_loss").messages
    assert plain(messages[key]) in feedback
    assert not any(plain(m) in feedback for k, m in messages.items() if k != key)


def test_mse_for_a_classifier_gets_no_invented_cause():
    feedback = first_failure(LAB, "choose_loss", lambda a, labels: keras.losses.MeanSquaredError())
    assert feedback is not None
    assert not any(plain(m) in feedback for m in checks.load_lab(LAB).exercise("choose_loss").messages.values())
