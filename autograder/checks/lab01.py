"""Lab 01 · gradient descent: the exercises and what each known mistake teaches."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_float64, compare_numbers, format_value


def _compare_count(received, expected, exercise: Exercise) -> str | None:
    """Counts are exact integers, as the docstring demands: a float (even an exact one) is not.

    A NumPy integer is compared by value, so that a wrapped-around int64 is recognised as one.
    """
    if isinstance(received, (int, np.integer)) and not isinstance(received, bool):
        return None if int(received) == expected else "different count"
    if isinstance(received, float) or isinstance(received, bool):
        return (f"returned {type(received).__name__} {format_value(received)}: the count must be an exact "
                "Python int (`values_per_weight ** num_weights`), and a float rounds numbers above 2⁵³")
    return f"returned {type(received).__name__}, expected an exact Python int"


FLOAT32_PRECISION = 1e-4


def _compare_trajectory(received, expected, exercise: Exercise) -> str | None:
    """Float64 parity with NumPy: rtol 1e-10 whatever the dtype received, so a float32 run fails.

    The float32 mistake is stored as a float32 array: a run matches it at float32's precision
    (rtol 1e-4), since its own float32 roundings need not be those of the NumPy model of it.
    """
    if isinstance(expected, np.ndarray) and expected.dtype == np.float32:
        loose = replace(exercise, rtol=FLOAT32_PRECISION, rtol_float32=FLOAT32_PRECISION, atol=1e-6)
        return compare_numbers(received, expected.astype(np.float64), loose)
    return compare_numbers(received, expected, exercise)


LABELS = ("diverging", "oscillating", "good", "too_small")


def _compare_label(received, expected, exercise: Exercise) -> str | None:
    """The label exactly as the docstring spells it: no spaces around it, lower case.

    A string that is one of the four labels only once stripped or lowered fails on every case,
    right label or wrong, and matches the "padded" mistake (whose values are the labels with a
    space after them): its message then says how to write labels, and nothing about which label
    a case expects, so resubmitting padded labels cannot find where the right answers stop.
    """
    if not isinstance(received, str):
        return f"returned {type(received).__name__} {format_value(received)}, expected a string"
    if expected not in LABELS:  # the "padded" mistake: any label written other than exactly
        return None if received not in LABELS and received.strip().lower() in LABELS else "different label"
    if received not in LABELS:
        if received.strip().lower() in LABELS:
            return f"{received!r} is not written exactly as one of the docstring's labels"
        return f"{received!r} is not one of the labels {', '.join(map(repr, LABELS))}"
    return None if received == expected else "different label"


def _show_label(value) -> str:
    return repr(str(value)) if isinstance(value, str) else format_value(value)


LAB = Lab(
    id="01_gradient_descent",
    title="Gradient descent",
    hidden_module="autograder.hidden.lab01",
    exercises=(
        Exercise(
            name="central_difference",
            points=2,
            summary="the derivative f'(x) ≈ (f(x+h) − f(x−h)) / 2h",
            compare=compare_float64,
            messages={
                "forward": "That is the forward difference (f(x+h) − f(x)) / h: its error shrinks like h, "
                "the central difference's like h². Step both ways: f(x+h) and f(x−h).",
                "backward": "That is the backward difference (f(x) − f(x−h)) / h. "
                "Use both neighbours: (f(x+h) − f(x−h)) / (2h).",
                "no_half": "Your value is twice the slope: the two points f(x−h) and f(x+h) are 2h apart, "
                "so divide by 2h, not h.",
                "sign": "Your slope has the wrong sign: subtract f(x−h) from f(x+h), not the other way round.",
                "precedence": "Python reads a / 2 * h as (a / 2) · h, so you multiplied by h instead of dividing: "
                "write / (2 * h), with the parentheses.",
                "ignores_h": "Your result does not change with h: step by the h argument, not by a fixed 1e-5.",
            },
        ),
        Exercise(
            name="gradient_descent_1d",
            points=3,
            summary="1D gradient descent returning the whole trajectory [x0, x1, …, x_num_steps]",
            rtol=1e-9,
            compare=compare_float64,
            messages={
                "ascent": "Your steps go uphill: the update is x − learning_rate × f'(x). "
                "Did you add the gradient instead of subtracting it?",
                "no_learning_rate": "Your steps are far too long: "
                "did you forget to multiply the gradient by the learning rate?",
                "missing_start": "Your trajectory starts after the first step: put x0 itself first, "
                "so it has num_steps + 1 points.",
                "extra_step": "Your trajectory has one step too many: "
                "num_steps updates give num_steps + 1 points, x0 included.",
                "final_only": "You returned only the final x: return the whole trajectory as an array, x0 included.",
                "one_step_short": "Your trajectory is one step short: make num_steps updates, "
                "so that x0 and the num_steps positions after it give num_steps + 1 points.",
                "fixed_gradient": "Every step uses the slope at x0: evaluate df at the current x inside the loop, "
                "so the steps shrink as the slope flattens.",
            },
        ),
        Exercise(
            name="classify_trajectory",
            points=2,
            summary="naming a run 'diverging', 'oscillating', 'too_small' or 'good'",
            compare=_compare_label,
            show=_show_label,
            messages={
                "padded": "Return the label exactly as the docstring writes it: 'diverging', 'oscillating', "
                "'good' or 'too_small', lower case, with no spaces around it. The grader compares labels "
                "exactly.",
                "ignores_minimum": "Measure distances and sign changes relative to `minimum`, not to 0.",
                "no_sign_check": "This run jumps across the minimum at every step: check whether x − minimum "
                "changes sign between consecutive points (that is 'oscillating'), before judging its distance: "
                "the rules apply in the docstring's order.",
            },
        ),
        Exercise(
            name="descend_from_starts",
            points=2,
            summary="the final x of gradient descent from each start",
            rtol=1e-8,
            builds_on=("gradient_descent_1d",),
            compare=compare_float64,
            messages={
                "trajectories": "Return only the last point of each run, one number per start.",
                "one_step": "Your runs stop after one step: run num_steps updates from every start.",
            },
        ),
        Exercise(
            name="grid_search",
            points=2,
            summary="brute-force search over np.linspace(low, high, num_points) returning (best_w, best_loss)",
            messages={
                "argmax": "You picked the weight with the *largest* loss: brute force keeps the smallest (np.argmin).",
                "index": "The first value should be the best weight itself, not its index in the grid.",
                "swapped": "You returned (loss, weight): the order is (best_w, best_loss).",
                "arange": "Your grid misses the end point `high`: use np.linspace(low, high, num_points), "
                "which includes both ends.",
            },
        ),
        Exercise(
            name="count_combinations",
            points=1,
            summary="how many weight settings brute force must try",
            rtol=1e-9,
            compare=_compare_count,
            messages={
                "neurons": "You counted neurons, not weights: "
                "a layer of m neurons feeding n neurons has m × n weights.",
                "sum": "Each weight multiplies the choices: "
                "values_per_weight ** num_weights, not a sum or a product with the count.",
                "overflow": "That looks like a 64-bit overflow: NumPy integers wrap around silently above 9.2·10¹⁸. "
                "Use Python's own int (`values_per_weight ** num_weights`), which never overflows.",
                "no_biases": "With include_biases=True every non-input neuron also has a bias to search over.",
                "swapped_power": "Base and exponent are swapped: each of the num_weights weights multiplies the "
                "choices by values_per_weight, so the count is values_per_weight ** num_weights.",
            },
        ),
        Exercise(
            name="keras_descent",
            points=2,
            summary="gradient descent with tf.GradientTape and keras.optimizers.SGD, in float64",
            rtol=1e-10,
            rtol_float32=1e-10,
            compare=_compare_trajectory,
            profile="tensorflow",
            time_limit=60.0,
            messages={
                "float32": "Your values agree with the float64 ones to about 7 digits only: something ran in "
                "float32. Create the variable with tf.Variable(x0, dtype=tf.float64), and call "
                "keras.config.set_floatx(\"float64\") before building SGD, which keeps its learning rate "
                "in floatx (float32 by default: 0.1 becomes 0.10000000149).",
                "missing_start": "Your trajectory starts after the first step: record x0 before the first update, "
                "then the position after each one, so it has num_steps + 1 points.",
                "ascent": "Your steps go uphill: SGD subtracts learning_rate × gradient by itself. Pass it the "
                "tape's gradient of f as it is, not its negative (and do not negate the loss).",
                "reversed_coefficients": "Your polynomial reads the coefficients backwards: coefficients[k] "
                "multiplies x**k, lowest power first (np.polyval uses the opposite order).",
            },
        ),
    ),
)
