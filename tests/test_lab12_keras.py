"""Lab 12 beside Keras: BatchNormalization, Dropout, EarlyStopping and the L2 regularizer agree with the NumPy ones.

Parity reached (float64 on CPU): BatchNormalization's training output, moving statistics and inference
output to rtol 1e-12; its gradients (tf.GradientTape, random upstream) to rtol 1e-10; Dropout through
Keras's own mask exactly (rtol 1e-15); regularizers.L2 to 1e-7 only, because Keras keeps l2 as a float32
(0.01 becomes 0.0099999998, a relative 2.2e-8); EarlyStopping's stop epoch and restored weights equal on
every public scripted sequence. The graded keras_regularized_model is judged with real TensorFlow here.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import first_failure

from autograder.hidden import lab12 as ref

LAB = "12_regularization"
pytestmark = pytest.mark.usefixtures("float64_keras")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(8)
    x = rng.normal(loc=2.0, scale=3.0, size=(7, 4))
    return x, rng.uniform(0.5, 2.0, size=4), rng.normal(size=4), rng.normal(size=(7, 4))


@pytest.fixture(scope="module")
def keras_norm(batch):
    import keras

    x, gamma, beta, _ = batch
    norm = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-2)
    norm.build((None, 4))
    norm.set_weights([gamma, beta, np.full(4, 0.5), np.full(4, 2.0)])
    return norm


def test_batchnorm_training_and_inference_agree_with_keras(batch, keras_norm):
    import keras

    x, gamma, beta, _ = batch
    keras_norm.set_weights([gamma, beta, np.full(4, 0.5), np.full(4, 2.0)])
    trained = keras.ops.convert_to_numpy(keras_norm(x, training=True))
    y, moving_mean, moving_var = ref.batchnorm_forward(x, gamma, beta, np.full(4, 0.5), np.full(4, 2.0),
                                                       momentum=0.9, epsilon=1e-2)
    np.testing.assert_allclose(trained, y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(keras_norm.moving_mean.numpy(), moving_mean, rtol=1e-12)
    np.testing.assert_allclose(keras_norm.moving_variance.numpy(), moving_var, rtol=1e-12)
    inferred = keras.ops.convert_to_numpy(keras_norm(x, training=False))
    expected, _, _ = ref.batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training=False, epsilon=1e-2)
    np.testing.assert_allclose(inferred, expected, rtol=1e-12, atol=1e-14)


def test_batchnorm_gradients_agree_with_the_tape(batch, keras_norm):
    import tensorflow as tf

    x, gamma, beta, upstream = batch
    keras_norm.set_weights([gamma, beta, np.zeros(4), np.ones(4)])
    x_var = tf.Variable(x)
    with tf.GradientTape() as tape:
        scalar = tf.reduce_sum(keras_norm(x_var, training=True) * upstream)
    dx, dgamma, dbeta = tape.gradient(scalar, [x_var, keras_norm.gamma, keras_norm.beta])
    ours = ref.batchnorm_backward(upstream, x, gamma, epsilon=1e-2)
    for theirs, mine in zip((dx, dgamma, dbeta), ours):
        np.testing.assert_allclose(theirs.numpy(), mine, rtol=1e-10, atol=1e-12)


def test_dropout_agrees_with_keras_through_its_mask():
    import keras

    x = np.random.default_rng(2).normal(size=(50, 40))
    layer = keras.layers.Dropout(0.3, seed=11)
    dropped = keras.ops.convert_to_numpy(layer(x, training=True))
    y, mask = ref.dropout_forward(x, 0.3, mask=dropped != 0)
    np.testing.assert_allclose(y, dropped, rtol=1e-15)
    assert abs(mask.mean() - 0.7) < 0.05
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), ref.dropout_forward(
        x, 0.3, training=False)[0])


def test_the_l2_regularizer_agrees_to_float32_rounding_of_l2():
    import keras

    W = np.random.default_rng(3).normal(size=(5, 3))
    theirs = float(keras.regularizers.L2(0.01)(W))
    mine = ref.l2_penalty([(W, np.zeros(3))], 0.01)
    np.testing.assert_allclose(theirs, mine, rtol=1e-7)
    np.testing.assert_allclose(theirs, mine * float(np.float32(0.01)) / 0.01, rtol=1e-12)


@pytest.mark.parametrize(("settings", "losses", "note"), ref.PUBLIC_STOPPING, ids=[r[2] for r in ref.PUBLIC_STOPPING])
def test_early_stopping_agrees_with_keras(settings, losses, note):
    import keras

    from autograder.probes.lab12 import early_stopping_run

    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", **settings)
    stopper.set_model(model)  # Keras's own callback, driven epoch by epoch as fit drives it
    model.stop_training = False
    stopper.on_train_begin()
    ran = 0
    for epoch, loss in enumerate(losses):
        model.set_weights([np.full((1, 1), epoch + 1.0), np.full(1, epoch + 1.0)])
        stopper.on_epoch_end(epoch, {"val_loss": float(loss)})
        ran += 1
        if model.stop_training:
            break
    stopper.on_train_end()
    ours = early_stopping_run(ref.EarlyStopping, settings, losses)
    assert ours["stopped_at"] == (ran - 1 if ran < len(losses) else None)
    assert ours["weights_from"] == int(model.get_weights()[0][0, 0]) - 1


def test_the_reference_keras_model_passes():
    assert first_failure(LAB, "keras_regularized_model", ref.keras_regularized_model, seeds=(0,)) is None


def _keras_variant(floatx="float64", bias=False, output=True, momentum=0.99, order=("norm", "drop")):
    def keras_regularized_model(weights, l2, rate):
        import keras

        keras.config.set_floatx(floatx)
        W1 = np.asarray(weights[0])
        middle = {"norm": keras.layers.BatchNormalization(momentum=momentum), "drop": keras.layers.Dropout(rate)}
        model = keras.Sequential([
            keras.Input(shape=(W1.shape[0],)),
            keras.layers.Dense(W1.shape[1], activation="relu", kernel_regularizer=keras.regularizers.L2(l2),
                               bias_regularizer=keras.regularizers.L2(l2) if bias else None),
            *[middle[name] for name in order],
            keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(l2) if output else None,
                               bias_regularizer=keras.regularizers.L2(l2) if bias else None),
        ])
        if order == ("norm", "drop"):
            model.set_weights([np.asarray(w) for w in weights])
        else:
            model.layers[0].set_weights(weights[:2])
            model.layers[2].set_weights(weights[2:6])
            model.layers[3].set_weights(weights[6:])
        return model
    return keras_regularized_model


@pytest.mark.parametrize(("implementation", "message"), [
    (_keras_variant(floatx="float32"), "only about 7 digits"),
    (_keras_variant(bias=True), "Your penalty includes the biases"),
    (_keras_variant(output=False), "Your penalty covers the first Dense only"),
    (_keras_variant(momentum=0.9), "momentum 0.9"),
    (_keras_variant(order=("drop", "norm")), "your layers are Dense, Dropout, BatchNormalization, Dense"),
])
def test_keras_mistakes_get_their_message(implementation, message):
    feedback = first_failure(LAB, "keras_regularized_model", implementation, seeds=(0,))
    assert feedback is not None and message in feedback
