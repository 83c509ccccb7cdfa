"""``python -m labmodels``: ``train MODEL`` trains one of the course's models, ``list`` shows them.

A thin layer over ``labmodels.train.train``: it parses the options, starts TensorFlow without its
start-up log lines, and turns every input error into one line on stderr and exit status 2. Progress is
Keras's bar on a terminal and one line per epoch otherwise (a captured log, a cluster job's output); the
run ends with where its logs, checkpoints and saved model went, the ``tensorboard --logdir`` line, and its
result. ``labmodels.train`` does not import this module.
"""

from __future__ import annotations

import argparse
import sys

from labmodels import data, distribute, models
from labmodels.train import PRECISIONS, VALIDATION_FRACTION

EXAMPLES = """examples:
  python -m labmodels list
  python -m labmodels train digits_mlp --epochs 10 --logdir runs/digits --checkpoint-dir ckpt/digits
  python -m labmodels train mnist_mlp --data ~/mnist.npz --precision mixed_float16 --strategy mirrored
  python -m labmodels train digits_mlp --strategy mirrored --logical-cpus 2   # two replicas without a GPU
  python -m labmodels evaluate runs/mnist.keras --data ~/mnist.npz
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``labmodels: error: ...``) and exit status 2."""

    def error(self, message):
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    top = _Parser(prog="python -m labmodels", description="The course's models in Keras: train them, list them.",
                  epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = top.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    verbs.add_parser("list", help="the models, their lab, parameters, dataset, default epochs and batch")
    check = verbs.add_parser("evaluate", help="evaluate a model saved with train --save on its test set")
    check.add_argument("saved", metavar="MODEL.keras", help="a model saved by python -m labmodels train --save")
    check.add_argument("--data", help="a local mnist.npz, for the MNIST models on a machine without network")
    check.add_argument("--batch-size", type=int, default=256, help="examples per batch (default: 256)")
    run = verbs.add_parser("train", help="train one model and report its test score and throughput",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("model", metavar="MODEL", help=f"one of: {', '.join(models.NAMES)}")
    run.add_argument("--epochs", type=int,
                     help="epochs in all, counting those a resumed run had done (default: the model's, shown by "
                          "list)")
    run.add_argument("--batch-size", type=int,
                     help="the GLOBAL batch: examples per step over all replicas (default: the model's, shown by "
                          "list; on a GPU try 512 or more)")
    run.add_argument("--learning-rate", type=float,
                     help="the optimizer's step size, the peak with --warmup-epochs (default: the model's)")
    run.add_argument("--validation-split", type=float,
                     help="share of the training set held out for the val_ metrics; the test set is evaluated "
                          f"once, at the end (default: {VALIDATION_FRACTION} where the dataset has a test set, "
                          "else 0)")
    run.add_argument("--precision", default="float32", choices=PRECISIONS,
                     help="Keras dtype policy; the output layer stays float32. mixed_float16 adds loss scaling "
                          "and wants a GPU (on a CPU it is slower, not faster); mixed_bfloat16 suits recent "
                          "GPUs and TPUs (default: float32)")
    run.add_argument("--strategy", default="default", choices=distribute.NAMES,
                     help="default: one device; mirrored: this machine's GPUs (or its logical CPUs); "
                          "multi-worker: the machines of TF_CONFIG (default: default)")
    run.add_argument("--logical-cpus", type=int, help="split the CPU in this many logical devices first")
    run.add_argument("--logdir", help="write TensorBoard scalars of every epoch here")
    run.add_argument("--checkpoint-dir", help="checkpoint every epoch here; started again, the run resumes")
    run.add_argument("--data", help="a local mnist.npz, for the MNIST models on a machine without network")
    run.add_argument("--seed", type=int, default=0, help="seeds the weights, the shuffle and dropout (default: 0)")
    run.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: one pass over the data)")
    run.add_argument("--save", help="save the trained model to this .keras file")
    run.add_argument("--quiet", action="store_true", help="no progress output, only the last line")
    run.add_argument("--nondeterministic", action="store_true",
                     help="leave TensorFlow's op determinism off: faster on some GPUs, lets XLA compile (auto), "
                          "and needed where an op has no deterministic kernel; runs then differ slightly")
    lessons = run.add_argument_group("the course's lessons (labs 12-13), as Keras callbacks and schedules")
    lessons.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                         help="stop when val_loss (loss without a validation split) has not improved for PATIENCE "
                              "epochs; keep the best weights")
    lessons.add_argument("--reduce-on-plateau", type=int, metavar="PATIENCE",
                         help="halve the learning rate when val_loss (loss without a validation split) has not "
                              "improved for PATIENCE epochs")
    lessons.add_argument("--warmup-epochs", type=int, metavar="EPOCHS",
                         help="warm the learning rate up from 0 over EPOCHS epochs, then a cosine decay to 0")
    speed = run.add_argument_group("speed")
    speed.add_argument("--jit-compile", default="auto", choices=("auto", "on", "off"),
                       help="XLA for the training step; auto is Keras's choice, off under op determinism "
                            "(default: auto)")
    speed.add_argument("--steps-per-execution", type=int, default=1, metavar="N",
                       help="training steps per call of the compiled step: fewer round trips for a small model on "
                            "a GPU (default: 1)")
    speed.add_argument("--profile-batch", metavar="START,STOP",
                       help="profile these training steps into --logdir/profile (TensorBoard's Profile tab), "
                            "e.g. 10,20: shows an input-bound GPU step")
    return top


