"""Keras's float settings as the grader's fresh TensorFlow child has them.

The grader runs a notebook's definitions in a fresh process, never its demo cells: there
``keras.config.floatx()`` is float32 and no default dtype policy exists yet (the first
layer made derives one from floatx, and Keras caches it). In the student's kernel a demo
cell may have called ``keras.config.set_floatx("float64")`` and built layers, so floatx
and the cached policy may both be float64 by the time a check cell runs. A probe that
builds the student's model inside :func:`as_in_a_fresh_process` sees what the grader
sees, in both places: a ``set_floatx`` inside the student's function takes effect, one in
a demo cell does not. The notebook's settings come back afterwards.

Keras has no public call that forgets the cached policy (``set_dtype_policy`` accepts only
a policy), hence its ``global_state`` here.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def float_settings(floatx: str):
    """While the block runs: floatx ``floatx`` and no cached default dtype policy (the first layer made
    derives one from floatx); the settings that were there come back afterwards."""
    import keras
    from keras.src.backend.common import global_state

    previous, policy = keras.config.floatx(), global_state.get_global_attribute("dtype_policy", None)
    keras.config.set_floatx(floatx)
    global_state.set_global_attribute("dtype_policy", None)
    try:
        yield
    finally:
        keras.config.set_floatx(previous)
        global_state.set_global_attribute("dtype_policy", policy)


def as_in_a_fresh_process():
    """While the block runs: floatx float32 and no cached default dtype policy, as in a fresh process."""
    return float_settings("float32")


def reset_to_fresh() -> None:
    """Keras's float settings as a fresh process has them, from now on: floatx float32, no cached dtype policy."""
    import keras
    from keras.src.backend.common import global_state

    keras.config.set_floatx("float32")
    global_state.set_global_attribute("dtype_policy", None)
