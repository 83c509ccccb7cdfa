"""Lab 03 probes: build computational graphs from data with the student's code and report.

A *program* is a tuple of operations in SSA form over numbered nodes: nodes 0 … n−1 are
the inputs, named ``x1 … xn`` as in the course, and operation k creates node n + k,
named ``a, b, c, …``. The last node is the output ``y``.

==========================  ==================  ===========================
operation                   creates             Python it runs
==========================  ==================  ===========================
``("add", i, j)``           ``a = x1 + x2``     ``nodes[i] + nodes[j]``
``("mul", i, j)``           ``a = x1 * x2``     ``nodes[i] * nodes[j]``
``("pow", i, k)``           ``a = x1 ** 2``     ``nodes[i] ** k`` (k a number)
``("relu", i)``             ``a = x1.relu()``   ``nodes[i].relu()``
``("addc", i, c)``          ``a = x1 + 1.5``    a plain number on the right
``("mulc", i, c)``          ``a = x1 * 1.5``
``("radd", i, c)``          ``a = 1.5 + x1``    a plain number on the left
``("rmul", i, c)``          ``a = 1.5 * x1``
==========================  ==================  ===========================

The probes only build graphs, watch the student's objects and read back what they hold; they
contain no rule of differentiation and judge nothing: the grader judges their reports against
the graph it drew.
"""

from __future__ import annotations

import random

import numpy as np

_OPERAND_OPS = ("addc", "mulc", "radd", "rmul")
STALE = "<a node from an earlier call>"
_LETTERS = "abcdefghijklmnopqrstuvw"


def node_names(num_inputs: int, num_ops: int) -> list[str]:
    """``x1 … xn``, then ``a, b, c, …`` for the intermediate nodes and ``y`` for the output."""
    inner = [_LETTERS[k] if k < len(_LETTERS) else f"a{k}" for k in range(max(num_ops - 1, 0))]
    return [f"x{i + 1}" for i in range(num_inputs)] + inner + (["y"] if num_ops else [])


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def expression(op, names) -> str:
    """The Python expression of one operation, e.g. ``x1 * x2`` or ``2.5 + a``."""
    kind, i, *rest = op
    other = rest[0] if rest else None
    text = {
        "add": lambda: f"{names[i]} + {names[other]}",
        "mul": lambda: f"{names[i]} * {names[other]}",
        "pow": lambda: f"{names[i]} ** {_number(other)}",
        "relu": lambda: f"{names[i]}.relu()",
        "addc": lambda: f"{names[i]} + {_number(other)}",
        "mulc": lambda: f"{names[i]} * {_number(other)}",
        "radd": lambda: f"{_number(other)} + {names[i]}",
        "rmul": lambda: f"{_number(other)} * {names[i]}",
    }
    if kind not in text:
        raise ValueError(f"unknown operation {kind!r}")
    return text[kind]()


def describe(program, inputs=None, num_inputs=None) -> str:
    """A program as readable code: ``x1 = 2; a = x1 ** 3; y = a + x1``."""
    count = len(inputs) if inputs is not None else int(num_inputs)
    names = node_names(count, len(program))
    lines = ([f"{names[i]} = {_number(x)}" for i, x in enumerate(inputs)] if inputs is not None
             else [", ".join(names[:count]) + " are inputs"])
    lines += [f"{names[count + k]} = {expression(op, names)}" for k, op in enumerate(program)]
    return "; ".join(lines)


def apply(op, nodes, relu=lambda x: x.relu()):
    """Runs one operation on ``nodes`` (Values, floats or tensors alike) and returns the new node."""
    kind, i, *rest = op
    x, other = nodes[i], rest[0] if rest else None
    if kind == "add":
        return x + nodes[other]
    if kind == "mul":
        return x * nodes[other]
    if kind == "pow":
        return x**other
    if kind == "relu":
        return relu(x)
    if kind == "addc":
        return x + other
    if kind == "mulc":
        return x * other
    if kind == "radd":
        return other + x
    if kind == "rmul":
        return other * x
    raise ValueError(f"unknown operation {kind!r}")


# chain_rule: nested_backward, watched ----------------------------------------------------

def _is_complex(value) -> bool:
    return isinstance(value, complex) or (isinstance(value, (np.generic, np.ndarray)) and np.iscomplexobj(value))


def _watched_float(seen: list):
    """A float class that notes in ``seen`` any arithmetic with a complex number or conversion to one."""

    def noting(name):
        plain = getattr(float, name)

        def method(self, other, *rest):
            if _is_complex(other):
                seen.append("complex")
            return plain(self, other, *rest)

        return method

    def to_complex(self):
        seen.append("complex")
        return complex(float(self))

    names = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
             "__pow__", "__rpow__")
    return type("float", (float,), {"__slots__": (), "__complex__": to_complex, **{n: noting(n) for n in names}})


