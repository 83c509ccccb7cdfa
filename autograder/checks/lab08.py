"""Lab 08 · activation functions: the exercises and what each known mistake teaches.

Every exercise is judged by the values it returns, never by a warning: NumPy's warnings and error
states belong to the student's process (``np.seterr``, ``warnings`` filters), where a check cannot
trust them. So the check does not fail the naive sigmoid 1 / (1 + exp(−x)): in float64 its values
are right to the last digit wherever σ(x) is a normal float64 (exp(−x) overflows only where σ(x) is
below 2.2e-308, and there scipy.special.expit and TensorFlow give 0 too). It fails what really gives
wrong numbers: NaN from e^x/(1 + e^x) at +1000, tiny values lost to cancellation (0.5·(1 + tanh(x/2))
is 0 for x below about −37). ``sigmoid`` is judged to a relative 1e-9 down to the smallest normal
float64; ``sigmoid_derivative`` to 1e-12, and values below 1e-200 relatively. A float64 input must
give a float64 result (a float32 input may give float32 or float64), whatever the tolerance.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.core import Exercise, Lab, format_value

TINY = 1e-200  # below this, a float64 value must be right to the exercise's rtol (down to SMALLEST_NORMAL)
SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)  # 2.2e-308: below it, float64 loses digits (and 0 is fine)
FLOAT32_ATOL = 1e-6  # what a float32 computation of values of size ≤ 1 may lose


def _dtype_reason(received, expected) -> str | None:
    if not isinstance(received, np.ndarray):
        return f"returned {type(received).__name__}, expected a NumPy array (wrap it with np.asarray)"
    if received.dtype.kind != "f":
        return (f"returned an array of dtype {received.dtype}, expected floats: convert it, e.g. "
                f".astype(float) (the docstring asks for float64)")
    if np.asarray(expected).dtype == np.float64 and received.dtype != np.float64:
        return (f"returned {received.dtype} for a float64 input: the docstring asks for float64 (only a float32 "
                "input may give float32)")
    return None


def _compare_values(received, expected, exercise: Exercise, tiny: bool = False) -> str | None:
    """An array of the contracted dtype and shape, within the exercise's tolerances.

    With ``tiny``, float64 values between 0 and 1e-200 get an absolute tolerance of 2.2e-308 (the
    smallest normal float64) instead of the exercise's atol: they must be kept, not rounded to 0. A
    float32 input is judged at rtol_float32 with atol 1e-6: float32 keeps about 7 digits, and 1 − σ(x)
    computed in float32 cancels them.
    """
    reason = _dtype_reason(received, expected)
    if reason:
        return reason
    e = np.asarray(expected)
    if received.shape != e.shape:
        return f"returned shape {received.shape}, expected shape {e.shape}"
    r64, e64 = received.astype(np.float64), e.astype(np.float64)
    if not np.all(np.isfinite(r64)) and np.all(np.isfinite(e64)):
        return "contains NaN or infinity"
    if e.dtype == np.float32 or received.dtype == np.float32:
        rtol, atol = max(exercise.rtol, exercise.rtol_float32), np.full(e.shape, FLOAT32_ATOL)
    else:
        rtol, atol = exercise.rtol, np.full(e.shape, exercise.atol)
        if tiny:
            atol[(e64 != 0) & (np.abs(e64) < TINY)] = min(exercise.atol, SMALLEST_NORMAL)
    with np.errstate(invalid="ignore"):
        close = (np.abs(r64 - e64) <= atol + rtol * np.abs(e64)) | (r64 == e64) | (np.isnan(r64) & np.isnan(e64))
    if np.all(close):
        return None
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    index = first[0] if len(first) == 1 else first
    return (f"first difference at index {index}: {format_value(r64[first], digits=10)} instead of "
            f"{format_value(e64[first], digits=10)}")


def _compare_tiny(received, expected, exercise: Exercise) -> str | None:
    return _compare_values(received, expected, exercise, tiny=True)


def _compare_pair(received, expected, exercise: Exercise) -> str | None:
    """(value, slope): each an array judged like a single activation's, the value first."""
    if not (isinstance(received, (tuple, list)) and len(received) == 2):
        return (f"returned {format_value(received)}, expected a pair (value, slope): return both arrays, "
                "as `return values, slopes`")
    for part, got, want in zip(("the value", "the slope"), received, expected):
        reason = _compare_values(got, want, exercise)
        if reason:
            return f"{part}: {reason}"
    return None


