"""Lab 10 hidden checks: reference optimizers with Keras's exact rules, their known mistakes, the cases.

``keras_train`` is judged against ``train_linear`` run with ``keras_twin``: the same rules, with the
hyperparameters that Keras casts through float32 rounded as Keras rounds them.

Conventions (the notebook states them): ``step(params, grads)`` updates the arrays of ``params``
in place and returns nothing; the slots (velocities, moments) are one per parameter, created at
the first step; ``learning_rate`` is a public attribute read at every step. The rules are Keras's:
SGD's velocity carries the learning rate (m ← μm − lr·g, p += m; Nesterov p += μm − lr·g),
RMSprop's ε sits inside the square root, Adam uses the ε̂ form with a 1-based step count, AdamW
decays p ← p − p·wd·lr before the Adam step. ``tests/test_lab10_keras.py`` proves that these
references equal ``keras.optimizers`` step for step in float64.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.hidden import build_case
from autograder.probes.lab10 import descend_run, optimizer_run


def _f(values) -> np.ndarray:
    return np.array(values, dtype=float)


# moving_average ----------------------------------------------------------------------

def moving_average(values, beta, bias_correction=False):
    values = _f(values)
    m, out = np.zeros_like(values[0]), []
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta ** t) if bias_correction else m)
    return np.array(out)


def _average_with(weight_new=None, first=False, corrected_state=False, zero_based=False, correct=None):
    def average(values, beta, bias_correction=False):
        values, fix = _f(values), bias_correction if correct is None else correct
        m, out = np.zeros_like(values[0]), []
        for t, x in enumerate(values, start=1):
            keep = beta if weight_new is None else 1 - beta
            m = x if first and t == 1 else keep * m + (1 - keep) * x
            shown = m / (1 - beta ** (t - 1 if zero_based else t)) if fix else m
            if corrected_state:
                m = shown
            out.append(shown)
        return np.array(out)
    return average


AVERAGE_MISTAKES = {
    "weights_swapped": _average_with(weight_new=True),
    "started_at_first_value": _average_with(first=True),
    "no_bias_correction": _average_with(correct=False),
    "zero_based_t": _average_with(zero_based=True),
    "corrected_state": _average_with(corrected_state=True),
}


# the optimizers ----------------------------------------------------------------------

class _Optimizer:
    """Slots made at the first step, one set per parameter; subclasses define _slots and _update."""

    slots = None

    def step(self, params, grads):
        if self.slots is None:
            self.slots = [self._slots(p) for p in params]
        for p, g, s in zip(params, grads, self.slots):
            self._update(p, _f(g), s)


class SGD(_Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov

    def _slots(self, p):
        return [np.zeros_like(p)]

    def _update(self, p, g, s):
        (m,) = s
        if self.momentum == 0:
            p -= g * self.learning_rate
            return
        m[...] = m * self.momentum - g * self.learning_rate
        if self.nesterov:
            p += m * self.momentum - g * self.learning_rate
        else:
            p += m


class RMSprop(_Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
        self.learning_rate, self.rho, self.momentum, self.epsilon = learning_rate, rho, momentum, epsilon

    def _slots(self, p):
        return [np.zeros_like(p), np.zeros_like(p)]

    def _update(self, p, g, s):
        v, mom = s
        v[...] = self.rho * v + (1 - self.rho) * np.square(g)
        increment = self.learning_rate * g / np.sqrt(v + self.epsilon)
        if self.momentum > 0:
            mom[...] = self.momentum * mom + increment
            p -= mom
        else:
            p -= increment


class Adam(_Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.iterations = 0

    def _slots(self, p):
        return [np.zeros_like(p), np.zeros_like(p)]

    def step(self, params, grads):
        self.iterations += 1
        super().step(params, grads)

    def _alpha(self, t):
        return self.learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)

    def _update(self, p, g, s):
        m, v = s
        alpha = self._alpha(self.iterations)
        m += (g - m) * (1 - self.beta_1)
        v += (np.square(g) - v) * (1 - self.beta_2)
        p -= m * alpha / (np.sqrt(v) + self.epsilon)


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = weight_decay

    def step(self, params, grads):
        for p in params:
            p[...] = p - p * self.weight_decay * self.learning_rate
        super().step(params, grads)


REFERENCES = {"SGD": SGD, "RMSprop": RMSprop, "Adam": Adam, "AdamW": AdamW}


# mistakes shared by every optimizer ----------------------------------------------------

def _shared_state(cls):
    """One set of slots for every parameter (made from the first): wrong values, or a shape error."""
    class Shared(cls):
        def step(self, params, grads):
            if self.slots is None:
                self.slots = [self._slots(params[0])] * len(params)
            cls.step(self, params, grads)
    return Shared


def _not_in_place(cls):
    """``p = p - …`` in the loop: the caller's arrays never change."""
    class Rebinding(cls):
        def step(self, params, grads):
            cls.step(self, [p.copy() for p in params], grads)
    return Rebinding


