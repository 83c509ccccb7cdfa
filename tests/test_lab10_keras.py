"""Lab 10 in Keras: the NumPy reference optimizers step like keras.optimizers (float64), and keras_optimizer.

Tolerance reached: with hyperparameters that float32 holds exactly (0.875, 1 − 2⁻¹⁰, 0.5) the
references equal Keras to about 1e-15 of each parameter's moves (asserted at 1e-12). Keras passes
SGD's momentum and Adam's β₁, β₂ through float32 before using them in float64 (``ops.cast`` of a
Python float), so with 0.9 / 0.999 the agreement is about 7e-6 of a move (asserted at 1e-4, the
Keras exercise's tolerance).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder import calls, checks
from autograder.feedback import plain
from autograder.hidden import lab10 as ref
from autograder.probes.lab10 import optimizer_run

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.usefixtures("float64_keras")

LAB = "10_optimizers"


def first_failure(implementation, hidden=False):
    """The feedback on the public cases (one per optimizer class), and with ``hidden`` seed 0's too, or None.

    Each case builds a Keras optimizer and steps it five times: the full set of seeds runs in test_nbgrader.
    """
    lab = checks.load_lab(LAB)
    spec = lab.exercise("keras_optimizer")
    cases = list(lab.public_cases()["keras_optimizer"]) + (lab.hidden_cases(0)["keras_optimizer"] if hidden else [])
    return calls.first_failure(lab, spec, cases, (calls.run_case(implementation, c, spec.probe) for c in cases))


def _sequence(seed=3, steps=6):
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=(2, 3)), rng.normal(size=(3,)), rng.normal(size=(1,))]
    grads = [[rng.normal(size=(2, 3)), 1e-6 * rng.normal(size=(3,)), rng.normal(size=(1,))] for _ in range(steps)]
    grads[0][0][:] = 0.0
    grads[2] = [np.zeros_like(g) for g in grads[2]]
    rates = [None] * steps
    rates[3] = 0.5  # a schedule's change: as a factor of the runs' learning rates below, it matters for momentum
    return start, grads, rates


def _keras_moves(optimizer, start, grads, rates, scale):
    variables = [keras.Variable(p.copy()) for p in start]
    moves = []
    for rate, step in zip(rates, grads):
        if rate is not None:
            optimizer.learning_rate = rate * scale
        optimizer.apply_gradients(zip(step, variables))
        moves.append(np.concatenate([(v.numpy() - p).ravel() for v, p in zip(variables, start)]))
    return np.array(moves)


def _column_gap(a, b):
    scale = np.maximum(np.max(np.abs(b), axis=0), 1e-300)
    return float(np.max(np.abs(a - b) / scale))


EXACT = [
    ("SGD", {"learning_rate": 0.1, "momentum": 0.875}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.875, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "epsilon": 1e-6}),
    ("RMSprop", {}),
    ("Adam", {"learning_rate": 0.01, "beta_1": 0.875, "beta_2": 1 - 2 ** -10, "epsilon": 1e-7}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.25, "beta_1": 0.875, "beta_2": 1 - 2 ** -10}),
]
DEFAULTS = [("SGD", {"momentum": 0.9, "nesterov": True}), ("Adam", {}), ("AdamW", {})]


@pytest.mark.parametrize(("name", "kwargs"), EXACT, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXACT)])
def test_references_equal_keras_with_float32_exact_hyperparameters(name, kwargs):
    start, grads, rates = _sequence()
    lr = kwargs.get("learning_rate", ref.KERAS_DEFAULTS[name]["learning_rate"])
    ours = optimizer_run(ref.REFERENCES[name], kwargs, start, grads, [None if r is None else r * lr for r in rates])
    theirs = _keras_moves(getattr(keras.optimizers, name)(**kwargs), start, grads, rates, lr)
    assert _column_gap(ours, theirs) < 1e-12


@pytest.mark.parametrize(("name", "kwargs"), DEFAULTS, ids=[n for n, _ in DEFAULTS])
def test_references_follow_keras_within_its_float32_rounding_of_beta(name, kwargs):
    start, grads, rates = _sequence(4)
    lr = kwargs.get("learning_rate", ref.KERAS_DEFAULTS[name]["learning_rate"])
    ours = optimizer_run(ref.REFERENCES[name], kwargs, start, grads, [None if r is None else r * lr for r in rates])
    theirs = _keras_moves(getattr(keras.optimizers, name)(**kwargs), start, grads, rates, lr)
    assert _column_gap(ours, theirs) < 1e-4


def test_keras_adam_with_weight_decay_is_adamw():
    """Keras 3 decays any optimizer's weights decoupled: Adam(weight_decay=…) steps like AdamW."""
    start, grads, rates = _sequence(5)
    kwargs = {"learning_rate": 0.05, "weight_decay": 0.25}
    adam = _keras_moves(keras.optimizers.Adam(**kwargs), start, grads, rates, 0.05)
    adamw = _keras_moves(keras.optimizers.AdamW(**kwargs), start, grads, rates, 0.05)
    np.testing.assert_array_equal(adam, adamw)


