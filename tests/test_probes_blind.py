"""Probes hold nothing an answer can be read from: implementations that read the probe's own state fail.

Student code runs in the probe's process and can walk up the call stack or ask ``gc`` for every
object. Before, ``topological_order`` could return the probe's own node list (already a valid
order) and ``backward`` could walk the probe's list of Values.
"""

from __future__ import annotations

import gc
import sys

from conftest import first_failure

from autograder.hidden import lab03 as ref

LAB = "03_chain_rule"


def _reachable(y):
    seen, stack, found = set(), [y], []
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            found.append(node)
            stack.extend(node._prev)
    return found


def order_from_the_callers_frames(y):
    """Returns the first list of nodes holding y that a calling frame keeps."""
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, list) and any(item is y for item in value):
                return list(value)
        frame = frame.f_back
    return [y]


def order_by_name(y):
    return sorted(_reachable(y), key=lambda node: str(getattr(node, "name", "")))


def order_of_creation(y):
    """gc lists objects roughly in the order they were made: nodes made in program order would be sorted."""
    wanted = {id(node) for node in _reachable(y)}
    return [obj for obj in gc.get_objects() if id(obj) in wanted]


def test_reading_the_probes_frames_gives_no_order():
    assert first_failure(LAB, "topological_order", order_from_the_callers_frames) is not None


def test_node_names_give_no_order():
    assert first_failure(LAB, "topological_order", order_by_name) is not None


def test_creation_order_gives_no_order():
    assert first_failure(LAB, "topological_order", order_of_creation) is not None


def _backward_from_frames(self):
    """backward() that borrows any list holding the output from the frames that called it."""
    self.grad = 1.0
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, list) and any(item is self for item in value):
                for node in reversed(value):
                    node._backward()
                return
        frame = frame.f_back


def test_reading_the_probes_frames_gives_no_gradients():
    value_class = ref.make_value_class()  # a fresh class: its operations make nodes of this class
    value_class.backward = _backward_from_frames
    assert first_failure(LAB, "Value", value_class) is not None
