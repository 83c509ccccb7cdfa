"""Lab 01 hidden checks: reference solutions, known mistakes and case generators."""

from __future__ import annotations

import numpy as np

from autograder.encoding import FunctionSpec as Fn
from autograder.hidden import build_case

TWO_VALLEY = (1.0, 1.0, -4.0, 0.0, 1.0)  # x⁴ − 4x² + x + 1, lowest power first


def _poly(coef):
    return Fn("polynomial", (("coefficients", [float(c) for c in coef]),))


def _dpoly(coef):
    return Fn("polynomial_derivative", (("coefficients", [float(c) for c in coef]),))


def _poly_text(coef) -> str:
    terms = []
    for k, c in reversed(list(enumerate(coef))):
        if c == 0:
            continue
        power = "" if k == 0 else ("x" if k == 1 else f"x^{k}")
        number = f"{c:g}" if (abs(c) != 1 or k == 0) else ("-" if c < 0 else "")
        terms.append(f"{number}{power}")
    return " + ".join(terms).replace("+ -", "- ") or "0"


# central_difference ----------------------------------------------------------------

def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


CENTRAL_MISTAKES = {
    "forward": lambda f, x, h=1e-5: (f(x + h) - f(x)) / h,
    "backward": lambda f, x, h=1e-5: (f(x) - f(x - h)) / h,
    "no_half": lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / h,
    "sign": lambda f, x, h=1e-5: (f(x - h) - f(x + h)) / (2 * h),
    "precedence": lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / 2 * h,
    "ignores_h": lambda f, x, h=1e-5: (f(x + 1e-5) - f(x - 1e-5)) / (2 * 1e-5),
}


def _central_case(coef, x, h=None):
    kwargs = {} if h is None else {"h": h}
    label = f"f(x) = {_poly_text(coef)} at x = {x:g}" + ("" if h is None else f" with h = {h:g}")
    return build_case(label, (_poly(coef), x), central_difference, CENTRAL_MISTAKES, kwargs)


# gradient_descent_1d ---------------------------------------------------------------

def gradient_descent_1d(df, x0, learning_rate, num_steps):
    xs = [float(x0)]
    for _ in range(num_steps):
        xs.append(xs[-1] - learning_rate * df(xs[-1]))
    return np.array(xs)


def _run(df, x0, step, num_steps):
    xs = [float(x0)]
    for _ in range(num_steps):
        xs.append(step(xs[-1], df(xs[-1])))
    return np.array(xs)


DESCENT_MISTAKES = {
    "ascent": lambda df, x0, lr, n: _run(df, x0, lambda x, g: x + lr * g, n),
    "no_learning_rate": lambda df, x0, lr, n: _run(df, x0, lambda x, g: x - g, n),
    "missing_start": lambda df, x0, lr, n: gradient_descent_1d(df, x0, lr, n)[1:],
    "extra_step": lambda df, x0, lr, n: gradient_descent_1d(df, x0, lr, n + 1),
    "final_only": lambda df, x0, lr, n: float(gradient_descent_1d(df, x0, lr, n)[-1]),
    "one_step_short": lambda df, x0, lr, n: gradient_descent_1d(df, x0, lr, n - 1)[: max(n, 1)],
    "fixed_gradient": lambda df, x0, lr, n: float(x0) - lr * df(float(x0)) * np.arange(n + 1.0),
}


def _descent_case(coef, x0, learning_rate, num_steps):
    label = (f"f'(x) = {_poly_text([k * c for k, c in enumerate(coef)][1:])}, "
             f"x0 = {x0:g}, learning_rate = {learning_rate:g}, num_steps = {num_steps}")
    return build_case(label, (_dpoly(coef), x0, learning_rate, num_steps), gradient_descent_1d, DESCENT_MISTAKES)


# classify_trajectory ---------------------------------------------------------------

def classify_trajectory(trajectory, minimum=0.0, tol=1e-3):
    offsets = np.asarray(trajectory, dtype=float) - minimum
    if abs(offsets[-1]) > abs(offsets[0]):
        return "diverging"
    if np.any(offsets[:-1] * offsets[1:] < 0):
        return "oscillating"
    return "good" if abs(offsets[-1]) <= tol else "too_small"


