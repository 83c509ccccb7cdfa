"""Lab 07 · a multi-layer perceptron from scratch: the exercises and what each known mistake teaches.

The classes are judged through the probes of ``autograder.probes.lab07``: each builds the student's
object, sets the case's weights, runs it and reports plain data. ``_compare_report`` reads such a
report field by field, in the order a student would fix them (construction, then forward, then
backward, then the update), numbers with the exercise's tolerances, flags and strings exactly.
The initialisers are judged by their statistics over at least 10,000 draws (``_compare_init``), with a
time limit that a correct initialiser built on ``scipy.stats.truncnorm`` meets many times over on a loaded
machine (``INIT_TIME_LIMIT``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_value

# A frozen scipy.stats.truncnorm draws a 20-entry kernel in ~0.8 ms (unloaded): the probe's 500 calls on each of
# the four cases take ~2 s; a 2-core machine at a load of 6 makes that ~6 s. 20 s leaves that a wide margin.
INIT_TIME_LIMIT = 20.0

_INIT_FLAGS = {
    "rng_used": ("your initialiser did not draw from the `rng` it was given: call rng.uniform / rng.normal on "
                 "it, so that one generator decides every weight of a network", "the given rng was used"),
    "repeatable": ("two generators made with the same seed gave different weights: draw from `rng` only (not "
                   "from np.random's global state)", "the draws are repeatable"),
    "fresh": ("two calls with the same generator gave identical weights: do not make a new generator inside "
              "the function; draw from the one you were given", "each call draws new weights"),
}


def _compare_init(received, expected, exercise: Exercise) -> str | None:
    """Draws against a law: shape and generator use exactly; then mean, std and largest |w|.

    The mean must lie within 6 standard errors of the law's, the std within 3 % of it (its
    sampling error is at most 0.7 % at the 10,000 draws or more the probe pools), and the largest
    |w| within the bound and above 99.5 % (uniform) or 97 % (truncated normal) of it; an untruncated
    normal must reach 2.6 std.
    """
    if isinstance(received, str):
        return received
    keys = ("shape", "rng_used", "repeatable", "fresh", "n", "mean", "std", "max_abs")
    if not isinstance(received, dict) or set(received) != set(keys):
        return "the check could not read the statistics of your draws"
    if tuple(received["shape"] or ()) != tuple(expected["shape"]):
        return (f"returned shape {tuple(received['shape'] or ())}, expected {tuple(expected['shape'])}: "
                "a kernel has shape (fan_in, fan_out)")
    for flag, (wrong, _) in _INIT_FLAGS.items():
        if bool(received[flag]) != bool(expected[flag]):
            return wrong if expected[flag] else f"expected {flag} = False"
    if not expected["fresh"]:
        return None  # copies of one draw: their statistics say nothing about the law
    n, mean, std, largest = received["n"], received["mean"], received["std"], received["max_abs"]
    if abs(mean - expected["mean"]) > 6 * expected["std"] / math.sqrt(n) + 1e-12:
        return f"the mean of your {n} draws is {mean:.4g}, expected {expected['mean']:.4g}"
    if abs(std / expected["std"] - 1) > 0.03:
        return f"the std of your {n} draws is {std:.4g}, expected {expected['std']:.4g}"
    bound = expected["bound"]
    if bound is None:
        return None if largest >= 2.6 * expected["std"] else (
            f"no draw beyond {largest:.4g} = {largest / expected['std']:.3g} std: expected an untruncated normal")
    if largest > bound * (1 + 1e-6):
        return f"a draw reached |w| = {largest:.4g}, beyond the bound {bound:.4g}"
    if largest < bound * (0.995 if expected["law"] == "uniform" else 0.97):
        return f"your largest |w| is {largest:.4g}: the draws never come near the bound {bound:.4g}"
    return None


def _show_init(value) -> str:
    if not isinstance(value, dict):
        return format_value(value)
    if "law" in value:
        bound = "unbounded" if value["bound"] is None else f"|w| ≤ {value['bound']:.4g}"
        return (f"{value['law']} draws of shape {tuple(value['shape'])}, mean {value['mean']:.4g}, "
                f"std {value['std']:.4g}, {bound}")
    return (f"{value.get('n')} draws of shape {tuple(value.get('shape') or ())}: mean {value.get('mean'):.4g}, "
            f"std {value.get('std'):.4g}, largest |w| {value.get('max_abs'):.4g}")


# Flags of a report: the reason when a student's flag differs from the expected one.
_FLAG_REASONS = {
    "glorot_init": "Dense(fan_in, fan_out, rng) should set W = glorot_uniform(fan_in, fan_out, rng), your own "
                   "function called once with the generator it was given",
    "he_init": "Dense(fan_in, fan_out, rng, init=\"he\") should set W = he_normal(fan_in, fan_out, rng), your "
               "own function called once with the generator it was given",
    "b_zero": "the bias should start at zeros, as Keras's Dense does",
    "weights_kept": "backward changed the weights: backward only computes the gradients; the update comes after "
                    "the whole backward pass (MLP.step)",
    "drawn_in_order": "the kernels are not your he_normal (hidden layers) and glorot_uniform (output layer) drawn "
                      "in order, first layer first, from the one rng given to MLP",
    "identical_kernels": "two layers of the same shape got identical kernels: every layer must draw from the one "
                         "generator given to MLP",
    "inputs_kept": "train changed X or y in place (the caller's data): work on copies, or on new arrays, so "
                   "that the data stays as it was for the next run",
    "per_instance": "two objects of your class share their state: used in turn with a second one (its forward "
                    "on other numbers between this one's forward and backward), this one's backward computed "
                    "other numbers. Keep what forward stores on self (self.X = X), not on the class or in a "
                    "global, and give every object its own list of layers (made in __init__)",
}

_FIELDS = {
    "W_shape": "the shape of W", "b_shape": "the shape of b", "layers": "the layers",
    "output": "the output of forward", "grad_in": "the gradient that backward returned",
    "dW": "dW", "db": "db", "gradients": "the layers' dW and db (in layer order)",
    "after_step": "W and b after step", "history": "the loss history", "weights": "W and b after training",
    "backward_order": "the order of the layers' backward calls", "prediction": "the model's prediction",
    "dtype": "the dtype",
}


def _compare_field(key, r, e, exercise) -> str | None:
    what = _FIELDS.get(key, key)
    if key == "error":
        if r == e:
            return None
        return f"{r}" if r else f"expected {e}, but your code ran through"
    if key in _FLAG_REASONS:
        return None if bool(r) == bool(e) else _FLAG_REASONS[key]
    if e is None or isinstance(e, (str, bool, tuple)):
        if isinstance(e, tuple) and isinstance(r, (tuple, list)):
            r = tuple(r)
        return None if r == e else f"{what} is {format_value(r)}, expected {format_value(e)}"
    if r is None:
        return f"{what}: missing (expected {format_value(e)})"
    reason = compare_numbers(r, e, exercise)
    return f"{what}: {reason}" if reason else None


def _compare_report(order):
    def compare(received, expected, exercise: Exercise) -> str | None:
        if isinstance(received, str):
            return None if received == expected else received
        if not isinstance(received, dict) or not isinstance(expected, dict) or set(received) != set(expected):
            return "the check could not read the report on your code"
        for key in order:
            if key in expected and (reason := _compare_field(key, received[key], expected[key], exercise)):
                detail = received.get("detail") if key == "error" else ""
                return f"{reason}: {detail}" if detail else reason
        return None
    compare.__doc__ = f"The report's fields in this order: {', '.join(order)}; numbers within the exercise's rtol."
    return compare


def _show_report(value) -> str:
    if not isinstance(value, dict):
        return format_value(value)
    parts = [f"{key} {format_value(v, 6)}" for key, v in value.items()
             if key not in ("detail",) and v is not None and not (key == "error" and not v)]
    return "; ".join(parts)


def _compare_standardize(received, expected, exercise: Exercise) -> str | None:
    """(z, mean, std): a tuple or list of the array and the two floats."""
    if not isinstance(received, (tuple, list)) or len(received) != 3:
        return f"expected a tuple (z, mean, std), got {format_value(received)}"
    for i, name in enumerate(("z", "mean", "std")):
        if reason := compare_numbers(received[i], expected[i], exercise):
            return f"{name}: {reason}"
    return None


def _compare_mse(received, expected, exercise: Exercise) -> str | None:
    """(loss, gradient): a float and an array of y_pred's shape."""
    if not isinstance(received, (tuple, list)) or len(received) != 2:
        return f"expected a tuple (loss, gradient), got {format_value(received)}"
    for i, name in enumerate(("the loss", "the gradient")):
        if reason := compare_numbers(received[i], expected[i], exercise):
            return f"{name}: {reason}"
    return None


