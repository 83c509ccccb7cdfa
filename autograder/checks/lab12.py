"""Lab 12 · regularization and generalization: the exercises and what each known mistake teaches.

Every convention is Keras's: ``regularizers.L2`` (l2·Σw², no ½, kernels only), ``layers.Dropout``
(inverted: kept units scaled by 1/(1 − rate) in training, the identity in inference),
``callbacks.EarlyStopping`` (current < best − min_delta, wait counted before the test, stop at
wait ≥ patience, the best weights restored at the end of training) and ``layers.BatchNormalization``
(biased batch variance, ε inside the root, moving = moving·momentum + batch·(1 − momentum)).
Dropout's random draws are judged by their statistics over 50,000 units; the early stopper through
a scripted training (``autograder.probes.lab12``). The Keras exercise trains: without dropout its run is
compared with a NumPy reference run to 1e-10; with dropout, whose masks TensorFlow draws, by what holds
whatever the masks (the stopping epoch, dropout at work, the best epoch's weights returned).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_pair, format_value
from autograder.probes.lab12 import DRAW_SHAPE


def _compare_pairs(received, expected, exercise: Exercise) -> str | None:
    """A list of (dW, db) pairs, one per layer, each within the exercise's tolerances."""
    if not isinstance(received, (list, tuple)) or len(received) != len(expected):
        return f"expected a list of {len(expected)} (dW, db) pairs, one per layer"
    for i, (r, e) in enumerate(zip(received, expected)):
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            return f"layer {i}: expected a pair (dW, db)"
        for name, got, want in (("dW", r[0], e[0]), ("db", r[1], e[1])):
            if reason := compare_numbers(got, want, exercise):
                return f"layer {i}, {name}: {reason}"
    return None


def _draw_sigma(rate: float) -> float:
    return math.sqrt(max(rate * (1 - rate), 1e-12) / (DRAW_SHAPE[0] * DRAW_SHAPE[1]))


def _compare_dropout(received, expected, exercise: Exercise) -> str | None:
    """An injected mask: the output (and in training the returned mask) exactly, within rtol.

    A random draw: the kept fraction within 6 standard errors of the expected (both are samples
    of 50,000 units), the smallest and largest kept value within rtol, and the mask and generator
    flags exactly.
    """
    if not isinstance(received, dict) or set(received) != set(expected):
        return "the check could not read the report on your function"
    if "output" in expected:
        if reason := compare_numbers(received["output"], expected["output"], exercise):
            return f"the output: {reason}"
        if expected["mask"] is None:
            return None  # inference: the mask is not judged
        if received["mask"] is None:
            return "the mask: you returned None in training mode, expected the boolean mask of the kept units"
        if not np.array_equal(np.asarray(received["mask"]).astype(bool), np.asarray(expected["mask"]).astype(bool)):
            return "the mask you returned is not the mask you were given"
        return None
    if not received["input_unchanged"]:
        return ("your function changed its input x in place. Work on a copy (for example `np.array(x, "
                "dtype=float)`), so the caller's data stays as it was")
    kept, want = received["kept_fraction"], expected["kept_fraction"]
    if not isinstance(kept, float) or abs(kept - want) > 6 * math.sqrt(2) * _draw_sigma(want) + 1e-12:
        shown, wanted = format_pair(kept, want, 4) if isinstance(kept, float) else (format_value(kept), want)
        return f"you kept {shown} of the units, expected about {wanted}"
    if reason := compare_numbers(np.asarray(received["kept_values"], dtype=float),
                                 np.asarray(expected["kept_values"], dtype=float), exercise):
        return f"the kept units' values (smallest, largest) are {format_value(received['kept_values'])}, expected " \
               f"{format_value(expected['kept_values'])}"
    for flag, text in (("mask_is_kept_units", "the mask you returned is not where your output is non-zero"),
                       ("repeatable", "the same seed gave different masks: draw from the rng you are given"),
                       ("seed_decides", "another seed gave the same mask: draw from the rng you are given"),
                       ("draws_without_rng", "called without rng, your function did not drop units: with "
                        "rng=None draw from a fresh np.random.default_rng()")):
        if bool(received[flag]) != bool(expected[flag]):
            return text
    return None


