"""The training command's own callbacks: throughput, TensorBoard scalars, and checkpoints to resume from.

- ``Throughput`` times each epoch's training steps (validation and the step's tracing excluded) and turns
  them into examples/s.
- ``ScalarLog`` writes one TensorBoard point per epoch and scalar with ``tf.summary``: the loss, the
  accuracy or the MAE, their ``val_`` twins, the learning rate and the examples/s.
- ``EpochCheckpoint`` saves everything a run needs to go on after each epoch (weights, optimizer state,
  the Dropout layers' random state, the epoch), replacing the previous checkpoint atomically, so a process
  killed at any moment leaves a complete checkpoint behind; ``restore`` loads it into a fresh model.

Keras's own callbacks are used where they serve as they are (``labmodels.train``): ``EarlyStopping``,
``ReduceLROnPlateau``, and ``TensorBoard`` for ``--profile-batch``. Two are not, and why:

- ``keras.callbacks.BackupAndRestore`` (Keras 3.15) restores inside ``fit`` (``on_train_begin``), after
  the input pipeline is built, while this package's stream must know the epoch to resume from before it is
  built (it skips the batches already trained on, which is what makes a resumed run end with the
  uninterrupted run's weights); it saves no ``SeedGenerator`` state, so Dropout's masks after a resume
  differ; every worker of a multi-worker run writes to the same ``backup_dir``; the weights and the
  metadata are written one after the other, not replaced atomically; and by default it deletes the backup
  at the end of ``fit``, so a run stopped with ``--epochs 1`` could not be taken on with ``--epochs 2``.
- ``keras.callbacks.ModelCheckpoint`` saves the model (or the best one) for use, not the state to resume
  from; ``--save`` writes the final model with ``model.save``.
- ``keras.callbacks.TensorBoard`` would serve for the scalars too (as ``epoch_loss`` under ``train/`` and
  ``validation/``); ``ScalarLog`` is kept because it logs the examples/s of each epoch beside them, under
  the names ``fit`` reports.
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
    """Times the training part of every epoch (validation excluded), leaving out the step's tracing.

    The first call of the training step in a process traces and compiles it (seconds, against
    milliseconds for a step of a small model): the first epoch is timed from the end of that first call,
    and its examples are left out, so that a fresh run and a resumed one (whose single epoch would
    otherwise be mostly tracing) report the same examples/s for the same work. With
    ``steps_per_execution`` the first call runs that many steps; all are left out.

    Args:
        examples_per_step: For each epoch that will run, in order, the examples of each of its steps.

    Attributes:
        seconds: Wall seconds of each epoch run so far (the first without its first call).
        examples: Examples timed in each epoch run so far (the first without its first call's).
        rates: Examples per second of each epoch run so far.
    """

    def __init__(self, examples_per_step):
        super().__init__()
        self.examples_per_step = [list(epoch) for epoch in examples_per_step]
        self.seconds: list[float] = []
        self.examples: list[int] = []
        self.rates: list[float] = []
        self._start = self._stop = None
        self._left_out = 0
        self._traced = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._stop, self._left_out = time.perf_counter(), None, 0

    def on_train_batch_end(self, batch, logs=None):
        if not self._traced:
            _sync(self.model)
            self._traced = True
            steps = self.examples_per_step[len(self.rates)]
            if batch + 1 < len(steps):  # an epoch of a single call keeps its tracing: nothing else to time
                self._start, self._left_out = time.perf_counter(), sum(steps[: batch + 1])

    def on_test_begin(self, logs=None):
        if self._start is not None and self._stop is None:
            _sync(self.model)
            self._stop = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self._stop is None:
            _sync(self.model)
            self._stop = time.perf_counter()
        examples = sum(self.examples_per_step[len(self.rates)]) - self._left_out
        seconds = self._stop - self._start
        self.seconds.append(seconds)
        self.examples.append(examples)
        self.rates.append(examples / seconds)
        self._start = None

    def examples_per_second(self) -> float | None:
        """Training examples per wall second of ``fit``, the first call's tracing left out. None when no
        epoch ran."""
        if not self.seconds:
            return None
        return sum(self.examples) / sum(self.seconds)


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
