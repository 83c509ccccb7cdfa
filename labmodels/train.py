"""Training one of the course's models: ``train("digits_mlp")``, or ``python -m labmodels train digits_mlp``.

One function does the whole run: choose the strategy, load the data, hold out a validation split of the
training set, build and compile the model inside the strategy's scope in the chosen precision, resume from
the last checkpoint (inside that scope too: the optimizer's variables are built there), ``fit`` on a
``tf.data`` pipeline with the validation split as ``validation_data``, and evaluate on the test set once,
at the end. The command (``labmodels.cli``) is a thin layer over it.

The run is deterministic: ``keras.utils.set_random_seed(seed)`` and TensorFlow's op determinism, the model's
initializers seeded, and the training examples read as one endless stream of shuffled passes
(``distribute.training_stream``: pass k's order is a stateless shuffle keyed by (seed, k); ``steps_per_epoch``
batches per epoch), so that a run resumed after epoch k skips the stream's first k epochs' batches and sees
exactly the batches the uninterrupted run saw, under every strategy. The validation and test sets go through
``data.pipeline(..., training=False)``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from labmodels import data, distribute, models

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
"""The ``precision`` values: Keras dtype policies. float16 wants a GPU (on a CPU it is slow, not faster)."""

HELD_OUT_DATASETS = ("digits", "mnist", "synthetic_mnist")
"""The datasets with a test set of their own; the small tables' test set is their training set."""

VALIDATION_FRACTION = 0.1
"""The share of the training set held out for validation by default, for the datasets with a test set."""


class TrainingError(ValueError):
    """A run that cannot start as asked (bad argument, missing data, a strategy this backend lacks)."""


