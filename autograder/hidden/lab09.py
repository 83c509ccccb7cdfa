"""Lab 09 hidden checks: losses, their gradients, logistic regression and XOR; known mistakes; the cases.

Conventions (Keras'): arguments in the order (y_true, y_pred); probabilities are clipped to
[eps, 1 − eps] with eps = 1e-7 before any log; a loss is the mean over the batch of each
example's loss (for categorical cross-entropy, each example's loss is a sum over the classes).
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.hidden import build_case

EPS = 1e-7  # keras.backend.epsilon()


def _f(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _text(values) -> str:
    return np.array2string(_f(values), precision=4, separator=", ", max_line_width=10_000).replace("\n", "")


def _sigmoid(z):
    z = _f(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _log_softmax(z):
    z = _f(z)
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _one_hot(labels, k):
    return np.eye(k)[np.asarray(labels, dtype=int)]


# mse_mae -----------------------------------------------------------------------------

def mse_mae(y_true, y_pred):
    error = _f(y_pred) - _f(y_true)
    return float(np.mean(error ** 2)), float(np.mean(np.abs(error)))


def _errors(y_true, y_pred):
    return _f(y_pred) - _f(y_true)


MSE_MAE_MISTAKES = {
    "swapped": lambda t, p: mse_mae(t, p)[::-1],
    "no_square": lambda t, p: (float(np.mean(_errors(t, p))), mse_mae(t, p)[1]),
    "no_abs": lambda t, p: (mse_mae(t, p)[0], float(np.mean(_errors(t, p)))),
    "summed": lambda t, p: (float(np.sum(_errors(t, p) ** 2)), float(np.sum(np.abs(_errors(t, p))))),
    "root": lambda t, p: (float(np.sqrt(np.mean(_errors(t, p) ** 2))), mse_mae(t, p)[1]),
}


def _mse_mae_case(y_true, y_pred, label=None):
    label = label or f"y_true = {_text(y_true)}, y_pred = {_text(y_pred)}"
    return build_case(label, (np.asarray(y_true), np.asarray(y_pred)), mse_mae, MSE_MAE_MISTAKES)


# binary_cross_entropy ----------------------------------------------------------------

def binary_cross_entropy(y_true, p, eps=EPS):
    y, p = _f(y_true), np.clip(_f(p), eps, 1 - eps)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _bce_with(y_true, p, eps=EPS, *, low=None, high=None, reduce=np.mean, terms="both", sign=-1.0):
    y, p = _f(y_true), _f(p)
    p = np.clip(p, low, high) if low is not None or high is not None else p
    first, second = y * np.log(p), (1 - y) * np.log(1 - p)
    total = first + second if terms == "both" else first
    return float(reduce(sign * total))


BCE_MISTAKES = {
    "unclipped": lambda y, p, eps=EPS: _bce_with(y, p),
    "other_eps": lambda y, p, eps=EPS: _bce_with(y, p, low=1e-15, high=1 - 1e-15),
    "eps_ignored": lambda y, p, eps=EPS: _bce_with(y, p, low=EPS, high=1 - EPS),
    "clip_low_only": lambda y, p, eps=EPS: _bce_with(y, p, low=eps),
    "bce_summed": lambda y, p, eps=EPS: _bce_with(y, p, low=eps, high=1 - eps, reduce=np.sum),
    "one_term": lambda y, p, eps=EPS: _bce_with(y, p, low=eps, high=1 - eps, terms="first"),
    "no_minus": lambda y, p, eps=EPS: _bce_with(y, p, low=eps, high=1 - eps, sign=1.0),
}


def _bce_case(y_true, p, eps=None, label=None):
    label = label or f"y_true = {_text(y_true)}, p = {_text(p)}"
    kwargs = {} if eps is None else {"eps": eps}
    if eps is not None:
        label += f", eps = {eps:g}"
    return build_case(label, (np.asarray(y_true), np.asarray(p)), binary_cross_entropy, BCE_MISTAKES, kwargs)


# binary_cross_entropy_from_logits ----------------------------------------------------

def binary_cross_entropy_from_logits(y_true, z):
    y, z = _f(y_true), _f(z)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _naive_sigmoid(z):
    return 1 / (1 + np.exp(-_f(z)))


EPS_FLOAT32 = np.float32(EPS)
ONE_MINUS_EPS_FLOAT32 = np.float32(1) - EPS_FLOAT32  # 1 − 1.19e-7: a sure, wrong example costs 15.94, not 16.12


def _clipped_log_loss_float32(y, p):
    """The clipped binary cross-entropy computed in float32, as NumPy float32 code or Keras's default floatx does."""
    y = np.asarray(y, dtype=np.float32)
    p = np.clip(np.asarray(p, dtype=np.float32), EPS_FLOAT32, ONE_MINUS_EPS_FLOAT32)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


