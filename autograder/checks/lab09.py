"""Lab 09 · losses and classification: the exercises and what each known mistake teaches.

Every loss follows Keras: arguments (y_true, y_pred), probabilities clipped to [eps, 1 − eps]
(eps = 1e-7, keras.backend.epsilon()) before the log, each example's loss averaged over the batch.
A value that is infinite or NaN matches a known mistake whose value is infinite or NaN too: an
unclipped log of 0 gives inf or nan depending on how the formula was written, and both are that
one mistake.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_values, format_value
from autograder.encoding import Unsupported


def _has_non_finite(value) -> bool:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(array.size) and not bool(np.all(np.isfinite(array)))


def _compare(received, expected, exercise: Exercise) -> str | None:
    """The default comparison; an expected inf or nan (a mistake's value) matches any inf or nan received."""
    if isinstance(expected, tuple):
        if not isinstance(received, (tuple, list)) or len(received) != len(expected):
            return f"expected a tuple of {len(expected)} values"
        for i, (r, e) in enumerate(zip(received, expected)):
            reason = _compare(r, e, exercise)
            if reason:
                return f"item {i}: {reason}"
        return None
    if _has_non_finite(expected) and not isinstance(received, (str, Unsupported)):
        return None if _has_non_finite(received) else "different value"
    return compare_values(received, expected, exercise)


KERAS_RTOL, KERAS_ATOL = 1e-10, 1e-12  # float64 Keras repeats the NumPy run to about 1e-14
MISTAKE_RTOL = 1e-6  # a mistake's NumPy imitation is matched more loosely: its run may be less well-conditioned
FLOAT32_RTOL = 1e-4  # a float32 run stays this close over a few dozen epochs
FLOAT32_MISTAKE_RTOL = 1e-3  # a float32 mistake's float64 imitation: far below the 1.1 % its clip's top changes


def _say(exercise: Exercise, key: str, **details) -> str:
    return exercise.messages[key].format(**details).rstrip(".")


def _run_arrays(received):
    """The (history, outputs) of a report as float arrays (outputs flattened), or None where unreadable."""
    if not isinstance(received, dict) or set(received) != {"history", "outputs"}:
        return None
    try:
        history = np.asarray(received["history"], dtype=float)
        outputs = np.asarray(received["outputs"], dtype=float)
    except (TypeError, ValueError):
        return None
    if history.ndim != 1 or outputs.size == 0 or (outputs.ndim == 2 and outputs.shape[1] != 1) or outputs.ndim > 2:
        return None
    return history, outputs.reshape(-1)


def _close(a, b, rtol) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= KERAS_ATOL + rtol * np.abs(b)))


def _is_low_precision(received) -> bool:
    return any(isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.dtype.itemsize < 8
               for v in received.values())


def _compare_run(received, expected, exercise: Exercise) -> str | None:
    """keras_xor's report: the loss of every epoch and the trained outputs within rtol 1e-10 (float64).

    A float32 run (outputs of dtype float32, or values within 1e-4) is named as such. A known mistake's
    value (``loose``) is matched within rtol 1e-6: its NumPy imitation of Keras need not be as exact; one
    imitating a float32 run (``loose == "float32"``) within 1e-3 (its clip's top moves a sure, wrong example's
    loss by 1.1 %).
    """
    read = _run_arrays(received)
    if read is None:
        return _say(exercise, "not_a_pair", received=format_value(received))
    history, outputs = read
    reference_history, reference_outputs = (np.asarray(expected[key], dtype=float) for key in ("history", "outputs"))
    if len(history) != len(reference_history):
        return _say(exercise, "epochs_run", ran=len(history), expected=len(reference_history))
    if len(outputs) != len(reference_outputs):
        return _say(exercise, "not_a_pair", received=format_value(received))
    loose = expected.get("loose")
    rtol = FLOAT32_MISTAKE_RTOL if loose == "float32" else MISTAKE_RTOL if loose else KERAS_RTOL
    if _close(history, reference_history, rtol) and _close(outputs, reference_outputs, rtol):
        return None
    if loose:
        return "a different run"
    values, reference = np.concatenate([history, outputs]), np.concatenate([reference_history, reference_outputs])
    if _is_low_precision(received) or _close(values, reference, FLOAT32_RTOL):
        return _say(exercise, "float32")
    if not _close(history[:1], reference_history[:1], FLOAT32_RTOL):
        return (f"your first epoch's loss is {history[0]:.7g}, expected {reference_history[0]:.7g}: fit reports each "
                "epoch's loss before that epoch's step, so the first one is the loss of the given weights")
    if not _close(history, reference_history, FLOAT32_RTOL):
        return "the loss history differs after the first epoch"
    return "the loss history is right, but the outputs are not those of the trained model"


