"""Lab 03 without its algorithms earns nothing (issue 21 §1): the grader judges what the student's code computed.

Three attacks once passed: ``topological_order`` read the order from a dictionary the probe kept
in program order; ``backward()`` filled in exact gradients by complex-step differentiation instead
of the chain rule; and a top-level constant rebound ``autograder.probes.lab03``'s functions to
forged reports. Each is graded here through the real grading path (the sandboxed child, the
hidden cases of the student's secret), beside the solution and correct-but-different ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, cases_of, replace_function, solution_notebook, without_keras

from autograder import batch, calls, checks
from autograder.grading import GradingOptions, grade_notebook
from autograder.hidden import lab03 as ref

LAB = "03_chain_rule"
LAB_SPEC = checks.load_lab(LAB)
POINTS = {e.name: e.points for e in LAB_SPEC.exercises}
SEEDS = (11, 12, 13, 14)  # hidden cases of four course secrets, each alone

# topological_order, read from the probe's frames -------------------------------------------

FRAME_DICTIONARY = '''
import sys

def topological_order(root):
    """Orders the nodes by the first dictionary of a calling frame that knows them all."""
    seen, stack, nodes = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(node._prev)
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, dict) and len(value) >= len(nodes):
                rank = {key: i for i, key in enumerate(value)}
                by_value = {id(v): i for i, v in enumerate(value.values())}
                if all(id(n) in rank or n.name in rank for n in nodes):
                    return sorted(nodes, key=lambda n: rank.get(id(n), rank.get(n.name)))
                if all(id(n) in by_value for n in nodes):
                    return sorted(nodes, key=lambda n: by_value[id(n)])
        frame = frame.f_back
    return nodes
'''

GRAPH_LISTING = '''
import sys

def topological_order(root):
    """Orders the nodes as the graph the probe was given lists them."""
    seen, stack, nodes = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(node._prev)
    frame = sys._getframe(1)
    listing = frame.f_locals.get("graph", ())
    position = {entry[0]: i for i, entry in enumerate(listing)}
    return sorted(nodes, key=lambda n: position.get(n.name, 0))
'''

# Value.backward by complex steps -------------------------------------------------------------

COMPLEX_STEP = '''
def _evaluate(node, shifted, memo):
    """node's value with the leaf `shifted` moved by 1e-30 i: a graph walk, no derivative rule."""
    if id(node) in memo:
        return memo[id(node)]
    if not node._prev:
        value = node.data + (1e-30j if node is shifted else 0)
    else:
        value = node._fn(*[_evaluate(p, shifted, memo) for p in node._prev])
    memo[id(node)] = value
    return value


def _nodes(root):
    seen, stack, found = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            found.append(node)
            stack.extend(node._prev)
    return found


class Value:
    def __init__(self, data, _prev=(), _op="", _fn=None):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self._fn = _fn
        self._backward = lambda: None

    @staticmethod
    def _wrap(other):
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other):
        other = Value._wrap(other)
        return Value(self.data + other.data, (self, other), "+", lambda a, b: a + b)

    def __mul__(self, other):
        other = Value._wrap(other)
        return Value(self.data * other.data, (self, other), "*", lambda a, b: a * b)

    def __pow__(self, k):
        return Value(self.data ** k, (self,), "**", lambda a: a ** k)

    def relu(self):
        return Value(max(self.data, 0.0), (self,), "relu", lambda a: a if a.real > 0 else 0 * a)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        for node in _nodes(self):
            if not node._prev:
                node.grad = _evaluate(self, node, {}).imag / 1e-30
        self.grad = 1.0
'''

# backward() that computes every node's gradient by complex steps, then calls each (empty)
# _backward once, output first: the calls are there, the chain rule is not.
COMPLEX_STEP_WITH_CALLS = COMPLEX_STEP.replace('''    def backward(self):
        for node in _nodes(self):
            if not node._prev:
                node.grad = _evaluate(self, node, {}).imag / 1e-30
        self.grad = 1.0
''', '''    def backward(self):
        nodes = topological_order(self)
        for node in nodes:
            node.grad = _shifted(self, node).imag / 1e-30
        for node in reversed(nodes):
            node._backward()


def _shifted(root, target, memo=None):
    memo = {} if memo is None else memo
    if id(root) in memo:
        return memo[id(root)]
    if root is target:
        value = root.data + 1e-30j
    elif not root._prev:
        value = root.data
    else:
        value = root._fn(*[_shifted(p, target, memo) for p in root._prev])
    memo[id(root)] = value
    return value
''')

# nested_backward by complex steps: through nested_forward, or on a formula of its own ----------------

BACKWARD_THROUGH_FORWARD = '''
def nested_backward(x1, x2):
    h = 1e-30
    return (nested_forward(x1 + 1j * h, x2)[2].imag / h, nested_forward(x1, x2 + 1j * h)[2].imag / h)
