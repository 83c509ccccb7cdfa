"""Lab 06 · normalization, exploding and vanishing gradients: the exercises and what each known mistake teaches.

The Keras exercise ``fit_normalized_model`` is judged through the probe
``autograder.probes.lab06.normalized_fit``, which reports the trained model's first and last layers,
their statistics, the trained Dense weights, the loss history and the model's outputs;
``_compare_model`` compares them with a NumPy run of the same training and names the first thing
that differs.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_value


def _compare_epoch(received, expected, exercise: Exercise) -> str | None:
    """An epoch index (int) or None, exactly."""
    if isinstance(received, (bool, np.bool_)):
        return f"returned {bool(received)}, expected {'None' if expected is None else f'epoch {expected}'}"
    if expected is None:
        return None if received is None else f"returned {format_value(received)}, expected None: it never diverged"
    if received is None:
        return f"returned None, expected epoch {expected}"
    if not isinstance(received, (int, np.integer)):
        return f"returned {type(received).__name__} {format_value(received)}, expected an int epoch index"
    return None if int(received) == expected else f"returned epoch {int(received)}, expected epoch {expected}"


_REPORT = ("first", "last", "x_mean", "x_variance", "y_mean", "y_variance", "kernel", "bias", "normalized",
           "output", "dtype", "loss")


def _say(exercise: Exercise, key: str, **details) -> str:
    """A message as a compare's reason: the feedback adds the final period."""
    return exercise.messages[key].format(**details).rstrip(".")


