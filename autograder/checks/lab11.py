"""Lab 11 · mini-batches and digit classification: the exercises and what each known mistake teaches.

The batch iterator is judged by behaviour, not by one order of examples: the probe
``autograder.probes.lab11.batch_rows`` records which rows every batch of three epochs held, and
``_compare_batches`` reduces a record to what it shows (``batch_features``): the batches' sizes,
rows that are no rows of the data, examples seen twice in an epoch, X and y still paired, each
epoch in the data's order or not, the same order every epoch, batches that are runs of consecutive
rows, an order only shuffled locally, and which epochs drew from the given generator. Two
records match when they show the same; so any valid use of ``rng`` passes, and a known mistake is
named when the student's record shows what the mistake's shows on every case.

The Keras exercise, ``keras_train``, trains the network over given epochs' orders; the grading
process compares its final weights and loss history with a trusted NumPy run of Keras's Adam
(``autograder.hidden.lab11``), to 1e-10.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_value

UNKNOWN = -1  # as in autograder.probes.lab11


def _epoch_order(epoch) -> list[int]:
    return [int(i) for i in np.asarray(epoch["x"]).ravel()]


def _blocks(epoch, batch_size) -> bool:
    """Every batch is a run of consecutive rows starting at a multiple of the batch size."""
    order, start = _epoch_order(epoch), 0
    for size in np.asarray(epoch["sizes"]).ravel():
        rows = sorted(order[start:start + int(size)])
        start += int(size)
        if rows and (rows[0] % batch_size or rows != list(range(rows[0], rows[0] + len(rows)))):
            return False
    return True


def _local(epoch, batch_size) -> bool:
    """Every example leaves at most batch_size − 1 places before its own: a shuffle buffer of batch_size."""
    return all(i <= position + batch_size - 1 for position, i in enumerate(_epoch_order(epoch)))


def batch_features(report) -> dict:
    """What a probe's record shows, field by field, in the order ``_compare_batches`` reads them."""
    epochs, size = report["epochs"], int(report["batch_size"])
    orders = [_epoch_order(e) for e in epochs]
    shuffled = [order != list(range(len(order))) for order in orders]
    features = {
        "error": next((e["error"] for e in epochs if e["error"]), ""),
        # largest first: batches shuffled after batching put the smaller one anywhere (told apart by "blocks")
        "sizes": tuple(tuple(sorted((int(s) for s in np.asarray(e["sizes"]).ravel()), reverse=True)) for e in epochs),
        "unknown": any(UNKNOWN in order or UNKNOWN in np.asarray(e["y"]).tolist() for e, order in zip(epochs, orders)),
        "repeats": any(len(set(order)) != len(order) for order in orders),
        "paired": all(np.array_equal(np.asarray(e["x"]), np.asarray(e["y"])) for e in epochs),
        "shuffled": any(shuffled),  # a shuffle of 4 examples leaves one epoch in order 1 time in 24: not all 3
        "same_order": len(orders) > 1 and any(shuffled) and all(order == orders[0] for order in orders),
        "blocks": any(shuffled) and 1 < size < report["n"] and all(_blocks(e, size) for e in epochs),
        "local": any(shuffled) and all(_local(e, size) for e in epochs) and size < report["n"],
    }
    if "rng_used" in report:
        features["rng_used"] = tuple(bool(u) for u in report["rng_used"])
    return features


def _sizes_text(sizes) -> str:
    if not sizes:
        return "no batch"
    return f"{len(sizes)} batch{'es' if len(sizes) != 1 else ''} of sizes {list(sizes)}"


