"""Lab 04 probe: runs the student's Keras layer forward and backward and reports plain numbers.

``keras_layer`` builds ``FiveWeightNet(initial_weights)``, calls it on X under a tape and
reports its prediction, the tape's gradient of the total squared error Σ (ŷ − y)² with respect
to the layer's trainable weights, and the dtypes it computed in. It holds no formula of the
network: the grading process compares the report with the NumPy reference's.
"""

from __future__ import annotations

import numpy as np


def keras_layer(FiveWeightNet, initial_weights, X, y):
    """The layer's report on (X, y): ``{"prediction": (n, 1), "gradient": (5,), "dtype": str}``.

    Keras's float settings are the grader's fresh process's while the layer is built
    (:mod:`autograder.probes.keras_state`), whatever a demo cell set with ``keras.config.set_floatx``:
    a layer is float64 only when it says so itself. Several trainable weights (five scalars, say)
    are reported in the order the layer created them, flattened into one gradient of 5 numbers.
    """
    import keras
    import tensorflow as tf

    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():
        layer = FiveWeightNet(initial_weights)
        with tf.GradientTape() as tape:
            prediction = layer(np.asarray(X, dtype="float64"))
            error = tf.reduce_sum((tf.reshape(prediction, [-1]) - tf.cast(y, prediction.dtype)) ** 2)
        weights = layer.trainable_weights
        gradients = tape.gradient(error, weights)
    dtypes = {np.dtype(keras.backend.standardize_dtype(prediction.dtype)).name}
    dtypes |= {np.dtype(keras.backend.standardize_dtype(w.dtype)).name for w in weights}
    flat = [np.zeros(int(np.prod(w.shape))) if g is None else keras.ops.convert_to_numpy(g).astype("float64").ravel()
            for w, g in zip(weights, gradients)]
    return {
        "prediction": keras.ops.convert_to_numpy(prediction),
        "gradient": np.concatenate(flat) if flat else np.zeros(0),
        "dtype": "float64" if dtypes == {"float64"} else "float32" if "float32" in dtypes else "/".join(sorted(dtypes)),
    }
