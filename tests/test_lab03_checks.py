"""Lab 03's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder.checks import load_lab
from autograder.hidden import lab03 as ref
from autograder.probes import lab03 as probe

LAB = "03_chain_rule"


# correct but different: the chain rule ----------------------------------------------------

def forward_in_one_go(x1, x2):
    u = 2.0 * x1 + x2
    v = u * u + 3.0 * x2 * x2
    return u, v, v * v * v


def forward_with_math_pow(x1, x2):
    u = 2 * x1 + x2
    v = math.pow(u, 2) + 3 * math.pow(x2, 2)
    return [u, v, math.pow(v, 3)]


def backward_with_the_seed_formulas(x1, x2):
    u, v, _ = ref.nested_forward(x1, x2)
    return 12 * u * v**2, 3 * v**2 * (2 * u + 6 * x2)


def backward_expanded(x1, x2):
    v = (2 * x1 + x2) ** 2 + 3 * x2**2
    return np.float64(3 * v**2 * (8 * x1 + 4 * x2)), np.float64(3 * v**2 * (4 * x1 + 8 * x2))


def backward_as_array(x1, x2):
    u, v, _ = ref.nested_forward(x1, x2)
    return np.array([12 * u * v**2, 3 * v**2 * (2 * u + 6 * x2)])


def backward_with_value(x1, x2):
    a, b = ref.Value(x1), ref.Value(x2)
    f = ((2 * a + b) ** 2 + 3 * b**2) ** 3
    f.backward()
    return a.grad, b.grad


# correct but different: topological orders ---------------------------------------------

def order_iterative(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._prev if parent not in visited)
    return order


def order_kahn(root):
    nodes, stack = [], [root]
    while stack:
        node = stack.pop()
        if all(node is not seen for seen in nodes):
            nodes.append(node)
            stack.extend(node._prev)
    consumers = {id(n): sum(1 for m in nodes for p in m._prev if p is n) for n in nodes}
    ready, reverse_order = [root], []
    while ready:
        node = ready.pop()
        reverse_order.append(node)
        for parent in node._prev:
            consumers[id(parent)] -= 1
            if consumers[id(parent)] == 0:
                ready.append(parent)
    return tuple(reversed(reverse_order))


def order_visited_list_reversed_children(root):
    order, visited = [], []

    def visit(node):
        if node in visited:
            return
        visited.append(node)
        for parent in reversed(list(node._prev)):
            visit(parent)
        order.append(node)

    visit(root)
    return order


# correct but different: Value classes -------------------------------------------------------

class ValueWithSetAndKahn:
    """micrograd as published: _prev is a set, backward builds its own order."""

    def __init__(self, data, _children=(), _op=""):
        self.data, self.grad = data, 0
        self._prev, self._op = set(_children), _op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, ValueWithSetAndKahn) else ValueWithSetAndKahn(other)
        out = ValueWithSetAndKahn(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, ValueWithSetAndKahn) else ValueWithSetAndKahn(other)
        out = ValueWithSetAndKahn(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):
        out = ValueWithSetAndKahn(self.data**other, (self,), f"**{other}")

        def _backward():
            self.grad += (other * self.data ** (other - 1)) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = ValueWithSetAndKahn(0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        self.grad = 1
        for node in reversed(order_kahn(self)):
            node._backward()

    __radd__ = __add__
    __rmul__ = __mul__


class ValueFloat32:
    """Stores float32 numbers, uses += nowhere, walks its order iteratively."""

    def __init__(self, data, _prev=(), _op=""):
        self.data = np.float32(data)
        self.grad = np.float32(0)
        self._prev = tuple(_prev)
        self._backward = lambda: None

    @staticmethod
    def _wrap(other):
        return other if isinstance(other, ValueFloat32) else ValueFloat32(other)

    def __add__(self, other):
        other = self._wrap(other)
        out = ValueFloat32(self.data + other.data, (self, other))

        def _backward():
            self.grad = self.grad + out.grad
            other.grad = other.grad + out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self._wrap(other) + self

    def __mul__(self, other):
        other = self._wrap(other)
        out = ValueFloat32(self.data * other.data, (self, other))

        def _backward():
            self.grad = self.grad + other.data * out.grad
            other.grad = other.grad + self.data * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self._wrap(other) * self

    def __pow__(self, k):
        out = ValueFloat32(self.data**k, (self,))

        def _backward():
            self.grad = self.grad + np.float32(k) * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = ValueFloat32(np.maximum(self.data, 0), (self,))

        def _backward():
            self.grad = self.grad + np.float32(self.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        self.grad = np.float32(1)
        for node in reversed(order_iterative(self)):
            node._backward()


class ValueFromReference(ref.Value):
    """A subclass: its operations return the base class, which is a Value all the same."""


class ValueWithBackwardMethods:
    """_backward a method that dispatches on _op (no closures); backward() zeroes every grad first,
    then walks a Kahn order: the check watches each node's _backward whatever it is made of."""

    def __init__(self, data, _prev=(), _op="", _exponent=None):
        self.data, self.grad = float(data), 0.0
        self._prev, self._op, self._exponent = tuple(_prev), _op, _exponent

    def _backward(self):
        if self._op == "+":
            for operand in self._prev:
                operand.grad += self.grad
        elif self._op == "*":
            a, b = self._prev
            a.grad += b.data * self.grad
            b.grad += a.data * self.grad
        elif self._op == "**":
            (a,) = self._prev
            a.grad += self._exponent * a.data ** (self._exponent - 1) * self.grad
        elif self._op == "relu":
            (a,) = self._prev
            a.grad += self.grad if a.data > 0 else 0.0

    @staticmethod
    def _of(other):
        return other if isinstance(other, ValueWithBackwardMethods) else ValueWithBackwardMethods(other)

    def __add__(self, other):
        other = self._of(other)
        return ValueWithBackwardMethods(self.data + other.data, (self, other), "+")

    def __mul__(self, other):
        other = self._of(other)
        return ValueWithBackwardMethods(self.data * other.data, (self, other), "*")

    def __radd__(self, other):
        return self._of(other) + self

    def __rmul__(self, other):
        return self._of(other) * self

    def __pow__(self, k):
        return ValueWithBackwardMethods(self.data**k, (self,), "**", k)

    def relu(self):
        return ValueWithBackwardMethods(max(self.data, 0.0), (self,), "relu")

    def backward(self):
        order = order_kahn(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


CORRECT = [
    ("nested_forward", ref.nested_forward),
    ("nested_forward", forward_in_one_go),
    ("nested_forward", forward_with_math_pow),
    ("nested_backward", ref.nested_backward),
    ("nested_backward", backward_with_the_seed_formulas),
    ("nested_backward", backward_expanded),
    ("nested_backward", backward_with_value),
    ("nested_backward", backward_as_array),
    ("topological_order", ref.topological_order),
    ("topological_order", order_iterative),
    ("topological_order", order_kahn),
    ("topological_order", order_visited_list_reversed_children),
    ("Value", ref.Value),
    ("Value", ValueWithSetAndKahn),
    ("Value", ValueFloat32),
    ("Value", ValueFromReference),
    ("Value", ValueWithBackwardMethods),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


# real mistakes -------------------------------------------------------------------------

def forward_returns_f_only(x1, x2):
    return ref.nested_forward(x1, x2)[2]


def order_of_data(root):
    return [node.data for node in ref.topological_order(root)]


def order_with_a_shared_default(root, order=[], visited=set()):  # noqa: B006 - the mistake under test
    if root not in visited:
        visited.add(root)
        for parent in root._prev:
            order_with_a_shared_default(parent, order, visited)
        order.append(root)
    return order


def order_from_a_set(root):
    return set(ref.topological_order(root))


class ValueReturningFloats(ValueWithSetAndKahn):
    def __pow__(self, other):
        return self.data**other


BACKWARD_MESSAGES = {
    "no_inner": "∂u/∂x1 = 2",
    "garbled": "garbled line",
    "dropped_direct": "You kept only the path through u",
    "dropped_u_path": "You kept only the direct one",
    "power_no_factor": "brings the exponent down",
    "power_not_reduced": "lowers the exponent by one",
    "square_rule": "d(u²)/du = 2u",
    "swapped": "swapped",
    "numerical": "numerical estimate",
    "complex_step": "Exact, but not by the chain rule",
}

VALUE_MESSAGES = {
    "no_seed": "self.grad = 1",
    "forward_order": "Walk the topological order reversed",
    "assign": "`self.grad += ...`",
    "recursive": "ran more than once",
    "duplicates": "ran more than once",
    "pow_no_factor": "The factor k is missing",
    "pow_not_reduced": "not k·x**k",
    "relu_always": "passed it through everywhere",
    "relu_grad_sign": "not on the sign of the incoming gradient",
    "mul_own": "the *other* factor's data",
    "no_radd": "Define __radd__",
    "no_rmul": "Define __rmul__",
    "radd_recursion": "`other + self` in __radd__",
    "rmul_recursion": "`other * self` in __rmul__",
    "no_wrap_add": "arrived in __add__",
    "no_wrap_mul": "arrived in __mul__",
    "unwatched": "never called the nodes' _backward",
    "idle_calls": "added nothing to the grads in _prev",
}

WRONG = [
    *[("nested_forward", fn, text) for fn, text in [
        (ref.FORWARD_MISTAKES["precedence"], "`3 * x2 ** 2`"),
        (ref.FORWARD_MISTAKES["times_three"], "`v ** 3`"),
        (ref.FORWARD_MISTAKES["u_times_2"], "`u ** 2`"),
        (ref.FORWARD_MISTAKES["doubled_sum"], "doubles x1 only"),
        (ref.FORWARD_MISTAKES["reversed"], "reverse order"),
        (forward_returns_f_only, "expected a tuple of 3 values"),
    ]],
    *[("nested_backward", ref.BACKWARD_MISTAKES[key], text) for key, text in BACKWARD_MESSAGES.items()],
    ("topological_order", ref.ORDER_MISTAKES["parents_only"], "Some nodes are missing"),
    ("topological_order", ref.ORDER_MISTAKES["no_visited"], "appears twice"),
    ("topological_order", ref.ORDER_MISTAKES["pre_order"], "starts with the output"),
    ("topological_order", ref.ORDER_MISTAKES["breadth_first"], "breadth-first"),
    ("topological_order", order_of_data, "not nodes of the graph"),
    ("topological_order", order_with_a_shared_default, "`order=[]`"),
    ("topological_order", order_from_a_set, "returned a set, which keeps no order"),
    *[("Value", ref.VALUE_MISTAKES[key], text) for key, text in VALUE_MESSAGES.items()],
    # two known mistakes at once match neither on every case: the line that failed, without a guessed cause
    ("Value", ref.make_value_class(radd="missing", rmul="missing"), "raised TypeError"),
    ("Value", ValueReturningFloats, "gave a float, not a Value"),
]


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


@pytest.mark.parametrize("key", sorted(ref.VALUE_MISTAKES))
def test_each_value_mistake_fails_the_hidden_cases_of_every_secret(key):
    lab = load_lab(LAB)
    mistake = ref.VALUE_MISTAKES[key]
    missed = [seed for seed in range(6)
              if not any(probe_fails(case, mistake) for case in lab.hidden_cases(seed)["Value"])]
    assert missed == [], f"{key} passes every hidden case of these secrets"  # caught under every secret


def probe_fails(case, value_class) -> bool:
    from autograder.calls import outcome_from_json, run_case
    from autograder.checks.core import judge

    lab = load_lab(LAB)
    outcome = outcome_from_json(run_case(value_class, case, "lab03.autograd"))
    return judge(lab, lab.exercise("Value"), case, outcome) is not None


def test_a_stub_method_is_named_after_the_cases_that_do_not_need_it():
    class Stub(ref.Value):
        def __pow__(self, exponent):
            raise NotImplementedError("__pow__")

    feedback = first_failure(LAB, "Value", Stub)
    assert "called __pow__, which is still a stub" in feedback
    assert "+ and * only" not in feedback and "x used twice" not in feedback  # those pass without **


# the numbers -----------------------------------------------------------------------------

def test_public_cases_are_the_published_numbers():
    cases = load_lab(LAB).public_cases()
    u, v, f = cases["nested_forward"][0].expected
    assert (u, v, f) == (4.0, 28.0, 21952.0)
    backward, notes = cases["nested_backward"][0].expected  # the result, and how the probe saw it found
    assert backward == (12 * u * v**2, 3 * v**2 * (2 * u + 6 * 2.0)) == (37632.0, 47040.0) and notes == (0, 0)
    assert cases["nested_tape_gradient"][0].expected == (backward, 0)  # the tape's result, no complex step
    assert any("float32" in c.wrong for c in cases["nested_tape_gradient"]), "the check cell must tell float32 apart"
    by_label = {c.label.split(":")[0]: c.expected for c in cases["Value"]}
    polynomial = by_label["y = x³ + 2x² + x + 1 at 2 (dy/dx = 21)"]
    three_x_squared = by_label["y = 3x² at 2 (dy/dx = 12)"]
    assert polynomial[0] == 19.0 and polynomial[1].tolist() == [21.0]
    assert three_x_squared[0] == 12.0 and three_x_squared[1].tolist() == [12.0]
    nested = next(c for c in cases["Value"] if "nested" in c.label)
    assert nested.expected[1].tolist() == [37632.0, 47040.0]


def _output_of(program, inputs):
    return ref._evaluate(program, inputs)[-1]


@pytest.mark.parametrize("seed", range(6))
def test_reference_autograd_matches_central_differences(seed):
    for case in ref.hidden_cases(np.random.default_rng(seed))["Value"]:
        if "exactly at 0" in case.label:
            continue  # a kink: the one-sided slopes differ, and relu'(0) = 0 by convention
        program, inputs = case.args
        output = functools.partial(_output_of, program)
        h = 1e-6
        numerical = [(output(np.add(inputs, h * e)) - output(np.subtract(inputs, h * e))) / (2 * h)
                     for e in np.eye(len(inputs))]
        np.testing.assert_allclose(case.expected[1], numerical, rtol=1e-5, atol=1e-6)
        assert case.expected[0] == pytest.approx(output(inputs), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_hidden_programs_have_reuse_and_relus_on_both_sides(seed):
    for case in ref.hidden_cases(np.random.default_rng(seed))["Value"][2:]:
        program, inputs = case.args
        values = ref._evaluate(program, inputs)
        relu_inputs = [values[i] for kind, i, *_ in program if kind == "relu"]
        assert min(relu_inputs) < -0.05 and max(relu_inputs) > 0.05
        assert ref._uses(program, len(values))[len(inputs):].max() >= 2


def test_probe_describes_programs_as_code():
    assert probe.describe(ref.POLYNOMIAL, (2.0,)) == (
        "x1 = 2; a = x1 ** 3; b = x1 ** 2; c = 2 * b; d = a + c; e = d + 1; y = e + x1")
