"""Lab 13 · learning-rate schedules and hyperparameter search: the exercises and what each mistake teaches.

Schedules are functions of the optimizer's step, 0-based as Keras' ``optimizer.iterations``, and
agree with ``keras.optimizers.schedules``; the reducer agrees with ``keras.callbacks.ReduceLROnPlateau``
(mode "min") epoch by epoch; the searches are judged by what they ask of the objective.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_pair, format_value
from autograder.encoding import Unsupported


def _compare_reducer(received, expected, exercise: Exercise) -> str | None:
    """Two reducers' learning rates after each epoch, (2, epochs), within rtol 1e-7 (1e-4 in float32)."""
    if isinstance(received, np.ndarray) and received.size and np.all(np.isnan(received)):
        return "step returned no number: return the learning rate after this epoch, self.learning_rate"
    if isinstance(received, np.ndarray) and received.shape == expected.shape and received.ndim == 2 and (
            compare_numbers(received[1], received[0], exercise) is not None):
        return ("two reducers built with the same arguments gave different learning rates: keep every piece of "
                "state on `self` (set in __init__), none on the class")
    if isinstance(received, np.ndarray) and received.shape == expected.shape:
        close = np.isclose(received[0], expected[0], rtol=exercise.rtol, atol=exercise.atol)
        if not np.all(close):
            epoch = int(np.argmin(close))
            shown, wanted = format_pair(received[0, epoch], expected[0, epoch])
            return f"after epoch {epoch + 1} the learning rate is {shown}, expected {wanted}"
        return None
    return compare_numbers(received, expected, exercise)


def _show_reducer(value) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 2 and len(value):
        return "learning rates after each epoch " + format_value(value[0], focus=None)
    return format_value(value)


def _sorted_points(points) -> np.ndarray:
    points = np.asarray(points, dtype=float)
    return points[np.lexsort(points.T[::-1])] if points.ndim == 2 and len(points) else points


def _compare_grid(received, expected, exercise: Exercise) -> str | None:
    """The points asked for (any order, rtol 1e-9) and the best returned: the call with the lowest value."""
    if not isinstance(received, dict) or "points" not in received:
        return f"the check could not read what your search did: {format_value(received)}"
    got, want = _sorted_points(received["points"]), _sorted_points(expected["points"])
    if got.shape != want.shape:
        return f"your search evaluated the objective {len(got)} times, expected {len(want)}"
    if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
        row = int(np.argmin(np.all(np.isclose(got, want, rtol=1e-9, atol=1e-12), axis=1)))
        return f"your grid holds {format_value(got[row])} where the expected grid has {format_value(want[row])}"
    if received.get("best") != expected["best"]:
        return {"max": "you returned the point with the *highest* value", "other": (
            "the (params, value) you returned is not the best call your search made")}.get(
            received.get("best"), "you did not return the best call")
    return None


def _show_grid(value) -> str:
    if isinstance(value, dict) and "points" in value:
        points = _sorted_points(value["points"])
        return f"{len(points)} calls, {format_value(points)}"
    return format_value(value)


_PROPERTIES = {
    "calls": "the number of calls of the objective",
    "inside": "whether every value lies inside its range",
    "spread": "how the values of each hyperparameter spread over its range",
    "distinct": "whether each hyperparameter got a new value on every call",
    "repeatable": "whether the same generator gives the same tries",
    "seed_matters": "whether another generator gives other tries",
    "independent": "whether the hyperparameters were drawn independently of each other",
    "best": "which call the returned best is",
}


def _compare_random(received, expected, exercise: Exercise) -> str | None:
    """The properties of the draws (see ``probes.lab13.random_trace``), each equal to the reference's."""
    if not isinstance(received, dict) or isinstance(received, Unsupported):
        return f"the check could not read what your search did: {format_value(received)}"
    for key, what in _PROPERTIES.items():
        got, want = received.get(key), expected[key]
        if isinstance(want, tuple):
            got = tuple(got) if isinstance(got, (list, tuple)) else got
        if got != want:
            return f"{what}: {format_value(got)}, expected {format_value(want)}"
    return None


def _show_random(value) -> str:
    if isinstance(value, dict) and "calls" in value:
        return ", ".join(f"{key} {format_value(value.get(key))}" for key in _PROPERTIES)
    return format_value(value)


def _compare_schedule(received, expected, exercise: Exercise) -> str | None:
    """The schedule's rate at each step within rtol 1e-5 and 1e-6 of the peak (Keras computes in float32)."""
    if not isinstance(received, np.ndarray) or received.shape != expected.shape:
        return compare_numbers(received, expected, exercise)
    close = np.abs(received - expected) <= 1e-5 * np.abs(expected) + 1e-6 * np.max(np.abs(expected))
    if np.all(close):
        return None
    step = int(np.argmin(close))
    shown, wanted = format_pair(received[step], expected[step])
    return f"at index {step} your schedule gives {shown}, expected {wanted}"


