"""Lab 09's Keras demonstration: what ``fit`` does when ``from_logits`` does not fit the model's last layer.

TensorFlow is imported inside the function, so the lab's NumPy part never pays for it.
"""

from __future__ import annotations

import warnings

import numpy as np

SETTINGS = (("linear", True), ("sigmoid", False), ("sigmoid", True), ("linear", False))
"""(last layer's activation, from_logits) of the four runs: two that fit, one Keras catches, one it cannot."""


def xor_start():
    """The notebook's fixed start of the 2-4-1 network, [W1, b1, W2, b2]: normal kernels from default_rng(1)."""
    rng = np.random.default_rng(1)
    return [rng.normal(size=(2, 4)), np.zeros(4), rng.normal(size=(4, 1)), np.zeros(1)]


def from_logits_runs(epochs=100, learning_rate=1.0):
    """Trains the notebook's 2-4-1 tanh network on the four XOR points with ``fit`` four ways (``SETTINGS``).

    Always the same data and start (:func:`xor_start`): the demonstration of one example, never a stand-in for
    keras_xor, which is graded on other points and weights.

    Args:
        epochs: full-batch epochs. Defaults to `100`.
        learning_rate: plain SGD's step. Defaults to `1.0`.

    Returns:
        A dict from (activation, from_logits) to a dict: "history", the loss fit reported for each epoch;
        "logits", the trained network's logits for the four points; "warnings", the texts of the warnings
        Keras gave about from_logits.
    """
    import keras
    import tensorflow as tf

    from autograder.data import load

    xor = load("xor")
    X, y = xor.to_numpy("x1", "x2"), xor["y"].astype(float)
    weights = xor_start()
    runs = {}
    for activation, from_logits in SETTINGS:
        hidden_units = np.shape(weights[0])[1]
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(hidden_units, activation="tanh"),
                                  keras.layers.Dense(1, activation=activation)])
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                      loss=keras.losses.BinaryCrossentropy(from_logits=from_logits))
        batches = tf.data.Dataset.from_tensor_slices((X, y)).batch(len(X))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(batches, epochs=epochs, shuffle=False, verbose=0).history["loss"]
        hidden = model.layers[0](X)
        logits = keras.ops.convert_to_numpy(hidden @ model.layers[1].kernel + model.layers[1].bias)[:, 0]
        said = [str(w.message) for w in caught if "from_logits" in str(w.message)]
        runs[activation, from_logits] = {"history": np.array(history), "logits": logits, "warnings": said}
    return runs


def plot_from_logits_runs(runs, ax=None):
    """The loss fit reported in each run of :func:`from_logits_runs`, one curve per setting."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    styles = {("linear", True): "-", ("sigmoid", False): "--", ("sigmoid", True): ":", ("linear", False): "-"}
    for (activation, from_logits), run in runs.items():
        ax.plot(run["history"], styles[activation, from_logits], lw=2.5 if from_logits is False else 1.5,
                label=f"last layer {activation}, from_logits={from_logits}")
    ax.set(xlabel="epoch", ylabel="loss reported by fit", yscale="log",
           title="XOR in Keras: one silent mismatch, one caught")
    ax.legend(fontsize=8)
    return ax