LOGITS_MISTAKES = {
    "sigmoid_then_log": lambda y, z: _bce_with(y, _naive_sigmoid(z)),
    "sigmoid_then_clip": lambda y, z: binary_cross_entropy(y, _naive_sigmoid(z)),
    "sigmoid_then_clip_float32": lambda y, z: _clipped_log_loss_float32(
        y, 1 / (1 + np.exp(-np.asarray(z, dtype=np.float32)))),
    "exp_overflow": lambda y, z: float(np.mean(np.maximum(_f(z), 0) - _f(z) * _f(y) + np.log(1 + np.exp(-_f(z))))),
    "softplus_overflow": lambda y, z: float(np.mean(np.log(1 + np.exp(_f(z))) - _f(z) * _f(y))),
    "flipped_labels": lambda y, z: binary_cross_entropy_from_logits(1 - _f(y), z),
    "logits_summed": lambda y, z: binary_cross_entropy_from_logits(y, z) * len(_f(y)),
}


def _logits_case(y_true, z, label=None):
    label = label or f"y_true = {_text(y_true)}, z = {_text(z)}"
    return build_case(label, (np.asarray(y_true), np.asarray(z)), binary_cross_entropy_from_logits, LOGITS_MISTAKES)


# categorical_cross_entropy -----------------------------------------------------------

def categorical_cross_entropy(y_true, p, eps=EPS):
    y, p = _f(y_true), np.clip(_f(p), eps, 1 - eps)
    return float(np.mean(-np.sum(y * np.log(p), axis=-1)))


def _cce_with(y_true, p, eps=EPS, *, clip=True, reduce="mean"):
    y, p = _f(y_true), _f(p)
    p = np.clip(p, eps, 1 - eps) if clip else p
    per_element = -y * np.log(p)
    if reduce == "sum":
        return float(np.sum(per_element))
    if reduce == "all":
        return float(np.mean(per_element))
    return float(np.mean(np.sum(per_element, axis=-1)))


CCE_MISTAKES = {
    "unclipped": lambda y, p, eps=EPS: _cce_with(y, p, clip=False),
    "other_eps": lambda y, p, eps=EPS: _cce_with(y, p, 1e-15),
    "eps_ignored": lambda y, p, eps=EPS: _cce_with(y, p, EPS),
    "batch_sum": lambda y, p, eps=EPS: _cce_with(y, p, eps, reduce="sum"),
    "mean_all": lambda y, p, eps=EPS: _cce_with(y, p, eps, reduce="all"),
    "cce_no_minus": lambda y, p, eps=EPS: -categorical_cross_entropy(y, p, eps),
}


def _cce_case(y_true, p, eps=None, label=None):
    label = label or f"y_true = {_text(y_true)}, p = {_text(p)}"
    kwargs = {} if eps is None else {"eps": eps}
    if eps is not None:
        label += f", eps = {eps:g}"
    return build_case(label, (np.asarray(y_true), np.asarray(p)), categorical_cross_entropy, CCE_MISTAKES, kwargs)


# sparse_cross_entropy_from_logits ----------------------------------------------------

def sparse_cross_entropy_from_logits(labels, z):
    labels, z = np.asarray(labels, dtype=int), _f(z)
    log_p = _log_softmax(z)
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def _picked(labels, values):
    labels = np.asarray(labels, dtype=int)
    return values[np.arange(len(labels)), labels]


def _naive_softmax(z):
    e = np.exp(_f(z))
    return e / np.sum(e, axis=-1, keepdims=True)


def _stable_softmax(z):
    return np.exp(_log_softmax(z))