def _any_mask(grad_in, unmasked, exercise: Exercise) -> str | None:
    """Whether grad_in is grad_out / (1 − rate) under some mask: every entry 0 or unmasked's, and some zero
    on 6 units or more (where no mask drops nothing by chance)."""
    if grad_in is None or np.shape(grad_in) != unmasked.shape:
        return "another mistake"
    grad_in = np.asarray(grad_in, dtype=float)
    zero = grad_in == 0
    if compare_numbers(np.where(zero, unmasked, grad_in), unmasked, exercise) is not None:
        return "another mistake"
    return None if unmasked.size < 6 or zero.any() else "another mistake"


def _compare_backward(received, expected, exercise: Exercise) -> str | None:
    """The gradient within rtol. A mistake's report whose ``follows_mask`` is None stands for "another mask":
    it matches a gradient whose entries are each 0 or grad_out / (1 − rate)."""
    if not isinstance(received, dict) or set(received) != {"grad_in", "follows_mask", "zeroes_some"}:
        return "the check could not read the report on your function"
    if expected["follows_mask"] is None:
        return _any_mask(received["grad_in"], np.asarray(expected["grad_in"], dtype=float), exercise)
    if received["grad_in"] is None:
        return "your function returned no array of numbers"
    return compare_numbers(received["grad_in"], expected["grad_in"], exercise)


def _compare_stopping(received, expected, exercise: Exercise) -> str | None:
    """The epoch the stopper stopped at (or None: it ran through), then whose weights training ended with."""
    if isinstance(received, str):
        return received
    if not isinstance(received, dict) or set(received) != {"stopped_at", "weights_from"}:
        return "the check could not read the report on your EarlyStopping"
    if received["stopped_at"] != expected["stopped_at"]:
        def said(epoch):
            return "ran through every epoch" if epoch is None else f"stopped after epoch {epoch}"
        return f"your stopper {said(received['stopped_at'])}, expected: {said(expected['stopped_at'])}"
    if received["weights_from"] != expected["weights_from"]:
        got = received["weights_from"]
        got = "weights that are no epoch's" if got == -1 else f"the weights of epoch {got}"
        return f"training ended with {got}, expected the weights of epoch {expected['weights_from']}"
    return None


def _show_stopping(value) -> str:
    if not isinstance(value, dict):
        return format_value(value)
    stop = "ran through" if value.get("stopped_at") is None else f"stopped after epoch {value.get('stopped_at')}"
    return f"{stop}, ended with the weights of epoch {value.get('weights_from')}"


def _show_report(value) -> str:
    if not isinstance(value, dict):
        return format_value(value)
    return "; ".join(f"{key} {format_value(v, 6)}" for key, v in value.items() if v is not None)


def _stop_rule(val_losses, patience: int) -> tuple[int, int]:
    """(epochs run, best epoch) of EarlyStopping(monitor="val_loss", patience) on these losses (Keras's rule).

    An epoch improves when its loss is below every earlier one; an epoch waits (its index minus the last
    improvement's, counted from −1 before any); the first epoch after epoch 0 that has waited ``patience``
    ends the run. Written over whole arrays: the trusted side's reading of a history, not a callback.
    """
    losses = np.asarray(val_losses, dtype=float)
    epochs = np.arange(len(losses))
    earlier_best = np.r_[np.inf, np.fmin.accumulate(losses)[:-1]]
    improved = losses < np.where(np.isnan(earlier_best), np.inf, earlier_best)
    last_improvement = np.maximum.accumulate(np.where(improved, epochs, -1))
    stops = np.flatnonzero((epochs - last_improvement >= patience) & (epochs > 0))
    ran = int(stops[0]) + 1 if stops.size else len(losses)
    return ran, max(int(last_improvement[ran - 1]), 0)


def _said_epochs(count: int) -> str:
    return f"{count} epoch{'s' if count != 1 else ''}"


