"""Lab 12 hidden checks: the reference regularizers, their known mistakes and the case generators.

Conventions (the notebook states them), all Keras's: the L2 penalty is l2·Σw² over the kernels only
(``keras.regularizers.L2``, no ½, biases not penalised), its gradient 2·l2·W; inverted dropout keeps a
unit where a uniform draw is ≥ rate and scales the kept ones by 1/(1 − rate) in training, and is the
identity in inference; early stopping follows ``keras.callbacks.EarlyStopping`` on a loss (an
improvement is current < best − min_delta, the first epoch always improves, ``wait`` counts before the
test and resets on an improvement, training stops once wait ≥ patience, the best weights come back at
the end of training, stopped or not); batch normalization normalizes with the biased batch variance,
ε inside the root, and updates moving = moving·momentum + batch·(1 − momentum), momentum 0.99, ε 1e-3.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.lab12 import _stop_rule
from autograder.hidden import build_case
from autograder.probes.lab12 import dropout_backward_run, dropout_forward_run, early_stopping_run


def _f(values) -> np.ndarray:
    return np.array(values, dtype=float)


def _text(values) -> str:
    return np.array2string(_f(values), precision=4, separator=", ", threshold=8, edgeitems=2)


def _probed(probe, implementation):
    return lambda *args: probe(implementation, *args)


# L2 ---------------------------------------------------------------------------------------

def l2_penalty(layers, l2):
    return float(l2 * sum(np.sum(_f(W) ** 2) for W, _ in layers))


def l2_gradient(layers, l2):
    return [(2 * l2 * _f(W), np.zeros_like(_f(b))) for W, b in layers]


L2_PENALTY_MISTAKES = {
    "half": lambda layers, l2: 0.5 * l2_penalty(layers, l2),
    "biases_penalised": lambda layers, l2: l2_penalty(layers, l2) + float(
        l2 * sum(np.sum(_f(b) ** 2) for _, b in layers)),
    "mean_not_sum": lambda layers, l2: float(l2 * sum(np.mean(_f(W) ** 2) for W, _ in layers)),
    "l1": lambda layers, l2: float(l2 * sum(np.sum(np.abs(_f(W))) for W, _ in layers)),
}

L2_GRADIENT_MISTAKES = {
    "no_factor_two": lambda layers, l2: [(l2 * _f(W), np.zeros_like(_f(b))) for W, b in layers],
    "bias_gradient": lambda layers, l2: [(2 * l2 * _f(W), 2 * l2 * _f(b)) for W, b in layers],
    "gradient_sign": lambda layers, l2: [(-2 * l2 * _f(W), np.zeros_like(_f(b))) for W, b in layers],
    "gradient_mean": lambda layers, l2: [(2 * l2 * _f(W) / _f(W).size, np.zeros_like(_f(b))) for W, b in layers],
}


# dropout ----------------------------------------------------------------------------------

def dropout_forward(x, rate, rng=None, training=True, mask=None):
    x = _f(x)
    if not training:
        return x, None
    if mask is None:
        rng = np.random.default_rng() if rng is None else rng
        mask = rng.random(x.shape) >= rate
    mask = np.array(mask, dtype=bool)
    return x * mask / (1 - rate), mask


def _dropout_variant(train_scale, eval_scale=lambda rate: 1.0, keep=lambda u, rate: u >= rate, eval_drops=False):
    def forward(x, rate, rng=None, training=True, mask=None):
        x = _f(x)
        if not training and not eval_drops:
            return x * eval_scale(rate), None
        if mask is None:
            rng = np.random.default_rng() if rng is None else rng
            mask = keep(rng.random(x.shape), rate)
        mask = np.array(mask, dtype=bool)
        return x * mask * train_scale(rate), mask
    return forward


DROPOUT_FORWARD_MISTAKES = {
    "no_rescale": _dropout_variant(lambda rate: 1.0),
    "classic": _dropout_variant(lambda rate: 1.0, eval_scale=lambda rate: 1 - rate),
    "eval_scaled": _dropout_variant(lambda rate: 1 / (1 - rate), eval_scale=lambda rate: 1 - rate),
    "rate_as_keep": _dropout_variant(lambda rate: 1 / rate, keep=lambda u, rate: u < rate),
    "rate_as_keep_scaled": _dropout_variant(lambda rate: 1 / (1 - rate), keep=lambda u, rate: u < rate),
    "drops_at_inference": _dropout_variant(lambda rate: 1 / (1 - rate), eval_drops=True),
}


def dropout_backward(grad_out, mask, rate):
    return _f(grad_out) * np.array(mask, dtype=bool) / (1 - rate)


def _new_mask_report(grad_out, mask, rate):
    """Stands for a mask drawn anew in backward, whose values are random: ``follows_mask`` None says "any
    mask", so that the comparison accepts a gradient whose every entry is 0 or grad_out / (1 − rate)."""
    return {"grad_in": _f(grad_out) / (1 - rate), "follows_mask": None, "zeroes_some": None}


DROPOUT_BACKWARD_MISTAKES = {
    "backward_no_rescale": lambda g, mask, rate: _f(g) * np.array(mask, dtype=bool),
    "backward_rate_as_keep": lambda g, mask, rate: _f(g) * np.array(mask, dtype=bool) / rate,
    "backward_no_mask": lambda g, mask, rate: _f(g) / (1 - rate),
}


