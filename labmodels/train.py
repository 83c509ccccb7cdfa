"""Training one of the course's models: ``train("digits_mlp")``, or ``python -m labmodels train digits_mlp``.

One function does the whole run: choose the strategy, load the data, build and compile the model inside
the strategy's scope in the chosen precision, resume from the last checkpoint, ``fit`` on a ``tf.data``
pipeline, evaluate on the test set. The command (``labmodels.cli``) is a thin layer over it.

The run is deterministic: ``keras.utils.set_random_seed(seed)`` and TensorFlow's op determinism, the model's
initializers seeded, and the training examples read as one endless stream of shuffled passes
(``distribute.training_stream``: pass k's order is a stateless shuffle keyed by (seed, k); ``steps_per_epoch``
batches per epoch), so that a run resumed after epoch k skips the stream's first k epochs' batches and sees
exactly the batches the uninterrupted run saw, under every strategy. The test set goes through
``data.pipeline(..., training=False)``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from labmodels import data, distribute, models

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
"""The ``precision`` values: Keras dtype policies. float16 wants a GPU (on a CPU it is slow, not faster)."""


class TrainingError(ValueError):
    """A run that cannot start as asked (bad argument, missing data, a strategy this backend lacks)."""


@dataclass
class Result:
    """What a run produced.

    Attributes:
        model: The trained Keras model.
        history: ``fit``'s history of the epochs run in this process: ``{"loss": [...], "accuracy": [...],
            "val_loss": [...], ...}``.
        test_loss: The loss on the test set after training.
        test_accuracy: The test accuracy in [0, 1]; None for regression.
        test_mae: The test mean absolute error; None for classification.
        examples_per_second: Training examples per wall second of ``fit`` (training steps only, validation
            excluded), leaving out the first epoch run, which traces and compiles the step, whenever more
            than one epoch ran. None when no epoch was left to run.
        epochs_run: The epochs run in this process.
        resumed_from_epoch: The epochs the checkpoint had already done (0 for a fresh run).
        precision: The dtype policy trained with.
        replicas: The strategy's replicas in sync.
        epochs: The epochs the run was asked for, counting the ones done before a resume.
    """

    model: object
    history: dict = field(repr=False)
    test_loss: float
    test_accuracy: float | None
    test_mae: float | None
    examples_per_second: float | None
    epochs_run: int
    resumed_from_epoch: int
    precision: str = "float32"
    replicas: int = 1
    epochs: int = 0

    def summary(self) -> str:
        """The command's last line, e.g. ``digits_mlp: test accuracy 96.4 %, 12,345 examples/s (float32,
        1 replica, 6 epochs)``."""
        if self.test_accuracy is not None:
            score = f"test accuracy {100 * self.test_accuracy:.1f} %"
        else:
            score = f"test MAE {self.test_mae:.4g}"
        speed = "no epoch left to run" if self.examples_per_second is None else (
            f"{self.examples_per_second:,.0f} examples/s")
        replicas = f"{self.replicas} replica" + ("s" if self.replicas != 1 else "")
        epochs = f"{self.epochs} epoch" + ("s" if self.epochs != 1 else "")
        resumed = f", resumed after epoch {self.resumed_from_epoch}" if self.resumed_from_epoch else ""
        return f"{self.model.name}: {score}, {speed} ({self.precision}, {replicas}, {epochs}{resumed})"


def _positive(name: str, value, kind=int):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value <= 0:
        label = "integer" if kind is int else "number"
        raise TrainingError(f"The {name!r} argument of train must be a positive {label}. "
                            f"Got {value!r} instead.")
    return value


def batch_sizes(examples: int, batch_size: int, drop_remainder: bool = False) -> list[int]:
    """The sizes of one pass's batches: ``batch_size`` each, the last one the remainder unless dropped."""
    full, rest = divmod(examples, batch_size)
    return [batch_size] * full + ([rest] if rest and not drop_remainder else [])


