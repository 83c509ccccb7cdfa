"""Lab 14 hidden checks: TensorFlow exercises judged against NumPy; known mistakes; the cases.

The grading process never imports TensorFlow: every expected report is computed here in NumPy
(float64), in the shape the probes of ``autograder.probes.lab14`` report the student's run. The
conventions are TensorFlow's and Keras': Keras' BatchNormalization (momentum 0.99, ε 1e-3, the
population variance), ``MeanSquaredError`` (the mean over every entry), ``L2(l2)`` = l2·ΣW² on the
kernel only, SGD w ← w − lr·g; ``tf.clip_by_global_norm`` (scale clip_norm / max(norm, clip_norm));
``tf.nn.compute_average_loss`` (the sum over a replica's examples divided by the GLOBAL batch size);
MNIST's normalisation (x / 255 − 0.1307) / 0.3081. Learning rates and penalties are powers of two,
so that Keras' float32 hyperparameters hold them exactly.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from autograder.checks.lab11 import _blocks, _local, batch_features
from autograder.hidden import build_case
from autograder.probes.lab14 import ADD_N_OF_NOTHING, NON_PERSISTENT, NUMPY_IN_GRAPH

AUDIT_TENSORFLOW = True

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3
CPU0 = "/job:localhost/replica:0/task:0/device:CPU:0"


def _f(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _text(values) -> str:
    return np.array2string(np.asarray(values), precision=4, separator=", ", max_line_width=10_000).replace("\n", "")


# pairwise_distances ------------------------------------------------------------------

def pairwise_distances(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.sqrt(((a[:, None, :].astype(float) - b[None, :, :]) ** 2).sum(axis=-1)).astype(a.dtype)


def _no_clamp(a, b):
    """Where a row of a equals a row of b, the expanded ‖a‖² + ‖b‖² − 2a·b can round below 0: NaN there."""
    distances = pairwise_distances(a, b)
    return np.where(distances == 0, np.nan, distances).astype(distances.dtype)


PAIRWISE_MISTAKES = {
    "squared": lambda a, b: (pairwise_distances(a, b).astype(float) ** 2).astype(np.asarray(a).dtype),
    "transposed": lambda a, b: pairwise_distances(b, a),
    "no_clamp": _no_clamp,
    "float32_always": lambda a, b: pairwise_distances(a, b).astype(np.float32),
}


def _pairwise_case(a, b, label=None):
    label = label or f"a = {_text(a)} ({np.asarray(a).dtype}), b = {_text(b)}"
    return build_case(label, (a, b), pairwise_distances, PAIRWISE_MISTAKES)


# mse_gradient_matrix (NumPy) ---------------------------------------------------------

def mse_gradient_matrix(X1, theta, y):
    X1, theta, y = _f(X1), _f(theta), _f(y)
    return 2.0 / len(y) * X1.T @ (X1 @ theta - y)


MSE_MATRIX_MISTAKES = {
    "matrix_summed": lambda X1, theta, y: mse_gradient_matrix(X1, theta, y) * len(y),
    "matrix_no_two": lambda X1, theta, y: mse_gradient_matrix(X1, theta, y) / 2,
    "matrix_sign": lambda X1, theta, y: -mse_gradient_matrix(X1, theta, y),
}


def _matrix_case(x, theta, y, label=None):
    X1 = np.column_stack([_f(x), np.ones(len(x))])
    label = label or f"X1 = [x, 1] with x = {_text(x)}, theta = {_text(theta)}, y = {_text(y)}"
    return build_case(label, (X1, _f(theta), _f(y)), mse_gradient_matrix, MSE_MATRIX_MISTAKES)


# tape_gradients ----------------------------------------------------------------------

def _line_gradients(w, b, x, y):
    x, y = _f(x), _f(y)
    residual = w * x + b - y
    return float(2 * np.mean(residual * x)), float(2 * np.mean(residual))


def tape_gradients(w, b, x, y, kind):
    dw, db = _line_gradients(w, b, x, y)
    return {"dw": dw, "db": db, "error": ""}


def _nones(*args):
    return {"dw": None, "db": None, "error": ""}


TAPE_MISTAKES = {
    "no_watch": lambda w, b, x, y, kind: _nones() if kind == "constant" else tape_gradients(w, b, x, y, kind),
    "loss_outside_tape": _nones,
    "tape_loss_summed": lambda w, b, x, y, kind: {k: v * len(x) if isinstance(v, float) else v
                                                  for k, v in tape_gradients(w, b, x, y, kind).items()},
    "non_persistent": lambda *args: {"dw": None, "db": None, "error": NON_PERSISTENT},
}


def _tape_case(w, b, x, y, kind):
    label = (f"w = {w:g}, b = {b:g} as float64 tf.{'constant' if kind == 'constant' else 'Variable'}s, "
             f"x = {_text(x)}, y = {_text(y)}")
    return build_case(label, (float(w), float(b), _f(x), _f(y), kind), tape_gradients, TAPE_MISTAKES)


# train_step --------------------------------------------------------------------------

def _train(weights, x_batches, y_batches, l2, learning_rate, training=True, penalty=True):
    gamma, beta, mean, var, W, bias = (_f(w).copy() for w in weights)
    losses = []
    penalty = penalty and l2 is not None  # None: a model without regularizers
    for x, y in zip(x_batches, y_batches):
        x, y = _f(x), _f(y)
        if training:
            mu, sigma2 = x.mean(axis=0), x.var(axis=0)
        else:
            mu, sigma2 = mean, var
        xhat = (x - mu) / np.sqrt(sigma2 + BN_EPSILON)
        h = gamma * xhat + beta
        pred = h @ W + bias
        extra = l2 * np.sum(W ** 2) if penalty else 0.0
        losses.append(float(np.mean((pred - y) ** 2) + extra))
        dpred = 2 * (pred - y) / pred.size
        dh = dpred @ W.T
        grads = [(dh * xhat).sum(axis=0), dh.sum(axis=0), h.T @ dpred + (2 * l2 * W if penalty else 0.0),
                 dpred.sum(axis=0)]
        gamma, beta, W, bias = (p - learning_rate * g for p, g in zip((gamma, beta, W, bias), grads))
        if training:
            mean = mean * BN_MOMENTUM + mu * (1 - BN_MOMENTUM)
            var = var * BN_MOMENTUM + sigma2 * (1 - BN_MOMENTUM)
    return {"losses": losses, "gamma": gamma, "beta": beta, "moving_mean": mean, "moving_variance": var,
            "kernel": W, "bias": bias, "error": ""}


def train_step(weights, x_batches, y_batches, l2, learning_rate):
    return _train(weights, x_batches, y_batches, l2, learning_rate)


TRAIN_STEP_MISTAKES = {
    "no_training_flag": lambda *args: _train(*args, training=False),
    "no_model_losses": lambda *args: _train(*args, penalty=False),
    "numpy_in_graph": lambda *args: {"losses": [], "error": NUMPY_IN_GRAPH},
    "add_n_of_nothing": lambda *args: train_step(*args) if args[3] is not None else {"losses": [],
                                                                                     "error": ADD_N_OF_NOTHING},
}


def _train_weights(rng, d, k):
    return [rng.uniform(0.5, 1.5, d), rng.uniform(-0.5, 0.5, d), rng.uniform(-0.5, 0.5, d),
            rng.uniform(0.5, 2.0, d), rng.normal(0, 0.5, (d, k)), rng.normal(0, 0.1, k)]


def _train_case(rng, n, d, k, l2, learning_rate, steps=2):
    weights = _train_weights(rng, d, k)
    x_batches = [rng.normal(1.0, 2.0, (n, d)) for _ in range(steps)]
    y_batches = [rng.normal(0, 1, (n, k)) for _ in range(steps)]
    penalty = "no regularizer: model.losses is empty" if l2 is None else f"L2({l2:g})"
    label = (f"{steps} steps on batches of {n} examples: BatchNormalization({d} features) → "
             f"Dense({k}, {penalty}), SGD({learning_rate:g}), MeanSquaredError, float64")
    return build_case(label, (weights, x_batches, y_batches, l2, learning_rate), train_step, TRAIN_STEP_MISTAKES)


# clip_by_global_norm -----------------------------------------------------------------

def _global_norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(_f(g) ** 2) for g in grads)))


def clip_by_global_norm(grads, clip_norm):
    norm = _global_norm(grads)
    scale = clip_norm / max(norm, clip_norm)
    return {"clipped": [_f(g) * scale for g in grads], "norm": norm}


def _per_tensor(grads, clip_norm):
    clipped = [_f(g) * clip_norm / max(float(np.sqrt(np.sum(_f(g) ** 2))), clip_norm) for g in grads]
    return {"clipped": clipped, "norm": _global_norm(grads)}


CLIP_MISTAKES = {
    "per_tensor": _per_tensor,
    "by_value": lambda grads, c: {"clipped": [np.clip(_f(g), -c, c) for g in grads], "norm": _global_norm(grads)},
    "always_scale": lambda grads, c: {"clipped": [_f(g) * c / _global_norm(grads) for g in grads],
                                      "norm": _global_norm(grads)},
}


def _clip_case(grads, clip_norm, label=None):
    grads = [_f(g) for g in grads]
    label = label or (f"clip_norm = {clip_norm:g}, gradients of shapes {[g.shape for g in grads]}, global norm "
                      f"{_global_norm(grads):.4g}: " + "; ".join(_text(g) for g in grads))
    return build_case(label, (grads, float(clip_norm)), clip_by_global_norm, CLIP_MISTAKES)


# input_pipeline ----------------------------------------------------------------------
# As in lab 11: the expected records come from NumPy stand-ins of tf.data pipelines, and the grading
# process judges what a record shows (batch_features), never TensorFlow's own order of examples.

def _normalised(x):
    return (_f(x) / 255.0 - MNIST_MEAN) / MNIST_STD


def _buffer_order(size):
    """The order of tf.data's shuffle(size): draw one of the ``size`` buffered examples, refill from the data."""
    def order(rng, n):
        buffer, out, following = list(range(min(size, n))), [], min(size, n)
        while buffer:
            out.append(buffer.pop(int(rng.integers(len(buffer)))))
            if following < n:
                buffer.append(following)
                following += 1
        return np.array(out, dtype=np.int64)
    return order