# early stopping ---------------------------------------------------------------------------

class EarlyStopping:
    def __init__(self, patience=0, min_delta=0.0, restore_best_weights=False):
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self):
        self.wait, self.best, self.best_weights, self.best_epoch, self.stopped_epoch = 0, None, None, 0, 0

    def _is_improvement(self, current):
        return self.best is None or current < self.best - self.min_delta

    def on_epoch_end(self, epoch, val_loss, weights):
        self.wait += 1
        if self._is_improvement(val_loss):
            self.best, self.best_epoch, self.wait = val_loss, epoch, 0
            if self.restore_best_weights:
                self.best_weights = [np.array(w, copy=True) for w in weights]
            return False
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, weights):
        if self.restore_best_weights and self.best_weights is not None:
            return self.best_weights
        return weights


class _LessOrEqual(EarlyStopping):
    def _is_improvement(self, current):
        return self.best is None or current <= self.best - self.min_delta


class _MinDeltaIgnored(EarlyStopping):
    def _is_improvement(self, current):
        return self.best is None or current < self.best


class _PatienceLate(EarlyStopping):
    def on_epoch_end(self, epoch, val_loss, weights):
        self.patience += 1
        try:
            return super().on_epoch_end(epoch, val_loss, weights)
        finally:
            self.patience -= 1


class _RestoreOnlyWhenStopped(EarlyStopping):
    def on_train_end(self, weights):
        return super().on_train_end(weights) if self.stopped_epoch > 0 else weights


class _RestoredLast(EarlyStopping):
    def on_train_end(self, weights):
        return weights