@dataclass
class Result:
    """What a run produced.

    Attributes:
        model: The trained Keras model.
        history: ``fit``'s history of the epochs run in this process: ``{"loss": [...], "accuracy": [...],
            "val_loss": [...], ...}`` (``val_*`` from the validation split, never the test set).
        test_loss: The loss on the test set, evaluated once, after training.
        test_accuracy: The test accuracy in [0, 1]; None for regression.
        test_mae: The test mean absolute error; None for classification.
        examples_per_second: Training examples per wall second of ``fit`` (training steps only, validation
            excluded), leaving out the first call of the training step in this process, which traces and
            compiles it (``callbacks.Throughput``); a resumed run is timed the same way. None when no epoch
            was left to run.
        epochs_run: The epochs run in this process.
        resumed_from_epoch: The epochs the checkpoint had already done (0 for a fresh run).
        precision: The dtype policy trained with.
        replicas: The strategy's replicas in sync.
        epochs: The epochs the run was asked for, counting the ones done before a resume.
        validation_examples: The examples held out of the training set for validation (0: none).
        outputs: What the run wrote where: ``{"logs": ..., "checkpoints": ..., "saved model": ...}``, the
            paths as given (only the chief of a multi-worker run writes there); only those asked for.
        chief: Whether this process wrote ``outputs`` (False on the other workers of a multi-worker run).
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
    validation_examples: int = 0
    outputs: dict = field(default_factory=dict)
    chief: bool = True

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
        last = self.resumed_from_epoch + self.epochs_run
        if self.epochs_run and last < self.epochs:
            resumed += f", stopped early after epoch {last}"
        return f"{self.model.name}: {score}, {speed} ({self.precision}, {replicas}, {epochs}{resumed})"

    def where(self) -> list[str]:
        """Lines saying where the logs, checkpoints and saved model went, and how to open TensorBoard."""
        if not self.outputs:
            return []
        if not self.chief:
            return [f"{', '.join(self.outputs)}: written by the chief; this worker wrote to a temporary folder"]
        lines = [f"{label}: {path}" for label, path in self.outputs.items()]
        if "logs" in self.outputs:
            lines.append(f"tensorboard --logdir {self.outputs['logs']}")
        return lines


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


def steps_of_epochs(examples: int, batch_size: int, steps_per_epoch: int, first_epoch: int, epochs: int,
                    drop_remainder: bool = False) -> list[list[int]]:
    """The examples of each step of each epoch from ``first_epoch`` to ``epochs``, read from the stream."""
    sizes = batch_sizes(examples, batch_size, drop_remainder)
    return [[sizes[step % len(sizes)] for step in range(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch)]
            for epoch in range(first_epoch, epochs)]


def _fraction(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise TrainingError(f"The 'validation_split' argument of train must be a number in [0, 1). "
                            f"Got {value!r} instead.")
    return float(value)


@dataclass(frozen=True)
class Options:
    """The optional parts of a run, each off by default: Keras callbacks and compile options.

    Attributes:
        early_stopping: Stop when the validation loss (the training loss without a validation split) has
            not improved for this many epochs, and keep the best epoch's weights
            (``keras.callbacks.EarlyStopping``). Defaults to `None` (off).
        reduce_on_plateau: Halve the learning rate when that loss has not improved for this many epochs
            (``keras.callbacks.ReduceLROnPlateau``). Defaults to `None` (off).
        warmup_epochs: Warm the learning rate up linearly from 0 over this many epochs, then decay it along
            a cosine to 0 by the last epoch (``keras.optimizers.schedules.CosineDecay``, lab 13's schedule).
            Defaults to `None` (a constant learning rate).
        jit_compile: ``"auto"`` (Keras's choice: XLA off under op determinism), ``"on"`` or ``"off"``.
            Defaults to `"auto"`.
        steps_per_execution: Training steps per call of the compiled step (fewer Python round trips for
            small models on a GPU). Defaults to `1`.

    After a resume, EarlyStopping and ReduceLROnPlateau count their patience afresh (their state is not in the
    checkpoint); a learning rate ReduceLROnPlateau lowered is kept (it is an optimizer variable, checkpointed).

    Under ``mirrored`` and ``multi-worker``, ``steps_per_execution`` above 1 and ``jit_compile="on"`` are
    refused: with Keras 3.15 and TensorFlow 2.21 both fail inside ``fit`` there (on two logical CPUs).
        profile_batch: Profile these training steps into the TensorBoard log (``"10,20"``, or a step
            number; needs ``logdir``); ``keras.callbacks.TensorBoard`` writes the trace. Defaults to `None`.
    """

    early_stopping: int | None = None
    reduce_on_plateau: int | None = None
    warmup_epochs: int | None = None
    jit_compile: str = "auto"
    steps_per_execution: int = 1
    profile_batch: str | int | None = None


def _check_options(options: Options, epochs: int, logdir) -> None:
    for name in ("early_stopping", "reduce_on_plateau", "warmup_epochs", "steps_per_execution"):
        _positive(name, getattr(options, name))
    if options.jit_compile not in ("auto", "on", "off"):
        raise TrainingError(f"jit_compile must be 'auto', 'on' or 'off'. Got {options.jit_compile!r} instead.")
    if options.warmup_epochs is not None and options.warmup_epochs >= epochs:
        raise TrainingError(f"The warm-up ({options.warmup_epochs} epochs) must be shorter than the run "
                            f"({epochs} epochs).")
    if options.warmup_epochs is not None and options.reduce_on_plateau is not None:
        raise TrainingError("Choose one of the warm-up + cosine schedule and reduce-on-plateau: "
                            "ReduceLROnPlateau cannot change a learning rate that a schedule computes.")
    if options.profile_batch is not None and logdir is None:
        raise TrainingError("Profiling writes into the TensorBoard log: give a logdir (--logdir) too.")


def _compile(model_name: str, model, learning_rate: float, precision: str, options: Options,
             steps: int, epochs: int) -> None:
    import keras

    rate = learning_rate
    if options.warmup_epochs is not None:
        warmup = options.warmup_epochs * steps
        rate = keras.optimizers.schedules.CosineDecay(0.0, epochs * steps - warmup, warmup_target=learning_rate,
                                                      warmup_steps=warmup)
    arguments = models.compile_arguments(model_name, rate)
    if precision == "mixed_float16":
        arguments["optimizer"] = keras.optimizers.LossScaleOptimizer(arguments["optimizer"])
    jit = {"auto": "auto", "on": True, "off": False}[options.jit_compile]
    model.compile(**arguments, jit_compile=jit, steps_per_execution=options.steps_per_execution)


def _keras_callbacks(options: Options, validating: bool, logdir) -> list:
    """Keras's own callbacks, where they serve as they are."""
    import keras

    monitor = "val_loss" if validating else "loss"
    chosen = []
    if options.early_stopping is not None:
        chosen.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=options.early_stopping,
                                                    restore_best_weights=True))
    if options.reduce_on_plateau is not None:
        chosen.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                                        patience=options.reduce_on_plateau))
    if options.profile_batch is not None:
        # Keras's TensorBoard profiles the chosen steps; the scalars stay ScalarLog's (see callbacks.py).
        chosen.append(keras.callbacks.TensorBoard(os.path.join(os.fspath(logdir), "profile"), write_graph=False,
                                                  profile_batch=options.profile_batch))
    return chosen