def _stand_in(shuffle_training=True, shuffle_evaluation=False, fresh=True, batch_first=False, buffer=None,
              drop=False, scale=_normalised, seeded=True, seed_used=True):
    def pipeline(x, y, batch_size, training, seed, epochs=3):
        rng, n = np.random.default_rng(seed), len(y)
        first = _frozen_order(rng, n, batch_size)
        shuffled = shuffle_training if training else shuffle_evaluation
        report = {"n": n, "batch_size": int(batch_size), "epochs": [], "images": [], "dtype": "float32",
                  "label_dtype": str(np.asarray(y).dtype), "repeatable": not (shuffled and not seeded),
                  "seed_matters": shuffled and (seed_used or not seeded)}
        for _ in range(epochs):
            order = np.arange(n)
            if shuffled:
                order = _buffer_order(buffer)(rng, n) if buffer else (rng.permutation(n) if fresh else first)
            stop = n - n % batch_size if drop else n
            starts = list(range(0, stop, batch_size))
            if shuffled and batch_first:
                starts = list(rng.permutation(starts))
                order = np.arange(n)
            labels = np.concatenate([order[s:s + batch_size] for s in starts]).astype(np.int64) if starts else (
                np.array([], dtype=np.int64))
            sizes = np.array([len(order[s:s + batch_size]) for s in starts], dtype=np.int64)
            images = np.full((n, *np.shape(x)[1:]), np.nan)
            images[labels] = scale(np.asarray(x)[labels])
            report["epochs"].append({"x": labels, "y": labels, "sizes": sizes, "error": ""})
            report["images"].append(images)
        return report
    return pipeline