def _rate_frozen(cls):
    """The learning rate copied at construction: a rate set between steps is never read."""
    class Frozen(cls):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.frozen_rate = self.learning_rate

        def step(self, params, grads):
            changed, self.learning_rate = self.learning_rate, self.frozen_rate
            try:
                cls.step(self, params, grads)
            finally:
                self.learning_rate = changed
    return Frozen


def _common(cls):
    return {"shared_state": _shared_state(cls), "not_in_place": _not_in_place(cls), "rate_frozen": _rate_frozen(cls)}


# SGD ---------------------------------------------------------------------------------

class _PyTorchMomentum(SGD):
    def _update(self, p, g, s):
        (buf,) = s
        if self.momentum == 0:
            p -= g * self.learning_rate
            return
        buf[...] = self.momentum * buf + g
        p -= self.learning_rate * (g + self.momentum * buf if self.nesterov else buf)


class _AverageMomentum(SGD):
    def _update(self, p, g, s):
        (v,) = s
        if self.momentum == 0:
            p -= g * self.learning_rate
            return
        v[...] = self.momentum * v + (1 - self.momentum) * g
        p -= self.learning_rate * (self.momentum * v + (1 - self.momentum) * g if self.nesterov else v)


class _NesterovIgnored(SGD):
    def _update(self, p, g, s):
        nesterov, self.nesterov = self.nesterov, False
        super()._update(p, g, s)
        self.nesterov = nesterov


class _StaleVelocity(SGD):
    def _update(self, p, g, s):
        if self.nesterov or self.momentum == 0:
            raise ValueError("this mistake is about plain momentum")
        (m,) = s
        p += m
        m[...] = m * self.momentum - g * self.learning_rate


SGD_MISTAKES = {"pytorch_momentum": _PyTorchMomentum, "average_momentum": _AverageMomentum,
                "nesterov_ignored": _NesterovIgnored, "stale_velocity": _StaleVelocity, **_common(SGD)}


# RMSprop -----------------------------------------------------------------------------

def _rmsprop_with(denominator=None, rho_swapped=False, momentum=True):
    class Variant(RMSprop):
        def _update(self, p, g, s):
            v, mom = s
            rho = 1 - self.rho if rho_swapped else self.rho
            v[...] = rho * v + (1 - rho) * np.square(g)
            root = np.sqrt(v + self.epsilon) if denominator is None else denominator(v, self.epsilon)
            increment = self.learning_rate * g / root
            if momentum and self.momentum > 0:
                mom[...] = self.momentum * mom + increment
                p -= mom
            else:
                p -= increment
    return Variant


RMSPROP_MISTAKES = {
    "eps_outside_sqrt": _rmsprop_with(lambda v, eps: np.sqrt(v) + eps),
    "no_epsilon": _rmsprop_with(lambda v, eps: np.sqrt(v)),
    "rho_swapped": _rmsprop_with(rho_swapped=True),
    "momentum_ignored": _rmsprop_with(momentum=False),
    **_common(RMSprop),
}


# Adam and AdamW ----------------------------------------------------------------------