_KERAS_KEYS = ("history", "weights", "steps", "dtype", "numpy_history")


def _compare_keras(received, expected, exercise: Exercise) -> str | None:
    """The Keras run: epochs, steps, then the loss history and the trained weights within rtol 1e-10.

    A float64 run reproduces the NumPy reference to about 1e-15; a float32 dtype, or agreement within
    1e-4 but not 1e-10, is float32. A field the expected value leaves None is not judged (a mistake
    whose values cannot be predicted, only its number of steps). ``numpy_history``, the student's own
    NumPy training from the same weights, never decides: it only explains a difference.
    """
    if isinstance(received, str):
        return received
    if not isinstance(received, dict) or set(received) != set(_KERAS_KEYS) or set(expected) != set(_KERAS_KEYS):
        return "the check could not read the report on your Keras run"
    history, reference = received["history"], expected["history"]
    epochs = expected["steps"] if reference is None else len(np.ravel(reference))
    if reference is not None and (history is None or np.size(history) != epochs):
        ran = "no loss history" if history is None else f"{np.size(history)} losses"
        return f"your history has {ran}, expected {epochs}: one per epoch, fit(..., epochs=epochs)"
    if received["steps"] != expected["steps"]:
        return (f"fit took {received['steps']} optimizer steps, expected {expected['steps']}: one step per epoch, "
                f"every row in one batch (batch_size=len(X))")
    if reference is None:
        return None
    values = [np.asarray(received[k], dtype=float).ravel() for k in ("history", "weights")]
    targets = [np.asarray(expected[k], dtype=float).ravel() for k in ("history", "weights")]
    if [v.shape for v in values] != [t.shape for t in targets]:
        return (f"your model has {values[1].size} weights, expected {targets[1].size}: one Dense per (W, b) "
                "pair, with those arrays' shapes")
    flat, flat_reference = np.concatenate(values), np.concatenate(targets)
    if compare_numbers(flat, flat_reference, exercise) is None and received["dtype"] == expected["dtype"]:
        return None
    loose = replace(exercise, rtol=1e-4, rtol_float32=1e-4, atol=1e-6)
    if received["dtype"] == "float32" or compare_numbers(flat, flat_reference, loose) is None:
        return exercise.messages["float32"]
    for key, value, target in zip(("the loss history", "the weights after training"), values, targets):
        if reason := compare_numbers(value, target, exercise):
            return f"{key}: {reason}{_own_numpy_note(received)}"
    return f"the dtype is {received['dtype']}, expected {expected['dtype']}"


