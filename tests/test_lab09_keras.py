"""Lab 09 in Keras: keras.losses agree with the NumPy losses (float64, every from_logits setting, saturated
inputs); what Keras does with a from_logits that does not fit the model's output (the notebook's lesson,
each sentence a test here); the XOR network trains identically in fit; keras_xor is graded by its run."""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest
from conftest import first_failure, rotating_seeds

from autograder import checks
from autograder.checks.core import NOT_IMPLEMENTED
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
    # Keras's sparse loss from probabilities: the log of the clipped p, then a softmax cross-entropy of those logs
    logs = np.log(np.clip(PROBABILITIES, 1e-7, 1 - 1e-7))
    assert keras_value == pytest.approx(ref.sparse_cross_entropy_from_logits(LABELS, logs), rel=1e-9)


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


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_start():
    rng = np.random.default_rng(1)
    return [rng.normal(size=(2, 4)), np.zeros(4), rng.normal(size=(4, 1)), np.zeros(1)]


def numpy_xor_run(params, epochs, learning_rate=1.0):
    history = []
    for _ in range(epochs):
        loss, *grads = ref.xor_gradients(XOR_X, XOR_Y, *params)
        history.append(loss)
        params = [p - learning_rate * g for p, g in zip(params, grads)]
    return np.array(history), params


def xor_model(last_activation=None, from_logits=True, learning_rate=1.0):
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1, activation=last_activation)])
    model.set_weights(xor_start())
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=from_logits))
    return model


def fit_xor(model, epochs):
    data = tf.data.Dataset.from_tensor_slices((XOR_X, XOR_Y[:, None])).batch(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(data, epochs=epochs, shuffle=False, verbose=0).history["loss"]
    return np.array(history), [str(w.message) for w in caught]


def test_xor_in_keras_has_the_numpy_loss_history_and_gets_4_of_4():
    """Tolerance reached: about 5e-15 relative over 500 epochs (asserted at 1e-10)."""
    history, _ = numpy_xor_run(xor_start(), 500)
    model = xor_model()
    keras_history, _ = fit_xor(model, 500)
    np.testing.assert_allclose(keras_history, history, rtol=1e-10)
    assert np.array_equal(model.predict(XOR_X, verbose=0)[:, 0] > 0, XOR_Y == 1)


# What Keras does when from_logits does not fit the output (the notebook's §9 says each of these) -----------

ONE_LOGIT = [np.array([[40.0]]), np.array([0.0])]
X1, Y1 = np.array([[1.0], [-0.5], [0.2]]), np.array([[0.0], [1.0], [1.0]])  # logits 40, −20, 8: one sure, wrong


def one_unit(last_activation):
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1, activation=last_activation)])
    model.set_weights(ONE_LOGIT)
    return model


def loss_and_warnings(from_logits, y_pred):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = float(keras.losses.BinaryCrossentropy(from_logits=from_logits)(Y1, y_pred))
    return loss, [str(w.message) for w in caught if "from_logits" in str(w.message)]


LOGITS_1 = X1 @ ONE_LOGIT[0] + ONE_LOGIT[1]
EXACT = ref.binary_cross_entropy_from_logits(Y1[:, 0], LOGITS_1[:, 0])
CLIPPED_P = ref.binary_cross_entropy(Y1[:, 0], ref._sigmoid(LOGITS_1[:, 0]))


@pytest.mark.parametrize("loss", [keras.losses.BinaryCrossentropy, keras.losses.CategoricalCrossentropy,
                                  keras.losses.SparseCategoricalCrossentropy])
def test_from_logits_is_false_by_default(loss):
    assert inspect.signature(loss).parameters["from_logits"].default is False


def test_the_example_exact_and_clipped_losses():
    assert EXACT == pytest.approx((40 + 20 + np.log1p(np.exp(-40)) + np.log1p(np.exp(-20)) + np.log1p(np.exp(-8))) / 3)
    assert EXACT == pytest.approx(20.0001, abs=1e-4) and CLIPPED_P == pytest.approx(10.7455, abs=1e-4)


def test_a_sigmoid_layer_output_carries_its_logits():
    output = one_unit("sigmoid")(X1)
    np.testing.assert_allclose(np.asarray(output._keras_logits), LOGITS_1, rtol=1e-15)


