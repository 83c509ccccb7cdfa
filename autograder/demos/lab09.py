"""Lab 09's Keras demonstration: what ``fit`` does when ``from_logits`` does not fit the model's last layer.

TensorFlow is imported inside the function, so the lab's NumPy part never pays for it.
"""

from __future__ import annotations

import warnings

import numpy as np

SETTINGS = (("linear", True), ("sigmoid", False), ("sigmoid", True), ("linear", False))
"""(last layer's activation, from_logits) of the four runs: two that fit, one Keras catches, one it cannot."""


def from_logits_runs(X, y, weights, learning_rate, epochs):
    """Trains the 2-h-1 tanh network with ``fit`` four ways (``SETTINGS``), from the same float64 weights.

    Args:
        X: the inputs, shape (n, 2); y: the labels 0.0/1.0, shape (n,).
        weights: [W1, b1, W2, b2] in Keras's layout.
        learning_rate: plain SGD's step; epochs: full-batch epochs.

    Returns:
        A dict from (activation, from_logits) to a dict: "history", the loss fit reported for each epoch;
        "logits", the trained network's logits for X; "warnings", the texts of the warnings Keras gave
        about from_logits.
    """
    import keras
    import tensorflow as tf

    runs = {}
    for activation, from_logits in SETTINGS:
        hidden_units = np.shape(weights[0])[1]
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(hidden_units, activation="tanh"),
                                  keras.layers.Dense(1, activation=activation)])
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                      loss=keras.losses.BinaryCrossentropy(from_logits=from_logits))
        data = tf.data.Dataset.from_tensor_slices((X, y)).batch(len(X))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(data, epochs=epochs, shuffle=False, verbose=0).history["loss"]
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
