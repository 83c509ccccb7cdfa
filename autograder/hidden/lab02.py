"""Lab 02 hidden checks: reference solutions, known mistakes and case generators."""

from __future__ import annotations

import numpy as np

from autograder.encoding import FunctionSpec as Fn
from autograder.hidden import build_case

SEED_BOWL = np.diag([2.0, 4.0])  # f(x1, x2) = x1² + 2·x2² = ½ xᵀ diag(2, 4) x


def _bowl(matrix, center):
    return Fn("bowl", (("matrix", np.asarray(matrix, float)), ("center", np.asarray(center, float))))


def _bowl_gradient(matrix, center, bug_coordinate=-1, bug_scale=1.0):
    return Fn("bowl_gradient", (("matrix", np.asarray(matrix, float)), ("center", np.asarray(center, float)),
                                ("bug_coordinate", int(bug_coordinate)), ("bug_scale", float(bug_scale))))


def _bowl_text(matrix, center) -> str:
    if np.shape(matrix) == SEED_BOWL.shape and np.allclose(matrix, SEED_BOWL) and not np.any(center):
        return "f(x) = x1² + 2·x2²"
    return f"f(x) = ½ (x − c)ᵀ A (x − c) in {len(center)} dimensions"


# numerical_gradient ----------------------------------------------------------------

