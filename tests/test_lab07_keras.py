"""Lab 07 beside Keras: the NumPy MLP and a float64 keras.Sequential with its weights train to the same losses.

Parity reached: the loss history of 100 full-batch SGD epochs on the commutes and the final weights agree to
rtol 1e-12 (float64 on CPU; the observed gap is about 1e-14). He and Glorot draws follow Keras's HeNormal and
GlorotUniform statistics. The graded keras_mlp is judged with real TensorFlow here (the hidden-case sweep
leaves TensorFlow exercises to this file).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import first_failure

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


def test_keras_reaches_the_same_loss_history_and_weights():
    import keras
    import tensorflow as tf

    X, y = _commutes()
    net = ref.MLP(list(ref.COMMUTE_SIZES), np.random.default_rng(ref.COMMUTE_SEED))
    model = ref.keras_mlp(_weights(net))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=ref.COMMUTE_LEARNING_RATE), loss="mse",
                  jit_compile=False)
    keras_history = model.fit(tf.data.Dataset.from_tensor_slices((X, y)).batch(len(X)), epochs=100,
                              shuffle=False, verbose=0).history["loss"]
    numpy_history = ref.train(net, X, y, ref.COMMUTE_LEARNING_RATE, 100)
    np.testing.assert_allclose(keras_history, numpy_history, rtol=1e-12)
    for keras_weight, numpy_weight in zip(model.get_weights(), [a for pair in _weights(net) for a in pair]):
        np.testing.assert_allclose(keras_weight, numpy_weight, rtol=1e-12, atol=1e-14)


def test_keras_gradients_equal_the_numpy_backward():
    import tensorflow as tf

    rng = np.random.default_rng(3)
    net = ref.MLP([2, 5, 4, 3], rng)
    X, G = rng.normal(size=(6, 2)), rng.normal(size=(6, 3))
    model = ref.keras_mlp(_weights(net))
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


def keras_mlp_float32(weights):
    import keras

    keras.config.set_floatx("float32")
    model = keras.Sequential([keras.Input(shape=(np.shape(weights[0][0])[0],))] + [
        keras.layers.Dense(np.shape(W)[1], activation="relu" if i < len(weights) - 1 else None)
        for i, (W, _) in enumerate(weights)])
    model.set_weights([np.asarray(a, dtype=np.float32) for pair in weights for a in pair])
    return model


def _keras_variant(activation_of):
    def keras_mlp(weights):
        import keras

        keras.config.set_floatx("float64")
        model = keras.Sequential([keras.Input(shape=(np.shape(weights[0][0])[0],))] + [
            keras.layers.Dense(np.shape(W)[1], activation=activation_of(i, len(weights)))
            for i, (W, _) in enumerate(weights)])
        model.set_weights([a for pair in weights for a in pair])
        return model
    return keras_mlp


def keras_mlp_dtype_argument(weights):
    """float64 layers, but Keras's floatx left at float32: the optimizer's learning rate (a float32 variable
    then) rounds 0.05 to 0.0500000007, and the history drifts at 1e-8. keras_mlp must call set_floatx."""
    import keras

    model = keras.Sequential([keras.Input(shape=(np.shape(weights[0][0])[0],), dtype="float64")] + [
        keras.layers.Dense(np.shape(W)[1], activation="relu" if i < len(weights) - 1 else "linear", dtype="float64")
        for i, (W, _) in enumerate(weights)])
    for layer, (W, b) in zip(model.layers, weights):
        layer.set_weights([W, b])
    return model


def test_the_reference_keras_mlp_passes():
    assert first_failure(LAB, "keras_mlp", ref.keras_mlp, seeds=(0, 1)) is None


@pytest.mark.parametrize(("implementation", "message"), [
    (keras_mlp_float32, "only about 7 digits"),
    (keras_mlp_dtype_argument, "only about 7 digits"),
    (_keras_variant(lambda i, n: "relu"), "Your last Dense has a ReLU"),
    (_keras_variant(lambda i, n: None), "Your hidden Dense layers have no activation"),
])
def test_keras_mistakes_get_their_message(implementation, message):
    feedback = first_failure(LAB, "keras_mlp", implementation, seeds=(0,))
    assert feedback is not None and message in feedback