def _softmax_then_clip_float32(labels, z):
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    p = np.clip(_picked(labels, e / np.sum(e, axis=-1, keepdims=True)), EPS_FLOAT32, ONE_MINUS_EPS_FLOAT32)
    return float(-np.mean(np.log(p)))


SPARSE_MISTAKES = {
    "no_shift": lambda labels, z: float(np.mean(np.log(np.sum(np.exp(_f(z)), axis=-1)) - _picked(labels, _f(z)))),
    "softmax_then_log": lambda labels, z: float(-np.mean(np.log(_picked(labels, _stable_softmax(z))))),
    "softmax_then_clip": lambda labels, z: float(-np.mean(np.log(np.clip(_picked(labels, _stable_softmax(z)),
                                                                          EPS, 1 - EPS)))),
    "softmax_then_clip_float32": lambda labels, z: _softmax_then_clip_float32(labels, z),
    "sparse_summed": lambda labels, z: sparse_cross_entropy_from_logits(labels, z) * len(labels),
    "mean_over_classes": lambda labels, z: sparse_cross_entropy_from_logits(labels, z) / _f(z).shape[-1],
    "max_not_logsumexp": lambda labels, z: float(np.mean(np.max(_f(z), axis=-1) - _picked(labels, _f(z)))),
}


def _sparse_case(labels, z, label=None):
    label = label or f"labels = {list(int(i) for i in labels)}, z = {_text(z)}"
    args = (labels, z) if isinstance(z, list) else (np.asarray(labels, dtype=np.int64), np.asarray(z))
    return build_case(label, args, sparse_cross_entropy_from_logits, SPARSE_MISTAKES)


# softmax_cross_entropy_gradient ------------------------------------------------------

def softmax_cross_entropy_gradient(labels, z):
    z = _f(z)
    n, k = z.shape
    return (_stable_softmax(z) - _one_hot(labels, k)) / n


def _jacobian_sign_slip(labels, z):
    """The full Jacobian of softmax, diag(p) − p pᵀ, written with + p pᵀ, times ∂L/∂p = −y/p."""
    z = _f(z)
    n, k = z.shape
    p, y = _stable_softmax(z), _one_hot(labels, k)
    jacobians = np.einsum("ij,jk->ijk", p, np.eye(k)) + np.einsum("ij,ik->ijk", p, p)
    return np.einsum("ijk,ij->ik", jacobians, -y / p) / n


GRADIENT_MISTAKES = {
    "gradient_no_n": lambda labels, z: softmax_cross_entropy_gradient(labels, z) * len(labels),
    "gradient_sign": lambda labels, z: -softmax_cross_entropy_gradient(labels, z),
    "jacobian_sign": _jacobian_sign_slip,
    "no_softmax": lambda labels, z: (_f(z) - _one_hot(labels, _f(z).shape[1])) / len(labels),
    "unstable_softmax": lambda labels, z: (_naive_softmax(z) - _one_hot(labels, _f(z).shape[1])) / len(labels),
    "extra_derivative": lambda labels, z: softmax_cross_entropy_gradient(labels, z) * _stable_softmax(z) * (
        1 - _stable_softmax(z)),
}


def _gradient_case(labels, z, label=None):
    label = label or f"labels = {list(int(i) for i in labels)}, z = {_text(z)}"
    args = (labels, z) if isinstance(z, list) else (np.asarray(labels, dtype=np.int64), np.asarray(z))
    return build_case(label, args, softmax_cross_entropy_gradient, GRADIENT_MISTAKES)


# logistic_gradients ------------------------------------------------------------------

def logistic_gradients(X, y, w, b):
    X, y = _f(X), _f(y)
    error = _sigmoid(X @ _f(w) + b) - y
    return X.T @ error / len(y), float(np.mean(error))


def _logistic_with(rule):
    def gradients(X, y, w, b):
        X, y = _f(X), _f(y)
        z = X @ _f(w) + b
        delta = rule(z, _sigmoid(z), y)
        return X.T @ delta / len(y), float(np.mean(delta))
    return gradients


