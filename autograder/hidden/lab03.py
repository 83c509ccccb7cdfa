"""Lab 03 hidden checks: the chain rule by hand, a scalar autograd, their mistakes and cases.

The nested function of seed 001 §3: u = 2·x1 + x2, v = u² + 3·x2², f = v³, with
∂f/∂x1 = 12·u·v² and ∂f/∂x2 = 3·v²·(2u + 6·x2). The autograd is micrograd's ``Value``; its
reference and every known mistake come from one class factory, so that a mistake differs
from the reference in exactly one rule.
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.hidden import build_case
from autograder.probes import lab03 as probe

# nested_forward / nested_backward ----------------------------------------------------


def nested_forward(x1, x2):
    u = 2 * x1 + x2
    v = u**2 + 3 * x2**2
    return float(u), float(v), float(v**3)


def _forward_with(x1, x2, slip):
    u = 2 * (x1 + x2) if slip == "doubled_sum" else 2 * x1 + x2
    square = u * 2 if slip == "u_times_2" else u**2
    v = square + ((3 * x2) ** 2 if slip == "precedence" else 3 * x2**2)
    f = 3 * v if slip == "times_three" else v**3
    return (float(f), float(v), float(u)) if slip == "reversed" else (float(u), float(v), float(f))


FORWARD_MISTAKES = {key: functools.partial(_forward_with, slip=key)
                    for key in ("precedence", "times_three", "u_times_2", "doubled_sum", "reversed")}


def nested_backward(x1, x2):
    u, v, _ = nested_forward(x1, x2)
    df_dv = 3 * v**2
    dv_du = 2 * u
    return df_dv * dv_du * 2, df_dv * (dv_du * 1 + 6 * x2)


def _backward_with(x1, x2, slip):
    u, v, _ = nested_forward(x1, x2)
    df_dv = {"power_no_factor": v**2, "power_not_reduced": 3 * v**3}.get(slip, 3 * v**2)
    dv_du = u if slip == "square_rule" else 2 * u
    du_dx1 = 1 if slip == "no_inner" else 2
    dv_dx2 = {"garbled": 2 * 1 + 6 * x2,  # the seed's "∂u/∂x1 × ∂u/∂x2", taken literally: 2 × 1
              "dropped_direct": dv_du,
              "dropped_u_path": 6 * x2}.get(slip, dv_du + 6 * x2)
    grads = (float(df_dv * dv_du * du_dx1), float(df_dv * dv_dx2))
    return grads[::-1] if slip == "swapped" else grads


def _numerical_backward(x1, x2, h=1e-5):
    f = lambda a, b: nested_forward(a, b)[2]  # noqa: E731
    return ((f(x1 + h, x2) - f(x1 - h, x2)) / (2 * h), (f(x1, x2 + h) - f(x1, x2 - h)) / (2 * h))


def _complex_step_backward(x1, x2, h=1e-30):
    """Exact to the last digit, without the chain rule: Im f(x + ih·e) / h."""
    f = lambda a, b: ((2 * a + b) ** 2 + 3 * b**2) ** 3  # noqa: E731
    return f(x1 + 1j * h, x2).imag / h, f(x1, x2 + 1j * h).imag / h


BACKWARD_MISTAKES = {
    **{key: functools.partial(_backward_with, slip=key)
       for key in ("no_inner", "garbled", "dropped_direct", "dropped_u_path", "power_no_factor",
                   "power_not_reduced", "square_rule", "swapped")},
    "numerical": _numerical_backward,
    "complex_step": _complex_step_backward,
}


def _point_label(x1, x2) -> str:
    return f"x1 = {x1:g}, x2 = {x2:g}"


def _forward_case(x1, x2):
    return build_case(_point_label(x1, x2), (x1, x2), nested_forward, FORWARD_MISTAKES)


def _watched(backward):
    return lambda x1, x2: probe.chain_rule(backward, x1, x2)


def _backward_case(x1, x2):
    return build_case(_point_label(x1, x2), (x1, x2), _watched(nested_backward),
                      {key: _watched(fn) for key, fn in BACKWARD_MISTAKES.items()})


# nested_tape_gradient ------------------------------------------------------------------
# The reference is the chain rule's exact result: the tape in float64 agrees with it to ~1e-15,
# so no TensorFlow is needed to draw the cases (NumPy-only grading never imports it).


def nested_tape_gradient(x1, x2):
    return tuple(float(g) for g in nested_backward(x1, x2))


def _tape_in_float32(x1, x2):
    """The float32 tape's result, as float32 numbers: ``compare`` matches it at float32's precision."""
    x1, x2 = np.float32(x1), np.float32(x2)
    u = np.float32(2) * x1 + x2
    v = u * u + np.float32(3) * x2 * x2
    df_dv = np.float32(3) * v * v
    return df_dv * np.float32(2) * u * np.float32(2), df_dv * (np.float32(2) * u + np.float32(6) * x2)


def _tape_of(x1, x2, slip):
    u, v, _ = nested_forward(x1, x2)
    return {"gradient_of_v": (4 * u, 2 * u + 6 * x2),  # tape.gradient(v, [x1, x2])
            "gradient_of_u": (2.0, 1.0),  # tape.gradient(u, [x1, x2])
            "dropped_direct": (12 * u * v**2, 3 * v**2 * 2 * u)}[slip]  # 3·x2² from a plain number


TAPE_MISTAKES = {"float32": _tape_in_float32,
                 **{key: functools.partial(_tape_of, slip=key)
                    for key in ("gradient_of_v", "gradient_of_u", "dropped_direct")},
                 "complex_step": lambda x1, x2: _complex_step_backward(x1, x2)}


def _taped(fn):
    return lambda x1, x2: probe.tape(fn, x1, x2)


def _tape_case(x1, x2):
    return build_case(_point_label(x1, x2), (x1, x2), _taped(nested_tape_gradient),
                      {key: _taped(fn) for key, fn in TAPE_MISTAKES.items()})


# topological_order --------------------------------------------------------------------


def topological_order(root):
    order, visited = [], set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            for parent in node._prev:
                visit(parent)
            order.append(node)

    visit(root)
    return order


def _no_visited(root):
    order = []

    def visit(node):
        for parent in node._prev:
            visit(parent)
        order.append(node)

    visit(root)
    return order


def _pre_order(root):
    order, visited = [], set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            order.append(node)
            for parent in node._prev:
                visit(parent)

    visit(root)
    return order


def _breadth_first(root):
    order, seen = [root], {root}
    for node in order:
        for parent in node._prev:
            if parent not in seen:
                seen.add(parent)
                order.append(parent)
    return order[::-1]


ORDER_MISTAKES = {
    "parents_only": lambda root: [*dict.fromkeys(root._prev), root],
    "no_visited": _no_visited,
    "pre_order": _pre_order,
    "breadth_first": _breadth_first,
}


def _operands(op) -> tuple:
    kind, i, *rest = op
    return (i, rest[0]) if kind in ("add", "mul") else (i,)


def _is_topological(sequence, parents) -> bool:
    placed = set()
    for name in sequence:
        if any(parent not in placed for parent in parents[name]):
            return False
        placed.add(name)
    return True


def draw_graph(rng, program, num_inputs):
    """``program`` as the graph ``probes.lab03.topological_order`` builds: ``(name, op, parent names)`` per node.

    Neither the listing (the order the probe creates the nodes in) nor the names sorted are a
    topological order: the intermediate nodes' letters are shuffled until their alphabetical order
    breaks an edge (where the graph has an edge between two of them), and the listing is shuffled
    until some node comes before one of its inputs. Returns (graph, names in program order).
    """
    names = probe.node_names(num_inputs, len(program))
    inner = names[num_inputs:-1]
    parents = {}
    for _ in range(200):
        letters = [inner[i] for i in rng.permutation(len(inner))]
        renamed = names[:num_inputs] + letters + names[len(names) - 1:]
        parents = {renamed[m]: () for m in range(num_inputs)}
        parents.update({renamed[num_inputs + k]: tuple(renamed[i] for i in _operands(op))
                        for k, op in enumerate(program)})
        if not _is_topological(names[:num_inputs] + sorted(letters) + ["y"], parents):
            break
    entries = [(name, "" if m < num_inputs else program[m - num_inputs][0], parents[name])
               for m, name in enumerate(renamed)]
    for _ in range(200):
        listing = [entries[i] for i in rng.permutation(len(entries))]
        if not _is_topological([name for name, _, _ in listing], parents):
            break
    return tuple(listing), renamed


def _order_case(program, num_inputs, rng):
    graph, names = draw_graph(rng, program, num_inputs)
    lines = [", ".join(names[:num_inputs]) + (" is an input" if num_inputs == 1 else " are inputs")]
    lines += [f"{names[num_inputs + k]} = {probe.expression(op, names)}" for k, op in enumerate(program)]
    label = f"{'; '.join(lines)}; topological_order(y)"

    def run(order_fn):
        def judged(graph):
            order = probe.topological_order(order_fn, graph)
            return {"graph": graph, "order": tuple(order) if isinstance(order, list) else order}

        return judged

    return build_case(label, (graph,), run(topological_order), {key: run(fn) for key, fn in ORDER_MISTAKES.items()})


# Value --------------------------------------------------------------------------------


def make_value_class(*, accumulate=True, backward_mode="topological", pow_rule="power", relu_rule="data",
                     mul_rule="other", wrap_add=True, wrap_mul=True, radd="commute", rmul="commute"):
    """The reference ``Value`` (all defaults), or one with exactly the slips named."""

    def give(node, amount):
        node.grad = node.grad + amount if accumulate else amount

    def attach(out, rule):
        # "unwatched" and "idle_calls" keep the chain rule where the check does not watch it (_rule): exact
        # gradients with no _backward call, or with calls that do nothing, as a backward() computing its
        # gradients another way (numerically, by complex steps) gives
        out._rule = rule
        out._backward = (lambda: None) if backward_mode == "idle_calls" else rule

    class Value:
        def __init__(self, data, _prev=(), _op=""):
            self.data = data
            self.grad = 0.0
            self._prev = tuple(_prev)
            self._op = _op
            self._backward = lambda: None

        def __repr__(self):
            return f"Value(data={self.data!r}, grad={self.grad!r})"

        def __add__(self, other):
            if wrap_add:
                other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data + other.data, (self, other), "+")

            def _backward():
                give(self, out.grad)
                give(other, out.grad)

            attach(out, _backward)
            return out

        def __mul__(self, other):
            if wrap_mul:
                other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data * other.data, (self, other), "*")

            def _backward():
                own = mul_rule == "own"
                give(self, (self.data if own else other.data) * out.grad)
                give(other, (other.data if own else self.data) * out.grad)

            attach(out, _backward)
            return out

        def __pow__(self, exponent):
            if not isinstance(exponent, (int, float)):
                raise TypeError(f"Value ** exponent needs a plain number. Received: {exponent!r}")
            out = Value(self.data**exponent, (self,), f"**{exponent}")

            def _backward():
                local = {"power": exponent * self.data ** (exponent - 1),
                         "no_factor": self.data ** (exponent - 1),
                         "not_reduced": exponent * self.data**exponent}[pow_rule]
                give(self, local * out.grad)

            attach(out, _backward)
            return out

        def relu(self):
            out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

            def _backward():
                gate = {"data": self.data > 0, "always": True, "grad_sign": out.grad > 0}[relu_rule]
                give(self, out.grad if gate else 0.0)

            attach(out, _backward)
            return out

        def backward(self):
            if backward_mode == "recursive":
                self.grad = 1.0

                def run(node):
                    node._backward()
                    for parent in node._prev:
                        run(parent)

                run(self)
                return
            if backward_mode in ("unwatched", "idle_calls"):
                order = topological_order(self)
                self.grad = 1.0
                for node in reversed(order):
                    getattr(node, "_rule", lambda: None)()
                for node in reversed(order) if backward_mode == "idle_calls" else ():
                    node._backward()
                return
            order = (_no_visited if backward_mode == "duplicates" else topological_order)(self)
            if backward_mode != "no_seed":
                self.grad = 1.0
            for node in (order if backward_mode == "forward_order" else reversed(order)):
                node._backward()

    if radd == "commute":
        Value.__radd__ = lambda self, other: self + other
    elif radd == "recursion":
        Value.__radd__ = lambda self, other: other + self
    if rmul == "commute":
        Value.__rmul__ = lambda self, other: self * other
    elif rmul == "recursion":
        Value.__rmul__ = lambda self, other: other * self
    return Value


Value = make_value_class()

VALUE_MISTAKES = {
    "no_seed": make_value_class(backward_mode="no_seed"),
    "forward_order": make_value_class(backward_mode="forward_order"),
    "assign": make_value_class(accumulate=False),
    "recursive": make_value_class(backward_mode="recursive"),
    "duplicates": make_value_class(backward_mode="duplicates"),
    "pow_no_factor": make_value_class(pow_rule="no_factor"),
    "pow_not_reduced": make_value_class(pow_rule="not_reduced"),
    "relu_always": make_value_class(relu_rule="always"),
    "relu_grad_sign": make_value_class(relu_rule="grad_sign"),
    "mul_own": make_value_class(mul_rule="own"),
    "no_radd": make_value_class(radd="missing"),
    "no_rmul": make_value_class(rmul="missing"),
    "radd_recursion": make_value_class(radd="recursion"),
    "rmul_recursion": make_value_class(rmul="recursion"),
    "no_wrap_add": make_value_class(wrap_add=False),
    "no_wrap_mul": make_value_class(wrap_mul=False),
    "unwatched": make_value_class(backward_mode="unwatched"),
    "idle_calls": make_value_class(backward_mode="idle_calls"),
}


def _with_class(value_class):
    return lambda program, inputs: probe.autograd(value_class, program, inputs)


def _value_case(program, inputs, name=""):
    label = f"{name}{': ' if name else ''}{probe.describe(program, inputs)}; y.backward()"
    return build_case(label, (tuple(program), tuple(inputs)), _with_class(Value),
                      {key: _with_class(cls) for key, cls in VALUE_MISTAKES.items()})


# random programs -----------------------------------------------------------------------

_CONSTANT_OPS = ("addc", "mulc", "radd", "rmul")


def _evaluate(program, inputs) -> list[float]:
    """The value of every node of ``program``, in plain floats."""
    values = [float(x) for x in inputs]
    for op in program:
        values.append(probe.apply(op, values, relu=lambda x: max(x, 0.0)))
    return values


def _uses(program, num_nodes) -> np.ndarray:
    counts = np.zeros(num_nodes, dtype=int)
    for kind, i, *rest in program:
        counts[i] += 1
        if kind in ("add", "mul"):
            counts[rest[0]] += 1
    return counts


def _pick(rng, candidates):
    """One of ``candidates`` (node indices), the newest ones likelier, or None when there are none."""
    if not candidates:
        return None
    weights = np.arange(1, len(candidates) + 1, dtype=float) ** 1.5
    return candidates[int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum()))]


def _draw_op(rng, values, program, num_inputs, structure_only):
    """One operation on the current nodes, or None when the drawn one does not fit them.

    ReLUs go first to a side of 0 that no ReLU has seen yet, and a sum or product reuses an
    intermediate node half of the time, so that the graphs have diamonds.
    """
    everything = list(range(len(values)))
    kinds = ("add", "mul", "pow", "relu") if structure_only else ("add", "mul", "pow", "relu", *_CONSTANT_OPS)
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind in ("add", "mul"):
        used = [k for k in range(num_inputs, len(values)) if _uses(program, len(values))[k] > 0]
        first = _pick(rng, used) if used and rng.random() < 0.5 else _pick(rng, everything)
        return (kind, first, _pick(rng, everything))
    if kind == "relu":
        seen = [values[i] for k, i, *_ in program if k == "relu"]
        sides = [side for side in (1, -1) if not any(side * v > 0 for v in seen)] or [1, -1]
        side = sides[int(rng.integers(len(sides)))]
        i = _pick(rng, [k for k in everything if side * values[k] > 0.05])
        return None if i is None else ("relu", i)
    i = _pick(rng, everything)
    if kind == "pow":
        exponent = 2 if structure_only else (2, 3, -1, 0.5, 2)[int(rng.integers(5))]
        if (exponent == 0.5 and values[i] < 0.2) or (exponent == -1 and abs(values[i]) < 0.4):
            return None
        return ("pow", i, exponent)
    constant = float(np.round(rng.choice([-1, 1]) * rng.uniform(0.5, 3.0), 1))
    return (kind, i, constant if abs(constant) != 1 else 2 * constant)


def _add_missing_relus(rng, program, values):
    """Appends a ReLU on each side of 0 that no ReLU of ``program`` has seen yet, where a node allows."""
    seen = [values[i] for kind, i, *_ in program if kind == "relu"]
    for side in (1, -1):
        if not any(side * v > 0 for v in seen):
            i = _pick(rng, [k for k in range(len(values)) if side * values[k] > 0.05])
            if i is not None:
                program.append(("relu", i))


def random_program(rng, num_inputs, num_ops, structure_only=False, max_tries=500):
    """A random program with reuse (a node feeding two others), ReLUs on both sides of 0,
    every node reaching the output, and moderate numbers; returns (program, inputs)."""
    for _ in range(max_tries):
        inputs = tuple(float(np.round(rng.choice([-1, 1]) * rng.uniform(0.3, 2.0), 2)) for _ in range(num_inputs))
        program, values = [], list(inputs)
        while len(program) < num_ops:
            op = _draw_op(rng, values, program, num_inputs, structure_only)
            if op is not None:
                program.append(op)
                values = _evaluate(program, inputs)
        if not structure_only:
            _add_missing_relus(rng, program, values)
            values = _evaluate(program, inputs)
        used = [k for k, count in enumerate(_uses(program, len(values))) if k >= num_inputs and count == 1]
        if used and not np.any(_uses(program, len(values))[num_inputs:] >= 2):
            program.append(("add", len(values) - 1, _pick(rng, used)))
            values = _evaluate(program, inputs)
        dangling = [k for k, count in enumerate(_uses(program, len(values))) if count == 0][:-1]
        for k in dangling:
            program.append(("add", len(values) - 1, k))
            values = _evaluate(program, inputs)
        if _acceptable(program, inputs, values, structure_only):
            return tuple(program), inputs
    raise RuntimeError("no acceptable random program")


def _acceptable(program, inputs, values, structure_only) -> bool:
    uses = _uses(program, len(values))
    if not np.any(uses[len(inputs):] >= 2):  # a diamond inside the graph, not only at an input
        return False
    if len(program) > 14:
        return False
    if structure_only:
        return True
    relu_inputs = [values[i] for kind, i, *_ in program if kind == "relu"]
    if not (any(v > 0 for v in relu_inputs) and any(v < 0 for v in relu_inputs)):
        return False
    if not any(kind in _CONSTANT_OPS for kind, *_ in program):
        return False
    grads = probe.autograd(Value, program, inputs)[1]
    return bool(max(map(abs, values)) < 200 and np.all(np.abs(grads) < 1e4) and np.any(np.abs(grads) > 1e-3))


EQUIVALENT_MUTANTS = {
    "nested_backward · arithmetic · dv_du * du_dx2 → dv_du / du_dx2": "∂u/∂x2 = 1 in this fixed function, so "
    "multiplying or dividing by it is the same",
    "Value.__pow__ · drop_statement · if not isinstance(exponent, (int, float)): → pass": "without the check, "
    "self.data ** exponent still raises TypeError for a Value exponent (float has no ** with a Value)",
    "Value.__pow__ · drop_statement · raise TypeError(f'Value ** exponent needs a plain number exponent. "
    "Received: {exponent!r}') → pass": "without the raise, self.data ** exponent still raises TypeError for a "
    "Value exponent; only the message differs",
    "Value.relu · comparison · self.data > 0 → self.data >= 0": "at exactly 0 both branches give 0.0 (the "
    "gradient's own comparison is checked by the ReLU-at-0 cases)",
}


# the cases ----------------------------------------------------------------------------

POLYNOMIAL = (("pow", 0, 3), ("pow", 0, 2), ("rmul", 2, 2), ("add", 1, 3), ("addc", 4, 1), ("add", 5, 0))
THREE_X_SQUARED = (("pow", 0, 2), ("rmul", 1, 3))
NESTED = (("rmul", 0, 2), ("add", 2, 1), ("pow", 3, 2), ("pow", 1, 2), ("rmul", 5, 3), ("add", 4, 6), ("pow", 7, 3))
SQUARE = (("mul", 0, 0),)
DIAMOND = (("add", 0, 1), ("mulc", 2, 2), ("pow", 2, 2), ("add", 3, 4))
TWO_RELUS = (("mul", 0, 1), ("relu", 3), ("add", 2, 0), ("relu", 5), ("rmul", 6, -0.5), ("add", 4, 7))
ROOTS = (("pow", 0, 0.5), ("mulc", 1, 1.5), ("pow", 0, -1), ("add", 2, 3), ("radd", 4, 0.5))

ADD_MUL = (("mul", 0, 1), ("add", 2, 0), ("mulc", 3, 2.0))  # + and * only: feedback before ** is written
RELU_AT_ZERO = (("add", 0, 1), ("relu", 2), ("mul", 3, 0), ("add", 4, 1))  # relu'(0) = 0

CHAIN = (("pow", 0, 2), ("relu", 1), ("pow", 2, 2))
SHORTCUT = (("mul", 0, 1), ("pow", 2, 2), ("relu", 3), ("add", 4, 2))


def public_cases():
    """The course's numbers (SEED_ERRATA.md) and the graphs that tell the mistakes apart."""
    return {
        "nested_forward": [_forward_case(1.0, 2.0), _forward_case(-1.5, 0.5)],
        "nested_backward": [_backward_case(1.0, 2.0), _backward_case(-1.5, 0.5)],
        # (1, 2) and (−1.5, 0.5) are exact in float32 too; (0.37, −1.21) is not, and tells float32 apart
        "nested_tape_gradient": [_tape_case(1.0, 2.0), _tape_case(-1.5, 0.5), _tape_case(0.37, -1.21)],
        # names and listing drawn once, with a fixed generator: public, like every public case
        "topological_order": [_order_case(program, num_inputs, np.random.default_rng(3))
                              for program, num_inputs in ((CHAIN, 1), (SHORTCUT, 2), (SQUARE, 1))],
        "Value": [
            _value_case(SQUARE, (3.0,), "x used twice"),
            _value_case(ADD_MUL, (1.5, -2.0), "+ and * only"),
            _value_case(POLYNOMIAL, (2.0,), "y = x³ + 2x² + x + 1 at 2 (dy/dx = 21)"),
            _value_case(THREE_X_SQUARED, (2.0,), "y = 3x² at 2 (dy/dx = 12)"),
            _value_case(DIAMOND, (1.5, -0.5), "a diamond: a feeds b and c"),
            _value_case(TWO_RELUS, (0.5, -2.0, 1.5), "ReLU on both sides of 0"),
            _value_case(NESTED, (1.0, 2.0), "the nested f = ((2·x1 + x2)² + 3·x2²)³"),
            _value_case(ROOTS, (4.0,), "powers 0.5 and −1, numbers on both sides"),
        ],
    }


