"""Lab 04 · backpropagation by hand, the 5-weight network: exercises and known mistakes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, compare_values, format_value
from autograder.encoding import Unsupported


def _as_array(received):
    """Lists and tuples of numbers or arrays (one row per update) become one array."""
    if isinstance(received, (list, tuple)) and received:
        try:
            stacked = np.array(received)
        except ValueError:  # ragged rows
            return received
        if stacked.dtype.kind in "biuf":
            return stacked
    return received


def _compare_array(received, expected, exercise: Exercise) -> str | None:
    """An array of numbers; a list of numbers or of rows is accepted as well."""
    return compare_numbers(_as_array(received), expected, exercise)


def _compare_forward(received, expected, exercise: Exercise) -> str | None:
    """(h1, h2, y_hat): a tuple, a list or an array of the three numbers."""
    if isinstance(received, np.ndarray) and received.shape == (3,):
        received = tuple(received)
    return compare_values(tuple(received) if isinstance(received, list) else received, expected, exercise)


def _positions(value):
    """The (example, weight) pairs of a returned value, or a string saying why it is not readable."""
    if isinstance(value, Unsupported):
        return f"returned a {value.type_name} object: return a list of (example, weight) pairs"
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return set()
        if value.ndim != 2 or value.shape[1] != 2:
            return f"returned an array of shape {value.shape}: return a list of (example, weight) pairs"
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return f"returned {format_value(value)}: return a list of (example, weight) pairs"
    pairs = set()
    for item in value:
        if isinstance(item, np.ndarray):
            item = item.tolist()
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            return f"{format_value(item)} is not an (example, weight) pair"
        pair = []
        for index in item:
            if isinstance(index, bool) or not isinstance(index, (int, float, np.integer, np.floating)) or (
                    float(index) != int(index)):
                return f"{format_value(item)}: positions are integer indices"
            pair.append(int(index))
        pairs.add(tuple(pair))
    return pairs


def _compare_positions(received, expected, exercise: Exercise) -> str | None:
    """The set of (example, weight) positions, in any order, as tuples, lists or an (k, 2) array."""
    got, want = _positions(received), _positions(expected)
    if isinstance(got, str):
        return got
    if got == want:
        return None
    if missing := sorted(want - got):
        return f"{format_value(missing[0])} is a slip your function did not report"
    return f"{format_value(sorted(got - want)[0])} is reported but is not a slip"


_REPORT_KEYS = ("prediction", "gradient", "dtype")


def _compare_layer(received, expected, exercise: Exercise) -> str | None:
    """The probe's report: the same dtype, then prediction (n, 1) and gradient (5,) within the exercise's rtol.

    Two float32 reports (a known mistake's value) are compared at float32's precision, rtol 1e-4.
    """
    if not isinstance(received, dict) or set(received) != set(_REPORT_KEYS):
        return f"the check could not read your layer's report ({format_value(received)})"
    if received["dtype"] != expected["dtype"]:
        return f"your layer computes in {received['dtype']}, expected {expected['dtype']}"
    if expected["dtype"] == "float32":
        exercise = replace(exercise, rtol=1e-4, rtol_float32=1e-4)
    for key, what in (("prediction", "the prediction"), ("gradient", "the tape's gradient of Σ (ŷ − y)²")):
        if reason := compare_numbers(received[key], expected[key], exercise):
            return f"{what}: {reason}"
    return None


def _show_layer(report) -> str:
    """10 significant digits: float32 weights show from the 8th."""
    if not isinstance(report, dict) or set(report) != set(_REPORT_KEYS):
        return format_value(report)
    prediction = np.asarray(report["prediction"])
    return (f"prediction {format_value(prediction.ravel(), 10)} (shape {prediction.shape}), gradient "
            f"{format_value(report['gradient'], 10)}, {report['dtype']}")


_ASCENT = ("Your steps go uphill: the update is w − learning_rate × ∂E/∂w. Did you add the gradient "
           "instead of subtracting it?")
_NO_LEARNING_RATE = "Your steps are far too long: multiply the gradient by the learning rate."
_SUM_NOT_MEAN = ("The course's batch update *sums* the examples' gradients (the course's totals "
                 "2064, 316, 1636, 632, 68), because its error is the total Σ (ŷᵢ − yᵢ)². Averaging is the other "
                 "common convention (the *mean* squared error of Lab 05 and Keras's default); it only rescales the "
                 "learning rate, but this lab's table sums: drop the division by the number of examples.")

LAB = Lab(
    id="04_backpropagation",
    title="Backpropagation by hand: the 5-weight network",
    hidden_module="autograder.hidden.lab04",
    exercises=(
        Exercise(
            name="forward",
            points=1,
            summary="(h1, h2, y_hat) of the 5-weight network for one example",
            rtol=1e-9,
            compare=_compare_forward,
            messages={
                "no_square": "Your h1 is not squared: the first neuron is h1 = (x1 + w1·x2)², "
                "the square of the whole sum.",
                "square_expanded": "You squared the two terms separately: (x1 + w1·x2)² is not x1² + (w1·x2)², "
                "it has the cross term 2·x1·w1·x2 too. Square the sum: `(x1 + w1 * x2) ** 2`.",
                "no_bias": "Your y_hat misses w5: the output neuron is ŷ = w3·h1 + w4·h2 + w5. "
                "(The course's w5 = 0 hides this; the hidden cases do not.)",
                "order": "Your numbers are right but in the wrong order: return (h1, h2, y_hat).",
            },
        ),
        Exercise(
            name="squared_error",
            points=1,
            summary="the total squared error Σ (ŷᵢ − yᵢ)² over the examples",
            rtol=1e-9,
            builds_on=("forward",),
            messages={
                "mean": "That is the *mean* of the squared errors: this lab's error is their total, summed over "
                "the examples (534 for the course's three). Remove the division by the number of examples.",
                "half": "Your error is half the expected: this course uses E = (ŷ − y)², without the ½ that some "
                "textbooks put in front. Its derivative 2(ŷ − y) is the course's 26 for the example (3, 2).",
                "no_square": "You summed the differences ŷ − y (or their absolute values) without squaring them: "
                "square each difference, then sum. Raw differences of opposite signs would even cancel out.",
                "absolute": "That is the sum of |ŷ − y|, the absolute error: square each difference instead.",
                "root": "You took a square root at the end: E is the plain sum of the squared differences.",
            },
        ),
        Exercise(
            name="backward",
            points=3,
            summary="∂E/∂w1 … ∂E/∂w5 for one example, E = (ŷ − y)²",
            # Analytic: a central-difference estimate is within ~1e-10, so the tolerance is below that,
            # and float32 (a cast of float64 inputs, never needed) gets no looser one.
            rtol=1e-11,
            rtol_float32=1e-11,
            atol=1e-9,
            dtype="float64",
            compare=_compare_array,
            builds_on=("forward",),
            messages={
                "no_factor_2": "Your gradients are half the expected: the derivative of (ŷ − y)² is 2(ŷ − y). "
                "Start the chain with ∂E/∂ŷ = 2(ŷ − y) (26 for the course's example (3, 2)), not ŷ − y.",
                "sign": "Your gradients have the wrong sign: ∂E/∂ŷ = 2(ŷ − y), prediction minus target. "
                "With 2(y − ŷ) every gradient points downhill, and a descent step would climb.",
                "h1_inner": "Your ∂E/∂w1 misses the inner derivative: h1 = (x1 + w1·x2)², so "
                "∂h1/∂w1 = 2(x1 + w1·x2) · x2. You stopped at 2(x1 + w1·x2): the chain goes through the square "
                "*and* through w1·x2. (The published batch table makes this very slip: find it in section 7.)",
                "h1_linear": "Your ∂E/∂w1 treats h1 as if it were linear in w1 (∂h1/∂w1 = x2). But "
                "h1 = (x1 + w1·x2)² is a square: ∂h1/∂w1 = 2(x1 + w1·x2) · x2, the outer derivative times "
                "the inner one.",
                "h1_no_2": "Your ∂E/∂w1 is half the expected: ∂/∂w1 (x1 + w1·x2)² = 2(x1 + w1·x2) · x2, "
                "and the 2 comes from the square.",
                "h2_value": "Your ∂E/∂w2 uses the value h2 where its derivative belongs: h2 = w2·x1·x2, so "
                "∂h2/∂w2 = x1·x2 (w2 itself drops out). (The published batch table makes this very slip too.)",
                "no_w3_w4": "Your ∂E/∂w1 and ∂E/∂w2 skip a link of the chain: w1 reaches the error through h1, "
                "and ∂ŷ/∂h1 = w3; w2 goes through h2, and ∂ŷ/∂h2 = w4. Multiply by them. The course's "
                "w3 = w4 = 1 hide this; the hidden cases do not.",
                "no_w3": "Your ∂E/∂w1 skips a link of the chain: w1 reaches the error through h1, and "
                "∂ŷ/∂h1 = w3. Multiply by it. The course's w3 = 1 hides this; the hidden cases do not.",
                "no_w4": "Your ∂E/∂w2 skips a link of the chain: w2 reaches the error through h2, and "
                "∂ŷ/∂h2 = w4. Multiply by it. The course's w4 = 1 hides this; the hidden cases do not.",
            },
        ),
        Exercise(
            name="numerical_gradient",
            points=1,
            summary="∂E/∂w by central differences on squared_error, one weight at a time",
            rtol=1e-6,
            atol=1e-6,
            dtype="float64",
            compare=_compare_array,
            builds_on=("squared_error",),
            messages={
                "forward": "That is the forward difference (E(w + h·eᵢ) − E(w)) / h: use the central difference "
                "(E(w + h·eᵢ) − E(w − h·eᵢ)) / (2h), whose error shrinks like h², not h.",
                "all_at_once": "Every entry came out the same: you nudged all five weights at once. "
                "A partial derivative moves one weight and holds the other four still.",
                "no_half": "Your gradient is twice too large: w + h·eᵢ and w − h·eᵢ are 2h apart.",
                "ignored_h": "Your estimate is the same whatever h is: nudge by the h you are given "
                "(E(w + h·eᵢ) − E(w − h·eᵢ)) / (2h), not by a step of your own.",
                "integer_input": "w arrived as integers, like the course's (1, 2, 1, 1, 0): `w[i] += h` on an "
                "integer array truncates the step back to 0. Work on a float copy: `np.array(w, dtype=float)`.",
            },
        ),
        Exercise(
            name="batch_gradient",
            points=1,
            summary="the sum of the per-example gradients, shape (5,)",
            rtol=1e-9,
            atol=1e-9,
            dtype="float64",
            compare=_compare_array,
            builds_on=("backward",),
            messages={
                "mean": "You averaged the per-example gradients. " + _SUM_NOT_MEAN,
                "last_only": "That is the last example's gradient alone: inside your loop the total was "
                "overwritten (`total = backward(...)`) instead of accumulated (`total = total + backward(...)`).",
            },
        ),
        Exercise(
            name="online_update",
            points=2,
            summary="one pass over the examples in order, updating after each; the trajectory (n + 1, 5)",
            atol=1e-6,
            dtype="float64",
            compare=_compare_array,
            builds_on=("backward",),
            messages={
                "ascent": _ASCENT,
                "stale": "Every gradient of your pass was computed at the *starting* weights, so your last row "
                "is the batch step, not the online one. Online learning runs a fresh forward and backward pass "
                "at the current weights for each example, right after the previous update.",
                "no_learning_rate": _NO_LEARNING_RATE,
                "aliased": "Every row of your trajectory is the same: you appended one array object and then "
                "changed it in place (`w -= ...`). Append a copy, or make a new array: "
                "`w = w - learning_rate * g`.",
                "missing_start": "Your trajectory starts after the first update: row 0 must be the starting w, "
                "so n examples give n + 1 rows.",
                "final_only": "You returned only the final weights: return the whole trajectory, shape (n + 1, 5), "
                "row 0 being the starting w.",
            },
        ),
        Exercise(
            name="batch_update",
            points=1,
            summary="one step with the gradient summed over all the examples, shape (5,)",
            atol=1e-6,
            dtype="float64",
            compare=_compare_array,
            builds_on=("batch_gradient",),
            messages={
                "mean": "You stepped along the *average* gradient. " + _SUM_NOT_MEAN,
                "ascent": _ASCENT,
                "no_learning_rate": _NO_LEARNING_RATE,
                "online": "You updated w after each example: that is the online update. The batch update "
                "computes every example's gradient at the *same* starting weights, sums them, and steps once.",
            },
        ),
        Exercise(
            name="minibatch_update",
            points=2,
            summary="one pass in order, one summed step per mini-batch; the trajectory (ceil(n / b) + 1, 5)",
            atol=1e-6,
            dtype="float64",
            compare=_compare_array,
            builds_on=("backward",),
            messages={
                "no_reset": "Your accumulated gradient carries over from one mini-batch to the next: reset it to "
                "zeros at the start of each mini-batch, or every step re-applies the gradients of all the "
                "mini-batches before it.",
                "drop_last": "You dropped the last, shorter mini-batch: n examples make ceil(n / batch_size) "
                "mini-batches, and when batch_size does not divide n the last one has the leftover examples. "
                "Loop `for start in range(0, n, batch_size)` and slice `X[start:start + batch_size]` "
                "(NumPy stops the slice at the end for you).",
                "empty_batch": "Your last row repeats the one before it: you made an extra, empty mini-batch. "
                "When batch_size divides n there are exactly n / batch_size mini-batches: "
                "loop `for start in range(0, n, batch_size)`.",
                "mean": "You averaged the gradients within each mini-batch. In this lab a mini-batch step sums "
                "them, like the batch update: a mini-batch holding every example must give batch_update's step.",
                "ascent": _ASCENT,
                "stale": "All your gradients were computed at the starting weights: each mini-batch's forward "
                "and backward pass must use the weights left by the previous mini-batch's update.",
                "per_example": "You updated the weights after every example inside a mini-batch: that is online "
                "learning. Within a mini-batch the weights stay fixed: compute each example's gradient, sum, "
                "then step once.",
                "missing_start": "Your trajectory starts after the first update: row 0 must be the starting w, "
                "followed by one row per mini-batch.",
                "array_split": "Your mini-batches have the wrong sizes: `np.array_split(X, k)` balances them "
                "(7 examples in 3 parts give 3, 2, 2), but mini-batches are consecutive chunks of batch_size "
                "with only the last one shorter (3, 3, 1). Slice `X[start:start + batch_size]`.",
            },
        ),
        Exercise(
            name="find_slips",
            points=2,
            summary="the (example, weight) positions of a published gradient table that are wrong",
            compare=_compare_positions,
            builds_on=("numerical_gradient",),
            messages={
                "one_based": "Your positions are 1-based: use 0-based indices, as NumPy does, so (0, 0) is the "
                "first example's ∂E/∂w1.",
                "transposed": "Your pairs are (weight, example): return (example, weight), the (row, column) "
                "of the table.",
                "ignored_tol": "Your function ignores the tol it is given (it flags gaps above 1e-3 whatever tol "
                "is): compare each relative error with tol.",
                "whole_data": "You compared each row with the gradient over *all* the examples, but each row of "
                "the table is one example's gradient. Run your checker on that example alone: "
                "`numerical_gradient(w, X[i:i + 1], y[i:i + 1])`.",
                "worst_only": "You reported only the worst entry: a table can hold several slips. Return every "
                "position whose relative error exceeds tol.",
                "no_abs": "You missed the slips where the published value is too *small*: take the absolute "
                "value of the difference, |published − numerical|.",
                "absolute": "You flagged entries that are only rounded: the table is printed to 5 significant "
                "digits, so 1234.5 may differ from the exact value by 0.05 without being a slip. Compare the "
                "*relative* error |a − b| / max(|a|, |b|) with tol, as in Lab 02.",
            },
        ),
        Exercise(
            name="FiveWeightNet",
            points=2,
            summary="a float64 Keras layer holding the five weights; call() is the forward pass, shape (batch, 1)",
            probe="lab04.keras_layer",
            profile="tensorflow",
            time_limit=60.0,  # importing TensorFlow takes several seconds
            # float64 end to end agrees with the NumPy reference to ~1e-15; float32 weights are off by ~1e-8.
            rtol=1e-10,
            rtol_float32=1e-10,
            atol=1e-9,
            compare=_compare_layer,
            show=_show_layer,
            messages={
                "float32_weights": "Your layer's numbers are off in the 8th digit: its weights went through "
                "float32. `keras.initializers.Constant` turns Python numbers (a list, a float) into a float32 "
                "tensor first (0.66 becomes 0.6600000262), even in a float64 layer. Convert the starting weights "
                "yourself: `Constant(np.asarray(self.initial_weights, dtype=\"float64\"))`. In float64 the layer "
                "agrees with the NumPy forward pass to about 1e-15.",
                "swapped": "Your hidden neurons are swapped: w3 multiplies h1 = (x1 + w1·x2)² and w4 multiplies "
                "h2 = w2·x1·x2, so ŷ = w3·h1 + w4·h2 + w5. (The course's starting w3 = w4 = 1 hide this in the "
                "prediction, not in the gradients of w3 and w4.)",
                "no_square": "Your h1 is not squared: the first neuron is h1 = (x1 + w1·x2)², the square of the "
                "whole sum: `(x1 + w1 * x2) ** 2`.",
                "float32_layer": "Your layer computes in float32, Keras's default, about 7 digits: keep "
                "`dtype=\"float64\"` in `super().__init__`. (The notebook's `keras.config.set_floatx(\"float64\")` "
                "is a demo cell: the grader runs only your definitions.)",
            },
        ),
    ),
)
