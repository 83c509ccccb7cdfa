"""Training on several devices and several machines, without a GPU (``labmodels.distribute``).

- MirroredStrategy over two logical CPUs against the default strategy on the same global batches, in
  one subprocess (the pytest worker's TensorFlow may have set up its devices already).
- MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1, each with its own ``TF_CONFIG``, against
  one single-process run on the same global batches; only the chief writes to the real output paths.
- ``TF_CONFIG`` parsing and its one-line messages, in-process, without TensorFlow.

The trainings go through the package's model, compile arguments and ``distribute.training_stream`` with
``model.fit``: a small driver (``DRIVER``) so that the comparison does not depend on the command's defaults.
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

DRIVER = textwrap.dedent(
    """
    import json, os, sys, time
    started = time.perf_counter()
    mode, out = sys.argv[1], sys.argv[2]
    from labmodels import distribute
    if mode == "compare":
        chosen = distribute.strategy("mirrored", logical_cpus=2)
    else:
        chosen = distribute.strategy(mode)
    import keras
    import numpy as np
    import tensorflow as tf
    from labmodels import data, models

    tf.config.experimental.enable_op_determinism()
    (x, y), _ = data.load("digits")
    BATCH, STEPS, EPOCHS = 64, 4, 2

    def trained(strategy, folder):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = models.build("digits_mlp", seed=0)
            model.compile(**models.compile_arguments("digits_mlp", 5e-3))
        stream = distribute.shard_by_data(distribute.training_stream(x, y, BATCH, seed=0), strategy)
        callbacks = []
        if folder is not None:
            callbacks = [
                keras.callbacks.TensorBoard(distribute.writable_path(os.path.join(folder, "logs"), strategy)),
                keras.callbacks.BackupAndRestore(
                    distribute.writable_path(os.path.join(folder, "backup"), strategy), delete_checkpoint=False
                ),
            ]
        model.fit(stream, epochs=EPOCHS, steps_per_epoch=STEPS, verbose=0, callbacks=callbacks)
        return model, stream

    report = {"describe": distribute.describe(chosen, BATCH), "replicas": chosen.num_replicas_in_sync}
    if mode == "compare":
        default, _ = trained(tf.distribute.get_strategy(), None)
        np.savez(os.path.join(out, "weights.npz"), *default.get_weights())
        mirrored, stream = trained(chosen, None)
        first = next(iter(chosen.experimental_distribute_dataset(stream)))
        report["per_replica_rows"] = [int(part.shape[0]) for part in chosen.experimental_local_results(first[0])]
        report["devices"] = [part.device for part in chosen.experimental_local_results(first[0])]
        report["difference"] = max(
            float(np.abs(a - b).max()) for a, b in zip(default.get_weights(), mirrored.get_weights())
        )
        report["moved"] = max(
            float(np.abs(a - b).max()) for a, b in zip(default.get_weights(), models.build("digits_mlp").get_weights())
        )
    else:
        model, _ = trained(chosen, out)
        saved = distribute.writable_path(os.path.join(out, "model.keras"), chosen)
        model.save(saved)
        np.savez(distribute.writable_path(os.path.join(out, "weights.npz"), chosen), *model.get_weights())
        report.update(chief=distribute.is_chief(chosen), saved=saved, task=repr(distribute.cluster_task(chosen)))
    report["seconds"] = time.perf_counter() - started
    print("REPORT " + json.dumps(report), flush=True)
    """
)


def _environment(**extra) -> dict:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    environment.pop("TF_CONFIG", None)
    environment.pop(distribute.LOGICAL_CPUS_VARIABLE, None)
    environment.update(extra)
    return environment


def _start(driver, mode: str, out, **extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(driver), mode, str(out)],
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
    reports = []
    for output in outputs:
        lines = [line for line in output.splitlines() if line.startswith("REPORT ")]
        assert lines, f"no report in:\n{output[-3000:]}"
        reports.append(json.loads(lines[-1][len("REPORT ") :]))
    return reports


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three training processes, started together: one compares mirrored with the default strategy (and
    keeps the default's weights as the one-process reference), two are the workers of a local cluster."""
    folder = tmp_path_factory.mktemp("distributed")
    driver = folder / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    outs = {name: folder / name for name in ("single", "worker0", "worker1")}
    for out in outs.values():
        out.mkdir()
    workers = [f"127.0.0.1:{port}" for port in distribute.free_ports(2)]
    processes = [_start(driver, "compare", outs["single"])]
    for index in (0, 1):
        config = distribute.tf_config(workers, index)
        processes.append(_start(driver, "multi-worker", outs[f"worker{index}"], TF_CONFIG=config))
    compare, chief, other = _finish(processes, timeout=300)
    return {"compare": compare, "chief": chief, "other": other, "outs": outs}


def test_mirrored_on_two_logical_cpus_matches_the_default_strategy(runs):
    report = runs["compare"]
    assert report["replicas"] == 2
    assert report["per_replica_rows"] == [32, 32]
    assert [device.rpartition("/device:")[2] for device in report["devices"]] == ["CPU:0", "CPU:1"]
    assert report["describe"] == "mirrored: 2 replicas (CPU:0, CPU:1); global batch 64 = 32 per replica"
    assert report["moved"] > 100 * TOLERANCE  # training moved the weights far more than the tolerance
    print(f"mirrored vs default: largest weight difference {report['difference']:.2e}, {report['seconds']:.1f} s")
    assert report["difference"] < TOLERANCE, report


def test_two_workers_reach_the_weights_of_one_process_and_only_the_chief_writes(runs):
    chief, other, outs = runs["chief"], runs["other"], runs["outs"]
    assert chief["chief"] and not other["chief"]
    assert chief["replicas"] == other["replicas"] == 2
    assert chief["describe"].startswith("multi-worker: 2 replicas on 2 workers; this is worker 0 (chief)")
    assert chief["describe"].endswith("global batch 64 = 32 per replica")
    assert chief["saved"] == str(outs["worker0"] / "model.keras")
    assert sorted(path.name for path in outs["worker0"].iterdir()) == ["backup", "logs", "model.keras", "weights.npz"]
    assert list(outs["worker1"].iterdir()) == []  # the non-chief wrote nothing to its real paths...
    assert not os.path.exists(os.path.dirname(other["saved"]))  # ...and its temporary folder is gone

    with np.load(outs["worker0"] / "weights.npz") as trained, np.load(outs["single"] / "weights.npz") as reference:
        assert len(trained.files) == len(reference.files) == 4
        difference = max(float(np.abs(trained[name] - reference[name]).max()) for name in trained.files)
    print(f"2 workers vs 1 process: largest weight difference {difference:.2e}, {chief['seconds']:.1f} s")
    assert difference < TOLERANCE, difference


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


def test_free_ports_are_distinct_and_bindable():
    import socket

    ports = distribute.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
            held.bind(("127.0.0.1", port))