_REPORT_KEYS = {"layers", "rate", "dtype", "loss", "val_loss", "weights", "returned_val_loss"}


def _compare_fit(received, expected, exercise: Exercise) -> str | None:
    """The model's layers and Dropout rate exactly; the histories' length; then

    - without dropout (rate 0): the loss and val_loss histories and the weights fit ended with, within rtol
      1e-10 of the NumPy reference run (float64 Keras reproduces it to about 1e-15);
    - with dropout, whose masks TensorFlow draws: what holds whatever the masks. Training ran as long as
      EarlyStopping(patience) on the run's own val_loss history allows, dropout changed the first epoch's
      training loss (relative 1e-9), and the model fit returned has the val_loss of the best epoch (rtol 1e-9).

    A float32 model, or histories within 1e-6 but not 1e-10 of the reference, is named as float32.
    """
    if isinstance(received, str):
        return received
    if not isinstance(received, dict) or set(received) != _REPORT_KEYS:
        return "the check could not read the report on your model"
    if received["layers"] != expected["layers"]:
        return f"your model's layers are {received['layers']}, expected {expected['layers']}"
    if received["rate"] is None or abs(received["rate"] - expected["rate"]) > 1e-12:
        shown, wanted = format_pair(received["rate"], expected["rate"])
        return f"your Dropout's rate is {shown}, expected {wanted}"
    if received["loss"] is None or received["val_loss"] is None:
        return exercise.messages["no_validation"]
    ran, losses = len(received["val_loss"]), np.asarray(received["loss"], dtype=float)
    if len(losses) != ran or ran == 0 or received["weights"] is None:
        return "the check could not read the report on your model"
    if expected.get("judged_by") == "properties":
        return _fit_properties(received, expected, exercise)
    if received["dtype"] != "float64":
        return exercise.messages["float32"]
    if ran != len(expected["val_loss"]):
        return f"fit ran {_said_epochs(ran)}, expected {_said_epochs(len(expected['val_loss']))}"
    histories = np.concatenate([losses, received["val_loss"]])
    reference = np.concatenate([expected["loss"], expected["val_loss"]])
    if reason := compare_numbers(histories, reference, exercise):
        loose = replace(exercise, rtol=1e-6, rtol_float32=1e-6, atol=1e-9)  # float32 rounding, not a mistake's size
        if compare_numbers(histories, reference, loose) is None:
            return exercise.messages["float32"]
        return f"the loss histories (loss, then val_loss) differ: {reason}"
    weights, reference_weights = received["weights"], expected["weights"]
    if len(weights) != len(reference_weights) or any(
            compare_numbers(w, r, exercise) for w, r in zip(weights, reference_weights)):
        return ("the histories are right, but the model fit returned does not hold the weights of the best epoch "
                "(the lowest val_loss)")
    return None


def _fit_properties(received, expected, exercise: Exercise) -> str | None:
    val_losses = np.asarray(received["val_loss"], dtype=float)
    if received["dtype"] != "float64":
        return exercise.messages["float32"]
    ran, best = _stop_rule(val_losses, expected["patience"]) if expected["stop"] else (expected["epochs"], None)
    ran = min(ran, expected["epochs"])
    if len(val_losses) != ran:
        return (f"fit ran {_said_epochs(len(val_losses))}, but EarlyStopping(monitor=\"val_loss\", patience="
                f"{expected['patience']}) on your own val_loss history {format_value(val_losses)} stops after "
                f"{_said_epochs(ran)} (of at most {expected['epochs']})")
    first, without = float(received["loss"][0]), expected["first_loss_without_dropout"]
    if abs(first - without) <= 1e-9 * max(1.0, abs(without)):
        return ("your first epoch's training loss is the loss without dropout: the Dropout layer dropped nothing "
                "in training")
    target = val_losses[best] if expected["restore"] and best is not None else val_losses[-1]
    returned = received["returned_val_loss"]
    if returned is None or abs(returned - target) > 1e-9 * max(1.0, abs(target)):
        shown, wanted = format_pair(returned, float(target))
        return (f"the model fit returned has a validation loss of {shown}, expected {wanted}, the lowest val_loss "
                "of your run")
    return None