def _split(x, y, fraction: float, seed: int):
    """Holds out ``fraction`` of (x, y) for validation: a seeded random choice of rows, the rest in order."""
    import numpy as np

    held = max(1, round(len(x) * fraction)) if fraction else 0
    if held == 0:
        return (x, y), None
    if held >= len(x):
        raise TrainingError(f"A validation split of {fraction} leaves no training example out of {len(x)}.")
    chosen = np.zeros(len(x), dtype=bool)
    chosen[np.random.default_rng(seed).permutation(len(x))[:held]] = True
    return (x[~chosen], y[~chosen]), (x[chosen], y[chosen])


def _unimplemented(error, deterministic: bool) -> TrainingError:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if deterministic:
        return TrainingError(f"{first} — TensorFlow's op determinism (on by default) has no deterministic kernel "
                             "for this op on this device: rerun with --nondeterministic.")
    return TrainingError(f"{first} (this device has no kernel for it).")


def train(model_name: str, *, epochs: int | None = None, batch_size: int | None = None,
          learning_rate: float | None = None, precision: str = "float32", strategy: str = "default",
          logdir=None, checkpoint_dir=None, data_path=None, seed: int = 0, verbose=1,
          steps_per_epoch: int | None = None, save=None, logical_cpus: int | None = None,
          deterministic: bool = True, announce=None, validation_split: float | None = None,
          options: Options | None = None) -> Result:
    """Trains one of the course's models, validates it on a split of its training set, and tests it once.

    Args:
        model_name: One of ``models.NAMES``.
        epochs: Epochs in all (a resumed run goes on to this many). Defaults to `None` (the model's default).
        batch_size: The global batch: examples per step, all replicas together. Defaults to `None` (the
            model's default).
        learning_rate: The optimizer's step size (the peak of a warm-up + cosine schedule). Defaults to `None`
            (the model's default).
        precision: ``"float32"``, ``"mixed_float16"`` (loss scaling added; wants a GPU) or
            ``"mixed_bfloat16"``; the output layer computes in float32. Defaults to `"float32"`.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi-worker"`` (``labmodels.distribute.strategy``),
            or a ``tf.distribute.Strategy`` already made. Only ``"default"`` exists on a backend other than
            TensorFlow. Defaults to `"default"`.
        logdir: A folder for TensorBoard scalars of every epoch. Defaults to `None` (none written).
        checkpoint_dir: A folder for a checkpoint after every epoch; a run started again with the same
            folder resumes after the last checkpointed epoch, under every strategy. Defaults to `None`.
        data_path: A local ``mnist.npz`` for the MNIST models. Defaults to `None`.
        seed: Seeds the weights, the validation split, the shuffle and Dropout. Defaults to `0`.
        verbose: ``fit``'s progress output: 0 none, 1 a progress bar, 2 one line per epoch. Defaults to `1`.
        steps_per_epoch: Batches per epoch. Defaults to `None` (one pass over the training set).
        save: A ``.keras`` path for the trained model. Defaults to `None`.
        logical_cpus: Split the CPU in this many logical devices first (``mirrored`` without a GPU).
            Defaults to `None` (``$LABMODELS_LOGICAL_CPUS``, else 1).
        deterministic: Turn on TensorFlow's op determinism (it stays on for the process; TensorFlow has no
            public switch back). Defaults to `True`.
        announce: A function given one-line progress notes (what trains where, a resume). Defaults to
            `None` (none).
        validation_split: The share of the training set held out for validation, in [0, 1). Defaults to
            `None` (``VALIDATION_FRACTION`` for the datasets with a test set, 0 for the small tables, whose
            test set is their training set).
        options: Early stopping, reduce-on-plateau, warm-up + cosine, XLA, steps per execution, profiling.
            Defaults to `None` (``Options()``: all off).

    Returns:
        A Result.

    Raises:
        TrainingError: For a bad argument, data that cannot be had, a strategy that cannot start, or an op
            without a kernel here (under determinism: the message names ``--nondeterministic``); its
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
    fraction = _fraction(validation_split)
    if fraction is None:
        fraction = VALIDATION_FRACTION if chosen_spec.dataset in HELD_OUT_DATASETS else 0.0
    options = options or Options()
    _check_options(options, epochs, logdir)
    if save is not None and not os.fspath(save).endswith(".keras"):
        raise TrainingError(f"The saved model's path must end in .keras. Got {os.fspath(save)!r}.")
    note = announce or (lambda line: None)

    import keras

    backend = keras.backend.backend()
    strategy_name = strategy if isinstance(strategy, str) else distribute.strategy_name(strategy)
    if backend != "tensorflow" and strategy_name != "default":
        raise TrainingError(f"--strategy {strategy_name} is a tf.distribute strategy: it needs "
                            f"KERAS_BACKEND=tensorflow (this is {backend}); use --strategy default here.")
    if strategy_name != "default" and (options.steps_per_execution > 1 or options.jit_compile == "on"):
        raise TrainingError(f"--steps-per-execution above 1 and --jit-compile on fail inside fit under --strategy "
                            f"{strategy_name} with Keras {keras.__version__} (seen on two logical CPUs: an unfed "
                            "placeholder, XLA's variable on another device): use them with --strategy default.")
    try:
        chosen = distribute.strategy(strategy, logical_cpus=logical_cpus) if isinstance(strategy, str) else strategy
        distribute.per_replica_batch(batch_size, chosen)  # raises when the global batch does not split evenly
        (x_train, y_train), (x_test, y_test) = data.load(chosen_spec.dataset, data_path)
    except (distribute.StrategyError, data.DataUnavailable, ValueError) as error:
        raise TrainingError(str(error)) from None
    (x_train, y_train), validation = _split(x_train, y_train, fraction, seed)
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    where = (f"one device, batch {batch_size}" if distribute.strategy_name(chosen) == "default"
             else distribute.describe(chosen, batch_size))
    held = f", {len(validation[0]):,} validation" if validation else ""
    note(f"{model_name} on {chosen_spec.dataset}: {len(x_train):,} training{held} and {len(x_test):,} test "
         f"examples; {where}; {precision}")

    # Several replicas would split a pass's last, smaller batch unevenly, and the mean of their means is not
    # the batch's mean: they leave it out.
    drop_remainder = chosen.num_replicas_in_sync > 1
    steps = steps_per_epoch or len(batch_sizes(len(x_train), batch_size, drop_remainder))
    from labmodels.callbacks import EpochCheckpoint, ScalarLog, Throughput, restore

    done = 0
    scope = chosen.scope() if backend == "tensorflow" else contextlib.nullcontext()
    with scope:  # the optimizer's variables, built by restore, must be the strategy's too
        model = models.build(model_name, seed=seed, dtype=precision)
        _compile(model_name, model, learning_rate, precision, options, steps, epochs)
        if checkpoint_dir is not None:
            try:
                # every worker reads the chief's checkpoint (a shared folder): all resume at the same epoch
                done = min(restore(model, checkpoint_dir), epochs)
            except ValueError as error:
                raise TrainingError(str(error)) from None
    if done:
        note(f"resuming after epoch {done} from the checkpoint in {checkpoint_dir}")

    # Not data.pipeline(...).repeat(): a distributed dataset reseeds Dataset.shuffle's state; this stream's
    # order is a function of (seed, pass) alone, the same under every strategy and after a resume.
    training = distribute.training_stream(x_train, y_train, batch_size, seed=seed, skip_batches=done * steps,
                                          drop_remainder=drop_remainder)
    testing = distribute.shard_by_data(data.pipeline(x_test, y_test, batch_size, training=False), chosen)
    training = distribute.shard_by_data(training, chosen)
    validating = None
    if validation is not None:
        validating = distribute.shard_by_data(data.pipeline(*validation, batch_size, training=False), chosen)

    throughput = Throughput(steps_of_epochs(len(x_train), batch_size, steps, done, epochs, drop_remainder))
    callbacks = [throughput]
    if logdir is not None:
        callbacks.append(ScalarLog(distribute.writable_path(logdir, chosen), throughput))
    if checkpoint_dir is not None:
        callbacks.append(EpochCheckpoint(distribute.writable_path(checkpoint_dir, chosen)))
    callbacks += _keras_callbacks(options, bool(validation), distribute.writable_path(logdir, chosen))
    history = {}
    try:
        if done < epochs:
            fitted = model.fit(training, epochs=epochs, initial_epoch=done, steps_per_epoch=steps,
                               validation_data=validating, callbacks=callbacks, verbose=verbose,
                               shuffle=False)  # the pipeline shuffles
            history = {name: [float(value) for value in values] for name, values in fitted.history.items()}
        scores = model.evaluate(testing, verbose=0, return_dict=True)
    except tf.errors.UnimplementedError as error:
        raise _unimplemented(error, deterministic) from None
    if save is not None:
        model.save(distribute.writable_path(save, chosen))
    regression = chosen_spec.task == "regression"
    outputs = {label: os.fspath(path) for label, path in
               (("logs", logdir), ("checkpoints", checkpoint_dir), ("saved model", save)) if path is not None}
    return Result(model, history, float(scores["loss"]), None if regression else float(scores["accuracy"]),
                  float(scores["mae"]) if regression else None, throughput.examples_per_second(),
                  len(history.get("loss", [])), done, precision, chosen.num_replicas_in_sync, epochs,
                  len(validation[0]) if validation else 0, outputs, distribute.is_chief(chosen))