def _no_sign_check(trajectory, minimum=0.0, tol=1e-3):
    offsets = np.asarray(trajectory, dtype=float) - minimum
    if abs(offsets[-1]) > abs(offsets[0]):
        return "diverging"
    return "good" if abs(offsets[-1]) <= tol else "too_small"


CLASSIFY_MISTAKES = {
    "ignores_minimum": lambda t, minimum=0.0, tol=1e-3: classify_trajectory(t, 0.0, tol),
    "no_sign_check": _no_sign_check,
    # a label written other than exactly (a space after it): checks.lab01._compare_label matches any such label
    "padded": lambda t, minimum=0.0, tol=1e-3: classify_trajectory(t, minimum, tol) + " ",
}


def _classify_case(center, x0, learning_rate, num_steps, tol=1e-3):
    # f(x) = (x − center)², f'(x) = 2(x − center)
    trajectory = gradient_descent_1d(lambda x: 2 * (x - center), x0, learning_rate, num_steps)
    kwargs = {"minimum": float(center)} if center != 0 else {}
    if tol != 1e-3:
        kwargs["tol"] = tol
    label = (f"descent on (x − {center:g})² from {x0:g} with learning_rate = {learning_rate:g} "
             f"for {num_steps} steps")
    return build_case(label, (trajectory,), classify_trajectory, CLASSIFY_MISTAKES, kwargs)


def _classify_given(trajectory, minimum=0.0, tol=None):
    """A hand-made trajectory: the boundaries that descent runs rarely hit exactly."""
    kwargs = {"minimum": float(minimum)}
    if tol is not None:
        kwargs["tol"] = float(tol)
    label = f"trajectory {[float(x) for x in trajectory]} with minimum = {minimum:g}" + (
        "" if tol is None else f", tol = {tol:g}")
    return build_case(label, ([float(x) for x in trajectory],), classify_trajectory, CLASSIFY_MISTAKES, kwargs)


def _classify_boundaries(rng):
    """Exact ties and first/last points that differ from their neighbours, on dyadic numbers (no rounding)."""
    m = float(rng.integers(-8, 9)) / 4
    a = float(rng.integers(4, 12)) / 4  # |x_0 − m|
    sign = float(rng.choice([-1, 1]))
    tol = float(rng.choice([0.25, 0.5]))
    return [
        # |x_T − m| = |x_0 − m| is not diverging, and it crosses m at every step
        _classify_given([m + sign * a, m - sign * a, m + sign * a, m - sign * a], m),
        # only the first and the last point decide "diverging", not their neighbours
        _classify_given([m + sign * a, m + sign * 3 * a, m + sign * a / 2], m),
        _classify_given([m + sign * a, m + sign * a / 8, m + sign * a / 2], m),
        # one crossing, then a calm approach: still oscillating
        _classify_given([m + sign * a, m - sign * a / 2, m - sign * a / 4, m - sign * a / 8], m),
        # lands exactly on m, from either side: landing is no sign change
        _classify_given([m + a, m + a / 2, m, m], m),
        _classify_given([m - a, m - a / 2, m, m], m),
        # starts exactly at m: the sign change comes later
        _classify_given([m, m + sign * tol / 2, m - sign * tol / 2, m], m),
        # ends exactly at tol, with tol given: "good" includes the boundary
        _classify_given([sign * 4 * tol, sign * 2 * tol, sign * tol], 0.0, tol),
        # the last point is close, the one before is not
        _classify_given([m + sign * a, m + sign * a / 2, m + sign * tol / 4], m, tol),
    ]


# descend_from_starts ---------------------------------------------------------------

def descend_from_starts(df, starts, learning_rate, num_steps):
    return np.array([gradient_descent_1d(df, s, learning_rate, num_steps)[-1] for s in starts])


STARTS_MISTAKES = {
    "trajectories": lambda df, starts, lr, n: np.array([gradient_descent_1d(df, s, lr, n) for s in starts]),
    "one_step": lambda df, starts, lr, n: descend_from_starts(df, starts, lr, 1),
}