class _NoReset(EarlyStopping):
    """State set once, when the object is made: a second training starts where the first ended."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        super().on_train_begin()

    def on_train_begin(self):
        pass


EARLY_STOPPING_MISTAKES = {
    "less_or_equal": _LessOrEqual, "min_delta_ignored": _MinDeltaIgnored, "patience_late": _PatienceLate,
    "restore_only_when_stopped": _RestoreOnlyWhenStopped, "restored_last": _RestoredLast, "no_reset": _NoReset,
}


# batch normalization ----------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training=True, momentum=0.99, epsilon=1e-3):
    x, gamma, beta = _f(x), _f(gamma), _f(beta)
    moving_mean, moving_var = _f(moving_mean), _f(moving_var)
    if not training:
        return gamma * (x - moving_mean) / np.sqrt(moving_var + epsilon) + beta, moving_mean, moving_var
    mean, var = x.mean(axis=0), x.var(axis=0)
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return y, moving_mean * momentum + mean * (1 - momentum), moving_var * momentum + var * (1 - momentum)


def _bn_variant(ddof=0, swapped=False, batch_at_inference=False, eps_outside=False, update=True):
    def forward(x, gamma, beta, moving_mean, moving_var, training=True, momentum=0.99, epsilon=1e-3):
        x, gamma, beta = _f(x), _f(gamma), _f(beta)
        moving_mean, moving_var = _f(moving_mean), _f(moving_var)
        if training or batch_at_inference:
            mean, var = x.mean(axis=0), x.var(axis=0, ddof=ddof)
        else:
            mean, var = moving_mean, moving_var
        scale = np.sqrt(var) + epsilon if eps_outside else np.sqrt(var + epsilon)
        y = gamma * (x - mean) / scale + beta
        if not training or not update:
            return y, moving_mean, moving_var
        keep = 1 - momentum if swapped else momentum
        return y, moving_mean * keep + mean * (1 - keep), moving_var * keep + var * (1 - keep)
    return forward


BATCHNORM_FORWARD_MISTAKES = {
    "unbiased_variance": _bn_variant(ddof=1),
    "momentum_swapped": _bn_variant(swapped=True),
    "batch_stats_at_inference": _bn_variant(batch_at_inference=True),
    "epsilon_outside_root": _bn_variant(eps_outside=True),
    "no_moving_update": _bn_variant(update=False),
}


def batchnorm_backward(grad_out, x, gamma, epsilon=1e-3):
    grad_out, x, gamma = _f(grad_out), _f(x), _f(gamma)
    n = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + epsilon)
    x_hat = (x - x.mean(axis=0)) / sigma
    d_hat = grad_out * gamma
    dx = (n * d_hat - d_hat.sum(axis=0) - x_hat * (d_hat * x_hat).sum(axis=0)) / (n * sigma)
    return dx, (grad_out * x_hat).sum(axis=0), grad_out.sum(axis=0)


def _bn_backward_variant(mean_term=True, variance_term=True, ddof=0, plain_dgamma=False):
    def backward(grad_out, x, gamma, epsilon=1e-3):
        grad_out, x, gamma = _f(grad_out), _f(x), _f(gamma)
        sigma = np.sqrt(x.var(axis=0, ddof=ddof) + epsilon)
        x_hat = (x - x.mean(axis=0)) / sigma
        d_hat = grad_out * gamma
        dx = d_hat - mean_term * d_hat.mean(axis=0) - variance_term * x_hat * (d_hat * x_hat).mean(axis=0)
        dgamma = grad_out.sum(axis=0) if plain_dgamma else (grad_out * x_hat).sum(axis=0)
        return dx / sigma, dgamma, grad_out.sum(axis=0)
    return backward


BATCHNORM_BACKWARD_MISTAKES = {
    "gamma_over_sigma_only": _bn_backward_variant(mean_term=False, variance_term=False),
    "no_variance_term": _bn_backward_variant(variance_term=False),
    "no_mean_term": _bn_backward_variant(mean_term=False),
    "backward_unbiased": _bn_backward_variant(ddof=1),
    "dgamma_without_x_hat": _bn_backward_variant(plain_dgamma=True),
}


# capacity sweep ---------------------------------------------------------------------------

def _fit_mse(x_fit, y_fit, degree, x_eval, y_eval, power=lambda d: d + 1):
    coefficients = np.linalg.lstsq(np.vander(_f(x_fit), power(degree)), _f(y_fit), rcond=None)[0]
    return float(np.mean((np.vander(_f(x_eval), power(degree)) @ coefficients - _f(y_eval)) ** 2))


def polynomial_sweep(x_train, y_train, x_val, y_val, degrees):
    train = [_fit_mse(x_train, y_train, d, x_train, y_train) for d in degrees]
    val = [_fit_mse(x_train, y_train, d, x_val, y_val) for d in degrees]
    return np.array(train), np.array(val)


def _sweep_fit_on_all(x_train, y_train, x_val, y_val, degrees):
    x_all, y_all = np.concatenate([_f(x_train), _f(x_val)]), np.concatenate([_f(y_train), _f(y_val)])
    return (np.array([_fit_mse(x_all, y_all, d, x_train, y_train) for d in degrees]),
            np.array([_fit_mse(x_all, y_all, d, x_val, y_val) for d in degrees]))


def _sweep_power(power):
    def sweep(x_train, y_train, x_val, y_val, degrees):
        return (np.array([_fit_mse(x_train, y_train, d, x_train, y_train, power) for d in degrees]),
                np.array([_fit_mse(x_train, y_train, d, x_val, y_val, power) for d in degrees]))
    return sweep


POLYNOMIAL_SWEEP_MISTAKES = {
    "fit_on_validation_too": _sweep_fit_on_all,
    "degree_off_by_one": _sweep_power(lambda d: max(d, 1)),
    "swapped_curves": lambda *args: polynomial_sweep(*args)[::-1],
    "root_mean_square": lambda *args: tuple(np.sqrt(a) for a in polynomial_sweep(*args)),
}


# keras_regularized_fit --------------------------------------------------------------------
#
# The reference is NumPy: the grading process never imports TensorFlow. It reproduces what Keras's
# fit does to this float64 model (tests/test_lab12_keras.py pins the parity to 1e-12): one batch of all
# the training rows per epoch, the loss = MSE + Σ L2 penalties (Keras casts l2 through float32), plain
# SGD on W1, b1, gamma, beta, W2, b2, the moving statistics updated with the batch's, the validation
# loss at each epoch's end in inference mode (moving statistics, no dropout) with the penalty of the
# updated kernels, and EarlyStopping(monitor="val_loss", patience, restore_best_weights=True).
# Dropout's masks are TensorFlow's to draw: a case with rate > 0 is judged by what does not depend on
# them (see checks.lab12._compare_fit).

LAYERS = "Dense, BatchNormalization, Dropout, Dense"
BN_EPSILON = 1e-3


def fit_penalty(weights, l2, bias_penalty=False, output_penalty=True):
    """Σ of the model's L2 penalties, l2 rounded through float32 as Keras's regularizer casts it."""
    W1, b1, W2, b2 = (_f(weights[i]) for i in (0, 1, 6, 7))
    factor = float(np.float32(l2))
    penalised = [W1, W2] if output_penalty else [W1]
    if bias_penalty:
        penalised += [b1, b2] if output_penalty else [b1]
    return factor * float(sum(np.sum(w ** 2) for w in penalised))


def fit_predict(weights, X):
    """The model in inference mode: Dense(relu) → BatchNormalization (moving statistics) → Dense."""
    W1, b1, gamma, beta, moving_mean, moving_var, W2, b2 = (_f(w) for w in weights)
    hidden = np.maximum(_f(X) @ W1 + b1, 0.0)
    return ((gamma * (hidden - moving_mean) / np.sqrt(moving_var + BN_EPSILON) + beta) @ W2 + b2)[:, 0]


def validation_loss(weights, X_val, y_val, l2, bias_penalty=False, output_penalty=True):
    """What Keras reports as val_loss for these weights: the MSE in inference mode plus the penalties."""
    return float(np.mean((fit_predict(weights, X_val) - _f(y_val)) ** 2)
                 + fit_penalty(weights, l2, bias_penalty, output_penalty))


def _sgd_epochs(weights, l2, X, y, X_val, y_val, learning_rate, epochs, momentum=0.99, bias_penalty=False,
                output_penalty=True):
    """Every epoch of full-batch SGD without dropout: (training losses, validation losses, weights after each)."""
    W1, b1, gamma, beta, moving_mean, moving_var, W2, b2 = (_f(w).copy() for w in weights)
    X, y = _f(X), _f(y)
    factor, n = float(np.float32(l2)), len(X)
    losses, val_losses, states = [], [], []
    for _ in range(epochs):
        z = X @ W1 + b1
        hidden = np.maximum(z, 0.0)
        mean, var = hidden.mean(axis=0), hidden.var(axis=0)
        sigma = np.sqrt(var + BN_EPSILON)
        x_hat = (hidden - mean) / sigma
        normalized = gamma * x_hat + beta
        error = (normalized @ W2 + b2)[:, 0] - y
        current = [W1, b1, gamma, beta, moving_mean, moving_var, W2, b2]
        losses.append(float(np.mean(error ** 2)) + fit_penalty(current, l2, bias_penalty, output_penalty))
        d_out = (2 * error / n)[:, None]
        dW2 = normalized.T @ d_out + (2 * factor * W2 if output_penalty else 0.0)
        db2 = d_out.sum(axis=0) + (2 * factor * b2 if bias_penalty and output_penalty else 0.0)
        d_norm = d_out @ W2.T
        dgamma, dbeta = (d_norm * x_hat).sum(axis=0), d_norm.sum(axis=0)
        dz = batchnorm_backward(d_norm, hidden, gamma, BN_EPSILON)[0] * (z > 0)
        dW1 = X.T @ dz + 2 * factor * W1
        db1 = dz.sum(axis=0) + (2 * factor * b1 if bias_penalty else 0.0)
        W1, b1, gamma = W1 - learning_rate * dW1, b1 - learning_rate * db1, gamma - learning_rate * dgamma
        beta, W2, b2 = beta - learning_rate * dbeta, W2 - learning_rate * dW2, b2 - learning_rate * db2
        moving_mean = moving_mean * momentum + mean * (1 - momentum)
        moving_var = moving_var * momentum + var * (1 - momentum)
        states.append([W1, b1, gamma, beta, moving_mean, moving_var, W2, b2])
        val_losses.append(validation_loss(states[-1], X_val, y_val, l2, bias_penalty, output_penalty))
    return np.array(losses), np.array(val_losses), states


def stopping_epochs(val_losses, patience):
    """(epochs run, best epoch) under EarlyStopping(monitor="val_loss", patience): Keras's rule, as in lab 12."""
    return _stop_rule(val_losses, patience)


