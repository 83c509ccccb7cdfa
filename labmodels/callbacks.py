"""The training command's callbacks: throughput, TensorBoard scalars, and checkpoints to resume from.

- ``Throughput`` times each epoch's training steps (validation excluded) and turns them into examples/s.
- ``ScalarLog`` writes one TensorBoard point per epoch and scalar with ``tf.summary``: the loss, the
  accuracy or the MAE, their ``val_`` twins, the learning rate and the examples/s.
- ``EpochCheckpoint`` saves everything a run needs to go on after each epoch (weights, optimizer state,
  the Dropout layers' random state, the epoch), replacing the previous checkpoint atomically, so a process
  killed at any moment leaves a complete checkpoint behind; ``restore`` loads it into a fresh model.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np


def _sync(model) -> int:
    """Waits until the last training step has run (reading a variable waits for the ops that write it)."""
    return int(model.optimizer.iterations.numpy())


class Throughput(keras.callbacks.Callback):
    """Times the training part of every epoch: from its start to the start of validation (or its end).

    Args:
        examples_per_epoch: The training examples of each epoch, in the order the epochs run.

    Attributes:
        seconds: Wall seconds of each epoch run so far.
        rates: Examples per second of each epoch run so far.
    """

    def __init__(self, examples_per_epoch):
        super().__init__()
        self.examples_per_epoch = list(examples_per_epoch)
        self.seconds: list[float] = []
        self.rates: list[float] = []
        self._start = self._stop = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._stop = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        if self._start is not None and self._stop is None:
            _sync(self.model)
            self._stop = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self._stop is None:
            _sync(self.model)
            self._stop = time.perf_counter()
        seconds = self._stop - self._start
        self.seconds.append(seconds)
        self.rates.append(self.examples_per_epoch[len(self.rates)] / seconds)
        self._start = None

    def examples_per_second(self) -> float | None:
        """Training examples per wall second of ``fit``, leaving out the first epoch (which traces and
        compiles the step) when more than one epoch ran. None when no epoch ran."""
        if not self.seconds:
            return None
        first = 1 if len(self.seconds) > 1 else 0
        return sum(self.examples_per_epoch[first:len(self.seconds)]) / sum(self.seconds[first:])


class ScalarLog(keras.callbacks.Callback):
    """Writes each epoch's scalars to a TensorBoard log with ``tf.summary`` (step = the 0-based epoch).

    Args:
        logdir: The folder of the event files (created when missing).
        throughput: The Throughput callback whose last epoch gives ``examples_per_second``; it must come
            before this one in ``fit``'s callbacks. Defaults to `None` (not logged).
    """

    def __init__(self, logdir, throughput: Throughput | None = None):
        super().__init__()
        self.logdir = os.fspath(logdir)
        self.throughput = throughput
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(self.logdir)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        scalars = {name: float(value) for name, value in (logs or {}).items() if np.ndim(value) == 0}
        scalars["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self.throughput is not None and self.throughput.rates:
            scalars["examples_per_second"] = self.throughput.rates[-1]
        with self._writer.as_default():
            for name, value in scalars.items():
                tf.summary.scalar(name, value, step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


def _seed_generators(model):
    # Dropout draws its masks from a SeedGenerator whose state save_weights leaves out.
    return [generator for layer in model._flatten_layers() for generator in getattr(layer, "_seed_generators", [])]


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the training state after every epoch into ``directory``, the previous one replaced atomically.

    ``directory/epoch-NNNN.weights.h5`` holds the model's and the optimizer's variables
    (``model.save_weights``); ``directory/latest.json`` names it and records the epochs done and the
    Dropout layers' random state. ``latest.json`` is written last, through a temporary file and
    ``os.replace``, so it always names a complete weights file.

    Args:
        directory: The checkpoint folder (created when missing).
    """

    LATEST = "latest.json"

    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        done = epoch + 1
        weights = f"epoch-{done:04d}.weights.h5"
        self.model.save_weights(self.directory / weights, overwrite=True)
        generators = [g.state.numpy().tolist() for g in _seed_generators(self.model)]
        state = {"epoch": done, "weights": weights, "seed_generators": generators}
        temporary = self.directory / f".{self.LATEST}.tmp"
        temporary.write_text(json.dumps(state), encoding="utf-8")
        os.replace(temporary, self.directory / self.LATEST)
        for old in self.directory.glob("epoch-*.weights.h5"):
            if old.name != weights:
                old.unlink(missing_ok=True)


def restore(model, directory) -> int:
    """Loads the last checkpoint of ``directory`` into ``model`` (compiled, built), if there is one.

    Args:
        model: The model, compiled with the same optimizer as the run that saved the checkpoint.
        directory: The checkpoint folder; a missing folder or one without ``latest.json`` is no checkpoint.

    Returns:
        The number of epochs the checkpoint had done (0 when there is none): training goes on from there.

    Raises:
        ValueError: When the checkpoint does not fit this model; the message names the file.
    """
    latest = Path(directory) / EpochCheckpoint.LATEST
    if not latest.is_file():
        return 0
    try:
        state = json.loads(latest.read_text(encoding="utf-8"))
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(Path(directory) / state["weights"])
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"The checkpoint in {directory} does not fit this model ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''}); remove it or choose another "
                         "--checkpoint-dir.") from None
    for generator, values in zip(_seed_generators(model), state.get("seed_generators", [])):
        generator.state.assign(np.asarray(values, dtype=generator.state.dtype))
    return int(state["epoch"])
