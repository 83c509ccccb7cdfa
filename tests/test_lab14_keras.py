"""What lab 14 says about Keras and TensorFlow, pinned: a Keras upgrade that changes it turns a test red.

Mixed precision (the ``mixed_float16`` policy; ``LossScaleOptimizer``: 2¹⁵ at first, a skipped step and a
halved scale on inf/NaN gradients, a doubled scale after ``dynamic_growth_steps`` good steps, 2000 by default,
and ``compile`` wrapping the optimizer by itself), Keras losses under a strategy (the mean divided by the
replicas, in ``strategy.run`` and under ``strategy.scope()``), and ``tf.add_n`` of an empty ``model.losses``.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.demos import lab14 as demos

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402 - after TensorFlow (conftest splits the CPU right after its import)


@pytest.fixture
def mixed_policy():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_loss_scale_optimizer_defaults():
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())
    assert (optimizer.initial_scale, optimizer.dynamic_growth_steps) == (2.0**15, 2000)
    assert float(optimizer.scale_loss(tf.constant(1.0))) == 2.0**15


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_an_inf_or_nan_gradient_skips_the_step_and_halves_the_scale(bad):
    weights = keras.Variable([1.0, 2.0])
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5))
    optimizer.apply([tf.constant([bad, 1.0])], [weights])
    np.testing.assert_array_equal(weights.numpy(), [1.0, 2.0])
    assert float(optimizer.dynamic_scale) == 2.0**14


def test_a_finite_gradient_is_unscaled_and_the_scale_doubles_after_the_growth_steps():
    weights = keras.Variable([1.0, 2.0])
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5), dynamic_growth_steps=3)
    scales = []
    for _ in range(4):
        scale = float(optimizer.scale_loss(tf.constant(1.0)))
        scales.append(scale)
        optimizer.apply([tf.constant([1.0, -1.0]) * scale], [weights])  # a scaled gradient of (1, −1)
    assert scales == [2.0**15] * 3 + [2.0**16]
    np.testing.assert_allclose(weights.numpy(), [1.0 - 4 * 0.5, 2.0 + 4 * 0.5], rtol=1e-6)


def test_the_mixed_policy_computes_in_float16_with_float32_variables_and_compile_adds_loss_scaling(mixed_policy):
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4), keras.layers.Dense(1, dtype="float32")])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    hidden = model.layers[0]
    assert (hidden.compute_dtype, hidden.kernel.dtype) == ("float16", "float32")
    assert hidden(tf.ones((2, 3))).dtype == tf.float16 and model(tf.ones((2, 3))).dtype == tf.float32
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)


def test_the_notebooks_loss_scale_run_follows_the_rule():
    run = demos.loss_scale_run(steps=30, growth_steps=3)
    assert (run["compute_dtype"], run["variable_dtype"]) == ("float16", "float32")
    assert not run["finite"][0]  # 2¹⁵ overflows float16 on the commute line's first gradients
    np.testing.assert_array_equal(run["moved"], run["finite"])
    expected, good = [2.0**15], 0
    for finite in run["finite"][:-1]:
        good = good + 1 if finite else 0
        expected.append(expected[-1] * (0.5 if not finite else 2.0 if good == 3 else 1.0))
        good %= 3
    np.testing.assert_array_equal(run["scale"], expected)


def test_a_keras_loss_divides_its_mean_by_the_replicas_under_a_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(5)
    losses = demos.replica_losses(strategy, rng.normal(size=(6, 2)), rng.normal(size=(6, 2)))
    np.testing.assert_allclose(losses["keras"], np.divide(losses["own_mean"], 2), rtol=1e-12)
    np.testing.assert_allclose(losses["keras"], losses["average"], rtol=1e-12)
    np.testing.assert_allclose(sum(losses["keras"]), losses["one_device"], rtol=1e-12)
    np.testing.assert_allclose(losses["in_scope"], losses["one_device"] / 2, rtol=1e-12)


def test_on_uneven_shares_only_the_global_batch_division_is_one_devices_loss():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    losses = demos.replica_losses(strategy, y_true, y_pred)
    per_example = np.mean((y_true - y_pred) ** 2, axis=1)  # the notebook: the first replica takes the extra example
    np.testing.assert_allclose(losses["own_mean"], [per_example[:3].mean(), per_example[3:].mean()], rtol=1e-12)
    np.testing.assert_allclose(losses["keras"], np.divide(losses["own_mean"], 2), rtol=1e-12)
    np.testing.assert_allclose(losses["keras_sum"], losses["average"], rtol=1e-12)
    np.testing.assert_allclose(sum(losses["average"]), losses["one_device"], rtol=1e-12)
    assert abs(sum(losses["keras"]) - losses["one_device"]) > 1e-3 * losses["one_device"]


def test_add_n_of_an_empty_model_losses_raises_where_sum_gives_zero():
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    assert model.losses == [] and sum(model.losses) == 0
    with pytest.raises(ValueError, match="at least one Tensor"):
        tf.add_n(model.losses)


def test_a_keras_loss_computes_in_its_own_dtype():
    y = tf.constant([[1.0], [2.0]], tf.float64)
    assert keras.losses.MeanSquaredError()(y, y * 3).dtype == tf.float32
    assert keras.losses.MeanSquaredError(dtype="float64")(y, y * 3).dtype == tf.float64


def test_float16_holds_nothing_below_6e_8_and_nothing_above_65504():
    assert np.float16(1e-8) == 0 and np.float16(6e-8) > 0
    assert np.finfo(np.float16).max == 65504
    with np.errstate(over="ignore"):
        assert np.isinf(np.float16(65536.0))
