"""Lab 12 beside Keras: BatchNormalization, Dropout, EarlyStopping and the L2 regularizer agree with the NumPy ones.

Parity reached (float64 on CPU): BatchNormalization's training output, moving statistics and inference
output to rtol 1e-12; its gradients (tf.GradientTape, random upstream) to rtol 1e-10; Dropout through
Keras's own mask exactly (rtol 1e-15); regularizers.L2 to 1e-7 only, because Keras keeps l2 as a float32
(0.01 becomes 0.0099999998, a relative 2.2e-8); EarlyStopping's stop epoch and restored weights equal on
every public scripted sequence. The graded keras_regularized_fit is judged with real TensorFlow here: the NumPy
reference run equals fit (1e-12), a run with dropout passes whatever its masks, each mistake gets its message.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import first_failure

from autograder.feedback import plain
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


# keras_regularized_fit: the graded Keras exercise ------------------------------------------

def keras_regularized_fit(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs, patience, *,
                          floatx="float64", bias=False, output=True, momentum=0.99, order=("norm", "drop"),
                          restore=True, stopper=True, monitor="val_loss", validation=True, optimizer=None,
                          loss="mse", dropout_seed=None):
    """The solution, with switches for the mistakes the check names."""
    import keras

    if floatx:
        keras.config.set_floatx(floatx)
    W1 = np.asarray(weights[0])
    middle = {"norm": keras.layers.BatchNormalization(momentum=momentum),
              "drop": keras.layers.Dropout(rate, seed=dropout_seed)}
    model = keras.Sequential([
        keras.Input(shape=(W1.shape[0],)),
        keras.layers.Dense(W1.shape[1], activation="relu", kernel_regularizer=keras.regularizers.L2(l2),
                           bias_regularizer=keras.regularizers.L2(l2) if bias else None),
        *[middle[name] for name in order],
        keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(l2) if output else None,
                           bias_regularizer=keras.regularizers.L2(l2) if bias and output else None),
    ])
    model.set_weights([np.asarray(w) for w in weights])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate=learning_rate), loss=loss)
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=restore)]
    history = model.fit(X_train, y_train, batch_size=len(X_train), epochs=epochs, verbose=0,
                        validation_data=(X_val, y_val) if validation else None, callbacks=callbacks if stopper else [])
    return model, history


def fit_variant(**switches):
    def implementation(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs, patience):
        return keras_regularized_fit(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs,
                                     patience, **switches)
    return implementation


def functional_api(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs, patience):
    """Another valid way: the functional API, assign, a loss object, y as a column, shuffle=False and the
    History's dict returned."""
    import keras

    keras.config.set_floatx("float64")
    inputs = keras.Input(shape=(np.shape(weights[0])[0],))
    dense = keras.layers.Dense(np.shape(weights[0])[1], activation="relu", kernel_regularizer=keras.regularizers.l2(l2))
    norm = keras.layers.BatchNormalization()
    out = keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(l2=l2))
    model = keras.Model(inputs, out(keras.layers.Dropout(rate=rate)(norm(dense(inputs)))))
    for variable, value in zip(model.weights, weights):
        variable.assign(value)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=keras.losses.MeanSquaredError())
    history = model.fit(X_train, np.reshape(y_train, (-1, 1)), batch_size=len(X_train), epochs=epochs, shuffle=False,
                        validation_data=(X_val, np.reshape(y_val, (-1, 1))), verbose=0,
                        callbacks=[keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)])
    return model, history.history


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "keras_regularized_fit", keras_regularized_fit) is None


def test_the_reference_run_is_kerass_fit():
    """The NumPy reference reproduces fit on the model without dropout: histories and weights to 1e-12."""
    case = next(c for c in ref.public_cases()["keras_regularized_fit"] if c.args[2] == 0)
    model, history = keras_regularized_fit(*case.args)
    expected = case.expected
    np.testing.assert_allclose(history.history["loss"], expected["loss"], rtol=1e-12)
    np.testing.assert_allclose(history.history["val_loss"], expected["val_loss"], rtol=1e-12)
    for theirs, mine in zip(model.get_weights(), expected["weights"]):
        np.testing.assert_allclose(theirs, mine, rtol=1e-12, atol=1e-14)