def _frozen_order(rng, n, batch_size):
    """The one order a pipeline that never reshuffles repeats: a real shuffle (not local, not in blocks)."""
    for _ in range(100):
        order = rng.permutation(n)
        record = {"x": order, "sizes": [min(batch_size, n - s) for s in range(0, n, batch_size)]}
        if n < 3 or not (_local(record, batch_size) or (1 < batch_size < n and _blocks(record, batch_size))):
            break
    return order


input_pipeline = _stand_in()

PIPELINE_MISTAKES = {
    "shuffle_after_batch": _stand_in(batch_first=True),
    "shuffled_evaluation": _stand_in(shuffle_evaluation=True),
    "no_reshuffle": _stand_in(fresh=False),
    "never_shuffled": _stand_in(shuffle_training=False),
    "small_buffer": None,  # set per case: a buffer of batch_size examples
    "no_255": _stand_in(scale=lambda x: (_f(x) - MNIST_MEAN) / MNIST_STD),
    "only_255": _stand_in(scale=lambda x: _f(x) / 255.0),
    "remainder_dropped": _stand_in(drop=True),
    "seed_ignored": _stand_in(seeded=False),
    "seed_constant": _stand_in(seed_used=False),
}


def _generic(report) -> bool:
    features = batch_features(report)
    return not (features["same_order"] or features["blocks"] or features["local"])