def _own_numpy_note(received) -> str:
    """Where the student's own NumPy train agrees with their Keras run, both share the difference."""
    own = received.get("numpy_history")
    try:
        same = own is not None and np.allclose(np.ravel(own), np.ravel(received["history"]), rtol=1e-8, atol=1e-12)
    except (TypeError, ValueError):
        return ""
    return (". Your own MLP and train give the same losses from these weights, so the NumPy network differs too: "
            "check the layers (ReLU after every Dense but the last) and the loss") if same else ""


def _show_keras(value) -> str:
    if not isinstance(value, dict):
        return format_value(value)
    parts = [f"{key} {format_value(value.get(key), 6)}" for key in ("history", "weights", "steps", "dtype")
             if value.get(key) is not None]
    return "; ".join(parts)


TINY = 1e-6  # a gradient checker's verdict on a correct network: its largest relative error lies below this


def _verdict(error) -> str:
    if not isinstance(error, (int, float)) or isinstance(error, bool):
        return "unreadable"
    if not math.isfinite(error):
        return "not a number"
    return "tiny" if 0 <= error < TINY else "large" if error >= TINY else "negative"


CHECKER_RTOL = 1e-4  # a large error's value: central differences of these networks are exact to ~1e-9


def _compare_checker(received, expected, exercise: Exercise) -> str | None:
    """How the checker drew G, then the reported error's verdict and, for a large error, its value.

    The probe's report is ``{"error", "drawn_once"}``. ``drawn_once`` (None where rng is left at its
    default): whether the checker drew from rng exactly one rng.standard_normal(output.shape), as the
    docstring says. The error's verdict: tiny (0 ≤ error < 1e-6), large (≥ 1e-6), or NaN/infinity. On a
    right backward the error is rounding noise (about 1e-8), so only its size is judged. On a wrong one
    it is the docstring's largest |a − n| / max(|a|, |n|, 1e-12), which that G fixes: it must agree
    within a relative 1e-4 (another error measure, a mean of the errors or CS231n's |a| + |n|
    denominator, gives another number). A known mistake whose error is noise (a step of its own, a
    fresh G) carries ``size_only``: a checker matches it by the size of its error alone.
    """
    if isinstance(received, str):
        return received
    if not isinstance(received, dict) or not {"error", "drawn_once"} <= set(received) or not isinstance(
            expected, dict):
        return "the check could not read the report on your checker"
    if expected["drawn_once"] is not None and received["drawn_once"] != expected["drawn_once"]:
        return ("your checker did not draw G once from rng: the docstring's G = rng.standard_normal(output.shape) "
                "is drawn once, before any nudge, and every loss uses that same G") if expected["drawn_once"] else (
            "your checker drew G once from rng, as this mistake does not")
    got, want = _verdict(received["error"]), _verdict(expected["error"])
    if expected.get("size_only"):
        return None if got == want else "another size"
    r, e = received["error"], expected["error"]
    if got == want == "large" and abs(r - e) > CHECKER_RTOL * abs(e):
        return (f"your checker reported {format_value(r)} for this network, whose gradients are wrong: "
                f"expected {format_value(e)}, the largest |a − n| / max(|a|, |n|, 1e-12) over every entry "
                "of every W and b, with G = rng.standard_normal(output.shape)")
    if got == want:
        return None
    if want == "tiny":
        return (f"your checker reported {format_value(r)} for this network, whose backward is right: "
                f"expected an error below {TINY:g}")
    if want == "large":
        return (f"your checker reported {format_value(r)} for this network, whose gradients are wrong: "
                f"expected a large error (at least {TINY:g})")
    return f"your checker reported {format_value(r)}, expected NaN"


