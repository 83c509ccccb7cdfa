"""Lab 14 · TensorFlow and Keras on the GPU: the exercises and what each known mistake teaches.

Every exercise but one is TensorFlow code, graded in the grader's TensorFlow child (two logical
CPUs, no GPU) through the probes of ``autograder.probes.lab14``, which hand the student's code
tensors, models, datasets and a two-replica ``MirroredStrategy`` and report NumPy data. The
comparators below judge those reports against NumPy references; each states its tolerances.
"""

from __future__ import annotations

import re

import numpy as np

from autograder.checks.core import Exercise, Lab, format_pair, format_value
from autograder.checks.lab11 import _compare_batches, batch_features
from autograder.probes import numeric_array


def _close(received, expected, rtol, atol=0.0, what="your values") -> str | None:
    """None when ``received`` matches ``expected`` elementwise within atol + rtol·|expected|; else why not."""
    r, e = numeric_array(received), numeric_array(expected)
    if r is None:
        return f"{what}: got {format_value(received)}, expected numbers"
    if r.shape != e.shape:
        return f"{what}: shape {r.shape}, expected {e.shape}"
    r64, e64 = r.astype(np.float64), e.astype(np.float64)
    if not np.all(np.isfinite(r64)):
        return f"{what} contain NaN or infinity"
    bad = ~(np.abs(r64 - e64) <= atol + rtol * np.abs(e64))
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if r.ndim else ()
    where = f" at index {first[0] if len(first) == 1 else first}" if first else ""
    shown, wanted = format_pair(r64[first], e64[first])
    return f"{what} differ{where}: {shown} instead of {wanted}"


def _show_report(value) -> str:
    """A probe's report, field by field (the images of a pipeline left out: too many numbers to read)."""
    if not isinstance(value, dict):
        return format_value(value)
    parts = []
    for key, item in value.items():
        if key in ("images", "requested", "present") or (key == "error" and not item):
            continue
        if key == "epochs":
            parts.append("; ".join(f"epoch {i}: examples {format_value(np.asarray(e['x']))} in batches of "
                                   f"{[int(s) for s in np.asarray(e['sizes']).ravel()]}"
                                   for i, e in enumerate(item, start=1)))
        elif isinstance(item, list) and item and all(isinstance(v, np.ndarray) for v in item):
            parts.append(f"{key}: " + ", ".join(format_value(v) for v in item))
        else:
            parts.append(f"{key}: {format_value(item)}")
    return "; ".join(parts)


def _compare_pairwise(received, expected, exercise: Exercise) -> str | None:
    """Distances in the inputs' dtype: float64 within 1e-6·(1 + max distance), float32 within 2e-3·(1 + max).

    The tolerance lets the expanded form ‖a‖² + ‖b‖² − 2a·b (clamped at 0) pass: its rounding error is
    about √ε·‖a‖ where two rows coincide. Where ``expected`` holds NaN (the unclamped mistake's value),
    NaN or a value near 0 matches.
    """
    r, e = numeric_array(received), np.asarray(expected)
    if r is None:
        return f"returned {format_value(received)}, expected an array (a tensor) of distances"
    if r.dtype != e.dtype:
        return f"returned {r.dtype} distances for {e.dtype} inputs"
    if r.shape != e.shape:
        return f"returned shape {r.shape}, expected {e.shape} (n rows of a by m rows of b)"
    scale = 1.0 + float(np.nanmax(np.abs(e))) if e.size and not np.all(np.isnan(e)) else 1.0
    atol = (2e-3 if e.dtype == np.float32 else 1e-6) * scale
    r64, e64 = r.astype(np.float64), e.astype(np.float64)
    template = np.isnan(e64)
    with np.errstate(invalid="ignore"):
        ok = np.where(template, np.isnan(r64) | (np.abs(r64) <= atol), np.abs(r64 - e64) <= atol)
    if ok.all():
        return None
    first = tuple(int(i) for i in np.argwhere(~ok)[0])
    if np.isnan(r64[first]):
        return f"NaN at index {first} where the distance is {format_value(e64[first])}"
    return f"first difference at index {first}: {format_value(r64[first])} instead of {format_value(e64[first])}"