def test_a_run_with_dropout_is_judged_whatever_its_masks():
    """Three seeds, three sets of masks: the same model passes the case with dropout each time (and the probe
    leaves NumPy's global generator as it found it)."""
    import keras

    from autograder.checks import load_lab
    from autograder.probes.lab12 import keras_fit_report

    spec = load_lab(LAB).exercise("keras_regularized_fit")
    case = next(c for c in ref.public_cases()["keras_regularized_fit"] if c.args[2] > 0)
    histories, numpy_state = set(), np.random.get_state()[1].copy()
    for seed in (1, 2, 3):
        def seeded(*args, seed=seed):
            keras.utils.set_random_seed(seed)
            return keras_regularized_fit(*args)
        report = keras_fit_report(seeded, *case.args)
        histories.add(tuple(np.round(report["loss"], 12)))
        assert spec.compare(report, case.expected, spec) is None
    assert len(histories) == 3
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # the probe put NumPy's generator back


@pytest.mark.parametrize("implementation", [functional_api, fit_variant(loss="mean_squared_error", dropout_seed=7)],
                         ids=["functional_api_assign_and_history_dict", "loss_by_name_and_a_seeded_dropout"])
def test_correct_alternatives_pass(implementation):
    assert first_failure(LAB, "keras_regularized_fit", implementation, seeds=(0,)) is None


@pytest.mark.parametrize(("switches", "message"), [
    ({"floatx": "float32"}, "only about 7 digits"),
    ({"bias": True}, "Your loss includes a penalty on the biases"),
    ({"output": False}, "Your penalty covers the first Dense only"),
    ({"momentum": 0.9}, "momentum 0.9"),
    ({"restore": False}, "fit returned the last epoch's weights"),
    ({"stopper": False}, "fit ran every epoch although the validation loss had stopped improving"),
    ({"order": ("drop", "norm")}, "your model's layers are Dense, Dropout, BatchNormalization, Dense"),
], ids=["float32", "bias_regularized", "output_unregularized", "bn_momentum", "no_restore", "no_early_stopping",
        "dropout_before_norm"])
def test_keras_mistakes_get_their_message(switches, message):
    feedback = first_failure(LAB, "keras_regularized_fit", fit_variant(**switches), seeds=(0,))
    assert feedback is not None and message in feedback


@pytest.mark.filterwarnings("ignore:Early stopping conditioned on metric")
def test_a_fit_without_validation_data_is_told_to_pass_it():
    feedback = first_failure(LAB, "keras_regularized_fit", fit_variant(validation=False), seeds=(0,))
    assert feedback is not None and "Your History has no val_loss" in feedback


def sgd_with_momentum(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs, patience):
    import keras

    keras.config.set_floatx("float64")  # before the optimizer: its learning rate is a variable of floatx
    return keras_regularized_fit(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs, patience,
                                 optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9))


@pytest.mark.parametrize(("implementation", "allowed"), [
    (sgd_with_momentum, set()),
    (fit_variant(monitor="loss"), {"no_early_stopping"}),  # its message says: watch val_loss, not the loss
], ids=["sgd_with_momentum", "monitors_the_training_loss"])
def test_unknown_wrong_code_gets_no_invented_cause(implementation, allowed):
    from autograder.checks import load_lab

    messages = load_lab(LAB).exercise("keras_regularized_fit").messages
    feedback = first_failure(LAB, "keras_regularized_fit", implementation, seeds=(0,))
    assert feedback is not None
    assert {key for key, text in messages.items() if plain(text) in plain(feedback)} <= allowed


def test_an_optimizer_made_before_set_floatx_keeps_a_float32_learning_rate():
    """What the float32 message says: the learning rate is a variable of floatx at the optimizer's making."""
    import keras

    from autograder.probes.keras_state import float_settings

    with float_settings("float32"):
        early = keras.optimizers.SGD(0.1)
        keras.config.set_floatx("float64")
        late = keras.optimizers.SGD(0.1)
        assert (early.learning_rate.dtype, late.learning_rate.dtype) == ("float32", "float64")
