"""Lab 06 in Keras: Normalization.adapt equals the NumPy z-scores, and build_normalized_model is graded."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import first_failure

from autograder import checks
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.feedback import plain
from autograder.hidden import lab06 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.usefixtures("float64_keras")

LAB = "06_normalization"
X = ref.DISTANCES
TWO_FEATURES = np.column_stack([X, np.sqrt(X) * 3.0])


@pytest.mark.parametrize("x", [X[:, None], TWO_FEATURES], ids=["distances", "two_features"])
def test_adapt_gives_the_population_mean_and_variance(x):
    layer = keras.layers.Normalization()
    layer.adapt(x)
    mean, std = ref.zscore_fit(x)
    np.testing.assert_allclose(layer.mean.numpy().ravel(), mean, rtol=1e-15)
    np.testing.assert_allclose(np.sqrt(layer.variance.numpy().ravel()), std, rtol=1e-15)
    np.testing.assert_allclose(layer(x).numpy(), ref.zscore_transform(x, mean, std), rtol=1e-13, atol=1e-15)


def test_the_published_statistics():
    layer = keras.layers.Normalization()
    layer.adapt(X[:, None])
    assert layer.mean.numpy().item() == pytest.approx(10.5, abs=1e-12)
    assert np.sqrt(layer.variance.numpy().item()) == pytest.approx(5.6273, abs=5e-5)
    assert layer(np.array([[1.0]])).numpy().item() == pytest.approx(-1.6882, abs=5e-5)


def test_invert_undoes_the_normalization():
    forward, backward = keras.layers.Normalization(), keras.layers.Normalization(invert=True)
    forward.adapt(TWO_FEATURES)
    backward.adapt(TWO_FEATURES)
    np.testing.assert_allclose(backward(forward(TWO_FEATURES)).numpy(), TWO_FEATURES, rtol=1e-14)
    z = ref.zscore_transform(TWO_FEATURES, *ref.zscore_fit(TWO_FEATURES))
    np.testing.assert_allclose(backward(z).numpy(), ref.zscore_inverse(z, *ref.zscore_fit(TWO_FEATURES)), rtol=1e-14)


def test_fit_of_the_normalized_model_is_train_line_on_z_scores():
    """SGD on the loss in minutes² with learning rate 0.1 / var(times) takes train_line's steps on z-scores."""
    times = ref.commute_times()
    model = build_normalized_model(X[:, None], times)
    model.layers[1].set_weights([np.array([[0.5]]), np.array([2.0])])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1 / times.var()), loss="mse", jit_compile=False)
    model.fit(tf.data.Dataset.from_tensor_slices((X[:, None], times)).batch(39), epochs=30, shuffle=False,
              verbose=0)
    kernel, bias = model.layers[1].get_weights()
    x_stats, y_stats = ref.zscore_fit(X), ref.zscore_fit(times)
    w, b, _ = ref.train_line(ref.zscore_transform(X, *x_stats), ref.zscore_transform(times, *y_stats), 0.5, 2.0,
                             0.1, 30)
    np.testing.assert_allclose([kernel.item(), bias.item()], [w, b], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model(np.array([[7.0]])).numpy().ravel(),
                               ref.predict_minutes([7.0], w, b, x_stats, y_stats), rtol=1e-12)


# build_normalized_model: the graded Keras exercise ---------------------------------------

def build_normalized_model(x_train, y_train, *, floatx="float64", first="normalization", invert=True,
                           y_shape=(-1, 1), adapt_x_on=None, adapt_y_on=None):
    """The solution, with switches for the mistakes the check names."""
    if floatx:
        keras.config.set_floatx(floatx)
    x_train = np.asarray(x_train, dtype=float)
    normalizer = keras.layers.Normalization()
    normalizer.adapt(x_train if adapt_x_on is None else adapt_x_on(x_train))
    denormalizer = keras.layers.Normalization(invert=invert)
    y = np.asarray(y_train, dtype=float)
    denormalizer.adapt((y if adapt_y_on is None else adapt_y_on(x_train, y)).reshape(y_shape))
    layers = [normalizer, keras.layers.Dense(1), denormalizer]
    if first == "dense":
        layers = [keras.layers.Dense(x_train.shape[1]), *layers]
    return keras.Sequential([keras.Input(shape=(x_train.shape[1],)), *layers])


def variant(**switches):
    def implementation(x_train, y_train):
        return build_normalized_model(x_train, y_train, **switches)
    return implementation


def given_statistics(x_train, y_train):
    """Another valid way: statistics computed in NumPy and passed in, the functional API, a dtype per layer."""
    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    inputs = keras.Input(shape=(x_train.shape[1],), dtype="float64")
    z = keras.layers.Normalization(mean=x_train.mean(axis=0), variance=x_train.var(axis=0), dtype="float64")(inputs)
    z = keras.layers.Dense(1, dtype="float64")(z)
    outputs = keras.layers.Normalization(mean=[y_train.mean()], variance=[y_train.var()], invert=True,
                                         dtype="float64")(z)
    return keras.Model(inputs, outputs)


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "build_normalized_model", build_normalized_model) is None


def test_given_statistics_and_the_functional_api_pass():
    assert first_failure(LAB, "build_normalized_model", given_statistics, seeds=(0,)) is None


def test_the_blank_stub_is_not_implemented():
    def build_normalized_model(x_train, y_train):
        raise NotImplementedError("build_normalized_model")

    feedback = first_failure(LAB, "build_normalized_model", build_normalized_model, seeds=(0,))
    assert feedback == f"Lab 06 · build_normalized_model: {NOT_IMPLEMENTED}"


MISTAKES = [
    (variant(floatx=None), "float32"),
    (variant(first="dense"), "first_layer"),
    (variant(invert=False), "no_invert"),
    (variant(y_shape=(-1,)), "y_features"),
    (variant(adapt_x_on=lambda x: x.T), "x_axis"),
    (variant(adapt_x_on=lambda x: x[: len(x) // 2]), "x_stats"),
    (variant(adapt_y_on=lambda x, y: (y - y.mean()) / y.std()), "y_stats"),
]


@pytest.mark.parametrize(("implementation", "key"), MISTAKES,
                         ids=["float32", "dense_first", "no_invert", "y_as_features", "x_transposed",
                              "x_half_the_rows", "y_already_normalized"])
def test_each_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(LAB, "build_normalized_model", implementation, seeds=(0,))
    assert feedback is not None and feedback.startswith("Lab 06 · build_normalized_model"), feedback
    message = checks.load_lab(LAB).exercise("build_normalized_model").messages[key]
    if "{" in message:
        message = message.split("{")[0] if not message.startswith("{") else message.split("}")[-1]
    assert plain(message) in feedback, feedback


def test_a_model_without_the_dense_layer_is_told_what_was_expected():
    def no_dense(x_train, y_train):
        keras.config.set_floatx("float64")
        first, last = keras.layers.Normalization(), keras.layers.Normalization(invert=True)
        first.adapt(np.asarray(x_train))
        last.adapt(np.asarray(y_train).reshape(-1, 1))
        return keras.Sequential([keras.Input(shape=(np.shape(x_train)[1],)), first, last])

    feedback = first_failure(LAB, "build_normalized_model", no_dense, seeds=(0,))
    assert "one Dense(1)" in feedback, feedback