def chain_rule(nested_backward, x1, x2):
    """Calls ``nested_backward(x1, x2)`` and notes how it evaluated f.

    The docstring asks for the chain rule from nested_forward's cache. Derivatives found by
    evaluating f elsewhere (differences, or complex steps, which are exact to the last digit)
    call nested_forward at other points or with complex numbers, or do complex arithmetic with
    x1 and x2: the report says so, as data (a count of each). The inputs are floats that note
    complex arithmetic; the notebook's nested_forward, where there is one, is watched while the
    call runs and restored after it.

    Returns:
        ``(result, (complex_uses, other_points))``: what nested_backward returned, how many times
        complex numbers met the inputs or nested_forward, and how many calls of nested_forward
        were at a point other than (x1, x2).
    """
    seen, points = [], []
    watched = _watched_float(seen)
    namespace = getattr(nested_backward, "__globals__", {})
    forward = namespace.get("nested_forward")

    def watched_forward(*args, **kwargs):
        if any(_is_complex(a) for a in (*args, *kwargs.values())):
            seen.append("complex")
        else:
            try:
                at = tuple(float(a) for a in args)
            except (TypeError, ValueError):
                at = None
            points.append(at == (float(x1), float(x2)))
        return forward(*args, **kwargs)

    if callable(forward):
        namespace["nested_forward"] = watched_forward
    try:
        result = nested_backward(watched(x1), watched(x2))
    finally:
        if callable(forward):
            namespace["nested_forward"] = forward
    return _plain(result, watched), (len(seen), sum(1 for same in points if not same))


def _plain(result, watched):
    """``result`` with any of the watching floats (an input returned as it came) made plain floats again."""
    if isinstance(result, (tuple, list)):
        return type(result)(float(v) if type(v) is watched else v for v in result)
    return float(result) if type(result) is watched else result


def tape(nested_tape_gradient, x1, x2):
    """Calls ``nested_tape_gradient(x1, x2)`` with floats that note complex arithmetic.

    The exercise asks for tf.GradientTape: derivatives from a complex step, exact to the last digit,
    would pass its numbers. Returns ``(result, complex_uses)``: what the function returned and how
    many times complex numbers met the inputs (as data; the grader judges it).
    """
    seen = []
    watched = _watched_float(seen)
    result = nested_tape_gradient(watched(x1), watched(x2))
    return _plain(result, watched), len(seen)


# autograd: the student's Value ------------------------------------------------------