LOGISTIC_MISTAKES = {
    "logistic_no_n": lambda X, y, w, b: tuple(g * len(_f(y)) for g in logistic_gradients(X, y, w, b)),
    "logistic_sign": lambda X, y, w, b: tuple(-g for g in logistic_gradients(X, y, w, b)),
    "no_sigmoid": _logistic_with(lambda z, p, y: z - y),
    "sigmoid_derivative": _logistic_with(lambda z, p, y: (p - y) * p * (1 - p)),
    "mse_of_probabilities": _logistic_with(lambda z, p, y: 2 * (p - y) * p * (1 - p)),
    "x_in_bias": lambda X, y, w, b: (logistic_gradients(X, y, w, b)[0],
                                     float(np.mean(logistic_gradients(X, y, w, b)[0]))),
}


def _logistic_case(X, y, w, b, label=None):
    label = label or f"X = {_text(X)}, y = {_text(y)}, w = {_text(w)}, b = {b:g}"
    args = (X, y, w, b) if isinstance(X, list) else (np.asarray(X), np.asarray(y), np.asarray(w), b)
    return build_case(label, args, logistic_gradients, LOGISTIC_MISTAKES)


# xor_gradients -----------------------------------------------------------------------

def xor_gradients(X, y, W1, b1, W2, b2):
    X, y = _f(X), _f(y).reshape(-1, 1)
    h = np.tanh(X @ _f(W1) + _f(b1))
    z = h @ _f(W2) + _f(b2)
    n = len(X)
    loss = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    dz = (_sigmoid(z) - y) / n
    dh = dz @ _f(W2).T
    dz1 = dh * (1 - h ** 2)
    return loss, X.T @ dz1, dz1.sum(axis=0), h.T @ dz, dz.sum(axis=0)


def _xor_with(X, y, W1, b1, W2, b2, *, slip):
    X, y = _f(X), _f(y).reshape(-1, 1)
    z1 = X @ _f(W1) + _f(b1)
    h = np.tanh(z1)
    z = h @ _f(W2) + _f(b2)
    n = len(X)
    loss = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    p = _sigmoid(z)
    dz = (p - y) / (1 if slip == "xor_no_n" else n)
    if slip == "output_derivative":
        dz = dz * p * (1 - p)
    dh = dz @ _f(W2).T
    local = {"tanh_derivative": 1 - h, "derivative_at_z": 1 - z1 ** 2, "no_tanh_derivative": 1.0}.get(slip, 1 - h ** 2)
    dz1 = dh * local
    grads = (X.T @ dz1, dz1.sum(axis=0), h.T @ dz, dz.sum(axis=0))
    if slip == "xor_sign":
        grads = tuple(-g for g in grads)
    return (loss, *grads)


XOR_MISTAKES = {key: functools.partial(_xor_with, slip=key) for key in (
    "tanh_derivative", "derivative_at_z", "no_tanh_derivative", "xor_no_n", "output_derivative", "xor_sign")}


def _xor_case(X, y, W1, b1, W2, b2, label):
    args = tuple(np.asarray(a) for a in (X, y, W1, b1, W2, b2))
    return build_case(label, args, xor_gradients, XOR_MISTAKES)


# keras_xor (Keras) -------------------------------------------------------------------

def _xor_forward(X, params):
    W1, b1, W2, b2 = params
    h = np.tanh(_f(X) @ W1 + b1)
    return h, h @ W2 + b2


def _xor_fit(X, y, params, learning_rate, epochs, step):
    """Full-batch gradient descent as fit runs it: each epoch's loss is the one before its step."""
    params, history = [_f(p).copy() for p in params], []
    for _ in range(epochs):
        loss, *grads = step(X, y, *params)
        history.append(loss)
        params = [p - learning_rate * g for p, g in zip(params, grads)]
    return np.array(history), params


def _run_report(history, X, params, last_activation):
    z = _xor_forward(X, params)[1][:, 0]
    return {"history": history, "outputs": _sigmoid(z) if last_activation == "sigmoid" else z}