def _point(rng):
    """(x1, x2) with u and x2 away from 0, so that every slip changes the numbers."""
    while True:
        x1, x2 = (float(v) for v in np.round(rng.uniform(-2, 2, size=2), 2))
        if abs(2 * x1 + x2) > 0.2 and abs(x2) > 0.2:
            return x1, x2


def _polynomial(rng):
    """c0 + (c3·x³ + c2·x² + c0 + x) at a random x: numbers on both sides of + and *, on every draw (the
    random programs need not have a number on the left of +)."""
    c3, c2, c0 = (float(np.round(rng.uniform(0.5, 3), 1)) for _ in range(3))
    program = (("pow", 0, 3), ("rmul", 1, c3), ("pow", 0, 2), ("rmul", 3, c2), ("add", 2, 4), ("addc", 5, c0),
               ("add", 6, 0), ("radd", 7, c0))
    return program, (float(np.round(rng.uniform(-2, 2), 2)) or 1.0,)


def hidden_cases(rng):
    """Inputs drawn from ``rng``: the published answers alone cannot pass these."""
    points = [_point(rng) for _ in range(3)]
    structures = [random_program(rng, int(rng.integers(1, 4)), int(rng.integers(4, 9)), structure_only=True)
                  for _ in range(3)]
    zero = float(rng.integers(1, 9)) / 4
    programs = [random_program(rng, int(rng.integers(1, 4)), int(rng.integers(5, 10))) for _ in range(4)]
    # a generator of its own for the graphs' names and listings: the other draws stay as they were
    shuffler = np.random.default_rng(int(rng.integers(2**63)))
    return {
        "nested_forward": [_forward_case(*p) for p in points],
        "nested_backward": [_backward_case(*p) for p in points],
        "nested_tape_gradient": [_tape_case(*p) for p in points],
        "topological_order": [_order_case(program, len(inputs), shuffler) for program, inputs in structures],
        "Value": [_value_case(*_polynomial(rng), "a polynomial")]
        + [_value_case(RELU_AT_ZERO, (zero, -zero), "ReLU exactly at 0 passes no gradient")]
        + [_value_case(program, inputs) for program, inputs in programs],
    }