# keras_optimizer: the graded Keras exercise -------------------------------------------

def keras_optimizer(mine):
    kind = type(mine).__name__
    names = {"SGD": ("learning_rate", "momentum", "nesterov"),
             "RMSprop": ("learning_rate", "rho", "momentum", "epsilon"),
             "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon"),
             "AdamW": ("learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon")}
    return getattr(keras.optimizers, kind)(**{key: getattr(mine, key) for key in names[kind]})


def keras_adam_with_decay(mine):
    """Another valid way for AdamW: Keras 3's Adam with weight_decay."""
    if type(mine).__name__ == "AdamW":
        return keras.optimizers.Adam(learning_rate=mine.learning_rate, weight_decay=mine.weight_decay,
                                     beta_1=mine.beta_1, beta_2=mine.beta_2, epsilon=mine.epsilon)
    return keras_optimizer(mine)


def only_learning_rate(mine):
    return getattr(keras.optimizers, type(mine).__name__)(learning_rate=mine.learning_rate)


def no_nesterov(mine):
    optimizer = keras_optimizer(mine)
    if type(mine).__name__ == "SGD":
        return keras.optimizers.SGD(learning_rate=mine.learning_rate, momentum=mine.momentum)
    return optimizer


def pytorch_epsilon(mine):
    config = keras_optimizer(mine).get_config()
    if "epsilon" in config:
        config["epsilon"] = 1e-8
    return type(keras_optimizer(mine)).from_config(config)


def adam_for_adamw(mine):
    if type(mine).__name__ == "AdamW":
        return keras.optimizers.Adam(learning_rate=mine.learning_rate, beta_1=mine.beta_1, beta_2=mine.beta_2,
                                     epsilon=mine.epsilon)
    return keras_optimizer(mine)


@pytest.mark.parametrize("implementation", [keras_optimizer, keras_adam_with_decay], ids=["classes", "adam_decay"])
def test_correct_twins_pass(implementation):
    assert first_failure(implementation, hidden=implementation is keras_optimizer) is None


@pytest.mark.parametrize(("implementation", "key"), [(only_learning_rate, "only_learning_rate"),
                                                     (no_nesterov, "nesterov_dropped"),
                                                     (pytorch_epsilon, "epsilon_pytorch"),
                                                     (adam_for_adamw, "weight_decay_dropped")],
                         ids=["only_learning_rate", "no_nesterov", "pytorch_epsilon", "adam_for_adamw"])
def test_each_mistake_fails_with_its_own_message(implementation, key):
    feedback = first_failure(implementation)
    assert feedback is not None and feedback.startswith("Lab 10 · keras_optimizer"), feedback
    messages = checks.load_lab(LAB).exercise("keras_optimizer").messages
    assert plain(messages[key]) in feedback
    assert not any(plain(m) in feedback for k, m in messages.items() if k != key)


def test_a_wrong_class_gets_no_invented_cause():
    feedback = first_failure(lambda mine: keras.optimizers.Adam())
    assert feedback is not None
    assert not any(plain(m) in feedback for m in checks.load_lab(LAB).exercise("keras_optimizer").messages.values())