def keras_xor(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    """What fit gives: the loss history and the trained model's outputs (logits, or σ of them for a sigmoid)."""
    history, params = _xor_fit(X, y, (W1, b1, W2, b2), learning_rate, epochs, xor_gradients)
    return _run_report(history, X, params, last_activation)


def _clipped_logits_step(X, y, W1, b1, W2, b2, dtype=np.float64):
    """Loss and gradients of BinaryCrossentropy(from_logits=False) on a linear output: the logits clipped to
    [EPS, 1 − EPS] and read as probabilities; tf.clip_by_value passes no gradient outside its range. With
    ``dtype`` float32, the clip and the loss are float32's (a sure, right example costs 1.19e-7, a wrong one
    15.94), the gradients float64 with float32's bounds."""
    X, y = _f(X), _f(y).reshape(-1, 1)
    h, z = _xor_forward(X, (W1, b1, W2, b2))
    low, high = (dtype(EPS), dtype(1) - dtype(EPS))
    clipped = np.clip(z.astype(dtype), low, high)
    loss = float(np.mean(-(y.astype(dtype) * np.log(clipped) + (1 - y.astype(dtype)) * np.log(1 - clipped))))
    p, low, high = _f(clipped), float(low), float(high)
    dz = np.where((z >= low) & (z <= high), ((1 - y) / (1 - p) - y / p) / len(X), 0.0)
    dh = dz @ _f(W2).T * (1 - h ** 2)
    return loss, X.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)


