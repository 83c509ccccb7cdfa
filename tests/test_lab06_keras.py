"""Lab 06 in Keras: what the notebook says about Normalization and fit is true, and fit_normalized_model is graded."""

from __future__ import annotations

import os
import warnings

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


def test_call_divides_by_the_std_floored_at_epsilon():
    """A constant feature: about 0 on the training rows, (x − mean) / 1e-7 on a new value (the notebook's cell)."""
    layer = keras.layers.Normalization()
    constant = np.array([[1.0, 3.7], [2.0, 3.7], [4.0, 3.7]])
    layer.adapt(constant)
    assert keras.config.epsilon() == 1e-7
    assert layer.variance.numpy()[0, 1] < 1e-20
    np.testing.assert_allclose(layer(constant).numpy()[:, 1], 0.0, atol=1e-7)
    np.testing.assert_allclose(layer(np.array([[1.0, 4.2]])).numpy()[0, 1], 0.5 / 1e-7, rtol=1e-6)
    fixed = keras.layers.Normalization(mean=[3.7], variance=[0.0], invert=True)
    np.testing.assert_allclose(fixed(np.array([[2.0]])).numpy() - 3.7, [[2.0 * 1e-7]], rtol=0.5)


def _line_model(learning_rate):
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.layers[0].set_weights([np.array([[0.5]]), np.array([2.0])])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    return model


