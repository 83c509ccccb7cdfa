"""Lab 03 · the chain rule and computational graphs: exercises and known mistakes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from autograder.checks.core import Exercise, Lab, compare_numbers, compare_values, format_value
from autograder.probes.lab03 import STALE, node_names

FLOAT32_ATOL = 1e-4


def _reachable(parents: dict, root: str = "y") -> set:
    seen, stack = set(), [root]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(parents.get(name, ()))
    return seen


def _order_findings(order, graph) -> tuple[str, dict]:
    """What is wrong with ``order`` (the names the probe read off what topological_order returned) on
    ``graph``, judged here from the graph the grader drew: (verdict, the nodes concerned)."""
    if isinstance(order, str):
        return order, {}
    if not isinstance(order, (list, tuple)) or not all(isinstance(name, str) for name in order):
        return "unreadable", {}
    order = list(order)
    parents = {name: tuple(prev) for name, _, prev in graph}
    if STALE in order:
        return "stale", {}
    if "?" in order or any(name not in parents for name in order):
        return "not_nodes", {}
    first = {}
    for position, name in enumerate(order):
        first.setdefault(name, position)
    nodes = [name for name, _, _ in sorted(graph, key=lambda entry: _course_rank(entry[0]))]
    needed = _reachable(parents)
    findings = {
        "missing": [n for n in nodes if n in needed and n not in first],
        "repeated": [n for n in nodes if order.count(n) > 1],
        "before_inputs": [n for n in nodes if n in first and any(first.get(p, -1) > first[n] for p in parents[n])],
    }
    for key in ("missing", "repeated"):
        if findings[key]:
            return key, findings
    if findings["before_inputs"]:
        return ("output_first" if order[:1] == ["y"] else "before_inputs"), findings
    return "valid", findings


def _course_rank(name: str):
    """Inputs, then the letters, then y: the order names are listed in messages."""
    return (0, int(name[1:]) if name[1:].isdigit() else 0, name) if name.startswith("x") else (
        (2, 0, name) if name == "y" else (1, 0, name))


def _order_of(value):
    return value.get("order") if isinstance(value, dict) else value


def _compare_order(received, expected, exercise: Exercise) -> str | None:
    """Any valid topological order passes; a wrong one matches a mistake of the same kind.

    The probe reports only the names of the nodes the student's function returned, in its
    order; the verdict (missing, repeated, placed before one of its inputs) is made here from
    the graph the grader drew, which ``expected`` (and each mistake's value) carries. A report
    made up in the student's process therefore passes only if it is a valid order of a graph
    it was given in a non-topological order. Two results match when they are wrong (or right)
    in the same way.
    """
    if not isinstance(expected, dict):
        return None if received == expected else "a different result"
    graph = expected["graph"]
    verdict, findings = _order_findings(_order_of(received), graph)
    if verdict == _order_findings(expected["order"], graph)[0]:
        return None
    names = lambda key: ", ".join(findings.get(key, []))  # noqa: E731
    return {
        "unreadable": "expected the list of nodes that topological_order returned",
        "not_nodes": "some items are not nodes of the graph: return the nodes themselves, not their data or names",
        "stale": "your list still holds nodes from an earlier call. A default argument such as `order=[]` (or a "
        "global list) is created once and shared by every call: create the list and the set inside the function",
        "missing": f"missing: {names('missing')}",
        "repeated": f"more than once: {names('repeated')}",
        "output_first": f"before one of their inputs: {names('before_inputs')}",
        "before_inputs": f"before one of their inputs: {names('before_inputs')}",
        "valid": "this order is valid",
    }.get(verdict, verdict)


def _show_order(value) -> str:
    order = _order_of(value)
    if isinstance(order, (list, tuple)):
        return "[" + ", ".join(str(name) for name in order) + "]"
    return str(order)


def _compare_tuple(received, expected, exercise: Exercise) -> str | None:
    """A tuple of numbers; a list or a 1-D array of the same length is fine too."""
    if isinstance(received, np.ndarray) and received.ndim == 1:
        received = tuple(received)
    return compare_values(received, expected, exercise)


def _chain_flags(evidence) -> tuple[bool, bool]:
    """(complex numbers met the inputs or nested_forward, nested_forward ran at another point)."""
    try:
        complex_uses, other_points = evidence
        return int(complex_uses) > 0, int(other_points) > 0
    except (TypeError, ValueError):
        return True, True


def _compare_chain_rule(received, expected, exercise: Exercise) -> str | None:
    """nested_backward's two numbers as ``_compare_tuple`` judges them, and how they were found.

    Exact numbers do not show the chain rule: a complex step, Im f(x + ih) / h, is exact to the
    last digit too. The probe (``probes.lab03.chain_rule``) notes complex arithmetic on the inputs
    or inside nested_forward, and calls of nested_forward at other points; a result found that
    way fails even where its numbers are exact. Against a mistake that evaluates f elsewhere
    (central differences) only the complex arithmetic is compared, since that mistake may or may
    not go through nested_forward.
    """
    if not isinstance(received, (tuple, list)) or len(received) != 2:
        return "expected nested_backward's result and the probe's notes"
    result, evidence = received
    want, want_evidence = expected
    reason = _compare_tuple(result, want, exercise)
    if reason is not None:
        return reason
    (got_complex, got_points), (want_complex, want_points) = _chain_flags(evidence), _chain_flags(want_evidence)
    if got_complex != want_complex:
        return "complex numbers met f: these derivatives come from a complex step, not the chain rule" if (
            got_complex) else "no complex step"
    if got_points and not want_points:
        return ("nested_forward ran at points other than (x1, x2): derivatives from differences of f, not the "
                "chain rule")
    return None


def _show_chain_rule(value) -> str:
    if isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[1], (tuple, list)):
        return format_value(value[0])
    return format_value(value)


def _compare_autograd(received, expected, exercise: Exercise) -> str | None:
    """(y.data, input grads) with the exercise's tolerances, then how backward() got them.

    The numbers alone cannot tell backpropagation from a gradient found another way (complex-step
    differentiation is exact to the last digit). So the probe also watches each operation's
    ``_backward`` (``probes.lab03._Watch``), and the record is judged against the reference's,
    run through the same probe: every node's ``_backward`` called exactly once, the node's grad
    at that moment equal to ∂y/∂node (so every node computed from it had already passed its
    gradient back), and that call adding the node's grad times the local derivatives to its
    operands' grads (the chain rule's step). A backward() that fills in the grads by itself
    never calls them, or calls them without effect, and fails, however exact its numbers.
    The record is compared with the tolerances of the gradients, relative to the largest
    amount in the reference's record. A string names a line that failed.
    """
    if isinstance(expected, str):
        return None if received == expected else "a different result"
    if isinstance(received, str):
        return received
    if not isinstance(received, (tuple, list)) or len(received) != 3:
        return "expected (y.data, grads, the record of the _backward calls)"
    data, grads, calls = received
    if np.asarray(grads).dtype == np.float32:
        # float32 loses ~1e-7 of the largest intermediate value (up to a few hundred here), so a
        # small gradient that is a difference of large terms gets an absolute tolerance.
        exercise = replace(exercise, atol=FLOAT32_ATOL, rtol=max(exercise.rtol, exercise.rtol_float32))
    reason = compare_numbers(data, expected[0], exercise)
    if reason is not None:
        return f"y.data: {reason}"
    reason = compare_numbers(grads, expected[1], exercise)
    if reason is not None:
        got, want = np.asarray(grads, dtype=float), np.asarray(expected[1], dtype=float)
        if got.shape != want.shape:
            return reason
        bad = int(np.argmax(np.abs(got - want) > exercise.atol + exercise.rtol * np.abs(want)))
        return f"x{bad + 1}.grad is {format_value(got[bad])}, expected {format_value(want[bad])}"
    return _compare_calls(calls, expected[2], len(expected[1]), exercise)


def _compare_calls(received, expected, num_inputs: int, exercise: Exercise) -> str | None:
    """The record of the ``_backward`` calls against the reference's (or a mistake's)."""
    if expected is None:
        return None if received is None else "a different record"
    if received is None:
        return ("the check could not watch your Values' `_backward` (it sets each node's `_backward` "
                "attribute): keep `_backward` a plain attribute, as in the class given")
    try:
        counts, at_call, added = (np.asarray(part) for part in received)
        want_counts, want_at_call, want_added = (np.asarray(part) for part in expected)
        readable = (counts.shape == want_counts.shape and added.shape == want_added.shape
                    and at_call.shape == want_at_call.shape and counts.dtype.kind in "iu"
                    and at_call.dtype.kind == "f" and added.dtype.kind == "f")
    except (TypeError, ValueError):
        readable = False
    if not readable:
        return "expected the record of the _backward calls"
    names = node_names(num_inputs, len(want_counts))
    for k in reversed(range(len(want_counts))):
        name, got, want = names[num_inputs + k], int(counts[k]), int(want_counts[k])
        if got != want and want == 1:
            return (f"{name}'s _backward was never called: backward() must call the _backward of every Value the "
                    "output depends on, once each, output first (the check watches those calls, so gradients "
                    "found another way, e.g. numerically, do not count)") if got == 0 else (
                f"{name}'s _backward ran {got} times: call each node's _backward exactly once")
        if got != want:
            return f"{name}'s _backward ran {got} times, expected {want}"
    if not np.all(want_counts == 1):
        return None
    scale = max(float(np.nanmax(np.abs(want_added), initial=0.0)), float(np.nanmax(np.abs(want_at_call),
                                                                                    initial=0.0)), 1.0)
    tolerance = lambda want: exercise.atol + exercise.rtol * (np.abs(want) + 1e-3 * scale)  # noqa: E731
    with np.errstate(invalid="ignore"):
        for k in reversed(range(len(want_counts))):
            name = names[num_inputs + k]
            if not abs(at_call[k] - want_at_call[k]) <= tolerance(want_at_call[k]):
                return (f"when {name}'s _backward ran, {name}.grad was {format_value(float(at_call[k]))}, expected "
                        f"{format_value(float(want_at_call[k]))}: a node's _backward must run after every node "
                        "computed from it has passed its gradient back (reversed topological order)")
            wrong = ~(np.abs(added[k] - want_added[k]) <= tolerance(want_added[k]))
            if np.any(wrong):
                j = int(np.argmax(wrong))
                return (f"{name}'s _backward added {format_value(float(added[k, j]))} to {names[j]}.grad, "
                        f"expected {format_value(float(want_added[k, j]))} ({name}.grad times the local derivative)")
    return None


def _show_autograd(value) -> str:
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return f"y.data = {format_value(value[0])}, grads = {format_value(value[1])}"
    return format_value(value)


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


def _compare_tape_watched(received, expected, exercise: Exercise) -> str | None:
    """The tape's two numbers as ``_compare_tape`` judges them, and no complex numbers on the way.

    ``probes.lab03.tape`` passes floats that note complex arithmetic: a complex step, exact to the
    last digit, would pass the numbers without the tape the exercise asks for.
    """
    if not isinstance(received, (tuple, list)) or len(received) != 2 or isinstance(received[1], float):
        return "expected the tape's result and the probe's notes"
    (result, uses), (want, want_uses) = received, expected
    reason = _compare_tape(result, want, exercise)
    if reason is not None:
        return reason
    try:
        used, wanted = int(uses) > 0, int(want_uses) > 0
    except (TypeError, ValueError):
        return "expected the probe's notes"
    if used != wanted:
        return "complex numbers met f: these derivatives come from a complex step, not the tape" if used else (
            "no complex step")
    return None


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
            probe="lab03.chain_rule",
            compare=_compare_chain_rule,
            show=_show_chain_rule,
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
                "complex_step": "Exact, but not by the chain rule: these derivatives come from a complex step, "
                "Im f(x + ih) / h. This exercise asks for the chain rule: run nested_forward for u and v, then "
                "multiply the local derivatives along each path (∂f/∂v = 3v², ∂v/∂u = 2u, ∂u/∂x1 = 2) and add "
                "the paths where x2 has two.",
            },
        ),
        Exercise(
            name="topological_order",
            points=2,
            summary="every node the output depends on, each once, inputs first and the output last",
            probe="lab03.topological_order",
            compare=_compare_order,
            show=_show_order,
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
            show=_show_autograd,
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
                "unwatched": "Your gradients are right, but backward() never called the nodes' _backward: they "
                "were found another way (numerically, by complex steps, or by rules kept elsewhere). This exercise "
                "is backpropagation, and the check watches it: backward() calls each node's _backward once, output "
                "first, and each _backward adds its node's grad times the local derivatives to the grads in _prev.",
                "idle_calls": "backward() called every node's _backward, but those calls added nothing to the grads "
                "in _prev: your gradients came from elsewhere. Each _backward is the chain rule's step, and the "
                "check watches what it adds: its node's grad times the local derivative, to each operand's grad "
                "(`self.grad += ...`).",
            },
        ),
        Exercise(
            name="nested_tape_gradient",
            points=2,
            summary="(∂f/∂x1, ∂f/∂x2) of the nested f by tf.GradientTape on two float64 variables, as floats",
            rtol=1e-10,
            rtol_float32=1e-10,  # float32 must fail: the exercise is parity with the float64 chain rule
            probe="lab03.tape",
            compare=_compare_tape_watched,
            show=_show_chain_rule,
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
                "complex_step": "Exact, but not from the tape: complex numbers met f (a complex step). Make x1 "
                "and x2 tf.Variables of dtype tf.float64, compute f from them inside a tf.GradientTape, and return "
                "tape.gradient(f, [x1, x2]) as two floats.",
            },
        ),
    ),
)