@pytest.mark.parametrize("from_logits", [False, True])
def test_a_models_own_sigmoid_gives_the_exact_unclipped_loss_either_way(from_logits):
    loss, warned = loss_and_warnings(from_logits, one_unit("sigmoid")(X1))
    assert loss == pytest.approx(EXACT, rel=1e-12)
    assert bool(warned) == from_logits  # from_logits=True is warned about, and computed right
    if warned:
        assert "does not represent logits" in warned[0]


@pytest.mark.parametrize("from_logits", [False, True])
def test_keras_ops_sigmoid_outside_a_model_is_caught_too(from_logits):
    logits = one_unit(None)(X1)
    assert loss_and_warnings(from_logits, keras.ops.sigmoid(logits))[0] == pytest.approx(EXACT, rel=1e-12)


@pytest.mark.parametrize("from_logits", [False, True])
def test_a_models_own_softmax_gives_the_exact_loss_either_way_one_hot_or_sparse(from_logits):
    """The softmax counterpart: logits 100 apart, so a clip would cap the loss at 16.1; Keras reports 100."""
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(2, activation="softmax")])
    model.set_weights([np.array([[50.0, -50.0], [0.0, 0.0]]), np.zeros(2)])
    x, labels = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1, 1])
    exact = ref.sparse_cross_entropy_from_logits(labels, x @ model.get_weights()[0])
    assert exact == pytest.approx(50.0)
    for loss, y_true in ((keras.losses.SparseCategoricalCrossentropy, labels),
                         (keras.losses.CategoricalCrossentropy, np.eye(2)[labels])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = float(loss(from_logits=from_logits)(y_true, model(x)))
        assert value == pytest.approx(exact, rel=1e-12)
        assert any("does not represent logits" in str(w.message) for w in caught) == from_logits


def test_probabilities_from_predict_are_a_plain_array_clipped_with_false():
    probabilities = one_unit("sigmoid").predict(X1, verbose=0)
    assert isinstance(probabilities, np.ndarray)
    loss, warned = loss_and_warnings(False, probabilities)
    assert loss == pytest.approx(CLIPPED_P, rel=1e-12) and not warned


def test_probabilities_from_predict_read_as_logits_are_silently_wrong():
    probabilities = one_unit("sigmoid").predict(X1, verbose=0)
    loss, warned = loss_and_warnings(True, probabilities)
    assert loss == pytest.approx(ref.binary_cross_entropy_from_logits(Y1[:, 0], probabilities[:, 0]), rel=1e-12)
    assert loss == pytest.approx(0.7733, abs=1e-4) and not warned


def test_tf_sigmoid_in_eager_mode_is_not_caught():
    probabilities = tf.sigmoid(one_unit(None)(X1))
    assert loss_and_warnings(True, probabilities)[0] == pytest.approx(0.7733, abs=1e-4)


def test_logits_read_as_probabilities_are_clipped_silently():
    logits = one_unit(None)(X1)
    loss, warned = loss_and_warnings(False, logits)
    clipped = np.clip(LOGITS_1[:, 0], 1e-7, 1 - 1e-7)
    assert loss == pytest.approx(ref.binary_cross_entropy(Y1[:, 0], clipped), rel=1e-12) and not warned
    assert loss == pytest.approx(10.7454, abs=1e-4)
    assert loss_and_warnings(True, logits)[0] == pytest.approx(EXACT, rel=1e-12)


def test_in_fit_a_sigmoid_model_trains_as_the_logits_model_whatever_from_logits_says():
    reference, _ = fit_xor(xor_model(None, True), 30)
    quiet, warned_false = fit_xor(xor_model("sigmoid", False), 30)
    caught, warned_true = fit_xor(xor_model("sigmoid", True), 30)
    np.testing.assert_allclose(quiet, reference, rtol=1e-12)
    np.testing.assert_allclose(caught, reference, rtol=1e-12)
    assert not any("from_logits" in w for w in warned_false)
    assert any("does not represent logits" in w for w in warned_true)


def test_in_fit_logits_read_as_probabilities_train_on_the_clipped_loss_without_a_warning():
    history, warned = fit_xor(xor_model(None, False), 30)
    expected = ref._xor_fit(XOR_X, XOR_Y, xor_start(), 1.0, 30, ref._clipped_logits_step)[0]
    np.testing.assert_allclose(history, expected, rtol=1e-10)
    assert not any("from_logits" in w for w in warned)
    assert history[-1] > 4.0 > 0.7 > fit_xor(xor_model(None, True), 30)[0][-1]  # stuck far above the right run


def test_fit_ignores_shuffle_for_a_dataset_and_warns_only_when_it_is_true():
    """A Dataset keeps its order: shuffle=True, fit's default, changes nothing but a warning; False silences it."""
    assert inspect.signature(keras.Model.fit).parameters["shuffle"].default is True
    data = tf.data.Dataset.from_tensor_slices((XOR_X, XOR_Y[:, None])).batch(1)
    runs = {}
    for shuffle in (True, False):
        model = xor_model()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs[shuffle] = model.fit(data, epochs=3, shuffle=shuffle, verbose=0).history["loss"]
        assert any("`shuffle=True` was passed, but will be ignored" in str(w.message) for w in caught) == shuffle
    np.testing.assert_array_equal(runs[True], runs[False])


# keras_xor: the graded Keras exercise --------------------------------------------------

LAB = "09_losses"


def keras_xor(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(np.shape(W1)[1], activation="tanh"),
                              keras.layers.Dense(1, activation=last_activation)])
    model.set_weights([W1, b1, W2, b2])
    loss = keras.losses.BinaryCrossentropy(from_logits=last_activation == "linear")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=loss)
    data = tf.data.Dataset.from_tensor_slices((X, y)).batch(len(X))
    history = model.fit(data, epochs=epochs, shuffle=False, verbose=0).history["loss"]
    return history, model(X).numpy()