def _adam_with(base, textbook=False, corrected=True, clock="step"):
    """Adam (or AdamW) with one known mistake: the textbook ε, no bias correction, or a wrong step count."""
    class Variant(base):
        def step(self, params, grads):
            if clock == "never":
                self.iterations = 0
            if clock in ("from_zero", "per_parameter"):
                self.iterations -= 1  # the step's own increment brings it back
            base.step(self, params, grads)
            if clock == "from_zero":
                self.iterations += 1  # counted after the update

        def _update(self, p, g, s):
            if clock == "per_parameter":
                self.iterations += 1
            m, v = s
            t = self.iterations
            m += (g - m) * (1 - self.beta_1)
            v += (np.square(g) - v) * (1 - self.beta_2)
            if textbook:
                m_hat, v_hat = m / (1 - self.beta_1 ** t), v / (1 - self.beta_2 ** t)
                p -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)
            elif corrected:
                with np.errstate(all="ignore"):
                    p -= m * self._alpha(t) / (np.sqrt(v) + self.epsilon) if t else m * math.nan
            else:
                p -= self.learning_rate * m / (np.sqrt(v) + self.epsilon)
    return Variant


def _adam_mistakes(base):
    return {
        "textbook_eps": _adam_with(base, textbook=True),
        "no_bias_correction": _adam_with(base, corrected=False),
        "t_never_incremented": _adam_with(base, clock="never"),
        "t_from_zero": _adam_with(base, clock="from_zero"),
        "t_per_parameter": _adam_with(base, clock="per_parameter"),
        **_common(base),
    }


ADAM_MISTAKES = _adam_mistakes(Adam)


class _L2Adam(AdamW):
    def step(self, params, grads):
        Adam.step(self, params, [_f(g) + self.weight_decay * p for p, g in zip(params, grads)])


class _DecayAfterStep(AdamW):
    def step(self, params, grads):
        Adam.step(self, params, grads)
        for p in params:
            p[...] = p - p * self.weight_decay * self.learning_rate


class _DecayWithoutRate(AdamW):
    def step(self, params, grads):
        for p in params:
            p[...] = p - p * self.weight_decay
        Adam.step(self, params, grads)


class _NoDecay(AdamW):
    def step(self, params, grads):
        Adam.step(self, params, grads)


ADAMW_MISTAKES = {"l2_gradient": _L2Adam, "decay_after_step": _DecayAfterStep,
                  "decay_without_rate": _DecayWithoutRate, "no_decay": _NoDecay,
                  **{k: v for k, v in _adam_mistakes(AdamW).items() if k in ("textbook_eps", "no_bias_correction",
                                                                            "t_never_incremented", "shared_state",
                                                                            "not_in_place", "rate_frozen")}}

MISTAKES = {"SGD": SGD_MISTAKES, "RMSprop": RMSPROP_MISTAKES, "Adam": ADAM_MISTAKES, "AdamW": ADAMW_MISTAKES}


# descend -----------------------------------------------------------------------------

def descend(optimizer, gradient, start, steps):
    x = np.array(start, dtype=float)
    path = [x.copy()]
    for _ in range(steps):
        optimizer.step([x], [gradient(x)])
        path.append(x.copy())
    return np.array(path)


def _descend_aliased(optimizer, gradient, start, steps):
    x = np.array(start, dtype=float)
    path = [x]
    for _ in range(steps):
        optimizer.step([x], [gradient(x)])
        path.append(x)
    return np.array(path)


def _descend_without_start(optimizer, gradient, start, steps):
    return descend(optimizer, gradient, start, steps)[1:]


def _descend_stale(optimizer, gradient, start, steps):
    x = np.array(start, dtype=float)
    g, path = gradient(x), [x.copy()]
    for _ in range(steps):
        optimizer.step([x], [g.copy()])
        path.append(x.copy())
    return np.array(path)


DESCEND_MISTAKES = {
    "aliased": _descend_aliased,
    "missing_start": _descend_without_start,
    "stale_gradient": _descend_stale,
    "extra_step": lambda optimizer, gradient, start, steps: descend(optimizer, gradient, start, steps + 1),
}


# keras_train -------------------------------------------------------------------------

def _float32(value) -> float:
    return float(np.float32(value))


