"""Lab 11 in Keras: the NumPy MLP and Adam step for step equal a float64 Keras model; why Keras's Adam with Python
float betas is 6e-6 off the formula (and exact with np.float64 betas); the MNIST architectures' parameter counts
and the offline fallback of data.digits; keras_train graded against the trusted NumPy run of Keras's Adam."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import first_failure, rotating_seeds

from autograder import checks, data
from autograder.demos import lab11 as demo
from autograder.feedback import plain
from autograder.hidden import lab11 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.usefixtures("float64_keras")

LAB = "11_minibatches"


def _start(seed=0, hidden=16):
    init = np.random.default_rng(seed)
    return [init.normal(0, np.sqrt(2 / 64), (64, hidden)), np.zeros(hidden),
            init.normal(0, np.sqrt(1 / hidden), (hidden, 10)), np.zeros(10)]


# Keras builds β₁ᵗ and β₂ᵗ from the betas as float32 constants (float32(0.999) = 0.99900001287), even for float64
# weights: with 0.9 and 0.999 its first step is 6.7e-6 (relative) smaller than the float64 formula's. Betas that
# float32 holds exactly make the two agree to rounding.
BETA_1, BETA_2 = 0.875, 1 - 2 ** -9


def test_numpy_adam_training_equals_keras_step_for_step():
    """Five mini-batches of the digits, the same batches in both: weights agree to about 1e-15 (asserted 1e-12)."""
    digits = data.digits()
    batches = list(ref.iterate_batches(digits["X_train"][:160], digits["y_train"][:160], 32,
                                       np.random.default_rng(0)))
    params = _start()
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    for t, (xb, yb) in enumerate(batches, start=1):
        _, *grads = ref.softmax_mlp_gradients(xb, yb, *params)
        for i, grad in enumerate(grads):
            params[i], m[i], v[i] = ref.adam_update(params[i], grad, m[i], v[i], t, learning_rate=0.01,
                                                    beta_1=BETA_1, beta_2=BETA_2)
    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10)])
    model.set_weights(_start())
    optimizer = keras.optimizers.Adam(0.01, beta_1=BETA_1, beta_2=BETA_2)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for xb, yb in batches:
        with tf.GradientTape() as tape:
            value = loss(yb, model(xb, training=True))
        optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables), model.trainable_variables))
    for mine, theirs in zip(params, model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)


def test_the_loss_and_gradients_are_the_tape_s():
    digits = data.digits()
    X, y = digits["X_train"][:7], digits["y_train"][:7]
    weights = [tf.Variable(p) for p in _start(1)]
    with tf.GradientTape() as tape:
        logits = tf.nn.relu(X @ weights[0] + weights[1]) @ weights[2] + weights[3]
        value = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    loss, *grads = ref.softmax_mlp_gradients(X, y, *_start(1))
    assert float(value) == pytest.approx(loss, rel=1e-13)
    for mine, theirs in zip(grads, tape.gradient(value, weights)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("hidden", "count"), [((128,), 101_770), ((128, 64), 109_386)], ids=["128", "128-64"])
def test_mnist_parameter_counts(hidden, count):
    layers = [keras.Input(shape=(784,))] + [keras.layers.Dense(units, activation="relu") for units in hidden]
    assert keras.Sequential(layers + [keras.layers.Dense(10)]).count_params() == count


def test_mnist_falls_back_to_the_digits_with_a_message_when_the_download_fails(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("socket.create_connection", lambda *a, **k: (_ for _ in ()).throw(OSError("no network")))
    images = data.digits(source="mnist")
    assert images["source"] == "8x8" and images["X_train"].shape == (1437, 64)
    assert "MNIST is not available here (OSError: no network); using the 8×8 digits instead." in capsys.readouterr().out


def test_mnist_is_used_when_keras_has_it(monkeypatch, tmp_path):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"cached")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fake = (np.zeros((6, 28, 28), np.uint8), np.arange(6)), (np.full((2, 28, 28), 255, np.uint8), np.arange(2))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    images = data.digits(source="mnist")
    assert images["source"] == "mnist" and images["X_train"].shape == (6, 784) and images["X_test"].max() == 1.0


def test_tensorflow_casts_a_python_float_through_float32():
    """The notebook's explanation of Keras's Adam: ops.cast(0.999, float64) is float32(0.999); a np.float64 stays."""
    assert float(keras.ops.cast(0.999, "float64")) == float(np.float32(0.999)) != 0.999
    assert float(keras.ops.cast(np.float64(0.999), "float64")) == 0.999


@pytest.mark.parametrize(("step", "gap"), [(1, -6.7e-6), (450, -5.1e-6)])
def test_keras_s_adam_step_is_smaller_by_the_notebook_s_gap(step, gap):
    """The notebook: Keras's step size is 6.7e-6 smaller than the formula's at step 1, 5.1e-6 at step 450."""
    def alpha(beta_1, beta_2):
        return np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)

    rounded = [float(keras.ops.cast(beta, "float64")) for beta in (0.9, 0.999)]
    assert alpha(*rounded) / alpha(0.9, 0.999) - 1 == pytest.approx(gap, abs=0.05e-6)


def test_lab_14_trains_the_digits_network_through_labmodels():
    """The notebook says lab 14 trains this lab's 8×8 network (digits_mlp), and not MNIST, with labmodels."""
    import json
    from pathlib import Path

    notebook = json.loads((Path(__file__).parents[1] / "solutions" / "14_tensorflow" / "14_tensorflow.ipynb").read_text(
        encoding="utf-8"))
    code = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert 'train("digits_mlp"' in code.replace("'", '"') and "mnist_mlp" not in code