def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def _forward(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    return np.array([(f(x + h * e) - f(x)) / h for e in np.eye(x.size)])


def _all_at_once(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    return np.full(x.size, (f(x + h) - f(x - h)) / (2 * h))


def _integer_input(f, x, h=1e-5):
    x = np.array(x)
    grad = np.zeros(x.size)
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


NUMERICAL_MISTAKES = {
    "forward": _forward,
    "all_at_once": _all_at_once,
    "no_half": lambda f, x, h=1e-5: 2 * numerical_gradient(f, x, h),
    "integer_input": _integer_input,
}


def _numerical_case(matrix, center, x, h=None):
    kwargs = {} if h is None else {"h": h}
    where = np.array2string(np.asarray(x), precision=3, separator=", ")
    if np.asarray(x).dtype.kind in "iu":
        where += " (an integer array)"
    label = f"{_bowl_text(matrix, center)} at x = {where}" + ("" if h is None else f" with h = {h:g}")
    return build_case(label, (_bowl(matrix, center), np.asarray(x)), numerical_gradient, NUMERICAL_MISTAKES, kwargs)


# gradient_descent ------------------------------------------------------------------

def gradient_descent(grad, x0, learning_rate, num_steps):
    xs = [np.array(x0, dtype=float)]
    for _ in range(num_steps):
        xs.append(xs[-1] - learning_rate * grad(xs[-1]))
    return np.array(xs)


def _aliased(grad, x0, lr, n):
    x = np.array(x0, dtype=float)
    xs = [x]
    for _ in range(n):
        x -= lr * grad(x)
        xs.append(x)
    return np.array(xs)


def _sequential(grad, x0, lr, n):
    x = np.array(x0, dtype=float)
    xs = [x.copy()]
    for _ in range(n):
        for i in range(x.size):
            x[i] -= lr * grad(x)[i]
        xs.append(x.copy())
    return np.array(xs)


DESCENT_MISTAKES = {
    "ascent": lambda grad, x0, lr, n: gradient_descent(grad, x0, -lr, n),
    "no_learning_rate": lambda grad, x0, lr, n: gradient_descent(grad, x0, 1.0, n),
    "missing_start": lambda grad, x0, lr, n: gradient_descent(grad, x0, lr, n)[1:],
    "extra_step": lambda grad, x0, lr, n: gradient_descent(grad, x0, lr, n + 1),
    "aliased": _aliased,
    "sequential": _sequential,
}


def _descent_case(matrix, center, x0, learning_rate, num_steps):
    start = np.array2string(np.asarray(x0, float), precision=3, separator=", ")
    label = (f"the gradient of {_bowl_text(matrix, center)} from x0 = {start}, learning_rate = {learning_rate:g}, "
             f"num_steps = {num_steps}")
    args = (_bowl_gradient(matrix, center), np.asarray(x0), learning_rate, num_steps)
    return build_case(label, args, gradient_descent, DESCENT_MISTAKES)


# relative_error --------------------------------------------------------------------

def relative_error(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), eps)


def _sum_denominator(a, b, eps=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)


RELATIVE_MISTAKES = {
    "one_sided": lambda a, b, eps=1e-12: np.abs(np.asarray(a, float) - np.asarray(b, float)) / np.maximum(
        np.abs(np.asarray(b, float)), eps),
    "absolute": lambda a, b, eps=1e-12: np.abs(np.asarray(a, float) - np.asarray(b, float)),
    "no_eps": lambda a, b, eps=1e-12: np.abs(np.asarray(a, float) - b) / np.maximum(np.abs(a), np.abs(b)),
    "no_abs": lambda a, b, eps=1e-12: (np.asarray(a, float) - b) / np.maximum(
        np.maximum(np.abs(a), np.abs(b)), eps),
}


def _relative_case(a, b, eps=None, as_list=False):
    a, b = np.asarray(a, float), np.asarray(b, float)
    label = (f"a = {np.array2string(a, precision=4, separator=', ')}, "
             f"b = {np.array2string(b, precision=4, separator=', ')}")
    kwargs = {} if eps is None else {"eps": float(eps)}
    if eps is not None:
        label += f", eps = {eps:g}"
    args = (a.tolist(), b.tolist()) if as_list else (a, b)
    if as_list:
        label += " (two plain numbers: the result is 0-d)" if a.ndim == 0 else " (plain lists)"
    return build_case(label, args, relative_error, RELATIVE_MISTAKES, kwargs,
                      alternatives={"sum_denominator": _sum_denominator})


EQUIVALENT_MUTANTS = {
    "numerical_gradient · reduction · np.zeros_like(x) → np.ones_like(x)": "every entry of the buffer is "
    "overwritten before it is returned",
    "relative_error · swap_arguments · np.maximum(np.maximum(np.abs(a), np.abs(b)), eps) → "
    "np.maximum(eps, np.maximum(np.abs(a), np.abs(b)))": "np.maximum is symmetric in its two arguments",
    "relative_error · swap_arguments · np.maximum(np.abs(a), np.abs(b)) → np.maximum(np.abs(b), np.abs(a))":
    "np.maximum is symmetric in its two arguments",
    "gradient_check · swap_arguments · relative_error(grad(x), numerical_gradient(f, x, h)) → "
    "relative_error(numerical_gradient(f, x, h), grad(x))": "the relative error is symmetric in a and b",
    "gradient_check · drop_statement · x = np.array(x, dtype=float) → pass": "numerical_gradient copies x to "
    "float itself and the catalogue's gradients convert their input, so the copy changes no value",
    "bowl_tape_gradient · drop_statement · scales = tf.constant(scales, dtype=tf.float64) → pass": "a list times "
    "a float64 tf.Variable is converted to float64 by TensorFlow itself, so the explicit constant changes no value",
}


# gradient_check --------------------------------------------------------------------

def gradient_check(f, grad, x, h=1e-5):
    errors = relative_error(grad(np.array(x, dtype=float)), numerical_gradient(f, x, h))
    worst = int(np.argmax(errors))
    return float(errors[worst]), worst


def _check_with(error_fn, pick):
    def check(f, grad, x, h=1e-5):
        errors = error_fn(grad(np.array(x, dtype=float)), numerical_gradient(f, x, h))
        index = int(pick(errors))
        return float(errors[index]), index
    return check


def _mean_check(f, grad, x, h=1e-5):
    errors = relative_error(grad(np.array(x, dtype=float)), numerical_gradient(f, x, h))
    return float(np.mean(errors)), int(np.argmax(errors))


CHECK_MISTAKES = {
    "argmin": _check_with(relative_error, np.argmin),
    "absolute": _check_with(lambda a, b: np.abs(a - b), np.argmax),
    "mean": _mean_check,
}


def _check_case(matrix, center, x, bug_coordinate=-1, bug_scale=1.0, h=None):
    where = np.array2string(np.asarray(x, float), precision=3, separator=", ")
    which = ("a correct gradient" if bug_coordinate < 0
             else f"a gradient whose entry {bug_coordinate} is scaled by {bug_scale:.10g}")
    label = f"{_bowl_text(matrix, center)} and {which}, at x = {where}" + ("" if h is None else f" with h = {h:g}")
    args = (_bowl(matrix, center), _bowl_gradient(matrix, center, bug_coordinate, bug_scale), np.asarray(x, float))
    return build_case(label, args, gradient_check, CHECK_MISTAKES, {} if h is None else {"h": h},
                      alternatives={"sum_denominator": _check_with(_sum_denominator, np.argmax)})


def _slightly_off_case(rng, matrix, center, x):
    """A gradient entry off by a factor 1 + δ, δ ∈ [5e-8, 5e-7]: below 1e-6, yet measured exactly.

    With h = 0.01 the central difference of a quadratic is exact but for rounding (~1e-13 here),
    and x is moved until every gradient entry is at least 0.5 away from 0, so that the relative
    error of the off entry is δ/(1 + δ) to 5 digits, and the largest: a checker returning another
    measure (a mean, another denominator) is told apart from the docstring's.
    """
    x = np.array(x, dtype=float)
    while np.min(np.abs(matrix @ (x - center))) < 0.5:
        x = np.round(x + rng.uniform(-1, 1, size=x.size), 2)
    delta = float(np.round(rng.uniform(5e-8, 5e-7), 10))
    return _check_case(matrix, center, x, bug_coordinate=int(rng.integers(0, x.size)), bug_scale=1 + delta, h=0.01)


# bowl_tape_gradient ----------------------------------------------------------------
# In NumPy, so that drawing the cases never imports TensorFlow: the grader's parent process stays
# light. tests/test_lab02_keras.py writes each mistake in real TensorFlow and checks that it gets
# the same values, hence its message.

def bowl_tape_gradient(scales, x):
    return 2 * np.asarray(scales, dtype=float) * np.asarray(x, dtype=float)


def _float32_tape(scales, x):
    # tf.Variable and tf.constant of Python lists are float32; the tape computes s·(2x), and as doubling
    # is exact that is 2·(s·x) in float32 too
    return np.float32(2) * (np.asarray(scales, dtype=np.float32) * np.asarray(x, dtype=np.float32))


TAPE_MISTAKES = {
    "float32": _float32_tape,
    "no_square": lambda scales, x: np.asarray(scales, dtype=float),
    "reduce_mean": lambda scales, x: bowl_tape_gradient(scales, x) / len(x),
}


def _tape_case(scales, x):
    scales, x = [float(s) for s in scales], [float(v) for v in x]
    label = (f"f(x) = Σ sᵢ·xᵢ² with scales = {scales} at x = {x}" if scales != [1.0, 2.0]
             else f"f(x) = x1² + 2·x2² (scales = {scales}) at x = {x}")
    return build_case(label, (scales, x), bowl_tape_gradient, TAPE_MISTAKES)


# the cases -------------------------------------------------------------------------

def public_cases():
    """The worked numbers of the course (SEED_ERRATA.md), shown in the notebook's check cells."""
    origin = np.zeros(2)
    coupled = np.array([[3.0, 1.0], [1.0, 2.0]])
    return {
        "numerical_gradient": [
            _numerical_case(SEED_BOWL, origin, np.array([3.0, 2.0])),
            _numerical_case(coupled, np.array([1.0, -1.0]), np.array([0.5, 2.0]), h=1e-3),
            _numerical_case(SEED_BOWL, origin, np.array([3, 2])),
        ],
        "gradient_descent": [
            _descent_case(SEED_BOWL, origin, np.array([3.0, 2.0]), 0.1, 10),
            _descent_case(coupled, origin, np.array([1.0, 1.0]), 0.1, 3),
        ],
        "relative_error": [
            _relative_case([6.0, 4.0, 0.0, 1e-3], [6.0, 8.0, 0.0, 0.0]),
        ],
        "gradient_check": [
            _check_case(SEED_BOWL, origin, np.array([3.0, 2.0])),
            _check_case(SEED_BOWL, origin, np.array([3.0, 2.0]), bug_coordinate=1, bug_scale=0.5),
            # off by 2e-7, below 1e-6: max_error itself is checked, not only that it is small
            _check_case(SEED_BOWL, origin, np.array([3.0, 2.0]), bug_coordinate=0, bug_scale=1 + 2e-7, h=0.01),
        ],
        "bowl_tape_gradient": [
            _tape_case([1.0, 2.0], [3.0, 2.0]),
            # 0.1 and 2.7 have no exact float32: here float32 misses float64 in the 8th digit
            _tape_case([0.5, 1.5, 3.0], [0.1, -1.3, 2.7]),
        ],
    }


def _random_spd(rng, n):
    q = rng.normal(size=(n, n))
    return np.round(q @ q.T / n + np.eye(n) * rng.uniform(0.5, 2.0), 3)


def hidden_cases(rng):
    """Inputs drawn from ``rng``: the published answers alone cannot pass these."""
    n = int(rng.integers(3, 6))
    matrix, center = _random_spd(rng, n), np.round(rng.uniform(-2, 2, size=n), 2)
    x = np.round(rng.uniform(-3, 3, size=n), 2)
    integer_x = rng.integers(-4, 5, size=n)
    bug = int(rng.integers(0, n))
    lr = round(float(0.5 / np.linalg.eigvalsh(matrix).max()), 3)
    a = np.round(rng.normal(size=n) * 10.0 ** rng.integers(-3, 3, size=n), 5)
    b = np.where(rng.random(n) < 0.3, a, np.round(a * rng.uniform(0.5, 1.5, size=n), 5))
    a[0], b[0] = 0.0, 0.0
    if not np.any(np.abs(a[1:]) > np.abs(b[1:])):
        # dividing by |b| alone differs only where |a| > |b|: one such entry on every draw, so that it is caught
        largest = 1 + int(np.argmax(np.abs(a[1:])))
        b[largest] = np.round(a[largest] * 0.75, 5)
    cases = {
        "numerical_gradient": [
            _numerical_case(matrix, center, x),
            _numerical_case(matrix, center, x, h=round(float(rng.uniform(1e-4, 1e-2)), 5)),
            _numerical_case(matrix, center, integer_x),
        ],
        "gradient_descent": [
            _descent_case(matrix, center, x, lr, int(rng.integers(5, 20))),
            _descent_case(matrix, center, integer_x, lr, 4),
        ],
        "relative_error": [
            _relative_case(a, b),
            # array-like, as the docstring says: plain lists too
            _relative_case(a[1:], b[1:], as_list=True),
            # an eps that matters: entries smaller than eps are divided by eps
            _relative_case(np.round(a * 1e-3, 8), np.round(b * 1e-3, 8) + 1e-4,
                           eps=float(rng.choice([0.01, 0.05, 0.1]))),
        ],
        "gradient_check": [
            _check_case(matrix, center, x),
            _check_case(matrix, center, x, bug_coordinate=bug, bug_scale=round(float(rng.uniform(1.5, 3)), 2)),
        ],
        "bowl_tape_gradient": [
            _tape_case(np.round(rng.uniform(0.5, 3.0, size=n), 2), np.round(rng.uniform(-3, 3, size=n), 2)),
            # one coordinate: the shape (1,) still holds, and a mean is a sum there
            _tape_case(np.round(rng.uniform(0.5, 3.0, size=1), 2), np.round(rng.uniform(-3, 3, size=1), 2)),
        ],
    }
    # drawn from a generator of its own, last, so that every other draw stays as it was
    extra = np.random.default_rng(int(rng.integers(2**63)))
    cases["gradient_check"].append(_slightly_off_case(extra, matrix, center, x))
    # two plain numbers, as the docstring allows: the result is a 0-d array (a Python float is fine too)
    scalar = float(np.round(extra.uniform(0.5, 5.0), 3))
    cases["relative_error"].append(_relative_case(scalar, float(np.round(scalar * extra.uniform(0.5, 1.5), 3)),
                                                  as_list=True))
    return cases
