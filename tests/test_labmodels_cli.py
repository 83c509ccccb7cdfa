"""``python -m labmodels`` in real subprocesses: a whole run, its errors, a SIGKILL and a resume, the JAX backend.

Four TensorFlow processes in all, shared through module fixtures: one uninterrupted run (progress bar,
TensorBoard log, checkpoints, saved model), one run killed with SIGKILL after a checkpoint, its restart, and
one JAX-backend process that checks what they wrote (reloads both saved models, reads the log) and trains on
JAX. The error paths start no TensorFlow (the command checks its input first).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = "digits_mlp_regularized"  # dropout and batch normalization: the resume must restore their state too
EPOCHS = 3  # a TensorFlow process costs ~13 s of CPU to start, an epoch ~0.5 s
FINAL_LINE = re.compile(rf"^{MODEL}: test accuracy (\d+\.\d) %, ([\d,]+) examples/s \(float32, 1 replica, "
                        rf"{EPOCHS} epochs(, resumed after epoch (\d+))?\)$")


def _command(*arguments):
    return [sys.executable, "-m", "labmodels", *arguments]


def _run(*arguments, env=None, timeout=300):
    return subprocess.run(_command(*arguments), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    done = _run("train", MODEL, "--epochs", str(EPOCHS), "--logdir", str(folder / "logs"), "--checkpoint-dir",
                str(folder / "checkpoints"), "--save", str(folder / "model.keras"))
    return done, folder


def test_a_run_ends_with_its_accuracy_and_throughput(uninterrupted):
    done, _ = uninterrupted
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert FINAL_LINE.match(lines[-1]), lines[-1]
    assert lines[0].startswith(f"{MODEL} on digits: 1,293 training, 144 validation and 360 test examples; "
                               "one device, batch 32")
    assert f"Epoch {EPOCHS}/{EPOCHS}" in done.stdout  # Keras's progress output
    assert float(FINAL_LINE.match(lines[-1]).group(1)) > 85
    assert "cuInit" not in done.stderr and "absl::InitializeLog" not in done.stderr and "Traceback" not in done.stderr


def test_lab_14_quotes_the_first_line_as_the_command_prints_it(uninterrupted):
    """Lab 14's GPU section tells a student without a GPU what the command prints: that quote stays true."""
    done, _ = uninterrupted
    first = done.stdout.strip().splitlines()[0].replace(MODEL, "digits_mlp", 1)  # the quote is of digits_mlp's run
    for notebook in ("solutions", "labs"):
        cells = json.loads((ROOT / notebook / "14_tensorflow" / "14_tensorflow.ipynb").read_text(encoding="utf-8"))
        markdown = " ".join("".join(cell["source"]) for cell in cells["cells"] if cell["cell_type"] == "markdown")
        text = " ".join(markdown.split())
        assert f"`{first}`" in text, first


def test_output_that_is_not_a_terminal_gets_one_line_per_epoch(uninterrupted):
    done, _ = uninterrupted
    assert "\x1b[" not in done.stdout and "\r" not in done.stdout  # no ANSI codes, no bar redrawn
    epoch_lines = [line for line in done.stdout.splitlines() if re.match(r"^\d+/\d+ - .*val_loss: ", line)]
    assert len(epoch_lines) == EPOCHS, done.stdout


def test_the_run_ends_with_where_its_outputs_went(uninterrupted):
    done, folder = uninterrupted
    where = done.stdout.strip().splitlines()[-5:-1]
    assert where == [f"logs: {folder / 'logs'}", f"checkpoints: {folder / 'checkpoints'}",
                     f"saved model: {folder / 'model.keras'}", f"tensorboard --logdir {folder / 'logs'}"]


