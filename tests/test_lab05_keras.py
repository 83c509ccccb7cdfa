"""Lab 05 in Keras: a float64 Dense(1) trained by fit reproduces the NumPy training loop."""

from __future__ import annotations

import os

import numpy as np
import pytest

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