def _fit_report(weights, l2, rate, X, y, X_val, y_val, learning_rate, epochs, patience, restore=True, stop=True,
                **variant):
    if rate > 0:
        return _fit_properties(weights, l2, rate, X, y, X_val, y_val, learning_rate, epochs, patience,
                               restore=restore, stop=stop, **variant)
    losses, val_losses, states = _sgd_epochs(weights, l2, X, y, X_val, y_val, learning_rate, epochs, **variant)
    ran, best = stopping_epochs(val_losses, patience) if stop else (epochs, epochs - 1)
    final = states[best if restore else ran - 1]
    return {"layers": LAYERS, "rate": float(rate), "dtype": "float64", "loss": losses[:ran],
            "val_loss": val_losses[:ran], "weights": [np.array(w) for w in final]}


def _fit_properties(weights, l2, rate, X, y, X_val, y_val, learning_rate, epochs, patience, restore=True,
                    stop=True, **_):
    """A case with dropout: what the checks judge of a run whatever its masks (checks.lab12._compare_fit). The
    model's own consistency is judged, so a penalty or momentum mistake is left to the cases without dropout."""
    first = _sgd_epochs(weights, l2, X, y, X_val, y_val, learning_rate, 1)[0][0]
    return {"layers": LAYERS, "rate": float(rate), "dtype": "float64", "judged_by": "properties",
            "epochs": int(epochs), "patience": int(patience), "restore": restore, "stop": stop,
            "first_loss_without_dropout": float(first)}


def keras_regularized_fit(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs, patience):
    return _fit_report(weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate, epochs, patience)


KERAS_MISTAKES = {
    "bias_regularized": lambda *args: _fit_report(*args, bias_penalty=True),
    "output_unregularized": lambda *args: _fit_report(*args, output_penalty=False),
    "bn_momentum": lambda *args: _fit_report(*args, momentum=0.9),
    "no_restore": lambda *args: _fit_report(*args, restore=False),
    "no_early_stopping": lambda *args: _fit_report(*args, restore=False, stop=False),
}


# cases ------------------------------------------------------------------------------------

def _layers_text(layers) -> str:
    return ", ".join(f"(W {np.shape(W)}, b {np.shape(b)})" for W, b in layers)


def _l2_cases(layers, l2, label=None):
    label = label or f"l2 = {l2:g}, layers {_layers_text(layers)}: W = {_text(layers[0][0])}, …"
    return (build_case(label, (layers, l2), l2_penalty, L2_PENALTY_MISTAKES),
            build_case(label, (layers, l2), l2_gradient, L2_GRADIENT_MISTAKES))


def _as_layers(pairs):
    return [(_f(W), _f(b)) for W, b in pairs]


def _dropout_case(x, rate, mask, training=True):
    mode = "training" if training else "inference (training=False)"
    label = f"x = {_text(x)}, rate = {rate:g}, {mode}, mask = {np.array2string(np.asarray(mask), separator=', ')}"
    args = (x, rate, training, mask, None)
    return build_case(label, args, _probed(dropout_forward_run, dropout_forward),
                      {k: _probed(dropout_forward_run, fn) for k, fn in DROPOUT_FORWARD_MISTAKES.items()})


