"""Lab 03 · the chain rule and computational graphs: exercises and known mistakes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, compare_values, format_value
from autograder.probes.lab03 import STALE

FLOAT32_ATOL = 1e-4


def _order_verdict(findings) -> str:
    """What is wrong with a topological order, as reported by ``probes.lab03.topological_order``."""
    if isinstance(findings, str):
        return findings
    if not isinstance(findings, dict) or not isinstance(findings.get("order"), list):
        return "unreadable"
    if STALE in findings["order"]:
        return "stale"
    if "?" in findings["order"]:
        return "not_nodes"
    for key in ("missing", "repeated"):
        if findings.get(key):
            return key
    if findings.get("before_inputs"):
        return "output_first" if findings["order"][:1] == ["y"] else "before_inputs"
    return "valid"


def _compare_order(received, expected, exercise: Exercise) -> str | None:
    """Any valid topological order passes; a wrong one matches a mistake of the same kind.

    The probe reports which nodes are missing, repeated, or placed before one of their
    inputs; the expected value (and each mistake's value) is judged the same way, so two
    results match when they are wrong (or right) in the same way.
    """
    verdict = _order_verdict(received)
    if verdict == _order_verdict(expected):
        return None
    if not isinstance(received, dict):
        return verdict
    names = lambda key: ", ".join(received.get(key, []))  # noqa: E731
    return {
        "not_nodes": "some items are not nodes of the graph: return the nodes themselves, not their data or names",
        "stale": "your list still holds nodes from an earlier call. A default argument such as `order=[]` (or a "
        "global list) is created once and shared by every call: create the list and the set inside the function",
        "missing": f"missing: {names('missing')}",
        "repeated": f"more than once: {names('repeated')}",
        "output_first": f"before one of their inputs: {names('before_inputs')}",
        "before_inputs": f"before one of their inputs: {names('before_inputs')}",
        "valid": "this order is valid",
    }.get(verdict, verdict)


def _compare_tuple(received, expected, exercise: Exercise) -> str | None:
    """A tuple of numbers; a list or a 1-D array of the same length is fine too."""
    if isinstance(received, np.ndarray) and received.ndim == 1:
        received = tuple(received)
    return compare_values(received, expected, exercise)


def _compare_autograd(received, expected, exercise: Exercise) -> str | None:
    """(y.data, input grads) with the exercise's tolerances; a string names a line that failed."""
    if isinstance(expected, str):
        return None if received == expected else "a different result"
    if isinstance(received, str):
        return received
    if not isinstance(received, (tuple, list)) or len(received) != 2:
        return "expected the pair (y.data, grads)"
    data, grads = received
    if np.asarray(grads).dtype == np.float32:
        # float32 loses ~1e-7 of the largest intermediate value (up to a few hundred here), so a
        # small gradient that is a difference of large terms gets an absolute tolerance.
        exercise = replace(exercise, atol=FLOAT32_ATOL)
    reason = compare_numbers(data, expected[0], exercise)
    if reason is not None:
        return f"y.data: {reason}"
    reason = compare_numbers(grads, expected[1], exercise)
    if reason is None:
        return None
    got, want = np.asarray(grads, dtype=float), np.asarray(expected[1], dtype=float)
    if got.shape != want.shape:
        return reason
    rtol = max(exercise.rtol, exercise.rtol_float32) if np.asarray(grads).dtype == np.float32 else exercise.rtol
    bad = int(np.argmax(np.abs(got - want) > exercise.atol + rtol * np.abs(want)))
    return f"x{bad + 1}.grad is {format_value(got[bad])}, expected {format_value(want[bad])}"


def _compare_tape(received, expected, exercise: Exercise) -> str | None:
    """Like nested_backward's, at rtol 1e-10; a float32 tape's value (float32 numbers) at float32's precision.

    The float32 mistake's last digits depend on the order of TensorFlow's operations, which
    the hidden module cannot reproduce without TensorFlow: a result within 1e-5 of the largest
    gradient matches it (float32 carries about 7 digits; float64's error is far below 1e-10).
    """
    if isinstance(expected, tuple) and expected and all(isinstance(e, np.float32) for e in expected):
        try:
            got = np.asarray(received, dtype=np.float64)
        except (TypeError, ValueError):
            return "expected two numbers"
        want = np.asarray(expected, dtype=np.float64)
        if got.shape != want.shape:
            return "expected two numbers"
        return None if np.all(np.abs(got - want) <= 1e-5 * np.max(np.abs(want))) else "a different value"
    return _compare_tuple(received, expected, exercise)


_RECURSION = ("asks Python for `number {op} Value` again, which calls {method} again, forever "
              "(RecursionError). Write `return self {op} other`: {name} commutes.")
_REFLECTED = ("With the number on the left, Python first asks the number (`int.{forward}` or `float.{forward}`), "
              "which knows nothing of Values, and then calls `{method}(self, other)` on the Value. Define {method} "
              "in Value; {name} commutes, so `return self {op} other` is enough.")

_RAN_TWICE = ("Right on chains, wrong where one node feeds two others: that node's _backward ran more than once, "
              "or before it had collected all of its gradient (naive recursion from the output, or a topological "
              "sort without a `visited` set). Call each node's _backward exactly once, walking "
              "reversed(topological_order(self)).")

LAB = Lab(
    id="03_chain_rule",
    title="The chain rule and computational graphs",
    hidden_module="autograder.hidden.lab03",
    exercises=(
        Exercise(
            name="nested_forward",
            points=2,
            summary="the forward pass of f = ((2·x1 + x2)² + 3·x2²)³, returning the cache (u, v, f)",
            rtol=1e-12,
            compare=_compare_tuple,
            messages={
                "precedence": "3x₂² is 3·(x₂²): write `3 * x2 ** 2` (`**` binds tighter than `*`). "
                "`(3 * x2) ** 2` is 9x₂².",
                "times_three": "f = v³ is `v ** 3`; `3 * v` is three times v.",
                "u_times_2": "u² is `u ** 2`; `u * 2` is twice u.",
                "doubled_sum": "u = 2·x1 + x2 doubles x1 only: `2 * (x1 + x2)` doubles x2 too.",
                "reversed": "The values are right but in reverse order: return (u, v, f), the order of the "
                "forward pass.",
            },
        ),
        Exercise(
            name="nested_backward",
            points=3,
            summary="(∂f/∂x1, ∂f/∂x2) of the nested f by the chain rule, from the cached u and v",
            rtol=1e-12,
            rtol_float32=1e-12,  # an analytic result from plain floats: float32 is a cast, not a need
            compare=_compare_tuple,
            builds_on=("nested_forward",),
            messages={
                "no_inner": "∂f/∂x1 is half the right value: the chain stops one link early. "
                "After ∂f/∂v = 3v² and ∂v/∂u = 2u comes ∂u/∂x1 = 2, because u = 2·x1 + x2.",
                "garbled": "That is the course's garbled line taken literally: ∂u/∂x1 × ∂u/∂x2 = 2 × 1. "
                "The path from x2 through u contributes ∂v/∂u · ∂u/∂x2 = 2u · 1, so ∂v/∂x2 = 2u + 6·x2.",
                "dropped_direct": "x2 reaches v along two paths: through u (2u · 1) and directly through "
                "3·x2² (6·x2). You kept only the path through u; the multivariable chain rule adds the "
                "paths: ∂v/∂x2 = 2u + 6·x2.",
                "dropped_u_path": "x2 reaches v along two paths: directly through 3·x2² (6·x2) and through "
                "u = 2·x1 + x2 (2u · 1). You kept only the direct one; the multivariable chain rule adds "
                "the paths: ∂v/∂x2 = 2u + 6·x2.",
                "power_no_factor": "Both derivatives are a third of the right value: the power rule brings "
                "the exponent down, d(v³)/dv = 3v².",
                "power_not_reduced": "Both derivatives are v times too large: the power rule lowers the "
                "exponent by one, d(v³)/dv = 3v², not 3v³.",
                "square_rule": "d(u²)/du = 2u: the power rule's factor 2 is missing from ∂v/∂u.",
                "swapped": "The two derivatives are swapped: return (∂f/∂x1, ∂f/∂x2).",
                "numerical": "Close, but not exact: that is a numerical estimate. This exercise asks for the "
                "exact derivatives, multiplying the local derivatives along each path.",
            },
        ),
        Exercise(
            name="topological_order",
            points=2,
            summary="every node the output depends on, each once, inputs first and the output last",
            probe="lab03.topological_order",
            compare=_compare_order,
            messages={
                "parents_only": "Some nodes are missing: the order must hold every node the output depends on, "
                "the inputs too, not only the output's direct inputs. Visit each node's `_prev` recursively.",
                "no_visited": "A node reached along two paths appears twice. Keep a `visited` set and skip "
                "a node you have already placed, so each node appears once.",
                "pre_order": "Your order starts with the output: a node was placed before the nodes it "
                "was computed from. Append a node only after visiting everything in its `_prev` (post-order), "
                "so the inputs come first and the output last; backward() walks the list reversed.",
                "breadth_first": "A node comes before one of its inputs: ordering by distance from the "
                "output (breadth-first) fails when a node is reached by paths of different lengths. "
                "Use depth-first search and append a node after all of its `_prev`.",
            },
        ),
        Exercise(
            name="Value",
            points=5,
            summary="a scalar autograd: +, *, ** (number exponent), relu() and backward() in topological order",
            probe="lab03.autograd",
            compare=_compare_autograd,
            builds_on=("topological_order",),
            messages={
                "no_seed": "Every gradient is 0: backward() must start the chain with `self.grad = 1` "
                "(dy/dy = 1). Each _backward multiplies by the gradient it receives, and 0 times anything is 0.",
                "forward_order": "Only the output's direct inputs got a gradient: you ran the _backward functions "
                "inputs first, before any node had received its gradient. Walk the topological order reversed, "
                "from the output.",
                "assign": "A Value used twice (x in `x * x`, or a node feeding two others) must collect the "
                "gradient of every use. Accumulate with `self.grad += ...` in each _backward; `=` keeps only "
                "the last contribution.",
                "recursive": _RAN_TWICE,
                "duplicates": _RAN_TWICE,
                "pow_no_factor": "The power rule brings the exponent down: d(x**k)/dx = k·x**(k − 1). "
                "The factor k is missing from __pow__'s _backward.",
                "pow_not_reduced": "The power rule lowers the exponent by one: d(x**k)/dx = k·x**(k − 1), "
                "not k·x**k.",
                "relu_always": "ReLU passes the gradient only where its input was positive: its local "
                "derivative is 1 where data > 0 and 0 elsewhere. Yours passed it through everywhere.",
                "relu_grad_sign": "ReLU's gate depends on the input's *data* (data > 0), not on the sign of "
                "the incoming gradient out.grad.",
                "mul_own": "∂(a·b)/∂a = b: each factor's gradient is the *other* factor's data times "
                "out.grad.",
                "no_radd": _REFLECTED.format(forward="__add__", method="__radd__", name="addition", op="+"),
                "no_rmul": _REFLECTED.format(forward="__mul__", method="__rmul__", name="multiplication",
                                             op="*"),
                "radd_recursion": "`other + self` in __radd__ "
                + _RECURSION.format(op="+", method="__radd__", name="addition"),
                "rmul_recursion": "`other * self` in __rmul__ "
                + _RECURSION.format(op="*", method="__rmul__", name="multiplication"),
                "no_wrap_add": "A plain number arrived in __add__ as `other`, and numbers have no `.data`. "
                "Wrap it first: `other = other if isinstance(other, Value) else Value(other)`.",
                "no_wrap_mul": "A plain number arrived in __mul__ as `other`, and numbers have no `.data`. "
                "Wrap it first: `other = other if isinstance(other, Value) else Value(other)`.",
            },
        ),
        Exercise(
            name="nested_tape_gradient",
            points=2,
            summary="(∂f/∂x1, ∂f/∂x2) of the nested f by tf.GradientTape on two float64 variables, as floats",
            rtol=1e-10,
            rtol_float32=1e-10,  # float32 must fail: the exercise is parity with the float64 chain rule
            compare=_compare_tape,
            profile="tensorflow",
            time_limit=60.0,  # importing TensorFlow in the grader's child takes several seconds
            messages={
                "float32": "Right to about 7 digits, not 15: your variables are float32, TensorFlow's default "
                "for a Python float. Create them with `tf.Variable(x1, dtype=tf.float64)`, so that the tape "
                "computes in float64 like NumPy and agrees with nested_backward to the last digits.",
                "gradient_of_v": "These are the derivatives of v = u² + 3·x2², not of f: the tape "
                "differentiates what you pass first, so pass the output, `tape.gradient(f, [x1, x2])`.",
                "gradient_of_u": "(2, 1) are the derivatives of u = 2·x1 + x2, not of f: the tape "
                "differentiates what you pass first, so pass the output, `tape.gradient(f, [x1, x2])`.",
                "dropped_direct": "∂f/∂x2 misses x2's direct path through 3·x2²: the tape saw only the path "
                "through u. A term computed from a plain number (`float(x2)`, `x2.numpy()`, the float x2 "
                "instead of the variable) is a constant to the tape: compute every term from the variables "
                "inside the `with` block.",
            },
        ),
    ),
)
