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

The probes only build graphs and read back what the student's objects hold; they contain
no rule of differentiation.
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


def autograd(value_class, program, inputs):
    """Builds ``program`` with ``value_class``, calls ``backward()`` on the output, reports.

    Args:
        value_class: the student's ``Value`` class.
        program: a tuple of operations (see the module docstring).
        inputs: the input numbers, one per input node.

    Returns:
        ``(y.data, grads)`` with ``grads`` an array holding each input's ``.grad`` (float32
        where the student's numbers are float32, else float64); or a string saying which
        line of the program failed where it did not produce a number or a Value.
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
    del nodes, node
    try:
        output.backward()
    except NotImplementedError as exc:
        return _stub("y.backward()", str(exc) or "backward")
    nodes = leaves + [output]
    data = _scalar(getattr(output, "data", None))
    if data is None:
        return f"y.data is a {type(getattr(output, 'data', None)).__name__}, not a number"
    grads = []
    for name, node in zip(names, nodes[:len(inputs)]):
        grad = _scalar(getattr(node, "grad", None))
        if grad is None:
            return f"{name}.grad is a {type(getattr(node, 'grad', None)).__name__}, not a number"
        grads.append(grad)
    single = any(np.asarray(v).dtype == np.float32 for v in [data, *grads])
    dtype = np.float32 if single else np.float64
    return dtype(data), np.array(grads, dtype=dtype)


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


def build_nodes(program, num_inputs):
    """The graph of ``program`` as bare nodes (structure only): the list of all nodes, in program order.

    The nodes are created in a shuffled order, so neither creation order nor memory addresses
    tell a valid order.
    """
    names = node_names(num_inputs, len(program))
    rng = random.Random()
    made = {}
    for index in rng.sample(range(len(names)), len(names)):
        made[index] = _Node(names[index])
    for k, (kind, i, *rest) in enumerate(program):
        made[num_inputs + k]._prev = (made[i], made[rest[0]]) if kind in ("add", "mul") else (made[i],)
        made[num_inputs + k]._op = kind
    return [made[index] for index in range(len(names))]


def _reachable(root) -> set:
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node._prev)
    return seen


def _call_blind(order_fn, program, num_inputs):
    """Calls ``order_fn`` on the output of a fresh graph, holding nothing an answer can be read from.

    Student code can reach this frame (and its callers'): during the call, the nodes carry
    opaque shuffled labels instead of the course's names (which follow program order), and
    the only list of them here is shuffled. Returns (result, nodes in program order).
    """
    nodes = build_nodes(program, num_inputs)
    rng = random.Random()
    labels = rng.sample(range(100, 1000), len(nodes))
    pool = rng.sample(nodes, len(nodes))
    course_names = {id(node): node.name for node in pool}
    for node, label in zip(nodes, labels):
        node.name = f"n{label}"
    output = nodes[-1]
    del nodes
    try:
        result = order_fn(output)
    finally:
        for node in pool:
            node.name = course_names[id(node)]
    position = {name: i for i, name in enumerate(node_names(num_inputs, len(program)))}
    return result, sorted(pool, key=lambda node: position[node.name])


def topological_order(order_fn, program, num_inputs):
    """Calls ``order_fn(y)`` on the bare graph of ``program`` and reports what it returned.

    Returns:
        A dict: ``order``, the names of the returned nodes in their order (``"?"`` for an
        item that is not a node, ``STALE`` for a node of a graph built for an earlier call);
        ``missing``, the nodes that ``y`` depends on but that were not returned; ``repeated``,
        the nodes returned more than once; ``before_inputs``, the nodes returned before one of
        the nodes in their ``_prev``. Or a string when the result is not a list.
    """
    result, nodes = _call_blind(order_fn, program, num_inputs)
    if isinstance(result, (set, frozenset)):
        return f"returned a {type(result).__name__}, which keeps no order: return a list"
    if isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
        return f"returned a {type(result).__name__}, not a list of nodes"
    by_id = {id(node): node for node in nodes}
    order = [item.name if id(item) in by_id else STALE if isinstance(item, _Node) else "?" for item in result]
    needed = _reachable(nodes[-1])
    first = {}
    for position, name in enumerate(order):
        first.setdefault(name, position)
    return {
        "order": order,
        "missing": [n.name for n in nodes if id(n) in needed and n.name not in first],
        "repeated": [n.name for n in nodes if order.count(n.name) > 1],
        "before_inputs": [n.name for n in nodes if n.name in first
                          and any(first.get(p.name, -1) > first[n.name] for p in n._prev)],
    }