def _close(received, expected, rtol) -> bool:
    try:
        r, e = np.asarray(received, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    return r.shape == e.shape and bool(np.all(np.abs(r - e) <= 1e-12 + rtol * np.abs(e)))


def _compare_model(received, expected, exercise: Exercise) -> str | None:
    """The probe's report, in order: layer kinds, epochs run, then every number to rtol 1e-10.

    float64 Keras reproduces the NumPy run to about 1e-15; float32 to about 1e-7: a report that agrees
    to 1e-5 but not to 1e-10, or that says float32, is named as float32. A loss history that matches
    the run with an unscaled learning rate (to 1e-6: it explodes) is named as that.
    """
    if not isinstance(received, dict):
        return f"the check could not read the report on your model ({format_value(received)})"
    if "problem" in received:
        return str(received["problem"])
    if received.get("first") != "Normalization":
        return _say(exercise, "first_layer", first=received.get("first"))
    if received.get("last") != "Normalization(invert=True)":
        return _say(exercise, "no_invert", last=received.get("last"))
    if np.size(received.get("x_mean")) != np.size(expected["x_mean"]):
        return _say(exercise, "x_axis", got=np.size(received.get("x_mean")), features=np.size(expected["x_mean"]))
    if np.size(received.get("y_mean")) != 1:
        return _say(exercise, "y_features", got=np.size(received.get("y_mean")))
    if "problem_dense" in received:
        return str(received["problem_dense"])
    if set(received) != set(_REPORT):
        return f"the check could not read the report on your model ({format_value(received)})"
    if np.size(received["loss"]) != np.size(expected["loss"]):
        return _say(exercise, "epochs_run", ran=np.size(received["loss"]), expected=np.size(expected["loss"]))
    keys = ("x_mean", "x_variance", "y_mean", "y_variance", "loss", "kernel", "bias", "normalized", "output")
    if all(_close(received[k], expected[k], exercise.rtol) for k in keys):
        return None
    if received["dtype"] != "float64" or all(_close(received[k], expected[k], 1e-5) for k in keys):
        return _say(exercise, "float32")
    for key, message in (("x_mean", "x_stats"), ("x_variance", "x_stats"), ("y_mean", "y_stats"),
                         ("y_variance", "y_stats")):
        if not _close(received[key], expected[key], exercise.rtol):
            return _say(exercise, message, got=format_value(received[key]), expected=format_value(expected[key]))
    if _close(received["loss"], expected["unscaled_loss"], 1e-6):
        return _say(exercise, "unscaled_rate", last=format_value(float(received["loss"][-1])))
    if not _close(received["loss"][:1], expected["loss"][:1], exercise.rtol):
        return _say(exercise, "first_loss", got=format_value(float(received["loss"][0])),
                    expected=format_value(float(expected["loss"][0])))
    reason = compare_numbers(received["loss"], expected["loss"], exercise)
    if reason:
        return f"the loss history differs: {reason}"
    after = [np.r_[report["kernel"], report["bias"], report["output"]] for report in (received, expected)]
    return f"the loss history is right, but the trained model differs: {compare_numbers(*after, exercise)}"


def _show_model(report) -> str:
    if not isinstance(report, dict) or "first" not in report:
        return format_value(report)
    return (f"first layer {report['first']} (mean {format_value(report.get('x_mean'))}), last layer "
            f"{report['last']}, loss history {format_value(report.get('loss'), 10)}, output "
            f"{format_value(report.get('output'), 10)}")


_DDOF1 = ("You divided by n − 1 (ddof=1, the *sample* std, what torch.std uses). This course uses the "
          "population std, ddof=0, like NumPy's default and keras.layers.Normalization: for the 39 distances "
          "5.6273, not 5.7009.")

LAB = Lab(
    id="06_normalization",
    title="Normalization, exploding and vanishing gradients",
    hidden_module="autograder.hidden.lab06",
    exercises=(
        Exercise(
            name="zscore_fit",
            points=2,
            summary="the training split's mean and population std per feature (axis 0); std below 1e-7 becomes 1",
            rtol=1e-9,
            messages={
                "ddof1": _DDOF1,
                "no_axis": "Your statistics mix all the features together: you called mean()/std() without an "
                "axis. Each feature (column) gets its own mean and std: axis=0, over the rows.",
                "wrong_axis": "You took the statistics along axis=1, across the features of each row. A feature "
                "is a column: average over the examples, axis=0, one mean and one std per column.",
                "variance": "That is the variance, the std squared: take its square root (np.std).",
                "zero_std": "A constant feature has std 0, and dividing by it gives 0/0 = nan. Keep std 1 for "
                "such a feature (np.where(std < 1e-7, 1.0, std)), so that it maps to 0.",
                "exact_zero": "Your guard tests std == 0, but a constant feature's std is often round-off, not 0: "
                "np.std([0.1] * 7) is 1.4e-17, and dividing by it turns equal values into ±1. Treat any std "
                "below 1e-7 as 0: np.where(std < 1e-7, 1.0, std).",
            },
        ),
        Exercise(
            name="zscore_transform",
            points=2,
            summary="z = (x − mean) / std, and with invert=True the way back, x = z·std + mean",
            rtol=1e-9,
            messages={
                "precedence": "Operator precedence: x - mean / std divides only the mean. Put the difference in "
                "parentheses, (x - mean) / std.",
                "times_std": "You multiplied by the std: divide the centred values by it, (x − mean) / std.",
                "no_center": "Subtract the mean first: z = (x − mean) / std is centred at 0.",
                "transform_again": "With invert=True you normalized again, (z − mean) / std. invert=True undoes "
                "the transform: multiply by the std, then add the mean, z·std + mean.",
                "divided": "Undoing a division by std means multiplying by it: with invert=True, x = z·std + mean.",
                "added_first": "Multiply first, then add: with invert=True, x = z·std + mean, not (z + mean)·std.",
            },
        ),
        Exercise(
            name="standardize_splits",
            points=2,
            summary="(z_train, z_test), both standardized with the training split's statistics",
            rtol=1e-9,
            builds_on=("zscore_fit", "zscore_transform"),
            messages={
                "leakage": "Data leakage: your statistics come from the training and the test rows together. "
                "The test split stands for data the model has never seen, so it may not shape the "
                "normalization: fit the mean and std on x_train alone and apply them to both.",
                "own_statistics": "You normalized each split with its own mean and std. Then the same distance "
                "maps to different z in train and test (and a batch of one becomes 0): apply the "
                "*training* statistics to the test rows too, as you will to every new input.",
                "test_statistics": "You fitted the statistics on the test split: fit them on x_train.",
                "ddof1": _DDOF1,
            },
        ),
        Exercise(
            name="min_max_scale",
            points=2,
            summary="(x − min) / (max − min) with the training split's range per feature; range 0 becomes 1",
            rtol=1e-9,
            messages={
                "own_range": "You took the min and max of x itself. Like the mean and std, the range comes from "
                "the training split: new values outside it land below 0 or above 1, and that is fine.",
                "divided_by_max": "Divide by the range, max − min, not by the max: (x − min) / (max − min) maps "
                "the training range onto [0, 1].",
                "no_shift": "Subtract the minimum first: (x − min) / (max − min), so the smallest training value "
                "maps to 0.",
                "no_axis": "Your min and max mix all the features: use axis=0, one range per feature (column).",
            },
        ),
        Exercise(
            name="train_line",
            points=2,
            summary="full-batch gradient descent on the line: (w, b, history of the loss before each update)",
            rtol=1e-9,
            messages={
                "after_update": "Your history holds the loss *after* each update. Record the loss of the "
                "forward pass that the update uses, before it (as Keras does): for the course's exploding step "
                "the first entry is 6561.",
                "summed": "Your steps are n times too long: the gradient of the *mean* squared error is a mean, "
                "2·mean((ŷ − y)·x), not a sum.",
                "no_two": "Your steps are half as long: the derivative of (ŷ − y)² is 2·(ŷ − y).",
                "sequential": "You updated w, then computed b's gradient with the new w. Both gradients belong "
                "to the same point: compute them from one forward pass, then update both.",
            },
        ),
        Exercise(
            name="diverged",
            points=2,
            summary="the first epoch whose loss is not finite or exceeds factor × the first loss, or None",
            compare=_compare_epoch,
            messages={
                "not_strict": "A loss equal to factor × the first loss has not diverged yet: the test is "
                "loss > factor · history[0], strictly.",
                "one_based": "Epochs are 0-based indices into history: return the index, not index + 1.",
                "nan_missed": "NaN slipped through: every comparison with NaN is False, so loss > limit never "
                "catches it. Test np.isfinite(loss) first: a NaN or an infinite loss has diverged.",
                "previous": "You compared each loss with the previous epoch's. Divergence is measured against the "
                "first loss: a loss that grows ×3 every epoch never jumps ×10 in one step, but it explodes all "
                "the same.",
                "last": "You returned the last epoch that is over the limit: return the first one, where the "
                "run went wrong (stop at the first match).",
            },
        ),
        Exercise(
            name="predict_minutes",
            points=2,
            summary="minutes for new distances: normalize with the training statistics, predict, de-normalize",
            rtol=1e-9,
            builds_on=("zscore_transform",),
            messages={
                "not_denormalized": "You forgot to de-normalize: these are predictions in z units of time (around "
                "0), not minutes. Map them back with the time statistics: ŷ·std + mean.",
                "raw_input": "You fed the raw distances into the line: the model was trained on normalized "
                "distances, so normalize them first with the distance statistics.",
                "swapped_stats": "You swapped the statistics: distances are normalized with x_stats (miles), "
                "predictions are de-normalized with y_stats (minutes).",
                "batch_stats": "You normalized the new distances with their own mean and std, the statistics of "
                "this batch. A new input must go through the *training* statistics (x_stats): otherwise a "
                "single 7-mile trip always becomes z = 0.",
            },
        ),
        Exercise(
            name="gradient_scales",
            points=2,
            summary="log10 |gradient| reaching each layer: sums of log10 |factor| from that layer to the output",
            rtol=1e-9,
            atol=1e-9,
            messages={
                "underflow": "Your deep layers got −inf: the product of hundreds of small factors underflows to 0 "
                "in float64 (below about 1e-308), and log10(0) = −inf. Add the logarithms instead of taking the "
                "log of the product: log10 |a·b| = log10 |a| + log10 |b|.",
                "forward": "Your sums run from the input: the gradient reaching layer k collects the factors from "
                "layer k to the *output* (backpropagation starts at the loss), so the first layer's is the "
                "longest sum. Accumulate from the end: np.cumsum(logs[::-1])[::-1].",
                "natural_log": "That is the natural log: the scale is in powers of ten, np.log10.",
                "no_abs": "A negative factor has no logarithm (nan): the size of a gradient is its absolute "
                "value, log10 |factor|.",
                "product": "Those are the gradients themselves: return their log10, which the deep layers' tiny "
                "values need (sum the logs rather than multiplying the factors).",
            },
        ),
        Exercise(
            name="fit_normalized_model",
            points=3,
            summary="a float64 Normalization → Dense(1) → Normalization(invert=True) model trained by fit, "
            "full batch, from given weights: its History",
            rtol=1e-10,
            atol=1e-12,
            rtol_float32=1e-10,
            time_limit=60.0,
            profile="tensorflow",
            probe="lab06.normalized_fit",
            compare=_compare_model,
            show=_show_model,
            messages={
                "first_layer": "The model's first layer is {first}: make it the keras.layers.Normalization that "
                "you adapted on x_train, so that the model takes raw inputs.",
                "no_invert": "The model's last layer is {last}: its output is still in z units. End with "
                "keras.layers.Normalization(invert=True) adapted on y_train, so that the model de-normalizes "
                "its own predictions.",
                "x_axis": "The first Normalization has {got} means, expected {features} (one per feature): adapt it "
                "on x_train of shape (n, features) with the default axis=-1.",
                "y_features": "The last Normalization has {got} means, expected one: adapted on y_train of shape "
                "(n,), axis=-1 takes each example for a feature. Adapt it on y_train.reshape(-1, 1).",
                "float32": "Your numbers agree with the float64 reference to only about 7 digits: Keras computed in "
                "float32, its default. Call keras.config.set_floatx(\"float64\") inside fit_normalized_model, "
                "before creating the layers (the grader does not run the notebook's own set_floatx cell).",
                "x_stats": "The first layer's statistics are {got}, expected {expected}: adapt it on x_train "
                "itself (all its rows, nothing else).",
                "y_stats": "The last layer's statistics are {got}, expected {expected}: adapt the inverting layer "
                "on y_train, the raw targets.",
                "epochs_run": "fit ran {ran} epochs, expected {expected}: pass epochs=epochs.",
                "unscaled_rate": "Your loss exploded (to {last} in the last epoch): you passed learning_rate to SGD "
                "as it is. The model's loss is in the target's units squared, var(y_train) times the loss in z "
                "units, and so are its gradients: SGD(learning_rate=learning_rate / y_train.var()) takes the "
                "z-unit step that learning_rate means.",
                "first_loss": "The first epoch's loss is {got}, expected {expected}, the loss of the given kernel "
                "and bias on all of x_train before any step. Set the Dense layer's weights with "
                "set_weights([kernel, np.array([bias])]) before fit, and take one step per epoch on one batch "
                "of all the rows (batch_size=len(x_train): fit's default is 32).",
            },
        ),
    ),
)
