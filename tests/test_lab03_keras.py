"""Lab 03 against TensorFlow: tf.GradientTape (float64) gives the reference's gradients.

The same programs the hidden checks draw are translated to TensorFlow operations and
differentiated by the tape; the nested function of seed 001 §3 too.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.hidden import lab03 as ref
from autograder.probes import lab03 as probe

tf = pytest.importorskip("tensorflow")


def tape_gradients(program, inputs):
    """(y, ∂y/∂inputs) of ``program`` by tf.GradientTape, in float64."""
    xs = [tf.Variable(x, dtype=tf.float64) for x in inputs]
    with tf.GradientTape() as tape:
        nodes = list(xs)
        for op in program:
            nodes.append(probe.apply(op, nodes, relu=tf.nn.relu))
    grads = tape.gradient(nodes[-1], xs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return float(nodes[-1].numpy()), np.array([g.numpy() for g in grads])


@pytest.mark.parametrize("seed", range(5))
def test_tape_gives_the_reference_gradients_on_hidden_programs(seed):
    for case in ref.hidden_cases(np.random.default_rng(seed))["Value"]:
        data, grads = tape_gradients(*case.args)
        assert data == pytest.approx(float(case.expected[0]), rel=1e-12)
        np.testing.assert_allclose(grads, case.expected[1], rtol=1e-12, atol=1e-12)


def test_tape_gives_the_reference_gradients_on_public_programs():
    for case in ref.public_cases()["Value"]:
        data, grads = tape_gradients(*case.args)
        assert data == pytest.approx(float(case.expected[0]), rel=1e-12)
        np.testing.assert_allclose(grads, case.expected[1], rtol=1e-12, atol=1e-12)


def test_tape_reproduces_the_course_numbers():
    x = tf.Variable(2.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = x**3 + 2 * x**2 + x + 1
    assert tape.gradient(y, x).numpy() == 21.0


@pytest.mark.parametrize("point", [(1.0, 2.0), (-1.5, 0.5), (0.37, -1.21), (2.0, -3.5)])
def test_tape_on_the_nested_function_equals_nested_backward(point):
    x1, x2 = (tf.Variable(p, dtype=tf.float64) for p in point)
    with tf.GradientTape() as tape:
        u = 2 * x1 + x2
        v = u**2 + 3 * x2**2
        f = v**3
    grads = [g.numpy() for g in tape.gradient(f, [x1, x2])]
    np.testing.assert_allclose(grads, ref.nested_backward(*point), rtol=1e-12)
    assert float(f.numpy()) == pytest.approx(ref.nested_forward(*point)[2], rel=1e-12)