def _list() -> int:
    rows = [(name, models.spec(name)) for name in models.NAMES]
    print(f"{'model':26} {'lab':18} {'parameters':>10}  {'dataset':18} {'epochs':>6} {'batch':>5}  description")
    for name, chosen in rows:
        print(f"{name:26} {chosen.lab:18} {models.parameter_count(name):>10,}  {chosen.dataset:18} "
              f"{chosen.epochs:>6} {chosen.batch_size:>5}  {chosen.description}")
    return 0


def _start_tensorflow(strategy: str, logical_cpus: int | None):
    """Imports TensorFlow and creates the strategy with file descriptor 2 silenced (their start-up lines).

    The strategy is created here, first: ``multi-worker`` must be set up before TensorFlow's devices are,
    and the CPU split before them too, so nothing may query the devices before it.
    """
    import os

    from absl import logging as absl_logging

    from autograder.tensorflow_start import descriptor_2_silenced

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with descriptor_2_silenced():
        import keras  # noqa: F401 - its start-up is silenced too
        import tensorflow

        chosen = distribute.strategy(strategy, logical_cpus=logical_cpus)
        tensorflow.config.list_logical_devices()  # sets up the devices now, while their log lines are silenced
    absl_logging.set_verbosity(absl_logging.ERROR)
    return chosen


def _evaluate(saved: str, data_path: str | None, batch_size: int) -> int:
    """Loads a model saved by ``train --save`` and prints its score on its dataset's test set."""
    import os

    if not os.path.isfile(saved) or not saved.endswith(".keras"):
        return _fail(f"No saved model at {saved}: evaluate reads the .keras file that train --save writes.")
    if batch_size < 1:
        return _fail(f"--batch-size must be a positive integer. Got {batch_size}.")
    _start_tensorflow("default", None)
    import keras

    try:
        model = keras.models.load_model(saved)
        chosen = models.spec(model.name)
        (_, _), (x_test, y_test) = data.load(chosen.dataset, data_path)
    except (ValueError, OSError, data.DataUnavailable) as error:
        return _fail(f"Cannot evaluate {saved}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
    scores = model.evaluate(data.pipeline(x_test, y_test, batch_size, training=False), verbose=0,
                            return_dict=True)
    score = (f"test MAE {scores['mae']:.4g}" if chosen.task == "regression"
             else f"test accuracy {100 * scores['accuracy']:.1f} %")
    print(f"{model.name} ({saved}): {score}, loss {scores['loss']:.4g} on {len(x_test):,} test examples")
    return 0


def _fail(message: str) -> int:
    print(f"labmodels: error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    """Runs the command.

    Args:
        argv: The arguments after the program's name. Defaults to `None` (``sys.argv[1:]``).

    Returns:
        0 when it finished, 2 for bad input (one line on stderr; no traceback).
    """
    try:
        options = parser().parse_args(argv)
    except _UsageError as error:
        return _fail(str(error))
    if options.verb == "list":
        return _list()
    if options.verb == "evaluate":
        return _evaluate(options.saved, options.data, options.batch_size)
    try:
        data.require(models.spec(options.model).dataset, options.data)  # before TensorFlow's seconds of start-up
    except (ValueError, data.DataUnavailable) as error:
        return _fail(str(error))

    from labmodels.train import Options, TrainingError, train

    extras = Options(early_stopping=options.early_stopping, reduce_on_plateau=options.reduce_on_plateau,
                     warmup_epochs=options.warmup_epochs, jit_compile=options.jit_compile,
                     steps_per_execution=options.steps_per_execution, profile_batch=options.profile_batch)
    try:
        chosen = _start_tensorflow(options.strategy, options.logical_cpus)
        result = train(options.model, epochs=options.epochs, batch_size=options.batch_size,
                       learning_rate=options.learning_rate, precision=options.precision, strategy=chosen,
                       logdir=options.logdir, checkpoint_dir=options.checkpoint_dir, data_path=options.data,
                       seed=options.seed, verbose=_verbosity(options.quiet), steps_per_epoch=options.steps_per_epoch,
                       save=options.save, logical_cpus=options.logical_cpus,
                       deterministic=not options.nondeterministic, validation_split=options.validation_split,
                       announce=None if options.quiet else lambda line: print(line, flush=True), options=extras)
    except (TrainingError, data.DataUnavailable, distribute.StrategyError) as error:
        return _fail(str(error))
    if not options.quiet:
        for line in result.where():
            print(line)
    print(result.summary())
    return 0


def _verbosity(quiet: bool) -> int:
    """``fit``'s verbose: none when quiet, Keras's bar on a terminal, else one line per epoch (no ANSI codes)."""
    if quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2
