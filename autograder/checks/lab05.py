"""Lab 05 · the training loop: the exercises and what each known mistake teaches.

``train`` is judged on what it does, not on one float. The probe
``autograder.probes.lab05.train_trace`` records every call of the student's own
``mse_gradients`` (the rows it got, the parameters, the gradients returned) and
``_compare_train`` checks, in this order:

1. the number of calls: ceil(n / batch_size) per epoch, for exactly ``epochs`` epochs;
2. each epoch's batches: a partition of the rows, of the right sizes, X and y rows still
   paired; in order without shuffling, a fresh permutation from ``rng`` every epoch with it;
3. the updates: each call gets the parameters the previous update produced,
   w ← w − learning_rate·dW (relative tolerance 1e-9; 1e-5 where float32 appears), and the
   returned w, b are those after the last update;
4. the values, wherever the batches came in the reference's order (always without
   shuffling, and with shuffling when ``rng.permutation(n)`` was drawn once per epoch):
   gradients, loss history and final parameters equal the reference's within rtol 1e-9
   (1e-4 with float32). Shuffled with another valid use of ``rng``, steps 1–3 alone judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_value
from autograder.probes.lab05 import NO_ROW, UNKNOWN_ROW, read_record

CHAIN_RTOL, CHAIN_RTOL_FLOAT32 = 1e-9, 1e-5


@dataclass(frozen=True)
class _Call:
    """One recorded call of mse_gradients."""

    x_rows: tuple[int, ...]
    y_rows: tuple[int, ...]
    count: int
    w: float
    b: float
    dw: float
    db: float

    @property
    def params(self) -> np.ndarray:
        return np.array([self.w, self.b])

    @property
    def gradients(self) -> np.ndarray:
        return np.array([self.dw, self.db])


def _calls(rows: np.ndarray, n: int) -> list[_Call]:
    calls = []
    for row in rows:
        x_rows = tuple(int(i) for i in row[:n] if i != NO_ROW)
        y_rows = tuple(int(i) for i in row[n:2 * n] if i != NO_ROW)
        calls.append(_Call(x_rows, y_rows, int(row[2 * n]), *(float(v) for v in row[2 * n + 1:])))
    return calls


def _say(exercise: Exercise, key: str, where: str = "", **details) -> str:
    text = exercise.messages[key].format(**details).rstrip(".")
    return f"{where}: {text}" if where else text


def _where(index: int, per_epoch: int) -> str:
    epoch, batch = divmod(index, per_epoch)
    return f"epoch {epoch + 1}, batch {batch + 1}" if per_epoch > 1 else f"epoch {epoch + 1}"


def _close(a, b, scale, rtol) -> bool:
    return bool(np.all(np.abs(np.asarray(a) - np.asarray(b)) <= rtol * np.asarray(scale) + 1e-12))


def _count_reason(exercise, total, n, size, epochs) -> str:
    per_epoch = math.ceil(n / size)
    details = {"calls": total, "per_epoch": per_epoch, "epochs": epochs, "n": n, "batch_size": size}
    if total == 0:
        return _say(exercise, "no_calls")
    if n % size and total == (n // size) * epochs:
        return _say(exercise, "dropped_last", **details)
    if total == per_epoch * (epochs + 1):
        return _say(exercise, "extra_epoch", **details)
    if epochs > 1 and total == per_epoch * (epochs - 1):
        return _say(exercise, "missing_epoch", **details)
    if size > 1 and total == n * epochs:
        return _say(exercise, "per_example", **details)
    if per_epoch > 1 and total == epochs:
        return _say(exercise, "ignored_batch_size", **details)
    return _say(exercise, "call_count", **details)


def _batch_reason(exercise, calls, settings) -> str | None:
    """Step 2: every epoch is a partition of the rows into batches of the right sizes."""
    n, size, shuffle = settings["n"], settings["batch_size"], settings["shuffle"]
    per_epoch = math.ceil(n / size)
    sizes = [size] * (per_epoch - 1) + [n - size * (per_epoch - 1)]
    orders = []
    for epoch in range(settings["epochs"]):
        batch = calls[epoch * per_epoch:(epoch + 1) * per_epoch]
        for j, (call, expected_size) in enumerate(zip(batch, sizes)):
            where = _where(epoch * per_epoch + j, per_epoch)
            if UNKNOWN_ROW in call.x_rows or UNKNOWN_ROW in call.y_rows:
                return _say(exercise, "unknown_rows", where)
            if call.count != expected_size:
                key = "whole_data" if call.count == n and size < n else "batch_rows"
                return _say(exercise, key, where, rows=call.count, expected=expected_size, batch_size=size)
        order = [i for call in batch for i in call.x_rows]
        if sorted(order) != list(range(n)):
            return _say(exercise, "rows_repeat", f"epoch {epoch + 1}")
        if any(call.x_rows != call.y_rows for call in batch):
            return _say(exercise, "unpaired", f"epoch {epoch + 1}")
        if not shuffle and order != list(range(n)):
            return _say(exercise, "shuffled_anyway", f"epoch {epoch + 1}")
        orders.append(order)
    if shuffle and all(order == list(range(n)) for order in orders):
        return _say(exercise, "never_shuffled")
    if shuffle and len(orders) > 1 and all(order == orders[0] for order in orders):
        return _say(exercise, "same_order")
    return None


def _update_reason(exercise, calls, settings, low_precision) -> str | None:
    """Step 3: each call sees the parameters that the previous update produced."""
    lr, per_epoch = settings["learning_rate"], math.ceil(settings["n"] / settings["batch_size"])
    rtol = CHAIN_RTOL_FLOAT32 if low_precision else CHAIN_RTOL
    start = np.array([settings["w0"], settings["b0"]])
    if not _close(calls[0].params, start, np.abs(start) + 1, rtol):
        return _say(exercise, "wrong_start", "epoch 1", w=calls[0].w, b=calls[0].b, w0=start[0], b0=start[1])
    for i in range(1, len(calls)):
        before, after, gradients = calls[i - 1].params, calls[i].params, calls[i - 1].gradients
        scale = np.abs(before) + np.abs(lr * gradients)
        if _close(after, before - lr * gradients, scale, rtol):
            continue
        where = _where(i, per_epoch)
        since_start = np.sum([c.gradients for c in calls[:i]], axis=0)
        epoch_start = (i - 1) // per_epoch * per_epoch  # of the batch whose update came before call i
        since_epoch = np.sum([c.gradients for c in calls[epoch_start:i]], axis=0)
        if _close(after, before + lr * gradients, scale, rtol):
            return _say(exercise, "ascent", where)
        if _close(after, before - gradients, np.abs(before) + np.abs(gradients), rtol):
            return _say(exercise, "no_learning_rate", where)
        if i > 1 and any(_close(after, before - lr * total, np.abs(before) + np.abs(lr * total), rtol)
                         for total in (since_start, since_epoch)):
            return _say(exercise, "no_reset", where)
        if _close(after, before, np.abs(before) + 1, rtol) or _close(after, start, np.abs(start) + 1, rtol):
            return _say(exercise, "stale", where)
        return _say(exercise, "update", where, w=after[0], b=after[1], expected_w=(before - lr * gradients)[0],
                    expected_b=(before - lr * gradients)[1])
    return None


def _values_reason(exercise, result, calls, expected, low_precision) -> str | None:
    """Step 4: where the batches came in the reference's order, the numbers themselves."""
    settings, rows = read_record(expected[1])
    reference_calls = _calls(rows, settings["n"])
    if [c.x_rows for c in calls] != [c.x_rows for c in reference_calls]:
        return None  # another valid shuffle: steps 1-3 judged it
    rtol = exercise.rtol_float32 if low_precision else exercise.rtol
    per_epoch = math.ceil(settings["n"] / settings["batch_size"])
    # Near the minimum a gradient is a small difference of large terms: scale by the run's largest.
    largest = max(np.max(np.abs(c.gradients)) for c in reference_calls)
    for i, (call, reference) in enumerate(zip(calls, reference_calls)):
        if not _close(call.gradients, reference.gradients, np.abs(reference.gradients) + largest, rtol):
            return _say(exercise, "gradients", _where(i, per_epoch), dw=call.dw, db=call.db,
                        expected_dw=reference.dw, expected_db=reference.db)
    w, b, history = result
    reference_w, reference_b, reference_history = expected[0]
    tolerant = replace(exercise, rtol=rtol)
    reason = compare_numbers(history, reference_history, tolerant)
    if reason:
        return f"the loss history differs: {reason}"
    if compare_numbers(np.array([w, b], dtype=float), np.array([reference_w, reference_b]), tolerant):
        return _say(exercise, "final_values", w=w, b=b, expected_w=reference_w, expected_b=reference_b)
    return None