def _draw_case(value, rate, seed):
    label = (f"a (200, 250) batch of {value:g}s, rate = {rate:g}, rng = np.random.default_rng({seed}), "
             "drawn twice with that seed and once with the next")
    return build_case(label, (value, rate, True, None, seed), _probed(dropout_forward_run, dropout_forward),
                      {k: _probed(dropout_forward_run, fn) for k, fn in DROPOUT_FORWARD_MISTAKES.items()})


def _dropout_backward_case(grad_out, mask, rate):
    label = (f"grad_out = {_text(grad_out)}, mask = {np.array2string(np.asarray(mask), separator=', ')}, "
             f"rate = {rate:g}")
    mistakes = {k: _probed(dropout_backward_run, fn) for k, fn in DROPOUT_BACKWARD_MISTAKES.items()}
    mistakes["new_mask"] = _new_mask_report
    return build_case(label, (_f(grad_out), np.array(mask, dtype=bool), rate),
                      _probed(dropout_backward_run, dropout_backward), mistakes)


def _stopping_case(settings, losses, note=""):
    shown = ", ".join(f"{k}={v!r}" for k, v in settings.items())
    label = f"EarlyStopping({shown}), validation losses {[float(v) for v in losses]}" + (f" ({note})" if note else "")
    return build_case(label, (dict(settings), _f(losses)), _probed(early_stopping_run, EarlyStopping),
                      {k: _probed(early_stopping_run, cls) for k, cls in EARLY_STOPPING_MISTAKES.items()})


def _bn_forward_case(x, gamma, beta, moving_mean, moving_var, **kwargs):
    shown = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    label = (f"x {np.shape(x)} = {_text(x)}, gamma = {_text(gamma)}, beta = {_text(beta)}, moving_mean = "
             f"{_text(moving_mean)}, moving_var = {_text(moving_var)}{shown}")
    return build_case(label, (x, gamma, beta, moving_mean, moving_var), batchnorm_forward,
                      BATCHNORM_FORWARD_MISTAKES, kwargs=kwargs)


def _bn_backward_case(grad_out, x, gamma, **kwargs):
    shown = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    label = f"x {np.shape(x)} = {_text(x)}, gamma = {_text(gamma)}, grad_out = {_text(grad_out)}{shown}"
    return build_case(label, (grad_out, x, gamma), batchnorm_backward, BATCHNORM_BACKWARD_MISTAKES,
                      kwargs=kwargs)


def _sweep_case(x_train, y_train, x_val, y_val, degrees, label=None):
    label = label or (f"{len(x_train)} training and {len(x_val)} validation points, x_train = {_text(x_train)}, "
                      f"degrees {list(degrees)}")
    return build_case(label, (x_train, y_train, x_val, y_val, list(degrees)), polynomial_sweep,
                      POLYNOMIAL_SWEEP_MISTAKES)


def _fit_data(rng, n, m, d, h):
    """Weights of a d→h→1 network and data y = sin(X·v) + noise, train (n rows) and validation (m rows)."""
    weights = [np.round(rng.normal(size=(d, h)), 2), np.round(rng.normal(scale=0.3, size=h), 2),
               np.round(rng.uniform(0.5, 1.5, size=h), 2), np.round(rng.normal(scale=0.3, size=h), 2),
               np.round(rng.normal(scale=0.3, size=h), 2), np.round(rng.uniform(0.5, 2.0, size=h), 2),
               np.round(rng.normal(size=(h, 1)), 2), np.round(rng.normal(scale=0.3, size=1), 2)]
    direction = rng.normal(size=d)
    X, X_val = np.round(rng.normal(size=(n, d)), 2), np.round(rng.normal(size=(m, d)), 2)
    y = np.round(np.sin(X @ direction) + rng.normal(scale=0.3, size=n), 2)
    y_val = np.round(np.sin(X_val @ direction) + rng.normal(scale=0.3, size=m), 2)
    return weights, X, y, X_val, y_val


def _fit_args(rng, n, m, d, h, l2, epochs, patience, stops):
    """Draws networks and data until a learning rate makes the run without dropout stop early (``stops``) or
    run through every epoch, its best epoch neither the first nor the last: the cases where restoring,
    stopping and the stopping epoch all show."""
    while True:
        weights, X, y, X_val, y_val = _fit_data(rng, n, m, d, h)
        for learning_rate in (0.05, 0.1, 0.2, 0.3):
            with np.errstate(all="ignore"):
                losses, val_losses, _ = _sgd_epochs(weights, l2, X, y, X_val, y_val, learning_rate, epochs)
            if not (np.all(np.isfinite(val_losses)) and np.max(losses) < 1e3):
                continue
            ran, best = stopping_epochs(val_losses, patience)
            if 0 < best < ran - 1 and (ran < epochs) == stops:
                return weights, X, y, X_val, y_val, learning_rate


