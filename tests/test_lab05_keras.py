"""Lab 05 in Keras: a float64 Dense(1) trained by fit reproduces the NumPy loop, and keras_train is graded."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import first_failure

from autograder import checks
from autograder.checks.core import NOT_IMPLEMENTED
from autograder.feedback import plain
from autograder.hidden import lab05 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

X, Y = ref.DISTANCES, ref.TIMES


pytestmark = pytest.mark.usefixtures("float64_keras")


def commute_model():
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.set_weights([np.array([[ref.W0]]), np.array([ref.B0])])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse", jit_compile=False)
    return model


def weights(model):
    kernel, bias = model.get_weights()
    return kernel.item(), bias.item()


def test_fit_of_500_epochs_is_the_published_run():
    model = commute_model()
    data = tf.data.Dataset.from_tensor_slices((X[:, None], Y)).batch(4)
    history = model.fit(data, epochs=500, shuffle=False, verbose=0).history["loss"]
    w, b, numpy_history = ref.train(X, Y, ref.W0, ref.B0, 0.01, 500)
    np.testing.assert_allclose(weights(model), (w, b), rtol=1e-12)
    np.testing.assert_allclose(history, numpy_history, rtol=1e-12)
    np.testing.assert_allclose(weights(model), (5.06984245, 1.82519968), atol=5e-9)
    np.testing.assert_allclose(np.array(history)[[0, 1, 49, 499]], (227.415, 157.814, 0.04337, 0.026626), rtol=1e-4)


@pytest.mark.parametrize("batch_size", [4, 3, 2, 1])
def test_fit_on_arrays_equals_train_for_every_batch_size(batch_size):
    """batch_size 3 leaves a last batch of 1: Keras weights each batch's loss by its size, as train does."""
    model = commute_model()
    history = model.fit(X[:, None], Y, batch_size=batch_size, epochs=15, shuffle=False, verbose=0).history["loss"]
    w, b, numpy_history = ref.train(X, Y, ref.W0, ref.B0, 0.01, 15, batch_size=batch_size)
    np.testing.assert_allclose(weights(model), (w, b), rtol=1e-12)
    np.testing.assert_allclose(history, numpy_history, rtol=1e-12)


def test_early_stopping_stops_at_plateau_epoch():
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=10, min_delta=1e-4)
    data = tf.data.Dataset.from_tensor_slices((X[:, None], Y)).batch(4)
    commute_model().fit(data, epochs=500, shuffle=False, verbose=0, callbacks=[stopper])
    assert stopper.stopped_epoch == ref.plateau_epoch(ref.seed_history(), patience=10, min_delta=1e-4) == 459


# keras_train: the graded Keras exercise -----------------------------------------------

LAB = "05_training_loop"


def keras_train(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0, *, floatx="float64",
                shuffle_in="pipeline", restore=True, stop=True, jit_compile=False):
    """The solution, with switches for the mistakes the check names."""
    if floatx:
        keras.config.set_floatx(floatx)
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.set_weights([np.array([[w]]), np.array([b])])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse", jit_compile=jit_compile)
    data = tf.data.Dataset.from_tensor_slices((np.asarray(X, dtype=float)[:, None], np.asarray(y, dtype=float)))
    if shuffle and shuffle_in == "pipeline":
        data = data.shuffle(len(X), seed=seed)
    callbacks = [keras.callbacks.EarlyStopping(monitor="loss", patience=patience, restore_best_weights=restore)]
    fit = model.fit(data.batch(batch_size), epochs=epochs, shuffle=shuffle_in == "fit" and shuffle,
                    callbacks=callbacks if stop else [], verbose=0)
    kernel, bias = model.get_weights()
    return kernel.item(), bias.item(), np.array(fit.history["loss"])


def variant(**switches):
    def implementation(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0):
        return keras_train(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle, seed, **switches)
    return implementation


def functional_tensors(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0):
    """Another valid way: the functional API, assign, a loss object, tensors and a list returned."""
    keras.config.set_floatx("float64")
    inputs = keras.Input(shape=(1,))
    layer = keras.layers.Dense(1)
    model = keras.Model(inputs, layer(inputs))
    layer.kernel.assign([[w]])
    layer.bias.assign([b])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=keras.losses.MeanSquaredError())
    data = tf.data.Dataset.from_tensor_slices((tf.constant(np.reshape(X, (-1, 1))), tf.constant(y)))
    if shuffle:
        data = data.shuffle(buffer_size=100, seed=seed + 1, reshuffle_each_iteration=True)
    history = model.fit(data.batch(batch_size), epochs=epochs, verbose=0, callbacks=[
        keras.callbacks.EarlyStopping("loss", patience=patience, restore_best_weights=True)])
    return layer.kernel[0, 0], tf.convert_to_tensor(layer.bias)[0], history.history["loss"]


