"""Lab 10 · optimizers: the exercises and what each known mistake teaches.

The optimizers are judged through ``autograder.probes.lab10.optimizer_run``: several parameters
of different shapes stepped in place over a changing gradient sequence (a zero gradient, one
parameter's gradients of order 1e-6, the learning rate changed mid-run). Its report, every
parameter's displacement after each step, is judged by ``_compare_moves``. The Keras exercise,
``keras_train``, trains a small linear model with a ``GradientTape`` loop and the Keras twin of
the student's own optimizer; ``_compare_training`` judges its losses and final weights against
a NumPy twin of Keras's float64 optimizers.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, format_value


def _compare_moves(received, expected, exercise: Exercise) -> str | None:
    """``optimizer_run``'s report: the first optimizer's moves, the second's, and ``iterations`` after each step.

    The moves are judged by :func:`_compare_displacements`. The second optimizer, stepped in turn with the first on
    copies of the same parameters and gradients, must move exactly as the first (within the same tolerance), and
    the steps must change nothing kept on the class ("class_changed"): either shows state every instance shares
    (slots or a step count kept on the class). Where the reference has an
    ``iterations`` attribute (Adam, AdamW: "the number of steps taken"), the first optimizer's must read 1, 2, …
    after each step where it has one (a step count kept under another name, e.g. ``self.t``, is not judged).
    A known mistake whose report says ``"instances_share"`` is matched by any such shared state;
    one whose "iterations" is None leaves the count unjudged.
    """
    if isinstance(received, str):
        return received
    if not isinstance(expected, dict):
        return _compare_displacements(received, expected, exercise)
    if not isinstance(received, dict) or set(received) != {"moves", "second", "iterations", "class_changed"}:
        return f"the probe's report could not be read: {format_value(received)}"
    shared = bool(received["class_changed"]) or _compare_displacements(received["second"], received["moves"],
                                                                        exercise) is not None
    if expected.get("instances_share"):
        return None if shared else "the two optimizers kept their own state"
    reason = _compare_displacements(received["moves"], expected["moves"], exercise)
    if reason is not None:
        return reason
    if shared:
        return exercise.messages["class_state"].rstrip(".")
    counts, wanted = received["iterations"], expected.get("iterations")
    if wanted is not None and "missing" not in counts and list(counts) != list(wanted):
        step = next(i for i, (c, w) in enumerate(zip(counts, wanted)) if c != w) if len(counts) == len(wanted) else 0
        return (f"your optimizer's iterations reads {counts[step]!r} after step {step + 1}, expected {wanted[step]}: "
                "it is the number of steps taken (0 before the first), advanced once per call of step, as Keras's "
                "optimizer.iterations")
    return None


def _compare_displacements(received, expected, exercise: Exercise) -> str | None:
    """Displacements (steps, entries): each column within rtol × its largest expected move, plus atol.

    A column is one parameter entry over the steps: its tolerance scales with how far it moves, so a
    parameter whose gradients are of order 1e-6 is judged as closely as one of order 1. NaN matches NaN.
    """
    r, e = np.asarray(received) if isinstance(received, (np.ndarray, list)) else received, np.asarray(expected)
    if not isinstance(r, np.ndarray) or r.dtype.kind not in "biuf":
        return compare_numbers(received, expected, exercise)
    if r.shape != e.shape:
        return f"returned shape {r.shape}, expected shape {e.shape}"
    r, e = r.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore"):
        if not np.all(np.isfinite(r)) and np.all(np.isfinite(e)):
            return "contains NaN or infinity"
        scale = np.nanmax(np.abs(np.where(np.isfinite(e), e, np.nan)), axis=0, initial=0.0) if e.size else 0.0
        close = (np.abs(r - e) <= exercise.atol + exercise.rtol * scale) | (r == e) | (np.isnan(r) & np.isnan(e))
    if np.all(close):
        return None
    step, entry = (int(i) for i in np.argwhere(~close)[0]) if r.ndim == 2 else (0, 0)
    if r.ndim != 2:
        return "different value"
    return (f"after step {step + 1}, entry {entry} of the parameters (flattened in order) moved by "
            f"{format_value(r[step, entry], 8)} instead of {format_value(e[step, entry], 8)}")


def _show_moves(value) -> str:
    """The first optimizer's moves (the report's other entries are judged, not shown)."""
    return format_value(value["moves"] if isinstance(value, dict) and "moves" in value else value)


_RUN_KEYS = ("losses", "kernel", "bias")


def _run_values(run) -> np.ndarray | None:
    """A training run's losses, final kernel and bias as one float64 vector; None where one is missing."""
    try:
        return np.concatenate([np.asarray(run[key], dtype=np.float64).ravel() for key in _RUN_KEYS])
    except (KeyError, TypeError, ValueError):
        return None