def _weights(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_fit_ignores_shuffle_for_a_dataset_and_warns_about_true():
    """Lab 06 no longer passes shuffle to fit with a Dataset: it would be ignored."""
    x, y = ref.DISTANCES[:6, None], ref.commute_times()[:6]
    runs = []
    for shuffle in (False, True):
        model = _line_model(1e-4)
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(dataset, epochs=3, shuffle=shuffle, verbose=0)
        runs.append(_weights(model))
        assert any("will be ignored" in str(w.message) for w in caught) == shuffle
    np.testing.assert_array_equal(runs[0], runs[1])


def test_fit_shuffles_arrays_by_default_and_one_full_batch_only_reorders_a_sum():
    x, y = ref.DISTANCES[:6, None], ref.commute_times()[:6]
    unshuffled, default = _line_model(1e-4), _line_model(1e-4)
    unshuffled.fit(x, y, batch_size=2, epochs=3, shuffle=False, verbose=0)
    default.fit(x, y, batch_size=2, epochs=3, verbose=0, )
    keras.utils.set_random_seed(0)
    assert not np.allclose(_weights(unshuffled), _weights(default), rtol=1e-9)  # batches of 2: the order matters
    full_in_order, full_default = _line_model(1e-4), _line_model(1e-4)
    full_in_order.fit(x, y, batch_size=6, epochs=3, shuffle=False, verbose=0)
    full_default.fit(x, y, batch_size=6, epochs=3, verbose=0)
    np.testing.assert_allclose(_weights(full_default), _weights(full_in_order), rtol=1e-13)


def test_fit_s_default_batch_size_is_32():
    model = _line_model(1e-4)
    model.fit(ref.DISTANCES[:, None], ref.commute_times(), epochs=2, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2 * 2  # 39 rows: batches of 32 and 7


def test_numpy_backprop_through_the_deep_network_equals_gradient_tape():
    from autograder.demos import lab06 as demo

    weights = demo.deep_network(depth=20, width=16, seed=0)
    x = (ref.DISTANCES - 10.5) / ref.DISTANCES.std()
    y = ref.commute_times()
    y = (y - y.mean()) / y.std()
    for activation in ("sigmoid", "tanh"):
        np.testing.assert_allclose(demo.keras_gradient_norms(weights, x, y, activation),
                                   demo.gradient_norms(weights, x, y, activation), rtol=1e-10)
    norms = demo.gradient_norms(weights, x, y, "sigmoid")
    assert norms[-1] / norms[0] > 1e12  # the notebook's "about 10¹³ times smaller"


# fit_normalized_model: the graded Keras exercise ---------------------------------------

def fit_normalized_model(x_train, y_train, kernel, bias, learning_rate, epochs, *, floatx="float64",
                         first="normalization", invert=True, y_shape=(-1, 1), adapt_x_on=None, adapt_y_on=None,
                         rate=None, batch_size=None, set_weights=True, run_epochs=None, give="history", x_axis=-1):
    """The solution, with switches for the mistakes the check names."""
    if floatx:
        keras.config.set_floatx(floatx)
    x_train, y_train = np.asarray(x_train, dtype=float), np.asarray(y_train, dtype=float)
    normalizer = keras.layers.Normalization(axis=x_axis)
    normalizer.adapt(x_train if adapt_x_on is None else adapt_x_on(x_train))
    denormalizer = keras.layers.Normalization(invert=invert)
    denormalizer.adapt((y_train if adapt_y_on is None else adapt_y_on(x_train, y_train)).reshape(y_shape))
    dense = keras.layers.Dense(1)
    layers = [normalizer, dense, denormalizer]
    if first == "dense":
        layers = [keras.layers.Dense(x_train.shape[1]), *layers]
    model = keras.Sequential([keras.Input(shape=(x_train.shape[1],)), *layers])
    if set_weights:
        dense.set_weights([np.asarray(kernel, dtype=float), np.array([bias])])
    rate = learning_rate / y_train.var() if rate is None else rate(learning_rate, y_train)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
    history = model.fit(x_train, y_train, batch_size=batch_size or len(x_train), epochs=run_epochs or epochs,
                        verbose=0)
    return {"history": history, "model": model, "losses": history.history["loss"]}[give]


def variant(**switches):
    def implementation(x_train, y_train, kernel, bias, learning_rate, epochs):
        return fit_normalized_model(x_train, y_train, kernel, bias, learning_rate, epochs, **switches)
    return implementation


def given_statistics(x_train, y_train, kernel, bias, learning_rate, epochs):
    """Another valid way: statistics from NumPy, the functional API, weights assigned, a tf.data pipeline.

    (floatx float64 is still needed: with dtype="float64" layers alone, SGD keeps its rate in float32.)
    """
    keras.config.set_floatx("float64")
    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    inputs = keras.Input(shape=(x_train.shape[1],), dtype="float64")
    z = keras.layers.Normalization(mean=x_train.mean(axis=0), variance=x_train.var(axis=0), dtype="float64")(inputs)
    dense = keras.layers.Dense(1, dtype="float64", kernel_initializer="zeros")
    outputs = keras.layers.Normalization(mean=[y_train.mean()], variance=[y_train.var()], invert=True,
                                         dtype="float64")(dense(z))
    model = keras.Model(inputs, outputs)
    dense.kernel.assign(np.asarray(kernel, dtype="float64"))
    dense.bias.assign([bias])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate / y_train.var()),
                  loss=keras.losses.MeanSquaredError())
    dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train.reshape(-1, 1))).batch(len(x_train))
    return model.fit(dataset, epochs=epochs, verbose=0)


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "fit_normalized_model", fit_normalized_model) is None


def test_given_statistics_the_functional_api_and_a_dataset_pass():
    assert first_failure(LAB, "fit_normalized_model", given_statistics, seeds=(0,)) is None


def test_the_blank_stub_is_not_implemented():
    def fit_normalized_model(x_train, y_train, kernel, bias, learning_rate, epochs):
        raise NotImplementedError("fit_normalized_model")

    feedback = first_failure(LAB, "fit_normalized_model", fit_normalized_model, seeds=(0,))
    assert feedback == f"Lab 06 · fit_normalized_model: {NOT_IMPLEMENTED}"