def _read(received, expected) -> tuple[dict, dict, list[_Call]] | None:
    """The reference's settings, the settings the probe saw and the student's calls; None if unreadable."""
    if not (isinstance(received, tuple) and len(received) == 2):
        return None
    settings, _ = read_record(expected[1])
    try:
        seen, rows = read_record(received[1])
    except (TypeError, ValueError):
        return None
    if seen["n"] != settings["n"]:
        return None
    return settings, seen, _calls(rows, settings["n"])


def _show_train(value) -> str:
    """Feedback shows what train returned, (w, b, history), not the probe's record of its calls."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return format_value(value[0])
    return format_value(value)


def _compare_train(received, expected, exercise: Exercise) -> str | None:
    """Judges a recorded run against the reference's record: see the module docstring."""
    read = _read(received, expected)
    if read is None:
        return "the check could not read the record of your run"
    settings, seen, calls = read
    result = received[0]
    if not seen["found_mse_gradients"]:
        return _say(exercise, "no_mse_gradients")
    n, size, epochs = settings["n"], settings["batch_size"], settings["epochs"]
    if len(calls) != math.ceil(n / size) * epochs:
        return _count_reason(exercise, len(calls), n, size, epochs)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        return _say(exercise, "not_a_triple", received=format_value(result))
    low_precision = seen["low_precision"]
    reason = _batch_reason(exercise, calls, settings) or _update_reason(exercise, calls, settings, low_precision)
    if reason:
        return reason
    if settings["shuffle"] and not seen["rng_used"]:
        return _say(exercise, "rng_unused")
    w, b, history = result
    last = calls[-1]
    final = np.array([last.w, last.b]) - settings["learning_rate"] * last.gradients
    try:
        params = np.array([w, b], dtype=float)
    except (TypeError, ValueError):
        return _say(exercise, "not_a_triple", received=format_value(result))
    rtol = CHAIN_RTOL_FLOAT32 if low_precision else CHAIN_RTOL
    if params.shape != (2,) or not _close(params, final, np.abs(final) + np.abs(last.gradients), rtol):
        return _say(exercise, "final_params", w=format_value(w), b=format_value(b), expected_w=final[0],
                    expected_b=final[1])
    if np.ndim(history) != 1 or len(history) != epochs:
        return _say(exercise, "history_length", length=np.shape(history), epochs=epochs)
    return _values_reason(exercise, result, calls, expected, low_precision)


