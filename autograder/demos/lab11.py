"""Lab 11's harness: the digits network trained with the student's NumPy parts, its Keras twin, their plot.

The notebook passes the student's functions in (``iterate_batches``, ``softmax_mlp_gradients``,
``adam_update``, and the Keras exercise as ``keras_run``); nothing here names the Keras exercise.
Nothing here imports TensorFlow: the Keras run is the student's own ``keras_train``, passed in by the notebook.
"""

from __future__ import annotations

import numpy as np


def initial_weights(seed=0, inputs=64, hidden=64, classes=10):
    """The starting weights [W1, b1, W2, b2]: normal draws scaled by √(2 / fan_in) (ReLU layer) and
    √(1 / fan_in) (logits), zero biases."""
    init = np.random.default_rng(seed)
    return [init.normal(0, np.sqrt(2 / inputs), (inputs, hidden)), np.zeros(hidden),
            init.normal(0, np.sqrt(1 / hidden), (hidden, classes)), np.zeros(classes)]


def logits(params, X):
    """The network's scores, (n, classes)."""
    W1, b1, W2, b2 = params
    return np.maximum(X @ W1 + b1, 0) @ W2 + b2


def train_numpy(params, X, y, *, epochs, batch_size, learning_rate, seed, iterate_batches, softmax_mlp_gradients,
                adam_update):
    """Mini-batch training with the student's iterator, gradients and Adam step; one step counter t for the run.

    The iterator is handed the row numbers (``iterate_batches(rows, rows, batch_size, rng)``), so that each
    epoch's order can be kept and given to Keras; the rng draws exactly what it draws for (X, y).

    Returns:
        ``(params, losses, orders)``: the weights after training; each epoch's loss as Keras's ``fit``
        reports it (the mean of the batches' losses, taken before each step, weighted by the batch sizes);
        each epoch's order of the rows.
    """
    params = [np.array(p, dtype=float) for p in params]
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    order_rng, t, losses, orders, rows = np.random.default_rng(seed), 0, [], [], np.arange(len(X))
    for _ in range(epochs):
        total, seen, order = 0.0, 0, []
        for batch, _same in iterate_batches(rows, rows, batch_size, order_rng):
            loss, *grads = softmax_mlp_gradients(X[batch], y[batch], *params)
            t += 1
            for i, grad in enumerate(grads):
                params[i], m[i], v[i] = adam_update(params[i], grad, m[i], v[i], t, learning_rate=learning_rate)
            total, seen = total + loss * len(batch), seen + len(batch)
            order.extend(int(i) for i in batch)
        losses.append(total / seen)
        orders.append(np.array(order))
    return params, np.array(losses), orders


def plot_twins(numpy_losses, keras_losses, exact_losses=None):
    """Both loss curves on one plot, and their relative differences on a log scale beside it."""
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(numpy_losses) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    left.plot(epochs, numpy_losses, marker="o", label="your NumPy run")
    left.plot(epochs, keras_losses, marker="x", linestyle="--", label="Keras (fit, float64)")
    left.set(xlabel="epoch", ylabel="mean training loss", title="One experiment, two implementations")
    left.legend()
    gaps = {"Keras, betas as Python floats": keras_losses}
    if exact_losses is not None:
        gaps["Keras, betas as np.float64"] = exact_losses
    for label, losses in gaps.items():
        gap = np.abs(np.asarray(losses) / np.asarray(numpy_losses) - 1)
        right.semilogy(epochs, np.maximum(gap, 1e-17), marker="o", label=label)
    right.set(xlabel="epoch", ylabel="|Keras / NumPy − 1|", title="How far apart the losses are (0 drawn at 1e-17)")
    right.legend()
    plt.tight_layout()
    plt.show()
