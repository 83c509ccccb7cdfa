"""Lab 10 in Keras: the NumPy reference optimizers step like keras.optimizers (float64), and keras_train.

Tolerance reached: with hyperparameters that float32 holds exactly (0.875, 1 − 2⁻¹⁰, 0.5) the
references equal Keras to about 1e-15 of each parameter's moves (asserted at 1e-12). Keras passes
SGD's momentum and Adam's β₁, β₂ through float32 before using them in float64 (``ops.cast`` of a
Python float), so with 0.9 / 0.999 the agreement is about 7e-6 of a move (asserted at 1e-4, the
notebook's parity tolerance). ``keras_twin``, the Keras-exact reference of ``keras_train``, rounds those
hyperparameters as Keras does and agrees to about 1e-16 whatever they are.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder import calls, checks
from autograder.demos.lab10 import numpy_training, step_beside_keras
from autograder.feedback import plain
from autograder.hidden import lab10 as ref
from autograder.hidden.lab10 import SGD, Adam, AdamW, RMSprop  # noqa: F401 - the probe finds "your" classes here
from autograder.probes.lab10 import optimizer_run as probe_run

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.usefixtures("float64_keras")

LAB = "10_optimizers"


def optimizer_run(*args):
    """The probe's moves of its first optimizer."""
    return probe_run(*args)["moves"]


def first_failure(implementation, hidden=False):
    """The feedback on the public cases (one per optimizer class), and with ``hidden`` seed 0's too, or None.

    Each case trains a small Keras model for a few steps: the full set of seeds runs in test_nbgrader.
    """
    lab = checks.load_lab(LAB)
    spec = lab.exercise("keras_train")
    cases = list(lab.public_cases()["keras_train"]) + (lab.hidden_cases(0)["keras_train"] if hidden else [])
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


ANY = [("SGD", {"momentum": 0.9, "nesterov": True}), ("SGD", {"learning_rate": 0.1, "momentum": 0.3}),
       ("RMSprop", {"learning_rate": 0.01, "rho": 0.7, "momentum": 0.9, "epsilon": 3e-7}), ("Adam", {}),
       ("Adam", {"learning_rate": 0.01, "beta_1": 0.85, "beta_2": 0.95, "epsilon": 2e-6}), ("AdamW", {}),
       ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.3, "beta_1": 0.8, "beta_2": 0.99})]


@pytest.mark.parametrize(("name", "kwargs"), ANY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ANY)])
def test_keras_twin_equals_keras_whatever_the_hyperparameters(name, kwargs):
    """The reference of keras_train rounds momentum, the betas (in βᵗ) and the weight decay as Keras does."""
    start, grads, rates = _sequence(6)
    lr = kwargs.get("learning_rate", ref.KERAS_DEFAULTS[name]["learning_rate"])
    ours = optimizer_run(lambda **k: ref.keras_twin(name, k), kwargs, start, grads,
                         [None if r is None else r * lr for r in rates])
    theirs = _keras_moves(getattr(keras.optimizers, name)(**kwargs), start, grads, rates, lr)
    assert _column_gap(ours, theirs) < 1e-13


def test_keras_casts_a_python_float_through_float32():
    """The notebook: 0.999 becomes 0.99900001287 when Keras casts it to float64 (ops.cast of a Python float)."""
    assert float(keras.ops.convert_to_numpy(keras.ops.cast(0.999, "float64"))) == pytest.approx(0.99900001287,
                                                                                                 abs=1e-11)
    assert float(keras.ops.convert_to_numpy(keras.ops.cast(0.875, "float64"))) == 0.875


def test_adamw_weight_decay_goes_through_float32():
    """The notebook: AdamW's weight decay is rounded too (exact betas, so only the decay can differ)."""
    start, grads, rates = _sequence(7)
    kwargs = {"learning_rate": 0.05, "weight_decay": 0.1, "beta_1": 0.875, "beta_2": 1 - 2 ** -10}
    theirs = _keras_moves(keras.optimizers.AdamW(**kwargs), start, grads, rates, 0.05)
    exact = optimizer_run(ref.AdamW, kwargs, start, grads, [None if r is None else r * 0.05 for r in rates])
    rounded = optimizer_run(ref.AdamW, {**kwargs, "weight_decay": float(np.float32(0.1))}, start, grads,
                            [None if r is None else r * 0.05 for r in rates])
    assert _column_gap(rounded, theirs) < 1e-13 < _column_gap(exact, theirs)


