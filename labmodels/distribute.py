"""Where training runs: one device, the devices of one machine, or several machines.

``strategy(name)`` turns the command's ``--strategy`` into a ``tf.distribute.Strategy``:

- ``"default"``: TensorFlow's default strategy (one device: the GPU when there is one).
- ``"mirrored"``: ``tf.distribute.MirroredStrategy`` over this machine's GPUs, or over its logical CPUs
  when there are no GPUs and the CPU has been split (``--logical-cpus 2`` or ``LABMODELS_LOGICAL_CPUS=2``):
  how the tests train on two replicas without a GPU.
- ``"multi-worker"``: ``tf.distribute.MultiWorkerMirroredStrategy`` over the machines that ``TF_CONFIG``
  names, one process per machine, each started with its own ``TF_CONFIG`` (``docs/distributed.md``).

Every replica computes the gradient of its share of a global batch (``global batch / replicas``
examples); the gradients are summed across replicas, and Keras divides each replica's loss by the number
of replicas, so one step on N replicas is one step on the whole global batch.

Under ``multi-worker`` only the chief (task ``chief``, or ``worker`` 0 when the cluster has no chief)
writes checkpoints, TensorBoard logs and the saved model to the paths it was given. The other workers must
still write (saving reads variables through collective operations every worker takes part in), so
``writable_path`` gives them a private temporary folder instead, removed when the process ends.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass

NAMES = ("default", "mirrored", "multi-worker")
"""The strategies ``--strategy`` accepts."""

LOGICAL_CPUS_VARIABLE = "LABMODELS_LOGICAL_CPUS"
"""The environment variable that splits the CPU in logical devices, like ``--logical-cpus``."""

TASK_TYPES = ("chief", "worker")


class StrategyError(ValueError):
    """A strategy that cannot be set up here; its message is one line, for the command to print."""


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a cluster, as ``TF_CONFIG`` describes it.

    Attributes:
        cluster: Task type → the ``host:port`` addresses of its tasks, e.g. ``{"worker": ("a:2222", "b:2222")}``.
        task_type: ``"chief"`` or ``"worker"``.
        task_index: This task's index among the tasks of its type.
    """

    cluster: dict
    task_type: str
    task_index: int

    @property
    def num_workers(self) -> int:
        """How many training processes the cluster has (chief included)."""
        return sum(len(self.cluster.get(kind, ())) for kind in TASK_TYPES)

    @property
    def is_chief(self) -> bool:
        """Whether this task writes checkpoints, logs and the saved model (TensorFlow's rule)."""
        if self.task_type == "chief":
            return True
        return self.task_type == "worker" and self.task_index == 0 and not self.cluster.get("chief")

    @property
    def address(self) -> str:
        """This task's own ``host:port``."""
        return self.cluster[self.task_type][self.task_index]

    def __repr__(self) -> str:
        role = "chief" if self.is_chief else "not chief"
        return f"ClusterTask({self.task_type} {self.task_index} of {self.num_workers} at {self.address}, {role})"


def tf_config(workers, index: int, *, task_type: str = "worker", chief: str | None = None) -> str:
    """The ``TF_CONFIG`` value of one task of a cluster of workers.

    Args:
        workers: The workers' ``host:port`` addresses, the same list (same order) for every task.
        index: This task's index among the tasks of ``task_type``.
        task_type: ``"worker"`` or ``"chief"``. Defaults to `"worker"`.
        chief: The address of a separate chief task, when there is one. Defaults to `None` (worker 0 is chief).

    Returns:
        A JSON string, e.g. ``{"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
        "task": {"type": "worker", "index": 1}}``.

    Example:
        >>> os.environ["TF_CONFIG"] = tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 0)
    """
    cluster = {"worker": list(workers)}
    if chief is not None:
        cluster["chief"] = [chief]
    text = json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})
    parse_tf_config(text)
    return text