class _KerasAdam(Adam):
    """Keras's bias correction: β₁ and β₂ pass through float32 (``ops.cast`` of a Python float) in βᵗ only."""

    def _alpha(self, t):
        return self.learning_rate * math.sqrt(1 - _float32(self.beta_2) ** t) / (1 - _float32(self.beta_1) ** t)


class _KerasAdamW(AdamW, _KerasAdam):
    """AdamW's decay, then Keras's Adam step (its weight_decay is cast through float32 by ``keras_twin``)."""


KERAS_DEFAULTS = {"SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
                  "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7},
                  "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
                  "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999,
                            "epsilon": 1e-7}}


def keras_twin(name, kwargs):
    """A NumPy optimizer that steps exactly as float64 ``keras.optimizers.<name>(**kwargs)`` does.

    Keras casts SGD's momentum, Adam's β₁ and β₂ (in the bias correction) and the weight decay from a
    Python float to the variable's dtype through float32; the learning rate, ρ and ε reach float64 exactly
    (with floatx float64). ``tests/test_lab10_keras.py`` checks this twin against Keras at 1e-13.
    """
    kwargs = {**KERAS_DEFAULTS[name], **kwargs}
    if name == "SGD":
        kwargs["momentum"] = _float32(kwargs["momentum"])
    if name == "AdamW":
        kwargs["weight_decay"] = _float32(kwargs["weight_decay"])
    return {"SGD": SGD, "RMSprop": RMSprop, "Adam": _KerasAdam, "AdamW": _KerasAdamW}[name](**kwargs)


def _loss_and_gradients(X, y, kernel, bias, loss):
    """The loss of ŷ = X·kernel + bias and its gradients: "mean" squared error, "sum", or "broadcast" (n, n)."""
    predictions = X @ kernel + bias
    if loss == "broadcast":  # model(X) of shape (n, 1) minus y of shape (n,): every prediction against every target
        error = predictions[:, None] - y[None, :]
        row_mean = np.mean(error, axis=1)
        return np.mean(error ** 2), [2 * X.T @ row_mean / len(y), np.array([2 * np.mean(error)])]
    error = predictions - y
    scale = 1.0 if loss == "sum" else 1.0 / len(y)
    return np.sum(error ** 2) * scale, [2 * scale * X.T @ error, np.array([2 * scale * np.sum(error)])]


def train_linear(make_optimizer, X, y, kernel, bias, steps, loss="mean", fresh=False, late=False):
    """``steps`` full-batch steps of ``make_optimizer()`` on ŷ = X·kernel + bias: what keras_train returns.

    Returns:
        ``{"losses": the loss before each step (steps,), "kernel": (d,), "bias": float}``; with ``late``, the
        losses after each step instead; with ``fresh``, a new optimizer at every step.
    """
    X, y = _f(X), _f(y)
    params = [_f(kernel).copy(), np.array([float(bias)])]
    optimizer, losses = make_optimizer(), []
    for _ in range(steps):
        value, grads = _loss_and_gradients(X, y, params[0], params[1][0], loss)
        losses.append(value)
        if fresh:
            optimizer = make_optimizer()
        optimizer.step(params, grads)
    losses.append(_loss_and_gradients(X, y, params[0], params[1][0], loss)[0])
    return {"losses": np.array(losses[1:] if late else losses[:-1]), "kernel": params[0], "bias": float(params[1][0])}


def keras_train(name, kwargs, X, y, kernel, bias, steps):
    """What probes.lab10.keras_training reports for a right keras_train (less its "yours")."""
    return train_linear(lambda: keras_twin(name, kwargs), X, y, kernel, bias, steps)


def _trained_with(change=None, **run):
    def report(name, kwargs, X, y, kernel, bias, steps):
        twin_name, twin_kwargs = change(name, dict(kwargs)) if change else (name, kwargs)
        return train_linear(lambda: keras_twin(twin_name, twin_kwargs), X, y, kernel, bias, steps, **run)
    return report