def test_the_notebooks_parity_table_shows_the_float32_rounding():
    """step_beside_keras with the references: Adam's default betas about 7e-6 of a move, exact ones about 1e-15."""
    gaps = step_beside_keras({
        "default": (lambda: ref.Adam(0.01), lambda: keras.optimizers.Adam(0.01)),
        "exact": (lambda: ref.Adam(0.01, beta_1=0.875, beta_2=1 - 2 ** -10),
                  lambda: keras.optimizers.Adam(0.01, beta_1=0.875, beta_2=1 - 2 ** -10)),
        "sgd": (lambda: ref.SGD(0.1, momentum=0.9, nesterov=True),
                lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)),
    })
    assert 3e-6 < gaps["default"] < 1.5e-5
    assert gaps["exact"] < 1e-13
    assert gaps["sgd"] < 1e-4


def test_keras_adam_with_weight_decay_is_adamw():
    """Keras 3 decays any optimizer's weights decoupled: Adam(weight_decay=…) steps like AdamW."""
    start, grads, rates = _sequence(5)
    kwargs = {"learning_rate": 0.05, "weight_decay": 0.25}
    adam = _keras_moves(keras.optimizers.Adam(**kwargs), start, grads, rates, 0.05)
    adamw = _keras_moves(keras.optimizers.AdamW(**kwargs), start, grads, rates, 0.05)
    np.testing.assert_array_equal(adam, adamw)


# keras_train: the graded Keras exercise ----------------------------------------------

HYPERPARAMETERS = {"SGD": ("learning_rate", "momentum", "nesterov"),
                   "RMSprop": ("learning_rate", "rho", "momentum", "epsilon"),
                   "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon"),
                   "AdamW": ("learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon")}


def twin(mine, drop=(), **changes):
    kind = type(mine).__name__
    kwargs = {key: getattr(mine, key) for key in HYPERPARAMETERS[kind] if key not in drop}
    return getattr(keras.optimizers, kind)(**{**kwargs, **changes})


def train_with(make_optimizer, floatx="float64", loss="mean", fresh=False, late=False):
    """A keras_train built from parts: a Dense(1) model and a GradientTape loop, with one chosen mistake."""
    import tensorflow as tf

    def keras_train(mine, X, y, kernel, bias, steps):
        if floatx:
            keras.config.set_floatx(floatx)
        optimizer = make_optimizer(mine)
        model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(1)])
        model.set_weights([np.reshape(kernel, (-1, 1)), np.array([bias])])
        losses = []
        for _ in range(steps):
            with tf.GradientTape() as tape:
                predictions = model(X)
                error = predictions - y if loss == "broadcast" else predictions[:, 0] - y
                value = keras.ops.sum(error ** 2) if loss == "sum" else keras.ops.mean(error ** 2)
            grads = tape.gradient(value, model.trainable_variables)
            if fresh:
                optimizer = make_optimizer(mine)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            if late:
                error = model(X)[:, 0] - y
                value = keras.ops.mean(error ** 2)
            losses.append(float(value))
        new_kernel, new_bias = model.get_weights()
        return np.array(losses), new_kernel[:, 0], float(new_bias[0])

    return keras_train


def keras_train_with_variables(mine, X, y, kernel, bias, steps, floatx="float64"):
    """No layer at all: two tf.Variables, keras.losses.MeanSquaredError, and Adam(weight_decay=…) for AdamW."""
    import tensorflow as tf

    if floatx:
        keras.config.set_floatx(floatx)  # the optimizer's learning rate is a variable of floatx's dtype
    if type(mine).__name__ == "AdamW":
        optimizer = keras.optimizers.Adam(learning_rate=mine.learning_rate, weight_decay=mine.weight_decay,
                                          beta_1=mine.beta_1, beta_2=mine.beta_2, epsilon=mine.epsilon)
    else:
        optimizer = twin(mine)
    w = tf.Variable(np.asarray(kernel, dtype=np.float64))
    b = tf.Variable(np.float64(bias))
    mse = keras.losses.MeanSquaredError()
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = mse(y, tf.linalg.matvec(tf.constant(X), w) + b)
        optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        losses.append(loss.numpy())
    return losses, w, b