def _digits_run(epochs=3, count=200, learning_rate=3e-3, batch_size=32):
    digits = data.digits()
    X, y = digits["X_train"][:count], digits["y_train"][:count]
    params, losses, orders = demo.train_numpy(
        demo.initial_weights(0, hidden=16), X, y, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        seed=0, iterate_batches=ref.iterate_batches, softmax_mlp_gradients=ref.softmax_mlp_gradients,
        adam_update=ref.adam_update)
    return X, y, params, losses, orders


def keras_adam_twin(X, y, weights, orders, batch_size, learning_rate, beta_1=0.9, beta_2=0.999):
    """The same network and run in float64 Keras, with the betas handed to Adam as given (float or np.float64).

    Keras's Adam forms β₁ᵗ and β₂ᵗ with ``ops.cast(beta, variable.dtype)``: a Python float goes through a
    float32 tensor on the way (0.999 → 0.99900001287), a ``np.float64`` stays float64.

    Returns:
        ``(weights, losses)`` as ``fit`` leaves them.
    """
    import keras

    from autograder.probes.keras_state import float_settings

    with float_settings("float64"):
        model = keras.Sequential([keras.Input(shape=(X.shape[1],)),
                                  keras.layers.Dense(weights[0].shape[1], activation="relu"),
                                  keras.layers.Dense(weights[2].shape[1])])
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
        losses = []
        for order in orders:
            losses += model.fit(X[order], y[order], batch_size=batch_size, shuffle=False, verbose=0).history["loss"]
        return model.get_weights(), np.array(losses)


def test_keras_adam_with_python_float_betas_is_the_float32_powers_run():
    """fit with Adam's default betas equals the trusted run (float32 β in β^t) to 1e-12, and is 1e-7 to 1e-4 off
    the textbook formula's run: the notebook's rtol 2e-5 for the default betas is that gap."""
    X, y, params, losses, orders = _digits_run()
    keras_weights, keras_losses = keras_adam_twin(X, y, demo.initial_weights(0, hidden=16), orders, 32, 3e-3)
    trusted_weights, trusted_losses = ref.keras_train(X, y, demo.initial_weights(0, hidden=16), orders, 32, 3e-3)
    np.testing.assert_allclose(keras_losses, trusted_losses, rtol=1e-12)
    for theirs, trusted in zip(keras_weights, trusted_weights):
        np.testing.assert_allclose(theirs, trusted, rtol=1e-10, atol=1e-13)
    gap = np.max(np.abs(keras_losses / losses - 1))
    assert 1e-7 < gap < 2e-5