def _keep(*keys, names=None):
    """Only ``keys`` of the object's hyperparameters passed on; the others left at Keras's defaults."""
    def change(name, kwargs):
        if names is not None and name not in names:
            raise ValueError("not this optimizer's mistake")
        return name, {k: v for k, v in kwargs.items() if k in keys}
    return change


def _drop(*keys, names=None):
    def change(name, kwargs):
        if names is not None and name not in names:
            raise ValueError("not this optimizer's mistake")
        return name, {k: v for k, v in kwargs.items() if k not in keys}
    return change


def _epsilon(value):
    def change(name, kwargs):
        if name == "SGD":
            raise ValueError("SGD has no epsilon")
        return name, {**kwargs, "epsilon": value}
    return change


def _adam_for_adamw(name, kwargs):
    if name != "AdamW":
        raise ValueError("not AdamW")
    return "Adam", {k: v for k, v in kwargs.items() if k != "weight_decay"}


KERAS_MISTAKES = {
    "only_learning_rate": _trained_with(_keep("learning_rate")),
    "momentum_dropped": _trained_with(_drop("momentum", "nesterov", names=("SGD", "RMSprop"))),
    "nesterov_dropped": _trained_with(_drop("nesterov", names=("SGD",))),
    "epsilon_default": _trained_with(_drop("epsilon", names=("RMSprop", "Adam", "AdamW"))),
    "epsilon_pytorch": _trained_with(_epsilon(1e-8)),
    "weight_decay_dropped": _trained_with(_adam_for_adamw),
    "fresh_optimizer": _trained_with(fresh=True),
    "sum_loss": _trained_with(loss="sum"),
    "broadcast_loss": _trained_with(loss="broadcast"),
    "loss_after_step": _trained_with(late=True),
}


# cases -------------------------------------------------------------------------------

def _probed(probe, implementation):
    return lambda *args: probe(implementation, *args)


def _call_text(name, kwargs) -> str:
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def _text(values) -> str:
    return np.array2string(_f(values), precision=3, separator=", ", threshold=8, edgeitems=2).replace("\n", "")


def _gradients(rng, shapes, steps, tiny=None, zero_first=None, zero_step=None):
    """A changing gradient sequence: normal draws, one parameter's of order 1e-6, exact zeros where asked."""
    sequence = []
    for t in range(steps):
        row = []
        for i, shape in enumerate(shapes):
            g = np.round(rng.normal(size=shape), 3) * (1e-6 if i == tiny else 1.0)
            if (t == 0 and i == zero_first) or t == zero_step:
                g = np.zeros(shape)
            row.append(g)
        sequence.append(row)
    return sequence


def _story(shapes, steps, tiny, zero_first, zero_step, rates) -> str:
    parts = [f"parameters of shapes {', '.join(str(tuple(s)) for s in shapes)}", f"{steps} steps of changing gradients"]
    if tiny is not None:
        parts.append(f"parameter {tiny}'s gradients of order 1e-6")
    if zero_first is not None:
        parts.append(f"parameter {zero_first}'s first gradient exactly 0")
    if zero_step is not None:
        parts.append(f"every gradient 0 at step {zero_step + 1}")
    for t, rate in enumerate(rates):
        if rate is not None:
            parts.append(f"learning_rate set to {rate:g} before step {t + 1}")
    return ", ".join(parts)


def _optimizer_case(rng, name, kwargs, shapes, steps, tiny=None, zero_first=None, zero_step=None, rates=None):
    shapes = [tuple(s) for s in shapes]
    start = [np.round(rng.normal(size=s), 2) for s in shapes]
    grads = _gradients(rng, shapes, steps, tiny, zero_first, zero_step)
    rates = list(rates or [None] * steps)
    label = f"{_call_text(name, kwargs)}; " + _story(shapes, steps, tiny, zero_first, zero_step, rates)
    args = (dict(kwargs), start, grads, rates)
    mistakes = {key: _moves_only(_probed(optimizer_run, cls)) for key, cls in MISTAKES[name].items()}
    mistakes["class_state"] = lambda *a: {"instances_share": True}  # matched by what the report shows, not values
    return build_case(label, args, lambda *a: _counted(name, optimizer_run(REFERENCES[name], *a)), mistakes)


