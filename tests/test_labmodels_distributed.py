"""Training on several devices and several machines, without a GPU (``labmodels.distribute``), and resuming there.

- MirroredStrategy over two logical CPUs against the default strategy on the same global batches, in
  one subprocess (the pytest worker's TensorFlow may have set up its devices already).
- MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1, each with its own ``TF_CONFIG``, stopped
  after epoch 1 (``--epochs 1``) and started again with ``--epochs 2`` on the same, shared
  ``--checkpoint-dir``: they resume and end with the weights of one uninterrupted single-process run; only
  the chief writes to the real output paths.
- The same stop and resume for ``python -m labmodels train --strategy mirrored --logical-cpus 2``.
- ``TF_CONFIG`` parsing and its one-line messages, and the Keras versions the multi-worker mend was proven
  on, in-process, without training.

Every training goes through the package's own path: ``labmodels.train.train`` for the one-process runs
(``DRIVER``, which also looks at how a batch is split), ``python -m labmodels train`` for the workers and
the resumed mirrored run, all with the same explicit options (``COMMON``). Weights are compared as saved in
the ``.keras`` files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import ROOT

from labmodels import distribute

TOLERANCE = 1e-5
"""Largest difference allowed between weights trained two ways (float32, 8 Adam steps); see the report."""

COMMON = ["digits_mlp", "--epochs", "2", "--steps-per-epoch", "4", "--batch-size", "64", "--learning-rate", "5e-3"]
"""The same training everywhere: 8 Adam steps on global batches of 64 digits."""

DRIVER = textwrap.dedent(
    """
    import json, os, sys, time
    started = time.perf_counter()
    out = sys.argv[1]
    from labmodels import distribute, train
    mirrored = distribute.strategy("mirrored", logical_cpus=2)  # before any TensorFlow op
    from labmodels import data, models
    models.build("digits_mlp", seed=0).save(os.path.join(out, "untrained.keras"))

    common = dict(epochs=2, steps_per_epoch=4, batch_size=64, learning_rate=5e-3, verbose=0)
    single = train.train("digits_mlp", strategy="default", save=os.path.join(out, "single.keras"), **common)
    both = train.train("digits_mlp", strategy=mirrored, save=os.path.join(out, "mirrored.keras"), **common)
    (x, y), _ = data.load("digits")
    stream = distribute.training_stream(x, y, 64, seed=0)
    first = next(iter(mirrored.experimental_distribute_dataset(stream)))
    parts = mirrored.experimental_local_results(first[0])
    report = {"describe": distribute.describe(mirrored, 64), "replicas": both.replicas,
              "single_replicas": single.replicas, "per_replica_rows": [int(part.shape[0]) for part in parts],
              "devices": [part.device for part in parts], "seconds": time.perf_counter() - started}
    print("REPORT " + json.dumps(report), flush=True)
    """
)


def saved_weights(path) -> list[np.ndarray]:
    """The weights inside a ``.keras`` file (a zip holding ``model.weights.h5``), read without TensorFlow."""
    import io
    import zipfile

    import h5py

    arrays = []
    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
        weights["layers"].visititems(lambda name, item: arrays.append((name, item[()]))
                                     if isinstance(item, h5py.Dataset) else None)
    return [array for _, array in sorted(arrays, key=lambda pair: pair[0])]


def largest_difference(first, second) -> float:
    a, b = saved_weights(first), saved_weights(second)
    assert len(a) == len(b) == 4  # two Dense layers' kernels and biases
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def _environment(**extra) -> dict:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    environment.pop("TF_CONFIG", None)
    environment.pop(distribute.LOGICAL_CPUS_VARIABLE, None)
    environment.update(extra)
    return environment


def _start(command: list[str], **extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=_environment(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _finish(processes: list[subprocess.Popen], timeout: float) -> list[dict]:
    """Each process's report; all of them are killed (their process groups) when one fails or runs late."""
    deadline = time.monotonic() + timeout
    outputs = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            outputs.append(output)
            if process.returncode != 0:
                pytest.fail(f"a training process exited with {process.returncode}:\n{output[-3000:]}")
    except subprocess.TimeoutExpired:
        pytest.fail(f"the training processes did not finish within {timeout:.0f} s")
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return outputs


def _report(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("REPORT ")]
    assert lines, f"no report in:\n{output[-3000:]}"
    return json.loads(lines[-1][len("REPORT ") :])