def _show_fit(value) -> str:
    if isinstance(value, str) or not isinstance(value, dict):
        return format_value(value)
    if value.get("judged_by") == "properties":
        return (f"a run with Dropout({format_value(value.get('rate'))}): judged by its stopping epoch, its first "
                f"loss and the model it returns")
    parts = [str(value.get("layers"))]
    if value.get("val_loss") is not None:
        parts.append(f"{len(value['val_loss'])} epochs, val_loss {format_value(value['val_loss'], 6)}")
    if value.get("loss") is not None:
        parts.append(f"loss {format_value(value['loss'], 6)}")
    return "; ".join(parts)


_STUB_FREE = "(The course's grader runs only your definitions, not the demo cells.)"
_FRESH = "Keep a copy of the weights (np.array(w, copy=True) for each array): training changes them in place."

LAB = Lab(
    id="12_regularization",
    title="Regularization and generalization",
    hidden_module="autograder.hidden.lab12",
    exercises=(
        Exercise(
            name="polynomial_sweep",
            points=2,
            summary="(train MSE, validation MSE) of least-squares polynomials of each degree, fitted on train only",
            rtol=1e-5,
            atol=1e-9,
            messages={
                "fit_on_validation_too": "You fitted on the validation points too: fit on the training points "
                "only, or the validation loss cannot show overfitting.",
                "degree_off_by_one": "Your polynomials have one coefficient too few: a polynomial of degree d has "
                "d + 1 coefficients (np.vander(x, d + 1), or np.polyfit(x, y, d)).",
                "swapped_curves": "You returned (validation, train): the order is (train_mse, val_mse).",
                "root_mean_square": "You returned the root of the mean squared error: return the MSE itself.",
            },
        ),
        Exercise(
            name="l2_penalty",
            points=1,
            summary="l2·Σw² over every layer's kernel (keras.regularizers.L2: no ½, biases not penalised)",
            messages={
                "half": "Your penalty is half the expected: you used the ½·λ·Σw² of some textbooks. Keras's "
                "regularizers.L2(l2) adds l2·Σw², with no ½ (and so its gradient is 2·l2·w).",
                "biases_penalised": "You penalised the biases too: kernel_regularizer, like this lab, penalises "
                "only the kernels W. A bias shifts a unit without making the model wigglier.",
                "mean_not_sum": "You averaged the squares inside each kernel: the penalty is l2 times their *sum*, "
                "Σw², so a layer with more weights pays more.",
                "l1": "You summed |w|: that is the L1 penalty (regularizers.L1). L2 sums the squares, l2·Σw².",
            },
        ),
        Exercise(
            name="l2_gradient",
            points=1,
            summary="the penalty's gradient per layer: (2·l2·W, zeros like b)",
            compare=_compare_pairs,
            messages={
                "no_factor_two": "Your dW is l2·W, half the expected: ∂(l2·w²)/∂w = 2·l2·w. (l2·W is the gradient "
                "of the ½ convention, which Keras does not use.)",
                "bias_gradient": "Your db is not zero: the biases are not penalised, so the penalty's gradient "
                "with respect to b is 0.",
                "gradient_sign": "Your gradient has the wrong sign: it is +2·l2·W, so that the descent step "
                "W − lr·2·l2·W shrinks the weights (hence \"weight decay\").",
                "gradient_mean": "You divided dW by the number of weights: the penalty is a sum, so each weight's "
                "gradient is 2·l2·w, whatever the kernel's size.",
            },
        ),
        Exercise(
            name="dropout_forward",
            points=2,
            summary="(output, mask): inverted dropout, kept units ×1/(1 − rate) in training, identity in inference",
            probe="lab12.dropout_forward_run",
            compare=_compare_dropout,
            # the draws' cases call it on 50,000 units four times each: a loop drawing one rng.random() per
            # unit took 3.1 s for all the cases at a load of 15 on two cores, the reference 0.1 s
            time_limit=30.0,
            show=_show_report,
            messages={
                "no_rescale": "You zeroed the dropped units but did not scale the kept ones: inverted dropout "
                "(Keras's) divides them by 1 − rate in training, so that the layer's expected output is the same "
                "in training and in inference.",
                "classic": "You wrote classic dropout: no scaling in training, ×(1 − rate) in inference. Keras "
                "(and this lab) use *inverted* dropout: ÷(1 − rate) in training, and inference is the identity.",
                "eval_scaled": "Your inference output is scaled by 1 − rate: with inverted dropout the training "
                "step already divided by 1 − rate, so inference must be the identity (y = x).",
                "rate_as_keep": "You treated rate as the probability of *keeping* a unit: in Keras rate is the "
                "fraction *dropped*. Keep a unit where rng.random(x.shape) >= rate, and scale by 1/(1 − rate).",
                "rate_as_keep_scaled": "You kept each unit with probability rate, so a rate of 0.25 kept a "
                "quarter of them: in Keras rate is the fraction *dropped*. Keep a unit where rng.random(x.shape) "
                ">= rate (your scale, 1/(1 − rate), is already right).",
                "drops_at_inference": "You dropped units with training=False: at inference dropout is switched "
                "off and returns x unchanged.",
            },
        ),
        Exercise(
            name="dropout_backward",
            points=1,
            summary="grad_out × mask / (1 − rate): the same mask and the same scale as the forward pass",
            probe="lab12.dropout_backward_run",
            compare=_compare_backward,
            show=_show_report,
            builds_on=("dropout_forward",),
            messages={
                "backward_no_rescale": "Your gradient is not scaled: the forward pass multiplied the kept units by "
                "1/(1 − rate), so the chain rule multiplies their gradient by 1/(1 − rate) too.",
                "backward_rate_as_keep": "You divided by rate: divide by 1 − rate, the keep probability, the same "
                "scale as the forward pass.",
                "backward_no_mask": "Your gradient reaches the dropped units: a unit that was zeroed did not "
                "affect the loss, so its gradient is 0. Multiply by the mask.",
                "new_mask": "Your gradient is zero on other units than the forward pass dropped: you drew a new "
                "mask. Backward must use the forward's mask (the one it is given), or the gradient belongs to "
                "another network.",
            },
        ),
        Exercise(
            name="EarlyStopping",
            points=3,
            summary="keras.callbacks.EarlyStopping as a state machine: patience, min_delta, best-weight restore",
            probe="lab12.early_stopping_run",
            compare=_compare_stopping,
            show=_show_stopping,
            messages={
                "less_or_equal": "A loss equal to best − min_delta counted as an improvement: Keras's test is "
                "strict, current < best − min_delta, so a tie with the best is *not* an improvement.",
                "min_delta_ignored": "Your stopper ignores min_delta: an improvement must beat the best by more "
                "than min_delta, current < best − min_delta.",
                "patience_late": "Your stopper stops one epoch late: Keras adds 1 to wait *before* the test and "
                "stops as soon as wait >= patience (patience epochs in a row without improvement).",
                "restore_only_when_stopped": "You restored the best weights only after an early stop: Keras "
                "restores them at the end of training (on_train_end) whenever restore_best_weights is set, also "
                "when training ran through every epoch.",
                "restored_last": "Training ended with the last epoch's weights, not the best: either you did not "
                "restore them, or you kept a reference to the weights that training then changed. " + _FRESH,
                "no_reset": "Your stopper carried its state over from an earlier training: on_train_begin must "
                "reset it (no best loss yet, wait = 0, no best weights), as Keras's does, so that one "
                "EarlyStopping serves several calls of fit. The check trains it once before the run it judges.",
            },
        ),
        Exercise(
            name="batchnorm_forward",
            points=2,
            summary="(y, moving_mean, moving_var) of batch normalization, Keras's momentum 0.99 and ε 1e-3",
            messages={
                "unbiased_variance": "You used the unbiased batch variance (ddof=1): Keras's BatchNormalization "
                "normalizes with the biased one, np.var(x, axis=0) (divide by n, not n − 1).",
                "momentum_swapped": "Your moving statistics move almost all the way to the batch's: Keras's "
                "momentum is the share *kept*, moving = moving·momentum + batch·(1 − momentum), with momentum 0.99 "
                "(PyTorch's momentum 0.1 is the share of the batch: the opposite convention).",
                "batch_stats_at_inference": "With training=False you normalized with the batch's statistics: "
                "inference uses the moving ones, so that a prediction does not depend on the rest of the batch.",
                "epsilon_outside_root": "You added ε outside the square root: Keras divides by √(var + ε), which "
                "matters for a feature whose variance is near 0.",
                "no_moving_update": "Your moving statistics did not change in training: update them, "
                "moving = moving·momentum + batch·(1 − momentum).",
            },
        ),
        Exercise(
            name="batchnorm_backward",
            points=3,
            summary="(dx, dgamma, dbeta) of training-mode batch normalization, through the batch mean and variance",
            atol=1e-9,
            messages={
                "gamma_over_sigma_only": "Your dx is grad_out·gamma/σ alone: the batch mean and variance depend on "
                "every x too. dx = (n·ĝ − Σĝ − x̂·Σ(ĝ·x̂)) / (n·σ) with ĝ = grad_out·gamma.",
                "no_variance_term": "Your dx misses the path through the batch variance: subtract x̂·mean(ĝ·x̂) "
                "too, dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ with ĝ = grad_out·gamma.",
                "no_mean_term": "Your dx misses the path through the batch mean: subtract mean(ĝ) too, "
                "dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ with ĝ = grad_out·gamma.",
                "backward_unbiased": "You used the unbiased variance (ddof=1) for σ: the forward pass divides by "
                "√(np.var(x, axis=0) + ε), the biased variance, and its backward must use the same σ.",
                "dgamma_without_x_hat": "Your dgamma is Σ grad_out, which is dbeta: y = gamma·x̂ + beta, so "
                "dgamma = Σ grad_out·x̂.",
            },
        ),
        Exercise(
            name="keras_regularized_fit",
            points=3,
            summary="a float64 Dense(relu, L2) → BatchNormalization → Dropout → Dense(L2) trained by fit with "
            "validation data and EarlyStopping(restore_best_weights=True)",
            probe="lab12.keras_fit_report",
            profile="tensorflow",
            time_limit=60.0,
            rtol=1e-10,
            rtol_float32=1e-10,
            atol=1e-12,
            compare=_compare_fit,
            show=_show_fit,
            messages={
                "float32": "Your run agrees with the float64 reference to only about 7 digits: Keras computed in "
                "float32, its default. Call keras.config.set_floatx(\"float64\") inside keras_regularized_fit, "
                "before building the model and its optimizer (the learning rate is a variable of floatx too). "
                + _STUB_FREE,
                "bias_regularized": "Your loss includes a penalty on the biases: give the Dense layers "
                "kernel_regularizer=keras.regularizers.L2(l2) only, no bias_regularizer.",
                "output_unregularized": "Your penalty covers the first Dense only: the output Dense gets "
                "kernel_regularizer=keras.regularizers.L2(l2) too.",
                "bn_momentum": "Your BatchNormalization's moving statistics moved with momentum 0.9: keep Keras's "
                "default momentum=0.99 (and epsilon=1e-3), as your batchnorm_forward does.",
                "no_restore": "Training stopped at the right epoch, but fit returned the last epoch's weights: pass "
                "restore_best_weights=True to EarlyStopping, so that fit ends with the weights of the epoch with "
                "the lowest val_loss.",
                "no_early_stopping": "fit ran every epoch although the validation loss had stopped improving: pass "
                "callbacks=[keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience=patience, "
                "restore_best_weights=True)] (it must watch val_loss, not the training loss).",
                "no_validation": "Your History has no val_loss: pass validation_data=(X_val, y_val) to fit, so "
                "that Keras computes the validation loss after every epoch and EarlyStopping can watch it.",
            },
        ),
    ),
)