def test_evaluate_scores_the_saved_model_as_train_did(uninterrupted):
    done, folder = uninterrupted
    evaluated = _run("evaluate", str(folder / "model.keras"), timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = FINAL_LINE.match(done.stdout.splitlines()[-1]).group(1)
    assert evaluated.stdout.strip().startswith(f"{MODEL} ({folder / 'model.keras'}): test accuracy {accuracy} %, ")
    assert evaluated.stdout.strip().endswith("on 360 test examples")


def test_the_saved_model_reloads_with_the_reported_accuracy(uninterrupted, checked):
    done, _ = uninterrupted
    assert f"test accuracy {100 * checked['reloaded_accuracy']:.1f} %" in done.stdout.splitlines()[-1]


def test_the_log_has_every_scalar_of_every_epoch(checked):
    scalars = {tag: {int(step): value for step, value in steps.items()} for tag, steps in checked["scalars"].items()}
    assert set(scalars) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "examples_per_second"}
    assert all(sorted(steps) == list(range(EPOCHS)) for steps in scalars.values())
    assert list(scalars["learning_rate"].values()) == [pytest.approx(5e-3)] * EPOCHS
    assert scalars["loss"][EPOCHS - 1] < scalars["loss"][0] and scalars["val_accuracy"][EPOCHS - 1] > 0.85
    assert min(scalars["examples_per_second"].values()) > 0


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """A run SIGKILLed after a checkpoint of epoch ≥ 1, then the same command again."""
    folder = tmp_path_factory.mktemp("resumed")
    latest = folder / "checkpoints" / "latest.json"
    # Asked for far more epochs than it will live: killed after its first checkpoint, whatever the machine's speed.
    killed = subprocess.Popen(_command("train", MODEL, "--epochs", "1000", "--checkpoint-dir", str(latest.parent),
                                       "--quiet"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not latest.is_file() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    epoch_killed = json.loads(latest.read_text())["epoch"]
    done = _run("train", MODEL, "--epochs", str(EPOCHS), "--checkpoint-dir", str(latest.parent), "--save",
                str(folder / "model.keras"))
    return killed, epoch_killed, done, folder


def test_the_killed_run_died_of_sigkill_mid_way(resumed):
    killed, epoch_killed, _, _ = resumed
    assert killed.returncode == -signal.SIGKILL
    assert 1 <= epoch_killed < EPOCHS, "the run was not killed before its last epoch"


def test_the_restart_resumes_at_the_next_epoch(resumed):
    _, epoch_killed, done, _ = resumed
    assert done.returncode == 0, done.stderr
    assert f"resuming after epoch {epoch_killed} from the checkpoint" in done.stdout
    assert f"Epoch {epoch_killed + 1}/{EPOCHS}" in done.stdout and f"Epoch {epoch_killed}/{EPOCHS}" not in done.stdout
    assert FINAL_LINE.match(done.stdout.splitlines()[-1]).group(4) == str(epoch_killed)


def test_the_resumed_run_ends_with_the_uninterrupted_weights(checked):
    assert checked["weights"] == 8  # two Dense kernels and biases, gamma, beta, the moving mean and variance
    assert checked["weights_equal"], checked["largest_difference"]  # bit for bit: the run is deterministic


def _mnist_reachable() -> bool:
    from labmodels import data

    try:
        socket.create_connection(data.MNIST_HOST, timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("arguments, message", [
    (("train", "resnet"), "Unknown model 'resnet': choose one of commute_line, bike_car_mlp,"),
    (("train", "digits_mlp", "--precision", "float8"), "argument --precision: invalid choice: 'float8'"),
    (("train", "mnist_mlp", "--data", "/nowhere/mnist.npz"), "No MNIST file at /nowhere/mnist.npz"),
    (("train", "mnist_mlp"), "cannot be downloaded here"),
    (("train", "digits_mlp", "--data", "x.npz"), "A data path is read for mnist only"),
    (("fly",), "argument verb: invalid choice: 'fly'"),
    (("evaluate", "/nowhere/model.keras"), "No saved model at /nowhere/model.keras"),
])
def test_bad_input_gets_one_line_and_status_2(tmp_path, arguments, message):
    if arguments == ("train", "mnist_mlp") and _mnist_reachable():
        pytest.skip("this machine can download MNIST: the offline message is tested in test_labmodels.py")
    done = _run(*arguments, env={"KERAS_HOME": str(tmp_path)}, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("labmodels: error: "), done.stderr
    assert message in done.stderr


def test_list_shows_every_model_with_its_lab_parameters_and_dataset():
    from labmodels import models

    done = _run("list", timeout=60)
    assert done.returncode == 0
    rows = {line.split()[0]: line.split()[1:6] for line in done.stdout.splitlines()[1:]}
    chosen = models.spec("mnist_mlp")
    assert rows["mnist_mlp"] == ["11_minibatches", "109,386", "mnist", str(chosen.epochs), str(chosen.batch_size)]
    assert list(rows) == list(models.NAMES)
    assert done.stdout.split()[:6] == ["model", "lab", "parameters", "dataset", "epochs", "batch"]


def test_the_epochs_help_points_to_what_list_shows():
    from labmodels import cli

    train_parser = cli.parser()._subparsers._group_actions[0].choices["train"]
    helps = {action.dest: action.help for action in train_parser._actions}
    assert "counting those a resumed run had done" in helps["epochs"] and "shown by list" in helps["epochs"]
    assert "test set is evaluated once" in helps["validation_split"]


CHECKER = """
import json, sys
from pathlib import Path
import keras
import numpy as np
import tensorflow as tf
from labmodels import data, models, train
uninterrupted, resumed = Path(sys.argv[1]), Path(sys.argv[2])
report = {"backend": keras.backend.backend()}

# the two saved models (trained on TensorFlow) reloaded here on JAX
one = keras.models.load_model(uninterrupted / "model.keras")
other = keras.models.load_model(resumed / "model.keras")
(_, _), (x_test, y_test) = data.load("digits")
report["reloaded_accuracy"] = one.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
pairs = list(zip(one.get_weights(), other.get_weights()))
report["weights"] = len(pairs)
report["weights_equal"] = all(np.array_equal(a, b) for a, b in pairs)
report["largest_difference"] = max(float(np.max(np.abs(a - b))) for a, b in pairs)

# the TensorBoard log, read back event by event
scalars = {}
for events in (uninterrupted / "logs").glob("events.out.tfevents.*"):
    for record in tf.data.TFRecordDataset(str(events)):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            scalars.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
report["scalars"] = scalars

# every model on JAX, and one trained with labmodels.train
report["counts"] = {name: models.build(name).count_params() for name in models.NAMES}
untrained = models.build("digits_mlp")
untrained.compile(**models.compile_arguments("digits_mlp"))
report["before"] = untrained.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
result = train.train("digits_mlp", epochs=2, verbose=0)
report.update(history=result.history["accuracy"], after=result.test_accuracy,
              array=type(result.model.weights[0].value).__module__)
try:
    train.train("digits_mlp", strategy="mirrored", verbose=0)
except train.TrainingError as error:
    report["refused"] = str(error)
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def checked(uninterrupted, resumed):
    """One JAX-backend process that reloads the saved models, reads the log, and trains on JAX."""
    done = subprocess.run([sys.executable, "-c", CHECKER, str(uninterrupted[1]), str(resumed[3])], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_models_build_and_train_on_jax(checked):
    from labmodels import models

    assert checked["backend"] == "jax" and checked["array"].startswith("jax")
    assert checked["counts"] == {name: models.parameter_count(name) for name in models.NAMES}
    assert checked["before"] < 0.3 < checked["history"][0] < checked["history"][1] and checked["after"] > 0.85
    assert "needs KERAS_BACKEND=tensorflow (this is jax)" in checked["refused"]