def constant_initializers(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0):
    """keras.initializers.Constant(0.23) rounds its value through float32, even in a float64 layer."""
    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Constant(w), bias_initializer=keras.initializers.Constant(b))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.asarray(X)[:, None], np.asarray(y))).batch(batch_size)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=patience, restore_best_weights=True)
    fit = model.fit(data, epochs=epochs, callbacks=[stopper], verbose=0)
    kernel, bias = model.get_weights()
    return kernel.item(), bias.item(), np.array(fit.history["loss"])


def float64_layers_only(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0):
    """dtype="float64" on the layers alone: the loss still follows floatx, float32."""
    model = keras.Sequential([keras.Input(shape=(1,), dtype="float64"), keras.layers.Dense(1, dtype="float64")])
    model.set_weights([np.array([[w]]), np.array([b])])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.asarray(X)[:, None], np.asarray(y))).batch(batch_size)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=patience, restore_best_weights=True)
    fit = model.fit(data, epochs=epochs, callbacks=[stopper], verbose=0)
    kernel, bias = model.get_weights()
    return float(kernel.item()), float(bias.item()), np.array(fit.history["loss"], dtype=float)


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "keras_train", keras_train) is None


@pytest.mark.parametrize("implementation", [variant(jit_compile="auto"), functional_tensors],
                         ids=["xla_auto", "functional_api_tensors_and_a_list"])
def test_correct_alternatives_pass(implementation):
    assert first_failure(LAB, "keras_train", implementation, seeds=(0,)) is None


def test_the_blank_stub_is_not_implemented():
    def keras_train(X, y, w, b, learning_rate, epochs, batch_size, patience, shuffle=False, seed=0):
        raise NotImplementedError("keras_train")

    assert first_failure(LAB, "keras_train", keras_train, seeds=(0,)) == f"Lab 05 · keras_train: {NOT_IMPLEMENTED}"


MISTAKES = [
    (variant(floatx=None), "float32"),  # the grader's fresh Keras (and the check's) starts in float32
    (float64_layers_only, "float32"),
    (constant_initializers, "float32"),
    (variant(shuffle_in="fit"), "shuffle_on_fit"),
    (variant(shuffle_in="nowhere"), "shuffle_on_fit"),
    (variant(restore=False), "no_restore"),
    (variant(stop=False), "no_early_stopping"),
]


@pytest.mark.parametrize(("implementation", "key"), MISTAKES,
                         ids=["floatx_default", "float64_layers_only", "constant_initializers", "shuffle_on_fit",
                              "never_shuffled", "no_restore", "no_early_stopping"])
def test_each_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(LAB, "keras_train", implementation, seeds=(0,))
    assert feedback is not None and feedback.startswith("Lab 05 · keras_train"), feedback
    message = checks.load_lab(LAB).exercise("keras_train").messages[key]
    assert plain(message) in feedback, feedback


def test_the_shuffle_seeds_of_the_hidden_cases_change_the_order():
    """tf.data picks the order: with these seeds it is never the data's order in all three epochs."""
    X4, Y4 = X, Y
    in_order = ref._keras_run(X4, Y4, ref.W0, ref.B0, 0.01, 3, 2, 5)
    for seed in ref.SHUFFLE_SEEDS:
        w, b, history = keras_train(X4, Y4, ref.W0, ref.B0, 0.01, 3, 2, 5, shuffle=True, seed=seed)
        assert not np.allclose(history, in_order[2], rtol=1e-9), seed


def test_the_hidden_cases_tell_the_mistakes_apart():
    """The diverging run stops early with its best epoch before the last under every draw (20 seeds)."""
    for seed in range(20):
        unshuffled, bouncing, diverging, shuffled = checks.load_lab(LAB).hidden_cases(seed)["keras_train"]
        assert {"no_restore", "no_early_stopping"} <= set(diverging.wrong), diverging.label
        assert set(shuffled.wrong) == {"shuffle_on_fit"} and shuffled.accepted