def _low_precision(run) -> bool:
    return any(np.asarray(run[key]).dtype.kind == "f" and np.asarray(run[key]).dtype.itemsize < 8 for key in _RUN_KEYS)


def _compare_training(received, expected, exercise: Exercise) -> str | None:
    """keras_train's run: the loss before each step, the final kernel and bias, each within rtol 1e-10 (+ atol).

    The reference is a NumPy twin of Keras's float64 optimizers (float32-rounded momentum, betas and weight
    decay, as Keras casts them); Keras reproduces it to about 1e-15. A float32 run is off by 1e-9 to 1e-6, so a
    run within 1e-3 of the reference but not within the tolerance is named as float32 (a named mistake that
    matches the run comes first). Where the student's own NumPy optimizer ("yours") trains the same model to
    the reference's values, the feedback says at which step their Keras run parts from it.
    """
    if isinstance(received, str):
        return received
    if not isinstance(received, dict) or _run_values(received) is None:
        return "keras_train must return (losses, kernel, bias)"
    steps = len(np.asarray(expected["losses"]))
    shapes = {key: np.shape(received[key]) for key in _RUN_KEYS}
    if shapes["losses"] != (steps,):
        return (f"you returned losses of shape {shapes['losses']}, expected ({steps},): one per step, the loss "
                "computed under the tape before that step's update")
    if shapes["kernel"] != np.shape(expected["kernel"]):
        return f"you returned a kernel of shape {shapes['kernel']}, expected {np.shape(expected['kernel'])}"
    values, reference = _run_values(received), _run_values(expected)
    with np.errstate(invalid="ignore"):
        gap = np.abs(values - reference)
        close = (gap <= exercise.atol + exercise.rtol * np.abs(reference)) | (values == reference)
    if np.all(close):
        return None
    if not np.all(np.isfinite(values)):
        return "your run contains NaN or infinity"
    if _low_precision(received) or np.all(gap <= 1e-3 * np.abs(reference) + exercise.atol):
        return exercise.messages["float32"].rstrip(".")
    first = int(np.argwhere(~close)[0][0])
    where = (f"the loss before step {first + 1}" if first < steps else
             "the final bias" if first == len(values) - 1 else f"entry {first - steps} of the final kernel")
    reason = f"{where} is {format_value(values[first], 8)}, expected {format_value(reference[first], 8)}"
    yours = received.get("yours")
    mine = _run_values(yours) if isinstance(yours, dict) else None
    if mine is not None and mine.shape == reference.shape and np.all(
            np.abs(mine - reference) <= 1e-4 * np.abs(reference) + exercise.atol):
        reason += (". Your own NumPy optimizer, given the same model and the gradients of its mean squared error, "
                   "trains it to the expected values: compare your Keras loop with it step by step")
    return reason


def _show_training(value) -> str:
    if isinstance(value, dict) and "losses" in value:
        return (f"losses {format_value(value['losses'])}, kernel {format_value(value['kernel'])}, "
                f"bias {format_value(value['bias'])}")
    return format_value(value)


_IN_PLACE = ("Your step left the caller's arrays unchanged: this lab's step(params, grads) updates each array "
             "of params in place (p -= …, or p[...] = …), as Keras assigns to its variables, and returns nothing. "
             "Inside `for p, g in zip(params, grads)`, `p = p - …` only rebinds the loop's name, and replacing the "
             "list's items (params[i] = …) or returning new arrays leaves the model's own arrays as they were.")
_SHARED = ("Your parameters share one set of slots: each parameter needs its own velocity (and moments), "
           "an array of that parameter's shape, created at the first step and walked in step with params and "
           "grads. A shared slot mixes the histories of different weights.")
