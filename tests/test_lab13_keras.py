"""Lab 13 in Keras: keras.optimizers.schedules equal the NumPy schedules step for step (float64, boundaries,
warmup ends, steps past the decay), ReduceLROnPlateau equals PlateauReducer epoch for epoch on scripted
validation losses, and warmup_cosine is graded by evaluating the schedule it builds."""

from __future__ import annotations

import os
import types

import numpy as np
import pytest
from conftest import first_failure

from autograder import checks
from autograder.feedback import plain
from autograder.hidden import lab13 as ref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

pytestmark = pytest.mark.usefixtures("float64_keras")

LAB = "13_schedules"


RTOL = 1e-13  # reached: at most a few 1e-16 relative, float64 end to end
STEPS = np.arange(0, 130)
f64 = np.float64


def rates(schedule, steps=STEPS):
    return np.array([float(schedule(int(step))) for step in steps])


@pytest.mark.parametrize(("boundaries", "values"), [([10, 50], [0.1, 0.01, 0.001]), ([0], [1.0, 0.5]),
                                                    ([5, 6, 7, 100], [0.4, 0.3, 0.2, 0.1, 0.05])])
def test_piecewise_constant_is_keras_with_boundaries_on_the_left(boundaries, values):
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, [f64(v) for v in values])
    np.testing.assert_allclose(ref.piecewise_constant(STEPS, boundaries, values), rates(schedule), rtol=RTOL)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_is_keras(staircase):
    schedule = keras.optimizers.schedules.ExponentialDecay(f64(0.3), 7, f64(0.6), staircase=staircase)
    np.testing.assert_allclose(ref.exponential_decay(STEPS, 0.3, 7, 0.6, staircase), rates(schedule), rtol=RTOL)


@pytest.mark.parametrize("config", [
    {"initial_learning_rate": 0.1, "decay_steps": 100},
    {"initial_learning_rate": 0.1, "decay_steps": 60, "alpha": 0.2},
    {"initial_learning_rate": 0.0, "decay_steps": 50, "alpha": 0.1, "warmup_target": 0.2, "warmup_steps": 30},
    {"initial_learning_rate": 0.01, "decay_steps": 40, "warmup_target": 0.2, "warmup_steps": 1},
    {"initial_learning_rate": 0.01, "decay_steps": 40, "warmup_target": 0.2, "warmup_steps": 0},
    {"initial_learning_rate": 0.05, "decay_steps": 40, "warmup_steps": 20},  # no target: no warmup
], ids=["plain", "alpha", "warmup", "one_warmup_step", "target_no_warmup", "warmup_steps_alone"])
def test_cosine_decay_is_keras(config):
    as_f64 = {k: f64(v) if isinstance(v, float) else v for k, v in config.items()}
    schedule = keras.optimizers.schedules.CosineDecay(**as_f64)
    np.testing.assert_allclose(ref.cosine_decay(STEPS, **config), rates(schedule), rtol=RTOL, atol=1e-17)


def _keras_plateau(learning_rate, val_losses, **config):
    holder = types.SimpleNamespace(optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    callback = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", mode="min", **config)
    callback.set_model(holder)
    callback.on_train_begin()
    out = []
    for epoch, loss in enumerate(val_losses):
        callback.on_epoch_end(epoch, {"val_loss": float(loss)})
        out.append(float(holder.optimizer.learning_rate))
    return out


def _sequences():
    rows = [
        (0.5, [1.0, 0.75, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5], {"factor": 0.5, "patience": 3}),
        (1.0, [1.0] * 12, {"factor": 0.5, "patience": 1, "cooldown": 2, "min_lr": 0.25}),
        (1.0, [1.0] * 12, {"factor": 0.5, "patience": 2, "cooldown": 1}),
        (1.0, [1.0] + [63 / 64] * 10, {"factor": 0.5, "patience": 2, "min_delta": 1 / 64}),
        (0.5, [1.0] * 6, {"factor": 0.5, "patience": 2, "min_lr": 0.75}),
    ]
    for seed in range(4):
        case = ref.hidden_cases(np.random.default_rng(seed))["PlateauReducer"][seed]
        rows.append((case.args[0], case.args[1], dict(case.kwargs)))
    return rows


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
@pytest.mark.parametrize(("learning_rate", "val_losses", "config"), _sequences())
def test_plateau_reducer_is_reduce_lr_on_plateau_epoch_by_epoch(learning_rate, val_losses, config):
    reducer = ref.PlateauReducer(learning_rate, **config)
    mine = [reducer.step(loss) for loss in val_losses]
    np.testing.assert_allclose(mine, _keras_plateau(learning_rate, val_losses, **config), rtol=RTOL)


# warmup_cosine: the graded Keras exercise ---------------------------------------------

def warmup_cosine(peak_learning_rate, warmup_steps, total_steps, final_learning_rate=0.0):
    return keras.optimizers.schedules.CosineDecay(0.0, total_steps - warmup_steps, final_learning_rate /
                                                  peak_learning_rate, warmup_target=peak_learning_rate,
                                                  warmup_steps=warmup_steps)


def warmup_cosine_from_config(peak_learning_rate, warmup_steps, total_steps, final_learning_rate=0.0):
    """Another valid way: from_config, the floor as 1 − (peak − final) / peak."""
    return keras.optimizers.schedules.CosineDecay.from_config({
        "initial_learning_rate": 0.0, "decay_steps": total_steps - warmup_steps,
        "alpha": 1 - (peak_learning_rate - final_learning_rate) / peak_learning_rate,
        "warmup_target": peak_learning_rate, "warmup_steps": warmup_steps, "name": "plan"})


def _mistaken(key):
    def build(peak, warmup_steps, total_steps, final=0.0):
        schedules = keras.optimizers.schedules
        if key == "decay_steps_total":
            return schedules.CosineDecay(0.0, total_steps, final / peak, warmup_target=peak, warmup_steps=warmup_steps)
        if key == "alpha_absolute":
            return schedules.CosineDecay(0.0, total_steps - warmup_steps, final, warmup_target=peak,
                                         warmup_steps=warmup_steps)
        if key == "warmup_from_peak":
            return schedules.CosineDecay(peak, total_steps - warmup_steps, final / peak, warmup_target=peak,
                                         warmup_steps=warmup_steps)
        return schedules.CosineDecay(peak, total_steps, final / peak, warmup_steps=warmup_steps)
    return build


@pytest.mark.parametrize("implementation", [warmup_cosine, warmup_cosine_from_config], ids=["direct", "config"])
def test_correct_schedules_pass(implementation):
    assert first_failure(LAB, "warmup_cosine", implementation, seeds=(0,)) is None


@pytest.mark.parametrize("key", ["decay_steps_total", "alpha_absolute", "warmup_from_peak", "warmup_ignored"])
def test_each_schedule_mistake_fails_with_its_own_message(key):
    feedback = first_failure(LAB, "warmup_cosine", _mistaken(key), seeds=(0,))
    assert feedback is not None and feedback.startswith("Lab 13 · warmup_cosine"), feedback
    messages = checks.load_lab(LAB).exercise("warmup_cosine").messages
    assert [k for k, m in messages.items() if plain(m) in feedback] == [key], feedback


def test_a_linear_decay_gets_no_invented_cause():
    def linear(peak, warmup_steps, total_steps, final=0.0):
        return keras.optimizers.schedules.PolynomialDecay(peak, total_steps, final)

    feedback = first_failure(LAB, "warmup_cosine", linear, seeds=(0,))
    assert feedback is not None
    messages = checks.load_lab(LAB).exercise("warmup_cosine").messages
    assert not any(plain(m) in feedback for m in messages.values())