def keras_train_with_tf_function(mine, X, y, kernel, bias, steps):
    """The step compiled with tf.function, the losses kept as tensors, the model's loss from keras.losses."""
    import tensorflow as tf

    keras.config.set_floatx("float64")
    optimizer = twin(mine)
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(1)])
    model.set_weights([np.reshape(kernel, (-1, 1)), np.array([bias])])
    loss_fn = keras.losses.MeanSquaredError()

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y[:, None], model(X))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    losses = [step() for _ in range(steps)]
    return tf.stack(losses), model.layers[0].kernel[:, 0], model.layers[0].bias[0]


@pytest.mark.parametrize("implementation", [train_with(twin), keras_train_with_variables,
                                            keras_train_with_tf_function],
                         ids=["dense_and_tape", "variables_and_adam_decay", "tf_function"])
def test_correct_loops_pass(implementation):
    assert first_failure(implementation, hidden=True) is None


def _adam_for_adamw(mine):
    if type(mine).__name__ == "AdamW":
        return keras.optimizers.Adam(learning_rate=mine.learning_rate, beta_1=mine.beta_1, beta_2=mine.beta_2,
                                     epsilon=mine.epsilon)
    return twin(mine)


def float32_learning_rate(mine, X, y, kernel, bias, steps):
    """float64 variables, but floatx left at float32: the optimizer keeps lr in float32 (0.01 → 0.0099999998)."""
    return keras_train_with_variables(mine, X, y, kernel, bias, steps, floatx=None)


MISTAKES = [
    ("float32", train_with(twin, floatx=None)),
    ("float32", float32_learning_rate),
    ("only_learning_rate", train_with(lambda mine: getattr(keras.optimizers, type(mine).__name__)(
        learning_rate=mine.learning_rate))),
    ("nesterov_dropped", train_with(lambda mine: twin(mine, drop=("nesterov",)))),
    ("momentum_dropped", train_with(lambda mine: twin(mine, drop=("momentum", "nesterov")))),
    ("epsilon_default", train_with(lambda mine: twin(mine, drop=("epsilon",)))),
    ("epsilon_pytorch", train_with(lambda mine: twin(mine, **({} if type(mine).__name__ == "SGD"
                                                              else {"epsilon": 1e-8})))),
    ("weight_decay_dropped", train_with(_adam_for_adamw)),
    ("fresh_optimizer", train_with(twin, fresh=True)),
    ("sum_loss", train_with(twin, loss="sum")),
    ("broadcast_loss", train_with(twin, loss="broadcast")),
    ("loss_after_step", train_with(twin, late=True)),
]


@pytest.mark.parametrize(("key", "implementation"), MISTAKES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(MISTAKES)])
def test_each_mistake_fails_with_its_own_message(key, implementation):
    feedback = first_failure(implementation)
    assert feedback is not None and feedback.startswith("Lab 10 · keras_train"), feedback
    messages = checks.load_lab(LAB).exercise("keras_train").messages
    assert plain(messages[key]) in feedback, feedback
    assert not any(plain(m) in feedback for k, m in messages.items() if k != key)


@pytest.mark.parametrize("key", sorted(ref.KERAS_MISTAKES))
def test_hidden_cases_catch_each_mistake_under_every_secret(key):
    """Every named mistake differs from the reference on some hidden case of each secret."""
    for seed in range(5):
        assert any(key in case.wrong for case in checks.load_lab(LAB).hidden_cases(seed)["keras_train"]), seed


def test_a_wrong_loop_gets_no_invented_cause_and_is_compared_with_your_own_optimizer():
    """Plain SGD whatever the object: no named cause; the student's own NumPy optimizer is right, so it is cited."""
    feedback = first_failure(train_with(lambda mine: keras.optimizers.SGD(mine.learning_rate)))
    assert feedback is not None
    assert not any(plain(m) in feedback for m in checks.load_lab(LAB).exercise("keras_train").messages.values())
    assert "Your own NumPy optimizer" in feedback, feedback


def test_a_stub_is_reported_as_not_implemented():
    def keras_train(mine, X, y, kernel, bias, steps):
        raise NotImplementedError("keras_train")

    assert "NotImplementedError" in first_failure(keras_train) or "not implemented" in first_failure(keras_train)