def _fit_case(rng, n, m, d, h, l2, rate, epochs, patience, stops=True):
    weights, X, y, X_val, y_val, learning_rate = _fit_args(rng, n, m, d, h, l2, epochs, patience, stops)
    how = (" (dropout's masks are random: judged by what does not depend on them)" if rate > 0 else
           ": it stops early" if stops else ": it runs through, the best epoch is not the last")
    label = (f"a {d}→{h}→1 network, l2 = {l2:g}, rate = {rate:g}, {n} training and {m} validation rows, "
             f"learning_rate = {learning_rate:g}, up to {epochs} epochs, patience {patience}{how}")
    args = ([_f(w) for w in weights], l2, rate, X, y, X_val, y_val, learning_rate, epochs, patience)
    return build_case(label, args, keras_regularized_fit, KERAS_MISTAKES)


def noisy_curve(n, rng):
    """The course's overfitting picture in numbers: x in [−1, 1], y = sin(πx) + noise of std 0.3."""
    x = np.sort(rng.uniform(-1, 1, size=n))
    return x, np.sin(np.pi * x) + rng.normal(scale=0.3, size=n)


# Scripted validation losses in eighths (exact in binary, so best − min_delta is exact too).
PUBLIC_STOPPING = [
    ({"patience": 2}, [1.0, 0.75, 0.875, 0.75, 1.0, 1.0], "a tie with the best is no improvement"),
    ({"patience": 1, "min_delta": 0.25, "restore_best_weights": True}, [2.0, 1.75, 1.5, 1.25, 1.0],
     "each epoch improves by exactly min_delta"),
    ({"patience": 3, "restore_best_weights": True}, [1.0, 0.5, 0.75, 0.625], "never stops: the best still comes back"),
    ({"patience": 1}, [1.0, 1.25, 0.5], "stops at the first possible epoch"),
]


def public_cases():
    """Small, hand-checkable numbers: two layers with l2 = 0.01 (Keras's default), masks given, eighths."""
    layers = _as_layers([([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], [0.1, -0.2, 0.3]), ([[1.0], [-2.0], [0.5]], [0.5])])
    penalty, gradient = _l2_cases(layers, 0.01, "l2 = 0.01, W1 = [[0.5, −1, 2], [1.5, 0, −0.5]], b1 = [0.1, −0.2, "
                                  "0.3], W2 = [[1], [−2], [0.5]], b2 = [0.5]")
    x = np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 2.0, -3.0]])
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    bn_x = np.array([[1.0, 2.0, 0.0], [3.0, -2.0, 0.5], [5.0, 0.0, 1.0], [7.0, 4.0, 1.5]])
    gamma, beta = np.array([1.0, 0.5, 2.0]), np.array([0.0, 1.0, -1.0])
    moving_mean, moving_var = np.array([0.5, 0.0, 1.0]), np.array([2.0, 1.0, 0.25])
    grad_out = np.array([[0.5, -1.0, 2.0], [1.0, 0.25, -0.5], [-1.5, 2.0, 1.0], [0.25, -0.75, 0.5]])
    curve_rng = np.random.default_rng(12)
    x_train, y_train = noisy_curve(12, curve_rng)
    x_val, y_val = noisy_curve(30, curve_rng)
    keras_rng = np.random.default_rng(5)
    return {
        "l2_penalty": [penalty],
        "l2_gradient": [gradient],
        "dropout_forward": [_dropout_case(x, 0.25, mask), _dropout_case(x, 0.5, mask, training=False),
                            _draw_case(1.0, 0.25, 0)],
        "dropout_backward": [_dropout_backward_case([[1.0, -2.0, 0.5, 4.0], [3.0, 1.0, -1.0, 2.0]], mask, 0.25)],
        "EarlyStopping": [_stopping_case(settings, losses, note) for settings, losses, note in PUBLIC_STOPPING],
        "batchnorm_forward": [_bn_forward_case(bn_x, gamma, beta, moving_mean, moving_var),
                              _bn_forward_case(bn_x, gamma, beta, moving_mean, moving_var, training=False)],
        "batchnorm_backward": [_bn_backward_case(grad_out, bn_x, gamma)],
        "polynomial_sweep": [_sweep_case(x_train, y_train, x_val, y_val, [0, 1, 3, 5, 9],
                                         "12 training and 30 validation points of sin(πx) + noise, degrees "
                                         "[0, 1, 3, 5, 9]")],
        "keras_regularized_fit": [_fit_case(keras_rng, 8, 6, 2, 3, 0.01, 0.0, 8, 2),
                                  _fit_case(keras_rng, 8, 6, 2, 3, 0.01, 0.5, 8, 2)],
    }


def _eighths(rng, size, low=2, high=16):
    return rng.integers(low, high + 1, size=size) / 8