def _moves_only(run):
    """A mistake's report, its step count left unjudged: a mistake is matched by its moves."""
    return lambda *args: {**run(*args), "iterations": None}


def _counted(name, report):
    """The reference's report; its "iterations" judged only where the docstring promises the attribute."""
    return report if name in ("Adam", "AdamW") else {**report, "iterations": None}


def _rates(steps, at, rate):
    return [rate if t == at else None for t in range(steps)]


def _average_case(values, beta, bias_correction=None, as_list=False):
    kwargs = {} if bias_correction is None else {"bias_correction": bias_correction}
    flag = "left at its default" if bias_correction is None else f"= {bias_correction}"
    shown = f"{values!r} (a plain list)" if as_list else f"of shape {_f(values).shape} = {_text(values)}"
    label = f"values {shown}, beta = {beta!r}, bias_correction {flag}"
    return build_case(label, (values if as_list else _f(values), beta), moving_average, AVERAGE_MISTAKES,
                      kwargs=kwargs)


def _descend_case(rates, matrix, center, start, steps):
    start_text = f"{start!r} (a plain list)" if isinstance(start, list) else _text(start)
    label = (f"∇f(x) = A (x − c) with A = {_text(matrix)}, c = {_text(center)}, start = {start_text}, "
             f"steps = {steps}, an optimizer whose step size changes at every call")
    args = ([float(r) for r in rates], _f(matrix), _f(center), start, steps)
    return build_case(label, args, lambda *a: descend_run(descend, *a),
                      {key: _probed(descend_run, fn) for key, fn in DESCEND_MISTAKES.items()})


def _regression(rng, n, scales):
    """A small linear-regression problem in quarters: features of different scales make its bowl narrow."""
    scales = _f(scales)
    X = np.round(rng.normal(size=(n, len(scales))) * scales * 4) / 4
    truth = np.round(rng.normal(size=len(scales)), 1)
    y = np.round((X @ truth + rng.normal() + 0.5 * rng.normal(size=n)) * 4) / 4
    kernel = np.round(rng.normal(size=len(scales)), 2)
    return X, y, kernel, float(np.round(rng.normal(), 2))


def _keras_case(rng, name, kwargs, steps, n=6, scales=(1.0, 5.0)):
    X, y, kernel, bias = _regression(rng, n, scales)
    label = (f"keras_train(your {_call_text(name, kwargs)}, X of shape {X.shape} with feature scales "
             f"{', '.join(f'{s:g}' for s in scales)}, y = {_text(y)}, kernel = {_text(kernel)}, bias = {bias:g}, "
             f"steps = {steps})")
    return build_case(label, (name, dict(kwargs), X, y, kernel, bias, steps), keras_train, KERAS_MISTAKES)


BOWL = np.array([[1.0, 0.0], [0.0, 25.0]])  # the notebook's race: f = ½(x² + 25y²), condition number 25