'''

BACKWARD_OWN_FORMULA = '''
def nested_backward(x1, x2):
    f = lambda a, b: ((2 * a + b) ** 2 + 3 * b ** 2) ** 3
    return f(complex(x1, 1e-30), x2).imag / 1e-30, f(x1, complex(x2, 1e-30)).imag / 1e-30
'''

# the probe module rebound by a top-level constant ----------------------------------------------

FORGED_PROBES = '''
import numpy as np


def _probe():
    return __import__("autograder.probes.lab03", fromlist=["apply"])


def _forged_autograd(value_class, program, inputs):
    values = [complex(x) for x in inputs]
    grads = []
    for k in range(len(inputs)):
        shifted = [v + (1e-30j if i == k else 0) for i, v in enumerate(values)]
        for op in program:
            shifted.append(_probe().apply(op, shifted, relu=lambda a: a if a.real > 0 else 0 * a))
        grads.append(shifted[-1].imag / 1e-30)
    plain = list(values)
    for op in program:
        plain.append(_probe().apply(op, plain, relu=lambda a: a if a.real > 0 else 0 * a))
    ops = len(program)
    calls = (np.ones(ops, dtype=np.int64), np.zeros(ops), np.zeros((ops, len(inputs) + ops)))
    return np.float64(plain[-1].real), np.array(grads), calls


def _forged_order(order_fn, graph, *rest):
    return [name for name, _, _ in graph]