def _stopping_hidden(rng):
    patience = int(rng.integers(1, 4))
    delta = float(rng.choice([0.125, 0.25]))
    start = float(rng.integers(12, 20)) / 8
    cases = []
    # patience exactly reached after a tie with the best, and what <= would make of it
    tie = [start, start - 0.25] + [start - 0.25] * patience + [start - 0.5]
    cases.append(({"patience": patience}, tie, "ties with the best"))
    # improvements by exactly min_delta, then by more than it
    steps = [start - delta * i for i in range(patience + 1)] + [start - delta * patience - 2 * delta]
    cases.append(({"patience": patience + 1, "min_delta": delta, "restore_best_weights": True},
                  steps + [steps[-1]] * 2, "improvements of exactly min_delta"))
    # patience − 1 bad epochs, an improvement, then patience bad ones: stops exactly at patience
    bad = [start + 0.125 * (i + 1) for i in range(patience - 1)]
    run = [start] + bad + [start - 0.5] + [start] * patience + [start - 1.0]
    cases.append(({"patience": patience, "restore_best_weights": True}, run, "patience exactly reached"))
    # never stops: the best weights still come back at the end
    wander = [start, start - 0.5] + list(start - 0.5 + _eighths(rng, patience, 0, 3))
    cases.append(({"patience": patience + 1, "restore_best_weights": True}, wander,
                  "never stops"))
    cases.append(({"patience": 1, "restore_best_weights": False}, [start, start + 0.25, start - 1.0],
                  "stops at the first possible epoch, no restore"))
    cases.append(({"patience": 0, "min_delta": delta}, [start, start - delta / 2, start - 2 * delta],
                  "patience 0: the first epoch without improvement stops"))
    cases.append(({"patience": 1, "min_delta": -delta}, [start, start - delta, start - 2 * delta, start - 4 * delta],
                  "a negative min_delta counts as its absolute value, as in Keras"))
    walk = np.round((start + np.cumsum(rng.integers(-2, 3, size=12)) / 8) * 8) / 8
    cases.append(({"patience": patience, "min_delta": delta / 2, "restore_best_weights": True}, list(walk),
                  "a random walk in eighths"))
    return [_stopping_case(settings, np.array(losses, dtype=float), note) for settings, losses, note in cases]


def hidden_cases(rng):
    """Inputs drawn from ``rng``: shapes other than the public ones, a one-row batch, a single feature,
    exact zeros, l2 = 0, plain lists, rates 0 and near 1, eval mode, scripted ties and exact min_delta steps."""
    n, d = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    h = int(rng.integers(2, 5))
    l2 = float(rng.choice([1e-4, 1e-3, 0.05]))
    layers = _as_layers([(np.round(rng.normal(size=(d, h)), 2), np.round(rng.normal(size=h), 2)),
                         (np.round(rng.normal(size=(h, 1)), 2), np.round(rng.normal(size=1), 2))])
    tiny = _as_layers([([[float(np.round(rng.normal(), 2))]], [float(np.round(rng.normal(), 2)) or 0.5])])
    zero_kernel = _as_layers([(np.zeros((d, h)), np.round(rng.normal(size=h), 2) + 0.5)])
    three = layers + _as_layers([(np.round(rng.normal(size=(1, 2)), 2), [0.25, -0.5])])
    l2_pairs = [_l2_cases(layers, l2), _l2_cases(tiny, l2), _l2_cases(zero_kernel, l2), _l2_cases(three, 0.01),
                _l2_cases(layers, 0.0, f"l2 = 0, layers {_layers_text(layers)}"),
                _l2_cases([(W.tolist(), b.tolist()) for W, b in layers], l2, f"plain lists, l2 = {l2:g}")]
    rate = float(rng.choice([0.1, 0.2, 0.3, 0.4, 0.6, 0.75]))
    x = np.round(rng.normal(size=(n, d)), 2)
    x[0, 0] = 0.0
    mask = rng.random((n, d)) >= rate
    mask[0, 1 % d], mask[1, 0], mask[-1, -1] = False, False, True
    grad = np.round(rng.uniform(0.5, 2.0, size=(n, d)) * rng.choice([-1.0, 1.0], size=(n, d)), 2)
    bn_x = np.round(rng.normal(loc=rng.uniform(-3, 3), scale=2.0, size=(n, d)), 2)
    bn_x[:, -1] = bn_x[0, -1]  # a constant feature: its variance is 0 and only ε keeps the root away from 0
    gamma = np.round(rng.uniform(0.5, 2.0, size=d), 2)
    beta = np.round(rng.normal(size=d), 2)
    moving_mean, moving_var = np.round(rng.normal(size=d), 2), np.round(rng.uniform(0.5, 3.0, size=d), 2)
    upstream = np.round(rng.normal(size=(n, d)), 2)
    momentum, epsilon = float(rng.choice([0.9, 0.95, 0.8])), float(rng.choice([1e-2, 1e-5, 0.1]))
    spread = np.round(rng.normal(scale=3, size=(n, d)), 2)
    curve_rng = np.random.default_rng(int(rng.integers(2**31)))
    n_train = int(rng.integers(8, 14))
    x_train, y_train = noisy_curve(n_train, curve_rng)
    x_val, y_val = noisy_curve(int(rng.integers(15, 30)), curve_rng)
    degrees = sorted({0, 1, int(rng.integers(2, 5)), int(rng.integers(5, n_train - 1)), n_train - 1})
    keras_h = int(rng.integers(2, 5))
    return {
        "l2_penalty": [penalty for penalty, _ in l2_pairs],
        "l2_gradient": [gradient for _, gradient in l2_pairs],
        "dropout_forward": [
            _dropout_case(x, rate, mask), _dropout_case(x, rate, mask, training=False),
            _dropout_case(x[:1, :1], rate, mask[-1:, -1:]), _dropout_case(x, 0.0, np.ones_like(mask)),
            _dropout_case(x, 0.9, mask), _dropout_case(x.tolist(), rate, mask.tolist()),
            _draw_case(float(rng.choice([0.5, 2.0, -3.0])), rate, int(rng.integers(1000))),
            _draw_case(1.0, 0.75, int(rng.integers(1000))),
        ],
        "dropout_backward": [_dropout_backward_case(grad, mask, rate), _dropout_backward_case(grad, mask, 0.9),
                             _dropout_backward_case(grad[:1, :1], mask[-1:, -1:], rate),
                             _dropout_backward_case(grad.tolist(), mask.tolist(), rate)],
        "EarlyStopping": _stopping_hidden(rng),
        "batchnorm_forward": [
            _bn_forward_case(bn_x, gamma, beta, moving_mean, moving_var),
            _bn_forward_case(bn_x, gamma, beta, moving_mean, moving_var, training=False),
            _bn_forward_case(bn_x, gamma, beta, moving_mean, moving_var, momentum=momentum, epsilon=epsilon),
            _bn_forward_case(bn_x, gamma, beta, moving_mean, moving_var, training=False, epsilon=epsilon),
            _bn_forward_case(bn_x[:2], gamma, beta, moving_mean, moving_var),
            _bn_forward_case(bn_x[:, :1], gamma[:1], beta[:1], moving_mean[:1], moving_var[:1]),
            _bn_forward_case(bn_x.tolist(), gamma.tolist(), beta.tolist(), moving_mean.tolist(), moving_var.tolist()),
        ],
        "batchnorm_backward": [
            _bn_backward_case(upstream, bn_x, gamma), _bn_backward_case(upstream, spread, gamma, epsilon=epsilon),
            _bn_backward_case(upstream[:2], spread[:2], gamma), _bn_backward_case(upstream[:, :1], spread[:, :1],
                                                                                 gamma[:1]),
            _bn_backward_case(upstream.tolist(), spread.tolist(), gamma.tolist()),
        ],
        "polynomial_sweep": [
            _sweep_case(x_train, y_train, x_val, y_val, degrees),
            _sweep_case(x_train.tolist(), y_train.tolist(), x_val.tolist(), y_val.tolist(), [2],
                        f"plain lists, {n_train} training points, degree 2"),
        ],
        "keras_regularized_fit": [
            _fit_case(rng, int(rng.integers(6, 12)), int(rng.integers(4, 9)), d, keras_h, l2, 0.0, 8,
                      int(rng.integers(1, 3))),
            _fit_case(rng, int(rng.integers(6, 12)), int(rng.integers(4, 9)), 1, keras_h, 0.01, 0.0, 6, 6,
                      stops=False),
            _fit_case(rng, int(rng.integers(6, 12)), int(rng.integers(4, 9)), d, keras_h, l2, rate, 8, 2),
        ],
    }