def public_cases():
    rng = np.random.default_rng(10)
    mixed, same = [(2,), (2, 3), (1,)], [(3,), (3,)]
    return {
        "moving_average": [_average_case([1.0, 1.0, 1.0, 1.0], 0.9),
                           _average_case([2.0, 0.0, 1.0, 3.0, 1.0], 0.5, bias_correction=True)],
        "SGD": [
            _optimizer_case(rng, "SGD", {"learning_rate": 0.1}, mixed, 4),
            _optimizer_case(rng, "SGD", {"learning_rate": 0.1, "momentum": 0.9}, mixed, 6, zero_step=2,
                            rates=_rates(6, 3, 0.05)),
            _optimizer_case(rng, "SGD", {"learning_rate": 0.05, "momentum": 0.5, "nesterov": True}, same, 5,
                            rates=_rates(5, 2, 0.2)),
        ],
        "RMSprop": [
            _optimizer_case(rng, "RMSprop", {}, mixed, 6, tiny=1, zero_first=0),
            _optimizer_case(rng, "RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "epsilon": 1e-6},
                            same, 5, zero_step=2),
        ],
        "Adam": [
            _optimizer_case(rng, "Adam", {}, mixed, 6, tiny=1, zero_first=0),
            _optimizer_case(rng, "Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6},
                            same, 5, zero_step=2),
        ],
        "AdamW": [
            _optimizer_case(rng, "AdamW", {}, mixed, 6, tiny=1, zero_first=0),
            _optimizer_case(rng, "AdamW", {"learning_rate": 0.1, "weight_decay": 0.5}, same, 5, zero_step=2),
        ],
        "descend": [_descend_case([0.1, 0.05, 0.02], BOWL, [0.0, 0.0], np.array([-4.0, 1.2]), 3),
                    _descend_case([0.5, 0.25], np.eye(2), [1.0, -1.0], np.array([3.0, 2.0]), 4)],
        "keras_train": [
            _keras_case(rng, "SGD", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}, 6),
            _keras_case(rng, "RMSprop", {"learning_rate": 0.05, "rho": 0.8, "momentum": 0.5, "epsilon": 1e-6}, 6),
            _keras_case(rng, "Adam", {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}, 6),
            _keras_case(rng, "AdamW", {"learning_rate": 0.1, "weight_decay": 0.2, "beta_1": 0.9, "beta_2": 0.999,
                                       "epsilon": 3e-7}, 6),
        ],
    }


def _shapes(rng, count):
    return [tuple(int(n) for n in rng.integers(1, 4, size=int(rng.integers(1, 3)))) for _ in range(count)]


def _draw(rng, values, digits=3):
    return float(np.round(rng.choice(values), digits))