def examples_per_epoch(examples: int, batch_size: int, steps_per_epoch: int, first_epoch: int, epochs: int,
                       drop_remainder: bool = False):
    """How many examples each epoch from ``first_epoch`` to ``epochs`` reads from the stream of passes."""
    sizes = batch_sizes(examples, batch_size, drop_remainder)
    return [sum(sizes[step % len(sizes)] for step in range(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch))
            for epoch in range(first_epoch, epochs)]


def train(model_name: str, *, epochs: int | None = None, batch_size: int | None = None,
          learning_rate: float | None = None, precision: str = "float32", strategy: str = "default",
          logdir=None, checkpoint_dir=None, data_path=None, seed: int = 0, verbose=1,
          steps_per_epoch: int | None = None, save=None, logical_cpus: int | None = None,
          deterministic: bool = True, announce=None) -> Result:
    """Trains one of the course's models and evaluates it on its test set.

    Args:
        model_name: One of ``models.NAMES``.
        epochs: Epochs in all (a resumed run goes on to this many). Defaults to `None` (the model's default).
        batch_size: The global batch: examples per step, all replicas together. Defaults to `None` (the
            model's default).
        learning_rate: The optimizer's step size. Defaults to `None` (the model's default).
        precision: ``"float32"``, ``"mixed_float16"`` (loss scaling added; wants a GPU) or
            ``"mixed_bfloat16"``; the output layer computes in float32. Defaults to `"float32"`.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi-worker"`` (``labmodels.distribute.strategy``),
            or a ``tf.distribute.Strategy`` already made. Only ``"default"`` exists on a backend other than
            TensorFlow. Defaults to `"default"`.
        logdir: A folder for TensorBoard scalars of every epoch. Defaults to `None` (none written).
        checkpoint_dir: A folder for a checkpoint after every epoch; a run started again with the same
            folder resumes after the last checkpointed epoch. Defaults to `None`.
        data_path: A local ``mnist.npz`` for the MNIST models. Defaults to `None`.
        seed: Seeds the weights, the shuffle and Dropout. Defaults to `0`.
        verbose: ``fit``'s progress output: 0 none, 1 a progress bar, 2 one line per epoch. Defaults to `1`.
        steps_per_epoch: Batches per epoch. Defaults to `None` (one pass over the training set).
        save: A ``.keras`` path for the trained model. Defaults to `None`.
        logical_cpus: Split the CPU in this many logical devices first (``mirrored`` without a GPU).
            Defaults to `None` (``$LABMODELS_LOGICAL_CPUS``, else 1).
        deterministic: Turn on TensorFlow's op determinism (it stays on for the process; TensorFlow has no
            public switch back). Defaults to `True`.
        announce: A function given one-line progress notes (what trains where, a resume). Defaults to
            `None` (none).

    Returns:
        A Result.

    Raises:
        TrainingError: For a bad argument, data that cannot be had, or a strategy that cannot start; its
            message is one line.

    Example:
        >>> result = train("digits_mlp", epochs=2, verbose=0)
        >>> result.epochs_run, 0.8 < result.test_accuracy <= 1.0
        (2, True)
    """
    try:
        chosen_spec = models.spec(model_name)
    except ValueError as error:
        raise TrainingError(str(error)) from None
    if precision not in PRECISIONS:
        raise TrainingError(f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}.")
    epochs = _positive("epochs", epochs) or chosen_spec.epochs
    batch_size = _positive("batch_size", batch_size) or chosen_spec.batch_size
    learning_rate = _positive("learning_rate", learning_rate, float) or chosen_spec.learning_rate
    _positive("steps_per_epoch", steps_per_epoch)
    if save is not None and not os.fspath(save).endswith(".keras"):
        raise TrainingError(f"The saved model's path must end in .keras. Got {os.fspath(save)!r}.")
    note = announce or (lambda line: None)

    import keras

    backend = keras.backend.backend()
    strategy_name = strategy if isinstance(strategy, str) else distribute.strategy_name(strategy)
    if backend != "tensorflow" and strategy_name != "default":
        raise TrainingError(f"--strategy {strategy_name} is a tf.distribute strategy: it needs "
                            f"KERAS_BACKEND=tensorflow (this is {backend}); use --strategy default here.")
    try:
        chosen = distribute.strategy(strategy, logical_cpus=logical_cpus) if isinstance(strategy, str) else strategy
        distribute.per_replica_batch(batch_size, chosen)  # raises when the global batch does not split evenly
        (x_train, y_train), (x_test, y_test) = data.load(chosen_spec.dataset, data_path)
    except (distribute.StrategyError, data.DataUnavailable, ValueError) as error:
        raise TrainingError(str(error)) from None
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    where = (f"one device, batch {batch_size}" if distribute.strategy_name(chosen) == "default"
             else distribute.describe(chosen, batch_size))
    note(f"{model_name} on {chosen_spec.dataset}: {len(x_train):,} training and {len(x_test):,} test examples; "
         f"{where}; {precision}")

    scope = chosen.scope() if backend == "tensorflow" else contextlib.nullcontext()
    with scope:
        model = models.build(model_name, seed=seed, dtype=precision)
        arguments = models.compile_arguments(model_name, learning_rate)
        if precision == "mixed_float16":
            arguments["optimizer"] = keras.optimizers.LossScaleOptimizer(arguments["optimizer"])
        model.compile(**arguments)
    from labmodels.callbacks import EpochCheckpoint, ScalarLog, Throughput, restore

    done = 0
    if checkpoint_dir is not None:
        try:
            # every worker reads the chief's checkpoint (a shared folder): all resume at the same epoch
            done = min(restore(model, checkpoint_dir), epochs)
        except ValueError as error:
            raise TrainingError(str(error)) from None
        if done:
            note(f"resuming after epoch {done} from the checkpoint in {checkpoint_dir}")

    # Several replicas would split a pass's last, smaller batch unevenly, and the mean of their means is not
    # the batch's mean: they leave it out.
    drop_remainder = chosen.num_replicas_in_sync > 1
    steps = steps_per_epoch or len(batch_sizes(len(x_train), batch_size, drop_remainder))
    # Not data.pipeline(...).repeat(): a distributed dataset reseeds Dataset.shuffle's state; this stream's
    # order is a function of (seed, pass) alone, the same under every strategy and after a resume.
    training = distribute.training_stream(x_train, y_train, batch_size, seed=seed, skip_batches=done * steps,
                                          drop_remainder=drop_remainder)
    testing = data.pipeline(x_test, y_test, batch_size, training=False)
    training, testing = distribute.shard_by_data(training, chosen), distribute.shard_by_data(testing, chosen)

    throughput = Throughput(examples_per_epoch(len(x_train), batch_size, steps, done, epochs, drop_remainder))
    callbacks = [throughput]
    if logdir is not None:
        callbacks.append(ScalarLog(distribute.writable_path(logdir, chosen), throughput))
    if checkpoint_dir is not None:
        callbacks.append(EpochCheckpoint(distribute.writable_path(checkpoint_dir, chosen)))
    history = {}
    if done < epochs:
        fitted = model.fit(training, epochs=epochs, initial_epoch=done, steps_per_epoch=steps,
                           validation_data=testing, callbacks=callbacks, verbose=verbose,
                           shuffle=False)  # the pipeline shuffles
        history = {name: [float(value) for value in values] for name, values in fitted.history.items()}
    scores = model.evaluate(testing, verbose=0, return_dict=True)
    if save is not None:
        model.save(distribute.writable_path(save, chosen))
    regression = chosen_spec.task == "regression"
    return Result(model, history, float(scores["loss"]), None if regression else float(scores["accuracy"]),
                  float(scores["mae"]) if regression else None, throughput.examples_per_second(), epochs - done,
                  done, precision, chosen.num_replicas_in_sync, epochs)


def main(argv=None) -> int:
    """The command line: ``python -m labmodels train MODEL ...`` and ``python -m labmodels list``.

    Args:
        argv: The arguments after the program's name. Defaults to `None` (``sys.argv[1:]``).

    Returns:
        The exit status: 0 when the run finished, 2 for bad input (one line on stderr says why).
    """
    from labmodels import cli

    return cli.main(argv)
