"""Lab 10's checks: the references pass, real mistakes fail with their own message, valid variants pass."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import case_ids, first_failure

from autograder import checks
from autograder.feedback import plain
from autograder.hidden import lab10 as ref
from autograder.probes.lab10 import optimizer_run

LAB = "10_optimizers"








# correct but different ---------------------------------------------------------------

def moving_average_closed_form(values, beta, bias_correction=False):
    """m_t = (1 − β) Σ_k β^(t−k) x_k, with the weights as a matrix."""
    x = np.asarray(values, dtype=float)
    t = np.arange(1, len(x) + 1)
    powers = np.tril(beta ** (t[:, None] - t[None, :]).astype(float))
    m = np.einsum("tk,k...->t...", (1 - beta) * powers, x)
    return m / (1 - beta ** t).reshape((-1,) + (1,) * (x.ndim - 1)) if bias_correction else m


def moving_average_float32(values, beta, bias_correction=False):
    return ref.moving_average(np.asarray(values, dtype=np.float32), np.float32(beta), bias_correction).astype(
        np.float32)


class SGDTorchStyleNesterov:
    """cs231n's Nesterov, p += −μ·m_old + (1 + μ)·m_new: the same walk as Keras's, written differently."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov
        self.state = {}

    def step(self, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            old = self.state.get(i, np.zeros_like(p))
            new = self.momentum * old - self.learning_rate * g
            self.state[i] = new
            p += (-self.momentum * old + (1 + self.momentum) * new) if self.nesterov else new


class RMSpropLoops:
    """Element by element with math.sqrt, state in a dict keyed by position, momentum always applied."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
        self.learning_rate, self.rho, self.momentum, self.epsilon = learning_rate, rho, momentum, epsilon
        self.v, self.mom = {}, {}

    def step(self, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            v, mom = self.v.setdefault(i, np.zeros(p.shape)), self.mom.setdefault(i, np.zeros(p.shape))
            for index in np.ndindex(p.shape):
                v[index] = self.rho * v[index] + (1 - self.rho) * g[index] ** 2
                mom[index] = self.momentum * mom[index] + self.learning_rate * g[index] / np.sqrt(
                    v[index] + self.epsilon)
                p[index] -= mom[index]


class AdamTextbookWithEpsHat:
    """The paper's m̂ and v̂, with ε̂ = ε / √(1 − β₂ᵗ): algebraically Keras's form."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.t, self.m, self.v = 0, None, None

    def step(self, params, grads):
        if self.m is None:
            self.m, self.v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m[:] = self.beta_1 * m + (1 - self.beta_1) * g
            v[:] = self.beta_2 * v + (1 - self.beta_2) * np.einsum("...,...->...", g, g)
            m_hat, v_hat = m / (1 - self.beta_1 ** self.t), v / (1 - self.beta_2 ** self.t)
            eps_hat = self.epsilon / np.sqrt(1 - self.beta_2 ** self.t)
            p[...] = p - self.learning_rate * m_hat / (np.sqrt(v_hat) + eps_hat)


class AdamFloat32Moments(ref.Adam):
    """Keeps m and v in float32 (the parameters stay float64, updated in place)."""

    def _slots(self, p):
        return [np.zeros(p.shape, np.float32), np.zeros(p.shape, np.float32)]

    def _update(self, p, g, s):
        m, v = s
        alpha = np.float32(self._alpha(self.iterations))
        g = g.astype(np.float32)
        m += (g - m) * np.float32(1 - self.beta_1)
        v += (g * g - v) * np.float32(1 - self.beta_2)
        p -= m * alpha / (np.sqrt(v) + np.float32(self.epsilon))


class AdamWOnItsOwn:
    """AdamW without subclassing: the decay folded into one in-place expression per parameter."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.inner = ref.Adam(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = weight_decay

    @property
    def learning_rate(self):
        return self.inner.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner.learning_rate = value

    def step(self, params, grads):
        for p in params:
            p *= 1 - self.weight_decay * self.learning_rate
        self.inner.step(params, grads)


def descend_preallocated(optimizer, gradient, start, steps):
    x = np.asarray(start, dtype=float).copy()
    path = np.empty((steps + 1, len(x)))
    path[0] = x
    for k in range(1, steps + 1):
        optimizer.step([x], [gradient(x)])
        path[k] = x
    return path


CORRECT = [
    ("moving_average", ref.moving_average), ("moving_average", moving_average_closed_form),
    ("moving_average", moving_average_float32),
    ("SGD", ref.SGD), ("SGD", SGDTorchStyleNesterov),
    ("RMSprop", ref.RMSprop), ("RMSprop", RMSpropLoops),
    ("Adam", ref.Adam), ("Adam", AdamTextbookWithEpsHat), ("Adam", AdamFloat32Moments),
    ("AdamW", ref.AdamW), ("AdamW", AdamWOnItsOwn),
    ("descend", ref.descend), ("descend", descend_preallocated),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementations_pass(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# known mistakes (probe exercises: tests/test_misconceptions.py leaves them to this file) --------------------

TABLES = {"SGD": ref.SGD_MISTAKES, "RMSprop": ref.RMSPROP_MISTAKES, "Adam": ref.ADAM_MISTAKES,
          "AdamW": ref.ADAMW_MISTAKES, "descend": ref.DESCEND_MISTAKES}
KNOWN = [(exercise, key, fn) for exercise, table in TABLES.items() for key, fn in table.items()]


@pytest.mark.parametrize(("exercise", "key", "implementation"), KNOWN, ids=[f"{e}-{k}" for e, k, _ in KNOWN])
def test_each_known_mistake_gets_its_own_message(exercise, key, implementation):
    feedback = first_failure(LAB, exercise, implementation)
    assert feedback is not None and feedback.startswith(f"Lab 10 · {exercise}"), feedback
    messages = checks.load_lab(LAB).exercise(exercise).messages
    assert plain(messages[key]) in feedback
    assert not any(plain(m) in feedback for k, m in messages.items() if k != key and m != messages[key])


# wrong in ways nobody named ----------------------------------------------------------

class SGDHalfStep(ref.SGD):
    def _update(self, p, g, s):
        p -= 0.5 * self.learning_rate * g


class AdamSquaredDenominator(ref.Adam):
    def _update(self, p, g, s):
        m, v = s
        m += (g - m) * (1 - self.beta_1)
        v += (g ** 2 - v) * (1 - self.beta_2)
        p -= m * self._alpha(self.iterations) / (v + self.epsilon)


class RMSpropAbsolute(ref.RMSprop):
    def _update(self, p, g, s):
        v, _ = s
        v[...] = self.rho * v + (1 - self.rho) * np.abs(g)
        p -= self.learning_rate * g / np.sqrt(v + self.epsilon)


UNKNOWN = [("SGD", SGDHalfStep), ("Adam", AdamSquaredDenominator), ("RMSprop", RMSpropAbsolute),
           ("descend", lambda optimizer, gradient, start, steps: ref.descend(optimizer, gradient, start, steps)[::-1]),
           ("moving_average", lambda values, beta, bias_correction=False: np.cumsum(values, axis=0))]


@pytest.mark.parametrize(("exercise", "implementation"), UNKNOWN, ids=case_ids(UNKNOWN))
def test_unnamed_mistakes_get_no_invented_cause(exercise, implementation):
    feedback = first_failure(LAB, exercise, implementation)
    assert feedback is not None, "a wrong implementation passed"
    messages = checks.load_lab(LAB).exercise(exercise).messages
    assert [k for k, m in messages.items() if plain(m) in feedback] == []


def test_descend_must_not_change_start():
    def in_place(optimizer, gradient, start, steps):
        path = [start.copy()]
        for _ in range(steps):
            optimizer.step([start], [gradient(start)])
            path.append(start.copy())
        return np.array(path)

    feedback = first_failure(LAB, "descend", in_place)
    assert feedback is not None and ("changed its input" in feedback or "raised" in feedback), feedback


def test_pytorch_momentum_agrees_while_the_learning_rate_is_constant():
    """The mistake is only a mistake once a schedule changes the rate: the check's cases do."""
    start, grads = [np.array([1.0, -2.0])], [[np.array([0.5, 0.25])], [np.array([-1.0, 2.0])], [np.array([3.0, 1.0])]]
    def moves(cls, rates):
        return optimizer_run(cls, {"learning_rate": 0.1, "momentum": 0.9}, start, grads, rates)["moves"]

    np.testing.assert_allclose(moves(ref.SGD_MISTAKES["pytorch_momentum"], [None] * 3), moves(ref.SGD, [None] * 3),
                               rtol=1e-12)
    assert not np.allclose(moves(ref.SGD_MISTAKES["pytorch_momentum"], [None, 0.5, None]),
                           moves(ref.SGD, [None, 0.5, None]))


@pytest.mark.parametrize("seed", range(6))
def test_hidden_cases_hold_tiny_gradients_zeros_and_rate_changes(seed):
    cases = checks.load_lab(LAB).hidden_cases(seed)
    labels = " ".join(c.label for name in ("SGD", "RMSprop", "Adam", "AdamW") for c in cases[name])
    assert "order 1e-6" in labels and "exactly 0" in labels and "learning_rate set to" in labels
    assert any(not c.args[0] for c in cases["Adam"])  # the defaults, left out


# state per instance, the step count, the rate read at every step --------------------------------------

class AdamMomentsOnTheClass:
    """The moments in a class attribute: every Adam shares them."""

    moments = []

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.iterations = 0

    def step(self, params, grads):
        if not self.moments:
            self.moments.extend((np.zeros_like(p), np.zeros_like(p)) for p in params)
        self.iterations += 1
        t = self.iterations
        alpha = self.learning_rate * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        for p, g, (m, v) in zip(params, grads, self.moments):
            m += (g - m) * (1 - self.beta_1)
            v += (g ** 2 - v) * (1 - self.beta_2)
            p -= m * alpha / (np.sqrt(v) + self.epsilon)


class AdamCountOnTheClass(ref.Adam):
    """The step count advanced on the class (Adam.t += 1): one clock for every instance."""

    t = 0

    def step(self, params, grads):
        AdamCountOnTheClass.t += 1
        self.iterations = AdamCountOnTheClass.t - 1
        ref.Adam.step(self, params, grads)


class SGDVelocityOnTheClass:
    """Velocities in a class-level dict keyed by position (reset when a shape changes)."""

    velocity = {}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov

    def step(self, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            m = self.velocity.get(i)
            if m is None or m.shape != p.shape:
                m = self.velocity[i] = np.zeros_like(p)
            m[...] = self.momentum * m - self.learning_rate * g
            p += self.momentum * m - self.learning_rate * g if self.nesterov else m


class RMSpropRateCopied(ref.RMSprop):
    """self.lr copied in __init__ and used at every step: a rate set later is never read."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
        super().__init__(learning_rate, rho, momentum, epsilon)
        self.lr = learning_rate

    def _update(self, p, g, s):
        changed, self.learning_rate = self.learning_rate, self.lr
        ref.RMSprop._update(self, p, g, s)
        self.learning_rate = changed


class AdamWAlphaAtConstruction(ref.AdamW):
    """The rate folded into the decay factor once, in __init__."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep = 1 - self.weight_decay * self.learning_rate
        self.rate = self.learning_rate

    def step(self, params, grads):
        for p in params:
            p *= self.keep
        changed, self.learning_rate = self.learning_rate, self.rate
        ref.Adam.step(self, params, grads)
        self.learning_rate = changed


class AdamBetaPowersFrozenCount:
    """Keras 2's running powers of the betas: right steps, but iterations stays 0 (the step count never advances)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.iterations, self.moments, self.power_1, self.power_2 = 0, None, 1.0, 1.0

    def step(self, params, grads):
        if self.moments is None:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.power_1, self.power_2 = self.power_1 * self.beta_1, self.power_2 * self.beta_2
        alpha = self.learning_rate * np.sqrt(1 - self.power_2) / (1 - self.power_1)
        for p, g, (m, v) in zip(params, grads, self.moments):
            m += (g - m) * (1 - self.beta_1)
            v += (g ** 2 - v) * (1 - self.beta_2)
            p -= m * alpha / (np.sqrt(v) + self.epsilon)


class AdamBetaPowersCounted(AdamBetaPowersFrozenCount):
    """The same running powers, with iterations advanced: right."""

    def step(self, params, grads):
        self.iterations += 1
        super().step(params, grads)


class AdamWInstanceCounter(ref.AdamW):
    """A class-level count of instances made, changed only in __init__: no state shared by the steps."""

    made = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).made += 1


NAMED = [
    ("Adam", AdamMomentsOnTheClass, "class_state"), ("Adam", AdamCountOnTheClass, "class_state"),
    ("SGD", SGDVelocityOnTheClass, "class_state"), ("RMSprop", RMSpropRateCopied, "rate_frozen"),
    ("AdamW", AdamWAlphaAtConstruction, "rate_frozen"),
]


@pytest.mark.parametrize(("exercise", "implementation", "key"), NAMED, ids=[f"{e}-{c.__name__}" for e, c, _ in NAMED])
@pytest.mark.parametrize("seeds", [(0, 1, 2), (3, 4, 5)], ids=["secrets-0-2", "secrets-3-5"])
def test_state_and_rate_mistakes_are_named_under_every_secret(exercise, implementation, key, seeds):
    feedback = first_failure(LAB, exercise, implementation, seeds=seeds)
    assert feedback is not None and plain(checks.load_lab(LAB).exercise(exercise).messages[key]) in feedback, feedback


def test_a_step_count_that_never_advances_fails_and_says_so():
    feedback = first_failure(LAB, "Adam", AdamBetaPowersFrozenCount)
    assert feedback is not None and "iterations reads 0 after step 1, expected 1" in feedback, feedback


@pytest.mark.parametrize(("exercise", "implementation"), [("Adam", AdamBetaPowersCounted),
                                                          ("AdamW", AdamWInstanceCounter)])
def test_more_correct_optimizers_pass(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None