def _starts_case(coef, starts, learning_rate, num_steps):
    label = (f"f(x) = {_poly_text(coef)} from starts {list(starts)}, learning_rate = {learning_rate:g}, "
             f"num_steps = {num_steps}")
    return build_case(label, (_dpoly(coef), list(starts), learning_rate, num_steps), descend_from_starts,
                      STARTS_MISTAKES)


# grid_search -----------------------------------------------------------------------

def grid_search(loss, low, high, num_points):
    grid = np.linspace(low, high, num_points)
    losses = np.array([loss(w) for w in grid])
    best = int(np.argmin(losses))
    return float(grid[best]), float(losses[best])


def _argmax(loss, low, high, num_points):
    grid = np.linspace(low, high, num_points)
    losses = np.array([loss(w) for w in grid])
    return float(grid[np.argmax(losses)]), float(losses.max())


def _arange(loss, low, high, num_points):
    grid = np.arange(low, high, (high - low) / (num_points - 1))
    losses = np.array([loss(w) for w in grid])
    return float(grid[np.argmin(losses)]), float(losses.min())


def _index(loss, low, high, num_points):
    w, best = grid_search(loss, low, high, num_points)
    return int(np.argmin([loss(v) for v in np.linspace(low, high, num_points)])), best


GRID_MISTAKES = {
    "argmax": _argmax,
    "index": _index,
    "swapped": lambda loss, low, high, n: grid_search(loss, low, high, n)[::-1],
    "arange": _arange,
}


def _grid_case(x, y, low, high, num_points):
    loss = Fn("squared_error_one_weight", (("x", float(x)), ("y", float(y))))
    label = f"loss(w) = ({y:g} − w·{x:g})² on np.linspace({low:g}, {high:g}, {num_points})"
    return build_case(label, (loss, low, high, num_points), grid_search, GRID_MISTAKES)


# count_combinations ----------------------------------------------------------------

def _num_weights(layer_sizes, include_biases=False):
    weights = sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    return weights + (sum(layer_sizes[1:]) if include_biases else 0)


def count_combinations(layer_sizes, values_per_weight, include_biases=False):
    return values_per_weight ** _num_weights(layer_sizes, include_biases)


def _wrapped_int64(value: int) -> int:
    value %= 2**64
    return value - 2**64 if value >= 2**63 else value


COUNT_MISTAKES = {
    "neurons": lambda sizes, v, include_biases=False: v ** sum(sizes),
    "sum": lambda sizes, v, include_biases=False: v * _num_weights(sizes, include_biases),
    "overflow": lambda sizes, v, include_biases=False: _wrapped_int64(count_combinations(sizes, v, include_biases)),
    "no_biases": lambda sizes, v, include_biases=False: count_combinations(sizes, v, False),
    "swapped_power": lambda sizes, v, include_biases=False: _num_weights(sizes, include_biases) ** v,
}


def _count_case(sizes, values, include_biases=False):
    kwargs = {"include_biases": True} if include_biases else {}
    label = f"layer_sizes = {list(sizes)}, values_per_weight = {values}" + (
        ", include_biases = True" if include_biases else "")
    return build_case(label, (list(sizes), values), count_combinations, COUNT_MISTAKES, kwargs)


# keras_descent ---------------------------------------------------------------------
# The student's code runs in TensorFlow; these run in NumPy, in the grading process, which
# never imports TensorFlow. SGD's update is x ← x − lr · g, and the tape's g is exactly f'(x),
# so in float64 both agree to the last few ulps.

def _slope(coefficients, x):
    return sum(k * c * x ** (k - 1) for k, c in enumerate(coefficients) if k)


def keras_descent(coefficients, x0, learning_rate, num_steps):
    xs = [float(x0)]
    for _ in range(num_steps):
        xs.append(xs[-1] - learning_rate * _slope(coefficients, xs[-1]))
    return np.array(xs)


def _keras_float32(coefficients, x0, learning_rate, num_steps):
    """tf.Variable(x0) without a dtype (float32), or SGD's learning rate in the default floatx.

    Stored as float32: the lab's compare matches it at float32's precision, not to the digit.
    """
    c = [np.float32(v) for v in coefficients]
    rate, x = np.float32(learning_rate), np.float32(x0)
    xs = [x]
    for _ in range(num_steps):
        x = np.float32(x - rate * np.float32(_slope(c, x)))
        xs.append(x)
    return np.array(xs, dtype=np.float32)