def _pipeline_case(x, y, batch_size, training, seed):
    for attempt in range(20):
        if not training or _generic(input_pipeline(x, y, batch_size, training, seed + attempt)):
            break
    seed += attempt
    mistakes = {**PIPELINE_MISTAKES, "small_buffer": _stand_in(buffer=batch_size)}
    pixels = _text(np.asarray(x).ravel()[:6])[:-1]
    label = (f"x: {len(y)} images of shape {np.shape(x)[1:]} (uint8 pixels {pixels}, …]), "
             f"y = the labels 0 … {len(y) - 1}, batch_size = {batch_size}, training = {training}, seed = {seed}; "
             "three passes over the dataset")
    case = build_case(label, (x, y, batch_size, training, seed), input_pipeline, mistakes)
    want = batch_features(case.expected)
    telling = {k: v for k, v in case.wrong.items()
               if batch_features(v) != want or not np.allclose(v["images"][0], case.expected["images"][0],
                                                                equal_nan=True)
               or any(v[flag] != case.expected[flag] for flag in ("repeatable", "seed_matters"))}
    return replace(case, wrong=telling)


def _images(rng, n, shape, pixels=()):
    x = rng.integers(0, 256, size=(n, *shape)).astype(np.uint8)
    flat = x.reshape(-1)
    flat[:len(pixels)] = pixels
    return x


# mixed_precision_step ----------------------------------------------------------------

def _half(values) -> np.ndarray:
    return np.asarray(values, dtype=float).astype(np.float16).astype(float)


def _mixed(w, b, x, y, learning_rate, loss_scale, scale=True, unscale=True, emulate=False, half=True):
    """The step's update and loss. ``half``: the forward pass in float16, as TensorFlow computes it (inputs, weights
    and predictions rounded to float16; sums in higher precision); else all in float32's exact arithmetic."""
    w, x, y = _f(w), _f(x), _f(y)
    if half:
        x = _half(x)
        pred = _half(_half(x @ _half(w)) + float(_half(b)))
    else:
        pred = x @ w + b
    loss = float(np.mean((pred - y) ** 2))
    dpred = 2 * (pred - y) / len(y)
    if emulate:  # float16 backpropagation below the float32 loss, as TensorFlow computes it
        s = loss_scale if scale else 1.0
        dpred = (dpred * s).astype(np.float16).astype(float) / s
    gw, gb = x.T @ dpred, float(dpred.sum())
    factor = loss_scale if not unscale else 1.0
    return {"update_w": learning_rate * gw * factor, "update_b": learning_rate * gb * factor, "loss": loss,
            "dtype": "float32", "b_dtype": "float32", "loss_dtype": "float32"}


def mixed_precision_step(w, b, x, y, learning_rate, loss_scale):
    return _mixed(w, b, x, y, learning_rate, loss_scale)