def _compare_epoch(received, expected, exercise: Exercise) -> str | None:
    """An epoch index (int) or None, exactly."""
    if expected is None:
        return None if received is None else "expected None: no plateau within these epochs"
    if received is None:
        return f"returned None, expected epoch {expected}"
    if isinstance(received, bool) or not isinstance(received, (int, np.integer)):
        return f"returned {type(received).__name__} {format_value(received)}, expected an int epoch index"
    return None if int(received) == expected else f"returned epoch {int(received)}, expected epoch {expected}"


def _is_low_precision(*values) -> bool:
    return any(getattr(v, "dtype", None) is not None and np.dtype(v.dtype).kind == "f"
               and np.dtype(v.dtype).itemsize < 8 for v in values)


def _compare_keras(received, expected, exercise: Exercise) -> str | None:
    """keras_train's (w, b, history): the epochs run, then the history and the weights within rtol 1e-10.

    float64 Keras reproduces the NumPy run to about 1e-15; float32 is off by about 1e-7, so the
    tolerance is 1e-10 whatever the dtype, and a difference below 1e-5 is named as float32.
    """
    if not (isinstance(received, (tuple, list)) and len(received) == 3):
        return _say(exercise, "not_a_triple", received=format_value(received))
    w, b, history = received
    reference_w, reference_b, reference_history = expected
    try:
        params, history_values = np.array([w, b], dtype=float), np.asarray(history, dtype=float)
    except (TypeError, ValueError):
        return _say(exercise, "not_a_triple", received=format_value(received))
    if params.shape != (2,) or history_values.ndim != 1:
        return _say(exercise, "not_a_triple", received=format_value(received))
    if len(history_values) != len(reference_history):
        return _say(exercise, "epochs_run", ran=len(history_values), expected=len(reference_history))
    reference = np.concatenate([reference_history, [reference_w, reference_b]])
    values = np.concatenate([history_values, params])
    if compare_numbers(values, reference, exercise) is None:
        return None
    if _is_low_precision(w, b, history) or _close(values, reference, np.abs(reference), 1e-5):
        return _say(exercise, "float32")
    reason = compare_numbers(history_values, reference_history, exercise)
    if reason:
        return f"the loss history differs: {reason}"
    return _say(exercise, "final_values", w=format_value(float(w)), b=format_value(float(b)))