KERAS_MISTAKES = {
    "float32": _keras_float32,
    "missing_start": lambda c, x0, lr, n: keras_descent(c, x0, lr, n)[1:],
    "ascent": lambda c, x0, lr, n: keras_descent(c, x0, -lr, n),
    "reversed_coefficients": lambda c, x0, lr, n: keras_descent(list(c)[::-1], x0, lr, n),
}


def _amplification(coefficients, x0, learning_rate, num_steps):
    """How much a run magnifies a rounding error: the product of |∂x_{t+1}/∂x_t| = |1 − learning_rate · f''(x_t)|."""
    curvature = [k * (k - 1) * c for k, c in enumerate(coefficients)][2:]
    try:
        trajectory = keras_descent(coefficients, x0, learning_rate, num_steps)[:-1]
        factors = [abs(1 - learning_rate * sum(c * x**k for k, c in enumerate(curvature))) for x in trajectory]
    except OverflowError:
        return np.inf
    return float(np.prod(factors))


MAX_AMPLIFICATION = 1e3


def _keras_case(coef, x0, learning_rate, num_steps):
    coef = [round(float(c), 10) for c in coef]  # a bowl's c² as 0.6724, not 0.6723999999999999
    # A mistake is named only when the student's run matches it to rtol 1e-10. Ascent on a quartic
    # grows like x³ and multiplies the last ulp's difference between TensorFlow and NumPy at every
    # step, so runs stop while every mistake's run magnifies rounding errors by at most 10³.
    runs = [(coef, learning_rate), (coef, -learning_rate), (coef[::-1], learning_rate)]
    while num_steps > 1 and max(_amplification(c, x0, r, num_steps) for c, r in runs) > MAX_AMPLIFICATION:
        num_steps -= 1
    label = (f"coefficients = [{', '.join(f'{c:g}' for c in coef)}] (f(x) = {_poly_text(coef)}), x0 = {x0:g}, "
             f"learning_rate = {learning_rate:g}, num_steps = {num_steps}")
    return build_case(label, (coef, float(x0), float(learning_rate), int(num_steps)), keras_descent, KERAS_MISTAKES)


EQUIVALENT_MUTANTS = {
    "count_combinations · swap_arguments · zip(layer_sizes[:-1], layer_sizes[1:]) → "
    "zip(layer_sizes[1:], layer_sizes[:-1])": "m × n = n × m: the weights between two layers count the same "
    "either way",
}


# the cases -------------------------------------------------------------------------

def public_cases():
    """The worked numbers of the course (SEED_ERRATA.md), shown in the notebook's check cells."""
    return {
        "central_difference": [
            _central_case([0, 0, 1], 3.0),
            _central_case([0, 0, 0, 1], 2.0, h=0.1),
        ],
        "gradient_descent_1d": [_descent_case([0, 0, 1], 3.0, 0.1, 10)],
        "classify_trajectory": [
            _classify_case(0.0, 3.0, 0.001, 50),
            _classify_case(0.0, 3.0, 0.1, 50),
            _classify_case(0.0, 3.0, 0.9, 50),
            _classify_case(0.0, 3.0, 1.1, 50),
        ],
        "descend_from_starts": [_starts_case(TWO_VALLEY, [-0.5, 0.5], 0.01, 1000)],
        "grid_search": [_grid_case(2.0, 7.0, 0.01, 10.0, 1000)],
        "count_combinations": [_count_case([4, 5, 1], 1000), _count_case([4, 5, 1], 1000, include_biases=True)],
        "keras_descent": [_keras_case([0, 0, 1], 3.0, 0.1, 10), _keras_case(TWO_VALLEY, -0.5, 0.01, 20)],
    }


def _random_poly(rng, degree):
    coef = np.round(rng.uniform(-3, 3, size=degree + 1), 2)
    coef[-1] = round(float(rng.choice([-1, 1]) * rng.uniform(0.5, 2.0)), 2)
    return [float(c) for c in coef]


def _away_from_zero(rng, high):
    """A start in ±[0.2, high]: at x = 0 the tape's gradient of c·x**0 is 0·0⁻¹ = NaN, a trap the text does not set."""
    return round(float(rng.choice([-1, 1]) * rng.uniform(0.2, high)), 2)