MIXED_MISTAKES = {
    "no_unscale": lambda *args: _mixed(*args, unscale=False),
    "no_loss_scaling": lambda *args: _mixed(*args, scale=False, emulate=True),
    "float16_master": lambda *args: {**_mixed(*args), "dtype": "float16", "b_dtype": "float16"},
    "scaled_loss_returned": lambda w, b, x, y, lr, s: {**_mixed(w, b, x, y, lr, s),
                                                       "loss": _mixed(w, b, x, y, lr, s)["loss"] * s},
    "float32_only": lambda *args: _mixed(*args, half=False),
}


def _mixed_case(w, b, x, y, learning_rate, loss_scale, what):
    args = (np.asarray(w, dtype=np.float32), float(np.float32(b)), np.asarray(x, dtype=np.float32),
            np.asarray(y, dtype=np.float32), float(learning_rate), float(loss_scale))
    label = (f"{what}: w = {_text(args[0])}, b = {args[1]:g}, x of shape {args[2].shape}, "
             f"learning_rate = {learning_rate:g}, loss_scale = {loss_scale:g}")
    return build_case(label, args, mixed_precision_step, MIXED_MISTAKES)


def _ordinary_mixed(rng, n, d, learning_rate, loss_scale):
    x = rng.normal(0, 1, (n, d))
    w, b = rng.normal(0, 1, d), float(rng.normal())
    y = x @ rng.normal(0, 1, d) + rng.normal(0, 1, n)
    return _mixed_case(w, b, x, y, learning_rate, loss_scale, f"{n} examples of {d} features")


def _underflow_mixed(rng, n, d, learning_rate):
    """Residuals of ~1e-6: 2·r/n is below float16's smallest number (6e-8) unless the loss is scaled."""
    x = rng.uniform(0.5, 1.0, (n, d))
    y = rng.uniform(4e-7, 1e-6, n) * rng.choice([-1, 1], n)
    return _mixed_case(np.zeros(d), 0.0, x, y, learning_rate, 2.0 ** 16,
                       f"a model almost fitted ({n} residuals of about 1e-6)")


def _rounded_mixed(rng, n, learning_rate):
    """Inputs float16 rounds: x = x16 + 2⁻¹² with x16 on float16's grid in [1, 2) (spacing 2⁻¹⁰), w = 1, b = 0 and
    residuals x16 − y of 1 to 3 × 2⁻¹⁰. In float16 the residuals are exact; a step that stays in float32 sees
    them 8 to 25 % larger."""
    x16 = 1.0 + rng.integers(0, 1024, n) * 2.0 ** -10
    x = (x16 + 2.0 ** -12)[:, None]
    y = x16 - rng.integers(1, 4, n) * 2.0 ** -10
    return _mixed_case([1.0], 0.0, x, y, learning_rate, 1024.0,
                       f"{n} inputs float16 rounds (x = 1 + k·2⁻¹⁰ + 2⁻¹², which is 1 + k·2⁻¹⁰ in float16)")


# run_on_device -----------------------------------------------------------------------

_DEVICE = re.compile(r"(?:device:)?(cpu|gpu|tpu):(\d+)", re.IGNORECASE)
GRADER_DEVICES = {("CPU", 0), ("CPU", 1)}


def device_key(name):
    """("CPU", 1) for "/cpu:1", "/device:CPU:1" or "/job:localhost/replica:0/task:0/device:CPU:1"; None otherwise."""
    if not isinstance(name, str):
        return None
    found = _DEVICE.findall(name)
    return (found[-1][0].upper(), int(found[-1][1])) if found else None


def full_name(key) -> str:
    return f"/job:localhost/replica:0/task:0/device:{key[0]}:{key[1]}"


def run_on_device(device, a, b):
    present = device_key(device) in GRADER_DEVICES
    where = full_name(device_key(device) if present else ("CPU", 0))
    return {"product": _f(a) @ _f(b), "device": where, "present": present, "error": "", "requested": device,
            "ran_on": where}


