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


def replicas():
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    total = strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)
    return [devices, strategy.num_replicas_in_sync, float(total)]
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
    outcomes, notes = run(["tape_gradient", "layer_output", "uid", "replicas"], "tensorflow", mode)
    assert notes == []
    assert outcomes["tape_gradient"] == {"value": 6.0, "mutated": []}
    assert outcomes["layer_output"] == {"value": [[2.0, 4.0]], "mutated": []}
    # the CPU is split in two, so that MirroredStrategy has two replicas as on two GPUs (lab 14)
    assert outcomes["replicas"] == {"value": [["/device:CPU:0", "/device:CPU:1"], 2, 2.0], "mutated": []}
    if mode == "sandbox" and isolation.os.geteuid() == 0:
        assert outcomes["uid"]["value"] >= isolation.UID_BASE  # isolated exactly like a NumPy child


def test_a_spawned_tensorflow_child_has_tensorflow_before_its_submission_and_sklearn_after(mode):
    """spawn() starts the child (importing TensorFlow) before run() hands it the submission."""
    source = ("def probe():\n    import sys\n    import sklearn\n"
              "    return ['tensorflow' in sys.modules, sklearn.__name__]\n")
    found, _ = extract_definitions(Notebook(path=None, code_cells=(source,), metadata={}))
    child = runner.spawn(hidden_paths=[], mode=mode, profile="tensorflow")
    report = runner.run([c.to_json() for c in found], [runner.Task("probe", "probe", (CASE,), seconds=60.0)],
                        hidden_paths=[], mode=mode, profile="tensorflow", define_seconds=60.0, first=child)
    assert report.outcomes["probe"][0] == {"value": [True, "sklearn"], "mutated": []}
    assert child.closed


def test_a_spawned_child_is_refused_by_a_run_of_another_profile(mode):
    child = runner.spawn(hidden_paths=[], mode=mode, profile="tensorflow")
    with pytest.raises(ValueError, match="another profile"):
        runner.run([], [runner.Task("f", "f", (CASE,))], hidden_paths=[], mode=mode, profile="numpy", first=child)
    assert child.closed


STUB = 'def keras_train(x, y):\n    """Trains."""\n    raise NotImplementedError("keras_train")\n'


@pytest.mark.parametrize(("cells", "stub"), [
    ((STUB,), True),
    (("import keras\n" + STUB, "X = 1\n"), True),
    ((STUB.replace('raise NotImplementedError("keras_train")', "return 1"),), False),
    ((STUB, "keras_train = print\n"), True),  # a top-level statement the grader does not run
    ((STUB, "TRAIN = keras_train\n"), False),
    ((STUB, "HACK = globals().__setitem__('keras_train', print)\n"), False),
    ((STUB, "HACK = exec('def keras_train(x, y): return 1')\n"), False),
    ((STUB, "from mine import keras_train\n"), False),
    ((STUB, "def other():\n    global keras_train\n"), False),
    (("@staticmethod\n" + STUB,), False),
    ((STUB, STUB), False),
    ((STUB.replace("raise NotImplementedError(\"keras_train\")", "raise NotImplementedError from None"),), False),
    ((STUB.replace('("keras_train")', ""),), False),  # its feedback differs: run it
    ((STUB.replace('("keras_train")', '("other")'),), False),
    ((STUB, STUB.replace("keras_train", "mirrored_keras_train")), True),  # another stub's name holds this one
    ((STUB, "def f():\n    return globals()['keras_train']\n"), False),
    ((STUB, "def f():\n    exec('keras_train = print')\n"), False),
])
def test_an_untouched_stub_is_recognised_and_anything_else_is_run(cells, stub):
    from autograder.notebook import untouched_stubs

    found, _ = extract_definitions(Notebook(path=None, code_cells=cells, metadata={}))
    assert untouched_stubs(found, {"keras_train"}) == ({"keras_train"} if stub else set())


def test_grading_a_release_starts_no_tensorflow_child_for_its_stubbed_keras_exercise(monkeypatch, tmp_path):
    from conftest import release_notebook

    from autograder import grading
    from autograder.grading import GradingOptions, grade_notebook

    profiles = []
    real_run, real_spawn = runner.run, runner.spawn
    monkeypatch.setattr(runner, "run", lambda *a, **k: profiles.append(k["profile"]) or real_run(*a, **k))
    monkeypatch.setattr(runner, "spawn", lambda **k: pytest.fail("no TensorFlow child was needed"))
    options = GradingOptions(secret="x", isolation="trusted")
    result = grade_notebook(release_notebook("05_training_loop"), "s", options)
    assert profiles == ["numpy"]
    keras_result = {r.name: r for r in result.exercises}["keras_train"]
    assert keras_result.score == 0 and "not implemented yet" in keras_result.feedback
    # and it is exactly what running the stub in a TensorFlow child gives
    monkeypatch.setattr(runner, "spawn", real_spawn)
    monkeypatch.setattr(grading, "untouched_stubs", lambda chunks, names: set())
    ran = grade_notebook(release_notebook("05_training_loop"), "s", options)
    assert profiles[1:] == ["numpy", "tensorflow"]
    assert ran == result


def test_probes_build_keras_models_as_the_graders_fresh_process_would():
    """A demo cell's set_floatx (and the policy Keras cached from it) does not leak into a check; the
    student's own set_floatx inside the graded function does, as in the grader's fresh child."""
    keras = pytest.importorskip("keras")
    from autograder.probes.keras_state import as_in_a_fresh_process

    def relies_on_the_demo_cell():
        return keras.layers.Dense(1).dtype_policy.name

    def sets_its_own():
        keras.config.set_floatx("float64")
        return keras.layers.Dense(1).dtype_policy.name

    from keras.src.backend.common import global_state

    before, cached = keras.config.floatx(), global_state.get_global_attribute("dtype_policy", None)
    try:
        global_state.set_global_attribute("dtype_policy", None)  # a fresh kernel (an earlier test may have cached one)
        keras.config.set_floatx("float64")  # what a demo cell does
        assert keras.layers.Dense(1).dtype_policy.name == "float64"  # and Keras caches the policy
        with as_in_a_fresh_process():
            assert relies_on_the_demo_cell() == "float32"
        with as_in_a_fresh_process():
            assert sets_its_own() == "float64"
        assert keras.config.floatx() == "float64" and keras.layers.Dense(1).dtype_policy.name == "float64"
    finally:
        keras.config.set_floatx(before)
        global_state.set_global_attribute("dtype_policy", cached)


def test_a_spawned_child_that_gets_no_submission_is_closed(mode):
    child = runner.spawn(hidden_paths=[], mode=mode)
    report = runner.run([], [], hidden_paths=[], mode=mode, first=child)
    assert report.outcomes == {} and child.closed


def test_test_processes_split_the_cpu_as_the_graders_child_does():
    """conftest splits the CPU right after ``import tensorflow``: lab 14's checks run under MirroredStrategy."""
    import tensorflow as tf

    assert [d.name for d in tf.config.list_logical_devices("CPU")] == ["/device:CPU:0", "/device:CPU:1"]
