"""Lab 13 in Keras: keras.optimizers.schedules equal the NumPy schedules step for step (float64, boundaries,
warmup ends, steps past the decay), ReduceLROnPlateau equals PlateauReducer epoch for epoch on scripted
validation losses, warmup_cosine is graded by evaluating the schedule it builds, and fit_with_warmup_cosine by
replaying its run in NumPy."""

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


# fit_with_warmup_cosine: the graded Keras training exercise ----------------------------

def _fit(X, y, w, b, peak, warmup_steps, epochs, batch_size, final=0.0, *, mistake=None, floatx="float64",
         schedule=warmup_cosine):
    keras.config.set_floatx(floatx)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.set_weights([np.array([[w]]), np.array([b])])
    per_epoch = len(X) // batch_size if mistake == "floor_steps" else -(-len(X) // batch_size)
    total = epochs if mistake == "total_in_epochs" else epochs * per_epoch
    rate = peak if mistake == "constant_peak" else schedule(peak, warmup_steps, total, final)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
    history = model.fit(np.reshape(X, (-1, 1)), y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    kernel, bias = model.get_weights()
    return float(kernel[0, 0]), float(bias[0]), np.array(history.history["loss"])


def fit_keras(*args):
    return _fit(*args)


def fit_with_config_schedule_and_dataset(X, y, w, b, peak, warmup_steps, epochs, batch_size, final=0.0):
    """Another valid way: a tf.data pipeline (in order), the schedule from its config, a custom training loop."""
    import tensorflow as tf

    keras.config.set_floatx("float64")
    steps = epochs * int(np.ceil(len(X) / batch_size))
    optimizer = keras.optimizers.SGD(learning_rate=warmup_cosine_from_config(peak, warmup_steps, steps, final))
    kernel, bias = tf.Variable([[w]], dtype=tf.float64), tf.Variable([b], dtype=tf.float64)
    data = tf.data.Dataset.from_tensor_slices((np.reshape(X, (-1, 1)), np.asarray(y))).batch(batch_size)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in data:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((tf.squeeze(xb @ kernel + bias, 1) - yb) ** 2)
            optimizer.apply_gradients(zip(tape.gradient(loss, [kernel, bias]), [kernel, bias]))
            total += float(loss) * len(xb) / len(X)
        losses.append(total)
    return float(kernel[0, 0]), float(bias[0]), np.array(losses)


def warmup_cosine_f64(peak_learning_rate, warmup_steps, total_steps, final_learning_rate=0.0):
    """The schedule computes in the dtype of its initial rate: a float64 one makes every rate float64."""
    return keras.optimizers.schedules.CosineDecay(f64(0.0), total_steps - warmup_steps,
                                                  f64(final_learning_rate / peak_learning_rate),
                                                  warmup_target=f64(peak_learning_rate), warmup_steps=warmup_steps)


@pytest.mark.parametrize(("schedule", "rtol"), [(warmup_cosine_f64, 1e-12), (warmup_cosine, 1e-6)],
                         ids=["float64_schedule", "python_floats"])
def test_the_numpy_replay_is_what_keras_fit_does(schedule, rtol):
    """The grader's reference (NumPy) and Keras's fit agree to 1e-12 with a schedule built from float64 numbers;
    from Python floats the schedule computes in float32, and the run moves by about 1e-7 (the check's rtol is
    2e-6). The second row proves that the check's tolerance is needed, and enough."""
    differences = []
    for seed in (0, 1, 2):
        case = ref.hidden_cases(np.random.default_rng(seed))["fit_with_warmup_cosine"][0]
        w, b, losses = _fit(*case.args, schedule=schedule)
        expected = case.expected
        np.testing.assert_allclose([w, b, *losses], [expected[0], expected[1], *expected[2]], rtol=rtol)
        differences.append(np.max(np.abs(np.array([w, b, *losses]) / np.array([*expected[:2], *expected[2]]) - 1)))
    if schedule is warmup_cosine:
        assert max(differences) > 1e-12, "Keras now computes a Python-float schedule in float64: tighten the check"


def fit_keras_f64_schedule(*args):
    return _fit(*args, schedule=warmup_cosine_f64)


@pytest.mark.parametrize("implementation", [fit_keras, fit_keras_f64_schedule, fit_with_config_schedule_and_dataset],
                         ids=["fit", "fit_float64_schedule", "custom_loop"])
def test_correct_trainings_pass(implementation):
    assert first_failure(LAB, "fit_with_warmup_cosine", implementation, seeds=(0, 1)) is None


@pytest.mark.parametrize("key", ["total_in_epochs", "floor_steps", "constant_peak"])
def test_each_training_mistake_fails_with_its_own_message_under_every_secret(key):
    messages = checks.load_lab(LAB).exercise("fit_with_warmup_cosine").messages
    for seed in (0, 1, 2):
        feedback = first_failure(LAB, "fit_with_warmup_cosine", lambda *a, k=key: _fit(*a, mistake=k), seeds=(seed,))
        assert feedback is not None and feedback.startswith("Lab 13 · fit_with_warmup_cosine"), feedback
        assert [k for k, m in messages.items() if plain(m) in feedback] == [key], feedback


def test_float32_is_named():
    feedback = first_failure(LAB, "fit_with_warmup_cosine", lambda *a: _fit(*a, floatx="float32"), seeds=(0,))
    assert feedback is not None and 'keras.config.set_floatx("float64")' in feedback, feedback


def test_a_wrong_schedule_gets_no_invented_training_cause():
    def linear(peak, warmup_steps, total_steps, final=0.0):
        return keras.optimizers.schedules.PolynomialDecay(peak, total_steps, final)

    feedback = first_failure(LAB, "fit_with_warmup_cosine", lambda *a: _fit(*a, schedule=linear), seeds=(0,))
    assert feedback is not None
    messages = checks.load_lab(LAB).exercise("fit_with_warmup_cosine").messages
    assert not any(plain(m) in feedback for m in messages.values()), feedback
    assert "set_floatx" not in feedback


def test_shuffled_rows_fail():
    def shuffled(X, y, *rest):
        order = np.r_[1:len(X), 0]
        return fit_keras(np.asarray(X)[order], np.asarray(y)[order], *rest)

    assert first_failure(LAB, "fit_with_warmup_cosine", shuffled, seeds=(0,)) is not None