def _returned(device, a, b, name, form="exact", ran_on=None):
    report = run_on_device(device, a, b)
    return {**report, "device": name, "form": form, "ran_on": ran_on or report["ran_on"]}


DEVICE_MISTAKES = {
    "requested_name": lambda device, a, b: _returned(device, a, b, device),
    "ignored_request": lambda device, a, b: _returned(device, a, b, CPU0, ran_on=CPU0),
    "no_fallback": lambda device, a, b: run_on_device(device, a, b) if device_key(device) in GRADER_DEVICES else {
        "product": None, "device": "", "present": False, "error": "raised", "requested": device},
    "short_name": lambda device, a, b: _returned(device, a, b, run_on_device(device, a, b)["device"], form="short"),
    "input_device": lambda device, a, b: _returned(device, a, b, CPU0),
}


def _device_case(device, a, b):
    label = f"device = {device!r}, a = {_text(a)}, b = {_text(b)}"
    return build_case(label, (device, _f(a), _f(b)), run_on_device, DEVICE_MISTAKES)


# mirrored_train_step -----------------------------------------------------------------

REPLICAS = 2


def replica_shares(batch: int, replicas: int = REPLICAS) -> list[int]:
    """How ``experimental_distribute_dataset`` splits a global batch: the first replicas take one example more."""
    return [batch // replicas + (r < batch % replicas) for r in range(replicas)]


def _mirrored(kernel, bias, x, y, global_batch_size, learning_rate, divisor="global", reduce="sum", losses=True):
    """The step as TensorFlow runs it: each replica's loss is the sum of its examples' losses over a divisor
    (``global``: the global batch; ``own``: its own share; ``own_times_replicas``: its share × the replicas,
    right only when the shares are equal; ``global_times_replicas``), the replicas' gradients are summed, and
    the returned loss is the sum (or ``mean``) of the replicas' losses."""
    W, bias, x, y = _f(kernel).copy(), _f(bias).copy(), _f(x), _f(y)
    returned = []
    for start in range(0, len(x), global_batch_size):
        xb, yb = x[start:start + global_batch_size], y[start:start + global_batch_size]
        pred = xb @ W + bias
        per_example = np.mean((pred - yb) ** 2, axis=1)
        dper = 2 * (pred - yb) / yb.shape[1]
        scale, total, edge = np.empty(len(xb)), 0.0, 0
        for share in replica_shares(len(xb)):
            divide = {"global": len(xb), "own": share, "own_times_replicas": share * REPLICAS,
                      "global_times_replicas": len(xb) * REPLICAS}[divisor]
            scale[edge:edge + share] = 1.0 / divide
            total += float(np.sum(per_example[edge:edge + share]) / divide)
            edge += share
        returned.append(total / (REPLICAS if reduce == "mean" else 1))
        dpred = dper * scale[:, None]
        W, bias = W - learning_rate * xb.T @ dpred, bias - learning_rate * dpred.sum(axis=0)
    return {"losses": returned if losses else None, "kernel": W, "bias": bias, "replicas": REPLICAS}


def mirrored_train_step(kernel, bias, x, y, global_batch_size, learning_rate):
    return _mirrored(kernel, bias, x, y, global_batch_size, learning_rate)


MIRRORED_MISTAKES = {
    "per_replica_mean": lambda *args: _mirrored(*args, divisor="own", losses=False),
    "reduce_mean": lambda *args: _mirrored(*args, reduce="mean"),
    "replicas_counted_twice": lambda *args: _mirrored(*args, divisor="global_times_replicas", losses=False),
    "equal_shares": lambda *args: _mirrored(*args, divisor="own_times_replicas", losses=False),
}


def _mirrored_case(rng, n, d, k, global_batch_size, learning_rate):
    kernel, bias = rng.normal(0, 0.5, (d, k)), rng.normal(0, 0.1, k)
    x, y = rng.normal(0, 1, (n, d)), rng.normal(0, 1, (n, k))
    shares = " + ".join(str(v) for v in replica_shares(global_batch_size))
    label = (f"Dense({k}) on {d} features, float64, SGD({learning_rate:g}); {n} examples in global batches of "
             f"{global_batch_size}, split {shares} over 2 replicas (/cpu:0, /cpu:1)")
    return build_case(label, (kernel, bias, x, y, global_batch_size, learning_rate), mirrored_train_step,
                      MIRRORED_MISTAKES)


# the cases ---------------------------------------------------------------------------

COMMUTE_DISTANCES = [1.0, 2.0, 3.0, 4.0]
COMMUTE_TIMES = [6.96, 12.11, 16.77, 22.21]

EQUIVALENT_MUTANTS = {
    "mse_gradient_matrix · drop_statement · X1, theta, y = (np.asarray(X1, dtype=float), np.asarray(theta, "
    "dtype=float), np.asarray(y, dtype=float)) → pass": "the cases pass float arrays, which the formula takes as "
    "they are",
    "train_step · swap_arguments · loss_fn(y, predictions) → loss_fn(predictions, y)": "the mean squared error is "
    "symmetric in its two arguments",
    "clip_by_global_norm · swap_arguments · tf.maximum(norm, clip_norm) → tf.maximum(clip_norm, norm)": "tf.maximum "
    "is symmetric in its two arguments",
    "mirrored_train_step.replica_step · constant · True → False": "the mirrored model is a single Dense layer, "
    "which computes the same in training and inference",
    "mirrored_train_step.replica_step · unary · -1 → 1": "the predictions are (batch, k): axis 1 is the last axis",
}


def public_cases():
    """The course's commute line (gradients −82.465, −28.175), MNIST's pixel 127 (→ 1.1923), small tensors."""
    rng = np.random.default_rng(14)
    a = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    b = np.array([[0.0, 0.0], [6.0, 8.0], [1.0, 0.0], [-3.0, -4.0]])
    images = _images(rng, 10, (2, 2), pixels=(127, 0, 255))
    return {
        "pairwise_distances": [
            _pairwise_case(a, b),
            _pairwise_case(rng.normal(0, 2, (2, 3)).astype(np.float32), rng.normal(0, 2, (5, 3)).astype(np.float32)),
        ],
        "mse_gradient_matrix": [
            _matrix_case(COMMUTE_DISTANCES, [0.23, -0.15], COMMUTE_TIMES,
                         label="the course's commute data, theta = (W, B) = (0.23, −0.15)"),
            _matrix_case([0.5, -1.0, 2.0], [1.5, 0.25], [1.0, 2.0, -0.5]),
        ],
        "tape_gradients": [
            _tape_case(0.23, -0.15, COMMUTE_DISTANCES, COMMUTE_TIMES, "constant"),
            _tape_case(0.23, -0.15, COMMUTE_DISTANCES, COMMUTE_TIMES, "variable"),
        ],
        "train_step": [_train_case(rng, 6, 3, 2, 0.03125, 0.125), _train_case(rng, 5, 2, 1, None, 0.25)],
        "clip_by_global_norm": [
            _clip_case([[3.0, 4.0], [[0.0, 12.0]]], 6.5, label="gradients (3, 4) and (0, 12): norm 13, clip_norm 6.5"),
            _clip_case([[0.3, -0.4], [1.2]], 5.0,
                       label="gradients (0.3, −0.4) and (1.2,): norm 1.3, below clip_norm 5"),
        ],
        "input_pipeline": [
            _pipeline_case(images, np.arange(10), 4, True, 0),
            _pipeline_case(images, np.arange(10), 4, False, 0),
        ],
        "mixed_precision_step": [
            _ordinary_mixed(rng, 8, 3, 0.125, 1024.0),
            _underflow_mixed(rng, 128, 2, 0.5),
            _rounded_mixed(rng, 8, 0.5),
        ],
        "run_on_device": [
            _device_case("/cpu:1", [[1.0, 2.0], [3.0, 4.0]], [[0.5], [-1.0]]),
            _device_case("/gpu:0", [[1.0, 2.0], [3.0, 4.0]], [[0.5], [-1.0]]),
        ],
        "mirrored_train_step": [_mirrored_case(rng, 10, 3, 1, 5, 0.25)],
    }


def hidden_cases(rng):
    """Other shapes and dtypes: one-row inputs, a single feature, duplicated rows, a gradient already small
    enough, devices named in every form."""
    n, m, d = (int(v) for v in rng.integers(2, 6, 3))
    duplicated = rng.normal(0, 3, (8, 5))
    order = rng.permutation(8)
    images_n = int(rng.integers(9, 14))
    batch = int(rng.integers(3, 6))
    while images_n % batch == 0:
        batch = int(rng.integers(3, 6))
    images = _images(rng, images_n, (3, 2), pixels=(127,))
    big = rng.uniform(2.0, 4.0)
    grads = [rng.normal(0, 1, (2, 3)), rng.normal(0, 1, (3,)), rng.normal(0, 1, (1,))]
    norm = _global_norm(grads)
    cpu = rng.choice(["/cpu:1", "/CPU:1", "/device:CPU:1"])
    missing = rng.choice(["/gpu:0", "/GPU:1", "/device:GPU:0", "/cpu:7"])
    a2, b2 = rng.normal(0, 1, (int(rng.integers(1, 4)), 3)), rng.normal(0, 1, (3, 2))
    uneven = int(rng.choice([5, 7]))  # unequal shares (3 + 2, 4 + 3): a step right only for equal ones fails
    return {
        "pairwise_distances": [
            _pairwise_case(rng.normal(0, 2, (n, d)), rng.normal(0, 2, (m, d))),
            _pairwise_case(rng.normal(0, 2, (1, 1)).astype(np.float32), rng.normal(0, 2, (m, 1)).astype(np.float32)),
            _pairwise_case(duplicated, duplicated[order], label="a and b hold the same 8 rows (of 5 features) in "
                           "another order: 8 of the distances are exactly 0"),
        ],
        "mse_gradient_matrix": [
            _matrix_case(rng.normal(0, 2, n), rng.normal(0, 1, 2), rng.normal(0, 2, n)),
            _matrix_case(rng.normal(0, 2, 1), rng.normal(0, 1, 2), rng.normal(0, 2, 1)),
        ],
        "tape_gradients": [
            _tape_case(float(rng.normal()), float(rng.normal()), rng.normal(0, 2, n), rng.normal(0, 2, n), "constant"),
            _tape_case(float(rng.normal()), float(rng.normal()), rng.normal(0, 2, m), rng.normal(0, 2, m), "variable"),
        ],
        "train_step": [_train_case(rng, int(rng.integers(4, 8)), int(rng.integers(1, 4)), int(rng.integers(1, 3)),
                                   rng.choice([0.015625, 0.0625]), rng.choice([0.0625, 0.25])),
                       _train_case(rng, int(rng.integers(4, 8)), int(rng.integers(1, 4)), 1, None, 0.125)],
        "clip_by_global_norm": [
            _clip_case(grads, norm / big),
            _clip_case(grads, norm * big),
            _clip_case([g * 3 for g in grads[:2]], max(_global_norm([g * 3]) for g in grads[:2]) * 1.01,
                       label="every tensor's own norm below clip_norm, their global norm above it"),
        ],
        "input_pipeline": [
            _pipeline_case(images, np.arange(images_n), batch, True, int(rng.integers(1000))),
            _pipeline_case(images, np.arange(images_n), batch, False, int(rng.integers(1000))),
        ],
        "mixed_precision_step": [
            _ordinary_mixed(rng, int(rng.integers(4, 12)), int(rng.integers(1, 4)), 0.0625, 256.0),
            _underflow_mixed(rng, 256, int(rng.integers(1, 4)), 0.25),
            _rounded_mixed(rng, int(rng.integers(6, 12)), 0.25),
        ],
        "run_on_device": [_device_case(str(cpu), a2, b2), _device_case(str(missing), a2, b2)],
        "mirrored_train_step": [_mirrored_case(rng, 2 * uneven, int(rng.integers(1, 4)), int(rng.integers(1, 3)),
                                               uneven, rng.choice([0.125, 0.25]))],
    }