def _show_run(value) -> str:
    read = _run_arrays(value)
    if read is None:
        return format_value(value)
    history, outputs = read
    return f"history {format_value(history)}, outputs {format_value(outputs)}"


_CLIP = "Clip first, as Keras does: p = np.clip(p, eps, 1 − eps), then take the logs."
_SIGMOID_THEN_CLIP = ("You computed σ(z), clipped it and took logs: that caps each example's loss at about "
                      "−log(1e-7) ≈ 16.1, but a logit of 50 on the wrong side costs 50. From logits, use max(z, 0) − "
                      "z·y + log(1 + e^−|z|): nothing is rounded to 0 or 1, so nothing needs clipping.")
_SOFTMAX_THEN_CLIP = ("You computed the softmax, clipped it and took the log: that caps each example's loss at about "
                      "−log(1e-7) ≈ 16.1 while the true loss of a logit 50 below the winner is 50. From logits, use "
                      "logsumexp(z) − z[label]: nothing to clip.")
_LOGITS_AS_PROBABILITIES = (
    "Your loss read the logits of a \"linear\" last layer as probabilities: with from_logits=False Keras clips "
    "each logit into [1e-7, 1 − 1e-7] and takes its log, and nothing warns you. A linear last layer outputs "
    "logits: use BinaryCrossentropy(from_logits=True).")