def hidden_cases(rng):
    """Other shapes and hyperparameters, exact zeros, gradients of order 1e-6, rates changed mid-run, defaults."""
    mixed = _shapes(rng, 3) + [(1,)]
    one = [(int(rng.integers(2, 5)),)]
    same = [(int(rng.integers(2, 4)), 2)] * 2
    steps = int(rng.integers(6, 9))
    change_at = int(rng.integers(2, steps - 1))
    lr = _draw(rng, [0.05, 0.1, 0.2])
    mu = _draw(rng, [0.5, 0.8, 0.9, 0.95])
    rho = _draw(rng, [0.7, 0.8, 0.95])
    eps = _draw(rng, [1e-6, 3e-7, 2e-6], 9)
    b1, b2 = _draw(rng, [0.5, 0.8, 0.85]), _draw(rng, [0.9, 0.95, 0.99])
    wd = _draw(rng, [0.1, 0.3, 0.5])
    new_rate = lr * _draw(rng, [0.25, 0.5, 3.0])
    x0 = [int(v) for v in rng.integers(-4, 5, size=2)]
    diag = np.diag([1.0, float(rng.integers(5, 30))])
    sgd_lr = _draw(rng, [0.005, 0.01])
    train_steps, n = int(rng.integers(4, 8)), int(rng.integers(4, 9))
    scales = [1.0, _draw(rng, [3.0, 5.0]), 0.5][:int(rng.integers(1, 4))]
    return {
        "moving_average": [
            _average_case(np.round(rng.normal(size=int(rng.integers(4, 8))), 2), _draw(rng, [0.5, 0.8, 0.9])),
            _average_case(np.round(rng.normal(size=(int(rng.integers(3, 6)), 2)), 2), b1, bias_correction=True),
            _average_case(np.round(rng.normal(size=1), 2) + 3, b2, bias_correction=True),
            _average_case([float(rng.integers(1, 5))] * 3, mu, bias_correction=False),
            _average_case([int(v) for v in rng.integers(-3, 4, size=4)], mu, bias_correction=True, as_list=True),
            _average_case([[float(a), float(b)] for a, b in np.round(rng.normal(size=(3, 2)), 1)], b1, as_list=True),
        ],
        "SGD": [
            _optimizer_case(rng, "SGD", {}, mixed, steps, tiny=1, zero_first=0),
            _optimizer_case(rng, "SGD", {"learning_rate": lr, "momentum": mu}, mixed, steps, zero_step=1,
                            rates=_rates(steps, change_at, new_rate)),
            _optimizer_case(rng, "SGD", {"learning_rate": lr, "momentum": mu, "nesterov": True}, mixed, steps,
                            rates=_rates(steps, change_at, new_rate)),
            _optimizer_case(rng, "SGD", {"learning_rate": lr, "momentum": 0.0, "nesterov": True}, one, 3),
            _optimizer_case(rng, "SGD", {"learning_rate": lr, "momentum": mu, "nesterov": False}, same, steps,
                            rates=_rates(steps, change_at, new_rate)),
            _optimizer_case(rng, "SGD", {"learning_rate": lr, "momentum": mu, "nesterov": True}, same, steps),
        ],
        "RMSprop": [
            _optimizer_case(rng, "RMSprop", {}, mixed, steps, tiny=1, zero_first=0),
            _optimizer_case(rng, "RMSprop", {"learning_rate": lr / 10, "rho": rho, "momentum": mu, "epsilon": eps},
                            mixed, steps, tiny=0, zero_step=1, rates=_rates(steps, change_at, new_rate / 10)),
            _optimizer_case(rng, "RMSprop", {"learning_rate": lr / 10, "rho": rho, "epsilon": eps}, same, steps,
                            tiny=1, zero_first=0),
        ],
        "Adam": [
            _optimizer_case(rng, "Adam", {}, mixed, steps, tiny=1, zero_first=0),
            _optimizer_case(rng, "Adam", {"learning_rate": lr / 10, "beta_1": b1, "beta_2": b2, "epsilon": eps},
                            mixed, steps, tiny=0, zero_step=1, rates=_rates(steps, change_at, new_rate / 10)),
            _optimizer_case(rng, "Adam", {"learning_rate": lr / 10, "beta_1": b1, "beta_2": b2}, same, steps, tiny=1),
        ],
        "AdamW": [
            _optimizer_case(rng, "AdamW", {}, mixed, steps, tiny=1, zero_first=0),
            _optimizer_case(rng, "AdamW", {"learning_rate": lr, "weight_decay": wd, "beta_1": b1, "beta_2": b2,
                                           "epsilon": eps}, mixed, steps, tiny=0, zero_step=1,
                            rates=_rates(steps, change_at, new_rate)),
            _optimizer_case(rng, "AdamW", {"learning_rate": lr, "weight_decay": wd}, same, steps, tiny=1),
        ],
        "descend": [
            _descend_case(np.round(rng.uniform(0.01, 0.06, size=steps), 3), diag, [0.0, 0.0], x0, steps),
            _descend_case([_draw(rng, [0.1, 0.3])], np.eye(1) * 2, [1.5], np.array([float(x0[0])]), 1),
            _descend_case(np.round(rng.uniform(0.05, 0.2, size=3), 3), np.array([[2.0, 0.5], [0.5, 1.0]]),
                          np.round(rng.normal(size=2), 2), np.round(rng.normal(size=2), 2), 0),
        ],
        "keras_train": [
            _keras_case(rng, "SGD", {"learning_rate": sgd_lr}, train_steps, n, scales),
            _keras_case(rng, "SGD", {"learning_rate": sgd_lr, "momentum": mu, "nesterov": False}, train_steps, n,
                        scales),
            _keras_case(rng, "SGD", {"learning_rate": sgd_lr, "momentum": mu, "nesterov": True}, train_steps, n,
                        scales),
            _keras_case(rng, "RMSprop", {"learning_rate": lr, "rho": rho, "momentum": mu, "epsilon": eps},
                        train_steps, n, scales),
            _keras_case(rng, "Adam", {"learning_rate": lr, "beta_1": b1, "beta_2": b2, "epsilon": eps},
                        train_steps, n, scales),
            _keras_case(rng, "AdamW", {"learning_rate": lr, "weight_decay": wd, "beta_1": b1, "beta_2": b2,
                                       "epsilon": eps}, train_steps, n, scales),
        ],
    }


EQUIVALENT_MUTANTS = {
    "moving_average · index · values[0] → values[0 - 1]": "the last value has the shape of the first, and only "
    "its shape is used (np.zeros_like)",
}
