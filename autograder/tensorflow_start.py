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
def _descriptor_2_silenced():
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


def start_quietly():
    """Imports TensorFlow and Keras and finds the devices, silencing their start-up log lines.

    Call it before ``import tensorflow as tf``; the import that follows is then instantaneous.

    Returns:
        The names of the devices TensorFlow will use, e.g. ``["/device:CPU:0"]``.

    Example:
        >>> from autograder.tensorflow_start import start_quietly
        >>> devices = start_quietly()
        >>> import tensorflow as tf
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # INFO and WARNING lines after start-up
    with _descriptor_2_silenced():
        import keras  # noqa: F401 - imported here so that its own start-up is silenced too
        import tensorflow as tf

        devices = [device.name for device in tf.config.list_logical_devices()]
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    return devices