LAB = Lab(
    id="05_training_loop",
    title="The training loop: linear regression",
    hidden_module="autograder.hidden.lab05",
    exercises=(
        Exercise(
            name="predict",
            points=1,
            summary="the line's predictions ŷ = w·x + b, shape (n,)",
            messages={
                "swapped": "You swapped the slope and the intercept: ŷ = w·x + b (w multiplies x).",
                "no_bias": "The bias is missing: ŷ = w·x + b.",
                "bias_scaled": "Only w multiplies x: ŷ = w·x + b, not (w + b)·x.",
            },
        ),
        Exercise(
            name="mse",
            points=1,
            summary="the mean squared error mean((ŷ − y)²), a float",
            messages={
                "sum": "That is the *sum* of the squared errors: divide by the number of examples (np.mean).",
                "no_square": "Square each error before averaging: otherwise errors of +5 and −5 cancel out.",
                "absolute": "That is the mean *absolute* error: the MSE squares the errors.",
                "root": "That is the root of the MSE (RMSE): leave out the square root.",
                "half": "This course's MSE (like Keras' loss=\"mse\") has no ½ in front: mean((ŷ − y)²).",
            },
        ),
        Exercise(
            name="mse_gradients",
            points=3,
            summary="(∂L/∂w, ∂L/∂b) of the mean squared error",
            rtol=1e-9,
            builds_on=("predict",),
            messages={
                "sum": "Your gradients are n times too large: you summed over the examples. The loss is the "
                "*mean* squared error, so its gradient is a mean too: 2·mean((ŷ − y)·x).",
                "no_two": "Your gradients are half the size: the derivative of (ŷ − y)² is 2·(ŷ − y), "
                "so the 2 stays in front.",
                "sign": "Your gradients have the wrong sign: differentiate (ŷ − y)², not (y − ŷ)² with a "
                "dropped minus. When the predictions are too low, both gradients must be negative.",
                "no_x": "∂L/∂w needs the input: ŷ = w·x + b, so ∂ŷ/∂w = x and ∂L/∂w = 2·mean((ŷ − y)·x).",
                "x_in_bias": "∂L/∂b has no x in it: ∂ŷ/∂b = 1, so ∂L/∂b = 2·mean(ŷ − y).",
                "swapped": "You returned (∂L/∂b, ∂L/∂w): the order is (dW, dB).",
            },
        ),
        Exercise(
            name="sgd_step",
            points=1,
            summary="one step w − learning_rate·dW, b − learning_rate·dB",
            rtol=1e-12,
            messages={
                "ascent": "Your step goes uphill: subtract the gradient, w − learning_rate·dW.",
                "no_learning_rate": "Your step is far too long: multiply the gradient by the learning rate.",
                "divided": "Multiply the gradient by the learning rate, don't divide by it.",
                "swapped": "w moves with dW and b with dB: you swapped the gradients.",
            },
        ),
        Exercise(
            name="train",
            points=6,
            summary="the training loop: batches, shuffling, updates and the loss history",
            rtol=1e-9,
            atol=1e-12,
            rtol_float32=1e-4,
            probe="lab05.train_trace",
            compare=_compare_train,
            show=_show_train,
            builds_on=("predict", "mse", "mse_gradients", "sgd_step"),
            messages={
                "no_mse_gradients": "The check found no function mse_gradients beside your train: define it "
                "in the notebook and let train call it.",
                "no_calls": "Your train never called mse_gradients, so the check could not watch it learn. "
                "Compute each batch's gradients with dW, dB = mse_gradients(X_batch, y_batch, w, b).",
                "dropped_last": "mse_gradients was called {calls} times, expected {per_epoch} per epoch × "
                "{epochs} epochs: you dropped the last, smaller batch. With {n} rows and batch_size "
                "{batch_size}, the last batch is what is left over; keep it (range(0, n, batch_size)).",
                "extra_epoch": "You ran one epoch too many ({calls} calls of mse_gradients, expected "
                "{per_epoch} per epoch × {epochs} epochs): for epoch in range(epochs) runs exactly `epochs` times.",
                "missing_epoch": "You ran one epoch too few ({calls} calls of mse_gradients, expected "
                "{per_epoch} per epoch × {epochs} epochs): for epoch in range(epochs) starts at 0.",
                "per_example": "mse_gradients was called once per example ({calls} calls): call it once per "
                "batch, with all the batch's rows, and update after each batch.",
                "ignored_batch_size": "mse_gradients was called once per epoch ({calls} calls), expected "
                "{per_epoch} batches of batch_size {batch_size} per epoch: split each epoch into batches.",
                "call_count": "mse_gradients was called {calls} times, expected ceil(n / batch_size) = "
                "{per_epoch} batches per epoch × {epochs} epochs.",
                "unknown_rows": "mse_gradients received values that are not rows of X and y: pass the batch's "
                "own rows, in the order mse_gradients(X_batch, y_batch, w, b), without changing them.",
                "whole_data": "mse_gradients got all {rows} rows: pass only the batch, X[rows] and y[rows].",
                "batch_rows": "that batch had {rows} rows, expected {expected}: slice consecutive batches of "
                "batch_size = {batch_size} rows from the epoch's order, order[start:start + batch_size].",
                "rows_repeat": "some rows were used twice and others not at all. An epoch visits every row "
                "exactly once: slice one order of the rows into consecutive batches.",
                "unpaired": "the rows of X and y no longer match: you shuffled them with different "
                "permutations. Draw one order = rng.permutation(n) per epoch and take X[order] and y[order].",
                "shuffled_anyway": "the rows came out of order although shuffle=False: keep the data's order "
                "when shuffle is False (as Keras' fit(shuffle=False) does).",
                "never_shuffled": "shuffle=True, but every epoch took the rows in their original order: "
                "draw order = rng.permutation(n) at the start of each epoch.",
                "same_order": "shuffle=True, but every epoch used the same order: you shuffled once, before "
                "the loop. Reshuffle at the start of every epoch (order = rng.permutation(n)).",
                "rng_unused": "shuffle=True, but you did not shuffle with the `rng` argument: use "
                "order = rng.permutation(n), so that the same seed gives the same run.",
                "wrong_start": "the first gradients were computed at w = {w:g}, b = {b:g}: start from the w "
                "and b you were given ({w0:g}, {b0:g}).",
                "ascent": "your update went uphill: w − learning_rate·dW, not +. Subtract the gradient.",
                "no_learning_rate": "your update moved the parameters by the whole gradient: multiply it by "
                "the learning rate, w − learning_rate·dW.",
                "no_reset": "your update used the sum of this and earlier batches' gradients: you forgot to "
                "reset an accumulated gradient. Each update uses only the gradients of its own batch.",
                "stale": "mse_gradients got the same w and b as before: the forward pass, and so the "
                "gradients, must use the parameters after the latest update. Update w and b right after each "
                "batch, inside the loop over batches, and pass the current values (not the initial ones).",
                "update": "mse_gradients got w = {w:.10g}, b = {b:.10g}, but the previous batch's update "
                "w − learning_rate·dW gives w = {expected_w:.10g}, b = {expected_b:.10g}. Update with exactly "
                "the gradients mse_gradients returned.",
                "not_a_triple": "train must return a tuple (w, b, history); got {received}.",
                "final_params": "you returned w = {w}, b = {b}, but the parameters after the last update are "
                "w = {expected_w:.10g}, b = {expected_b:.10g}: return the updated values.",
                "history_length": "the loss history has shape {length}, expected ({epochs},): one loss per epoch.",
                "gradients": "your loop is wired right, but mse_gradients returned (dW, dB) = ({dw:.10g}, "
                "{db:.10g}) where ({expected_dw:.10g}, {expected_db:.10g}) was expected for the same rows and "
                "parameters: fix mse_gradients first.",
                "final_values": "the final w = {w}, b = {b} differ from the expected w = {expected_w:.10g}, "
                "b = {expected_b:.10g}.",
                "after_update": "Your history holds the loss *after* each epoch's updates. Keras (and this lab) "
                "record the loss of the forward passes made during the epoch, before each update: "
                "227.415 for the first epoch of the commute data.",
                "unweighted": "Your epoch loss is the plain mean of the batch losses, but the last batch is "
                "smaller: weight each batch's loss by its number of rows (Keras does), i.e. "
                "sum(loss_b × rows_b) / n.",
                "summed": "Your epoch loss is the *sum* of the batch losses: average them, each weighted by "
                "its number of rows, sum(loss_b × rows_b) / n.",
                "stale_loss": "Your epoch loss uses predictions made at the start of the epoch (a stale "
                "forward pass): compute each batch's loss with the current w and b, just before its update.",
            },
        ),
        Exercise(
            name="plateau_epoch",
            points=2,
            summary="the first epoch at which the loss has not improved for `patience` epochs, or None",
            compare=_compare_epoch,
            messages={
                "previous": "You compared each loss with the previous epoch's. Compare with the *best* loss so "
                "far: a loss that bounces back up and down again has not improved on the best.",
                "not_strict": "A loss equal to the best (minus min_delta) is not an improvement: improvement "
                "means loss < best − min_delta, strictly.",
                "no_min_delta": "min_delta is ignored: only a drop of more than min_delta below the best counts "
                "as an improvement (loss < best − min_delta).",
                "one_based": "Epochs are 0-based indices here: return the index into `losses`, not index + 1.",
                "late": "One epoch late: stop as soon as `patience` epochs in a row failed to improve "
                "(wait >= patience), not after patience + 1.",
                "plateau_start": "You returned the first epoch of the plateau: return the epoch at which it is "
                "*detected*, the patience-th epoch in a row without improvement (where Keras' EarlyStopping stops).",
                "best_epoch": "You returned the epoch of the best loss: return the epoch at which the plateau "
                "is detected.",
            },
        ),
        Exercise(
            name="keras_train",
            points=2,
            summary="Dense(1) fitted by Keras on a tf.data pipeline, with early stopping: w, b and the history",
            rtol=1e-10,
            atol=1e-12,
            rtol_float32=1e-10,
            time_limit=60.0,
            profile="tensorflow",
            probe="lab05.keras_fit",
            compare=_compare_keras,
            messages={
                "float32": "Your numbers agree with the float64 run to only about 7 digits: Keras computed in "
                "float32, its default. Call keras.config.set_floatx(\"float64\") inside keras_train, before "
                "building the model, so that the weights, the inputs and the loss all work in float64 as NumPy "
                "does (the notebook's own set_floatx cell is a demo: the grader does not run it). Set w and b "
                "with model.set_weights: keras.initializers.Constant rounds its value to float32.",
                "shuffle_on_fit": "Every epoch took the rows in the data's order: fit(shuffle=True) is ignored "
                "when the data is a tf.data.Dataset. Shuffle in the pipeline, before batching: "
                "Dataset.from_tensor_slices(...).shuffle(len(X), seed=seed).batch(batch_size).",
                "no_restore": "Training stopped at the right epoch, but you returned the last epoch's weights: "
                "with EarlyStopping(..., restore_best_weights=True), fit ends by putting back the weights of the "
                "epoch with the lowest loss.",
                "no_early_stopping": "fit ran all its epochs although the loss had stopped improving: pass "
                "callbacks=[keras.callbacks.EarlyStopping(monitor=\"loss\", patience=patience, "
                "restore_best_weights=True)].",
                "not_a_triple": "keras_train must return (w, b, history): two floats and the array of the "
                "epochs' losses; got {received}.",
                "epochs_run": "your loss history has {ran} entries, expected {expected}: one per epoch that fit "
                "ran before EarlyStopping(monitor=\"loss\", patience=patience) stopped it.",
                "final_values": "the loss history is right, but w = {w}, b = {b} are not the weights of the best "
                "epoch: read them from the model after fit (model.get_weights()).",
            },
        ),
    ),
)