def _compare_tape(received, expected, exercise: Exercise) -> str | None:
    """(dL/dw, dL/db) within 1e-9 relative (float64); None where a gradient was not recorded."""
    if not isinstance(received, dict):
        return f"returned {format_value(received)}"
    if received.get("error") != expected["error"]:
        return received.get("error") or f"expected {expected['error']}"
    for key, name in (("dw", "dL/dw"), ("db", "dL/db")):
        got, want = received.get(key), expected[key]
        if (got is None) != (want is None):
            return f"{name} was None: the tape did not record how the loss depends on it" if got is None else (
                f"{name} should be None here")
        if want is not None:
            reason = _close(got, want, 1e-9, 1e-12, name)
            if reason:
                return reason
    return None


_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance", "kernel", "bias")


def _compare_train(received, expected, exercise: Exercise) -> str | None:
    """Losses returned and the six weights after the steps, within 1e-9 relative (float64 model)."""
    if not isinstance(received, dict):
        return f"returned {format_value(received)}"
    if received.get("error") != expected["error"]:
        return received.get("error") or f"expected {expected['error']}"
    if expected["error"]:
        return None
    got_losses, want_losses = received.get("losses"), expected["losses"]
    if not isinstance(got_losses, list) or len(got_losses) != len(want_losses):
        return f"the steps returned {format_value(got_losses)}, expected {len(want_losses)} losses"
    for key in ("moving_mean", "moving_variance"):
        reason = _close(received.get(key), expected[key], 1e-9, 1e-12, f"BatchNormalization's {key}")
        if reason:
            return reason
    reason = _close(np.asarray(got_losses, dtype=float) if all(isinstance(v, float) for v in got_losses)
                    else got_losses, np.asarray(want_losses), 1e-9, 1e-12, "the losses returned")
    if reason:
        return reason
    for key in _WEIGHTS[:2] + _WEIGHTS[4:]:
        reason = _close(received.get(key), expected[key], 1e-9, 1e-12, f"the {key} after the steps")
        if reason:
            return reason
    return None


def _compare_clip(received, expected, exercise: Exercise) -> str | None:
    """The clipped tensors and the global norm, within 1e-9 relative (float64)."""
    if not isinstance(received, dict) or not isinstance(received.get("clipped"), list):
        return "expected a pair (list of clipped tensors, global norm)"
    got, want = received["clipped"], expected["clipped"]
    if len(got) != len(want):
        return f"returned {len(got)} tensors, expected {len(want)}"
    reason = _close(received.get("norm"), expected["norm"], 1e-9, 1e-12, "the global norm")
    if reason:
        return reason
    for i, (g, w) in enumerate(zip(got, want)):
        reason = _close(g, w, 1e-9, 1e-12, f"clipped tensor {i}")
        if reason:
            return reason
    return None


_BY_CHANCE = ("every batch held consecutive rows", "every example came out at most")


def _compare_pipeline(received, expected, exercise: Exercise) -> str | None:
    """The batches as lab 11 judges them (every example once, sizes, shuffled or not, reshuffled, a full
    shuffle), the seed's use (the same seed repeats the first epoch's order, another changes it when training),
    the images' dtype (float32) and the labels' (the one given), then every epoch's images by label: MNIST's
    normalisation within 1e-5."""
    if not isinstance(received, dict) or "images" not in received:
        return f"the check could not read the batches: {format_value(received)}"
    reason = _compare_batches(received, expected, exercise)
    if reason and reason.startswith(_BY_CHANCE) and batch_features(received)["same_order"] and batch_features(
            expected)["same_order"]:
        reason = None  # one order repeated: whether it looks local or in blocks is chance, not the pipeline
    if reason:
        return reason
    for flag, text in (("repeatable", "the same seed gave another order"),
                       ("seed_matters", "another seed gave the same order")):
        if bool(received.get(flag)) != bool(expected[flag]):
            return text if expected[flag] else f"expected {flag.replace('_', ' ')}"
    if received.get("dtype") != expected["dtype"]:
        return (f"your images are {received.get('dtype')}, expected {expected['dtype']}: cast them, "
                "tf.cast(image, tf.float32), before normalising (NumPy arithmetic on uint8 pixels gives float64)")
    if received.get("label_dtype") != expected["label_dtype"]:
        return (f"your labels are {received.get('label_dtype')}, expected {expected['label_dtype']}: the labels "
                "come out unchanged, in the dtype they were given")
    for epoch, (got, want) in enumerate(zip(received["images"], expected["images"]), start=1):
        g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
        if g.shape != w.shape:
            return f"epoch {epoch}: images of shape {g.shape[1:]}, expected {w.shape[1:]}"
        seen = ~np.isnan(w) & ~np.isnan(g)  # examples both records hold (a dropped remainder holds fewer)
        if not np.allclose(g[seen], w[seen], rtol=1e-5, atol=1e-5):
            index = int(np.argwhere(~np.isclose(g, w, rtol=1e-5, atol=1e-5) & seen)[0][0])
            return (f"epoch {epoch}: the image of label {index} is {format_value(g[index].ravel())}, expected "
                    f"{format_value(w[index].ravel())}")
    return None


