"""Lab 08 · activation functions: the exercises and what each known mistake teaches.

``sigmoid`` and ``sigmoid_derivative`` are judged through the probe
``autograder.probes.lab08.quiet``, which reports the value and any floating-point
RuntimeWarning raised while computing it: the naive 1 / (1 + exp(−x)) is right to the last
digit at x = −1000, and only the overflow of exp(1000) tells it from a stable sigmoid. The
other activations are judged by value: their naive forms return NaN at ±1000.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_value


def _compare_array(received, expected, exercise: Exercise) -> str | None:
    """Numbers with the exercise's tolerances; float32's (rtol_float32) when either side is float32.

    A float32 input's expected value is stored as float32: the docstrings let a float32 input be
    computed in float32, whatever dtype the result is returned in.
    """
    if any(isinstance(v, (np.ndarray, np.floating)) and v.dtype == np.float32 for v in (received, expected)):
        exercise = replace(exercise, rtol=max(exercise.rtol, exercise.rtol_float32))
    return compare_numbers(received, expected, exercise)


def _warning(report) -> str:
    if isinstance(report, dict) and set(report) == {"warning", "value"}:
        return str(report["warning"])
    return ""


def _compare_quiet(received, expected, exercise: Exercise) -> str | None:
    """The probe's report: no RuntimeWarning where none is expected, then the values with the exercise's tolerances.

    Two reports that both warned match when their values do (or when one overflowed with an
    OverflowError, which has no value): that is how a known overflowing formula is recognised.
    """
    got, want = _warning(received), _warning(expected)
    if got and not want:
        return (f"computing it raised {got}: an exponential overflowed on the way, even if the numbers "
                "look right. Rewrite the formula so that np.exp only ever sees numbers ≤ 0")
    if want and not got:
        return "it computed without any warning, where this formula overflows"
    if got and want:
        if received["value"] is None or expected["value"] is None:
            return None
        return _compare_array(received["value"], expected["value"], exercise)
    return _compare_array(received, expected, exercise)


def _show_quiet(report) -> str:
    if _warning(report):
        return f"{format_value(report['value'])} (with {report['warning']})"
    return format_value(report)


def _compare_keras(received, expected, exercise: Exercise) -> str | None:
    """A float64 array within rtol 1e-10; a float32 one, or values within 1e-5 only, is named as float32.

    For "leaky_relu", "gelu" and "gelu_tanh" the case also accepts TensorFlow's own float64 result, whose
    slope (tf.nn.leaky_relu's alpha attribute) or constants (tf.nn.gelu's 1/√2 and 0.044715) pass
    through float32: the same 1e-10 applies to it.
    """
    reason = compare_numbers(received, expected, exercise)
    if reason is None:
        return None
    try:
        values, target = np.asarray(received), np.asarray(expected, dtype=float)
        if values.dtype.kind == "f" and values.shape == target.shape and (
                values.dtype.itemsize < 8 or np.allclose(values.astype(float), target, rtol=1e-5, atol=1e-7)):
            return exercise.messages["float32"]
    except (TypeError, ValueError):
        pass
    return reason


_NAIVE = ("1 / (1 + np.exp(-x)) overflows for large negative x: np.exp(1000) is inf (NumPy warns \"overflow "
          "encountered in exp\"), and the answer is right only by luck, 1/inf = 0. Keep the exponent ≤ 0: with "
          "e = np.exp(-np.abs(x)), σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0.")
_NAIVE_POSITIVE = ("np.exp(x) / (1 + np.exp(x)) overflows for large positive x: at x = 1000 it is inf/inf = NaN. "
                   "Keep the exponent ≤ 0: with e = np.exp(-np.abs(x)), σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) "
                   "for x < 0.")
_WHERE_BOTH = ("np.where(x >= 0, 1/(1 + np.exp(-x)), np.exp(x)/(1 + np.exp(x))) picks the right branch, but "
               "NumPy computes *both* branches for every element before choosing, so the unused one overflows "
               "(and warns) at ±1000. Make the exponent safe before np.where: e = np.exp(-np.abs(x)), then "
               "np.where(x >= 0, 1/(1 + e), e/(1 + e)).")
_LAYER_DEFAULT = ("Your slope for negative inputs is 0.3, the default of keras.layers.LeakyReLU. This lab follows "
                  "the course notes: negative_slope defaults to 0.01 (keras.activations.leaky_relu's default is "
                  "0.2, yet another one: always pass the slope explicitly).")
_FUNCTION_DEFAULT = ("Your slope for negative inputs is 0.2, the default of keras.activations.leaky_relu. This lab "
                     "follows the course notes: negative_slope defaults to 0.01 (keras.layers.LeakyReLU's default "
                     "is 0.3, yet another one: always pass the slope explicitly).")
_TANH_FOR_EXACT = ("You computed the tanh approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) where the exact "
                   "GELU was asked (approximate=False): x·Φ(x) = 0.5·x·(1 + erf(x/√2)). The two differ by up to "
                   "about 5e-4.")
_EXACT_FOR_TANH = ("You computed the exact GELU 0.5·x·(1 + erf(x/√2)) where the tanh approximation was asked "
                   "(approximate=True): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).")
_FLAG_SWAPPED = ("You swapped the two GELUs: approximate=True asks for the tanh formula, approximate=False (the "
                 "default) for the exact one with erf.")

LAB = Lab(
    id="08_activations",
    title="Activation functions",
    hidden_module="autograder.hidden.lab08",
    exercises=(
        Exercise(
            name="sigmoid",
            points=2,
            summary="the logistic sigmoid 1 / (1 + e^(−x)), without overflow at ±1000",
            atol=1e-12,
            probe="lab08.quiet",
            compare=_compare_quiet,
            show=_show_quiet,
            messages={"naive": _NAIVE, "naive_positive": _NAIVE_POSITIVE, "where_both": _WHERE_BOTH},
        ),
        Exercise(
            name="sigmoid_derivative",
            points=1,
            summary="σ′(x) = σ(x)·(1 − σ(x)), at most 0.25",
            atol=1e-12,
            probe="lab08.quiet",
            compare=_compare_quiet,
            show=_show_quiet,
            builds_on=("sigmoid",),
            messages={
                "one_minus_x": "You wrote σ(x)·(1 − x): the second factor is 1 − σ(x), not 1 − x. The derivative "
                "is σ(x)·(1 − σ(x)), which is never above 0.25.",
                "from_x": "You computed x·(1 − x), the formula a(1 − a) applied to x itself. a(1 − a) holds for "
                "a = σ(x), the sigmoid's *output*: compute s = sigmoid(x) first, then s·(1 − s).",
                "naive_sigmoid": "Your derivative is built on the naive sigmoid 1/(1 + np.exp(-x)), which "
                "overflows at x = −1000 (\"overflow encountered in exp\"). Use your stable sigmoid: "
                "s = sigmoid(x), then s·(1 − s).",
                "quotient": "np.exp(-x) / (1 + np.exp(-x))**2 is σ′ on paper, but at x = −1000 it is inf/inf = "
                "NaN. Write it from the stable sigmoid instead: s·(1 − s) with s = sigmoid(x).",
            },
        ),
        Exercise(
            name="tanh",
            points=1,
            summary="tanh(x), in (−1, 1), without NaN at ±1000",
            compare=_compare_array,
            messages={
                "naive": "(e^x − e^−x)/(e^x + e^−x) is NaN at x = ±1000: both exponentials overflow to inf, and "
                "inf/inf is NaN. Use np.tanh, or the identity tanh(x) = 2σ(2x) − 1 with your stable sigmoid.",
                "identity_slip": "You wrote 2σ(x) − 1, which is tanh(x/2): the identity is tanh(x) = 2σ(2x) − 1, "
                "with 2x inside the sigmoid.",
            },
        ),
        Exercise(
            name="tanh_derivative",
            points=1,
            summary="tanh′(x) = 1 − tanh²(x)",
            compare=_compare_array,
            messages={
                "from_x": "You computed 1 − x², the formula 1 − a² applied to x itself. It holds for "
                "a = tanh(x): compute t = np.tanh(x) first, then 1 − t².",
                "no_square": "You wrote 1 − tanh(x): square the tanh, tanh′(x) = 1 − tanh(x)².",
                "sigmoid_form": "tanh(x)·(1 − tanh(x)) is the *sigmoid's* pattern s(1 − s). For tanh the "
                "derivative is 1 − tanh(x)².",
            },
        ),
        Exercise(
            name="relu",
            points=1,
            summary="ReLU max(0, x), elementwise",
            compare=_compare_array,
            messages={
                "np_max": "np.max(x, 0) is a reduction: it returns the largest entry along axis 0, not ReLU. "
                "The elementwise maximum with 0 is np.maximum(x, 0).",
                "minimum": "You kept the negative part, min(x, 0): ReLU keeps the positive part, max(0, x).",
                "returned_mask": "You returned the mask x > 0 (1 or 0), which is ReLU's derivative. ReLU itself "
                "passes positive inputs through unchanged: max(0, x).",
            },
        ),
        Exercise(
            name="relu_derivative",
            points=1,
            summary="ReLU′: 1 where x > 0, else 0 (0 at x = 0)",
            compare=_compare_array,
            messages={
                "one_at_zero": "At x = 0 ReLU has a corner and no derivative; the course notes (and TensorFlow) "
                "use 0 there: 1 where x > 0, 0 where x ≤ 0. You returned 1 at x = 0 (x >= 0).",
                "returned_forward": "You returned ReLU itself, max(0, x): its derivative is 1 where x > 0 and 0 "
                "elsewhere.",
                "sign": "np.sign(x) gives −1 for negative inputs, but ReLU is flat there: its slope is 0, not −1. "
                "Return 1.0 where x > 0 and 0.0 elsewhere.",
            },
        ),
        Exercise(
            name="leaky_relu",
            points=1,
            summary="leaky ReLU: x where x > 0, negative_slope·x elsewhere (default 0.01)",
            compare=_compare_array,
            messages={
                "layer_default": _LAYER_DEFAULT,
                "function_default": _FUNCTION_DEFAULT,
                "no_slope": "You returned plain ReLU: negative inputs must leak through, multiplied by "
                "negative_slope (x where x > 0, negative_slope·x elsewhere).",
                "swapped_branches": "You swapped the two branches: positive inputs pass unchanged, negative ones "
                "are multiplied by negative_slope.",
            },
        ),
        Exercise(
            name="leaky_relu_derivative",
            points=1,
            summary="leaky ReLU′: 1 where x > 0, negative_slope elsewhere (at x = 0 too)",
            compare=_compare_array,
            messages={
                "one_at_zero": "At x = 0 this lab (like TensorFlow) takes the left slope: 1 where x > 0, "
                "negative_slope where x ≤ 0. You returned 1 at x = 0 (x >= 0).",
                "layer_default": _LAYER_DEFAULT,
                "function_default": _FUNCTION_DEFAULT,
                "no_slope": "You returned ReLU's derivative: on the negative side leaky ReLU's slope is "
                "negative_slope, not 0.",
                "returned_forward": "You returned leaky ReLU itself: its derivative is 1 where x > 0 and "
                "negative_slope elsewhere.",
            },
        ),
        Exercise(
            name="gelu",
            points=1,
            summary="GELU x·Φ(x), exact (erf) or its tanh approximation",
            atol=1e-12,
            compare=_compare_array,
            messages={
                "tanh_for_exact": _TANH_FOR_EXACT,
                "exact_for_tanh": _EXACT_FOR_TANH,
                "flag_swapped": _FLAG_SWAPPED,
                "sigmoid_approximation": "x·σ(1.702x) is a third, cruder approximation of GELU: use the exact "
                "0.5·x·(1 + erf(x/√2)), or the tanh formula when approximate=True.",
                "no_sqrt2": "You wrote erf(x) where the exact GELU has erf(x/√2): Φ(x) = 0.5·(1 + erf(x/√2)) is the "
                "standard normal CDF.",
            },
        ),
        Exercise(
            name="gelu_derivative",
            points=1,
            summary="GELU′, exact Φ(x) + x·φ(x) or the tanh approximation's derivative",
            atol=1e-12,
            builds_on=("gelu",),
            compare=_compare_array,
            messages={
                "tanh_for_exact": "You differentiated the tanh approximation where the exact GELU was asked "
                "(approximate=False): its derivative is Φ(x) + x·φ(x), with φ(x) = e^(−x²/2)/√(2π).",
                "exact_for_tanh": "You differentiated the exact GELU where the tanh approximation was asked "
                "(approximate=True): differentiate 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).",
                "flag_swapped": _FLAG_SWAPPED,
                "cdf_only": "You returned only Φ(x) (or 0.5·(1 + tanh(u))): GELU is a product, x·Φ(x), so the "
                "product rule adds x·Φ′(x): Φ(x) + x·φ(x).",
            },
        ),
        Exercise(
            name="softmax",
            points=2,
            summary="softmax over the last axis, shifted by each row's max: rows sum to 1",
            atol=1e-12,
            compare=_compare_array,
            messages={
                "no_shift": "Your softmax gives NaN at large inputs: np.exp(1000) overflows to inf and inf/inf "
                "is NaN. Subtract each row's maximum first (softmax(x) = softmax(x − c) for any c), so the "
                "largest exponent is exactly 0.",
                "wrong_axis": "You normalised over axis 0, down the columns: each *row* is one example's scores, "
                "so take the max and the sum over the last axis (axis=-1, keepdims=True).",
                "no_keepdims": "Your max or sum lost its axis: x.max(axis=-1) has shape (n,), which NumPy "
                "broadcasts against the columns, not the rows. Keep it as (n, 1) with keepdims=True.",
                "global_max": "You subtracted the largest entry of the whole batch: a row far below it "
                "underflows to 0/0 = NaN. Subtract each row's own max: x.max(axis=-1, keepdims=True).",
                "whole_batch": "You divided by the sum over the whole batch, so all rows together sum to 1. Each "
                "row must sum to 1: np.sum(e, axis=-1, keepdims=True).",
            },
        ),
        Exercise(
            name="softmax_backward",
            points=2,
            summary="the vector-Jacobian product s·(g − Σ g·s) over the last axis",
            atol=1e-12,
            messages={
                "diagonal_only": "You used only the diagonal of the Jacobian, s·(1 − s)·g, as if each output "
                "depended on its own input alone. Every output of softmax depends on every input: "
                "∂s_i/∂x_j = s_i(δ_ij − s_j), so the backward pass is s·(g − Σ_j g_j s_j).",
                "sign": "Your gradient has the wrong sign: the Jacobian is diag(s) − s sᵀ (not s sᵀ − diag(s)), "
                "so the product is s·(g − Σ g·s).",
                "no_s_factor": "You forgot the outer factor s: the product is s·(g − Σ g·s), not g − Σ g·s.",
                "wrong_axis": "You summed g·s over axis 0, down the batch: the sum runs over each row's own "
                "classes, axis=-1 with keepdims=True.",
                "no_keepdims": "Your Σ g·s lost its axis: shape (n,) broadcasts against the columns. Keep it as "
                "(n, 1) with keepdims=True.",
                "inner_not_outer": "You computed diag(s) − s @ s.T with a 1-D s: s.T of a 1-D array is s itself, "
                "so s @ s.T is the number Σ s², not the outer product. np.outer(s, s) would be right; better, "
                "skip the k×k matrix: s·(g − Σ g·s).",
            },
        ),
        Exercise(
            name="sigmoid_chain_gradient",
            points=1,
            summary="∂a_k/∂x through a chain a_k = σ(w_k·a_(k−1)): the product of w_k·σ′(z_k)",
            rtol=1e-9,
            atol=1e-300,
            messages={
                "no_weights": "You multiplied only the σ′ factors: each layer's local derivative is "
                "∂a_k/∂a_(k−1) = w_k·σ′(z_k), so the weight belongs in the product too.",
                "sigma_not_derivative": "You multiplied by σ(z_k), the activation, where its derivative belongs: "
                "the local factor is w_k·σ(z_k)·(1 − σ(z_k)).",
                "derivative_of_output": "You took σ′ of the layer's output a_k = σ(z_k), i.e. σ(σ(z_k))·…: the "
                "derivative is σ′ at the pre-activation z_k = w_k·a_(k−1), which is a_k·(1 − a_k).",
                "derivative_at_input": "You evaluated σ′ at the layer's input a_(k−1): it belongs at the "
                "pre-activation z_k = w_k·a_(k−1).",
                "summed": "You added the local derivatives: the chain rule *multiplies* them, ∂a_k/∂x = "
                "Π w_j·σ′(z_j). That product is what vanishes.",
            },
        ),
        Exercise(
            name="dead_relu_fraction",
            points=2,
            summary="the fraction of hidden units whose ReLU output is 0 for every row of the batch",
            messages={
                "zero_activations": "You returned the fraction of zero *outputs* over all rows and units. A unit "
                "is dead only when it outputs 0 for every row: np.all(h == 0, axis=0), then the mean over units.",
                "any_input": "You counted units that are 0 for *some* row (np.any): a dead unit is 0 for *every* "
                "row (np.all(..., axis=0)). A unit that is off for some inputs and on for others is alive and "
                "still learns.",
                "per_example": "You took the fraction of rows whose whole hidden layer is 0 (axis=1): the question "
                "is per unit, a column of the hidden layer, np.all(h == 0, axis=0).",
                "count": "You returned the number of dead units: divide by the number of hidden units for the "
                "fraction.",
                "strict_negative": "You tested z < 0, so a unit whose pre-activation is exactly 0 looks alive. "
                "ReLU outputs 0 there too, and its gradient is 0 (the course's convention at the corner): "
                "dead means relu(z) == 0, i.e. z ≤ 0, for every row.",
                "no_bias": "You left out the bias: the hidden layer is relu(X @ W + b). A large negative bias is "
                "exactly how a unit dies.",
            },
        ),
        Exercise(
            name="keras_activation",
            points=2,
            summary="the lab's activations computed by Keras in float64, with the lab's conventions",
            rtol=1e-10,
            atol=1e-12,
            rtol_float32=1e-10,
            time_limit=60.0,
            profile="tensorflow",
            probe="lab08.keras_values",
            compare=_compare_keras,
            messages={
                "float32": "Your values agree with NumPy's float64 to only about 7 digits: Keras computed in "
                "float32. Convert x to a float64 tensor (keras.ops.convert_to_tensor(x, dtype=\"float64\")), and "
                "give a layer dtype=\"float64\": a layer casts its inputs to its own dtype, float32 by default.",
                "layer_default": "Your leaky ReLU has slope 0.3 for negative inputs, the default of "
                "keras.layers.LeakyReLU: pass negative_slope=0.01, the course's slope.",
                "function_default": "Your leaky ReLU has slope 0.2 for negative inputs, the default of "
                "keras.activations.leaky_relu: pass negative_slope=0.01, the course's slope.",
                "tanh_for_exact": "For \"gelu\" you used the tanh approximation: the exact GELU is "
                "keras.activations.gelu(x, approximate=False).",
                "exact_for_tanh": "For \"gelu_tanh\" you used the exact GELU: the tanh approximation is "
                "keras.activations.gelu(x, approximate=True).",
            },
        ),
    ),
)