def _logits_as_probabilities(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    if last_activation != "linear":
        raise ValueError("Keras recovers a sigmoid's logits whatever from_logits says")
    history, params = _xor_fit(X, y, (W1, b1, W2, b2), learning_rate, epochs, _clipped_logits_step)
    return {**_run_report(history, X, params, "linear"), "loose": True}


def _logits_as_probabilities_float32(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
    """The same mistake in Keras's default float32: its clip's top, 1 − 1e-7, rounds to 1 − 1.19e-7, so a sure,
    wrong example costs 15.94 where float64 says 16.12. Its loss computed in float32, its steps in float64, matched
    within float32's tolerance (``"loose": "float32"``). A sigmoid model's run is the right one, in float32: Keras
    recovers a sigmoid's logits whatever from_logits says."""
    if last_activation != "linear":
        return {**keras_xor(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs), "loose": "float32"}

    def step(*args):
        return _clipped_logits_step(*args, dtype=np.float32)

    history, params = _xor_fit(X, y, (W1, b1, W2, b2), learning_rate, epochs, step)
    return {**_run_report(history, X, params, "linear"), "loose": "float32"}


def _other_outputs(kind):
    """The right training, but the last layer built as ``kind`` whatever last_activation says."""
    def report(X, y, W1, b1, W2, b2, last_activation, learning_rate, epochs):
        if last_activation == kind:
            raise ValueError("the right last layer for this case")
        history, params = _xor_fit(X, y, (W1, b1, W2, b2), learning_rate, epochs, xor_gradients)
        return _run_report(history, X, params, kind)
    return report


KERAS_MISTAKES = {
    "logits_as_probabilities": _logits_as_probabilities,
    "logits_as_probabilities_float32": _logits_as_probabilities_float32,
    "outputs_logits": _other_outputs("linear"),
    "outputs_probabilities": _other_outputs("sigmoid"),
}


def _keras_case(X, y, params, last_activation, learning_rate, epochs, data=None):
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    sizes = f"2-{np.shape(params[0])[1]}-1"
    data = data or f"{len(X)} points X = {_text(X)}, y = {_text(y)}"
    label = (f"{data}: a {sizes} network, last layer {last_activation!r}, learning_rate = {learning_rate:g}, "
             f"{epochs} epochs of one full batch, from W1 = {_text(params[0])}, b1 = {_text(params[1])}, "
             f"W2 = {_text(params[2])}, b2 = {_text(params[3])}")
    args = (X, y, *(np.asarray(p, dtype=float) for p in params), last_activation, learning_rate, epochs)
    return build_case(label, args, keras_xor, KERAS_MISTAKES)


# the cases ---------------------------------------------------------------------------

EQUIVALENT_MUTANTS = {
    # The Keras exercise's, found by `python -m autograder audit 09_losses --tensorflow` (not audited by default):
    "keras_xor · constant · False → True": "fit(shuffle=True) on a tf.data.Dataset is ignored by Keras (it only "
    "warns that the Dataset's own order is used): tests/test_lab09_keras.py shows it",
    "keras_xor · constant · 0 → 1": "verbose=1 prints a progress bar: output only, the same training",
    "keras_xor · drop_statement · import keras → pass": "the notebook's keras_import cell imports keras at the "
    "top level, and the grader runs a notebook's imports",
    "keras_xor · drop_statement · import tensorflow as tf → pass": "the notebook's keras_import cell imports "
    "tensorflow as tf at the top level, and the grader runs a notebook's imports",
    "logistic_gradients · swap_arguments · np.logaddexp(0, -z) → np.logaddexp(-z, 0)": "np.logaddexp is "
    "symmetric in its two arguments",
    "xor_gradients · swap_arguments · np.logaddexp(0, -z) → np.logaddexp(-z, 0)": "np.logaddexp is symmetric in "
    "its two arguments",
    "binary_cross_entropy · swap_arguments · np.clip(np.asarray(p, dtype=float), eps, 1 - eps) → "
    "np.clip(eps, np.asarray(p, dtype=float), 1 - eps)": "np.clip(a, lo, hi) is min(max(a, lo), hi): a and lo "
    "play the same role",
    "categorical_cross_entropy · swap_arguments · np.clip(np.asarray(p, dtype=float), eps, 1 - eps) → "
    "np.clip(eps, np.asarray(p, dtype=float), 1 - eps)": "np.clip(a, lo, hi) is min(max(a, lo), hi): a and lo "
    "play the same role",
    "binary_cross_entropy_from_logits · swap_arguments · np.maximum(z, 0) → np.maximum(0, z)": "np.maximum is "
    "symmetric in its two arguments",
    "xor_gradients · swap_arguments · np.maximum(z, 0) → np.maximum(0, z)": "np.maximum is symmetric in its "
    "two arguments",
    "categorical_cross_entropy · unary · -1 → 1": "the docstring's arrays are 2-D: axis 1 is the last axis",
    "xor_gradients · constant · 1 → 2": "reshape(-2, 1): NumPy reads any negative size as 'the rest'",
    "xor_gradients · arithmetic · delta @ np.asarray(W2).T → delta * np.asarray(W2).T": "delta has one column: "
    "the (n, 1) @ (1, h) product is the broadcast outer product",
}


def _softmax_rows(rng, n, k, scale=2.0):
    return np.round(_stable_softmax(rng.normal(scale=scale, size=(n, k))), 3)


def _normalized(p):
    p = np.asarray(p, dtype=float)
    return p / p.sum(axis=-1, keepdims=True)


def public_cases():
    """The course's −log 0.8 = 0.2231, saturated probabilities and logits, a batch of each kind, XOR."""
    xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    xor_y = np.array([0.0, 1.0, 1.0, 0.0])
    W1 = np.array([[0.5, -0.4, 0.3, 0.8], [-0.6, 0.7, 0.2, -0.5]])
    b1 = np.array([0.1, -0.1, 0.0, 0.2])
    W2 = np.array([[0.9], [-0.7], [0.4], [0.6]])
    b2 = np.array([-0.2])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3]])
    return {
        "mse_mae": [
            _mse_mae_case([6.96, 12.11, 16.77, 22.21], [0.08, 0.31, 0.54, 0.77],
                          "the commute times against the first guess's predictions"),
            _mse_mae_case([5.0, 4.0], [2.0, 7.0]),
        ],
        "binary_cross_entropy": [
            _bce_case([1.0], [0.8], label="one example of class 1 predicted with p = 0.8: −log 0.8"),
            _bce_case([1.0, 0.0, 1.0, 0.0], [0.9, 0.2, 0.6, 0.4]),
            _bce_case([1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0], label="saturated: p = 1, 0, 0, 1 for y = 1, 0, 1, 0"),
        ],
        "binary_cross_entropy_from_logits": [
            _logits_case([1.0, 0.0, 1.0], [2.0, -1.0, 0.0]),
            _logits_case([0.0, 1.0, 1.0, 0.0], [50.0, -50.0, 50.0, -50.0], "saturated logits ±50"),
        ],
        "categorical_cross_entropy": [
            _cce_case([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], probabilities,
                      label="two examples, classes 0 and 2: −(log 0.8 + log 0.3) / 2"),
            _cce_case([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0], [0.0, 0.5, 0.5]],
                      label="saturated: a sure right answer and a sure wrong one"),
        ],
        "sparse_cross_entropy_from_logits": [
            _sparse_case([0, 2], np.log(probabilities), "the logits log p of the probabilities [[0.8, 0.1, 0.1], "
                         "[0.2, 0.5, 0.3]], labels 0 and 2"),
            _sparse_case([1, 0], [[1000.0, 0.0, -1000.0], [3.0, 3.0, 3.0]], "huge logits, and a three-way tie"),
        ],
        "softmax_cross_entropy_gradient": [
            _gradient_case([0, 2], np.log(probabilities), "labels 0 and 2, logits log p of [[0.8, 0.1, 0.1], "
                           "[0.2, 0.5, 0.3]]"),
            _gradient_case([1], [[800.0, 0.0, -800.0]], "one example with huge logits"),
        ],
        "logistic_gradients": [
            _logistic_case([[2.0, 7.0], [8.0, 6.0], [5.0, 9.0]], [0.0, 1.0, 1.0], [0.3, -0.1], -0.5,
                           "three students (study, sleep hours), w = [0.3, −0.1], b = −0.5"),
        ],
        "xor_gradients": [
            _xor_case(xor, xor_y, W1, b1, W2, b2, "the four XOR points, a 2-4-1 network's starting weights"),
        ],
        "keras_xor": [
            _keras_case(xor, xor_y, (W1, b1, W2, b2), "linear", 1.0, 20, "the four XOR points"),
            _keras_case(xor, xor_y, (W1, b1, W2, b2), "sigmoid", 0.5, 20, "the four XOR points"),
        ],
    }