def _compare_mixed(received, expected, exercise: Exercise) -> str | None:
    """float32 new weights and bias, and a float32 loss; the update w − w_new within 1 % of the largest
    update of the reference run (float16 arithmetic carries 3 digits), and the unscaled loss within 1 %."""
    if not isinstance(received, dict):
        return f"returned {format_value(received)}"
    if received.get("dtype") != expected["dtype"]:
        return f"your new weights are {received.get('dtype') or 'not a tensor'}, expected {expected['dtype']}"
    if expected["dtype"] != "float32":
        return None
    for key, what in (("b_dtype", "your new bias is"), ("loss_dtype", "the loss you returned is")):
        got = received.get(key, expected[key])
        if got != expected[key] and isinstance(got, str) and "float" in got and got != "float":  # a Python float
            return f"{what} {got}, expected {expected[key]}"
    want_w = np.asarray(expected["update_w"], dtype=float)
    size = float(max(np.max(np.abs(want_w)), abs(expected["update_b"])))
    for key, name in (("update_w", "the update of w (w − w_new)"), ("update_b", "the update of b (b − b_new)")):
        reason = _close(received.get(key), expected[key], 0.0, 1e-2 * size + 1e-30, name)
        if reason:
            return reason
    return _close(received.get("loss"), expected["loss"], 1e-2, 1e-30, "the loss returned")


_FULL_NAME = re.compile(r"/job:[^/]+/replica:\d+/task:\d+/device:[A-Za-z]+:\d+")


def _names_device(name, expected_name, key) -> bool:
    """Whether ``name`` is ``expected_name``: the same device in full form where that is full, else the same text."""
    from autograder.hidden.lab14 import device_key  # the names' parsing, not an answer

    if isinstance(expected_name, str) and _FULL_NAME.fullmatch(expected_name):
        return isinstance(name, str) and bool(_FULL_NAME.fullmatch(name)) and device_key(name) == key
    return name == expected_name


def _compare_device(received, expected, exercise: Exercise) -> str | None:
    """The product within 1e-9, and the full name of the device it ran on (as ``product.device`` writes it): the
    requested device where the machine has it (``present``, as the probe found it), else /CPU:0. A failure is
    judged as a failure. A mistake's record may say where its product ran (``ran_on``) and that its name is a
    short form of the right device (``form``)."""
    from autograder.hidden.lab14 import device_key, full_name  # the names' parsing, not an answer

    if not isinstance(received, dict):
        return f"returned {format_value(received)}"
    if bool(received.get("error")) != bool(expected["error"]):
        return (f"raised {received['error']} for a device this machine does not have" if received.get("error")
                else "expected a failure")
    if expected["error"]:
        return None
    reason = _close(received.get("product"), expected["product"], 1e-9, 1e-12, "the product")
    if reason:
        return reason
    name, ran_on, want_name = received.get("device"), received.get("ran_on"), expected["device"]
    if "requested" in expected and "form" not in expected and bool(received.get("present")) != bool(
            expected["present"]):
        want_name = full_name(device_key(expected["requested"])) if received.get("present") else want_name
    want = device_key(want_name)
    if "form" in expected:  # a mistake's record
        if ran_on is not None and device_key(ran_on) != device_key(expected["ran_on"]):
            return "ran elsewhere"
        if expected["form"] == "short":
            return None if device_key(name) == want and not (
                isinstance(name, str) and _FULL_NAME.fullmatch(name)) else "another name"
        return None if _names_device(name, want_name, want) else "another name"
    if _names_device(name, want_name, want):
        return None
    if ran_on is not None and device_key(ran_on) != want:
        return f"your product ran on {ran_on!r}, expected {want_name!r}"
    if device_key(name) == want:
        return f"the device returned is {name!r}, a short form of {want_name!r}: the docstring asks for the full name"
    if ran_on is not None:
        return f"the device returned is {name!r}, but your product ran on {ran_on!r}"
    return f"the device returned is {name!r}, expected {want_name!r}"