def test_keras_adam_with_float64_betas_is_the_formula():
    X, y, params, losses, orders = _digits_run()
    weights, keras_losses = keras_adam_twin(X, y, demo.initial_weights(0, hidden=16), orders, 32, 3e-3,
                                                 beta_1=np.float64(0.9), beta_2=np.float64(0.999))
    np.testing.assert_allclose(keras_losses, losses, rtol=1e-12)
    for theirs, mine in zip(weights, params):
        np.testing.assert_allclose(theirs, mine, rtol=1e-10, atol=1e-13)


def test_fit_reports_the_size_weighted_mean_of_the_batches_losses():
    """train_numpy's losses are what fit reports, with a last batch smaller than the others (200 = 6·32 + 8)."""
    X, y, params, losses, orders = _digits_run(epochs=1)
    _, keras_losses = keras_adam_twin(X, y, demo.initial_weights(0, hidden=16), orders, 32, 3e-3,
                                           beta_1=np.float64(0.9), beta_2=np.float64(0.999))
    assert len(X) % 32 and keras_losses[0] == pytest.approx(losses[0], rel=1e-12)


def test_the_digits_network_reaches_the_accuracy_band():
    """The notebook's run (64-64-10, Adam 3e-3, 10 epochs of 32): at least 95 % of the test images."""
    digits = data.digits()
    params, _, _ = demo.train_numpy(
        demo.initial_weights(0), digits["X_train"], digits["y_train"], epochs=10, batch_size=32, learning_rate=3e-3,
        seed=0, iterate_batches=ref.iterate_batches, softmax_mlp_gradients=ref.softmax_mlp_gradients,
        adam_update=ref.adam_update)
    assert ref.accuracy(digits["y_test"], demo.logits(params, digits["X_test"])) >= 0.95


def test_the_labmodels_mnist_network_is_the_lab_s():
    """The notebook sends MNIST training to labmodels' mnist_mlp: 784 → 128 → 64 → 10."""
    from labmodels import models

    model = models.build("mnist_mlp")
    assert model.count_params() == 109_386
    assert [layer.units for layer in model.layers] == [128, 64, 10]


# keras_train: the graded Keras exercise -----------------------------------------------

def keras_train(X, y, weights, orders, batch_size, learning_rate):
    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(weights[0].shape[1],
                              activation="relu"), keras.layers.Dense(weights[2].shape[1])])
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = []
    for order in orders:
        # shuffle=False only silences Keras's warning: a Dataset's order is its own.
        losses += model.fit(tf.data.Dataset.from_tensor_slices((X[order], y[order])).batch(batch_size), epochs=1,
                            shuffle=False, verbose=0).history["loss"]
    return model.get_weights(), np.array(losses)


def keras_train_arrays(X, y, weights, orders, batch_size, learning_rate):
    """fit on arrays with shuffle=False, jit_compile left at its default, betas spelled out, a list of losses."""
    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(weights[0].shape[1],
                              activation="relu"), keras.layers.Dense(weights[2].shape[1])])
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = [model.fit(X[order], y[order], batch_size=batch_size, shuffle=False, verbose=0).history["loss"][0]
               for order in orders]
    return [w for w in model.get_weights()], history


def keras_train_tape(X, y, weights, orders, batch_size, learning_rate):
    """A GradientTape loop with apply_gradients, the size-weighted epoch mean by hand; float64 set first, or Adam's
    learning-rate variable would be float32 (0.01 → 0.0099999998)."""
    keras.config.set_floatx("float64")
    variables = [tf.Variable(np.asarray(w, dtype=float)) for w in weights]
    optimizer = keras.optimizers.Adam(learning_rate)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for order in orders:
        total = 0.0
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            with tf.GradientTape() as tape:
                logits = tf.nn.relu(X[rows] @ variables[0] + variables[1]) @ variables[2] + variables[3]
                loss = loss_fn(y[rows], logits)
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            total += float(loss) * len(rows)
        losses.append(total / len(order))
    return [v.numpy() for v in variables], np.array(losses)


def keras_train_float64_betas(X, y, weights, orders, batch_size, learning_rate):
    """Adam's formula exactly (np.float64 betas): 6e-6 from Keras's default rounding, accepted."""
    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(weights[0].shape[1],
                              activation="relu"), keras.layers.Dense(weights[2].shape[1])])
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, beta_1=np.float64(0.9), beta_2=np.float64(0.999)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = [model.fit(X[order], y[order], batch_size=batch_size, shuffle=False, verbose=0).history["loss"][0]
              for order in orders]
    return model.get_weights(), np.array(losses)