FORGED = (setattr(_probe(), "autograd", _forged_autograd), setattr(_probe(), "topological_order", _forged_order))
'''


def options(*inputs):
    return GradingOptions(secret="lab03-attack-secret", hidden_paths=batch.secret_paths(ROOT, list(inputs), None))


def _notebook(**replaced) -> dict:
    notebook = without_keras(json.loads(solution_notebook(LAB).read_text(encoding="utf-8")), LAB)
    for name, source in replaced.items():
        if name == "Value":
            notebook = _replace_class(notebook, source)
        elif name == "FORGED":
            notebook["cells"].append({"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                                      "execution_count": None})
        else:
            notebook = replace_function(notebook, name, source)
    return notebook


def _replace_class(notebook: dict, source: str) -> dict:
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and "class Value" in text:
            cell["source"] = source
            return notebook
    raise KeyError("no cell defines Value")


def _scores(notebook, write_notebook, student) -> dict:
    path = write_notebook(notebook, student=student, lab=LAB)
    result = grade_notebook(path, student, options(path.parents[2]), lab_hint=LAB)
    assert result.error is None, result.error
    return {e.name: (e.score, e.feedback) for e in result.exercises}


ATTACKS = {
    # Value's backward() calls the notebook's topological_order: it falls with it
    "program_order_dictionary": ({"topological_order": FRAME_DICTIONARY}, ("topological_order", "Value")),
    "graph_listing": ({"topological_order": GRAPH_LISTING}, ("topological_order", "Value")),
    "complex_step_gradients": ({"Value": COMPLEX_STEP}, ("Value",)),
    "complex_step_through_nested_forward": ({"nested_backward": BACKWARD_THROUGH_FORWARD}, ("nested_backward",)),
    "complex_step_on_its_own_formula": ({"nested_backward": BACKWARD_OWN_FORMULA}, ("nested_backward",)),
    "complex_step_with_empty_calls": ({"Value": COMPLEX_STEP_WITH_CALLS}, ("Value",)),
    "rebinding_the_probe_module": ({"FORGED": FORGED_PROBES}, ("topological_order", "Value")),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_loses_the_points_it_stole_and_nothing_else(attack, write_notebook):
    replaced, stolen = ATTACKS[attack]
    scores = _scores(_notebook(**replaced), write_notebook, attack)
    for name, points in POINTS.items():
        if name == "nested_tape_gradient":
            continue  # left as the release's stub: graded in tests/test_lab03_keras.py
        expected = 0 if name in stolen else points
        assert scores[name][0] == expected, (name, scores[name][1])


def test_the_solution_keeps_full_marks_through_the_same_path(write_notebook):
    scores = _scores(_notebook(), write_notebook, "solution")
    assert all(scores[name][0] == points for name, points in POINTS.items() if name != "nested_tape_gradient")


def test_complex_step_gradients_are_told_the_chain_rule_was_not_run(write_notebook):
    scores = _scores(_notebook(Value=COMPLEX_STEP, nested_backward=BACKWARD_OWN_FORMULA), write_notebook, "complex")
    assert "never called the nodes' _backward" in scores["Value"][1]
    assert "Exact, but not by the chain rule" in scores["nested_backward"][1]


@pytest.mark.parametrize("source", [BACKWARD_THROUGH_FORWARD, BACKWARD_OWN_FORMULA])
def test_complex_step_derivatives_are_named_under_every_secret(source):
    namespace = {"nested_forward": lambda x1, x2: ((2 * x1 + x2), (2 * x1 + x2) ** 2 + 3 * x2**2,
                                                    ((2 * x1 + x2) ** 2 + 3 * x2**2) ** 3)}
    exec(compile(source, "<nested_backward>", "exec"), namespace)  # noqa: S102 - our own attack code, under test
    for seed in SEEDS:
        cases = [case for case in cases_of(LAB, "nested_backward", (seed,)) if case.hidden]
        outcomes = (calls.run_case(namespace["nested_backward"], case, "lab03.chain_rule") for case in cases)
        feedback = calls.first_failure(LAB_SPEC, LAB_SPEC.exercise("nested_backward"), cases, outcomes)
        assert feedback is not None and "Exact, but not by the chain rule" in feedback, feedback


# in-process: cheaper, the same judging ---------------------------------------------------------

def _defined(source: str, name: str):
    namespace = {"topological_order": ref.topological_order}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - our own attack code, under test
    return namespace[name]


@pytest.mark.parametrize(("source", "message"), [
    (COMPLEX_STEP, "never called the nodes' _backward"),
    (COMPLEX_STEP_WITH_CALLS, "added nothing to the grads in _prev"),
])
def test_exact_gradients_without_the_chain_rule_fail_under_every_secret(source, message):
    value_class = _defined(source, "Value")
    for seed in SEEDS:
        cases = [case for case in cases_of(LAB, "Value", (seed,)) if case.hidden]
        feedback = calls.first_failure(LAB_SPEC, LAB_SPEC.exercise("Value"), cases,
                                       (calls.run_case(value_class, case, "lab03.autograd") for case in cases))
        assert feedback is not None and message in feedback, feedback


def test_the_complex_step_class_really_gets_exact_gradients():
    """The attack is a fair one: its gradients match the reference on every hidden case."""
    value_class = _defined(COMPLEX_STEP, "Value")
    from autograder import probes

    for seed in range(3):
        for case in ref.hidden_cases(np.random.default_rng(seed))["Value"]:
            data, grads, _ = probes.lab03.autograd(value_class, *case.args)
            np.testing.assert_allclose(grads, case.expected[1], rtol=1e-12, atol=1e-12)


def test_graphs_are_listed_and_named_out_of_topological_order():
    for seed in range(8):
        for case in ref.hidden_cases(np.random.default_rng(seed))["topological_order"]:
            (graph,) = case.args
            parents = {name: prev for name, _, prev in graph}
            assert not ref._is_topological([name for name, _, _ in graph], parents)
            letters = sorted(n for n in parents if n not in ("y",) and not n.startswith("x"))
            inner_edges = any(p in letters for n in letters for p in parents[n])
            if inner_edges:
                inputs = sorted(n for n in parents if n.startswith("x"))
                assert not ref._is_topological(inputs + letters + ["y"], parents)


@pytest.mark.parametrize("source", [FRAME_DICTIONARY, GRAPH_LISTING])
def test_orders_read_from_the_probe_fail_under_every_secret(source):
    order_fn = _defined(source, "topological_order")
    for seed in SEEDS:
        cases = [case for case in cases_of(LAB, "topological_order", (seed,)) if case.hidden]
        outcomes = (calls.run_case(order_fn, case, "lab03.topological_order") for case in cases)
        assert calls.first_failure(LAB_SPEC, LAB_SPEC.exercise("topological_order"), cases, outcomes) is not None


TAPE_BY_COMPLEX_STEP = '''
def nested_tape_gradient(x1, x2):
    f = lambda a, b: ((2 * a + b) ** 2 + 3 * b ** 2) ** 3
    return f(x1 + 1e-30j, x2).imag / 1e-30, f(x1, x2 + 1e-30j).imag / 1e-30
'''


def test_a_complex_step_in_place_of_the_tape_loses_the_tape_exercise(write_notebook):
    """Through the TensorFlow child, once: the tape exercise's points need the tape."""
    notebook = replace_function(json.loads(solution_notebook(LAB).read_text(encoding="utf-8")),
                                "nested_tape_gradient", TAPE_BY_COMPLEX_STEP)
    scores = _scores(notebook, write_notebook, "tape")
    assert scores["nested_tape_gradient"][0] == 0
    assert "Exact, but not from the tape" in scores["nested_tape_gradient"][1]
    assert all(scores[name][0] == points for name, points in POINTS.items() if name != "nested_tape_gradient")