_TEXTBOOK_EPS = ("You used the textbook form m̂ / (√v̂ + ε). Keras (and this lab) fold the bias corrections into the "
                 "step size, α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ), and divide α·m by √v + ε: their ε weighs "
                 "1/√(1 − β₂ᵗ) times more than the textbook's. The two agree for ordinary gradients and part ways "
                 "when gradients are tiny (of order 1e-6 here, where √v is comparable with ε).")
_NO_BIAS = ("Your steps miss the bias correction: m and v start at zero, so early on they are too small by the "
            "factors 1 − β₁ᵗ and 1 − β₂ᵗ. Multiply the step by α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ), with t the "
            "step number, 1 at the first step.")
_CLASS_STATE = ("Your optimizers share their state: two of them, built alike and stepped in turn on their own "
                "parameters with the same gradients, did not stay apart (their steps changed values kept on the "
                "class, or their moves differ). You kept the slots (or the step count) on "
                "the class (a class attribute such as `moments = []`, or `Adam.t += 1`), so every instance reads and "
                "writes the same ones. Create each instance's own in __init__ (self.moments = None), and change "
                "them only through self.")
_RATE_FROZEN = ("Your steps ignore a learning_rate changed between steps: you copied the rate at construction "
                "(self.lr = learning_rate) and stepped with the copy. A schedule or ReduceLROnPlateau sets "
                "optimizer.learning_rate between steps: read self.learning_rate at every step.")
_T_NEVER = ("Your step count never advances: t stays 1, so the bias correction of the first step is used for "
            "every step. Increment t once per call of step, before the update.")

