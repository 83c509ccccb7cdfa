"""Lab 10's demos say what the reference optimizers really do: the race's notes and the AdamW comparison.

The notebook runs these demos with the student's own objects; here they run with the references, so that a
sentence of the notebook that stops being true turns a test red.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.demos.lab10 import TARGET_LOSS, bowl_losses, numpy_training, steps_to
from autograder.hidden.lab10 import SGD, Adam, AdamW, RMSprop, descend

SCALE = np.array([1.0, 25.0])
CONTESTANTS = {
    "sgd": lambda: SGD(learning_rate=0.07),
    "momentum": lambda: SGD(learning_rate=0.02, momentum=0.8),
    "nesterov": lambda: SGD(learning_rate=0.02, momentum=0.8, nesterov=True),
    "rmsprop": lambda: RMSprop(learning_rate=0.1),
    "adam": lambda: Adam(learning_rate=0.3),
    "adamw": lambda: AdamW(learning_rate=0.3, weight_decay=0.1),
}


@pytest.fixture(scope="module")
def race():
    return {name: bowl_losses(descend(make(), lambda x: SCALE * x, [-4.0, 1.0], 60), SCALE)
            for name, make in CONTESTANTS.items()}


def test_sgd_falls_at_every_step_and_settles_to_a_constant_factor(race):
    """'its loss shrinks by the same factor (1 − 0.07)² ≈ 0.86 at every step, a straight line on the log scale'."""
    losses = race["sgd"]
    assert np.all(np.diff(losses) < 0)
    np.testing.assert_allclose(losses[31:] / losses[30:-1], (1 - 0.07) ** 2, rtol=1e-3)


def test_momentum_and_nesterov_finish_in_about_half_of_sgds_steps_with_rises_on_the_way(race):
    sgd = steps_to(race["sgd"])
    for name in ("momentum", "nesterov"):
        assert steps_to(race[name]) <= 0.6 * sgd
        assert np.any(np.diff(race[name]) > 0)


def test_rmsprop_falls_at_every_step_and_adam_circles_in(race):
    assert np.all(np.diff(race["rmsprop"]) < 0)
    assert np.sum(np.diff(race["adam"]) > 0) >= 5


def test_every_contestant_crosses_the_finish_line(race):
    assert all(steps_to(losses, TARGET_LOSS) is not None for losses in race.values())


def _two_weights(optimizer, l2=0.0):
    wobble = np.random.default_rng(1).standard_normal(400)
    sizes = np.array([10.0, 0.01])
    w, path = np.ones(2), [np.ones(2)]
    for noise in wobble:
        optimizer.step([w], [noise * sizes + l2 * w])
        path.append(w.copy())
    return np.array(path)


def test_adamw_decays_both_weights_alike_and_l2_in_adam_does_not():
    """The notebook's AdamW demo: one path under AdamW; under L2, weight 0 near Adam alone and weight 1 near 0."""
    no_decay = _two_weights(Adam(0.01))
    with_l2 = _two_weights(Adam(0.01), l2=0.2)
    decoupled = _two_weights(AdamW(0.01, weight_decay=0.2))
    np.testing.assert_allclose(no_decay[:, 0], no_decay[:, 1], rtol=1e-3)  # 'Adam alone moves them along one path'
    np.testing.assert_allclose(decoupled[:, 0], decoupled[:, 1], rtol=1e-3)
    pulled = no_decay[-1] - with_l2[-1]
    assert pulled[0] < 0.2 * pulled[1]
    assert abs(with_l2[-1, 1]) < 0.05 and abs(with_l2[-1, 0] - no_decay[-1, 0]) < 0.15
    assert decoupled[-1, 0] < 0.6 * no_decay[-1, 0]


def test_l2_in_plain_sgd_is_a_pull_of_lr_times_decay():
    """'With plain SGD that is a pull towards 0, lr·weight_decay·p per step' (one step from p with g = 0)."""
    p = np.array([2.0, -3.0])
    SGD(learning_rate=0.1).step([p], [0.0 + 0.5 * p])
    np.testing.assert_allclose(p, np.array([2.0, -3.0]) * (1 - 0.1 * 0.5))


def test_the_valley_models_curvature_ratio_is_about_25():
    """The notebook's keras_train section: feature scales 1 and 5 make curvatures about 25 times apart."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(8, 2)) * [1.0, 5.0]
    curvature = np.mean(X ** 2, axis=0)
    assert 15 < curvature[1] / curvature[0] < 35


def test_numpy_training_records_the_loss_before_each_step():
    X, y = np.array([[1.0], [2.0]]), np.array([1.0, 3.0])
    losses, kernel, bias = numpy_training(SGD(0.1), X, y, np.zeros(1), 0.0, 2)
    assert losses[0] == pytest.approx(5.0)  # (1 + 9) / 2 at the start
    assert losses[1] < losses[0] and kernel.shape == (1,) and isinstance(bias, float)


def test_rmsprop_jumps_late_on_the_valley_model_and_comes_back():
    """The notebook's note under the Keras demo: a late jump of RMSprop(0.1), then the loss comes back down."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(8, 2)) * [1.0, 5.0]
    y = X @ np.array([1.5, -0.4]) + 2.0 + 0.3 * rng.normal(size=8)
    optimizer = RMSprop(0.1)
    losses, _, _ = numpy_training(optimizer, X, y, np.zeros(2), 0.0, 40)
    settled = np.min(losses[:33])
    peak = int(np.argmax(losses[25:])) + 25
    assert losses[peak] > 5 * settled and losses[-1] < 0.25 * losses[peak]