def _compare_batches(received, expected, exercise: Exercise) -> str | None:
    """Judges a record by what it shows (``batch_features``), in the order a student would fix it."""
    if isinstance(received, str):
        return received
    try:
        got = batch_features(received)
    except (KeyError, TypeError, ValueError):
        return "the check could not read the record of your batches"
    want = batch_features(expected)
    if got["error"] != want["error"]:
        return got["error"] or f"expected {want['error']}"
    for epoch, (g, w) in enumerate(zip(got["sizes"], want["sizes"]), start=1):
        if g != w:
            return f"epoch {epoch} gave {_sizes_text(g)}, expected {_sizes_text(w)}"
    if got["unknown"]:
        return "a batch held rows that are not rows of X (or of y): yield X[index], y[index] of the data you were given"
    if got["repeats"] != want["repeats"]:
        return "an epoch held some examples twice (and so missed others): each epoch visits every example once"
    if got["paired"] != want["paired"]:
        return "the rows of X_batch and y_batch do not belong together: take both with the same index"
    if got["shuffled"] != want["shuffled"]:
        return ("every epoch came in the data's order: expected a shuffled order" if want["shuffled"] else
                "the examples were shuffled: with shuffle=False the batches follow the data's order")
    checks = (
        ("same_order", "every epoch came in the same order: each epoch should draw a new order"),
        ("blocks", "every batch held consecutive rows of the data: the examples themselves were not shuffled"),
        ("local", "every example came out at most batch_size − 1 places before its own: the order was only "
                  "shuffled locally"),
    )
    for key, text in checks:
        if key != "same_order" and got["same_order"] and want["same_order"]:
            break  # one order for every epoch: whether it is local or in blocks is a chance of that one draw
        if got[key] != want[key]:
            return text if got[key] else f"expected {key.replace('_', ' ')}"
    if want["shuffled"] and "rng_used" in want and got.get("rng_used") != want["rng_used"]:
        if all(want["rng_used"]):
            return "an epoch was shuffled without drawing from the rng it was given"
        return "the epochs drew from the rng they were given in another pattern"
    return None


def _show_batches(value) -> str:
    """Feedback shows each epoch's order of examples and its batch sizes, not the whole record."""
    if not isinstance(value, dict) or "epochs" not in value:
        return format_value(value)
    try:
        parts = [f"epoch {i}: rows {format_value(np.asarray(e['x']))} in batches of "
                 f"{[int(s) for s in np.asarray(e['sizes']).ravel()]}"
                 for i, e in enumerate(value["epochs"], start=1)]
    except (KeyError, TypeError, ValueError):
        return format_value(value)
    return "; ".join(parts)


def _compare_pair(received, expected, exercise: Exercise) -> str | None:
    """(true class, predicted class): two ints, exactly."""
    if isinstance(expected, int):
        return None if isinstance(received, (int, np.integer)) and int(received) == expected else "different value"
    if not isinstance(received, (tuple, list)) or len(received) != 2:
        return f"expected a tuple (true_class, predicted_class), got {format_value(received)}"
    try:
        pair = tuple(int(v) for v in received)
    except (TypeError, ValueError):
        return f"expected two ints, got {format_value(received)}"
    if any(float(r) != p for r, p in zip(received, pair)):
        return f"expected two ints, got {format_value(received)}"
    return None if pair == tuple(expected) else "different value"


def _compare_count(received, expected, exercise: Exercise) -> str | None:
    """A number of batches, exactly (937.5 is no number of batches: it equals no int)."""
    if isinstance(received, bool) or not isinstance(received, (int, np.integer, float, np.floating)):
        return f"returned {type(received).__name__}, expected an int"
    if float(received) != float(expected):
        return "different value"
    return None


_ITERATOR_MESSAGES = {
    "unpaired": "X and y were shuffled separately, so an image no longer travels with its label: draw one "
    "permutation, index = rng.permutation(n), and take X[index] and y[index] with it.",
    "always_drop": "The last, smaller batch is missing although drop_remainder=False: with 10 examples in batches "
    "of 4 an epoch is 4 + 4 + 2. Drop it only when drop_remainder=True.",
    "never_drop": "With drop_remainder=True the last, smaller batch should be left out (10 examples in batches of "
    "4 give 4 + 4): your epoch still ends with it.",
    "same_order": "Every epoch came in the same order: each call of iterate_batches gave the same permutation. "
    "Either you made a new generator inside the function (np.random.default_rng(seed)), which draws the same "
    "permutation at every call, or you drew one once and kept it (a cache, a global, a mutable default argument). "
    "Draw index = rng.permutation(n) from the `rng` you were given at every call: it moves on after each draw, so "
    "every epoch gets a new order.",
    "global_random": "Your shuffle did not draw from the `rng` it was given (np.random.permutation uses NumPy's "
    "global state): call rng.permutation(n), so that one generator, seeded once, decides the whole run.",
    "with_replacement": "Some examples came twice in an epoch and others never: you sampled with replacement "
    "(rng.integers or rng.choice(n, n)). An epoch visits every example exactly once: rng.permutation(n).",
    "empty_batch": "Your last batch was empty: when n is a multiple of batch_size, range(n // batch_size + 1) "
    "makes one batch too many. Step through the starts, range(0, n, batch_size), instead.",
    "shuffled_anyway": "With shuffle=False the batches should follow the data's order (for evaluation, or to "
    "reproduce a run): your iterator shuffled anyway.",
    "never_shuffled": "With shuffle=True every epoch still came in the data's order: draw index = "
    "rng.permutation(n) at the start of each epoch and batch the examples in that order.",
    "batch_order_only": "You shuffled the order of the batches, not the examples: every batch still holds the "
    "same consecutive rows each epoch. Shuffle the examples first (rng.permutation(n)), then cut batches.",
}