def with_arrays_and_functional_model(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    """Another valid way: the functional API, activations as their own layers, fit on arrays, model(X) after."""
    keras.config.set_floatx("float64")
    inputs = keras.Input(shape=(2,))
    hidden = keras.layers.Activation("tanh")(keras.layers.Dense(len(b1))(inputs))
    outputs = keras.layers.Dense(1)(hidden)
    if last_activation == "sigmoid":
        outputs = keras.layers.Activation("sigmoid")(outputs)
    model = keras.Model(inputs, outputs)
    model.set_weights([W1, b1, W2, b2])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=last_activation != "sigmoid"))
    fitted = model.fit(X, y[:, None], batch_size=len(X), epochs=epochs, shuffle=False, verbose=0)
    return np.array(fitted.history["loss"]), model(X)[:, 0]


def sigmoid_with_from_logits_true(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    """Every loss from logits: for a sigmoid model Keras finds its logits and warns; the run is the same."""
    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(len(b1), activation="tanh"),
                              keras.layers.Dense(1, activation=last_activation)])
    model.set_weights([W1, b1, W2, b2])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    data = tf.data.Dataset.from_tensor_slices((X, y)).batch(len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = model.fit(data, epochs=epochs, shuffle=False, verbose=0).history["loss"]
    return history, model.predict(X, verbose=0)


def variant(**changes):
    """keras_xor with one thing changed, to imitate a mistake."""
    def run(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
        if changes.get("float32"):
            keras.config.set_floatx("float32")
        else:
            keras.config.set_floatx("float64")
        built = changes.get("last", last_activation)
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(len(b1), activation="tanh"),
                                  keras.layers.Dense(1, activation=built)])
        model.set_weights([W1, b1, W2, b2])
        from_logits = changes.get("from_logits", lambda activation: activation == "linear")(built)
        loss = changes.get("loss") or keras.losses.BinaryCrossentropy(from_logits=from_logits)
        optimizer = changes.get("optimizer", keras.optimizers.SGD)(learning_rate)
        model.compile(optimizer=optimizer, loss=loss)
        data = tf.data.Dataset.from_tensor_slices((X, y)).batch(changes.get("batch_size", len(X)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = model.fit(data, epochs=epochs + changes.get("extra_epochs", 0), shuffle=False,
                                verbose=0).history["loss"]
        outputs = model.predict(X, verbose=0)
        return (history, outputs) if not changes.get("untrained_outputs") else (history, outputs * 0 + 0.5)
    return run


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "keras_xor", keras_xor) is None


@pytest.mark.parametrize(("implementation", "seed"), rotating_seeds([with_arrays_and_functional_model,
                                                                      sigmoid_with_from_logits_true]),
                         ids=["functional_arrays", "sigmoid_from_logits_true"])
def test_correct_alternatives_pass(implementation, seed):
    assert first_failure(LAB, "keras_xor", implementation, seeds=(seed,)) is None


def test_the_blank_stub_is_not_implemented():
    def keras_xor(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
        raise NotImplementedError("keras_xor")

    assert first_failure(LAB, "keras_xor", keras_xor, seeds=(0,)) == f"Lab 09 · keras_xor: {NOT_IMPLEMENTED}"


MISTAKES = [
    (variant(float32=True), "float32"),
    (variant(from_logits=lambda activation: False), "logits_as_probabilities"),
    (variant(from_logits=lambda activation: activation == "sigmoid"), "logits_as_probabilities"),
    (variant(float32=True, from_logits=lambda activation: False), "logits_as_probabilities_float32"),
    (variant(last="linear"), "outputs_logits"),
    (variant(last="sigmoid"), "outputs_probabilities"),
]


@pytest.mark.parametrize(("implementation", "key", "seed"), rotating_seeds(MISTAKES),
                         ids=["float32", "from_logits_false", "from_logits_flipped", "from_logits_false_float32",
                              "always_linear", "always_sigmoid"])
def test_each_mistake_fails_with_its_own_message(implementation, key, seed):
    feedback = first_failure(LAB, "keras_xor", implementation, seeds=(seed,))
    assert feedback is not None and feedback.startswith("Lab 09 · keras_xor"), feedback
    messages = checks.load_lab(LAB).exercise("keras_xor").messages
    assert plain(messages[key]) in feedback
    within = [k for k, m in messages.items() if plain(messages[key]).startswith(plain(m))]  # the float32 one adds
    assert not any(plain(m) in feedback for k, m in messages.items() if k not in within)


CAUSES = ("float32", "logits_as_probabilities", "logits_as_probabilities_float32", "outputs_logits",
          "outputs_probabilities")


@pytest.mark.parametrize(("implementation", "seed"), rotating_seeds([
    variant(loss=keras.losses.MeanSquaredError()),
    variant(optimizer=keras.optimizers.Adam),
    variant(batch_size=2),
    variant(untrained_outputs=True),
]), ids=["mse", "adam", "mini_batches", "outputs_not_the_models"])
def test_unnamed_mistakes_get_no_invented_cause(implementation, seed):
    feedback = first_failure(LAB, "keras_xor", implementation, seeds=(seed,))
    assert feedback is not None
    messages = checks.load_lab(LAB).exercise("keras_xor").messages
    assert not any(plain(messages[key]) in feedback for key in CAUSES), feedback


def test_one_epoch_too_many_is_counted():
    feedback = first_failure(LAB, "keras_xor", variant(extra_epochs=1), seeds=(2,))
    assert "your loss history has 21 entries, expected 20" in feedback



def test_the_demo_trains_only_the_notebooks_own_example():
    """from_logits_runs takes no data and no weights: it cannot stand in for keras_xor on a graded case."""
    from autograder.demos import lab09 as demos

    assert set(inspect.signature(demos.from_logits_runs).parameters) == {"epochs", "learning_rate"}
    public = checks.load_lab(LAB).public_cases()["keras_xor"]
    assert not any(np.array_equal(case.args[2], demos.xor_start()[0]) for case in public)


KERAS_XOR_FLOAT32_FROM_PROBABILITIES = '''def keras_xor(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(np.shape(W1)[1], activation="tanh"),
                              keras.layers.Dense(1, activation=last_activation)])
    model.set_weights([W1, b1, W2, b2])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=keras.losses.BinaryCrossentropy())
    data = tf.data.Dataset.from_tensor_slices((X, y)).batch(len(X))
    history = model.fit(data, epochs=epochs, shuffle=False, verbose=0).history["loss"]
    return history, model(X).numpy()
'''


@pytest.mark.parametrize("secret", ["course-a", "course-b"])
def test_through_the_grader_float32_logits_read_as_probabilities_are_named(tmp_path, secret):
    """Keras's float32 clips at 1 − 1.19e-7 (15.94 per sure, wrong example): the cause is reached all the same."""
    import json

    from conftest import replace_function, solution_notebook

    from autograder.grading import GradingOptions, grade_notebook
    from autograder.sandbox import isolation

    notebook = json.loads(solution_notebook(LAB).read_text(encoding="utf-8"))
    notebook = replace_function(notebook, "keras_xor", KERAS_XOR_FLOAT32_FROM_PROBABILITIES)
    path = tmp_path / f"{LAB}.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    options = GradingOptions(secret=secret, isolation=isolation.mode(("sandbox", "trusted"))[0])
    result = next(e for e in grade_notebook(path, "ada", options, LAB).exercises if e.name == "keras_xor")
    assert result.score == 0 and result.cause == "logits_as_probabilities_float32", result.feedback