LAB = Lab(
    id="10_optimizers",
    title="Optimizers: momentum, RMSprop, Adam and AdamW",
    hidden_module="autograder.hidden.lab10",
    exercises=(
        Exercise(
            name="moving_average",
            points=2,
            summary="the moving average m_t = β·m_{t−1} + (1 − β)·x_t from m_0 = 0, optionally bias-corrected",
            rtol=1e-9,
            atol=1e-12,
            messages={
                "weights_swapped": "Your average weighs the wrong way: m ← β·m + (1 − β)·x keeps β (0.9, say) of the "
                "old average and adds only 1 − β of the new value. You swapped the two weights.",
                "started_at_first_value": "Your average starts at the first value: this lab (and Adam) starts from "
                "m_0 = 0, so m_1 = (1 − β)·x_1. The bias correction exists to undo exactly that start.",
                "no_bias_correction": "You ignored bias_correction=True: divide each m_t by 1 − βᵗ, with t = 1 for "
                "the first value.",
                "zero_based_t": "Your bias correction counts from t = 0, so the first value is divided by 1 − β⁰ = 0: "
                "the step count starts at 1 (enumerate(values, start=1)).",
                "corrected_state": "You stored the corrected value back into the running average: m keeps the raw "
                "sum β·m + (1 − β)·x, and only the value you *report* is divided by 1 − βᵗ.",
            },
        ),
        Exercise(
            name="SGD",
            points=3,
            summary="SGD with Keras's momentum (m ← μm − lr·g; p += m) and Nesterov (p += μm − lr·g), in place",
            probe="lab10.optimizer_run",
            compare=_compare_moves,
            show=_show_moves,
            rtol=1e-6,
            atol=1e-13,
            messages={
                "pytorch_momentum": "You wrote PyTorch's momentum, buf ← μ·buf + g, p −= lr·buf. Keras folds the "
                "learning rate into the velocity, m ← μ·m − lr·g, p += m. The two agree while the learning rate "
                "is constant and part ways as soon as it changes (a schedule, ReduceLROnPlateau): PyTorch rescales "
                "the whole remembered velocity by the new rate, Keras only the new gradient. The check changes the "
                "learning rate mid-run.",
                "average_momentum": "Your velocity is an exponential average, v ← μ·v + (1 − μ)·g: that is the "
                "momentum of some courses (and of Adam's m), whose steps are 1 − μ times smaller. Keras's SGD "
                "accumulates the full gradient, m ← μ·m − lr·g, so that with μ = 0.9 a steady slope gives steps up "
                "to ten times lr·g.",
                "nesterov_ignored": "With nesterov=True your step is plain momentum: Nesterov looks ahead along the "
                "new velocity, p += μ·m − lr·g (after m ← μ·m − lr·g), instead of p += m.",
                "stale_velocity": "Your parameter moves by the velocity of the step before: update the velocity "
                "first, m ← μ·m − lr·g, then move p += m. (Your first step does not move at all.)",
                "shared_state": _SHARED,
                "not_in_place": _IN_PLACE,
                "class_state": _CLASS_STATE,
                "rate_frozen": _RATE_FROZEN,
            },
        ),
        Exercise(
            name="RMSprop",
            points=3,
            summary="RMSprop as Keras: v ← ρv + (1 − ρ)g², p −= lr·g / √(v + ε), optional momentum, in place",
            probe="lab10.optimizer_run",
            compare=_compare_moves,
            show=_show_moves,
            rtol=1e-6,
            atol=1e-13,
            messages={
                "eps_outside_sqrt": "You put ε outside the square root, √v + ε. Keras's RMSprop divides by "
                "√(v + ε): with ε = 1e-7 that floor is √ε ≈ 3e-4, which matters when gradients are small (of order "
                "1e-6 here) and is invisible otherwise.",
                "no_epsilon": "Your steps become NaN where a gradient (and so v) is exactly 0: 0 / √0. Keep ε inside "
                "the root, g / √(v + ε), which also bounds the step when v is tiny.",
                "rho_swapped": "Your v keeps too little of its past: v ← ρ·v + (1 − ρ)·g², with ρ = 0.9 keeping 90 % "
                "of the running average. You swapped ρ and 1 − ρ.",
                "momentum_ignored": "With momentum > 0 your step ignores it: Keras accumulates the increment, "
                "mom ← momentum·mom + lr·g / √(v + ε), then p −= mom.",
                "shared_state": _SHARED,
                "not_in_place": _IN_PLACE,
                "class_state": _CLASS_STATE,
                "rate_frozen": _RATE_FROZEN,
            },
        ),
        Exercise(
            name="Adam",
            points=3,
            summary="Adam as Keras: 1-based t, α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), p −= α·m / (√v + ε), in place",
            probe="lab10.optimizer_run",
            compare=_compare_moves,
            show=_show_moves,
            rtol=1e-6,
            atol=1e-13,
            builds_on=("moving_average",),
            messages={
                "textbook_eps": _TEXTBOOK_EPS,
                "no_bias_correction": _NO_BIAS,
                "t_never_incremented": _T_NEVER,
                "t_from_zero": "Your first step is NaN: t was still 0 when you computed the bias correction, "
                "1 − β₁⁰ = 0. Increment t at the start of step, so the first step uses t = 1.",
                "t_per_parameter": "Your step count advances once per *parameter*: t counts calls of step, one per "
                "batch, whatever the number of arrays. Increment it once, before the loop over parameters.",
                "shared_state": _SHARED,
                "not_in_place": _IN_PLACE,
                "class_state": _CLASS_STATE,
                "rate_frozen": _RATE_FROZEN,
            },
        ),
        Exercise(
            name="AdamW",
            points=2,
            summary="AdamW as Keras: p ← p − p·weight_decay·lr first (decoupled), then the Adam step",
            probe="lab10.optimizer_run",
            compare=_compare_moves,
            show=_show_moves,
            rtol=1e-6,
            atol=1e-13,
            builds_on=("Adam",),
            messages={
                "l2_gradient": "You added weight_decay·p to the gradient: that is L2 regularisation inside Adam, "
                "and Adam then rescales it by 1 / √v like any gradient, so weights with large gradients are barely "
                "decayed. AdamW *decouples* the decay: p ← p − p·weight_decay·lr, apart from the gradient step.",
                "decay_after_step": "You decayed after the Adam step: Keras applies the decay first, "
                "p ← p − p·weight_decay·lr, to the weights the gradient was computed at, then the Adam step.",
                "decay_without_rate": "Your decay ignores the learning rate: Keras's is p ← p − p·weight_decay·lr "
                "(so a schedule that lowers lr lowers the decay too), not p − p·weight_decay.",
                "no_decay": "Your AdamW does not decay the weights: subtract p·weight_decay·lr from every parameter "
                "before the Adam step.",
                "textbook_eps": _TEXTBOOK_EPS,
                "no_bias_correction": _NO_BIAS,
                "t_never_incremented": _T_NEVER,
                "shared_state": _SHARED,
                "not_in_place": _IN_PLACE,
                "class_state": _CLASS_STATE,
                "rate_frozen": _RATE_FROZEN,
            },
        ),
        Exercise(
            name="descend",
            points=2,
            summary="run an optimizer from start for a number of steps: the path, shape (steps + 1, d)",
            probe="lab10.descend_run",
            rtol=1e-12,
            atol=1e-12,
            messages={
                "aliased": "Every row of your path is the final point: you appended the one array x that step "
                "then changed in place. Append a copy, `path.append(x.copy())`.",
                "missing_start": "Your path starts after the first step: row 0 must be the start, so steps steps "
                "give steps + 1 rows.",
                "stale_gradient": "Every step used the gradient at the start: compute gradient(x) afresh at the "
                "current x inside the loop.",
                "extra_step": "Your path has one step too many: loop `for _ in range(steps)`.",
            },
        ),
        Exercise(
            name="keras_train",
            points=3,
            summary="a GradientTape training loop with the Keras twin of your optimizer: losses, kernel and bias",
            probe="lab10.keras_training",
            profile="tensorflow",
            time_limit=60.0,
            compare=_compare_training,
            show=_show_training,
            rtol=1e-10,
            atol=1e-12,
            messages={
                "float32": "Your run agrees with the float64 reference to only 7 to 9 digits: Keras computed in "
                "float32, its default, or kept the learning rate in a float32 variable. Call "
                "keras.config.set_floatx(\"float64\") inside keras_train before building the model and the "
                "optimizer (the notebook's own set_floatx cell is a demo: the grader does not run it), and give "
                "the model the float64 inputs.",
                "only_learning_rate": "Your Keras optimizer has the right class and learning rate, and everything "
                "else at Keras's defaults: pass every hyperparameter of your object (momentum, nesterov, rho, "
                "beta_1, beta_2, epsilon, weight_decay), each read from your object under Keras's argument name.",
                "nesterov_dropped": "Your Keras SGD has the momentum but not nesterov: pass nesterov=mine.nesterov.",
                "momentum_dropped": "Your Keras optimizer has no momentum: pass momentum=mine.momentum (Keras's "
                "default is 0.0).",
                "epsilon_default": "Your Keras optimizer uses its default epsilon, 1e-7, while your object has "
                "another: pass epsilon=mine.epsilon. It moves every step a little, by about ε/√v of its size.",
                "epsilon_pytorch": "Your Keras optimizer uses epsilon = 1e-8, PyTorch's (and the Adam paper's) "
                "default: Keras's is 1e-7, and your object's is what counts: pass epsilon=mine.epsilon.",
                "weight_decay_dropped": "Your Keras twin of AdamW does not decay the weights: use "
                "keras.optimizers.AdamW(weight_decay=mine.weight_decay, …). (In Keras 3, "
                "Adam(weight_decay=…) applies the same decoupled decay.)",
                "fresh_optimizer": "You made a new Keras optimizer at every step: its slots (velocity, moments) "
                "start at zero and its step count at 1 each time, so momentum never builds up and Adam repeats "
                "its first step. Make the optimizer once, before the loop, and hand it every step's gradients.",
                "sum_loss": "Your loss is the sum of the squared errors: the mean squared error divides it by "
                "the number of examples (keras.ops.mean, or keras.losses.MeanSquaredError()). A sum makes the "
                "gradients n times larger.",
                "broadcast_loss": "Your loss compared every prediction with every target: model(X) has shape "
                "(n, 1) and y shape (n,), so model(X) − y broadcasts to an (n, n) table. Take column 0 of the "
                "predictions (model(X)[:, 0]), or let keras.losses.MeanSquaredError() match the shapes.",
                "loss_after_step": "Your losses are one step late: record the loss computed under the tape, at "
                "the weights the gradients were taken at, before apply_gradients moves them (as fit's history "
                "does).",
            },
        ),
    ),
)