def _say(exercise: Exercise, key: str, **details) -> str:
    return exercise.messages[key].format(**details).rstrip(".")


def _training_arrays(value):
    """(weights, losses) as a list of arrays and an array, or None when ``value`` is not such a pair."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not isinstance(value[0], (tuple, list)):
        return None
    try:
        weights = [np.asarray(w) for w in value[0]]
        losses = np.asarray(value[1])
    except (TypeError, ValueError):
        return None
    if losses.ndim != 1 or any(a.dtype.kind not in "biuf" for a in [*weights, losses]):
        return None
    return weights, losses


def _compare_training(received, expected, exercise: Exercise) -> str | None:
    """keras_train's (weights, losses): the shapes, then every loss and weight within rtol 1e-10.

    float64 Keras reproduces the trusted NumPy run to about 1e-15; float32 is off by about 1e-7, so the
    tolerance is 1e-10 whatever the dtype, and a run within 1e-3 that is not within 1e-10 (or any float32
    array) is named as float32.
    """
    got, want = _training_arrays(received), _training_arrays(expected)
    if got is None:
        return _say(exercise, "not_a_pair", received=format_value(received))
    (weights, losses), (reference_weights, reference_losses) = got, want
    shapes, reference_shapes = [w.shape for w in weights], [w.shape for w in reference_weights]
    if shapes != reference_shapes:
        return _say(exercise, "weight_shapes", got=shapes, expected=reference_shapes)
    if len(losses) != len(reference_losses):
        return _say(exercise, "epochs_run", ran=len(losses), expected=len(reference_losses))
    values = np.concatenate([losses.astype(float)] + [w.astype(float).ravel() for w in weights])
    reference = np.concatenate([reference_losses] + [w.ravel() for w in reference_weights])
    if compare_numbers(values, reference, exercise) is None:
        return None
    low_precision = any(a.dtype.kind == "f" and a.dtype.itemsize < 8 for a in [*weights, losses])
    if low_precision or np.all(np.abs(values - reference) <= 1e-3 * np.abs(reference) + 1e-6):
        return _say(exercise, "float32")
    reason = compare_numbers(losses.astype(float), reference_losses, exercise)
    if reason:
        return f"the loss history differs: {reason}"
    return _say(exercise, "final_weights")


def _show_training(value) -> str:
    """Feedback shows the losses and the weights' shapes, not every weight."""
    got = _training_arrays(value)
    if got is None:
        return format_value(value)
    weights, losses = got
    return f"losses {format_value(losses)}, weights of shapes {[w.shape for w in weights]}"