def _phase(folder, driver, epochs: int) -> list[subprocess.Popen]:
    """Starts the processes of one phase: the two workers and the mirrored command, each for ``epochs`` of
    ``COMMON``'s 2; phase 1 also starts the driver (the uninterrupted runs)."""
    shared = folder / "shared"
    workers = [f"127.0.0.1:{port}" for port in distribute.free_ports(2)]
    processes = [_start([str(driver), str(folder / "single")])] if epochs == 1 else []
    for index in (0, 1):
        out = folder / f"worker{index}"
        outputs = ["--checkpoint-dir", str(shared / "checkpoints")]  # a shared folder, as on a real cluster
        if epochs == 2:
            outputs += ["--save", str(out / "model.keras"), "--logdir", str(out / "logs")]
        command = ["-m", "labmodels", "train", *COMMON, "--epochs", str(epochs), "--strategy", "multi-worker",
                   *outputs]
        processes.append(_start(command, TF_CONFIG=distribute.tf_config(workers, index)))
    mirrored = ["--strategy", "mirrored", "--logical-cpus", "2", "--checkpoint-dir", str(folder / "mirrored" / "ckpt")]
    if epochs == 2:
        mirrored += ["--save", str(folder / "mirrored" / "model.keras")]
    processes.append(_start(["-m", "labmodels", "train", *COMMON, "--epochs", str(epochs), *mirrored]))
    return processes


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Phase 1, four processes started together: one trains 2 epochs with the default strategy and with
    mirrored over two logical CPUs through ``labmodels.train``; two are the workers of a local cluster, each
    started as a person would start it, ``python -m labmodels train ... --strategy multi-worker`` with its own
    ``TF_CONFIG``, and one is ``--strategy mirrored --logical-cpus 2``, these three for 1 epoch with
    checkpoints. Phase 2: the same three commands with ``--epochs 2``."""
    folder = tmp_path_factory.mktemp("distributed")
    driver = folder / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    for name in ("single", "worker0", "worker1", "shared", "mirrored"):
        (folder / name).mkdir()
    compare, *stopped = _finish(_phase(folder, driver, 1), timeout=420)
    chief, other, mirrored = _finish(_phase(folder, driver, 2), timeout=420)
    outs = {name: folder / name for name in ("single", "worker0", "worker1", "shared", "mirrored")}
    return {"compare": _report(compare), "stopped": stopped, "chief": chief, "other": other, "mirrored": mirrored,
            "outs": outs}


def test_mirrored_on_two_logical_cpus_matches_the_default_strategy(runs):
    report, out = runs["compare"], runs["outs"]["single"]
    assert (report["replicas"], report["single_replicas"]) == (2, 1)
    assert report["per_replica_rows"] == [32, 32]
    assert [device.rpartition("/device:")[2] for device in report["devices"]] == ["CPU:0", "CPU:1"]
    assert report["describe"] == "mirrored: 2 replicas (CPU:0, CPU:1); global batch 64 = 32 per replica"
    difference = largest_difference(out / "single.keras", out / "mirrored.keras")
    print(f"mirrored vs default: largest weight difference {difference:.2e}, {report['seconds']:.1f} s")
    assert difference < TOLERANCE


def test_the_first_phase_stopped_after_epoch_1(runs):
    latest = json.loads((runs["outs"]["shared"] / "checkpoints" / "latest.json").read_text())
    assert latest["epoch"] == 2  # written by the resumed chief; epoch 1's was there before it
    for output in runs["stopped"]:
        assert "(float32, 2 replicas, 1 epoch)" in output.splitlines()[-1], output[-2000:]


def test_two_workers_resume_to_the_weights_of_one_uninterrupted_process(runs):
    chief, other, outs = runs["chief"], runs["other"], runs["outs"]
    for output in (chief, other):
        assert "resuming after epoch 1 from the checkpoint in" in output, output[-2000:]
        assert output.splitlines()[-1].endswith("(float32, 2 replicas, 2 epochs, resumed after epoch 1)")
    assert "Epoch 2/2" in chief and "Epoch 1/2" not in chief
    difference = largest_difference(outs["worker0"] / "model.keras", outs["single"] / "single.keras")
    print(f"2 workers resumed vs 1 process uninterrupted: largest weight difference {difference:.2e}")
    assert difference < TOLERANCE
    moved = largest_difference(outs["worker0"] / "model.keras", outs["single"] / "untrained.keras")
    assert moved > 100 * TOLERANCE  # training moved the weights far more than the tolerance


def test_only_the_chief_writes_and_says_where(runs):
    chief, other, outs = runs["chief"], runs["other"], runs["outs"]
    assert "multi-worker: 2 replicas on 2 workers; this is worker 0 (chief)" in chief, chief[-2000:]
    assert "this is worker 1 (writes to a temporary folder)" in other, other[-2000:]
    assert "global batch 64 = 32 per replica" in chief
    assert sorted(path.name for path in outs["worker0"].iterdir()) == ["logs", "model.keras"]
    assert list(outs["worker1"].iterdir()) == []  # the non-chief wrote nothing to its real paths
    assert f"tensorboard --logdir {outs['worker0'] / 'logs'}" in chief
    assert "written by the chief; this worker wrote to a temporary folder" in other


def test_mirrored_on_two_logical_cpus_resumes_to_the_uninterrupted_weights(runs):
    mirrored, outs = runs["mirrored"], runs["outs"]
    assert "resuming after epoch 1 from the checkpoint in" in mirrored, mirrored[-2000:]
    assert mirrored.splitlines()[-1].endswith("(float32, 2 replicas, 2 epochs, resumed after epoch 1)")
    difference = largest_difference(outs["mirrored"] / "model.keras", outs["single"] / "single.keras")
    print(f"mirrored resumed vs default uninterrupted: largest weight difference {difference:.2e}")
    assert difference < TOLERANCE


def test_tf_config_round_trip():
    text = distribute.tf_config(["10.0.0.1:2222", "10.0.0.2:2222"], 1)
    task = distribute.parse_tf_config(text)
    assert json.loads(text) == {
        "cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
        "task": {"type": "worker", "index": 1},
    }
    assert (task.num_workers, task.address, task.is_chief) == (2, "10.0.0.2:2222", False)
    assert distribute.parse_tf_config(distribute.tf_config(["a:1", "b:2"], 0)).is_chief
    with_chief = distribute.parse_tf_config(distribute.tf_config(["a:1"], 0, chief="c:3"))
    assert (with_chief.num_workers, with_chief.is_chief) == (2, False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "--strategy multi-worker needs TF_CONFIG"),
        ("{cluster", "TF_CONFIG is not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', "must be an object with a 'cluster'"),
        ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "must be a non-empty list"),
        ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "not a 'host:port' address"),
        ('{"cluster": {"worker": ["a:1"]}}', "needs this task's 'task'"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "must be 'worker' or 'chief'"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "is not in its cluster"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "from 0 to 1"),
    ],
    ids=["missing", "json", "no-cluster", "not-list", "no-port", "no-task", "ps", "absent-type", "index"],
)
def test_malformed_tf_config_gets_one_line(text, message):
    with pytest.raises(distribute.StrategyError, match="^[^\n]*$") as raised:
        distribute.parse_tf_config(text)
    assert message in str(raised.value)


def test_unknown_strategy_and_bad_logical_cpus_get_one_line(monkeypatch):
    with pytest.raises(distribute.StrategyError, match="Unknown strategy 'ring': choose one of default, mirrored"):
        distribute.strategy("ring")
    monkeypatch.setenv(distribute.LOGICAL_CPUS_VARIABLE, "two")
    with pytest.raises(distribute.StrategyError, match="LABMODELS_LOGICAL_CPUS must be a positive integer. Got 'two'"):
        distribute.logical_cpus_requested()
    with pytest.raises(distribute.StrategyError, match="positive integer. Got 0"):
        distribute.logical_cpus_requested(0)


def test_the_keras_multi_worker_mend_is_pinned_to_the_versions_it_was_proven_on():
    import keras

    assert distribute.KERAS_PROVEN == ("3.15",)
    distribute.check_keras_for_multi_worker()  # the installed Keras: proven (these tests train with it)
    assert keras.__version__.startswith("3.15.")


@pytest.mark.parametrize("version", ["3.16.0", "2.15.0", "4.0.0"])
def test_an_unknown_keras_gets_one_line_for_multi_worker(version):
    expected = rf"^[^\n]*this is Keras {version}: install keras==3.15"
    with pytest.raises(distribute.StrategyError, match=expected) as raised:
        distribute.check_keras_for_multi_worker(version)
    assert "keras-team/keras#20585" in str(raised.value)


def test_a_keras_without_the_private_names_gets_one_line():
    import types

    with pytest.raises(distribute.StrategyError, match=r"^[^\n]*lacks _collective_all_reduce_multi_worker, "):
        distribute.check_keras_for_multi_worker("3.15.9", types.ModuleType("trainer"))


def test_free_ports_are_distinct_and_bindable():
    import socket

    ports = distribute.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
            held.bind(("127.0.0.1", port))