def parse_tf_config(text: str | None) -> ClusterTask:
    """Reads and checks a ``TF_CONFIG`` value.

    Args:
        text: The value of the ``TF_CONFIG`` environment variable (None when it is not set).

    Returns:
        The cluster and this task's place in it.

    Raises:
        StrategyError: When ``text`` is missing or malformed; the message says what is wrong.
    """
    if not text or not text.strip():
        raise StrategyError(
            "--strategy multi-worker needs TF_CONFIG: set it in each worker's environment, e.g. "
            'TF_CONFIG=\'{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
            '"task": {"type": "worker", "index": 0}}\' '
            "(see docs/distributed.md)."
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise StrategyError(
            f"TF_CONFIG is not valid JSON ({error.msg} at character {error.pos}). Got {text!r}."
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise StrategyError(f"TF_CONFIG must be an object with a 'cluster' of task types and addresses. Got {text!r}.")
    cluster = {}
    for kind, addresses in config["cluster"].items():
        if not isinstance(addresses, list) or not addresses:
            raise StrategyError(
                f"TF_CONFIG's cluster[{kind!r}] must be a non-empty list of 'host:port'. Got {addresses!r}."
            )
        for address in addresses:
            host, _, port = str(address).rpartition(":")
            if not isinstance(address, str) or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise StrategyError(
                    f"TF_CONFIG's cluster[{kind!r}] has {address!r}, which is not a 'host:port' address."
                )
        cluster[kind] = tuple(addresses)
    if not any(kind in cluster for kind in TASK_TYPES):
        raise StrategyError(f"TF_CONFIG's cluster has no 'worker' or 'chief' task. Got {sorted(cluster)}.")
    if "chief" in cluster and len(cluster["chief"]) != 1:
        raise StrategyError(f"TF_CONFIG's cluster must have at most one chief. Got {len(cluster['chief'])}.")
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise StrategyError(f"TF_CONFIG needs this task's 'task': {{'type': ..., 'index': ...}}. Got {task!r}.")
    task_type, index = task["type"], task["index"]
    if task_type not in TASK_TYPES:
        raise StrategyError(f"TF_CONFIG's task type must be 'worker' or 'chief' to train. Got {task_type!r}.")
    if task_type not in cluster:
        raise StrategyError(f"TF_CONFIG's task type {task_type!r} is not in its cluster {sorted(cluster)}.")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise StrategyError(
            f"TF_CONFIG's task index must be an integer from 0 to {len(cluster[task_type]) - 1} "
            f"(the cluster has {len(cluster[task_type])} {task_type} tasks). Got {index!r}."
        )
    return ClusterTask(cluster, task_type, index)


def logical_cpus_requested(logical_cpus: int | None = None) -> int:
    """How many logical CPUs were asked for: ``logical_cpus``, else ``$LABMODELS_LOGICAL_CPUS``, else 1.

    Raises:
        StrategyError: When the count is not a positive integer.
    """
    if logical_cpus is None:
        text = os.environ.get(LOGICAL_CPUS_VARIABLE, "").strip()
        if not text:
            return 1
        if not text.isdigit():
            raise StrategyError(f"{LOGICAL_CPUS_VARIABLE} must be a positive integer. Got {text!r}.")
        logical_cpus = int(text)
    if isinstance(logical_cpus, bool) or not isinstance(logical_cpus, int) or logical_cpus < 1:
        raise StrategyError(f"The number of logical CPUs must be a positive integer. Got {logical_cpus!r}.")
    return logical_cpus


def configure_devices(logical_cpus: int | None = None) -> None:
    """Splits the CPU in logical devices when asked (``logical_cpus`` or ``$LABMODELS_LOGICAL_CPUS``).

    It must run before TensorFlow's first op; ``strategy`` calls it first, so create the strategy before
    loading data. A process whose CPU is already split that way (the tests') is left as it is.

    Raises:
        StrategyError: When TensorFlow set up its devices before the CPU could be split.
    """
    count = logical_cpus_requested(logical_cpus)
    if count == 1:
        return
    from autograder.tensorflow_start import split_cpu

    if not split_cpu(count):
        raise StrategyError(
            f"Cannot split the CPU in {count} logical devices: TensorFlow had already set up its devices. "
            "Create the strategy before any TensorFlow operation."
        )


def strategy(name: str = "default", *, logical_cpus: int | None = None):
    """The ``tf.distribute.Strategy`` that ``--strategy name`` asks for.

    Args:
        name: ``"default"``, ``"mirrored"`` or ``"multi-worker"``. Defaults to `"default"`.
        logical_cpus: Split the CPU in this many logical devices first (``mirrored`` then has that many
            replicas on a machine without GPUs). Defaults to `None` (``$LABMODELS_LOGICAL_CPUS``, else 1).

    Returns:
        The strategy; build and compile the model inside its ``scope()``.

    Raises:
        StrategyError: For an unknown name, ``mirrored`` with a single device, ``multi-worker`` without a
            valid ``TF_CONFIG``, or a strategy asked for after TensorFlow had started.

    Example:
        >>> chosen = strategy("mirrored", logical_cpus=2)
        >>> chosen.num_replicas_in_sync
        2
    """
    if name not in NAMES:
        raise StrategyError(f"Unknown strategy {name!r}: choose one of {', '.join(NAMES)}.")
    cluster = parse_tf_config(os.environ.get("TF_CONFIG")) if name == "multi-worker" else None
    if cluster is not None:
        check_keras_for_multi_worker()  # before the workers wait for each other
    configure_devices(logical_cpus)
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi-worker":
        try:
            chosen = tf.distribute.MultiWorkerMirroredStrategy()
        except (RuntimeError, ValueError) as error:
            raise StrategyError(
                f"Cannot start the multi-worker strategy as {cluster!r}: {str(error).splitlines()[0]} "
                "It must be created before any other TensorFlow operation."
            ) from None
        _mend_keras_multi_worker()
        return chosen
    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
    if len(cpus) > 1:
        return tf.distribute.MirroredStrategy(cpus)
    raise StrategyError(
        "--strategy mirrored needs several devices, and this machine has no GPU and one CPU device: "
        f"split the CPU with --logical-cpus 2 (or {LOGICAL_CPUS_VARIABLE}=2), or use --strategy default."
    )


KERAS_PROVEN = ("3.15",)
"""The Keras releases (major.minor) whose multi-worker ``fit`` ``_mend_keras_multi_worker`` was proven to mend
(3.15.1: the tests train two workers to one process's weights, and resume them). On another, the command
stops with one line rather than patch private methods it does not know."""

_KERAS_PRIVATE = ("_collective_all_reduce_multi_worker", "reduce_per_replica", "TensorFlowTrainer")


def check_keras_for_multi_worker(version: str | None = None, module=None) -> None:
    """Raises StrategyError (one line) unless the multi-worker mend knows this Keras.

    Args:
        version: A Keras version. Defaults to `None` (the installed one).
        module: The Keras TensorFlow trainer module to look into. Defaults to `None` (the installed one's).

    Raises:
        StrategyError: When ``version``'s major.minor is not in ``KERAS_PROVEN``, or the trainer lacks a
            private name the mend replaces.
    """
    if version is None:
        import keras

        version = keras.__version__
    release = ".".join(str(version).split(".")[:2])
    issue = "keras-team/keras#20585"
    if release not in KERAS_PROVEN:
        raise StrategyError(
            f"--strategy multi-worker mends Keras's multi-worker fit ({issue}) on Keras {', '.join(KERAS_PROVEN)} "
            f"only; this is Keras {version}: install keras=={KERAS_PROVEN[-1]}.* or use --strategy mirrored."
        )
    if module is None:
        from keras.src.backend.tensorflow import trainer as module
    missing = [name for name in _KERAS_PRIVATE if not hasattr(module, name)]
    if missing or not hasattr(getattr(module, "TensorFlowTrainer", None), "_maybe_symbolic_build"):
        missing = missing or ["TensorFlowTrainer._maybe_symbolic_build"]
        raise StrategyError(
            f"--strategy multi-worker cannot mend Keras {version} ({issue}): its TensorFlow trainer lacks "
            f"{', '.join(missing)}; use --strategy mirrored."
        )


def _mend_keras_multi_worker() -> None:
    """Mends two places where Keras 3's TensorFlow trainer breaks ``fit`` under a multi-worker strategy.

    Keras 3 (3.15 at least; keras-team/keras#20585, open) fails there before the first step and after
    it: ``_maybe_symbolic_build`` hands ``strategy.reduce`` the whole ``(x, y)`` batch, a nest it does not
    take ("Attempt to convert a value (PerReplica...)"), and ``reduce_per_replica`` averages the scalar logs
    with ``axis=0`` ("Invalid reduction dimension 0 for input with 0 dimensions"). The mended versions take
    shapes from one replica's batch (the symbolic build needs nothing else) and average the logs over the
    replicas (``axis=None``), what the one-machine strategies do. Other strategies are not touched.

    The methods it replaces are private: ``check_keras_for_multi_worker`` first checks that this Keras is one
    it was proven on (``KERAS_PROVEN``) and has them, and stops with one line otherwise.
    """
    check_keras_for_multi_worker()
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tensorflow_trainer

    if getattr(tensorflow_trainer, "_labmodels_mended", False):
        return
    import tensorflow as tf

    multi_worker = tensorflow_trainer._collective_all_reduce_multi_worker
    reduce_per_replica = tensorflow_trainer.reduce_per_replica
    maybe_symbolic_build = tensorflow_trainer.TensorFlowTrainer._maybe_symbolic_build

    def mended_reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and multi_worker(strategy):
            return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return reduce_per_replica(values, strategy, reduction)

    def mended_maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or not multi_worker(strategy) or iterator is None:
            return maybe_symbolic_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            batch = next(batches)
            data_batch = tree.map_structure(
                lambda value: (
                    strategy.experimental_local_results(value)[0]
                    if isinstance(value, tf.distribute.DistributedValues)
                    else value
                ),
                batch,
            )
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    tensorflow_trainer.reduce_per_replica = mended_reduce_per_replica
    tensorflow_trainer.TensorFlowTrainer._maybe_symbolic_build = mended_maybe_symbolic_build
    tensorflow_trainer._labmodels_mended = True


def strategy_name(chosen) -> str:
    """The ``--strategy`` name of a strategy object: ``"default"``, ``"mirrored"`` or ``"multi-worker"``."""
    import tensorflow as tf

    if isinstance(chosen, tf.distribute.MultiWorkerMirroredStrategy):
        return "multi-worker"
    if isinstance(chosen, tf.distribute.MirroredStrategy):
        return "mirrored"
    return "default"


def cluster_task(chosen) -> ClusterTask | None:
    """This process's place in the cluster of a ``multi-worker`` strategy; None for the others."""
    resolver = getattr(chosen, "cluster_resolver", None)
    if strategy_name(chosen) != "multi-worker" or resolver is None:
        return None
    spec = {kind: tuple(addresses) for kind, addresses in resolver.cluster_spec().as_dict().items()}
    if not spec:
        return None
    return ClusterTask(spec, resolver.task_type, resolver.task_id)


def is_chief(chosen) -> bool:
    """Whether this process writes checkpoints, TensorBoard logs and the saved model to their real paths."""
    return bool(chosen.extended.should_checkpoint)


def per_replica_batch(global_batch: int, chosen) -> int:
    """Each replica's share of a global batch.

    Args:
        global_batch: Examples per step, all replicas together (``--batch-size``).
        chosen: The strategy.

    Returns:
        ``global_batch / replicas``.

    Raises:
        StrategyError: When the global batch does not split evenly (replicas would average unequal shares,
            and a step would no longer be a step on the global batch).
    """
    replicas = chosen.num_replicas_in_sync
    if global_batch % replicas:
        raise StrategyError(
            f"The global batch size {global_batch} does not split evenly over {replicas} replicas: "
            f"choose a multiple of {replicas}."
        )
    return global_batch // replicas


def describe(chosen, global_batch: int) -> str:
    """One line for the progress output: the strategy, its replicas, and each replica's share of a batch.

    Example:
        ``mirrored: 2 replicas (CPU:0, CPU:1); global batch 64 = 32 per replica``
    """
    if strategy_name(chosen) == "default":
        return f"default: 1 replica (TensorFlow's default device); global batch {global_batch}"
    devices = ", ".join(device.rpartition("/device:")[2] for device in chosen.extended.worker_devices)
    line = f"{strategy_name(chosen)}: {chosen.num_replicas_in_sync} replica"
    line += "s" if chosen.num_replicas_in_sync != 1 else ""
    task = cluster_task(chosen)
    if task is not None:
        role = "chief" if task.is_chief else "writes to a temporary folder"
        line += (
            f" on {task.num_workers} workers; this is {task.task_type} {task.task_index} ({role}), devices {devices}"
        )
    else:
        line += f" ({devices})"
    per_replica = per_replica_batch(global_batch, chosen)
    return f"{line}; global batch {global_batch} = {per_replica} per replica"


def shard_by_data(dataset, chosen):
    """``dataset`` with the auto-shard policy multi-worker training needs for in-memory data.

    Under ``multi-worker`` every worker builds the same pipeline (same data, same shuffle seed) and
    ``experimental_distribute_dataset`` gives each its replicas' share of every global batch (policy
    ``DATA``; the default ``AUTO`` looks for files first and warns). Other strategies get ``dataset`` back.
    """
    if strategy_name(chosen) != "multi-worker":
        return dataset
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def training_stream(x, y, global_batch: int, *, seed: int = 0, skip_batches: int = 0, drop_remainder: bool = False):
    """The training batches as one endless stream of shuffled passes, in the same order under every strategy.

    A seeded ``Dataset.shuffle`` keeps its state in a resource that ``experimental_distribute_dataset``
    copies and reseeds, so a mirrored or multi-worker run would see other batches than a one-device run
    with the same seed. Here pass ``k``'s order is ``stateless_shuffle`` keyed by ``(seed, k)``: a function
    of the seed and the pass alone, the same in every process, every worker, every strategy, and after a
    resume (``skip_batches``).

    Args:
        x: The inputs, an array of shape (n, ...).
        y: The targets, an array of shape (n, ...).
        global_batch: Examples per batch, all replicas together.
        seed: The order's seed. Defaults to `0`.
        skip_batches: Batches to leave out at the start (the ones a resumed run already trained on).
            Defaults to `0`.
        drop_remainder: Leave out each pass's last, smaller batch (under several replicas it would be
            split unevenly, and the mean of the replicas' means is not the batch's mean). Defaults to `False`.

    Returns:
        An endless ``tf.data.Dataset`` of ``(x_batch, y_batch)``; each pass visits every example once.
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of examples. Got {len(x)} and {len(y)}.")
    inputs, targets = tf.constant(x), tf.constant(y)
    count = len(x)

    def one_pass(index):
        key = tf.stack([tf.constant(seed, tf.int64), index])
        order = tf.random.experimental.stateless_shuffle(tf.range(count, dtype=tf.int64), seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(global_batch, drop_remainder=drop_remainder)

    batches = tf.data.Dataset.range(2**62).flat_map(one_pass).skip(skip_batches)
    stream = batches.map(lambda rows: (tf.gather(inputs, rows), tf.gather(targets, rows)))
    return stream.prefetch(tf.data.AUTOTUNE)


_temporary_folders: dict[str, str] = {}


def writable_path(path, chosen):
    """Where this process writes ``path`` (a file or a folder): ``path`` itself on the chief.

    On the other workers of a ``multi-worker`` strategy, the same name inside a private temporary folder
    (created now, removed when the process ends), so that only the chief's output reaches ``path``.

    Args:
        path: The real output path (``--save``, ``--logdir``, ``--checkpoint-dir``), or None.
        chosen: The strategy.

    Returns:
        The path to write to (None for None), of the same type as ``path`` when it is a ``pathlib.Path``.
    """
    if path is None or is_chief(chosen):
        return path
    task = cluster_task(chosen)
    key = f"{task.task_type}{task.task_index}" if task else "worker"
    if key not in _temporary_folders:
        folder = tempfile.mkdtemp(prefix=f"labmodels-{key}-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _temporary_folders[key] = folder
    name = os.path.basename(os.path.normpath(os.fspath(path)))
    target = os.path.join(_temporary_folders[key], name)
    return type(path)(target) if isinstance(path, os.PathLike) else target


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports free on ``host`` now (for a test's local cluster).

    The sockets are all held open until every port is chosen, so the ports differ; another process may
    still take one before the workers bind it, a race a test answers with a bounded timeout.
    """
    sockets = []
    try:
        for _ in range(count):
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.bind((host, 0))
            sockets.append(held)
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()