def hidden_cases(rng):
    """Inputs drawn from ``rng``: the published answers alone cannot pass these."""
    centre = round(float(rng.uniform(-3, 3)), 2)
    start = round(centre + float(rng.choice([-1, 1]) * rng.uniform(1, 4)), 2)
    bowl = [centre**2, -2 * centre, 1.0]  # (x − centre)²
    quartic = [round(float(c), 2) for c in (rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(2, 4), 0.0, 1.0)]
    cases = {
        "central_difference": [
            _central_case(_random_poly(rng, 3), round(float(rng.uniform(-2, 2)), 3),
                          h=round(float(rng.uniform(0.05, 0.3)), 3)),
            _central_case(_random_poly(rng, 4), round(float(rng.uniform(-2, 2)), 3)),
        ],
        "gradient_descent_1d": [
            _descent_case(bowl, start, round(float(rng.uniform(0.05, 0.3)), 3), int(rng.integers(5, 25))),
            _descent_case(quartic, round(float(rng.uniform(-2, 2)), 2), 0.01, int(rng.integers(5, 25))),
        ],
        "classify_trajectory": [
            _classify_case(centre, start, round(float(rng.uniform(0.0005, 0.002)), 4), 40),
            _classify_case(centre, start, round(float(rng.uniform(0.1, 0.3)), 3), 60),
            _classify_case(centre, start, round(float(rng.uniform(0.6, 0.95)), 3), 60),
            _classify_case(centre, start, round(float(rng.uniform(0.95, 0.99)), 3), 10),
            _classify_case(centre, start, round(float(rng.uniform(1.05, 1.4)), 3), 20),
            *_classify_boundaries(rng),
        ],
        "descend_from_starts": [
            _starts_case(quartic, [round(float(s), 2) for s in rng.uniform(-2, 2, size=4)], 0.01, 500),
            # not converged: the number of steps shows in where each run ends
            _starts_case(quartic, [round(float(s), 2) for s in rng.uniform(-2, 2, size=3)],
                         round(float(rng.uniform(0.02, 0.05)), 3), int(rng.integers(2, 6))),
            _starts_case(bowl, [start], 0.1, 0),
        ],
        "grid_search": [
            _grid_case(round(float(rng.uniform(0.5, 3)), 2), round(float(rng.uniform(1, 20)), 2), 0.0, 10.0, 501),
            _grid_case(1.0, round(float(rng.uniform(12, 20)), 2), 0.0, 10.0, int(rng.integers(50, 200))),
            # a tie between two grid points: the first one wins
            _grid_case(1.0, float(rng.integers(1, 9)) + 0.5, 0.0, 10.0, 11),
            _grid_case(round(float(rng.uniform(0.5, 3)), 2), round(float(rng.uniform(1, 20)), 2),
                       round(float(rng.uniform(0, 5)), 2), 10.0, 1),
        ],
        "count_combinations": [
            _count_case([int(n) for n in rng.integers(2, 9, size=int(rng.integers(3, 5)))], int(rng.integers(10, 500))),
            _count_case([int(n) for n in rng.integers(2, 9, size=3)], int(rng.integers(10, 500)), include_biases=True),
        ],
        # drawn last, so that adding this exercise left the other exercises' draws as they were
        "keras_descent": [
            _keras_case(bowl, start, round(float(rng.uniform(0.05, 0.3)), 3), int(rng.integers(5, 12))),
            _keras_case(quartic, _away_from_zero(rng, 2.0), 0.01, int(rng.integers(8, 15))),
            _keras_case(_random_poly(rng, 3), _away_from_zero(rng, 1.0), 0.02, 6),
            _keras_case(_random_poly(rng, 2), _away_from_zero(rng, 3.0), 0.1, 0),
        ],
    }
    # The labels' order is drawn per student (last, so that every other draw stays as it was): labels learned
    # case by case from one student's feedback are in another order for everyone else.
    order = np.random.default_rng(int(rng.integers(2**63))).permutation(len(cases["classify_trajectory"]))
    cases["classify_trajectory"] = [cases["classify_trajectory"][int(i)] for i in order]
    return cases
