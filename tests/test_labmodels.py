"""labmodels in-process: every model against its lab's NumPy model, the datasets, the tf.data pipeline.

Parity (float64 on the CPU, the same weights in both): each Keras model's forward pass equals the lab's
NumPy forward pass (lab 05's predict, lab 07's Dense and ReLU, np.tanh as in lab 09, lab 12's
batchnorm_forward and dropout_forward at inference) to rtol 1e-12, atol 1e-12; the losses equal lab 05's
mse, lab 09's xor_gradients and lab 11's softmax_mlp_gradients to rtol 1e-12; the L2 penalty equals lab
12's l2_penalty to rtol 1e-7 (Keras keeps the factor as a float32).
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

from autograder.hidden import lab05, lab07, lab09, lab11, lab12
from labmodels import data, models
from labmodels.train import Options

PARAMETERS = {"commute_line": 2, "bike_car_mlp": 321, "xor_mlp": 17, "digits_mlp": 4810, "mnist_mlp": 109_386,
              "bike_car_mlp_regularized": 449, "digits_mlp_regularized": 5066, "mnist_mlp_regularized": 110_154}
PARITY = {"rtol": 1e-12, "atol": 1e-12}


def test_the_names_are_the_api():
    assert models.NAMES == tuple(PARAMETERS)


@pytest.fixture(scope="module")
def built():
    return {name: models.build(name, seed=3) for name in models.NAMES}


@pytest.mark.parametrize("name", models.NAMES)
def test_every_model_builds_with_its_parameter_count(built, name):
    model, chosen = built[name], models.spec(name)
    assert model.name == name and model.built and not model.compiled
    assert model.count_params() == PARAMETERS[name] == models.parameter_count(name)
    assert model.inputs[0].shape == (None, chosen.layer_sizes[0])
    assert model.outputs[0].shape == (None, chosen.layer_sizes[-1])
    assert chosen.task in models.TASKS and chosen.dataset in data.NAMES and chosen.lab[:2].isdigit()


def test_the_mnist_sizes_of_lab_11():
    assert models.build("mnist_mlp").count_params() == 109_386  # 784 -> 128 -> 64 -> 10
    assert 784 * 128 + 128 + 128 * 10 + 10 == 101_770  # the seed's 784 -> 128 -> 10, for comparison


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    first, again, other = (models.build("bike_car_mlp", seed=s).get_weights() for s in (5, 5, 6))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_the_commute_line_starts_at_the_course_first_guess(built):
    kernel, bias = built["commute_line"].get_weights()
    np.testing.assert_allclose([kernel.item(), bias.item()], [0.23, -0.15], rtol=1e-7)


def test_a_mixed_policy_keeps_the_output_layer_in_float32():
    model = models.build("digits_mlp_regularized", dtype="mixed_float16")
    assert {layer.compute_dtype for layer in model.layers[:-1]} == {"float16"}
    assert model.layers[-1].compute_dtype == "float32"
    assert {w.dtype for w in model.weights} == {"float32"}


def test_an_unknown_model_is_named_in_the_message():
    with pytest.raises(ValueError, match=r"Unknown model 'resnet': choose one of commute_line, "):
        models.spec("resnet")


def _weights(model, rng):
    """Random float64 weights in the shapes of ``model.get_weights()``; variances positive."""
    return [rng.uniform(0.5, 2.0, w.shape) if w.path.endswith(("moving_variance", "gamma")) else
            rng.normal(size=w.shape) for w in model.weights]


def _numpy_forward(name, weights, x):
    """The lab's NumPy model at inference, layer by layer, from the weights in Keras's order."""
    chosen = models.spec(name)
    if name == "commute_line":
        return lab05.predict(x[:, 0], weights[0].item(), weights[1].item())[:, None]
    weights, out = list(weights), x
    for _ in chosen.layer_sizes[1:-1]:
        dense = lab07.Dense(1, 1, np.random.default_rng(0))
        dense.W, dense.b = weights.pop(0), weights.pop(0)
        out = dense.forward(out)
        out = np.tanh(out) if chosen.hidden_activation == "tanh" else lab07.ReLU().forward(out)
        if chosen.regularized:
            gamma, beta, mean, var = (weights.pop(0) for _ in range(4))
            out, _, _ = lab12.batchnorm_forward(out, gamma, beta, mean, var, training=False)
            out, _ = lab12.dropout_forward(out, chosen.dropout_rate, training=False)
    dense = lab07.Dense(1, 1, np.random.default_rng(0))
    dense.W, dense.b = weights
    return dense.forward(out)


@pytest.fixture(scope="module")
def float64_models():
    return {name: models.build(name, dtype="float64") for name in models.NAMES}


@pytest.mark.parametrize("name", models.NAMES)
def test_each_model_computes_its_lab_numpy_function(float64_models, name):
    import keras

    model = float64_models[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    weights = _weights(model, rng)
    model.set_weights(weights)
    x = rng.normal(size=(9, models.spec(name).layer_sizes[0]))
    keras_out = keras.ops.convert_to_numpy(model(x, training=False))
    assert keras_out.dtype == np.float64
    np.testing.assert_allclose(keras_out, _numpy_forward(name, weights, x), **PARITY)


@pytest.mark.parametrize("name", ["commute_line", "xor_mlp", "digits_mlp"])
def test_the_loss_is_the_lab_loss(float64_models, name):

    model = float64_models[name]
    rng = np.random.default_rng(1)
    weights = _weights(model, rng)
    model.set_weights(weights)
    x = rng.normal(size=(12, models.spec(name).layer_sizes[0]))
    loss = models.compile_arguments(name)["loss"]
    loss = type(loss).from_config({**loss.get_config(), "dtype": "float64"})  # the course's loss, in float64
    if name == "commute_line":
        y = rng.normal(size=(12, 1))
        expected = lab05.mse(lab05.predict(x[:, 0], weights[0].item(), weights[1].item()), y[:, 0])
    elif name == "xor_mlp":
        y = rng.integers(0, 2, size=(12, 1)).astype(float)
        expected = lab09.xor_gradients(x, y[:, 0], *weights)[0]
    else:
        y = rng.integers(0, 10, size=12)
        expected = lab11.softmax_mlp_gradients(x, y, *weights)[0]
    np.testing.assert_allclose(float(loss(y, model(x))), expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["bike_car_mlp_regularized", "digits_mlp_regularized"])
def test_the_l2_penalty_is_lab_12s(float64_models, name):
    model = float64_models[name]
    kernels = [(layer.kernel.numpy(), None) for layer in model.layers if hasattr(layer, "kernel")]
    np.testing.assert_allclose(float(sum(model.losses)), lab12.l2_penalty(kernels, models.spec(name).l2), rtol=1e-7)


def test_the_regularized_block_is_lab_12s_order():
    kinds = [type(layer).__name__ for layer in models.build("mnist_mlp_regularized").layers]
    assert kinds == ["Dense", "BatchNormalization", "Dropout"] * 2 + ["Dense"]


# data.load ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, shapes", [
    ("commutes", ((4, 1), (4, 1), (4, 1), (4, 1))),
    ("bike_car_commutes", ((39, 1), (39, 1), (39, 1), (39, 1))),
    ("xor", ((4, 2), (4, 1), (4, 2), (4, 1))),
    ("digits", ((1437, 64), (1437,), (360, 64), (360,))),
    ("synthetic_mnist", ((2048, 784), (2048,), (512, 784), (512,))),
])
def test_every_dataset_loads_as_float32(name, shapes):
    (x_train, y_train), (x_test, y_test) = data.load(name)
    arrays = (x_train, y_train, x_test, y_test)
    assert tuple(a.shape for a in arrays) == shapes
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}


def test_the_small_tables_are_the_labs_data():
    (x, y), (x_test, _) = data.load("commutes")
    np.testing.assert_array_equal(y[:, 0], np.float32([6.96, 12.11, 16.77, 22.21]))
    np.testing.assert_array_equal(x, x_test)
    (x, y), _ = data.load("bike_car_commutes")
    np.testing.assert_allclose([x.mean(), x.std(), y.mean(), y.std()], [0, 1, 0, 1], atol=1e-6)  # ddof=0
    np.testing.assert_allclose(x[0, 0], -1.6882, atol=1e-4)  # the seed errata's z-score of 1.0 mile
    (x, y), _ = data.load("xor")
    np.testing.assert_array_equal(y[:, 0], np.logical_xor(x[:, 0], x[:, 1]))


def test_digits_are_the_courses_split():
    from autograder import data as course

    (x_train, y_train), (x_test, y_test) = data.load("digits")
    digits = course.digits()
    np.testing.assert_array_equal(x_test, digits["X_test"].astype(np.float32))
    np.testing.assert_array_equal(y_train, digits["y_train"])
    assert 0.0 <= x_train.min() and x_train.max() == 1.0


def test_synthetic_mnist_is_fixed_and_learnable_in_principle():
    (x_train, y_train), _ = data.load("synthetic_mnist")
    (again, _), _ = data.load("synthetic_mnist")
    np.testing.assert_array_equal(x_train, again)
    np.testing.assert_array_equal(np.unique(y_train), np.arange(10))
    np.testing.assert_array_equal(np.round(x_train * 255), x_train * 255 // 1)  # uint8 pixels / 255


@pytest.fixture
def mnist_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), y_train=np.arange(6, dtype=np.uint8),
             x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), y_test=np.arange(3, dtype=np.uint8))
    return path


def test_mnist_loads_from_a_local_file(mnist_file):
    (x_train, y_train), (x_test, y_test) = data.load("mnist", mnist_file)
    assert (x_train.shape, x_test.shape, y_test.tolist()) == ((6, 784), (3, 784), [0.0, 1.0, 2.0])
    with np.load(mnist_file) as raw:
        np.testing.assert_allclose(x_train[1], raw["x_train"][1].ravel() / 255.0, rtol=1e-7)
    assert x_train.dtype == y_train.dtype == np.float32


def test_a_file_that_is_not_mnist_says_what_it_lacks(tmp_path):
    np.savez(tmp_path / "other.npz", x_train=np.zeros((2, 28, 28)))
    with pytest.raises(data.DataUnavailable, match=r"other.npz is not an MNIST file: it lacks y_train, x_test"):
        data.load("mnist", tmp_path / "other.npz")
    np.savez(tmp_path / "flat.npz", x_train=np.zeros((2, 784)), y_train=np.zeros(2), x_test=np.zeros((1, 784)),
             y_test=np.zeros(1))
    with pytest.raises(data.DataUnavailable, match=r"must have shape \(n, 28, 28\). Got \(2, 784\)"):
        data.load("mnist", tmp_path / "flat.npz")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached MNIST, and MNIST's host a local port that refuses connections."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: a connection is refused at once
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(data, "MNIST_HOST", closed.getsockname())
    yield
    closed.close()


@pytest.mark.usefixtures("offline")
def test_offline_mnist_gets_one_message_naming_data():
    with pytest.raises(data.DataUnavailable, match=r"cannot be downloaded here .*pass --data PATH") as raised:
        data.load("mnist")
    assert "\n" not in str(raised.value)
    assert "train digits_mlp instead" in str(raised.value) and "synthetic_mnist" not in str(raised.value)
    with pytest.raises(data.DataUnavailable, match=r"No MNIST file at /nowhere/mnist.npz"):
        data.require("mnist", "/nowhere/mnist.npz")


def test_bad_dataset_arguments_are_named():
    with pytest.raises(ValueError, match=r"Unknown dataset 'cifar10': choose one of commutes, "):
        data.load("cifar10")
    with pytest.raises(ValueError, match=r"A data path is read for mnist only. Got path='x.npz' for 'digits'"):
        data.load("digits", "x.npz")


# data.pipeline -------------------------------------------------------------------------------


def _epochs(dataset, count=3):
    return [[batch_y.numpy().tolist() for _, batch_y in dataset] for _ in range(count)]


@pytest.fixture(scope="module")
def ten():
    return np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32), np.arange(10, dtype=np.float32)


def test_training_visits_every_example_once_per_epoch_in_a_new_order(ten):
    epochs = _epochs(data.pipeline(*ten, 4, training=True, seed=1))
    orders = [sum(batches, []) for batches in epochs]
    assert all(sorted(order) == list(range(10)) for order in orders)
    assert len({tuple(order) for order in orders}) == 3
    assert [len(batch) for batch in epochs[0]] == [4, 4, 2]


def test_the_shuffle_comes_before_the_batches(ten):
    epochs = _epochs(data.pipeline(*ten, 5, training=True, seed=2))
    assert len({frozenset(batches[0]) for batches in epochs}) > 1  # batches change, not only their order


def test_the_orders_are_the_seeds(ten):
    assert _epochs(data.pipeline(*ten, 4, training=True, seed=3)) == _epochs(data.pipeline(*ten, 4, training=True,
                                                                                            seed=3))


def test_evaluation_keeps_the_order_and_the_remainder_can_go(ten):
    assert _epochs(data.pipeline(*ten, 4, training=False), 2) == [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]] * 2
    dropped = _epochs(data.pipeline(*ten, 4, training=True, drop_remainder=True), 1)[0]
    assert [len(batch) for batch in dropped] == [4, 4]


def test_batches_have_the_arrays_shapes(ten):
    x_batch, y_batch = next(iter(data.pipeline(*ten, 4, training=True)))
    assert (tuple(x_batch.shape), tuple(y_batch.shape), x_batch.dtype.name) == ((4, 3), (4,), "float32")


def test_a_bad_batch_size_is_named(ten):
    with pytest.raises(ValueError, match=r"'batch_size' argument of pipeline must be a positive int. Got 0"):
        data.pipeline(*ten, 0, training=True)


# train, in-process (op determinism left off: it would stay on for the rest of this test process) ---------------


@pytest.mark.parametrize("arguments, message", [
    ({"model_name": "resnet"}, r"Unknown model 'resnet'"),
    ({"model_name": "digits_mlp", "precision": "float8"}, r"Unknown precision 'float8': choose one of float32, "),
    ({"model_name": "digits_mlp", "epochs": 0}, r"'epochs' argument of train must be a positive integer. Got 0"),
    ({"model_name": "digits_mlp", "learning_rate": -0.1}, r"'learning_rate' argument .* positive number. Got -0.1"),
    ({"model_name": "digits_mlp", "save": "model.h5"}, r"must end in .keras. Got 'model.h5'"),
    ({"model_name": "digits_mlp", "validation_split": 1.0}, r"'validation_split' .* in \[0, 1\). Got 1.0"),
    ({"model_name": "xor_mlp", "validation_split": 0.9}, r"leaves no training example out of 4"),
    ({"model_name": "digits_mlp", "epochs": 3, "options": Options(warmup_epochs=3)}, r"warm-up \(3 epochs\) must be"),
    ({"model_name": "digits_mlp", "options": Options(warmup_epochs=1, reduce_on_plateau=2)}, r"Choose one of the"),
    ({"model_name": "digits_mlp", "options": Options(profile_batch=3)}, r"give a logdir \(--logdir\) too"),
    ({"model_name": "digits_mlp", "options": Options(jit_compile="yes")}, r"'auto', 'on' or 'off'. Got 'yes'"),
    ({"model_name": "digits_mlp", "options": Options(steps_per_execution=0)}, r"'steps_per_execution' .* Got 0"),
    ({"model_name": "digits_mlp", "strategy": "mirrored", "options": Options(steps_per_execution=2)},
     r"^--steps-per-execution above 1 and --jit-compile on fail inside fit under --strategy mirrored with Keras"),
    ({"model_name": "digits_mlp", "strategy": "multi-worker", "options": Options(jit_compile="on")},
     r"use them with --strategy default.$"),
])
def test_train_names_a_bad_argument(arguments, message):
    from labmodels import train

    with pytest.raises(train.TrainingError, match=message):
        train.train(**arguments)


def test_each_epoch_counts_the_examples_it_reads():
    from labmodels.train import batch_sizes, examples_per_epoch

    assert batch_sizes(10, 4) == [4, 4, 2]
    assert examples_per_epoch(10, 4, 3, 0, 2) == [10, 10]  # a whole pass per epoch
    assert examples_per_epoch(10, 4, 2, 1, 3) == [6, 6]  # steps 2-3 are batches of 2 and 4, steps 4-5 of 4 and 2


def test_each_step_counts_the_examples_it_reads():
    from labmodels.train import steps_of_epochs

    assert steps_of_epochs(10, 4, 2, 1, 3) == [[2, 4], [4, 2]]
    assert steps_of_epochs(10, 4, 3, 0, 1, drop_remainder=True) == [[4, 4, 4]]


@pytest.mark.parametrize("steps_per_execution", [1, 2])
def test_throughput_leaves_out_the_first_call_which_traces(steps_per_execution):
    import keras

    from labmodels.callbacks import Throughput

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=steps_per_execution)
    throughput = Throughput([[4, 4, 2], [4, 4, 2]])
    model.fit(np.zeros((10, 3)), np.zeros(10), batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[throughput])
    assert throughput.examples == [10 - 4 * steps_per_execution, 10]
    assert throughput.examples_per_second() == pytest.approx(sum(throughput.examples) / sum(throughput.seconds))


def test_the_validation_split_is_seeded_and_disjoint_from_training():
    from labmodels import train

    x, y = np.arange(20, dtype=np.float32)[:, None], np.arange(20, dtype=np.float32)
    (x_train, _), (x_val, y_val) = train._split(x, y, 0.25, seed=1)
    again = train._split(x, y, 0.25, seed=1)[1][0]
    assert (len(x_train), len(x_val)) == (15, 5) and np.array_equal(x_val, again)
    assert not set(x_train[:, 0]) & set(x_val[:, 0]) and np.array_equal(x_val[:, 0], y_val)
    assert np.all(np.diff(x_train[:, 0]) > 0)  # the training rows keep their order
    assert train._split(x, y, 0.0, seed=1)[1] is None


def test_an_op_without_a_deterministic_kernel_names_the_flag():
    import tensorflow as tf

    from labmodels import train

    error = tf.errors.UnimplementedError(None, None, "A deterministic GPU implementation of X is not available.\nmore")
    message = str(train._unimplemented(error, deterministic=True))
    assert "\n" not in message and message.endswith("rerun with --nondeterministic.")
    assert message.startswith("A deterministic GPU implementation of X is not available.")


# Keras's ReduceLROnPlateau reads the learning-rate variable with np.array(variable), which NumPy 2 warns about.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_early_stopping_and_reduce_on_plateau_act_on_a_plateau():
    from labmodels import train

    # A step of 1e-12 moves no float32 weight: the validation loss stays exactly the same, a plateau.
    result = train.train("digits_mlp", epochs=10, steps_per_epoch=4, learning_rate=1e-12, verbose=0,
                         deterministic=False, options=train.Options(early_stopping=2, reduce_on_plateau=1))
    assert result.epochs_run == 3  # the best epoch, then two without a better val_loss
    assert float(result.model.optimizer.learning_rate.numpy()) == pytest.approx(0.25e-12, rel=1e-6)  # halved twice
    assert result.summary().endswith("(float32, 1 replica, 10 epochs, stopped early after epoch 3)")


def test_warmup_cosine_and_steps_per_execution_train_through_train():
    from labmodels import train

    result = train.train("digits_mlp", epochs=3, steps_per_epoch=4, verbose=0, deterministic=False,
                         options=train.Options(warmup_epochs=1, steps_per_execution=2, jit_compile="off",
                                               early_stopping=5))
    optimizer = result.model.optimizer
    assert int(optimizer.iterations.numpy()) == 12 and result.epochs_run == 3
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.0, abs=1e-9)  # the cosine's end
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.mark.parametrize("precision, compute", [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")])
def test_mixed_precision_trains_with_a_float32_output(precision, compute):
    import keras

    from labmodels import train

    result = train.train("digits_mlp", epochs=2, precision=precision, deterministic=False, verbose=0)
    model = result.model
    assert (model.layers[0].compute_dtype, model.layers[-1].compute_dtype) == (compute, "float32")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    assert result.test_accuracy > 0.8 and result.epochs_run == 2 and result.examples_per_second > 0
    assert result.validation_examples == 144 and {"val_loss", "val_accuracy"} <= set(result.history)
    assert result.summary().startswith(f"digits_mlp: test accuracy {100 * result.test_accuracy:.1f} %, ")
    assert result.summary().endswith(f"examples/s ({precision}, 1 replica, 2 epochs)")