def _scalar(value):
    """A plain number, a NumPy scalar (its dtype kept), or None for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "iuf":
        return value
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return value.reshape(())[()]
    return None


_METHODS = {"add": "__add__", "mul": "__mul__", "pow": "__pow__", "relu": "relu", "addc": "__add__",
            "mulc": "__mul__", "radd": "__radd__", "rmul": "__rmul__"}


def _stub(line: str, method: str) -> str:
    name = method if method.replace("_", "").replace(".", "").isalnum() and len(method) < 40 else "a method"
    return f"`{line}` called {name}, which is still a stub (raise NotImplementedError): write it next"


class _Watch:
    """Records each program node's ``_backward`` calls: how often, the node's grad when its first call
    began, and what that call added to the grads of the other nodes.

    The nodes are kept in a shuffled pool while backward() runs, so that this object lists them in
    no useful order; the report maps them back to program order afterwards.
    """

    def __init__(self, nodes, num_inputs):
        rng = random.Random()
        shuffled = rng.sample(range(len(nodes)), len(nodes))
        self._pool = [nodes[k] for k in shuffled]
        self._program_index = {id(nodes[k]): k for k in shuffled}
        self._num_inputs = num_inputs
        self._counts = [0] * len(self._pool)
        self._first = [None] * len(self._pool)
        self.watching = True
        for slot, node in enumerate(self._pool):
            if self._program_index[id(node)] >= num_inputs:
                self._wrap(slot, node)

    def _grads(self):
        return [_number_or_nan(getattr(node, "grad", None)) for node in self._pool]

    def _wrap(self, slot, node):
        original = getattr(node, "_backward", None)
        if not callable(original):
            return

        def _backward(*args, **kwargs):
            self._counts[slot] += 1
            if self._counts[slot] > 1:
                return original(*args, **kwargs)
            own, before = _number_or_nan(getattr(node, "grad", None)), self._grads()
            try:
                return original(*args, **kwargs)
            finally:
                self._first[slot] = (own, [a - b for a, b in zip(self._grads(), before)])

        try:
            node._backward = _backward
        except (AttributeError, TypeError):
            self.watching = False

    def report(self):
        """(counts, grad at the first call, what the first call added to each node's grad), in program order,
        one row per operation; or None where a node's _backward could not be watched."""
        if not self.watching:
            return None
        size = len(self._pool)
        ops = size - self._num_inputs
        counts = np.zeros(ops, dtype=np.int64)
        at_call = np.full(ops, np.nan)
        added = np.full((ops, size), np.nan)
        for slot, node in enumerate(self._pool):
            k = self._program_index[id(node)] - self._num_inputs
            if k < 0:
                continue
            counts[k] = self._counts[slot]
            if self._first[slot] is not None:
                at_call[k] = self._first[slot][0]
                for other, amount in zip(self._pool, self._first[slot][1]):
                    added[k, self._program_index[id(other)]] = amount
        return counts, at_call, added


def _number_or_nan(value) -> float:
    number = _scalar(value)
    return np.nan if number is None else float(number)


def autograd(value_class, program, inputs):
    """Builds ``program`` with ``value_class``, calls ``backward()`` on the output, reports.

    Each operation's node has its ``_backward`` watched: backpropagation calls it once, when the
    node's grad is complete, and it adds the node's grad times the local derivatives to its
    operands' grads. The report says what happened; the grader judges it.

    Args:
        value_class: the student's ``Value`` class.
        program: a tuple of operations (see the module docstring).
        inputs: the input numbers, one per input node.

    Returns:
        ``(y.data, grads, calls)`` with ``grads`` an array holding each input's ``.grad`` (float32
        where the student's numbers are float32, else float64) and ``calls`` the record of the
        ``_backward`` calls (``_Watch.report``); or a string saying which line of the program
        failed where it did not produce a number or a Value.
    """
    names = node_names(len(inputs), len(program))
    nodes = [value_class(x) for x in inputs]
    node = None
    for k, op in enumerate(program):
        line = f"{names[len(inputs) + k]} = {expression(op, names)}"
        try:
            node = apply(op, nodes)
        except NotImplementedError as exc:
            return _stub(line, str(exc) or _METHODS[op[0]])
        except (TypeError, AttributeError, RecursionError) as exc:
            if op[0] not in _OPERAND_OPS:
                raise
            # Only the lines with a plain number can fail for want of __radd__/__rmul__ or of
            # wrapping the number: report those as data, so the check can say what to add.
            return f"`{line}` raised {type(exc).__name__}"
        if isinstance(node, (int, float, complex, np.generic, np.ndarray)):
            return f"`{line}` gave a {type(node).__name__}, not a Value"
        nodes.append(node)
    # backward() must find its own order: the list of nodes in program order (already a valid
    # one) is dropped before the call, so that code reading this frame finds only the leaves.
    output, leaves = nodes[-1], nodes[:len(inputs)]
    watch = _Watch(nodes, len(inputs))
    del nodes, node
    try:
        output.backward()
    except NotImplementedError as exc:
        return _stub("y.backward()", str(exc) or "backward")
    data = _scalar(getattr(output, "data", None))
    if data is None:
        return f"y.data is a {type(getattr(output, 'data', None)).__name__}, not a number"
    grads = []
    for name, leaf in zip(names, leaves):
        grad = _scalar(getattr(leaf, "grad", None))
        if grad is None:
            return f"{name}.grad is a {type(getattr(leaf, 'grad', None)).__name__}, not a number"
        grads.append(grad)
    single = any(np.asarray(v).dtype == np.float32 for v in [data, *grads])
    dtype = np.float32 if single else np.float64
    return dtype(data), np.array(grads, dtype=dtype), watch.report()


# topological_order: bare nodes -------------------------------------------------------

class _Node:
    """A bare graph node: what topological_order may rely on is ``_prev``."""

    def __init__(self, name, prev=(), op=""):
        self.name = name
        self._prev = tuple(prev)
        self._op = op
        self.data = 0.0
        self.grad = 0.0
        self._backward = lambda: None

    def __repr__(self) -> str:
        return f"Node({self.name})"


MAX_ITEMS = 10_000


def topological_order(order_fn, graph):
    """Calls ``order_fn(y)`` on the bare nodes of ``graph`` and returns the names of what it returned.

    Args:
        order_fn: the student's ``topological_order``.
        graph: a tuple of ``(name, op, parent names)``, one per node, the output named ``"y"``. The
            grader lists the nodes in an order that is not a topological one and names them so that
            sorting by name is not one either; the nodes are created in the listed order.

    Returns:
        The list of the returned items' names in their order: ``"?"`` for an item that is not a
        node, ``STALE`` for a node of a graph built for an earlier call. Or a string when the
        result is not a list. Judging the order (missing, repeated, misplaced nodes) is the
        grader's: this function says nothing about it.
    """
    made = {name: _Node(name, op=op) for name, op, _ in graph}
    for name, _, parents in graph:
        made[name]._prev = tuple(made[parent] for parent in parents)
    name_of = {id(node): name for name, node in made.items()}
    output = made["y"]
    del made
    result = order_fn(output)
    if isinstance(result, (set, frozenset)):
        return f"returned a {type(result).__name__}, which keeps no order: return a list"
    if isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
        return f"returned a {type(result).__name__}, not a list of nodes"
    names = []
    for item in result:
        if len(names) >= MAX_ITEMS:
            break
        names.append(name_of.get(id(item), STALE if isinstance(item, _Node) else "?"))
    return names
