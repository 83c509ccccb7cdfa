"""Lab 02 · partial derivatives and gradient checking: exercises and known mistakes."""

from __future__ import annotations

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_float64, format_value

MEASURABLE = 2e-8  # below it, an error is the rounding of the numerical gradient, which any order of operations changes


def _compare_gradient_check(received, expected, exercise: Exercise) -> str | None:
    """(max_error, worst_index), the value the docstring defines, compared, not only thresholded.

    An error the cases make measurable (≥ 2e-8: a gradient entry off by a small factor, checked
    with a step whose rounding is far smaller, every entry of the gradient away from 0) must be
    the largest relative error within 1e-3 relative, at its exact index, whether it is above 1e-6
    or below: a checker returning another measure (a mean, another denominator) fails there. Below
    2e-8 the error is rounding alone, which another order of operations changes: any error below
    1e-6, at any index, passes.
    """
    if not isinstance(received, (tuple, list)) or len(received) != 2:
        return f"returned {format_value(received)}, expected a pair (max_error, worst_index)"
    error, index = received
    if not isinstance(error, (int, float, np.integer, np.floating)) or isinstance(error, bool):
        return f"max_error is {type(error).__name__}, expected a number"
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
        return f"worst_index is {type(index).__name__}, expected an int"
    high, worst = expected
    if high < MEASURABLE:
        return None if 0 <= float(error) < 1e-6 else "this gradient is correct, so max_error should be below 1e-6"
    if int(index) != worst:
        return f"worst_index is {int(index)}, expected {worst}"
    if not abs(float(error) - high) <= 1e-3 * high:
        return f"max_error is {float(error):.6g}, expected {high:.6g}"
    return None


LAB = Lab(
    id="02_gradient_checking",
    title="Partial derivatives and gradient checking",
    hidden_module="autograder.hidden.lab02",
    exercises=(
        Exercise(
            name="numerical_gradient",
            points=3,
            summary="the gradient of f: Rⁿ → R by central differences, one coordinate at a time",
            rtol=1e-6,
            atol=1e-8,
            compare=compare_float64,
            messages={
                "forward": "That is the forward difference (f(x + h·eᵢ) − f(x)) / h: "
                "use the central difference (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h).",
                "all_at_once": "Every entry came out the same: you nudged all coordinates at once. "
                "A partial derivative moves one coordinate and holds the others still.",
                "no_half": "Your gradient is twice too large: x + h·eᵢ and x − h·eᵢ are 2h apart.",
                "integer_input": "x arrived as integers: `x[i] += h` on an integer array truncates the "
                "step back to 0. Work on a float copy first: `np.array(x, dtype=float)`.",
            },
        ),
        Exercise(
            name="gradient_descent",
            points=3,
            summary="n-D gradient descent returning the trajectory, shape (num_steps + 1, n)",
            rtol=1e-9,
            compare=compare_float64,
            messages={
                "ascent": "Your steps go uphill: the update is x − learning_rate × ∇f(x).",
                "no_learning_rate": "Your steps are far too long: multiply the gradient by the learning rate.",
                "missing_start": "Your trajectory starts after the first step: its first row must be x0.",
                "extra_step": "One step too many: num_steps updates give num_steps + 1 rows, x0 included.",
                "aliased": "Every row of your trajectory is the same point: you stored the same array object "
                "each time and then changed it in place. Append a copy (`x.copy()`), or build a new x each step.",
                "sequential": "You updated the coordinates one after another, using the new x1 to compute x2's "
                "slope. Gradient descent computes the whole gradient at the current point, then moves all "
                "coordinates at once.",
            },
        ),
        Exercise(
            name="relative_error",
            points=2,
            summary="elementwise |a − b| / max(|a|, |b|, eps)",
            rtol=1e-9,
            atol=1e-15,
            compare=compare_float64,
            messages={
                "absolute": "That is the absolute error |a − b|: divide by the size of the numbers, "
                "max(|a|, |b|), so that 1e-3 means the same for gradients of 1 and of 1000.",
                "no_eps": "Where a and b are both 0 the error must be 0, not NaN: floor the denominator at eps.",
                "no_abs": "Relative errors are never negative: take |a − b|.",
                "one_sided": "You divided by |b| alone: the denominator is max(|a|, |b|, eps), the same whichever "
                "gradient comes first, so a tiny b cannot blow the error up.",
            },
        ),
        Exercise(
            name="gradient_check",
            points=2,
            summary="(max_error, worst_index) between an analytic and a numerical gradient",
            builds_on=("numerical_gradient", "relative_error"),
            compare=_compare_gradient_check,
            messages={
                "argmin": "You named the coordinate with the *smallest* error: "
                "the checker must point at the worst one.",
                "absolute": "Compare with relative_error, not the plain difference: a gap of 0.01 is tiny on "
                "a gradient of 1000 and huge on one of 0.001.",
                "mean": "max_error is the largest relative error, not their mean: return errors[worst_index], "
                "the error of the coordinate you name.",
            },
        ),
        Exercise(
            name="bowl_tape_gradient",
            points=2,
            summary="∇f of f(x) = Σ sᵢ·xᵢ² from tf.GradientTape, in float64, as a NumPy array",
            # float32 gets no wider tolerance here: agreeing with NumPy to float64 precision is the exercise
            rtol=1e-10,
            rtol_float32=1e-10,
            atol=1e-12,
            profile="tensorflow",
            time_limit=60.0,  # the first case imports TensorFlow
            messages={
                "float32": "Your gradient is float32, about 7 significant digits, so it misses NumPy's float64 "
                "from the 8th digit on: `tf.Variable`, `tf.constant` and `keras.Variable` make float32 from Python "
                "lists. Pass `dtype=tf.float64` to the variable and to the scales.",
                "no_square": "Your gradient is the scales themselves: that is the gradient of Σ sᵢ·xᵢ, without the "
                "square. Square x inside the tape: `scales * x ** 2`.",
                "reduce_mean": "Your gradient is n times too small: `tf.reduce_mean` divides the sum by n. "
                "The bowl is a sum, Σ sᵢ·xᵢ²: use `tf.reduce_sum`.",
            },
        ),
    ),
)
