"""Lab 04 in Keras: the graded FiveWeightNet layer, and its tape gradients, SGD steps and fit against NumPy."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import first_failure, plain, release_notebook, solution_notebook

from autograder import checks
from autograder.hidden import lab04 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

DRAWS = range(4)


pytestmark = pytest.mark.usefixtures("float64_keras")


def notebook_class(path):
    """The FiveWeightNet that the notebook at ``path`` defines (its cell run as the notebook would)."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith("class FiveWeightNet("):
            namespace = {"np": np, "keras": keras, "tf": tf}
            exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - the course's own notebook
            return namespace["FiveWeightNet"]
    raise KeyError(f"{path} defines no FiveWeightNet")


LAB = "04_backpropagation"
EXERCISE = "FiveWeightNet"
# The solution notebook's own layer: ŷ = w3·(x1 + w1·x2)² + w4·w2·x1·x2 + w5, float64, shape (batch, 1).
FiveWeightNet = notebook_class(solution_notebook(LAB))


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


# The student's exercise: FiveWeightNet's build and call, graded through probes.lab04.keras_layer -------------

class _Given(keras.layers.Layer):
    """The release's __init__, which every variant below keeps: float64, the starting weights as given."""

    def __init__(self, initial_weights=(1.0, 2.0, 1.0, 1.0, 0.0), **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.initial_weights = initial_weights

    def build(self, input_shape):
        start = np.asarray(self.initial_weights, dtype="float64")
        self.w = self.add_weight(shape=(5,), name="w", initializer=keras.initializers.Constant(start))


class Float32Weights(_Given):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(5,), name="w", initializer=keras.initializers.Constant(self.initial_weights))

    def call(self, inputs):
        x1, x2 = inputs[:, 0:1], inputs[:, 1:2]
        w1, w2, w3, w4, w5 = keras.ops.unstack(self.w)
        return w3 * (x1 + w1 * x2) ** 2 + w4 * w2 * x1 * x2 + w5


class Swapped(_Given):
    def call(self, inputs):
        x1, x2 = inputs[:, 0:1], inputs[:, 1:2]
        w1, w2, w3, w4, w5 = keras.ops.unstack(self.w)
        return w3 * (w2 * x1 * x2) + w4 * (x1 + w1 * x2) ** 2 + w5


class NoSquare(_Given):
    def call(self, inputs):
        x1, x2 = inputs[:, 0:1], inputs[:, 1:2]
        w1, w2, w3, w4, w5 = keras.ops.unstack(self.w)
        return w3 * (x1 + w1 * x2) + w4 * w2 * x1 * x2 + w5


class Float32Layer(Float32Weights):
    """The student dropped dtype="float64" from __init__, relying on the notebook's set_floatx."""

    def __init__(self, initial_weights=(1.0, 2.0, 1.0, 1.0, 0.0), **kwargs):
        keras.layers.Layer.__init__(self, **kwargs)
        self.initial_weights = initial_weights


class FiveScalars(_Given):
    """Five scalar weights, created in order (np.float64 starts: a Python float would go through float32), tf ops."""

    def build(self, input_shape):
        self.ws = [self.add_weight(shape=(), name=f"w{i + 1}", initializer=keras.initializers.Constant(v))
                   for i, v in enumerate(np.asarray(self.initial_weights, dtype="float64"))]

    def call(self, inputs):
        w1, w2, w3, w4, w5 = self.ws
        x1, x2 = tf.split(inputs, 2, axis=1)
        return w3 * tf.square(x1 + w1 * x2) + w4 * (w2 * x1 * x2) + w5


class AssignedAndIndexed(_Given):
    """Zeros then assign() for the start, indexing instead of unstack, keras.ops for the arithmetic."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(5,), name="w", initializer="zeros")
        self.w.assign(np.asarray(self.initial_weights, dtype="float64"))

    def call(self, inputs):
        x1, x2 = inputs[:, 0], inputs[:, 1]
        h1 = keras.ops.square(x1 + self.w[0] * x2)
        h2 = self.w[1] * keras.ops.multiply(x1, x2)
        return keras.ops.expand_dims(self.w[2] * h1 + self.w[3] * h2 + self.w[4], axis=-1)


def test_the_solutions_layer_passes():
    assert first_failure(LAB, EXERCISE, FiveWeightNet) is None


def test_the_blank_release_fails_as_not_implemented():
    feedback = first_failure(LAB, EXERCISE, notebook_class(release_notebook(LAB)))
    assert feedback is not None and "FiveWeightNet.build is not implemented yet" in feedback


@pytest.mark.parametrize("layer", [FiveScalars, AssignedAndIndexed], ids=lambda c: c.__name__)
def test_correct_alternatives_pass(layer):
    assert first_failure(LAB, EXERCISE, layer) is None


@pytest.mark.parametrize(("layer", "cause"), [(Float32Weights, "float32_weights"), (Float32Layer, "float32_layer"),
                                              (Swapped, "swapped"), (NoSquare, "no_square")],
                         ids=lambda v: getattr(v, "__name__", v))
def test_each_known_mistake_gets_its_own_message(layer, cause):
    feedback = first_failure(LAB, EXERCISE, layer)
    assert feedback is not None and feedback.startswith(f"Lab 04 · {EXERCISE}")
    assert plain(checks.load_lab(LAB).exercise(EXERCISE).messages[cause]) in feedback


def test_the_probe_builds_the_layer_under_keras_default_float32_and_restores_floatx():
    from autograder.probes.lab04 import keras_layer

    report = keras_layer(Float32Layer, [1.0, 2.0, 1.0, 1.0, 0.0], ref.SEED_X, ref.SEED_Y)
    assert report["dtype"] == "float32"  # the notebook's set_floatx("float64") is not the grader's
    assert keras.config.floatx() == keras.config.dtype_policy().name == "float64"
    np.testing.assert_array_equal(report["gradient"], [2064, 316, 1636, 632, 68])