def _compare_fit(received, expected, exercise: Exercise) -> str | None:
    """(w, b, losses) of the Keras run: the epochs run, then every value within rtol 2e-6.

    A float64 model follows the NumPy replay to about 1e-15 with a schedule built from float64 numbers;
    a schedule built from Python floats computes its rates in float32 (the dtype of its initial rate), which
    moves the run by about 1e-7 relative: both are right. A float32 model is caught by its dtype instead.
    """
    if not (isinstance(received, (tuple, list)) and len(received) == 3):
        return f"expected (w, b, losses), got {format_value(received)}"
    try:
        values = np.concatenate([np.ravel(np.asarray(received[2], dtype=float)),
                                 np.array([received[0], received[1]], dtype=float)])
        reference = np.concatenate([np.ravel(np.asarray(expected[2], dtype=float)),
                                    np.array([expected[0], expected[1]], dtype=float)])
    except (TypeError, ValueError):
        return f"expected (w, b, losses) as numbers, got {format_value(received)}"
    if len(values) != len(reference):
        return f"your loss history has {len(values) - 2} entries, expected {len(reference) - 2}: one per epoch"
    if np.allclose(values, reference, rtol=exercise.rtol, atol=exercise.atol):
        return None
    if not np.all(np.isfinite(values)):
        return "your training diverged (inf or nan)"
    worst = int(np.argmax(np.abs(values - reference) / (np.abs(reference) + 1e-12)))
    where = f"the loss of epoch {worst + 1}" if worst < len(values) - 2 else ("w", "b")[worst - len(values) + 2]
    shown, wanted = format_pair(values[worst], reference[worst])
    return f"{where} is {shown}, expected {wanted}"


def _all_float32(received) -> bool:
    """Whether every number of (w, b, losses) is exactly a float32: what a float32 model returns, and what a
    float64 run essentially never does."""
    try:
        values = np.concatenate([np.ravel(np.asarray(received[2], dtype=float)), np.asarray(received[:2], float)])
    except (TypeError, ValueError, IndexError):
        return False
    return bool(values.size) and bool(np.all(values.astype(np.float32).astype(float) == values))


def _compare_fit_or_float32(received, expected, exercise: Exercise) -> str | None:
    if isinstance(received, (tuple, list)) and len(received) == 3 and _all_float32(received):
        return ("every number you returned is a float32: Keras computed in float32, its default. Call "
                "keras.config.set_floatx(\"float64\") inside fit_with_warmup_cosine, before building the model (the "
                "notebook's own set_floatx cell is a demo: the grader does not run it)")
    return _compare_fit(received, expected, exercise)


_ONE_BASED = ("Your schedule is one step ahead: the optimizer's step counts from 0 (`optimizer.iterations` is 0 "
              "during the first update), so step 0 must get the starting rate.")