def _show_pair(value) -> str:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return f"value {format_value(value[0])}, slope {format_value(value[1])}"
    return format_value(value)


def _low_precision(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_low_precision(item) for item in value)
    dtype = getattr(value, "dtype", None)
    return dtype is not None and np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 8


def _flat(value, expected):
    """The triple (losses, norms, weights) as one float64 vector shaped like ``expected``'s, or a reason."""
    losses, norms, weights = value
    want_losses, want_norms, want_weights = expected
    try:
        losses, norms = np.asarray(losses, dtype=float), np.asarray(norms, dtype=float)
        weights = [np.asarray(w, dtype=float) for w in weights]
    except (TypeError, ValueError):
        return None, "not_a_triple"
    if norms.shape == (np.shape(want_norms)[0], 2 * np.shape(want_norms)[1]):
        return None, "with_biases"
    shapes = [np.shape(w) for w in want_weights]
    if losses.shape != np.shape(want_losses) or norms.shape != np.shape(want_norms) or [
            w.shape for w in weights] != shapes:
        return None, "shapes"
    return np.concatenate([losses.ravel(), norms.ravel(), *(w.ravel() for w in weights)]), None


def _compare_training(received, expected, exercise: Exercise) -> str | None:
    """keras_train_steps's (losses, gradient_norms, weights): their shapes, then every number within rtol 1e-9.

    A float64 Keras run reproduces the NumPy one to about 1e-15; float32 (or a float32 learning rate) is
    off by about 1e-8 to 1e-6, so values within 1e-5 only, or arrays in float32, are named as float32.
    A leaky ReLU case expects ``{"either": (exact slope's run, TensorFlow's float32 slope's run)}``: the
    received run is judged against the closer one.
    """
    if isinstance(expected, dict) and "either" in expected:
        reasons = [_compare_training(received, run, exercise) for run in expected["either"]]
        return None if None in reasons else min(reasons, key=lambda r: r != exercise.messages["float32"])
    if not (isinstance(received, (tuple, list)) and len(received) == 3 and isinstance(received[2], (tuple, list))):
        return exercise.messages["not_a_triple"] + f" Got {format_value(received)}."
    values, problem = _flat(received, expected)
    if problem:
        detail = "" if problem == "with_biases" else (
            f" Expected losses of shape {np.shape(expected[0])}, norms of shape {np.shape(expected[1])} and "
            f"{len(expected[2])} weight arrays of shapes {[np.shape(w) for w in expected[2]]}.")
        return exercise.messages["with_biases" if problem == "with_biases" else "not_a_triple"] + detail
    reference, _ = _flat(expected, expected)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(values - reference) <= exercise.atol + exercise.rtol * np.abs(reference)
        close |= (values == reference) | (np.isnan(values) & np.isnan(reference))
    if np.all(close):
        return None
    if _low_precision(received) or bool(np.all(np.abs(values - reference) <= 1e-12 + 1e-5 * np.abs(reference))):
        return exercise.messages["float32"]
    steps, layers = np.shape(expected[1])
    first = int(np.argmin(close))
    if first < steps:
        where = f"the loss before step {first + 1}"
    elif first < steps + steps * layers:
        step, layer = divmod(first - steps, layers)
        where = f"the gradient norm of layer {layer + 1}'s kernel at step {step + 1}"
    else:
        where = "the weights after the last step"
    return f"{where} is {format_value(values[first], digits=10)}, expected {format_value(reference[first], digits=10)}"


def _show_training(value) -> str:
    if isinstance(value, dict) and "either" in value:
        return _show_training(value["either"][0])
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return f"losses {format_value(value[0])}, gradient norms {format_value(value[1])}"
    return format_value(value)


_LAYER_DEFAULT = ("Your slope for negative inputs is 0.3, the default of keras.layers.LeakyReLU. This lab follows "
                  "the course notes: negative_slope defaults to 0.01 (keras.activations.leaky_relu's default is "
                  "0.2, yet another one: always pass the slope explicitly).")
