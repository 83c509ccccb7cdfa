"""Lab 09 · losses and classification: the exercises and what each known mistake teaches.

Every loss follows Keras: arguments (y_true, y_pred), probabilities clipped to [eps, 1 − eps]
(eps = 1e-7, keras.backend.epsilon()) before the log, each example's loss averaged over the batch.
A value that is infinite or NaN matches a known mistake whose value is infinite or NaN too: an
unclipped log of 0 gives inf or nan depending on how the formula was written, and both are that
one mistake.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_values, format_value
from autograder.encoding import Unsupported

KERAS_RTOL, KERAS_ATOL = 1e-5, 1e-6  # Keras' loss objects compute in float32 unless told otherwise


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


def _number(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number


def _compare_report(received, expected, exercise: Exercise) -> str | None:
    """choose_loss's report: the loss value within rtol 1e-5, atol 1e-6 (Keras computes in float32).

    A mistake that makes Keras raise (a sparse loss on one-hot labels, or a categorical one on
    integers) is matched by the value the same loss gives on the labels written the other way.
    """
    if not isinstance(received, dict) or "loss" not in received:
        return f"the check could not read the report of your loss: {format_value(received)}"
    loss, other = _number(received.get("loss")), _number(received.get("other_labels"))
    if expected.get("loss") is None:
        target = expected["other_labels"]
        return None if loss is None and other is not None and math.isclose(
            other, target, rel_tol=KERAS_RTOL, abs_tol=KERAS_ATOL) else "a different mistake"
    if loss is None:
        error = received.get("error") or "an error"
        return f"your loss raised {error} on these labels and this model output"
    if not math.isfinite(loss):
        return f"your loss gave {loss} (not a finite number)"
    if math.isclose(loss, expected["loss"], rel_tol=KERAS_RTOL, abs_tol=KERAS_ATOL):
        return None
    return f"your loss gave {loss:.7g}, expected {expected['loss']:.7g}"


def _show_report(value) -> str:
    if isinstance(value, dict) and "loss" in value:
        loss = value.get("loss")
        return f"loss {format_value(loss)}" if loss is not None else f"raised {value.get('error') or 'an error'}"
    return format_value(value)


_SILENT = "The wrong setting still trains, but on the wrong numbers."
_PROBABILITIES = ("a sigmoid or softmax outputs probabilities, so from_logits=False (the default). The wrong setting "
                  "still trains, but on the wrong numbers.")
_CLIP = "Clip first, as Keras does: p = np.clip(p, eps, 1 − eps), then take the logs."

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
                "sigmoid_then_clip": "You computed σ(z), clipped it and took logs: that caps each example's loss "
                "at −log(1e-7) ≈ 16.1, but a logit of 50 on the wrong side costs 50. From logits, use "
                "max(z, 0) − z·y + log(1 + e^−|z|): nothing is rounded to 0 or 1, so nothing needs clipping.",
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
                "softmax_then_clip": "You computed the softmax, clipped it and took the log: that caps each "
                "example's loss at −log(1e-7) ≈ 16.1 while the true loss of a logit 50 below the winner is 50. "
                "From logits, use logsumexp(z) − z[label]: nothing to clip.",
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
            name="choose_loss",
            points=2,
            summary="the keras.losses object, with from_logits, that matches a model's last layer and its labels",
            time_limit=60.0,
            profile="tensorflow",
            probe="lab09.loss_report",
            compare=_compare_report,
            show=_show_report,
            messages={
                "from_logits_flipped": "Your loss reads the model's output the wrong way round, every time: a "
                f"last layer with activation \"linear\" outputs logits, so from_logits=True; {_PROBABILITIES}",
                "probabilities_as_logits": "Your loss treats probabilities as logits: a sigmoid or softmax last "
                f"layer already outputs probabilities, so from_logits=False (the default). {_SILENT}",
                "logits_as_probabilities": "Your loss treats logits as probabilities: a last layer with activation "
                f"\"linear\" outputs logits, so pass from_logits=True. {_SILENT}",
                "sparse_vs_one_hot": "Keras raised on these labels, and the same loss works on the labels written "
                "the other way: integer labels (class 2) need SparseCategoricalCrossentropy, one-hot rows "
                "([0, 0, 1]) need CategoricalCrossentropy.",
            },
        ),
    ),
)