def _show_checker(value) -> str:
    if not isinstance(value, dict) or "error" not in value:
        return value if isinstance(value, str) else format_value(value)
    drawn = {True: ", G drawn once from rng", False: ", G not drawn once from rng", None: ""}.get(
        value.get("drawn_once"), "")
    return f"{format_value(value['error'], 3)} ({_verdict(value['error'])}){drawn}"


_STUB_FREE = "(The course's grader runs only your definitions, not the demo cells.)"

LAB = Lab(
    id="07_mlp",
    title="A multi-layer perceptron from scratch",
    hidden_module="autograder.hidden.lab07",
    exercises=(
        Exercise(
            name="standardize",
            points=1,
            summary="(z, mean, std) of an array: z = (x − mean) / std with the population std",
            compare=_compare_standardize,
            messages={
                "sample_std": "You divided by the *sample* std (ddof=1). This course, NumPy's default and "
                "keras.layers.Normalization use the population std (ddof=0): 5.6273 for the 39 distances, "
                "not 5.7009.",
                "variance": "You divided by the variance: divide by its square root, the std (np.std).",
                "no_centering": "You did not subtract the mean first: z = (x − mean) / std is centred at 0.",
            },
        ),
        Exercise(
            name="glorot_uniform",
            points=1,
            summary="a (fan_in, fan_out) kernel drawn from U(−√(6/(fan_in + fan_out)), +√(…)) with rng",
            probe="lab07.init_stats",
            time_limit=INIT_TIME_LIMIT,
            compare=_compare_init,
            show=_show_init,
            messages={
                "normal": "Your draws are normal: Glorot *uniform* (Keras's GlorotUniform, its Dense default) draws "
                "from rng.uniform(-limit, limit) with limit = √(6 / (fan_in + fan_out)).",
                "std_as_limit": "Your limit is √(2 / (fan_in + fan_out)), Glorot's *standard deviation*: the "
                "uniform limit that has that std is √3 times larger, √(6 / (fan_in + fan_out)).",
                "fan_in_only": "Your limit is √(6 / fan_in): Glorot averages the two fans, "
                "limit = √(6 / (fan_in + fan_out)).",
                "no_sqrt": "Your limit is 6 / (fan_in + fan_out): take its square root.",
                "one_sided": "All your weights are positive: draw from −limit to +limit, rng.uniform(-limit, limit, "
                "size=(fan_in, fan_out)).",
                "global_random": "You drew from NumPy's global random state, not from `rng`: call rng.uniform, so "
                "that the generator you are given decides the weights.",
                "reseeded": "You made a new generator inside the function, so every call returns the same weights: "
                "draw from the `rng` you are given.",
                "transposed": "Your kernel has shape (fan_out, fan_in): Keras's kernels, and this lab's, are "
                "(fan_in, fan_out), so that X @ W maps a batch (n, fan_in) to (n, fan_out).",
            },
        ),
        Exercise(
            name="he_normal",
            points=2,
            summary="a (fan_in, fan_out) kernel like Keras's HeNormal: truncated normal whose std is √(2/fan_in)",
            probe="lab07.init_stats",
            time_limit=INIT_TIME_LIMIT,
            compare=_compare_init,
            show=_show_init,
            messages={
                "untruncated": "Some of your weights lie beyond the bound: Keras's HeNormal is a *truncated* normal. "
                "Redraw every value beyond 2·stddev (with stddev = √(2 / fan_in) / 0.87962566103423978) until none "
                "is left.",
                "no_rescale": "Your draws are truncated but their std is only 0.88·√(2 / fan_in): cutting the tails "
                "shrinks the std, so draw with stddev = √(2 / fan_in) / 0.87962566103423978 and truncate at "
                "2·stddev, as Keras does.",
                "fan_out": "Your std follows fan_out: He scales by the number of *inputs*, std √(2 / fan_in), so "
                "that a ReLU layer keeps the size of its input's signal.",
                "fan_avg": "Your std is √(2 / ((fan_in + fan_out) / 2)), the fan average of Glorot: He uses fan_in "
                "alone, std √(2 / fan_in).",
                "variance_as_std": "Your std is 2 / fan_in, He's *variance*: the std is its square root, "
                "√(2 / fan_in).",
                "uniform": "Your draws are uniform (He uniform, limit √(6 / fan_in)): Keras's HeNormal is a "
                "truncated *normal*.",
                "global_random": "You drew from NumPy's global random state, not from `rng`: call rng.normal, so "
                "that the generator you are given decides the weights.",
                "reseeded": "You made a new generator inside the function, so every call returns the same weights: "
                "draw from the `rng` you are given.",
                "transposed": "Your kernel has shape (fan_out, fan_in): Keras's kernels, and this lab's, are "
                "(fan_in, fan_out).",
            },
        ),
        Exercise(
            name="Dense",
            points=3,
            summary="a Dense layer: W (fan_in, fan_out), b (fan_out,); forward X @ W + b; backward stores dW, db",
            probe="lab07.dense",
            compare=_compare_report(("W_shape", "b_shape", "glorot_init", "he_init", "b_zero", "error", "output",
                                     "weights_kept", "grad_in", "dW", "db", "per_instance")),
            show=_show_report,
            atol=1e-9,
            builds_on=("glorot_uniform", "he_normal"),
            messages={
                "class_state": "Your Dense layers share what forward stored (a dict or attribute on the class, "
                "or a global): when a second Dense runs forward before this one's backward, this one computes dW "
                "from the other's input. Store the input on the object itself, self.X = X, in forward.",
                "transposed_kernel": "Your W has shape (fan_out, fan_in): Keras's kernel, and this lab's, is "
                "(fan_in, fan_out), so that forward is X @ W + b without a transpose, and dW = Xᵀ @ grad has W's "
                "shape.",
                "cached_output": "Your dW uses the layer's *output*: forward must keep its *input* X, because "
                "∂(X @ W + b)/∂W involves X: dW = Xᵀ @ grad_out.",
                "no_bias_gradient": "You did not store db: the bias gets the upstream gradient summed over the "
                "batch, db = grad_out.sum(axis=0).",
                "no_upstream": "Your gradients ignore the upstream gradient: the chain rule multiplies the "
                "layer's local derivative by grad_out (dW = Xᵀ @ grad_out, db = Σ grad_out, "
                "grad_in = grad_out @ Wᵀ).",
                "mean_in_layer": "You averaged dW and db over the batch: the loss's gradient already carries the "
                "1/n of the mean, so a layer *sums* over the rows (Xᵀ @ grad_out, grad_out.sum(axis=0)). Averaging "
                "again divides by n twice.",
                "mean_bias_only": "Your db is averaged over the batch (its dW is summed): db = grad_out.sum(axis=0), "
                "like dW = Xᵀ @ grad_out. The loss's gradient already carries the 1/n of the mean, so averaging the "
                "bias's gradient again makes b learn n times slower than W.",
                "mean_kernel_only": "Your dW is averaged over the batch (its db is summed): dW = Xᵀ @ grad_out, "
                "without dividing by n. The loss's gradient already carries the 1/n of the mean, so averaging "
                "again makes W learn n times slower than b.",
                "updates_in_backward": "Your backward updates W before it returns: the gradient it passes on is "
                "then computed with the new W. Backward only computes gradients; the update comes after the "
                "whole backward pass (MLP.step).",
            },
        ),
        Exercise(
            name="ReLU",
            points=1,
            summary="ReLU: forward max(0, X); backward grad_out where X > 0, else 0 (0 at exactly 0)",
            probe="lab07.relu",
            compare=_compare_report(("output", "grad_in", "per_instance")),
            show=_show_report,
            messages={
                "class_state": "Your ReLU layers share their mask (kept on the class or in a global): in a "
                "network, the second ReLU's forward overwrites the first's, and the first's backward then "
                "masks with the wrong one. Keep it on the object, self.X = X (or self.mask).",
                "relu_at_zero": "At exactly X = 0 your backward passes the gradient through: this lab follows "
                "TensorFlow and Keras, whose ReLU has derivative 0 at 0. Use X > 0, not X >= 0.",
                "no_upstream": "Your backward returns the mask alone: multiply it by the upstream gradient, "
                "grad_out * (X > 0).",
                "cached_output_at_zero": "Your backward uses the cached *output* with >= 0, which is true "
                "everywhere (max(0, X) is never negative): keep the input X and use X > 0.",
            },
        ),
        Exercise(
            name="mse_loss",
            points=2,
            summary="(loss, gradient): the mean of (ŷ − y)² over every entry and its gradient 2(ŷ − y)/ŷ.size",
            compare=_compare_mse,
            messages={
                "summed_gradient": "Your gradient is 2(ŷ − y), the gradient of the *sum*: the loss is a mean, "
                "so its gradient is divided by the number of entries, 2(ŷ − y) / ŷ.size. Summing it makes the "
                "step grow with the batch.",
                "summed": "You summed the squared errors: the loss is their *mean*, and its gradient 2(ŷ − y) / "
                "ŷ.size.",
                "no_two": "Your gradient is half the expected: ∂(ŷ − y)²/∂ŷ = 2(ŷ − y).",
                "sign": "Your gradient has the wrong sign: it is 2(ŷ − y)/N, prediction minus target.",
                "batch_only": "You divided by the number of rows only: the mean runs over every entry of ŷ "
                "(rows × outputs), as Keras's \"mse\" does, so divide by ŷ.size.",
            },
        ),
        Exercise(
            name="MLP",
            points=3,
            summary="Dense/ReLU layers in a list; forward in order, backward in reverse, step(learning_rate)",
            probe="lab07.mlp",
            compare=_compare_report(("layers", "drawn_in_order", "identical_kernels", "error", "backward_order",
                                     "output", "weights_kept", "grad_in", "gradients", "after_step", "per_instance")),
            show=_show_report,
            atol=1e-9,
            builds_on=("Dense", "ReLU"),
            messages={
                "backward_forward_order": "Your backward runs the layers first to last: the chain rule starts at "
                "the output, so loop over reversed(self.layers), each layer getting the gradient the layer after "
                "it returned.",
                "reseeded": "Layers of the same shape got identical weights: you made a new generator per layer "
                "(re-seeding). Hand the one rng to every Dense, in order: identical neurons stay identical "
                "through training and the extra ones are wasted.",
                "all_glorot": "Your hidden layers are Glorot-initialised: ReLU layers use He (init=\"he\"), whose "
                "larger std √(2 / fan_in) makes up for ReLU zeroing half of its inputs; only the output layer, "
                "without ReLU, keeps Keras's default Glorot uniform.",
                "relu_on_output": "Your network ends with a ReLU: the output layer is linear, or it could never "
                "predict a negative normalized time. Put ReLU only between Dense layers.",
                "no_relu": "Your network has no ReLU: a stack of Dense layers alone is one linear map. Put a ReLU "
                "after every Dense layer but the last.",
                "updates_in_backward": "Your backward changes the weights as it goes: backward only computes the "
                "gradients, step(learning_rate) updates every layer after the whole backward pass.",
                "ascent": "Your step goes uphill: W ← W − learning_rate · dW (and the same for b).",
            },
        ),
        Exercise(
            name="gradient_check",
            points=2,
            summary="the largest relative error between backward's dW, db and central differences of Σ G ⊙ output",
            probe="lab07.checker_run",
            compare=_compare_checker,
            show=_show_checker,
            messages={
                "one_sided": "Your checker uses the one-sided difference (L(w + eps) − L(w)) / eps: its error grows "
                "with eps times the curvature, so it flags a correct network whose loss bends (the Square "
                "network). Use the central difference (L(w + eps) − L(w − eps)) / (2·eps).",
                "eps_too_large": "Your step is too large: with 1e-2 a nudge crosses a kink that lies 1e-3 away, and "
                "the difference measures neither side's slope. Step by the eps you are given (1e-6 suits float64).",
                "eps_too_small": "Your step is too small for float64: with a step of 1e-12 or less the two losses "
                "agree in almost every digit and rounding error swamps their difference. Step by the eps you are given "
                "(1e-6 suits float64).",
                "no_guard": "Your relative error is NaN where both gradients are exactly 0 (0 / 0): floor the "
                "denominator, |a − n| / max(|a|, |n|, 1e-12), so that two exact zeros agree.",
                "first_only": "Your checker looks at the first parameter only: a wrong gradient in a later layer "
                "(here the last Linear's db) went unnoticed. Loop over every W and b of every layer that has them.",
                "all_at_once": "You nudged a whole array at once: that measures the sum of its partial derivatives, "
                "not each one. Nudge one entry at a time (np.ndindex(W.shape)), restoring it before the next.",
                "summed_denominator": "Your relative error divides by |a| + |n| (CS231n's rel_error): this "
                "lab's is |a − n| / max(|a|, |n|, 1e-12), which reads 0.5 where one gradient is twice the other "
                "and 2 where they have opposite signs.",
                "mean_error": "Your checker reports the *mean* of the entries' relative errors: one wrong entry "
                "among many then looks small. Report the largest, max over every entry of every W and b.",
                "fresh_upstream": "Your checker draws a new G for every loss it evaluates: L(w + eps) and "
                "L(w − eps) then weigh the output differently, and their difference is noise, not a slope. Draw "
                "G = rng.standard_normal(output.shape) once, before the nudges, and use it in every loss.",
                "ones_upstream": "Your checker uses an all-ones upstream gradient (the loss Σ output): a backward "
                "that ignores its upstream gradient is then right by accident. Draw G = rng.standard_normal("
                "output.shape) and check L = Σ G ⊙ output.",
            },
        ),
        Exercise(
            name="train",
            points=2,
            summary="full-batch gradient descent on the MLP: the history of pre-update losses",
            probe="lab07.train_run",
            compare=_compare_report(("inputs_kept", "history", "weights")),
            show=_show_report,
            atol=1e-9,
            builds_on=("MLP", "mse_loss"),
            messages={
                "after_update": "Your history holds the loss *after* each epoch's update. Keras (and this lab) "
                "record the loss of the forward pass made during the epoch, before its update.",
                "extra_epoch": "You ran one epoch too many: loop `for _ in range(epochs)`.",
                "missing_epoch": "You ran one epoch too few: loop `for _ in range(epochs)`.",
            },
        ),
        Exercise(
            name="predict_minutes",
            points=1,
            summary="minutes for distances: standardize with the training statistics, forward, t = z·std_t + mean_t",
            probe="lab07.predict_run",
            rtol=1e-9,
            atol=1e-9,
            messages={
                "no_denormalise": "Your predictions are the network's standardized output: map them back to "
                "minutes, t = z · std_t + mean_t, with the times' statistics.",
                "input_stats": "You mapped the output back with the distances' mean and std: the network "
                "predicts standardized *times*, so use y_stats, t = z · std_t + mean_t.",
                "target_stats_input": "You standardized the miles with the times' statistics: the input is a "
                "distance, so use x_stats, (miles − mean_x) / std_x.",
                "swapped": "You swapped mean and std: each stats pair is (mean, std), so z = (miles − mean) / std "
                "and t = z · std + mean.",
            },
        ),
        Exercise(
            name="keras_train",
            points=3,
            summary="a float64 Sequential from the given weights, compiled (SGD, mse) and fitted full-batch: "
                    "(model, history)",
            probe="lab07.keras_run",
            profile="tensorflow",
            time_limit=60.0,
            rtol=1e-10,
            rtol_float32=1e-10,
            atol=1e-12,
            compare=_compare_keras,
            show=_show_keras,
            messages={
                "float32": "Your run agrees with the float64 reference to only about 7 digits: Keras computed in "
                "float32, its default. Call keras.config.set_floatx(\"float64\") inside keras_train, before "
                "building the model (float64 layers alone are not enough: the optimizer's learning rate is then "
                "a float32 variable). " + _STUB_FREE,
                "relu_on_output": "Your last Dense has a ReLU: the output layer is linear (activation=None), like "
                "your MLP's.",
                "no_hidden_relu": "Your hidden Dense layers have no activation: give every Dense but the last "
                "activation=\"relu\".",
                "default_rate": "Your weights moved as with a learning rate of 0.01, SGD's default: "
                "optimizer=\"sgd\" ignores the learning_rate you were given. Compile with "
                "optimizer=keras.optimizers.SGD(learning_rate=learning_rate).",
                "mini_batches": "fit took more than one step per epoch: without batch_size it cuts the rows into "
                "batches of 32 (and shuffles them). Full-batch training is one batch of every row: "
                "fit(X, y, batch_size=len(X), epochs=epochs, shuffle=False).",
            },
        ),
    ),
)