_FLOAT32_STEP = ("your weights agree with one device's only to float32's 7 digits: part of your step computed in "
                 "float32. A Keras loss computes in its own dtype, float32 unless told: "
                 "keras.losses.MeanSquaredError(dtype=\"float64\") for this float64 model. ")
_FLOAT32_LOSS = ("the losses you returned agree with one device's only to float32's 7 digits: your loss was computed "
                 "in float32. A Keras loss computes in its own dtype, float32 unless told: "
                 "keras.losses.MeanSquaredError(dtype=\"float64\") for this float64 model. ")


def _compare_mirrored(received, expected, exercise: Exercise) -> str | None:
    """Weights after the steps within 1e-9 relative (float64), then the losses returned (unless the
    expected record leaves them open). Weights or losses within 1e-5 but not 1e-9 are named a float32
    computation: the model is float64, and a step computed in float32 is not one device's step."""
    if not isinstance(received, dict):
        return f"returned {format_value(received)}"
    for key in ("kernel", "bias"):
        reason = _close(received.get(key), expected[key], 1e-9, 1e-12, f"the {key} after the steps")
        if reason:
            near = all(_close(received.get(k), expected[k], 1e-5, 1e-8) is None for k in ("kernel", "bias"))
            return _FLOAT32_STEP + reason if near else reason
    if expected["losses"] is None:
        return None
    losses = received.get("losses")
    losses = np.asarray(losses, dtype=float) if isinstance(losses, list) and all(
        isinstance(v, float) for v in losses) else losses
    reason = _close(losses, np.asarray(expected["losses"]), 1e-9, 1e-12, "the losses returned")
    if reason and _close(losses, np.asarray(expected["losses"]), 1e-5, 1e-8) is None:
        return _FLOAT32_LOSS + reason
    return reason


def _tf(name, points, summary, probe, compare, messages):
    return Exercise(name=name, points=points, summary=summary, probe=probe, compare=compare, show=_show_report,
                    messages=messages, profile="tensorflow", time_limit=60.0)