LAB = Lab(
    id="09_losses",
    title="Losses and classification",
    hidden_module="autograder.hidden.lab09",
    exercises=(
        Exercise(
            name="mse_mae",
            points=1,
            summary="(MSE, MAE): mean((ŷ − y)²) and mean(|ŷ − y|)",
            compare=_compare,
            messages={
                "swapped": "You returned (MAE, MSE): the order is (mse, mae), the mean *squared* error first.",
                "no_square": "Your MSE is the mean of the plain errors: square each error first, or errors of "
                "+2 and −2 cancel out to a loss of 0.",
                "no_abs": "Your MAE is the mean of the signed errors: take each error's absolute value first, or "
                "errors of +2 and −2 cancel out.",
                "summed": "You summed over the examples: both losses are *means* (divide by the number of examples).",
                "root": "Your MSE is its square root (the RMSE): leave out np.sqrt.",
            },
        ),
        Exercise(
            name="binary_cross_entropy",
            points=2,
            atol=1e-6,  # a sure, right answer costs −log(1 − 1e-7) ≈ 1e-7: a wrong eps shows on sure, wrong ones
            summary="mean −[y·log p + (1 − y)·log(1 − p)] with p clipped to [eps, 1 − eps]",
            compare=_compare,
            messages={
                "unclipped": "A probability of exactly 0 or 1 gave inf or nan: log(0) = −inf (and 0·log 0 = "
                f"nan). {_CLIP}",
                "other_eps": "You clipped with a much smaller eps (1e-15?): use the `eps` argument, 1e-7 by "
                "default like Keras, which caps each example's loss at −log(1e-7) ≈ 16.1.",
                "eps_ignored": "You clipped with 1e-7 whatever the `eps` argument says: clip with `eps`.",
                "clip_low_only": "You clipped only from below (p ≥ eps): a p of exactly 1 still gives log(1 − p) "
                "= log 0. Clip both ends, np.clip(p, eps, 1 − eps).",
                "bce_summed": "You summed over the examples: the loss is the *mean* over the batch, as Keras' is.",
                "one_term": "Only the y·log p term is there: an example of class 0 then costs nothing whatever "
                "p says. Add (1 − y)·log(1 − p), the term that punishes a high p for class 0.",
                "no_minus": "Your loss is negative: log p ≤ 0, so the cross-entropy is "
                "−[y·log p + (1 − y)·log(1 − p)].",
            },
        ),
        Exercise(
            name="binary_cross_entropy_from_logits",
            points=2,
            summary="mean of max(z, 0) − z·y + log(1 + e^−|z|), stable at any logit",
            compare=_compare,
            messages={
                "sigmoid_then_log": "At a large logit your loss is inf or nan: σ(40) rounds to exactly 1.0 in "
                "float64, and then log(1 − σ(z)) = log 0. Do not compute σ(z) first: use the stable formula "
                "max(z, 0) − z·y + log(1 + e^−|z|), which never takes the log of a rounded probability.",
                "sigmoid_then_clip": _SIGMOID_THEN_CLIP,
                "sigmoid_then_clip_float32": _SIGMOID_THEN_CLIP,  # the same in float32: 15.94 per sure, wrong one
                "exp_overflow": "A very negative logit gave inf: e^−z overflows for z < −709. Write the last "
                "term with the absolute value, log(1 + e^−|z|) (np.log1p(np.exp(-np.abs(z)))): e^−|z| is never "
                "above 1.",
                "softplus_overflow": "A very large logit gave inf: log(1 + e^z) overflows for z > 709. Use "
                "max(z, 0) − z·y + log(1 + e^−|z|), which equals it and never overflows.",
                "flipped_labels": "Your loss is small where the model is wrong: you swapped the roles of y and "
                "1 − y. The − z·y term rewards a large logit for y = 1.",
                "logits_summed": "You summed over the examples: the loss is the *mean* over the batch.",
            },
        ),
        Exercise(
            name="categorical_cross_entropy",
            points=2,
            atol=1e-6,  # a sure, right answer costs −log(1 − 1e-7) ≈ 1e-7: a wrong eps shows on sure, wrong ones
            summary="mean over examples of −Σ_classes y·log p, one-hot y, p clipped to [eps, 1 − eps]",
            compare=_compare,
            messages={
                "unclipped": "A probability of exactly 0 gave inf or nan: log(0) = −inf, and 0·log 0 = nan even "
                f"for a class that is not the label. {_CLIP}",
                "other_eps": "You clipped with a much smaller eps (1e-15?): use the `eps` argument, 1e-7 by "
                "default like Keras.",
                "eps_ignored": "You clipped with 1e-7 whatever the `eps` argument says: clip with `eps`.",
                "batch_sum": "You summed over the examples as well: the loss is the *mean* over the batch of each "
                "example's sum over the classes.",
                "mean_all": "You averaged over every entry, examples *and* classes, so your loss is k times too "
                "small: sum over the classes (axis=-1) first, then average over the examples.",
                "cce_no_minus": "Your loss is negative: log p ≤ 0, so each example's loss is −Σ y·log p.",
            },
        ),
        Exercise(
            name="sparse_cross_entropy_from_logits",
            points=2,
            summary="mean of logsumexp(z) − z[label], integer labels, stable at any logit",
            compare=_compare,
            messages={
                "no_shift": "Huge logits gave inf or nan: e^1000 overflows. Subtract each row's largest logit "
                "before exponentiating: logsumexp(z) = m + log Σ e^(z − m) with m = max(z), which changes nothing "
                "mathematically and keeps every exponent ≤ 0.",
                "softmax_then_log": "A class whose probability underflows to 0 gave log 0 = −inf: do not take "
                "the log of the softmax. Write −log softmax(z)[label] as logsumexp(z) − z[label], with the "
                "max subtracted inside logsumexp.",
                "softmax_then_clip": _SOFTMAX_THEN_CLIP,
                "softmax_then_clip_float32": _SOFTMAX_THEN_CLIP,
                "sparse_summed": "You summed over the examples: the loss is the *mean* over the batch.",
                "mean_over_classes": "Your loss is k times too small: you divided by the number of classes too. "
                "Each example's loss is logsumexp(z) − z[label]; average those over the examples only.",
                "max_not_logsumexp": "You used max(z) in place of logsumexp(z): that is only its first term. "
                "logsumexp(z) = m + log Σ e^(z − m), and the log Σ part matters, above all for ties.",
            },
        ),
        Exercise(
            name="softmax_cross_entropy_gradient",
            points=2,
            summary="∂L/∂z of the mean softmax cross-entropy: (softmax(z) − one_hot(labels)) / n",
            compare=_compare,
            builds_on=("sparse_cross_entropy_from_logits",),
            messages={
                "gradient_no_n": "Your gradient is n times too large: the loss is a *mean* over the n examples, "
                "so each row of the gradient is (p − y) / n.",
                "gradient_sign": "Your gradient has the wrong sign: it is p − y (the prediction minus the truth), "
                "so gradient descent lowers the wrong classes' logits.",
                "jacobian_sign": "Your gradient is −(p + y) / n: you multiplied by the softmax Jacobian with a sign "
                "slip. It is ∂p_i/∂z_j = p_i(δ_ij − p_j) = diag(p) − p pᵀ, minus p pᵀ; with ∂L/∂p = −y/p the "
                "product collapses to p − y (because Σ y = 1), so no Jacobian is needed at all.",
                "no_softmax": "You used the logits themselves as the prediction: the gradient is "
                "(softmax(z) − y) / n, the probabilities minus the one-hot labels.",
                "unstable_softmax": "Huge logits gave nan: e^800 overflows to inf and inf / inf = nan. Subtract "
                "each row's largest logit before the exponential: softmax(z) = softmax(z − max(z)).",
                "extra_derivative": "You multiplied by p(1 − p) once more: that factor is already inside p − y. "
                "The softmax's derivative and the log's −1/p cancel, leaving (p − y) / n.",
            },
        ),
        Exercise(
            name="logistic_gradients",
            points=2,
            summary="(∂L/∂w, ∂L/∂b) of the mean binary cross-entropy of σ(X·w + b)",
            compare=_compare,
            messages={
                "logistic_no_n": "Your gradients are n times too large: the loss is the *mean* over the examples, "
                "so dw = Xᵀ(p − y) / n and db = mean(p − y).",
                "logistic_sign": "Your gradients have the wrong sign: they are Xᵀ(p − y) / n and mean(p − y), "
                "prediction minus label.",
                "no_sigmoid": "You used z = X·w + b as the prediction: the error is σ(z) − y, with the sigmoid's "
                "probability p = σ(z).",
                "sigmoid_derivative": "You multiplied by σ′(z) = p(1 − p): with the cross-entropy it cancels "
                "against the log's 1/(p(1 − p)), leaving just p − y. (That factor is what makes the MSE of a "
                "sigmoid learn so slowly when it is confidently wrong.)",
                "mse_of_probabilities": "That is the gradient of the MSE of the probabilities, 2(p − y)·p(1 − p): "
                "this model's loss is the binary cross-entropy, whose gradient is simply p − y.",
                "x_in_bias": "db has no x in it: ∂z/∂b = 1, so db = mean(p − y).",
            },
        ),
        Exercise(
            name="xor_gradients",
            points=2,
            summary="the loss and (dW1, db1, dW2, db2) of a 2-h-1 tanh/sigmoid network with cross-entropy",
            compare=_compare,
            messages={
                "tanh_derivative": "Your hidden-layer gradients use 1 − h: the derivative of tanh is 1 − tanh² "
                "= 1 − h².",
                "derivative_at_z": "You wrote tanh′ as 1 − z² with the pre-activation z = X·W1 + b1: it is "
                "1 − tanh(z)² = 1 − h², with the hidden layer's output h.",
                "no_tanh_derivative": "The hidden-layer gradients skip tanh: multiply the gradient reaching h by "
                "tanh′ = 1 − h² before going on to W1 and b1.",
                "xor_no_n": "Your gradients are n times too large: the loss is the *mean* over the examples, so "
                "the output's gradient is (p − y) / n.",
                "output_derivative": "You multiplied the output's gradient by σ′ = p(1 − p): with the cross-entropy "
                "from logits the output layer's gradient is just (p − y) / n.",
                "xor_sign": "Your gradients have the wrong sign: the output's gradient is p − y, prediction minus "
                "label, and everything below follows from it.",
            },
        ),
        Exercise(
            name="keras_xor",
            points=3,
            summary="the 2-h-1 network trained by Keras's fit from given weights, with the loss its last layer needs",
            time_limit=60.0,
            profile="tensorflow",
            probe="lab09.keras_run",
            compare=_compare_run,
            show=_show_run,
            messages={
                "float32": "Your numbers agree with the float64 run to only about 7 digits: Keras computed in "
                "float32, its default. Call keras.config.set_floatx(\"float64\") inside keras_xor, before building "
                "the model (the notebook's own set_floatx cell is a demo: the grader does not run it).",
                "logits_as_probabilities": _LOGITS_AS_PROBABILITIES,
                "logits_as_probabilities_float32": f"{_LOGITS_AS_PROBABILITIES} Your run is also float32, Keras's "
                "default: call keras.config.set_floatx(\"float64\") inside keras_xor, before building the model.",
                "outputs_logits": "Your model outputs logits where its last layer is to be a sigmoid: build the last "
                "Dense with activation=last_activation, so that with \"sigmoid\" the model outputs probabilities.",
                "outputs_probabilities": "Your model outputs probabilities where its last layer is to be \"linear\": "
                "build the last Dense with activation=last_activation, so that with \"linear\" it outputs logits.",
                "not_a_pair": "keras_xor must return (history, outputs): the list of the epochs' losses "
                "(fit(...).history[\"loss\"]) and the trained model's outputs for X, shape (n, 1); got {received}.",
                "epochs_run": "your loss history has {ran} entries, expected {expected}: one per epoch.",
            },
        ),
    ),
)