def _labels(rng, n, k):
    return rng.integers(0, k, size=n)


def hidden_cases(rng):
    """Inputs drawn from ``rng``: saturated values, huge logits, one-element batches, ties and one class."""
    n = int(rng.integers(4, 8))
    k = int(rng.integers(3, 6))
    y = rng.integers(0, 2, size=n).astype(float)
    y[:2] = [0.0, 1.0]
    p = np.round(rng.uniform(0.02, 0.98, size=n), 3)
    saturated = p.copy()
    saturated[:2] = [1.0, 1.0]  # sure and wrong, then sure and right
    saturated[2] = 0.0
    # Keras' float32 turns 1 − 1e-7 into 1 − 1.19e-7: the graded Keras cases saturate at p = 0 only.
    sure_and_wrong = p.copy()
    sure_and_wrong[1] = 0.0
    eps = float(rng.choice([1e-3, 1e-4, 1e-5]))
    z = np.round(rng.normal(scale=3, size=n), 2)
    z_big = np.round(z + np.sign(z + 1e-9) * rng.uniform(40, 60, size=n), 2)
    z_low, z_high = z.copy(), z.copy()
    z_low[0], z_high[1] = -800.0, 800.0  # e^−z and e^z overflow, each alone
    labels = _labels(rng, n, k)
    probs = _softmax_rows(rng, n, k)
    probs = _normalized(probs)
    saturated_probs = probs.copy()
    saturated_probs[0] = _one_hot([(labels[0] + 1) % k], k)[0]  # sure and wrong
    saturated_probs[1] = _one_hot([labels[1]], k)[0]  # sure and right
    logits = np.round(rng.normal(scale=2, size=(n, k)), 2)
    tied = logits.copy()
    tied[0] = tied[0, 0]  # every class tied
    tied[1, :2] = np.max(tied[1]) + 1.0  # two classes tied for the largest logit
    huge, behind = logits.copy(), logits.copy()
    huge[0] = 0.0
    huge[0, labels[0]] = 800.0  # e^800 overflows; the label's own logit is the largest
    behind[0] = 0.0
    behind[0, labels[0]] = -800.0  # the label's probability underflows to 0
    big = logits * 20 + np.round(rng.uniform(-50, 50), 1)
    d = int(rng.integers(2, 4))
    X = np.round(rng.uniform(-3, 3, size=(n, d)), 2)
    w = np.round(rng.normal(size=d), 2)
    b = float(np.round(rng.normal(), 2))
    hidden = int(rng.integers(2, 6))
    W1, b1 = np.round(rng.normal(size=(2, hidden)), 2), np.round(rng.normal(scale=0.5, size=hidden), 2)
    W2, b2 = np.round(rng.normal(size=(hidden, 1)), 2), np.round(rng.normal(scale=0.5, size=1), 2)
    points = np.round(rng.uniform(-1, 2, size=(n, 2)), 2)
    one_hot = _one_hot(labels, k)
    fit_rate, fit_epochs = float(np.round(rng.uniform(0.3, 1.0), 2)), int(rng.integers(12, 25))
    return {
        "mse_mae": [
            _mse_mae_case(np.round(rng.normal(size=n), 2), np.round(rng.normal(size=n), 2)),
            _mse_mae_case([float(np.round(rng.normal(), 2))], [float(np.round(rng.normal(), 2))]),
            _mse_mae_case(np.round(rng.normal(size=n), 2).astype(np.float32), np.round(rng.normal(size=n), 2)),
        ],
        "binary_cross_entropy": [
            _bce_case(y, p),
            _bce_case(y, saturated),
            _bce_case(y, sure_and_wrong),
            _bce_case(y, saturated, eps=eps),
            _bce_case(y[:1], saturated[:1]),
        ],
        "binary_cross_entropy_from_logits": [
            _logits_case(y, z),
            _logits_case(y, z_big),
            _logits_case(y, z_low),
            _logits_case(y, z_high),
            _logits_case(y[:1], z_big[:1]),
            _logits_case([1.0], [0.0]),
        ],
        "categorical_cross_entropy": [
            _cce_case(one_hot, probs),
            _cce_case(one_hot, saturated_probs),
            _cce_case(one_hot, saturated_probs, eps=eps),
            _cce_case(one_hot[:1], probs[:1]),
            _cce_case(np.ones((n, 1)), np.ones((n, 1)), label=f"one class only: {n} examples, y = p = 1"),
        ],
        "sparse_cross_entropy_from_logits": [
            _sparse_case(labels, logits),
            _sparse_case(labels, tied),
            _sparse_case(labels, huge),
            _sparse_case(labels, behind),
            _sparse_case(labels, big),
            _sparse_case(labels[:1], logits[:1]),
            _sparse_case(labels.tolist(), logits.tolist(), label="plain lists: labels = "
                         f"{labels.tolist()}, z = {_text(logits)}"),
            _sparse_case(np.zeros(n, dtype=int), logits[:, :1], label=f"one class only: {n} examples"),
        ],
        "softmax_cross_entropy_gradient": [
            _gradient_case(labels, logits),
            _gradient_case(labels, tied),
            _gradient_case(labels, huge),
            _gradient_case(labels, behind),
            _gradient_case(labels[:1], logits[:1]),
            _gradient_case(labels.tolist(), logits.tolist(), label="plain lists: labels = "
                           f"{labels.tolist()}, z = {_text(logits)}"),
            _gradient_case(labels, np.round(logits / 4, 2)),
        ],
        "logistic_gradients": [
            _logistic_case(X, y, w, b),
            _logistic_case(X[:1], y[:1], w, -b),
            _logistic_case(X[:, :1], y, w[:1], b),
            _logistic_case(X.tolist(), y.tolist(), w.tolist(), b, label=f"plain lists: X = {_text(X)}, y = "
                           f"{_text(y)}, w = {_text(w)}, b = {b:g}"),
        ],
        "xor_gradients": [
            _xor_case(points, y, W1, b1, W2, b2, f"{n} points, a 2-{hidden}-1 network"),
            _xor_case(points[:1], y[1:2], W1, b1, W2, b2, f"one point, a 2-{hidden}-1 network"),
        ],
        "keras_xor": [
            _keras_case(points, y, (W1, b1, W2, b2), "linear", fit_rate, fit_epochs),
            _keras_case(points, y, (W1, b1, W2, b2), "sigmoid", fit_rate, fit_epochs),
            _keras_case(points[:3], y[:3], (W1, b1, W2, b2), "linear", round(fit_rate / 2, 3), fit_epochs + 3),
        ],
    }