EQUIVALENT_MUTANTS = {
    # The Keras exercise's, found by `python -m autograder audit LAB --tensorflow` (not audited by default):
    ('keras_regularized_fit · drop_statement · import keras → pass'):
        ("the notebook's Keras section imports keras at the top level, and the grader defines "
         "that import before the exercise: the function's own import is a convenience, not a "
         'dependency'),
    "keras_regularized_fit · constant · 0 → 1 · #3": "fit(verbose=1) only prints a progress bar: the training, its "
    "history and its weights are the same as with verbose=0",
    "polynomial_sweep · drop_statement · x_train, y_train = (np.asarray(x_train, dtype=float), "
    "np.asarray(y_train, dtype=float)) → pass": "np.vander, lstsq and the array arithmetic accept plain lists "
    "and give the same numbers",
    "polynomial_sweep · drop_statement · x_val, y_val = (np.asarray(x_val, dtype=float), "
    "np.asarray(y_val, dtype=float)) → pass": "np.vander and subtracting from an array accept plain lists "
    "and give the same numbers",
    "dropout_forward · drop_statement · mask = np.asarray(mask, dtype=bool) → pass": "np.where reads a list of "
    "booleans or a boolean array alike, and the mask returned is judged by its values",
    "dropout_forward · comparison · rng.random(x.shape) >= rate → rng.random(x.shape) > rate": "a uniform draw "
    "equals rate exactly with probability zero, so both keep the same units",
    "EarlyStopping.on_train_begin · constant · 0 → 1": "wait starts at 1 instead of 0, but the first epoch "
    "always improves and resets it to 0",
    "EarlyStopping.on_train_begin · constant · 0 → 1 · #2": "best_epoch is only bookkeeping: no behaviour "
    "reads it",
    "EarlyStopping.on_epoch_end · drop_return · return False → pass": "returning None instead of False still "
    "tells the loop to go on, both are falsy",
    "EarlyStopping.on_epoch_end · comparison · epoch > 0 → epoch >= 0": "epoch 0 always improves and returns "
    "before the patience test, as in Keras, where the same guard is dead code too",
    "EarlyStopping.on_train_end · boolean · self.restore_best_weights and self.best_weights is not None → "
    "self.restore_best_weights or self.best_weights is not None": "best_weights is only ever stored when "
    "restore_best_weights is set, so either test restores in the same runs",
}
