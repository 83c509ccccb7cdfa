"""Lab 11 in Keras: the NumPy MLP and Adam step for step equal a float64 Keras model, the MNIST architectures'
parameter counts, the offline fallback of data.digits, and make_dataset graded by behaviour."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import first_failure

from autograder import checks, data
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
# weights: with 0.9 and 0.999 its first step is 6.4e-6 (relative) smaller than the float64 formula's. Betas that
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


def test_keras_reaches_the_accuracy_band_on_the_digits():
    """The notebook's Keras model (64-64-10, Adam 5e-3, 6 epochs of 32 through make_dataset): about 96 %."""
    digits = data.digits()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(5e-3), jit_compile=False, metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(make_dataset(digits["X_train"], digits["y_train"], 32, 0), epochs=6, shuffle=False, verbose=0)
    assert model.evaluate(digits["X_test"], digits["y_test"], verbose=0)[1] >= 0.95


# make_dataset: the graded Keras exercise ----------------------------------------------

def make_dataset(X, y, batch_size, seed, drop_remainder=False):
    dataset = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(len(X), seed=seed)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def dataset_from_indices(X, y, batch_size, seed, drop_remainder=False):
    """Another valid pipeline: shuffle indices, gather the rows in a map."""
    X, y = tf.constant(X), tf.constant(y)
    index = tf.data.Dataset.range(len(X)).shuffle(len(X), seed=seed)
    return index.batch(batch_size, drop_remainder=drop_remainder).map(lambda i: (tf.gather(X, i), tf.gather(y, i)))


def batch_then_shuffle(X, y, batch_size, seed, drop_remainder=False):
    return tf.data.Dataset.from_tensor_slices((X, y)).batch(batch_size, drop_remainder=drop_remainder).shuffle(
        100, seed=seed)


def no_reshuffle(X, y, batch_size, seed, drop_remainder=False):
    return tf.data.Dataset.from_tensor_slices((X, y)).shuffle(len(X), seed=seed, reshuffle_each_iteration=False).batch(
        batch_size, drop_remainder=drop_remainder)


def no_shuffle(X, y, batch_size, seed, drop_remainder=False):
    return tf.data.Dataset.from_tensor_slices((X, y)).batch(batch_size, drop_remainder=drop_remainder)


def small_buffer(X, y, batch_size, seed, drop_remainder=False):
    return tf.data.Dataset.from_tensor_slices((X, y)).shuffle(batch_size, seed=seed).batch(
        batch_size, drop_remainder=drop_remainder)


def always_drop(X, y, batch_size, seed, drop_remainder=False):
    return make_dataset(X, y, batch_size, seed, drop_remainder=True)


def never_drop(X, y, batch_size, seed, drop_remainder=False):
    return make_dataset(X, y, batch_size, seed, drop_remainder=False)


@pytest.mark.parametrize("implementation", [make_dataset, dataset_from_indices], ids=["slices", "indices"])
def test_correct_datasets_pass(implementation):
    assert first_failure(LAB, "make_dataset", implementation) is None


@pytest.mark.parametrize(("implementation", "key"), [
    (batch_then_shuffle, "batch_then_shuffle"), (no_reshuffle, "no_reshuffle"), (no_shuffle, "no_shuffle"),
    (small_buffer, "small_buffer"), (always_drop, "dataset_always_drop"), (never_drop, "dataset_never_drop")],
    ids=["batch_then_shuffle", "no_reshuffle", "no_shuffle", "small_buffer", "always_drop", "never_drop"])
def test_each_dataset_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(LAB, "make_dataset", implementation)
    assert feedback is not None and feedback.startswith("Lab 11 · make_dataset"), feedback
    messages = checks.load_lab(LAB).exercise("make_dataset").messages
    assert plain(messages[key]) in feedback
    assert not any(plain(m) in feedback for k, m in messages.items() if k != key)


def test_a_dataset_of_the_first_batch_only_gets_no_invented_cause():
    feedback = first_failure(LAB, "make_dataset", lambda X, y, b, seed, drop_remainder=False: make_dataset(
        X, y, b, seed).take(1))
    assert feedback is not None
    assert not any(plain(m) in feedback for m in checks.load_lab(LAB).exercise("make_dataset").messages.values())