LAB = Lab(
    id="14_tensorflow",
    title="TensorFlow and Keras on the GPU",
    hidden_module="autograder.hidden.lab14",
    exercises=(
        Exercise(
            name="pairwise_distances",
            points=2,
            summary="the (n, m) Euclidean distances between the rows of a (n, d) and b (m, d), no loop, dtype kept",
            probe="lab14.pairwise",
            compare=_compare_pairwise,
            profile="tensorflow",
            time_limit=60.0,
            messages={
                "squared": "You returned squared distances: take the square root of the sum of squared differences.",
                "transposed": "Your result is (m, n): rows belong to a and columns to b. Broadcast "
                "a[:, None, :] − b[None, :, :], which is (n, m, d), and reduce the last axis.",
                "no_clamp": "NaN where two rows coincide: the expanded ‖a‖² + ‖b‖² − 2a·b rounds to a tiny negative "
                "number there, and its square root is NaN. Clamp it first, tf.maximum(squared, 0.0), or subtract "
                "the rows directly.",
                "float32_always": "Your distances are float32 for float64 inputs: keep the inputs' dtype (no "
                "tf.cast to float32; a Python constant takes the tensor's dtype).",
            },
        ),
        Exercise(
            name="mse_gradient_matrix",
            points=1,
            summary="the MSE's gradient in matrix form, 2/n · X1ᵀ(X1·θ − y), in NumPy",
            dtype="float64",
            messages={
                "matrix_summed": "Your gradient is n times too large: the loss is the *mean* squared error, so the "
                "gradient carries 1/n: 2/n · X1ᵀ(X1θ − y).",
                "matrix_no_two": "Your gradient is half the right one: the derivative of r² is 2r, so the "
                "gradient is 2/n · X1ᵀ(X1θ − y).",
                "matrix_sign": "Your gradient has the wrong sign: the residual is prediction minus target, "
                "X1θ − y (the course's ∂L/∂W is −82.465 at W = 0.23, B = −0.15).",
            },
        ),
        _tf("tape_gradients", 2, "dL/dw and dL/db of the line's MSE with tf.GradientTape, for constants too",
            "lab14.tape", _compare_tape, {
                "no_watch": "Your gradients are None when w and b are tf.constants: a tape records only what it "
                "watches, and it watches trainable tf.Variables by itself. Ask the tape to watch both inputs "
                "(tape.watch) first thing inside the with block.",
                "loss_outside_tape": "Your gradients are None even for tf.Variables: the loss was computed outside "
                "the `with tf.GradientTape() as tape:` block, so the tape recorded nothing. Compute the "
                "prediction and the loss inside it; call tape.gradient afterwards.",
                "tape_loss_summed": "Your gradients are n times too large: the loss is the *mean* squared error, "
                "tf.reduce_mean, not tf.reduce_sum.",
                "non_persistent": "You asked the tape for gradients twice: a tape gives one set of gradients and "
                "then frees what it recorded. Ask once for both, tape.gradient(loss, [w, b]) (or make it "
                "persistent=True).",
            }),
        _tf("train_step", 3, "one step of a custom loop under tf.function: training=True, loss + "
            "sum(model.losses), gradients of the trainable variables, apply_gradients; the loss returned",
            "lab14.train_steps", _compare_train, {
                "no_training_flag": "BatchNormalization ran in inference mode: its moving statistics never moved "
                "and it normalised with them instead of the batch's. Call model(x, training=True) in a training "
                "step: BatchNormalization and Dropout behave differently while training.",
                "no_model_losses": "Your loss left out the regularization penalty: a kernel_regularizer adds its "
                "l2·ΣW² to model.losses, which fit adds and a custom step must add itself: "
                "loss = loss_fn(y, pred) + sum(model.losses).",
                "numpy_in_graph": "You called .numpy() inside the step: under tf.function the step is traced "
                "into a graph, where a tensor is symbolic and has no value yet. Return the loss tensor itself "
                "(convert it outside the step, if you need a number).",
                "add_n_of_nothing": "Your step failed on a model without regularizers: its model.losses is an "
                "empty list, and tf.add_n([]) raises a ValueError. Add the penalties with sum(model.losses), "
                "which is 0 for an empty list.",
            }),
        _tf("clip_by_global_norm", 2, "(clipped gradients, global norm): every tensor scaled by "
            "clip_norm / max(global norm, clip_norm)", "lab14.clip", _compare_clip, {
                "per_tensor": "You clipped each tensor by its own norm: global-norm clipping measures all the "
                "gradients together, ‖g‖ = √(Σ‖gᵢ‖²), and scales them all by the same clip_norm / max(‖g‖, "
                "clip_norm), so the update keeps its direction.",
                "by_value": "You clipped each entry to [−clip_norm, clip_norm] (clipping by value): that changes "
                "the direction of the update. Scale every tensor by clip_norm / max(global norm, clip_norm).",
                "always_scale": "You scaled the gradients although their global norm was below clip_norm: "
                "clipping only shrinks. The factor is clip_norm / max(norm, clip_norm), 1 when the norm is small.",
            }),
        _tf("input_pipeline", 3, "a tf.data pipeline of MNIST-like images: normalised in map, cached, shuffled "
            "(training only, each epoch anew) before batching, prefetched", "lab14.pipeline", _compare_pipeline, {
                "shuffle_after_batch": "Your pipeline batches first and shuffles after: .batch(b).shuffle(…) "
                "shuffles whole batches, so the same examples always travel together. Shuffle the examples, "
                "then batch.",
                "shuffled_evaluation": "With training=False the examples were shuffled: an evaluation pass "
                "follows the data's order (predictions line up with the labels, runs reproduce). Shuffle only "
                "when training.",
                "no_reshuffle": "Every epoch came in the same order: either reshuffle_each_iteration=False, or a "
                ".cache() placed after .shuffle(), which caches the first epoch's order. Cache first, then "
                "shuffle.",
                "never_shuffled": "With training=True the examples came in the data's order: add "
                ".shuffle(len(x), seed=seed) before .batch.",
                "small_buffer": "Your order is only shuffled locally: shuffle's buffer_size is how many examples "
                "it draws from. With buffer_size=batch_size an example can only move a few places. Use "
                "buffer_size=len(x) (the data fits in memory).",
                "no_255": "Your pixels were standardised without dividing by 255 first: MNIST's mean 0.1307 and "
                "std 0.3081 are those of pixels in [0, 1], so a pixel of 127 becomes (127 / 255 − 0.1307) / "
                "0.3081 = 1.1923.",
                "only_255": "Your pixels were divided by 255 but not standardised: subtract MNIST's mean 0.1307 "
                "and divide by its std 0.3081 (127 → 1.1923).",
                "remainder_dropped": "The last, smaller batch is missing: 10 examples in batches of 4 are 4 + 4 + "
                "2 (60,000 / 64 → 938 batches). Keep it: .batch(batch_size) drops nothing by default.",
                "seed_ignored": "Two pipelines made with the same seed shuffled differently: pass the seed to "
                "shuffle, .shuffle(len(x), seed=seed), so that a run can be repeated.",
                "seed_constant": "A pipeline made with another seed shuffled the same way: shuffle with the seed "
                "you are given, .shuffle(len(x), seed=seed), not a number of your own.",
            }),
        _tf("mixed_precision_step", 3, "one SGD step with float16 arithmetic and a loss scale: scale the loss, "
            "unscale the gradients, update float32 master weights", "lab14.mixed", _compare_mixed, {
                "no_unscale": "Your update is loss_scale times too large: you scaled the loss but not the "
                "gradients back. Divide every gradient by loss_scale before the update.",
                "no_loss_scaling": "Your update is 0 where the gradients are tiny: without loss scaling, "
                "float16 gradients below 6e-8 underflow to 0. Multiply the loss by loss_scale before "
                "tape.gradient, and divide the gradients by it afterwards.",
                "float16_master": "Your new weights are float16: the master weights stay float32 (float16 "
                "cannot even hold a step of 1e-4 added to 1.0). Compute in float16, update in float32: w − "
                "learning_rate · g with w and g float32.",
                "scaled_loss_returned": "The loss you returned is loss_scale times too large: the scaled loss "
                "is only for tape.gradient; return the loss itself.",
                "float32_only": "Your step never left float32: on inputs that float16 rounds (1 + 2⁻¹² is 1.0 in "
                "float16) your update and loss are float32's. Cast w, b and x to float16 for the forward pass "
                "(tf.cast(x, tf.float16)), and the predictions back to float32 for the loss.",
            }),
        _tf("run_on_device", 1, "a @ b computed on the requested device where it exists, else on /CPU:0; "
            "(product, the device it ran on)", "lab14.placement", _compare_device, {
                "requested_name": "You returned the name you asked for, not where the product ran: with soft "
                "placement TensorFlow falls back to another device without a word. Read it from the result, "
                "product.device.",
                "ignored_request": "Your product ran on /CPU:0 although the machine has the device asked for: "
                "compute it inside `with tf.device(device):`.",
                "no_fallback": "Your code failed for a device this machine does not have: fall back to the CPU "
                "(soft placement does it for you inside tf.device, or check tf.config.list_logical_devices()).",
                "short_name": "Your device name is a short form: return the full name of the device the product "
                "ran on, as TensorFlow writes it (\"/job:localhost/replica:0/task:0/device:CPU:1\", not "
                "\"CPU:1\" or \"/device:CPU:1\"): product.device.",
                "input_device": "You returned where an input lives, not where the product ran: a and b were made "
                "on /CPU:0, but inside `with tf.device(device):` the product ran on the device asked for. Return "
                "the product's own device, product.device.",
            }),
        _tf("mirrored_train_step", 3, "one SGD step under MirroredStrategy: per-example losses averaged over "
            "the GLOBAL batch (tf.nn.compute_average_loss), strategy.run, the losses summed over the replicas",
            "lab14.mirrored", _compare_mirrored, {
                "per_replica_mean": "Your step moved about twice as far as one device's on the same global "
                "batch: each replica averaged its loss over its own examples, and the all-reduce SUMS the "
                "replicas' gradients. Divide by the global batch: tf.nn.compute_average_loss(per_example_loss, "
                "global_batch_size=global_batch_size).",
                "equal_shares": "Your step is right only when every replica gets the same number of examples: "
                "here the global batch was split unevenly (3 + 2 examples, say), and each replica divided its "
                "sum by its own share times the replicas. That is what tf.nn.compute_average_loss does without "
                "global_batch_size, what a Keras loss's default reduction does inside strategy.run, and what "
                "tf.shape(x)[0] × num_replicas_in_sync computes. Divide every replica's sum by the global batch: "
                "tf.nn.compute_average_loss(per_example_loss, global_batch_size=global_batch_size).",
                "reduce_mean": "Your weights are right but the loss you returned is half the batch's: each "
                "replica's loss is already divided by the global batch size, so strategy.reduce must SUM them "
                "(tf.distribute.ReduceOp.SUM).",
                "replicas_counted_twice": "Your step moved half as far as one device's: the replicas were "
                "counted twice. You divided by global_batch_size × replicas, but the global batch already "
                "counts every replica's examples.",
            }),
    ),
)
