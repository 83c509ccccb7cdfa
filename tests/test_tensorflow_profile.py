"""The TensorFlow profile: Keras exercises run in a sandboxed child of their own; NumPy ones never import TF."""

from __future__ import annotations

import pytest

from autograder.notebook import Notebook, extract_definitions
from autograder.sandbox import isolation, runner

CASE = {"args": {"$tuple": []}, "kwargs": {"$dict": []}}
SOURCE = '''
import sys
import numpy as np
import tensorflow as tf
import keras
from keras import layers


class Doubling(layers.Layer):
    def call(self, x):
        return 2.0 * x


@tf.function
def squared(x):
    return x * x


def tape_gradient():
    x = tf.Variable(3.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = squared(x)
    return float(tape.gradient(y, x).numpy())


def layer_output():
    return keras.ops.convert_to_numpy(Doubling()(np.array([[1.0, 2.0]]))).tolist()


def sees_tensorflow():
    return "tensorflow" in sys.modules


def uid():
    import os
    return os.getuid()
'''


def chunks():
    found, _ = extract_definitions(Notebook(path=None, code_cells=(SOURCE,), metadata={}))
    return found


def test_definitions_that_need_tensorflow_when_defined_are_marked():
    profiles = {c.code.split("(")[0].split()[-1]: c.profile for c in chunks() if c.code.startswith(("class", "@"))}
    assert profiles == {"Doubling": "tensorflow", "squared": "tensorflow"}
    plain = [c for c in chunks() if c.code.startswith("def ")]
    assert plain and all(c.profile == "numpy" for c in plain)


@pytest.fixture(scope="module")
def mode():
    return isolation.mode(("sandbox", "trusted"))[0]


def run(names, profile, mode, seconds=60.0):
    tasks = [runner.Task(name, name, (CASE,), seconds=seconds) for name in names]
    report = runner.run([c.to_json() for c in chunks()], tasks, hidden_paths=[], mode=mode, profile=profile,
                        define_seconds=60.0 if profile == "tensorflow" else 10.0)
    return {name: report.outcomes[name][0] for name in names}, report.notes


def test_a_numpy_child_never_imports_tensorflow_and_skips_keras_classes(mode):
    outcomes, notes = run(["sees_tensorflow"], "numpy", mode, seconds=5.0)
    assert outcomes["sees_tensorflow"] == {"value": False, "mutated": []}
    assert notes == []


def test_the_tensorflow_child_runs_keras_code_at_the_top_level_and_in_functions(mode):
    outcomes, notes = run(["tape_gradient", "layer_output", "uid"], "tensorflow", mode)
    assert notes == []
    assert outcomes["tape_gradient"] == {"value": 6.0, "mutated": []}
    assert outcomes["layer_output"] == {"value": [[2.0, 4.0]], "mutated": []}
    if mode == "sandbox" and isolation.os.geteuid() == 0:
        assert outcomes["uid"]["value"] >= isolation.UID_BASE  # isolated exactly like a NumPy child