LAB = Lab(
    id="11_minibatches",
    title="Mini-batches and digit classification",
    hidden_module="autograder.hidden.lab11",
    exercises=(
        Exercise(
            name="n_batches",
            points=1,
            summary="the number of batches of one epoch: ceil(n / batch_size), floor with drop_remainder",
            compare=_compare_count,
            messages={
                "floor_always": "You rounded down although drop_remainder=False: the last, smaller batch counts "
                "too. 60,000 examples in batches of 64 make 938 batches (937 full ones and one of 32).",
                "ceil_always": "With drop_remainder=True the last, smaller batch is dropped: 60,000 / 64 gives 937 "
                "batches then, not 938. Round down in that case (n // batch_size).",
                "flag_reversed": "You have the two cases the wrong way round: drop_remainder=True drops the last "
                "partial batch (round down, 937 for 60,000 / 64); False keeps it (round up, 938).",
                "plus_one": "n // batch_size + 1 is one too many when batch_size divides n exactly (60,000 / 100 "
                "is 600 batches, not 601): round up with -(-n // batch_size) or math.ceil(n / batch_size).",
                "true_division": "n / batch_size is a float (937.5 for 60,000 / 64): a number of batches is an int. "
                "Round it: up to keep the last partial batch, down to drop it.",
            },
        ),
        Exercise(
            name="iterate_batches",
            points=3,
            summary="(X_batch, y_batch) pairs of one epoch: a new permutation from rng, X and y paired, "
                    "the last batch smaller unless drop_remainder",
            probe="lab11.batch_rows",
            compare=_compare_batches,
            show=_show_batches,
            builds_on=("n_batches",),
            messages=_ITERATOR_MESSAGES,
        ),
        Exercise(
            name="adam_update",
            points=2,
            summary="one Adam step as Keras takes it: (w, m, v) after the gradient g at step t (1-based)",
            messages={
                "no_bias_correction": "You left out the bias correction: m and v start at 0, so early on they are "
                "too small. Keras scales the step by √(1 − β₂ᵗ) / (1 − β₁ᵗ).",
                "textbook_epsilon": "You added ε to √v̂ (the paper's form): Keras adds ε to √v before the bias "
                "correction, w ← w − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε). The two differ only when √v is "
                "as small as ε, with gradients near 1e-6, as here.",
                "epsilon_inside_sqrt": "You put ε inside the square root, √(v + ε): Keras' Adam adds it outside, "
                "√v + ε (RMSprop is the one with ε inside).",
                "gradient_not_squared": "v is the moving average of the *squared* gradient: v ← β₂·v + (1 − β₂)·g².",
                "zero_based_t": "Your bias correction uses t + 1: t is already the 1-based number of this step "
                "(t = 1 for the first update), so the factors are 1 − β₁ᵗ and 1 − β₂ᵗ.",
                "betas_swapped": "You swapped β₁ and β₂: m (the gradient's average) uses β₁ = 0.9, v (the squared "
                "gradient's) uses β₂ = 0.999.",
                "adam_ascent": "Your step goes uphill: subtract it, w ← w − lr·…·m / (√v + ε).",
            },
        ),
        Exercise(
            name="softmax_mlp_gradients",
            points=3,
            summary="the mean softmax cross-entropy of a d-h-k ReLU network and its gradients (dW1, db1, dW2, db2)",
            messages={
                "mlp_no_n": "Your gradients are n times too large: the loss is the *mean* over the batch, so the "
                "output's gradient is (softmax(z) − one_hot) / n.",
                "relu_at_zero": "Your ReLU passed the gradient where its input is exactly 0: ReLU's derivative at 0 "
                "is 0 here, as in Keras (mask z > 0, not z >= 0).",
                "no_relu_derivative": "The gradient went through the ReLU unchanged: multiply it by the mask "
                "(z1 > 0) before computing dW1 and db1.",
                "mlp_sign": "Your gradients have the wrong sign: the output's gradient is softmax(z) − one_hot, "
                "prediction minus truth.",
                "unstable_softmax": "Large logits gave inf or nan: subtract each row's largest logit before the "
                "exponential (softmax(z) = softmax(z − max z)), and compute the loss as logsumexp(z) − z[label].",
                "bias_mean": "Your biases' gradients are n times too small: the output's gradient already holds "
                "the 1/n, so db = delta.sum(axis=0), not delta.mean(axis=0).",
                "loss_summed": "Your loss is the sum over the examples: it is their mean, as Keras reports it.",
            },
        ),
        Exercise(
            name="accuracy",
            points=1,
            summary="the fraction of rows whose largest score is the true class (ties: the first largest)",
            messages={
                "percent": "You returned a percentage: accuracy here is a fraction between 0 and 1 (0.95, not 95), "
                "as Keras' metrics report it.",
                "count": "You returned the number of right answers: divide by the number of examples.",
                "error_rate": "You returned the error rate: accuracy is the fraction of *right* answers.",
                "argmax_axis0": "You took the argmax over the examples (axis 0): each row is one example, so the "
                "predicted class is np.argmax(scores, axis=1).",
                "tie_last": "On a tie your prediction was the last of the largest scores: np.argmax (and Keras) "
                "takes the first.",
            },
        ),
        Exercise(
            name="confusion_matrix",
            points=2,
            summary="counts[t, p] of examples of true class t predicted as p, shape (n_classes, n_classes)",
            messages={
                "transposed": "Your matrix is transposed: rows are the *true* classes and columns the predicted ones "
                "(scikit-learn's convention), so cm[t, p] counts true t predicted as p.",
                "fancy_increment": "Repeated (true, predicted) pairs counted once: cm[y_true, y_pred] += 1 with "
                "arrays does not add twice where a pair repeats. Loop over the pairs, or use "
                "np.add.at(cm, (y_true, y_pred), 1).",
                "size_from_labels": "Your matrix is sized by the largest label seen, not by n_classes: a class that "
                "never occurs still gets its row and column of zeros.",
                "row_normalized": "You divided each row by its total: the confusion matrix holds counts (ints); "
                "normalizing is a separate step.",
            },
        ),
        Exercise(
            name="most_confused_pair",
            points=1,
            summary="(true, predicted) of the largest off-diagonal count; ties: smallest true, then predicted class",
            compare=_compare_pair,
            builds_on=("confusion_matrix",),
            messages={
                "diagonal_included": "You counted the diagonal: cm[i, i] are the right answers. Set it aside "
                "(e.g. np.fill_diagonal on a copy with −1) before taking the largest entry.",
                "pair_swapped": "Your pair is (predicted, true): return (true_class, predicted_class), the row first.",
                "pair_tie_last": "On a tie you returned the last of the largest entries: return the first in row "
                "order (smallest true class, then smallest predicted class), which np.argmax gives.",
                "flat_index": "You returned np.argmax's flat index: turn it into (row, column) with "
                "np.unravel_index(index, cm.shape), as two ints.",
                "symmetric": "You added cm and its transpose: the question is which (true, predicted) cell is "
                "largest. A 3 taken for an 8 and an 8 taken for a 3 are two different confusions.",
            },
        ),
        Exercise(
            name="keras_train",
            points=3,
            summary="the d-h-k ReLU network trained by Keras (float64, Adam, fit) over the given epochs' orders: "
                    "the final weights and fit's loss per epoch",
            rtol=1e-10,
            atol=1e-12,
            rtol_float32=1e-10,
            time_limit=60.0,
            profile="tensorflow",
            probe="lab11.keras_training",
            compare=_compare_training,
            show=_show_training,
            messages={
                "float32": "Your numbers agree with the float64 run to only about 7 digits: Keras computed in "
                "float32, its default. Call keras.config.set_floatx(\"float64\") inside keras_train, before "
                "building the model (the notebook's own cells are not run by the grader), and set the weights "
                "with model.set_weights.",
                "default_learning_rate": "Your run took Adam's default step, 0.001: pass the learning rate on, "
                "keras.optimizers.Adam(learning_rate).",
                "no_from_logits": "Your loss read the network's outputs as probabilities: the last Dense layer "
                "gives logits (no softmax), so the loss is SparseCategoricalCrossentropy(from_logits=True). With "
                "from_logits=False Keras clips the outputs to [1e-7, 1 − 1e-7] and takes their log.",
                "first_order_only": "Every epoch used the first epoch's order: take orders[k] for epoch k, one "
                "fit (or one pass of your loop) per order.",
                "data_order": "Your batches followed the data's order, not the given orders: epoch k trains on "
                "X[orders[k]], y[orders[k]], cut into batches in that order.",
                "optimizer_per_epoch": "Adam started afresh every epoch: its step counter and running averages "
                "were reset, as a new keras.optimizers.Adam per epoch (compile inside the loop) does. Compile "
                "once, before the first epoch, so that one Adam state runs through the whole training.",
                "dropped_last_batch": "The last, smaller batch of every epoch is missing: batch without "
                "drop_remainder, so an epoch visits every example.",
                "not_a_pair": "keras_train must return (weights, losses): the list [W1, b1, W2, b2] of "
                "model.get_weights() and the array of fit's loss per epoch; got {received}.",
                "weight_shapes": "your weights have the shapes {got}, expected {expected}: return "
                "model.get_weights() of the Dense(h, relu) and Dense(k) layers, kernels as (inputs, units).",
                "epochs_run": "your loss history has {ran} entries, expected {expected}: one per order in "
                "orders, each the loss fit reports for that epoch.",
                "final_weights": "the losses are right, but the weights are not those after the last epoch: "
                "return model.get_weights() after training.",
            },
        ),
    ),
)