def test_the_notebooks_demo_agrees_with_numpy_step_for_step():
    """The notebook's train_beside_keras claim, with the references and the reference loop: 1e-4, and 1e-12
    where float32 holds the hyperparameters exactly."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(8, 2)) * [1.0, 5.0]
    y = X @ np.array([1.5, -0.4]) + 2.0 + 0.3 * rng.normal(size=8)
    for make, tight in ((lambda: ref.SGD(0.01, momentum=0.875), True), (lambda: ref.Adam(0.2), False),
                        (lambda: ref.RMSprop(0.1), True)):
        ours = numpy_training(make(), X, y, np.zeros(2), 0.0, 20)
        theirs = train_with(twin)(make(), X, y, np.zeros(2), 0.0, 20)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(b, a, rtol=1e-12 if tight else 1e-4)


@pytest.mark.parametrize("index", [0, 2, 3], ids=["SGD", "Adam", "AdamW"])
def test_fit_runs_the_loop_the_exercise_writes(index):
    """The notebook: keras_train writes 'the loop that Keras's fit runs', and its losses come 'as fit's history
    does': fit with one full batch per epoch gives the reference's losses (before each step) and weights."""
    case = checks.load_lab(LAB).public_cases()["keras_train"][index]
    name, kwargs, X, y, kernel, bias, steps = case.args
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)), keras.layers.Dense(1)])
    model.set_weights([np.asarray(kernel, dtype=np.float64)[:, None], np.array([bias])])
    model.compile(optimizer=getattr(keras.optimizers, name)(**kwargs), loss="mse")
    history = model.fit(X, y, batch_size=len(X), epochs=steps, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], case.expected["losses"], rtol=1e-10)
    np.testing.assert_allclose(model.get_weights()[0][:, 0], case.expected["kernel"], rtol=1e-10)
    assert model.get_weights()[1][0] == pytest.approx(case.expected["bias"], rel=1e-10)


def _forever(self, params, grads):
    while True:
        pass


def test_a_numpy_optimizer_that_hangs_costs_only_its_own_exercise():
    """The probe runs your NumPy optimizer for the feedback only, within YOURS_SECONDS a case (once per class)."""
    import sys
    import types

    from autograder.probes import lab10 as probes

    hanging = {name: type(name, (cls,), {"step": _forever}) for name, cls in ref.REFERENCES.items()}
    loop = train_with(twin)
    keras_train = types.FunctionType(loop.__code__, {**vars(sys.modules[__name__]), **hanging}, "keras_train",
                                     loop.__defaults__, loop.__closure__)
    assert first_failure(keras_train) is None
    assert all(any(cls is slow for slow in probes._TOO_SLOW) for cls in hanging.values())


HANGING_STEP = "\n    def step(self, params, grads):\n        while True:\n            pass\n"


def test_through_the_grader_hanging_numpy_optimizers_cost_only_their_own_exercises(tmp_path):
    """Each NumPy optimizer's step never returns: those exercises time out; keras_train keeps its full marks."""
    import json

    from conftest import solution_notebook

    from autograder.grading import GradingOptions, grade_notebook
    from autograder.sandbox import isolation

    notebook = json.loads(solution_notebook(LAB).read_text(encoding="utf-8"))
    for name, defaults in ref.KERAS_DEFAULTS.items():
        init = f"    def __init__(self, **kwargs):\n        self.__dict__.update({{**{defaults!r}, **kwargs}})\n"
        notebook = _replace_class(notebook, name, f"class {name}:\n{init}{HANGING_STEP}")
    path = tmp_path / f"{LAB}.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    options = GradingOptions(secret="hanging-secret", isolation=isolation.mode(("sandbox", "trusted"))[0])
    results = {e.name: e for e in grade_notebook(path, "ada", options, LAB).exercises}
    assert results["keras_train"].score == results["keras_train"].max_score, results["keras_train"].feedback
    hung = {name: results[name] for name in ref.KERAS_DEFAULTS}
    assert all(r.score == 0 and "time" in r.feedback for r in hung.values()), {n: r.feedback for n, r in hung.items()}


def _replace_class(notebook, name, source):
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and text.lstrip().startswith((f"class {name}:", f"class {name}(")):
            cell["source"] = source
            return notebook
    raise KeyError(name)