LAB = Lab(
    id="13_schedules",
    title="Learning-rate schedules and hyperparameter search",
    hidden_module="autograder.hidden.lab13",
    exercises=(
        Exercise(
            name="piecewise_constant",
            dtype="float64",
            points=2,
            summary="values[i] on the i-th interval of the step; a step equal to a boundary is in the left one",
            messages={
                "boundary_right": "At a step equal to a boundary you already switched to the next value: Keras' "
                "PiecewiseConstantDecay keeps the left interval's value up to and including the boundary (step "
                "≤ boundaries[0] gets values[0]). With np.searchsorted that is side=\"left\"; in a loop, compare "
                "with `step <= boundary`. (The same slip appears if you count steps from 1.)",
            },
        ),
        Exercise(
            name="exponential_decay",
            dtype="float64",
            points=2,
            summary="initial_learning_rate · decay_rate^(step / decay_steps), the exponent floored with staircase",
            messages={
                "staircase_ignored": "With staircase=True the rate must stay flat for decay_steps steps and then "
                "drop at once: floor the exponent, decay_rate ** np.floor(step / decay_steps).",
                "staircase_always": "You floored the exponent although staircase=False: then the decay is smooth, "
                "decay_rate ** (step / decay_steps), a fraction of a drop at every step.",
                "rate_per_step": "You multiplied by decay_rate at every step: the rate falls by a factor "
                "decay_rate every *decay_steps* steps, decay_rate ** (step / decay_steps).",
                "one_based": _ONE_BASED,
            },
        ),
        Exercise(
            name="cosine_decay",
            dtype="float64",
            points=3,
            summary="a linear warmup to warmup_target, then a cosine over decay_steps down to alpha · its start",
            messages={
                "alpha_ignored": "Your cosine ends at 0 whatever alpha says: alpha is the floor, as a fraction of "
                "the rate it decays from, lr = start · ((1 − alpha) · c + alpha) with c = ½(1 + cos(π·t/decay_steps)).",
                "alpha_as_learning_rate": "You used alpha as the final learning rate itself (PyTorch's eta_min): in "
                "Keras alpha is a *fraction* of the starting rate, lr = start · ((1 − alpha) · c + alpha).",
                "no_clamp": "After decay_steps your rate climbs back up the cosine: Keras holds the final rate, "
                "clipping the step at the end of the decay (np.minimum(step, warmup_steps + decay_steps)).",
                "warmup_inside_decay": "Your decay ends at step decay_steps counted from 0, with the warmup inside "
                "it: in Keras the decay *starts* when the warmup ends and lasts decay_steps more, so the schedule "
                "is warmup_steps + decay_steps long; the cosine's clock is step − warmup_steps.",
                "warmup_from_zero": "Your warmup starts at 0, as in the course notes' sketch lr · step / "
                "warmup_steps: Keras warms up from initial_learning_rate to warmup_target, "
                "initial + (target − initial) · step / warmup_steps.",
                "decay_from_initial": "After the warmup your cosine starts from initial_learning_rate: with a "
                "warmup it decays from warmup_target, the rate the warmup reached.",
                "one_based": _ONE_BASED,
                "warmup_without_target": "With warmup_target=None there is no warmup: Keras's CosineDecay then "
                "ignores warmup_steps, and the cosine starts at step 0 from initial_learning_rate.",
            },
        ),
        Exercise(
            name="PlateauReducer",
            points=3,
            summary="ReduceLROnPlateau as a state machine: patience, min_delta, cooldown and min_lr as in Keras",
            probe="lab13.plateau_trace",
            compare=_compare_reducer,
            show=_show_reducer,
            messages={
                "cooldown_ignored": "You never wait out the cooldown: after a reduction, Keras ignores the next "
                "epochs' plateau for `cooldown` epochs (counting down at the start of each epoch) before the "
                "patience counts again.",
                "cooldown_one_epoch_longer": "Your cooldown lasts one epoch longer than Keras': Keras counts the "
                "cooldown down at the *start* of each epoch, so the epoch on which it reaches 0 already counts "
                "toward patience (cooldown=1 changes nothing at all). Decrement first, then test whether you are "
                "still in cooldown.",
                "no_wait_reset": "After a reduction the rate kept falling every epoch: set wait back to 0 when you "
                "reduce, so the new rate gets `patience` epochs of its own.",
                "min_delta_ignored": "You counted any decrease as an improvement: it must beat the best by more "
                "than min_delta, val_loss + min_delta < best (a drop of 1e-6 on a plateau is noise).",
                "min_delta_sign": "You gave min_delta the wrong sign: val_loss − min_delta < best accepts a loss "
                "*slightly higher* than the best. An improvement is val_loss + min_delta < best.",
                "not_strict": "You counted a drop of exactly min_delta as an improvement: Keras' test is strict, "
                "val_loss + min_delta < best.",
                "below_min_lr": "Your rate went below min_lr: clamp it, max(lr · factor, min_lr).",
                "patience_late": "You reduce one epoch late: with patience=3 Keras reduces on the 3rd epoch in a "
                "row without improvement (wait ≥ patience after counting it).",
                "compares_to_last": "You compared each loss with the previous epoch's: compare with the *best* "
                "loss so far, and update best only on an improvement.",
                "no_min_lr_guard": "Your rate jumped *up* to min_lr: Keras reduces only while the rate is above "
                "min_lr (`if lr > min_lr:`), so a rate that starts below min_lr stays where it is.",
            },
        ),
        Exercise(
            name="pick_learning_rate",
            points=2,
            summary="one tenth of the rate at the minimum of the bias-corrected smoothed loss (stop at inf or nan)",
            messages={
                "no_bias_correction": "Your smoothed loss starts near 0 and misleads the minimum: the running "
                "average starts at 0, so divide it by 1 − beta^(i+1) (bias correction, as in Adam).",
                "no_tenth": "You returned the rate at the minimum itself: at the minimum the loss is already about "
                "to blow up. The rule is one tenth of it.",
                "raw_minimum": "You took the minimum of the raw losses: one lucky, noisy step decides it. Smooth "
                "them first with the bias-corrected running average.",
                "not_finite_kept": "A loss of inf or nan after the blow-up ended in your minimum: np.argmin of an "
                "array holding nan returns the nan's index. Stop at the first loss that is not finite.",
                "beta_swapped": "You weighted the new loss by beta and the average by 1 − beta: the average "
                "keeps beta of itself, average = beta · average + (1 − beta) · loss.",
                "skips_not_finite": "You skipped the losses that are not finite and kept averaging after them: "
                "the rule stops at the first loss that is not finite (break, not continue), whatever the sweep "
                "reports after it.",
                "skips_not_finite_shifted": "You skipped the losses that are not finite, kept averaging after "
                "them, and counted your minimum's position among the losses you kept: the rule stops at the first "
                "loss that is not finite (break, not continue), whatever the sweep reports after it.",
            },
        ),
        Exercise(
            name="grid_search",
            points=2,
            summary="k values per hyperparameter (k^d ≤ budget, k largest), log- or evenly spaced, every combination",
            probe="lab13.grid_trace",
            compare=_compare_grid,
            show=_show_grid,
            messages={
                "over_budget": "Your grid needs more tries than the budget: take the *largest* k with k^d ≤ budget "
                "(round the d-th root down, never up).",
                "float_root": "Your grid is one value per axis short: int(64 ** (1/3)) is 3, because 64 ** (1/3) "
                "is 3.9999999999999996 in floating point. Find k with integers: increase k while (k + 1) ** d "
                "<= budget.",
                "linear_on_log": "On a log range your values are evenly spaced, so nearly all sit in the top decade: "
                "space them evenly in the exponent, np.geomspace(low, high, k).",
                "maximizes": "You returned the worst try: the objective is a loss, the best is its minimum.",
            },
        ),
        Exercise(
            name="random_search",
            points=2,
            summary="budget independent draws from rng, log-uniform on log ranges; the best one returned",
            probe="lab13.random_trace",
            compare=_compare_random,
            show=_show_random,
            messages={
                "uniform_on_log": "On a log range your draws are uniform, so about 99 % of them land in the top "
                "two decades of [1e-5, 0.1]: draw the exponent uniformly, np.exp(rng.uniform(np.log(low), "
                "np.log(high))).",
                "ignores_rng": "The same generator gave other tries: draw everything from the `rng` argument "
                "(rng.uniform), not from np.random or a generator of your own, so a search can be repeated.",
                "maximizes": "You returned the worst try: the objective is a loss, the best is its minimum.",
                "one_draw": "Your hyperparameters move together: you drew one number per try and used it for "
                "every hyperparameter, so a high learning rate always comes with a high momentum and half the "
                "space is never tried. Draw each hyperparameter on its own, one rng.uniform per name.",
            },
        ),
        Exercise(
            name="warmup_cosine",
            points=2,
            summary="the keras.optimizers.schedules.CosineDecay for a warmup from 0 and a cosine to a final rate",
            probe="lab13.schedule_values",
            profile="tensorflow",
            time_limit=60.0,
            compare=_compare_schedule,
            messages={
                "decay_steps_total": "Your schedule ends warmup_steps too late: CosineDecay's decay_steps count "
                "*after* the warmup, so decay_steps = total_steps − warmup_steps.",
                "alpha_absolute": "You passed the final rate as alpha: alpha is a fraction of the peak, alpha = "
                "final_learning_rate / peak_learning_rate.",
                "warmup_from_peak": "Your warmup is flat: initial_learning_rate is where the warmup *starts* (0 "
                "here); warmup_target is the peak it climbs to.",
                "warmup_ignored": "Your schedule has no warmup: pass warmup_target=peak_learning_rate and "
                "warmup_steps, with initial_learning_rate=0.0 (without warmup_target, CosineDecay ignores "
                "warmup_steps).",
            },
        ),
        Exercise(
            name="fit_with_warmup_cosine",
            points=3,
            summary="a float64 Dense(1) trained by fit with SGD on your warmup_cosine plan over the whole run",
            rtol=2e-6,
            atol=1e-9,
            probe="lab13.fit_report",
            profile="tensorflow",
            time_limit=60.0,
            builds_on=("warmup_cosine",),
            compare=_compare_fit_or_float32,
            messages={
                "total_in_epochs": "Your plan ended after `epochs` *steps*: a schedule counts optimizer steps, one "
                "per batch, so the whole run is total_steps = epochs × ceil(n / batch_size).",
                "floor_steps": "Your plan ends a few steps early: the last, smaller batch of each epoch is a step "
                "too (fit keeps it), so total_steps = epochs × ceil(n / batch_size), not n // batch_size.",
                "constant_peak": "Your rate never changed: pass the schedule itself as the optimizer's rate, "
                "keras.optimizers.SGD(learning_rate=warmup_cosine(...)), and the optimizer evaluates it at every "
                "step.",
            },
        ),
    ),
)
