"""Lab 04 in Keras: a custom float64 layer's tape gradients and SGD steps equal the NumPy reference."""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder.hidden import lab04 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

DRAWS = range(4)


pytestmark = pytest.mark.usefixtures("float64_keras")


class FiveWeightNet(keras.layers.Layer):
    """The notebook's layer: ŷ = w3·(x1 + w1·x2)² + w4·w2·x1·x2 + w5, float64, shape (batch, 1)."""

    def __init__(self, initial_weights, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.initial_weights = np.asarray(initial_weights, dtype="float64")  # a list would go through float32

    def build(self, input_shape):
        self.w = self.add_weight(shape=(5,), name="w", initializer=keras.initializers.Constant(self.initial_weights))

    def call(self, inputs):
        x1, x2 = inputs[:, 0:1], inputs[:, 1:2]
        w1, w2, w3, w4, w5 = keras.ops.unstack(self.w)
        return w3 * (x1 + w1 * x2) ** 2 + w4 * w2 * x1 * x2 + w5


def tape_gradient(layer, X, y):
    with tf.GradientTape() as tape:
        error = tf.reduce_sum((layer(X)[:, 0] - y) ** 2)
    return tape.gradient(error, layer.w).numpy()


def draw(seed):
    """The seed's network for draw 0, random networks and data (as in the hidden cases) after it."""
    if seed == 0:
        return ref.SEED_W, ref.SEED_X, ref.SEED_Y, ref.SEED_LEARNING_RATE
    w, X, y = ref._draw_network(np.random.default_rng(seed), 3 + seed)
    return w, X, y, ref._learning_rate(w, X, y)


@pytest.mark.parametrize("seed", DRAWS)
def test_tape_gradients_equal_backward_and_batch_gradient(seed):
    w, X, y, _ = draw(seed)
    layer = FiveWeightNet(w)
    np.testing.assert_allclose(layer(X)[:, 0].numpy(), [ref.forward(w, x)[2] for x in X], rtol=1e-12)
    for i in range(len(X)):
        np.testing.assert_allclose(tape_gradient(layer, X[i:i + 1], y[i:i + 1]), ref.backward(w, X[i], y[i]),
                                   rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(tape_gradient(layer, X, y), ref.batch_gradient(w, X, y), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", DRAWS)
def test_one_sgd_step_on_the_tape_total_is_the_batch_update(seed):
    w, X, y, learning_rate = draw(seed)
    layer = FiveWeightNet(w)
    keras.optimizers.SGD(learning_rate=learning_rate).apply_gradients([(tape_gradient(layer, X, y), layer.w)])
    np.testing.assert_allclose(layer.w.numpy(), ref.batch_update(w, X, y, learning_rate), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("seed", "batch_size"), [(0, 1), (0, 2), (0, 3), (2, 2), (3, 4)])
def test_fit_with_summed_loss_is_minibatch_update(seed, batch_size):
    w, X, y, learning_rate = draw(seed)
    inputs = keras.Input(shape=(2,), dtype="float64")
    model = keras.Model(inputs, FiveWeightNet(w)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  loss=keras.losses.MeanSquaredError(reduction="sum"), jit_compile=False)
    model.fit(X, y[:, None], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    expected = ref.minibatch_update(w, X, y, learning_rate, batch_size)[-1]
    np.testing.assert_allclose(model.layers[-1].w.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_the_seed_numbers_in_keras():
    layer = FiveWeightNet(ref.SEED_W)
    np.testing.assert_array_equal(tape_gradient(layer, ref.SEED_X, ref.SEED_Y), [2064, 316, 1636, 632, 68])
    np.testing.assert_array_equal(tape_gradient(layer, ref.SEED_X[1:2], ref.SEED_Y[1:2])[0], 1520)
    np.testing.assert_array_equal(tape_gradient(layer, ref.SEED_X[2:], ref.SEED_Y[2:])[1], 8)
