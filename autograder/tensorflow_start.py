"""Starting TensorFlow in a notebook without its start-up log lines.

On a machine without a GPU, ``import tensorflow`` prints "Could not find cuda drivers" and
"All log messages before absl::InitializeLog() is called are written to STDERR", and the first
device query prints "failed call to cuInit". ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them all:
the first two are written by absl before TensorFlow reads that variable, and the cuInit line
is an error, above level 2. They come from C++, straight to file descriptor 2, which Jupyter
shows in pink under the cell; so they are silenced at that descriptor, only while TensorFlow
starts. Later errors, and Python warnings, are shown as usual.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def descriptor_2_silenced():
    """Sends file descriptor 2 to /dev/null while the block runs: TensorFlow's start-up lines come from C++.

    For a program that must start TensorFlow in its own order (``python -m labmodels train`` creates its
    strategy before any device query); :func:`start_quietly` is the usual way.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


LOGICAL_CPUS = 2
"""How many logical devices the grader's TensorFlow child splits the CPU into (see :func:`split_cpu`)."""


def split_cpu(count: int = LOGICAL_CPUS) -> bool:
    """Makes TensorFlow see the CPU as ``count`` logical devices, ``/device:CPU:0`` … ``CPU:count-1``.

    ``tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])`` then has two replicas on a machine
    without GPUs, as a two-GPU machine would: how the course tests and grades distributed code
    without one. It must run before TensorFlow sets up its devices (the first op, or a device
    query); later it changes nothing.

    Returns:
        True when the CPU is split (now or already), False when TensorFlow had started too early.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    configuration = [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    try:
        tf.config.set_logical_device_configuration(cpu, configuration)
    except RuntimeError:  # "Virtual devices cannot be modified after being initialized"
        return len(tf.config.list_logical_devices("CPU")) == count
    return True


def start_quietly(logical_cpus: int = 1):
    """Imports TensorFlow and Keras and finds the devices, silencing their start-up log lines.

    Call it before ``import tensorflow as tf``; the import that follows is then instantaneous.
    ``logical_cpus=2`` also splits the CPU in two logical devices (:func:`split_cpu`), as the
    grader's TensorFlow child has it; a notebook that calls it again keeps what it had.

    Returns:
        The names of the devices TensorFlow will use, e.g. ``["/device:CPU:0"]``.

    Example:
        >>> from autograder.tensorflow_start import start_quietly
        >>> devices = start_quietly()
        >>> import tensorflow as tf
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # INFO and WARNING lines after start-up
    # as the grader's TensorFlow child: the same CPU kernels, and no "oneDNN supports DT_HALF only on platforms
    # with AVX-512" error line at the first float16 op
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with descriptor_2_silenced():
        import keras  # noqa: F401 - imported here so that its own start-up is silenced too
        import tensorflow as tf

        if logical_cpus > 1:
            split_cpu(logical_cpus)
        devices = [device.name for device in tf.config.list_logical_devices()]
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    tf.get_logger().setLevel("ERROR")  # in Jupyter its Python logger prints INFO:tensorflow lines to stdout
    return devices
