"""Lab 13's checks: correct variants pass, every named mistake gets its own message, unnamed ones get none."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
from conftest import case_ids, first_failure, untold_causes

from autograder.checks import load_lab
from autograder.feedback import plain
from autograder.hidden import lab13 as ref

LAB = "13_schedules"


SEEDS_FAST = (0, 1)


# correct but different ---------------------------------------------------------------

def piecewise_loop(step, boundaries, values):
    def one(s):
        for boundary, value in zip(boundaries, values):
            if s <= boundary:
                return value
        return values[-1]
    steps = np.asarray(step)
    return float(one(int(steps))) if steps.ndim == 0 else np.vectorize(one, otypes=[float])(steps)


def piecewise_digitize(step, boundaries, values):
    return np.asarray(values, dtype=float)[np.digitize(step, boundaries, right=True)]


def exponential_float32(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    exponent = np.asarray(step, np.float32) / np.float32(decay_steps)
    exponent = np.floor(exponent) if staircase else exponent
    return np.float32(initial_learning_rate) * np.float32(decay_rate) ** exponent


def exponential_exp_log(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    exponent = np.asarray(step) // decay_steps if staircase else np.asarray(step) / decay_steps
    return initial_learning_rate * np.exp(exponent * np.log(decay_rate))


def cosine_loop(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    def one(t):
        if warmup_target is None:
            t = min(t, decay_steps)
            return initial_learning_rate * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * t / decay_steps)) + alpha)
        if t < warmup_steps:
            return initial_learning_rate + (warmup_target - initial_learning_rate) * t / warmup_steps
        t = min(t - warmup_steps, decay_steps)
        return warmup_target * (alpha + (1 - alpha) * (1 + math.cos(math.pi * t / decay_steps)) / 2)
    steps = np.asarray(step)
    return one(int(steps)) if steps.ndim == 0 else np.array([one(int(t)) for t in steps.ravel()]).reshape(steps.shape)


def cosine_interp(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    """The warmup by np.interp, the cosine through np.clip."""
    step = np.asarray(step, dtype=float)
    if warmup_target is None:
        warmup_target, warmup_steps = initial_learning_rate, 0
    s = np.clip(step - warmup_steps, 0, decay_steps)
    decayed = warmup_target * (alpha + (1 - alpha) * np.cos(np.pi * s / decay_steps / 2) ** 2)
    if warmup_steps:
        decayed = np.where(step < warmup_steps, np.interp(step, [0, warmup_steps],
                                                          [initial_learning_rate, warmup_target]), decayed)
    return decayed[()] if decayed.ndim == 0 else decayed


class ReducerFlags:
    """ReduceLROnPlateau written the other way round: a separate 'improved' test and a reduce method."""

    def __init__(self, learning_rate, factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0):
        self.learning_rate, self.factor, self.patience = learning_rate, factor, patience
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.best, self.wait, self.cooldown_counter = math.inf, 0, 0

    def _reduce(self):
        if self.learning_rate <= self.min_lr:
            return
        self.learning_rate = max(self.min_lr, self.factor * self.learning_rate)
        self.cooldown_counter, self.wait = self.cooldown, 0

    def step(self, val_loss):
        if self.cooldown_counter:
            self.cooldown_counter, self.wait = self.cooldown_counter - 1, 0
        if val_loss < self.best - self.min_delta:
            self.best, self.wait = val_loss, 0
            return self.learning_rate
        if not self.cooldown_counter:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce()
        return self.learning_rate


def pick_vectorised(lrs, losses, beta=0.9):
    losses = np.asarray(losses, dtype=float)
    bad = ~np.isfinite(losses)
    end = int(np.argmax(bad)) if bad.any() else len(losses)
    i = np.arange(end)
    weights = (1 - beta) * beta ** (i[:, None] - i[None, :]) * (i[:, None] >= i[None, :])
    smoothed = weights @ losses[:end] / (1 - beta ** (i + 1))
    return np.asarray(lrs)[np.argmin(smoothed)] / 10


def grid_meshgrid(f, ranges, budget):
    """k by integer search written with math.isqrt-free logic, the grid by meshgrid, the best by min()."""
    d = len(ranges)
    k = max(k for k in range(1, budget + 1) if k ** d <= budget)
    axes = [np.logspace(np.log10(lo), np.log10(hi), k) if scale == "log" else lo + (hi - lo) * np.linspace(0, 1, k)
            for lo, hi, scale in ranges.values()]
    mesh = np.meshgrid(*axes, indexing="ij")
    trials = [dict(zip(ranges, map(float, values))) for values in zip(*(m.ravel() for m in mesh))]
    scored = [(f(**params), i) for i, params in enumerate(trials)]
    value, i = min(scored)
    return trials[i], value


def random_all_at_once(f, ranges, budget, rng):
    """All draws first, one array per hyperparameter, log ranges as 10 ** uniform exponents."""
    columns = {}
    for name, (low, high, scale) in ranges.items():
        columns[name] = (10 ** rng.uniform(np.log10(low), np.log10(high), size=budget) if scale == "log"
                         else rng.uniform(low, high, size=budget))
    trials = [{name: float(columns[name][i]) for name in ranges} for i in range(budget)]
    values = np.array([f(**params) for params in trials])
    return trials[int(np.argmin(values))], float(values.min())


CORRECT = [
    ("piecewise_constant", ref.piecewise_constant), ("piecewise_constant", piecewise_loop),
    ("piecewise_constant", piecewise_digitize),
    ("exponential_decay", ref.exponential_decay),
    ("exponential_decay", exponential_exp_log),
    ("cosine_decay", ref.cosine_decay), ("cosine_decay", cosine_loop), ("cosine_decay", cosine_interp),
    ("PlateauReducer", ref.PlateauReducer), ("PlateauReducer", ReducerFlags),
    ("pick_learning_rate", ref.pick_learning_rate), ("pick_learning_rate", pick_vectorised),
    ("grid_search", ref.grid_search), ("grid_search", grid_meshgrid),
    ("random_search", ref.random_search), ("random_search", random_all_at_once),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementations_pass(exercise, implementation):
    assert first_failure(LAB, exercise, implementation, seeds=SEEDS_FAST) is None


# every named mistake, its own message (the probe exercises' tables hold traces, not student code) ---------

def _student_forms():
    rows = [("PlateauReducer", key, ref._reducer_with(key)) for key in ref.PLATEAU_MISTAKE_KEYS]
    rows += [("grid_search", key, functools.partial(ref._grid_with, mistake=key)) for key in ref.GRID_MISTAKES]
    rows += [("random_search", key, functools.partial(ref._random_with, mistake=key)) for key in ref.RANDOM_MISTAKES]
    return rows


MISTAKES = _student_forms()


@pytest.mark.parametrize(("exercise", "key", "implementation"), MISTAKES, ids=[f"{r[0]}-{r[1]}" for r in MISTAKES])
def test_each_probed_mistake_gets_its_own_message(exercise, key, implementation):
    feedback = first_failure(LAB, exercise, implementation, seeds=SEEDS_FAST)
    assert feedback is not None, f"{key} passed"
    messages = load_lab(LAB).exercise(exercise).messages
    named = [k for k, m in messages.items() if plain(m) in feedback]
    assert named == [key], feedback


# wrong, as students write them, each told its cause -----------------------------------------

def cosine_warmup_whenever_steps(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                                 warmup_steps=0):
    """Warms up whenever warmup_steps > 0, towards the initial rate when no target is given."""
    target = initial_learning_rate if warmup_target is None else warmup_target
    return ref.cosine_decay(step, initial_learning_rate, decay_steps, alpha, target, warmup_steps)


def pick_skipping(lrs, losses, beta=0.9):
    average, smoothed = 0.0, []
    for i, loss in enumerate(losses):
        if not np.isfinite(loss):
            continue
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** (i + 1)))
    return float(lrs[int(np.argmin(smoothed))] / 10)


def pick_masked(lrs, losses, beta=0.9):
    """Keeps only the finite losses, with their own indices."""
    finite = np.flatnonzero(np.isfinite(losses))
    average, best, best_i = 0.0, np.inf, 0
    for count, i in enumerate(finite):
        average = beta * average + (1 - beta) * losses[i]
        if average / (1 - beta ** (count + 1)) < best:
            best, best_i = average / (1 - beta ** (count + 1)), i
    return float(lrs[best_i] / 10)


def random_one_number(f, ranges, budget, rng):
    best = (None, np.inf)
    for _ in range(budget):
        u = rng.random()
        params = {name: float(10 ** (np.log10(lo) + u * (np.log10(hi) - np.log10(lo))) if scale == "log"
                              else lo + u * (hi - lo)) for name, (lo, hi, scale) in ranges.items()}
        value = f(**params)
        if value < best[1]:
            best = (params, value)
    return best


TOLD = [
    ("cosine_decay", cosine_warmup_whenever_steps, "warmup_without_target"),
    ("pick_learning_rate", pick_skipping, "skips_not_finite_shifted"),
    ("pick_learning_rate", pick_masked, "skips_not_finite"),
    ("random_search", random_one_number, "one_draw"),
]


@pytest.mark.parametrize(("exercise", "implementation", "key"), TOLD, ids=case_ids(TOLD))
def test_a_student_form_of_a_mistake_is_told_its_cause_under_every_secret(exercise, implementation, key):
    from autograder import calls

    lab = load_lab(LAB)
    spec = lab.exercise(exercise)
    message = plain(spec.messages[key])
    for seed in (0, 1, 2, 3, 4):  # the hidden cases alone, of each secret
        cases = lab.hidden_cases(seed)[exercise]
        feedback = calls.first_failure(lab, spec, cases, (calls.run_case(implementation, c, spec.probe) for c in cases))
        assert feedback is not None and message in feedback, (seed, feedback)


def test_float32_rates_break_the_float64_promise():
    feedback = first_failure(LAB, "exponential_decay", exponential_float32, seeds=SEEDS_FAST)
    assert feedback is not None and "returned float32 numbers where the docstring promises float64" in feedback


# wrong, and named by no known mistake ------------------------------------------------

class SharedState(ref.PlateauReducer):
    """Keeps wait on the class: two reducers then disturb each other."""

    wait_shared = 0

    def step(self, val_loss):
        type(self).wait_shared += 1
        if type(self).wait_shared >= 2 * self.patience:
            self.learning_rate = max(self.learning_rate * self.factor, self.min_lr)
            type(self).wait_shared = 0
        return self.learning_rate


def grid_without_ends(f, ranges, budget):
    k = ref._per_axis(budget, len(ranges))
    axes = [(np.geomspace(lo, hi, k + 2) if scale == "log" else np.linspace(lo, hi, k + 2))[1:-1]
            for lo, hi, scale in ranges.values()]
    trials = [dict(zip(ranges, map(float, p))) for p in itertools.product(*axes)]
    values = [f(**t) for t in trials]
    return trials[int(np.argmin(values))], min(values)


UNKNOWN = [
    ("piecewise_constant", lambda step, boundaries, values: ref.piecewise_constant(step, boundaries, values) * 0.5),
    ("exponential_decay", lambda step, lr, steps, rate, staircase=False: ref.exponential_decay(
        step, lr, steps, rate ** 2, staircase)),
    ("cosine_decay", lambda step, lr, steps, alpha=0.0, warmup_target=None, warmup_steps=0: ref.cosine_decay(
        step, lr, 2 * steps, alpha, warmup_target, warmup_steps)),
    ("PlateauReducer", SharedState),
    ("pick_learning_rate", lambda lrs, losses, beta=0.9: ref.pick_learning_rate(lrs, losses, beta) / 3),
    ("grid_search", grid_without_ends),
]


@pytest.mark.parametrize(("exercise", "implementation"), UNKNOWN, ids=case_ids(UNKNOWN))
def test_a_mistake_nobody_named_gets_no_cause(exercise, implementation):
    feedback = first_failure(LAB, exercise, implementation, seeds=SEEDS_FAST)
    assert feedback is not None, "a wrong implementation passed"
    messages = load_lab(LAB).exercise(exercise).messages
    assert [k for k, m in messages.items() if plain(m) in feedback] == []


def test_class_level_state_is_told_to_move_to_self():
    feedback = first_failure(LAB, "PlateauReducer", SharedState, seeds=())
    assert "keep every piece of state on self" in feedback


# the cases ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_hidden_cases_hit_the_boundaries(seed):
    cases = load_lab(LAB).hidden_cases(seed)
    for case in cases["piecewise_constant"][:1]:
        assert set(case.args[1]) <= set(np.ravel(case.args[0]))  # every boundary step itself
    warmups = [c for c in cases["cosine_decay"] if c.kwargs.get("warmup_steps")]
    assert warmups and all({0, c.kwargs["warmup_steps"] - 1, c.kwargs["warmup_steps"]} <= set(c.args[0])
                           for c in warmups)
    assert any(np.max(c.args[0]) > c.args[2] + c.kwargs.get("warmup_steps", 0) for c in cases["cosine_decay"])
    assert {True, False} <= {c.kwargs.get("staircase") for c in cases["exponential_decay"]}
    assert any(not np.all(np.isfinite(c.args[1])) for c in cases["pick_learning_rate"])
    assert any(c.args[1] == 64 and len(c.args[0]) == 3 for c in cases["grid_search"])


def test_the_reference_reducer_reduces_when_patience_is_exactly_reached():
    reducer = ref.PlateauReducer(1.0, factor=0.5, patience=3)
    assert [reducer.step(loss) for loss in [1.0, 1.0, 1.0, 1.0]] == [1.0, 1.0, 1.0, 0.5]


def test_cooldown_one_changes_nothing_as_in_keras():
    losses = [1.0] * 10
    runs = [[r.step(v) for v in losses] for r in (ref.PlateauReducer(1.0, 0.5, 2, cooldown=c) for c in (0, 1))]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("exercise", ["piecewise_constant", "exponential_decay", "cosine_decay",
                                      "pick_learning_rate", "grid_search", "random_search"])
def test_the_blank_stub_is_not_implemented(exercise):
    namespace = {}
    exec(f"def {exercise}(*args, **kwargs):\n    raise NotImplementedError({exercise!r})", namespace)  # noqa: S102
    assert "not implemented yet" in first_failure(LAB, exercise, namespace[exercise], seeds=(0,))


CHOSEN_BY_THE_COMPARATOR = ()  # messages a compare returns itself, not matched against a mistake's values


@pytest.mark.parametrize("seed", range(8))
def test_every_named_cause_has_a_hidden_case_that_tells_it_under_every_secret(seed):
    assert untold_causes(LAB, seed, CHOSEN_BY_THE_COMPARATOR) == []