_FUNCTION_DEFAULT = ("Your slope for negative inputs is 0.2, the default of keras.activations.leaky_relu. This lab "
                     "follows the course notes: negative_slope defaults to 0.01 (keras.layers.LeakyReLU's default "
                     "is 0.3, yet another one: always pass the slope explicitly).")
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
            summary="the logistic sigmoid 1 / (1 + e^(−x)): no NaN at ±1000, tiny values to a relative 1e-9",
            rtol=1e-9,
            atol=SMALLEST_NORMAL,
            rtol_float32=1e-5,
            compare=_compare_values,
            messages={
                "naive_positive": "np.exp(x) / (1 + np.exp(x)) overflows for large positive x: at x = 1000 it is "
                "inf/inf = NaN. Keep the exponent ≤ 0: with e = np.exp(-np.abs(x)), σ(x) = 1/(1 + e) for x ≥ 0 "
                "and e/(1 + e) for x < 0.",
                "tanh_form": "0.5·(1 + tanh(x/2)) is σ on paper, but for x below about −37 tanh(x/2) rounds to "
                "−1 and 1 + tanh(x/2) cancels to 0: σ(−50) ≈ 1.9e-22 comes out 0. Use e = np.exp(-np.abs(x)): "
                "σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0.",
            },
        ),
        Exercise(
            name="sigmoid_derivative",
            points=1,
            summary="σ′(x) = σ(x)·(1 − σ(x)), at most 0.25, tiny slopes kept",
            rtol=1e-9,
            atol=1e-12,
            rtol_float32=1e-5,
            compare=_compare_tiny,
            builds_on=("sigmoid",),
            messages={
                "one_minus_x": "You wrote σ(x)·(1 − x): the second factor is 1 − σ(x), not 1 − x. The derivative "
                "is σ(x)·(1 − σ(x)), which is never above 0.25.",
                "from_x": "You computed x·(1 − x), the formula a(1 − a) applied to x itself. a(1 − a) holds for "
                "a = σ(x), the sigmoid's *output*: compute s = sigmoid(x) first, then s·(1 − s).",
                "lost_tiny": "Your derivative is 0 far left, where σ′(x) ≈ σ(x) is tiny but a float64 number "
                "(σ′(−600) ≈ 2.7e-261): it is built on a sigmoid that loses those values, such as "
                "0.5·(1 + tanh(x/2)), which cancels to 0. Use your sigmoid: s = sigmoid(x), then s·(1 − s).",
                "quotient": "np.exp(-x) / (1 + np.exp(-x))**2 is σ′ on paper, but at x = −1000 it is inf/inf = "
                "NaN. Write it from the stable sigmoid instead: s·(1 − s) with s = sigmoid(x).",
            },
        ),
        Exercise(
            name="tanh_and_slope",
            points=1,
            summary="(tanh(x), 1 − tanh²(x)): finite at ±1000",
            rtol=1e-9,
            atol=1e-12,
            rtol_float32=1e-5,
            compare=_compare_pair,
            show=_show_pair,
            messages={
                "naive": "Your value is NaN at x = ±1000: (e^x − e^−x)/(e^x + e^−x) overflows in both exponentials, "
                "and inf/inf is NaN. Use np.tanh, or the identity tanh(x) = 2σ(2x) − 1 with your stable sigmoid.",
                "identity_slip": "Your value is 2σ(x) − 1, which is tanh(x/2): the identity is tanh(x) = 2σ(2x) − 1, "
                "with 2x inside the sigmoid.",
                "from_x": "Your slope is 1 − x², the formula 1 − a² applied to x itself. It holds for a = tanh(x): "
                "compute t = np.tanh(x) first, then 1 − t².",
                "no_square": "Your slope is 1 − tanh(x): square the tanh, tanh′(x) = 1 − tanh(x)².",
                "sigmoid_form": "Your slope is tanh(x)·(1 − tanh(x)), the *sigmoid's* pattern s(1 − s). For tanh "
                "the derivative is 1 − tanh(x)².",
            },
        ),
        Exercise(
            name="leaky_relu_and_slope",
            points=2,
            summary="leaky ReLU and its slope (x or α·x; 1 or α, α at x = 0); α = 0 is ReLU",
            rtol=1e-12,
            atol=1e-12,
            rtol_float32=1e-6,
            compare=_compare_pair,
            show=_show_pair,
            messages={
                "layer_default": _LAYER_DEFAULT,
                "function_default": _FUNCTION_DEFAULT,
                "no_slope": "You returned plain ReLU and its slope: negative inputs must leak through, multiplied "
                "by negative_slope (value negative_slope·x, slope negative_slope where x ≤ 0).",
                "swapped_branches": "Your value swaps the two branches: positive inputs pass unchanged, negative "
                "ones are multiplied by negative_slope.",
                "one_at_zero": "Your slope is 1 at x = 0 (x >= 0): this lab (like TensorFlow) takes the left slope "
                "at the corner, 1 where x > 0 and negative_slope where x ≤ 0 (so ReLU′(0) = 0).",
                "returned_forward": "Your slope is leaky ReLU itself: its derivative is 1 where x > 0 and "
                "negative_slope elsewhere.",
                "sign": "Your slope is np.sign(x), −1 for negative inputs: the left side's slope is negative_slope "
                "(0 for ReLU), not −1.",
            },
        ),
        Exercise(
            name="gelu_and_slope",
            points=2,
            summary="GELU x·Φ(x) and its slope Φ(x) + x·φ(x), exact (erf) or the tanh approximation",
            rtol=1e-9,
            atol=1e-12,
            rtol_float32=1e-5,
            compare=_compare_pair,
            show=_show_pair,
            messages={
                "tanh_for_exact": "You computed the tanh approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) "
                "(and its slope) where the exact GELU was asked (approximate=False): x·Φ(x) = 0.5·x·(1 + "
                "erf(x/√2)), slope Φ(x) + x·φ(x). The two differ by up to about 5e-4.",
                "exact_for_tanh": "You computed the exact GELU 0.5·x·(1 + erf(x/√2)) (and its slope) where the tanh "
                "approximation was asked (approximate=True): 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).",
                "flag_swapped": _FLAG_SWAPPED,
                "sigmoid_approximation": "Your value is x·σ(1.702x), a third, cruder approximation of GELU: use the "
                "exact 0.5·x·(1 + erf(x/√2)), or the tanh formula when approximate=True.",
                "no_sqrt2": "Your value has erf(x) where the exact GELU has erf(x/√2): Φ(x) = 0.5·(1 + erf(x/√2)) "
                "is the standard normal CDF.",
                "cdf_only": "Your slope is only Φ(x) (or 0.5·(1 + tanh(u))): GELU is a product, x·Φ(x), so the "
                "product rule adds x·Φ′(x): Φ(x) + x·φ(x), with φ(x) = e^(−x²/2)/√(2π).",
            },
        ),
        Exercise(
            name="softmax",
            points=2,
            summary="softmax over the last axis, shifted by each row's max: rows sum to 1",
            atol=1e-12,
            compare=_compare_values,
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
            compare=_compare_values,
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
            compare=_compare_values,
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
            name="keras_train_steps",
            points=5,
            summary="a float64 Keras MLP trained by GradientTape + SGD.apply_gradients: losses, kernel-gradient "
            "norms, weights",
            rtol=1e-9,
            atol=1e-12,
            time_limit=60.0,
            profile="tensorflow",
            probe="lab08.keras_steps",
            compare=_compare_training,
            show=_show_training,
            messages={
                "float32": "Your numbers agree with the float64 run to only about 7 digits: Keras computed in "
                "float32, its default. Give every layer dtype=\"float64\", and call "
                "keras.config.set_floatx(\"float64\") inside keras_train_steps before making the optimizer, "
                "whose learning rate takes the float type of that moment (a float32 learning rate 0.1 is "
                "0.10000000149). The grader does not run the notebook's other cells: there Keras starts in "
                "float32.",
                "layer_default": "Your leaky ReLU has slope 0.3 for negative inputs, the default of "
                "keras.layers.LeakyReLU: pass negative_slope=0.01, the course's slope.",
                "function_default": "Your leaky ReLU has slope 0.2 for negative inputs, the default of "
                "keras.activations.leaky_relu: pass negative_slope=0.01, the course's slope.",
                "activation_on_output": "Your output layer applies the activation too: only the hidden layers "
                "do; the last Dense is linear (activation=None), as a regression's output must be able to reach "
                "any number.",
                "default_learning_rate": "Your steps are those of learning rate 0.01, keras.optimizers.SGD's "
                "default: pass the argument, SGD(learning_rate=learning_rate).",
                "sum_loss": "Your loss is the *sum* of the squared errors: the course's loss (Keras's \"mse\") is "
                "their mean, keras.ops.mean(keras.ops.square(model(X) - y)).",
                "with_biases": "Your gradient_norms have two columns per layer: you took the norm of every "
                "gradient, biases included. Keep the kernels' only: tape.gradient returns [dW1, db1, dW2, db2, "
                "…], so the kernels are gradients[0::2].",
                "not_a_triple": "keras_train_steps must return (losses, gradient_norms, weights): the loss before "
                "each step, shape (steps,); each kernel's gradient norm at each step, shape (steps, layers); and "
                "model.get_weights() after the last step.",
            },
        ),
    ),
)