def _variant(*, floatx="float64", learning_rate=None, from_logits=True, orders_of=None, compile_each_epoch=False,
             drop_remainder=False):
    def train(X, y, weights, orders, batch_size, rate):
        keras.config.set_floatx(floatx)
        model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(weights[0].shape[1],
                                  activation="relu"), keras.layers.Dense(weights[2].shape[1])])
        model.set_weights(weights)

        def compile_model():
            model.compile(optimizer=keras.optimizers.Adam(*(() if learning_rate == "default" else (rate,))),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits))

        compile_model()
        losses = []
        for k, order in enumerate(orders_of(orders, len(X)) if orders_of else orders):
            if compile_each_epoch and k:
                compile_model()
            data = tf.data.Dataset.from_tensor_slices((X[order], y[order]))
            losses += model.fit(data.batch(batch_size, drop_remainder=drop_remainder), shuffle=False,
                                verbose=0).history["loss"]
        return model.get_weights(), np.array(losses)
    return train


def test_the_solution_passes_every_case():
    assert first_failure(LAB, "keras_train", keras_train) is None


@pytest.mark.parametrize(("implementation", "seed"), rotating_seeds([keras_train_arrays, keras_train_tape,
                                                                      keras_train_float64_betas]),
                         ids=["arrays", "tape", "float64_betas"])
def test_correct_alternatives_pass(implementation, seed):
    assert first_failure(LAB, "keras_train", implementation, seeds=(seed,)) is None


@pytest.mark.parametrize(("implementation", "key", "seed"), rotating_seeds([
    (_variant(floatx="float32"), "float32"),
    (_variant(learning_rate="default"), "default_learning_rate"),
    (_variant(from_logits=False), "no_from_logits"),
    (_variant(orders_of=lambda orders, n: [orders[0]] * len(orders)), "first_order_only"),
    (_variant(orders_of=lambda orders, n: [np.arange(n)] * len(orders)), "data_order"),
    (_variant(compile_each_epoch=True), "optimizer_per_epoch"),
    (_variant(drop_remainder=True), "dropped_last_batch"),
]), ids=["float32", "default_learning_rate", "no_from_logits", "first_order_only", "data_order",
        "optimizer_per_epoch", "dropped_last_batch"])
def test_each_training_mistake_fails_with_its_own_message(implementation, key, seed):
    feedback = first_failure(LAB, "keras_train", implementation, seeds=(seed,))
    assert feedback is not None and feedback.startswith("Lab 11 · keras_train"), feedback
    messages = checks.load_lab(LAB).exercise("keras_train").messages
    assert plain(messages[key].split("{")[0]) in feedback, feedback
    assert not any(plain(m.split("{")[0]) in feedback for k, m in messages.items() if k != key)


def test_fit_shuffling_the_arrays_gets_no_invented_cause():
    """fit(X[order], y[order], batch_size) without shuffle=False reshuffles: wrong, and no named mistake."""
    def shuffled_by_fit(X, y, weights, orders, batch_size, learning_rate):
        keras.config.set_floatx("float64")
        model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(weights[0].shape[1],
                                  activation="relu"), keras.layers.Dense(weights[2].shape[1])])
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        keras.utils.set_random_seed(1)
        losses = [model.fit(X[o], y[o], batch_size=batch_size, verbose=0).history["loss"][0] for o in orders]
        return model.get_weights(), np.array(losses)

    feedback = first_failure(LAB, "keras_train", shuffled_by_fit, seeds=(1,))
    assert feedback is not None
    messages = checks.load_lab(LAB).exercise("keras_train").messages
    assert not any(plain(m.split("{")[0]) in feedback for k, m in messages.items()
                   if k not in ("epochs_run", "weight_shapes", "not_a_pair", "final_weights"))


def test_a_training_that_returns_the_model_is_told_what_to_return():
    feedback = first_failure(LAB, "keras_train", lambda X, y, w, o, b, lr: (w, None, None))
    assert feedback is not None and "must return (weights, losses)" in feedback