MISTAKES = [
    (variant(floatx=None), "float32"),
    (variant(first="dense"), "first_layer"),
    (variant(invert=False), "no_invert"),
    (variant(y_shape=(-1,)), "y_features"),
    (variant(x_axis=None), "x_axis"),
    (variant(adapt_x_on=lambda x: x[: len(x) // 2]), "x_stats"),
    (variant(adapt_y_on=lambda x, y: (y - y.mean()) / y.std()), "y_stats"),
    (variant(run_epochs=3), "epochs_run"),
    (variant(rate=lambda lr, y: lr), "unscaled_rate"),
    (variant(batch_size=32), "first_loss"),
    (variant(set_weights=False), "first_loss"),
]


@pytest.mark.parametrize(("implementation", "key"), MISTAKES,
                         ids=["float32", "dense_first", "no_invert", "y_as_features", "one_mean_for_all_features",
                              "x_half_the_rows", "y_already_normalized", "too_few_epochs", "unscaled_rate",
                              "default_batch_size", "weights_not_set"])
def test_each_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(LAB, "fit_normalized_model", implementation, seeds=(0,))
    assert feedback is not None and feedback.startswith("Lab 06 · fit_normalized_model"), feedback
    message = checks.load_lab(LAB).exercise("fit_normalized_model").messages[key]
    if "{" in message:
        message = message.split("{")[0] if not message.startswith("{") else message.split("}")[-1]
    assert plain(message) in feedback, feedback


@pytest.mark.parametrize("give", ["model", "losses"])
def test_returning_something_else_than_the_history_is_told_what_to_return(give):
    feedback = first_failure(LAB, "fit_normalized_model", variant(give=give), seeds=(0,))
    assert "return what model.fit(...) returns" in feedback, feedback


def test_a_wrong_rate_that_matches_no_known_mistake_gets_no_cause():
    feedback = first_failure(LAB, "fit_normalized_model", variant(rate=lambda lr, y: 0.9 * lr / y.var()), seeds=(0,))
    assert feedback is not None and "the loss history differs" in feedback, feedback
    named = [m.split("{")[0][:40] for m in checks.load_lab(LAB).exercise("fit_normalized_model").messages.values()]
    assert not [m for m in named if plain(m) in feedback], feedback


def test_a_model_without_the_dense_layer_is_told_what_was_expected():
    def no_dense(x_train, y_train, kernel, bias, learning_rate, epochs):
        keras.config.set_floatx("float64")
        first, last = keras.layers.Normalization(), keras.layers.Normalization(invert=True)
        first.adapt(np.asarray(x_train))
        last.adapt(np.asarray(y_train).reshape(-1, 1))
        model = keras.Sequential([keras.Input(shape=(np.shape(x_train)[1],)), first, last])
        model.compile(optimizer="sgd", loss="mse")
        return model.fit(x_train, y_train, epochs=1, verbose=0)

    feedback = first_failure(LAB, "fit_normalized_model", no_dense, seeds=(0,))
    assert "one Dense(1)" in feedback, feedback


def test_the_keras_run_is_train_line_on_z_scores():
    """The notebook's demo: fit's history is var(times) × train_line's, and the weights are train_line's."""
    times = ref.commute_times()
    history = fit_normalized_model(X[:, None], times, [[0.5]], 2.0, 0.1, 30)
    x_stats, y_stats = ref.zscore_fit(X), ref.zscore_fit(times)
    w, b, z_history = ref.train_line(ref.zscore_transform(X, *x_stats), ref.zscore_transform(times, *y_stats),
                                     0.5, 2.0, 0.1, 30)
    kernel, bias = history.model.layers[1].get_weights()
    np.testing.assert_allclose([kernel.item(), bias.item()], [w, b], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(history.history["loss"], times.var() * z_history, rtol=1e-12)
    np.testing.assert_allclose(history.model(np.array([[7.0]])).numpy().ravel(),
                               ref.predict_minutes([7.0], w, b, x_stats, y_stats), rtol=1e-12)


def test_dense_starts_from_glorot_the_family_of_the_deep_network():
    assert isinstance(keras.layers.Dense(1).kernel_initializer, keras.initializers.GlorotUniform)


def test_the_notebook_passes_no_shuffle_to_fit():
    """fit ignores shuffle for a Dataset; the lab's fits take arrays in one batch, where it only reorders a sum."""
    from pathlib import Path

    source = Path(__file__).parents[1] / "solutions" / LAB / f"{LAB}.ipynb"
    assert "shuffle=" not in source.read_text()
